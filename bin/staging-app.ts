import { App, Stack } from 'aws-cdk-lib';
import type { LookupStack } from './shared-stack';
import { BranchContext, misspeltStaging, readBranchContext, readStagingConfig, shortShow, StagingConfig, StagingInputError } from './config';

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
  const { config, branch } = readAppInput(app.node.getAllContext());
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded on demand, see above */
  if (!branch) {
    const { sharedStack } = require('./shared-stack') as typeof import('./shared-stack');
    const stack = sharedStack(app, config);
    checkLookups(stack, config);
    return [stack];
  }
  const { featureStack } = require('./branch-stack') as typeof import('./branch-stack');
  /* eslint-enable @typescript-eslint/no-require-imports */
  return [featureStack(app, config, branch)];
}

/** The configuration and the branch flags, or one StagingInputError with the problems of both. */
export function readAppInput(context: Record<string, unknown>): { config: StagingConfig; branch?: BranchContext } {
  // A misspelt block (`stagng`) leaves `staging` missing: the likely cause alone, not every key it lacks.
  const misspelt = context.staging === undefined ? Object.keys(context).find((k) => misspeltStaging(k)) : undefined;
  if (misspelt) {
    throw new StagingInputError('Invalid staging configuration in cdk.json context:', [
      `${misspelt}: is not a context key of the ready-made app; did you mean "staging"? Rename it in cdk.json (got ${shortShow(context[misspelt])})`,
    ]);
  }
  const errors: StagingInputError[] = [];
  const read = <T>(f: () => T): T | undefined => {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof StagingInputError)) throw e;
      errors.push(e);
      return undefined;
    }
  };
  const config = read(() => readStagingConfig(context.staging));
  const branch = read(() => readBranchContext(context));
  if (errors.length > 0 || !config) throw StagingInputError.combine(errors);
  return { config, branch };
}

/**
 * `staging.network.vpcId` is looked up by the CDK CLI between two runs of the app; until then CDK
 * holds a placeholder VPC, which CloudFormation Validate would report 19 times. So: without
 * credentials (the CLI sets CDK_DEFAULT_ACCOUNT only when it has some) say the one thing that
 * matters; with them, skip this run's validation: the CLI looks the VPC up and runs the app again,
 * and that run, with the real VPC, is validated.
 */
function checkLookups(stack: LookupStack, config: StagingConfig): void {
  if (stack.pendingLookups.length === 0) return;
  if (!process.env.CDK_DEFAULT_ACCOUNT) {
    throw new StagingInputError('Invalid staging configuration in cdk.json context:', [
      `staging.network.vpcId: is looked up in account ${config.account} at synth, which needs AWS credentials for that account and staging.account; run cdk once with credentials (e.g. AWS_PROFILE=<profile> npx cdk synth), after which the VPC is cached in cdk.context.json and synth works offline (got ${JSON.stringify(config.network.vpcId)})`,
    ]);
  }
  process.env.CDK_VALIDATION = 'false';
}
