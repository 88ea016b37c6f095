import { Aws, Duration, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { BranchStatePaths, foldersAndBelow } from './contract/branch-state';
import { FEATURE_KINDS, StagingKinds, TagKeys } from './contract/staging';
import { StagingNames } from './contract/naming';
import { SweeperEnvironment as Env, SweeperEnvironmentVariables } from './contract/sweeper';
import { ReasonedResource, ReasonedResources, acknowledgeResources } from './private/acknowledge';
import { StagingArns } from './private/arns';
import { deleteBranchStackStatements } from './private/stack-deletion';
import { grantBranchParameters } from './private/grants';
import { HANDLER_RUNTIME, handlerCode } from './private/handler-code';
import { validateParameterPrefix } from './shared-staging-ref';

/** How the sweeper behaves, wherever it is deployed. */
export interface StagingSweeperOptions {
  /**
   * A feature staging with no activity (deploy, request, keep-alive) for this long is deleted.
   * @default Duration.days(3)
   */
  readonly idleTimeout?: Duration;

  /**
   * How long before deleting a staging the sweeper warns on the topic. A staging is never deleted
   * sooner than this after its warning, even when the warning comes late.
   * @default Duration.hours(24)
   */
  readonly warningPeriod?: Duration;

  /**
   * How often the sweeper runs (an EventBridge rate rule). Whole minutes, at most 12 hours (the
   * "has not run" alarm looks at two of these periods).
   * @default Duration.hours(1)
   */
  readonly schedule?: Duration;

  /**
   * Only report what would be done: the scheduled runs make no mutating call at all (no warning,
   * deletion, state or metric). A manual `{"dryRun": true}` invocation previews a run either way.
   * @default false
   */
  readonly dryRun?: boolean;

  /**
   * Retry the deletion of a DELETE_FAILED feature stack with `RetainResources` set to the
   * resources that failed. Those resources are then left behind (listed in the report and on the
   * topic) and must be deleted by hand.
   * @default false
   */
  readonly retainResourcesOnDeleteFailed?: boolean;

  /**
   * Where warnings, deletion notices and alarms go. A topic encrypted with a customer-managed KMS
   * key must let the sweeper's role and `cloudwatch.amazonaws.com` use the key.
   * @default - a new topic, encrypted with a new KMS key (rotation on)
   */
  readonly topic?: sns.ITopic;

  /**
   * Retention of the sweeper's log group, the audit trail of what it deleted.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
}

/** Properties of `StagingSweeper`. */
export interface StagingSweeperProps extends StagingSweeperOptions {
  /**
   * The staging system's prefix: the sweeper acts only on stacks named `<prefix>-*` that carry
   * the tags `staging:prefix=<prefix>` and `staging:kind=feature|feature-lite`.
   * @default 'staging'
   */
  readonly prefix?: string;

  /**
   * The SSM path of the staging system. Pins are read from `<parameterPrefix>/pins/<staging name>`,
   * keep-alives from `<parameterPrefix>/keep-alive/<staging name>`, and the sweeper keeps its own
   * state under `<parameterPrefix>/sweeper/`.
   * @default `/${prefix}`
   */
  readonly parameterPrefix?: string;
}

/**
 * Deletes feature stagings (stacks tagged `staging:kind=feature|feature-lite` and named
 * `<prefix>-*`, in this account and region) after `idleTimeout` without activity, after warning
 * on an SNS topic. Runs a Lambda function on a schedule, with alarms for errors, failures and
 * missed runs. See docs/sweeper.md.
 */
export class StagingSweeper extends Construct {
  /** Namespace of the per-run metrics (Scanned, Idle, Warned, Deleted, Failed, Pinned; dimension `Prefix`). */
  public static readonly METRIC_NAMESPACE = 'CdkMultiStaging/StagingSweeper';

  /** Warnings, deletion notices and alarm notifications. */
  public readonly topic: sns.ITopic;

  /** The sweeper function. Invoke it with `{"dryRun": true}` to preview a run. */
  public readonly function: lambda.Function;

  /** The CloudFormation service role that deletes feature stacks (only the sweeper and the stagings page may pass it). */
  public readonly deletionRole: iam.Role;

  /** The schedule. */
  public readonly rule: events.Rule;

  /** The sweeper's log group. */
  public readonly logGroup: logs.LogGroup;

  /** The function failed (a run could not read what it needs, or crashed). */
  public readonly errorsAlarm: cloudwatch.Alarm;

  /** The function has not run for two schedule periods (missing data is breaching). */
  public readonly notRunAlarm: cloudwatch.Alarm;

  /** A run could not handle some staging (API error, DELETE_FAILED stack, unreadable pin). */
  public readonly failuresAlarm: cloudwatch.Alarm;

  /** All alarms: errors, not run, failures. */
  public readonly alarms: cloudwatch.Alarm[];

  /** The prefix the sweeper acts on. */
  public readonly prefix: string;

  /** The SSM path of pins, keep-alives and state. */
  public readonly parameterPrefix: string;

  constructor(scope: Construct, id: string, props: StagingSweeperProps = {}) {
    super(scope, id);
    const prefix = props.prefix ?? 'staging';
    const parameterPrefix = props.parameterPrefix ?? `/${prefix}`;
    const idleTimeout = props.idleTimeout ?? Duration.days(3);
    const warningPeriod = props.warningPeriod ?? Duration.hours(24);
    const schedule = props.schedule ?? Duration.hours(1);
    validate(prefix, parameterPrefix, idleTimeout, warningPeriod, schedule);
    this.prefix = prefix;
    this.parameterPrefix = parameterPrefix;

    const arns = new StagingArns(this, prefix);
    const featureStacks = arns.branchStacks;
    const parameterArn = (name: string) => `arn:${Aws.PARTITION}:ssm:${Aws.REGION}:${Aws.ACCOUNT_ID}:parameter${name}`;
    const state = new BranchStatePaths(parameterPrefix);

    this.topic = props.topic ?? this.createTopic();

    this.deletionRole = new iam.Role(this, 'DeletionRole', {
      assumedBy: new iam.ServicePrincipal('cloudformation.amazonaws.com'),
      description: `CloudFormation service role the staging sweeper deletes ${prefix}-* feature stacks with`,
    });
    const deletion = deletionStatements(arns);
    for (const statement of deletion.statements) this.deletionRole.addToPrincipalPolicy(statement);

    const role = new iam.Role(this, 'FunctionRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Staging sweeper of the ${prefix}-* feature stagings`,
    });
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
    });
    this.logGroup.grantWrite(role);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListStacks',
        // DescribeStacks without a stack name (one call per 100 stacks) is authorized on "*" only.
        actions: ['cloudformation:DescribeStacks', 'cloudformation:ListStacks'],
        resources: ['*'],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListFailedResourcesOfFeatureStacks',
        actions: ['cloudformation:ListStackResources'],
        resources: [featureStacks],
      }),
    );
    for (const statement of deleteBranchStackStatements(arns, this.deletionRole.roleArn)) role.addToPrincipalPolicy(statement);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadRequestCounts',
        actions: ['cloudwatch:GetMetricData'],
        resources: ['*'],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PublishRunMetrics',
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': StagingSweeper.METRIC_NAMESPACE } },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadPinsKeepAlivesAndState',
        actions: ['ssm:GetParametersByPath'],
        resources: foldersAndBelow(state.pins, state.keepAlives, state.sweeper).map(parameterArn),
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteSweeperState',
        actions: ['ssm:PutParameter', 'ssm:DeleteParameters'],
        resources: [parameterArn(state.sweeper.below)],
      }),
    );
    this.topic.grantPublish(role);

    // The longest a run can last: an undelivered warning claimed longer ago was left by a dead run.
    const runTimeout = Duration.minutes(15);
    const environment: SweeperEnvironmentVariables = {
      [Env.STAGING_PREFIX]: prefix,
      [Env.PARAMETER_PREFIX]: parameterPrefix,
      [Env.IDLE_TIMEOUT_SECONDS]: String(idleTimeout.toSeconds()),
      [Env.WARNING_PERIOD_SECONDS]: String(warningPeriod.toSeconds()),
      [Env.RUN_TIMEOUT_SECONDS]: String(runTimeout.toSeconds()),
      [Env.DRY_RUN]: String(props.dryRun ?? false),
      [Env.RETAIN_RESOURCES_ON_DELETE_FAILED]: String(props.retainResourcesOnDeleteFailed ?? false),
      [Env.TOPIC_ARN]: this.topic.topicArn,
      [Env.DELETION_ROLE_ARN]: this.deletionRole.roleArn,
      [Env.ACCOUNT_ID]: Aws.ACCOUNT_ID,
      [Env.METRIC_NAMESPACE]: StagingSweeper.METRIC_NAMESPACE,
    };
    this.function = new lambda.Function(this, 'Function', {
      code: handlerCode('sweeper'),
      handler: 'index.handler',
      runtime: HANDLER_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      role,
      logGroup: this.logGroup,
      timeout: runTimeout,
      memorySize: 512,
      // A second guard besides the SSM claims: runs never overlap.
      reservedConcurrentExecutions: 1,
      description: `Deletes ${prefix}-* feature stagings idle for ${idleTimeout.toHumanString()}, after warning`,
      environment: { ...environment },
    });
    // A failed run is not retried: the next scheduled run starts from a fresh look anyway.
    this.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: schedule.toSeconds() > 3600 ? Duration.hours(1) : schedule });

    this.rule = new events.Rule(this, 'Schedule', {
      description: `Runs the staging sweeper of ${prefix}-* every ${schedule.toHumanString()}`,
      schedule: events.Schedule.rate(schedule),
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 2, maxEventAge: Duration.hours(1) })],
    });

    const action = new cloudwatchActions.SnsAction(this.topic);
    this.errorsAlarm = new cloudwatch.Alarm(this, 'ErrorsAlarm', {
      alarmDescription: `The staging sweeper (${prefix}) failed a run; its log group says why. Nothing is deleted by a failed run.`,
      metric: this.function.metricErrors({ period: schedule, statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.notRunAlarm = new cloudwatch.Alarm(this, 'NotRunAlarm', {
      alarmDescription: `The staging sweeper (${prefix}) has not run for two periods of ${schedule.toHumanString()}: idle stagings are not being cleaned up.`,
      metric: this.function.metricInvocations({ period: schedule, statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 2,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    this.failuresAlarm = new cloudwatch.Alarm(this, 'FailuresAlarm', {
      alarmDescription: `The staging sweeper (${prefix}) could not handle some stagings (API errors, DELETE_FAILED stacks or unreadable pins); see the run report in its log group.`,
      metric: this.metric('Failed', { period: schedule, statistic: 'Maximum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarms = [this.errorsAlarm, this.notRunAlarm, this.failuresAlarm];
    for (const alarm of this.alarms) alarm.addAlarmAction(action);

    this.acknowledgeFindings(featureStacks, deletion.acknowledgements);
  }

  /** One of the per-run metrics: Scanned, Idle, Warned, Deleted, Failed or Pinned. */
  public metric(metricName: string, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: StagingSweeper.METRIC_NAMESPACE,
      metricName,
      dimensionsMap: { Prefix: this.prefix },
      statistic: 'Sum',
      ...props,
    });
  }

  /**
   * Lets `grantee` pin stagings: `ssm:PutParameter`, `ssm:DeleteParameter` and `ssm:GetParameter`
   * on `<parameterPrefix>/pins/*` (see `BranchParameterNames.PIN_PREFIX` and docs/sweeper.md).
   *
   * cdk-nag reports the `/*` resource as AwsSolutions-IAM5 on the grantee's policy: a pin is one
   * parameter per staging, so acknowledge it there.
   *
   * @param grantee the principal, e.g. the CI role or a developers' role
   */
  public grantPin(grantee: iam.IGrantable): iam.Grant {
    return grantBranchParameters(grantee, this, new BranchStatePaths(this.parameterPrefix).pins);
  }

  /**
   * Lets `grantee` record keep-alives: `ssm:PutParameter`, `ssm:DeleteParameter` and
   * `ssm:GetParameter` on `<parameterPrefix>/keep-alive/*` (see `BranchParameterNames.KEEP_ALIVE_PREFIX`).
   *
   * cdk-nag reports the `/*` resource as AwsSolutions-IAM5 on the grantee's policy: a keep-alive
   * is one parameter per staging, so acknowledge it there.
   *
   * @param grantee the principal, e.g. the CI role that deploys branches
   */
  public grantKeepAlive(grantee: iam.IGrantable): iam.Grant {
    return grantBranchParameters(grantee, this, new BranchStatePaths(this.parameterPrefix).keepAlives);
  }

  private createTopic(): sns.Topic {
    const key = new kms.Key(this, 'TopicKey', {
      description: 'Encrypts the staging sweeper topic',
      enableKeyRotation: true,
    });
    // CloudWatch alarms publish to the encrypted topic (an AWS managed key would not allow this).
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
    return new sns.Topic(this, 'Topic', {
      displayName: 'Staging sweeper',
      masterKey: key,
      enforceSSL: true,
    });
  }

  /** Acknowledges, on the exact resources, the cdk-nag findings that are by design. */
  private acknowledgeFindings(featureStacks: string, deletionAcknowledgements: ReasonedResource[]): void {
    const functionPolicy = this.function.role!.node.tryFindChild('DefaultPolicy') ?? this.function.role!;
    const state = new BranchStatePaths(this.parameterPrefix);
    Validations.of(functionPolicy).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Only for cloudformation:DescribeStacks/ListStacks (listing all stacks, 100 per call, is authorized on "*" only), ' +
          'cloudwatch:GetMetricData (no resource-level permissions) and cloudwatch:PutMetricData (limited by the cloudwatch:namespace condition). All read-only except the namespaced metrics.',
      },
      ...[state.pins, state.keepAlives, state.sweeper].map((f) => ({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter${f.below}]`,
        reason: `Pins, keep-alives and the sweeper's state are one parameter per branch below ${f.root}; the sweeper writes only below ${state.sweeper.root}.`,
      })),
      {
        id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason: 'Granted by topic.grantPublish on the topic\'s own KMS key only: publishing to an encrypted topic needs a data key.',
      },
    );
    acknowledgeResources(this.function.role!, [
      {
        arn: featureStacks,
        reason:
          'Feature stacks are created per branch, so their names are only known as <prefix>-*. DeleteStack is further limited to stacks tagged ' +
          `${TagKeys.KIND}=feature|feature-lite and ${TagKeys.PREFIX}=${this.prefix}, and to the sweeper's own deletion role.`,
      },
    ]);
    acknowledgeResources(this.deletionRole, deletionAcknowledgements);
  }
}

/**
 * What the CloudFormation service role may do when the sweeper deletes a feature stack. The
 * primary guard is which stacks can be deleted with it: only the sweeper may pass the role, and the
 * sweeper may only delete tagged `<prefix>-*` feature stacks. Within that, the role holds the
 * delete permissions CloudFormation's resource handlers list for each resource type of a feature
 * or lite stack (`handlers.delete.permissions` of the registry schemas), on resources either tagged
 * as this system's feature resources or named after the stack, and on the few untaggable resource
 * types scoped to this account and region. On top, whatever carries `staging:kind=shared` or bears
 * a shared staging's name is denied explicitly. Extend it with `deletionRole.addToPrincipalPolicy`
 * when your feature stacks contain other resource types.
 */
function deletionStatements(arns: StagingArns): { statements: iam.PolicyStatement[]; acknowledgements: ReasonedResource[] } {
  const { prefix, patterns, shared } = arns;
  const only =
    'The role is usable only through CloudFormation (its only trusted principal) by whoever may pass it: the sweeper, whose ' +
    `DeleteStack is limited to ${prefix}-* stacks tagged as this system's feature stagings; CloudFormation then acts only on that stack's own resources.`;
  const reasons = new ReasonedResources(only);
  const scoped = reasons.scope.bind(reasons);
  const statements = [
    new iam.PolicyStatement({
      sid: 'DescribeWhatIsBeingDeleted',
      actions: DELETION_READS,
      resources: scoped(['*', 'Describe/list actions CloudFormation reads while deleting (read-only).']),
    }),
    new iam.PolicyStatement({
      sid: 'DeleteTaggedFeatureResources',
      actions: [...TAGGED_DELETES],
      resources: scoped(['*', 'Deletes of tagged resources, limited by the aws:ResourceTag conditions on staging:kind and staging:prefix.']),
      conditions: {
        StringEquals: {
          [`aws:ResourceTag/${TagKeys.KIND}`]: [...FEATURE_KINDS],
          [`aws:ResourceTag/${TagKeys.PREFIX}`]: prefix,
        },
      },
    }),
    new iam.PolicyStatement({
      sid: 'DeleteFeatureResourcesNamedAfterTheStack',
      actions: [...NAMED_DELETES],
      resources: scoped(
        [arns.branchServices(), 'ECS services of feature stacks are named after the stack (<prefix>-<branch>-...).'],
        [arns.logGroups(patterns.logGroupName), 'Feature log groups live under /<prefix>/<branch>/.'],
        [arns.logGroups(patterns.generatedName), 'Log groups CloudFormation named after the feature stack.'],
        [arns.branchRoles, 'Task and execution roles CloudFormation named after the feature stack; delete-only actions.'],
        [arns.eventRules(patterns.generatedName), 'EventBridge rules CloudFormation named after the feature stack.'],
        [arns.alarms(patterns.generatedName), 'Alarms CloudFormation named after the feature stack.'],
        [arns.branchDatabases, 'Branch databases are named <prefix>-<branch>-<generation>.'],
        [arns.elastiCache('replicationgroup', patterns.cacheId), 'Branch caches are named <prefix>-<branch>.'],
        [arns.elastiCache('cluster', patterns.cacheId), 'Member clusters of branch caches.'],
        [arns.secrets(patterns.secretName), 'Branch secrets are named <prefix>/branches/<branch>/....'],
        [arns.parameters(patterns.parameterPath), 'Per-branch parameters live under /<prefix>/branches/<branch>.'],
      ),
    }),
    new iam.PolicyStatement({
      sid: 'PassFeatureTaskRolesOnTaskDefinitionDelete',
      // Listed by the AWS::ECS::TaskDefinition delete handler; only feature roles, only to ECS tasks.
      actions: ['iam:PassRole'],
      resources: scoped([arns.branchRoles, 'Only feature-tagged task roles, passed only to ECS tasks, as the task definition delete handler requires.']),
      conditions: {
        StringEquals: {
          'iam:PassedToService': 'ecs-tasks.amazonaws.com',
          [`aws:ResourceTag/${TagKeys.KIND}`]: [...FEATURE_KINDS],
          [`aws:ResourceTag/${TagKeys.PREFIX}`]: prefix,
        },
      },
    }),
    new iam.PolicyStatement({
      sid: 'DeleteUntaggableFeatureResources',
      actions: ['scheduler:DeleteSchedule', 'ec2:RevokeSecurityGroupIngress', 'ec2:RevokeSecurityGroupEgress'],
      resources: scoped(
        [arns.schedules('*', '*'), 'EventBridge Scheduler schedules carry no tags and CloudFormation-generated names; delete-only.'],
        [arns.securityGroups('*'), 'Revoking the ingress rules a feature stack added to shared security groups (revoke-only).'],
      ),
    }),
    new iam.PolicyStatement({
      sid: 'DeleteDnsRecordsOnly',
      actions: ['route53:ChangeResourceRecordSets'],
      resources: scoped([arns.hostedZones('*'), 'DNS records carry no tags; the route53:ChangeResourceRecordSetsActions condition allows DELETE changes only.']),
      conditions: { 'ForAllValues:StringEquals': { 'route53:ChangeResourceRecordSetsActions': ['DELETE'] } },
    }),
    new iam.PolicyStatement({
      sid: 'DeregisterWithoutResourceLevelPermissions',
      actions: [
        'ecs:DeregisterTaskDefinition',
        'ecs:DeleteTaskDefinitions',
        'application-autoscaling:DeregisterScalableTarget',
        'application-autoscaling:DeleteScalingPolicy',
        'application-autoscaling:DeleteScheduledAction',
      ],
      resources: scoped(['*', 'Task-definition and auto-scaling deregistration has no resource-level permissions.']),
    }),
    new iam.PolicyStatement({
      sid: 'InvokeCustomResourceProvidersOnDelete',
      actions: ['lambda:InvokeFunction'],
      resources: scoped([
        arns.functions('*'),
        `Deleting a custom resource invokes its provider function (in the shared stack, whose function names are generated); only functions tagged ${TagKeys.PROVIDER} and as this prefix's shared staging, never the sweeper, the sleeper or any other function.`,
      ]),
      // The provider framework's function behind each service token carries the provider tag
      // (lib/staging-provider.ts); a branch stack whose custom resource names another function
      // as its service token cannot make CloudFormation invoke it with this role.
      conditions: {
        StringEquals: { [`aws:ResourceTag/${TagKeys.KIND}`]: StagingKinds.SHARED, [`aws:ResourceTag/${TagKeys.PREFIX}`]: prefix },
        Null: { [`aws:ResourceTag/${TagKeys.PROVIDER}`]: 'false' },
      },
    }),
    // Defence in depth: `<prefix>-*` and `/<prefix>/*` also match the shared staging's own
    // resources. Not denied: lambda:InvokeFunction (custom-resource deletes invoke the shared
    // providers) and revoking security group rules (a branch may add rules to shared groups).
    new iam.PolicyStatement({
      sid: 'DenyTouchingSharedResources',
      effect: iam.Effect.DENY,
      actions: SHARED_DENIED,
      resources: ['*'],
      conditions: { StringEquals: { [`aws:ResourceTag/${TagKeys.KIND}`]: StagingKinds.SHARED } },
    }),
    new iam.PolicyStatement({
      sid: 'DenySharedResourcesByName',
      effect: iam.Effect.DENY,
      actions: SHARED_DENIED,
      resources: [arns.logGroups(`${shared.logGroupPrefix}*`), arns.logGroups(shared.databaseLogGroupName), arns.rds('db', shared.databaseIdentifier)],
    }),
  ];
  return { statements, acknowledgements: reasons.all };
}

/** Reads CloudFormation's delete handlers make (describe, get, list): on `*`, read-only. */
const DELETION_READS = [
  'cloudformation:DescribeStacks',
  'cloudformation:DescribeStackResources',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeSecurityGroupRules',
  'ec2:DescribeNetworkInterfaces',
  'ecs:DescribeServices',
  'ecs:DescribeTaskDefinition',
  'elasticloadbalancing:DescribeTargetGroups',
  'elasticloadbalancing:DescribeRules',
  'logs:DescribeLogGroups',
  'secretsmanager:DescribeSecret',
  'rds:DescribeDBInstances',
  'elasticache:DescribeReplicationGroups',
  'elasticache:DescribeCacheClusters',
  'iam:GetRole',
  'iam:GetRolePolicy',
  'iam:ListRolePolicies',
  'iam:ListAttachedRolePolicies',
  'iam:ListInstanceProfilesForRole',
  'events:DescribeRule',
  'events:ListTargetsByRule',
  'scheduler:GetSchedule',
  'route53:GetChange',
  'route53:ListResourceRecordSets',
  'cloudwatch:DescribeAlarms',
  'application-autoscaling:DescribeScalableTargets',
  'application-autoscaling:DescribeScalingPolicies',
  'ssm:GetParameters',
];

/** Deletes allowed on resources tagged as this system's feature resources. */
const TAGGED_DELETES = [
  'ecs:DeleteService',
  'ecs:UpdateService',
  'elasticloadbalancing:DeleteTargetGroup',
  'logs:DeleteLogGroup',
  'logs:DeleteDataProtectionPolicy',
  'secretsmanager:DeleteSecret',
  'secretsmanager:RemoveRegionsFromReplication',
  'rds:DeleteDBInstance',
  'elasticache:DeleteReplicationGroup',
  'elasticache:CreateSnapshot',
  'iam:DeleteRole',
  'iam:DeleteRolePolicy',
  'iam:DetachRolePolicy',
  'iam:TagRole',
  'iam:UntagRole',
  'ec2:DeleteSecurityGroup',
  'ec2:RevokeSecurityGroupIngress',
  'ec2:RevokeSecurityGroupEgress',
  'events:DeleteRule',
  'events:RemoveTargets',
  'cloudwatch:DeleteAlarms',
  'scheduler:DeleteScheduleGroup',
  'ssm:DeleteParameter',
];

/** Deletes allowed on resources named after the feature stack (tags may be missing on some). */
const NAMED_DELETES = [
  'ecs:DeleteService',
  'ecs:UpdateService',
  'logs:DeleteLogGroup',
  'logs:DeleteDataProtectionPolicy',
  'iam:DeleteRole',
  'iam:DeleteRolePolicy',
  'iam:DetachRolePolicy',
  'iam:TagRole',
  'iam:UntagRole',
  'events:DeleteRule',
  'events:RemoveTargets',
  'cloudwatch:DeleteAlarms',
  'rds:DeleteDBInstance',
  'elasticache:DeleteReplicationGroup',
  'elasticache:DeleteCacheCluster',
  'elasticache:CreateSnapshot',
  'secretsmanager:DeleteSecret',
  'secretsmanager:RemoveRegionsFromReplication',
  'ssm:DeleteParameter',
];

/** Every change the role could make, less invoking providers and revoking security group rules. */
const SHARED_DENIED = [...new Set([...TAGGED_DELETES, ...NAMED_DELETES, 'iam:PassRole', 'scheduler:DeleteSchedule'])]
  .filter((a) => !a.startsWith('ec2:Revoke'))
  .sort();

function validate(prefix: string, parameterPrefix: string, idleTimeout: Duration, warningPeriod: Duration, schedule: Duration): void {
  const problems: string[] = [];
  if (!Token.isUnresolved(prefix)) problems.push(...StagingNames.validatePrefix(prefix));
  if (!Token.isUnresolved(parameterPrefix)) problems.push(...validateParameterPrefix(parameterPrefix));
  const resolved = [idleTimeout, warningPeriod, schedule].every((d) => !d.isUnresolved());
  if (resolved) {
    if (idleTimeout.toSeconds() < 3600) {
      problems.push(`idleTimeout must be at least 1 hour (got ${idleTimeout.toHumanString()}); e.g. Duration.days(3)`);
    }
    if (warningPeriod.toSeconds() < 60 || warningPeriod.toSeconds() >= idleTimeout.toSeconds()) {
      problems.push(
        `warningPeriod must be at least 1 minute and shorter than idleTimeout (got ${warningPeriod.toHumanString()} with an idleTimeout of ${idleTimeout.toHumanString()}); e.g. Duration.hours(24)`,
      );
    }
    const minutes = schedule.toSeconds() / 60;
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 12 * 60) {
      problems.push(
        `schedule must be whole minutes between 1 minute and 12 hours (got ${schedule.toHumanString()}); the "has not run" alarm spans two periods and CloudWatch allows at most a day`,
      );
    }
  }
  if (problems.length) throw new Error(`Invalid StagingSweeper properties:\n${problems.join('\n')}`);
}
