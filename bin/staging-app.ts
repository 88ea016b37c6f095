import { App, Stack } from 'aws-cdk-lib';
import { readBranchContext, readStagingConfig } from './config';

/**
 * The ready-made app. Configuration is the `staging` block of cdk.json context (README,
 * "Configuration").
 * - `cdk synth`: the shared stack, `<prefix>-shared`.
 * - `cdk synth -c branch=NAME`: only that branch's FeatureStaging stack (own data).
 * - `cdk synth -c branch=NAME -c lite=true`: only that branch's FeatureStagingLite stack.
 *
 * Each kind of stack is loaded only when it is synthesized: a branch synth never loads the shared
 * stack's modules (RDS, ElastiCache, ACM, Step Functions, the sweeper's), which is a tenth of its time.
 */
export function buildStagingApp(app: App): Stack[] {
  const config = readStagingConfig(app.node.tryGetContext('staging'));
  const branch = readBranchContext((key) => app.node.tryGetContext(key));
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded on demand, see above */
  if (!branch) {
    const { sharedStack } = require('./shared-stack') as typeof import('./shared-stack');
    return [sharedStack(app, config)];
  }
  const { featureStack } = require('./branch-stack') as typeof import('./branch-stack');
  /* eslint-enable @typescript-eslint/no-require-imports */
  return [featureStack(app, config, branch)];
}
