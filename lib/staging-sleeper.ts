import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { SharedStagingNames } from './contract/naming';
import { SharedParameterNames } from './contract/staging';
import { ReasonedResources, acknowledgeResources, acknowledgeWildcardPermissions } from './private/acknowledge';
import { StagingArns } from './private/arns';
import { WakerEnvironment } from './contract/providers/waker';
import { HANDLER_RUNTIME, handlerCode } from './private/handler-code';
import { InvokedByItsTargetGroup } from './private/lambda-target';
import { SLEEP_WILDCARDS, SLEEP_WILDCARDS_REASON, sleepPolicies } from './providers/waker';

/** Options of the sleeper that SharedStaging runs. */
export interface StagingSleeperOptions {
  /**
   * How often the sleeper looks for idle branches (and finishes wakes nobody is watching).
   * @default Duration.minutes(5)
   */
  readonly schedule?: Duration;

  /**
   * How long the waker's and the sleeper's logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/** Properties of `StagingSleeper`. */
export interface StagingSleeperProps extends StagingSleeperOptions {
  /** The staging system's prefix. */
  readonly prefix: string;
  /** The SSM parameter prefix, e.g. `/staging`. */
  readonly parameterPrefix: string;
  /** The shared cluster the branches run on. */
  readonly cluster: ecs.ICluster;
  /** The shared HTTPS listener that holds the branches' rules (shard 0's). */
  readonly listener: elbv2.IApplicationListener;
  /**
   * The HTTPS listeners of the other shards (`SharedStagingProps.maxBranches`), in shard order: the
   * sleeper and the waker may move their branches' rules too, and each gets a waker target group.
   * @default - none: one load balancer
   */
  readonly additionalListeners?: elbv2.IApplicationListener[];
}

/**
 * Sleep on idle, wake on request, in the shared stack: the waker (a Lambda function behind its
 * own target group, which every sleeping branch's rule forwards to) and the sleeper (a scheduled
 * function that puts idle branches to sleep). Branch stacks hold no function; they only point
 * their listener rule at `targetGroup` with weight 0 (see docs/sleep.md).
 */
export class StagingSleeper extends Construct {
  /** The waker's Lambda target group on shard 0 (`listener`'s load balancer). */
  public readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** The waker's Lambda target group on each shard, shard 0 first: a sleeping branch's rule forwards to its shard's. */
  public readonly targetGroups: elbv2.ApplicationTargetGroup[];
  /** Answers requests to sleeping branches and wakes them. */
  public readonly wakerFunction: lambda.Function;
  /** Puts idle branches to sleep. */
  public readonly sleeperFunction: lambda.Function;
  /** The sleeper's schedule. */
  public readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: StagingSleeperProps) {
    super(scope, id);
    const schedule = props.schedule ?? Duration.minutes(5);
    if (!schedule.isUnresolved() && (schedule.toSeconds() < 60 || schedule.toSeconds() > 3600 || schedule.toSeconds() % 60 !== 0)) {
      throw new Error(
        `sleeper.schedule must be whole minutes from 1 minute to 1 hour (got ${schedule.toHumanString()}); e.g. Duration.minutes(5)`,
      );
    }
    const listeners = [props.listener, ...(props.additionalListeners ?? [])];
    const policyScope = { prefix: props.prefix, parameterPrefix: props.parameterPrefix, clusterName: props.cluster.clusterName, listenerArns: listeners.map((l) => l.listenerArn) };
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Waker and sleeper of the ${props.prefix}-* branch stagings`,
    });
    const reasons = new ReasonedResources();
    for (const statement of sleepPolicies(Stack.of(this), policyScope, reasons)) role.addToPolicy(statement);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    logGroup.grantWrite(role);
    const code = handlerCode('waker');

    this.wakerFunction = new lambda.Function(this, 'Waker', {
      code,
      handler: 'index.onRequest',
      runtime: HANDLER_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      role,
      logGroup,
      timeout: Duration.seconds(15),
      memorySize: 256,
      description: `Answers requests to sleeping ${props.prefix}-* branches and wakes them`,
      environment: { [WakerEnvironment.PARAMETER_PREFIX]: props.parameterPrefix },
    });
    // Named, so that the waker's Lambda permission can name it as its SourceArn: only these target
    // groups may invoke the waker (a SourceArn by reference would be circular, since the target
    // group registers the function only once the permission exists). Shard 0's keeps its ids.
    const names = new SharedStagingNames(props.prefix);
    const arns = new StagingArns(this, props.prefix);
    this.targetGroups = listeners.map((_, index) => {
      const targetGroupName = names.wakerTargetGroupNameOf(index);
      const suffix = index === 0 ? '' : String(index);
      return new elbv2.ApplicationTargetGroup(this, `TargetGroup${suffix}`, {
        targetGroupName,
        targetType: elbv2.TargetType.LAMBDA,
        targets: [new InvokedByItsTargetGroup(this.wakerFunction, arns.targetGroups(targetGroupName), `InvokedByTargetGroup${suffix}`)],
      });
    });
    this.targetGroup = this.targetGroups[0];

    this.sleeperFunction = new lambda.Function(this, 'Sleeper', {
      code,
      handler: 'index.onSchedule',
      runtime: HANDLER_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      role,
      logGroup,
      timeout: Duration.minutes(5),
      memorySize: 256,
      // Runs never overlap; the steps are idempotent anyway.
      reservedConcurrentExecutions: 1,
      description: `Puts idle ${props.prefix}-* branches to sleep`,
      environment: { [WakerEnvironment.PARAMETER_PREFIX]: props.parameterPrefix, [WakerEnvironment.WAKER_TARGET_GROUP_ARN]: this.targetGroup.targetGroupArn },
    });
    this.sleeperFunction.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: schedule });
    this.rule = new events.Rule(this, 'Schedule', {
      description: `Puts idle ${props.prefix}-* branch stagings to sleep, every ${schedule.toHumanString()}`,
      schedule: events.Schedule.rate(schedule),
      targets: [new targets.LambdaFunction(this.sleeperFunction, { retryAttempts: 0 })],
    });

    new ssm.StringParameter(this, 'TargetGroupArn', {
      parameterName: `${props.parameterPrefix}/${SharedParameterNames.WAKER_TARGET_GROUP_ARN}`,
      stringValue: this.targetGroup.targetGroupArn,
      description: 'Target group of the waker, which sleeping branch rules forward to',
    });
    acknowledgeWildcardPermissions(role, SLEEP_WILDCARDS_REASON, SLEEP_WILDCARDS);
    acknowledgeResources(role, reasons.all);
  }
}
