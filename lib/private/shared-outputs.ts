import { Fn } from 'aws-cdk-lib';
import { SharedStackOutputs } from '../contract/staging';
import { libraryVersion } from '../contract/version';
import type { SharedStaging } from '../shared-staging';
import type { StackOutput } from './stack-wide';

/**
 * Output names of the shared staging stack: what a user looks up after `cdk deploy`
 * (`aws cloudformation describe-stacks --stack-name staging-shared --query "Stacks[0].Outputs"`).
 */
export class SharedOutputs {
  /** `https://shared.<domain>`: the shared-staging app. */
  public static readonly URL = 'SharedStagingUrl';
  /** Where feature stacks read the shared staging (SSM parameter prefix). */
  public static readonly PARAMETER_PREFIX = 'SharedStagingParameterPrefix';
  /** The ECS cluster every staging runs on. */
  public static readonly CLUSTER_NAME = 'SharedStagingClusterName';
  /** The sweeper's function: `aws lambda invoke --function-name <it>`. */
  public static readonly SWEEPER_FUNCTION_NAME = 'SweeperFunctionName';
  /** Its notification topic (warnings and reports): `aws sns subscribe --topic-arn <it>`. */
  public static readonly SWEEPER_TOPIC_ARN = 'SweeperTopicArn';
  /** The sleeper's function: `staging wake|sleep <branch>` invoke it with `{"wake": "<staging name>"}`. */
  public static readonly SLEEPER_FUNCTION_NAME = 'SleeperFunctionName';
  /** A dry run of the sweeper, ready to paste. */
  public static readonly SWEEPER_DRY_RUN_COMMAND = 'SweeperDryRunCommand';
  /** The cdk-multi-staging version that deployed the stack: `staging doctor` reports drift from the installed one. */
  public static readonly LIBRARY_VERSION = SharedStackOutputs.LIBRARY_VERSION;
  /** How many branch stagings the load balancers hold. */
  public static readonly CAPACITY = SharedStackOutputs.CAPACITY;
  /** How many load balancers (shards) hold them. */
  public static readonly SHARD_COUNT = SharedStackOutputs.SHARD_COUNT;
  /** The stagings page, unless it is turned off: `staging list` prints it. */
  public static readonly STAGINGS_PAGE_URL = SharedStackOutputs.STAGINGS_PAGE_URL;
}

/** The shared staging's outputs, for its `SharedStagingStack` to add (no exports: nothing may import them). */
export function sharedOutputs(shared: SharedStaging): StackOutput[] {
  const outputs = [
    { name: SharedOutputs.URL, value: shared.url, description: 'The shared-staging app' },
    { name: SharedOutputs.PARAMETER_PREFIX, value: shared.parameterPrefix, description: 'SSM parameters that feature stacks read' },
    { name: SharedOutputs.CLUSTER_NAME, value: shared.cluster.clusterName, description: 'The ECS cluster of every staging' },
    {
      name: SharedOutputs.LIBRARY_VERSION,
      value: libraryVersion(),
      description: 'The cdk-multi-staging version that deployed this stack; `staging doctor` compares it with the installed one',
    },
    {
      name: SharedOutputs.CAPACITY,
      value: String(shared.capacity),
      description: `Branch stagings the load balancers hold (${shared.shardSlots.join(' + ')} on ${shared.shardCount} shard(s)); raise maxBranches to grow`,
    },
    { name: SharedOutputs.SHARD_COUNT, value: String(shared.shardCount), description: 'Load balancers (shards) that hold the branch stagings' },
    {
      name: SharedOutputs.SLEEPER_FUNCTION_NAME,
      value: shared.sleeper.sleeperFunction.functionName,
      description: 'The sleeper: puts idle branches to sleep; invoke with {"wake": "<staging name>"} or {"sleep": "<staging name>"}',
    },
    ...(shared.stagingsPageUrl
      ? [{ name: SharedOutputs.STAGINGS_PAGE_URL, value: shared.stagingsPageUrl, description: 'The stagings page: every branch staging, to open, wake, sleep and keep' }]
      : []),
  ];
  const sweeper = shared.sweeper;
  if (!sweeper) return outputs;
  return [
    ...outputs,
    { name: SharedOutputs.SWEEPER_FUNCTION_NAME, value: sweeper.function.functionName, description: 'The sweeper of idle feature stagings' },
    { name: SharedOutputs.SWEEPER_TOPIC_ARN, value: sweeper.topic.topicArn, description: "The sweeper's warnings and reports; subscribe to it" },
    {
      name: SharedOutputs.SWEEPER_DRY_RUN_COMMAND,
      description: 'What the sweeper would do now, changing nothing',
      value: Fn.join('', [
        'aws lambda invoke --function-name ',
        sweeper.function.functionName,
        ` --payload '{"dryRun":true}' --cli-binary-format raw-in-base64-out sweeper-report.json`,
      ]),
    },
  ];
}
