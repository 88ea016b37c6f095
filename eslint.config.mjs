import tseslint from 'typescript-eslint';

// The kernel (lib/contract/) is the only part of lib/ that the handlers (lambda/) and the CLI (cli/)
// may import, and it imports no CDK: so a handler or CLI bundle never pulls in aws-cdk-lib, and two
// programs that share a name, a path or a format share it from one place.
const KERNEL_ONLY = {
  patterns: [
    {
      regex: '^(\\.\\./)+lib(?!/contract(/|$))(/|$)',
      message: 'lambda/ and cli/ import only the kernel, lib/contract/ (see README "Architecture").',
    },
  ],
};
const noCdk = (leaveContract) => ({
  paths: [
    { name: 'aws-cdk-lib', message: 'lib/contract/ is the import-free kernel: no aws-cdk-lib.' },
    { name: 'constructs', message: 'lib/contract/ is the import-free kernel: no constructs.' },
  ],
  patterns: [
    { group: ['aws-cdk-lib/*'], message: 'lib/contract/ is the import-free kernel: no aws-cdk-lib.' },
    // A relative import that climbs out of lib/contract/ reaches the rest of lib/.
    { regex: leaveContract, message: 'lib/contract/ imports only lib/contract/.' },
  ],
});

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
  { files: ['lambda/**/*.ts', 'cli/**/*.ts'], rules: { 'no-restricted-imports': ['error', KERNEL_ONLY] } },
  { files: ['bin/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/lib/private', '**/lib/private/**'], message: 'bin/ uses the public constructs and the kernel, never lib/private/.' }] }] } },
  { files: ['lib/contract/*.ts'], rules: { 'no-restricted-imports': ['error', noCdk('^\\.\\./')] } },
  { files: ['lib/contract/*/*.ts'], rules: { 'no-restricted-imports': ['error', noCdk('^\\.\\./\\.\\./')] } },
);
