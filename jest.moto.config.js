// `npm run test:moto`: the handlers and the `staging` CLI against moto's server (test/moto/). Kept
// out of `npm test` (jest.config.js ignores test/moto/) so that stays within its time budget on
// the 2-core machines; .ci/run runs both and fails when a moto test was skipped.
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testMatch: ['**/test/moto/**/*.moto.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  // One moto server per test file: two files at a time on two cores.
  maxWorkers: 2,
  testTimeout: 60000,
};
