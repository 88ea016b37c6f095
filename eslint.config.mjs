import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'assets/**', '**/cdk.out/**', 'coverage/**', '*.js', '**/*.js'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // CloudFormation templates and custom-resource properties are untyped JSON.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
