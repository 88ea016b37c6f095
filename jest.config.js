/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // Type-checking is `npm run typecheck`; tests only transpile, which keeps them fast.
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.dev.json' }],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  // Examples import the package by name, as users do; in this repo that name is the source.
  moduleNameMapper: {
    '^cdk-multi-staging$': '<rootDir>/lib/index.ts',
    '^cdk-multi-staging/testing$': '<rootDir>/lib/testing.ts',
  },
  testTimeout: 120000,
};
