import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { BranchStatePaths, foldersAndBelow } from '../contract/branch-state';
import { FEATURE_KINDS, ProviderNames, TagKeys } from '../contract/staging';
import { ReasonedResources } from '../private/acknowledge';
import { StagingArns } from '../private/arns';
import { parameterArn } from '../private/grants';
import { WakerEnvironment } from '../contract/providers/waker';
import { ProviderDefinition } from './provider-definition';

/** What sleep and wake act on: the shared cluster and listener, below one prefix. */
export interface SleepScope {
  /** The staging system's prefix: branch stacks, services, schedules and databases are `<prefix>-*`. */
  readonly prefix: string;
  /** The SSM parameter prefix, e.g. `/staging`. */
  readonly parameterPrefix: string;
  /** Name of the shared cluster. */
  readonly clusterName: string;
  /** ARNs of the shared HTTPS listeners, one per shard (shard 0 first). */
  readonly listenerArns: string[];
}

/**
 * What waking and sleeping a branch needs, scoped by name and tag: its services on the one cluster,
 * the rules of the shard listeners, its `<prefix>-*` schedules and database, and its parameters.
 * Shared by the waker provider, the waker target and the sleeper (lib/staging-sleeper.ts).
 * `reasons` collects why each wildcard resource (but the parameters', see `SLEEP_WILDCARDS`) is
 * scoped as it is, for `acknowledgeResources`.
 */
export function sleepPolicies(stack: Stack, scope: SleepScope, reasons: ReasonedResources = new ReasonedResources()): iam.PolicyStatement[] {
  const arns = new StagingArns(stack, scope.prefix);
  const tagRequired = 'They must also carry the feature tag.';
  const tagged = (key: string) => ({ StringEquals: { [key]: [...FEATURE_KINDS] } });
  const parameter = (name: string) => parameterArn(stack, name);
  const listenerRules = scope.listenerArns.map((arn) => arns.listenerRules(arn));
  const state = new BranchStatePaths(scope.parameterPrefix);
  return [
    new iam.PolicyStatement({
      sid: 'ReadWhatRuns',
      // None of these has resource-level permissions.
      actions: ['elasticloadbalancing:DescribeRules', 'elasticloadbalancing:DescribeTargetHealth', 'rds:DescribeDBInstances', 'cloudwatch:GetMetricData', 'cloudformation:DescribeStacks'],
      resources: reasons.scope(['*', 'Describe calls and GetMetricData have no resource-level permissions.']),
    }),
    new iam.PolicyStatement({
      sid: 'ScaleBranchServices',
      actions: ['ecs:DescribeServices', 'ecs:UpdateService'],
      resources: reasons.scope([arns.branchServices(scope.clusterName), `Branch services of the one shared cluster, named after their stack (\`<prefix>-*\`). ${tagRequired}`]),
      conditions: tagged(`aws:ResourceTag/${TagKeys.KIND}`),
    }),
    new iam.PolicyStatement({
      sid: 'MoveBranchRules',
      actions: ['elasticloadbalancing:ModifyRule'],
      resources: reasons.scope(...listenerRules.map((rules): [string, string] => [rules, `Rules of the shared listeners only, one per shard (rule ids are assigned by AWS). ${tagRequired}`])),
      conditions: tagged(`aws:ResourceTag/${TagKeys.KIND}`),
    }),
    new iam.PolicyStatement({
      sid: 'PauseBranchSchedules',
      actions: ['scheduler:GetSchedule', 'scheduler:UpdateSchedule'],
      resources: reasons.scope([
        arns.branchSchedules,
        'Branch schedules: in the default group, named after their stack (`<prefix>-*`); the shared staging keeps its own schedules in a group of their own.',
      ]),
    }),
    new iam.PolicyStatement({
      sid: 'KeepScheduleRoles',
      // UpdateSchedule passes the schedule's own role again.
      actions: ['iam:PassRole'],
      resources: reasons.scope([arns.branchRoles, 'The branch schedules\' own roles, named after their stack; only feature-tagged ones, only to EventBridge Scheduler.']),
      conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com', [`aws:ResourceTag/${TagKeys.KIND}`]: [...FEATURE_KINDS] } },
    }),
    new iam.PolicyStatement({
      sid: 'StopAndStartBranchDatabases',
      actions: ['rds:StopDBInstance', 'rds:StartDBInstance'],
      resources: reasons.scope([arns.branchDatabases, `Branch databases \`<prefix>-*-????\`, which the shared database does not match. ${tagRequired}`]),
      conditions: tagged(`aws:ResourceTag/${TagKeys.KIND}`),
    }),
    new iam.PolicyStatement({
      sid: 'SleepParameters',
      actions: ['ssm:GetParameters', 'ssm:GetParametersByPath', 'ssm:PutParameter', 'ssm:DeleteParameters'],
      resources: foldersAndBelow(state.sleepStates, state.sleepConfigs, state.wakeClaims, state.keepAlives).map(parameter),
    }),
    new iam.PolicyStatement({
      sid: 'ReadPins',
      actions: ['ssm:GetParametersByPath'],
      resources: foldersAndBelow(state.pins).map(parameter),
    }),
  ];
}

/** The parameter wildcards of `sleepPolicies` (its other wildcards carry their reasons, see `reasons`). */
export const SLEEP_WILDCARDS = /^Resource::arn:.*:ssm:.*:parameter\/.*\/\*$/;

export const SLEEP_WILDCARDS_REASON = 'Parameters are one per branch below the sleep, keep-alive and pin paths.';

/**
 * The `waker` provider: each branch's Custom::StagingSleep records what the sleeper may scale and
 * route, and a deploy of a sleeping branch wakes it (isComplete waits for a healthy web target
 * and moves the rule back), so the deployed state is always awake.
 */
export function wakerProvider(scope: SleepScope & { readonly stack: Stack; readonly wakerTargetGroupArn: string }): ProviderDefinition {
  const reasons = new ReasonedResources();
  return {
    name: ProviderNames.WAKER,
    options: {
      handler: 'waker',
      waits: true,
      queryInterval: Duration.seconds(15),
      timeout: Duration.minutes(1),
      totalTimeout: Duration.minutes(30),
      environment: { [WakerEnvironment.PARAMETER_PREFIX]: scope.parameterPrefix, [WakerEnvironment.WAKER_TARGET_GROUP_ARN]: scope.wakerTargetGroupArn },
      policies: sleepPolicies(scope.stack, scope, reasons),
    },
    wildcards: { reason: SLEEP_WILDCARDS_REASON, findings: SLEEP_WILDCARDS },
    acknowledgements: reasons.all,
  };
}
