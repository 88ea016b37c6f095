import { Duration, Tokenization } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ProviderNames } from '../contract/staging';
import { StagingQuotaEnvironment } from '../contract/providers';
import { ProviderDefinition } from './provider-definition';

/** Properties of `stagingQuotaProvider`. */
export interface StagingQuotaProviderProps {
  /** The staging system's prefix: only branch stagings tagged with it count. */
  readonly prefix: string;
  /** The cap (`SharedStagingProps.maxStagings`); without it the handler allows every deploy. */
  readonly maxStagings?: number;
}

/**
 * The cap on branch stagings: each branch stack's `Custom::StagingQuota` asks it, before anything
 * else of the branch is created, whether one more staging fits. The cap lives in the provider's
 * environment, so changing it is a deploy of the shared stack only; branch stacks never change.
 */
export function stagingQuotaProvider(props: StagingQuotaProviderProps): ProviderDefinition {
  return {
    name: ProviderNames.STAGING_QUOTA,
    options: {
      handler: 'staging-quota',
      timeout: Duration.minutes(2),
      environment: {
        [StagingQuotaEnvironment.PREFIX]: props.prefix,
        ...(props.maxStagings !== undefined ? { [StagingQuotaEnvironment.MAX_STAGINGS]: Tokenization.stringifyNumber(props.maxStagings) } : {}),
      },
      // Read-only, and nothing else: the handler only counts stacks.
      policies: [new iam.PolicyStatement({ actions: ['cloudformation:DescribeStacks'], resources: ['*'] })],
    },
    wildcards: {
      reason: 'Counting the branch stagings lists every stack (DescribeStacks without a stack name, 100 per call), which is authorized on "*" only; read-only.',
      findings: /^Resource::\*$/,
    },
  };
}
