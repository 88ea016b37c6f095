import { Aws, Duration, Fn } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { BranchStatePaths, foldersAndBelow } from '../contract/branch-state';
import { FEATURE_KINDS, ProviderNames, TagKeys } from '../contract/staging';
import { StagingNamePatterns } from '../contract/naming';
import { ProviderDefinition } from './provider-definition';

/** What sleep and wake act on: the shared cluster and listener, below one prefix. */
export interface SleepScope {
  /** The staging system's prefix: branch stacks, services, schedules and databases are `<prefix>-*`. */
  readonly prefix: string;
  /** The SSM parameter prefix, e.g. `/staging`. */
  readonly parameterPrefix: string;
  /** Name of the shared cluster. */
  readonly clusterName: string;
  /** ARN of the shared HTTPS listener. */
  readonly listenerArn: string;
}

/**
 * What waking and sleeping a branch needs, scoped by name and tag: its services on the one cluster,
 * the rules of the one listener, its `<prefix>-*` schedules and database, and its parameters.
 * Shared by the waker provider, the waker target and the sleeper (lib/staging-sleeper.ts).
 */
export function sleepPolicies(scope: SleepScope): iam.PolicyStatement[] {
  const arn = (service: string, resource: string) => `arn:${Aws.PARTITION}:${service}:${Aws.REGION}:${Aws.ACCOUNT_ID}:${resource}`;
  const tagged = (key: string) => ({ StringEquals: { [key]: [...FEATURE_KINDS] } });
  const parameter = (name: string) => arn('ssm', `parameter${name}`);
  const state = new BranchStatePaths(scope.parameterPrefix);
  const [head, tail] = [0, 1].map((i) => Fn.select(i, Fn.split(':listener/', scope.listenerArn)));
  const listenerRules = Fn.join('', [head, ':listener-rule/', tail, '/*']);
  return [
    new iam.PolicyStatement({
      sid: 'ReadWhatRuns',
      // None of these has resource-level permissions.
      actions: ['elasticloadbalancing:DescribeRules', 'elasticloadbalancing:DescribeTargetHealth', 'rds:DescribeDBInstances', 'cloudwatch:GetMetricData', 'cloudformation:DescribeStacks'],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'ScaleBranchServices',
      actions: ['ecs:DescribeServices', 'ecs:UpdateService'],
      resources: [arn('ecs', `service/${scope.clusterName}/${scope.prefix}-*`)],
      conditions: tagged(`aws:ResourceTag/${TagKeys.KIND}`),
    }),
    new iam.PolicyStatement({
      sid: 'MoveBranchRules',
      actions: ['elasticloadbalancing:ModifyRule'],
      resources: [listenerRules],
      conditions: tagged(`aws:ResourceTag/${TagKeys.KIND}`),
    }),
    new iam.PolicyStatement({
      sid: 'PauseBranchSchedules',
      actions: ['scheduler:GetSchedule', 'scheduler:UpdateSchedule'],
      resources: [arn('scheduler', `schedule/default/${scope.prefix}-*`)],
    }),
    new iam.PolicyStatement({
      sid: 'KeepScheduleRoles',
      // UpdateSchedule passes the schedule's own role again.
      actions: ['iam:PassRole'],
      resources: [`arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/${scope.prefix}-*`],
      conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com', [`aws:ResourceTag/${TagKeys.KIND}`]: [...FEATURE_KINDS] } },
    }),
    new iam.PolicyStatement({
      sid: 'StopAndStartBranchDatabases',
      actions: ['rds:StopDBInstance', 'rds:StartDBInstance'],
      resources: [arn('rds', `db:${new StagingNamePatterns(scope.prefix).databaseIdentifier}`)],
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

/** The wildcards of `sleepPolicies`, each one a name prefix or a listener's rules. */
export const SLEEP_WILDCARDS =
  /^Resource::(\*|arn:.*:ecs:.*:service\/.*\/[a-z0-9]+-\*|.*:listener-rule\/.*\/\*|arn:.*:scheduler:.*:schedule\/default\/[a-z0-9]+-\*|arn:.*:iam::.*:role\/[a-z0-9]+-\*|arn:.*:rds:.*:db:[a-z0-9]+-\*-\?\?\?\?|arn:.*:ssm:.*:parameter\/.*\/\*)$/;

export const SLEEP_WILDCARDS_REASON =
  'Describe calls and GetMetricData have no resource-level permissions; services, schedules, roles and databases are per branch, so only known as `<prefix>-*` (services, rules and databases must also carry the feature tag); rules only of the one shared listener; parameters one per branch below the sleep, keep-alive and pin paths.';

/**
 * The `waker` provider: each branch's Custom::StagingSleep records what the sleeper may scale and
 * route, and a deploy of a sleeping branch wakes it (isComplete waits for a healthy web target
 * and moves the rule back), so the deployed state is always awake.
 */
export function wakerProvider(scope: SleepScope & { readonly wakerTargetGroupArn: string }): ProviderDefinition {
  return {
    name: ProviderNames.WAKER,
    options: {
      handler: 'waker',
      waits: true,
      queryInterval: Duration.seconds(15),
      timeout: Duration.minutes(1),
      totalTimeout: Duration.minutes(30),
      environment: { PARAMETER_PREFIX: scope.parameterPrefix, WAKER_TARGET_GROUP_ARN: scope.wakerTargetGroupArn },
      policies: sleepPolicies(scope),
    },
    wildcards: { reason: SLEEP_WILDCARDS_REASON, findings: SLEEP_WILDCARDS },
  };
}
