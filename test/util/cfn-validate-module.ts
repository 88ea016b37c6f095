/**
 * What `require('@aws/cloudformation-validate')` returns inside a test file (jest.config.js maps
 * it here): the worker's shared validator, from the test environment (cfn-validate-cache.ts).
 */
import type { SharedValidator } from './cfn-validate-cache';

const shared = (globalThis as { __sharedCloudFormationValidate?: SharedValidator }).__sharedCloudFormationValidate;
if (!shared) {
  throw new Error('@aws/cloudformation-validate is mapped to the shared validator of test/util/quiet-environment.ts: run the tests with jest.config.js.');
}
module.exports = shared.load();
