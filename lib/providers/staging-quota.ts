import { Duration, Stack, Tokenization } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { BranchStatePaths, foldersAndBelow } from '../contract/branch-state';
import { ProviderNames } from '../contract/staging';
import { StagingQuotaEnvironment } from '../contract/providers';
import { parameterArn } from '../private/grants';
import { ProviderDefinition } from './provider-definition';

/** Properties of `stagingQuotaProvider`. */
export interface StagingQuotaProviderProps {
  /** The stack the provider is in (for the ARNs of its parameters). */
  readonly stack: Stack;
  /** The staging system's prefix: only branch stagings tagged with it count. */
  readonly prefix: string;
  /** The SSM parameter prefix: the shard registry, slots and claims are below `<parameterPrefix>/capacity/`. */
  readonly parameterPrefix: string;
  /** The cap (`SharedStagingProps.maxStagings`); without it the handler allows every deploy. */
  readonly maxStagings?: number;
}

/**
 * The cap on branch stagings and the capacity's slots: each branch stack's `Custom::StagingQuota`
 * asks it, before anything else of the branch is created, whether one more staging fits, and
 * which load balancer (shard) the branch is on. The cap and the parameter prefix live in the
 * provider's environment, so changing them is a deploy of the shared stack only; branch stacks
 * never change.
 */
export function stagingQuotaProvider(props: StagingQuotaProviderProps): ProviderDefinition {
  const capacity = new BranchStatePaths(props.parameterPrefix);
  const parameter = (name: string) => parameterArn(props.stack, name);
  return {
    name: ProviderNames.STAGING_QUOTA,
    options: {
      handler: 'staging-quota',
      // 100 first deploys at once share Parameter Store's 40 reads a second (the SDK retries throttling): minutes, not seconds.
      timeout: Duration.minutes(5),
      environment: {
        [StagingQuotaEnvironment.PREFIX]: props.prefix,
        [StagingQuotaEnvironment.PARAMETER_PREFIX]: props.parameterPrefix,
        ...(props.maxStagings !== undefined ? { [StagingQuotaEnvironment.MAX_STAGINGS]: Tokenization.stringifyNumber(props.maxStagings) } : {}),
      },
      policies: [
        // Read-only: counting the stagings, and whose stack is gone.
        new iam.PolicyStatement({ actions: ['cloudformation:DescribeStacks'], resources: ['*'] }),
        // Reads the registry, slots and claims; writes slots, claims and release records, never the registry.
        new iam.PolicyStatement({
          actions: ['ssm:GetParameter', 'ssm:GetParametersByPath'],
          resources: foldersAndBelow(capacity.capacity).map(parameter),
        }),
        new iam.PolicyStatement({
          actions: ['ssm:PutParameter', 'ssm:DeleteParameter'],
          resources: capacity.capacityRecords().map(parameter),
        }),
      ],
    },
    wildcards: {
      reason:
        'Counting the branch stagings lists every stack (DescribeStacks without a stack name, 100 per call), which is authorized on "*" only; read-only. ' +
        'The capacity keeps one parameter per slot and per branch below <parameter prefix>/capacity/, and only there; it writes only slots, claims and release records.',
      findings: /^Resource::(\*|arn:.*:ssm:.*:parameter\/.*\/capacity(\/slots|\/claims|\/releases)?\/\*)$/,
    },
  };
}
