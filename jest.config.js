const os = require('node:os');

/** @type {import('jest').Config} */
module.exports = {
  // Jest's default is one worker less than the cores: a single worker on the 2-core machines the
  // suite runs on, which leaves a core idle. Two workers at least.
  maxWorkers: Math.max(2, (os.availableParallelism?.() ?? os.cpus().length) - 1),
  // Node's environment, quiet: console output is shown only for failed tests (test/util/quiet-environment.ts).
  testEnvironment: '<rootDir>/test/util/quiet-environment.ts',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The moto suites run with `npm run test:moto` (jest.moto.config.js).
  testPathIgnorePatterns: ['/node_modules/', '/test/moto/'],
  transform: {
    // swc only strips types (type-checking is `npm run typecheck`): about a tenth of ts-jest's
    // transform time, and the same module output as tsc (CommonJS, ES2022 class fields).
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022', transform: { useDefineForClassFields: true } },
        module: { type: 'commonjs' },
        sourceMaps: 'inline',
      },
    ],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  // Examples import the package by name, as users do; in this repo that name is the source.
  moduleNameMapper: {
    '^cdk-multi-staging$': '<rootDir>/lib/index.ts',
    '^cdk-multi-staging/testing$': '<rootDir>/lib/testing.ts',
    // One CloudFormation Validate per worker, not one per test file (test/util/cfn-validate-cache.ts).
    '^@aws/cloudformation-validate$': '<rootDir>/test/util/cfn-validate-module.ts',
  },
  testTimeout: 120000,
};
