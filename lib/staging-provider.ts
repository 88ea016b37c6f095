import { Duration, RemovalPolicy, Tags, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { TagKeys } from './contract/staging';
import { acknowledgeWildcardPermissions } from './private/acknowledge';
import { HANDLER_RUNTIME, handlerCode } from './private/handler-code';
import { PROVIDER_SERVICE_TIMEOUT } from './private/timeouts';

/** How a shared custom-resource provider runs. */
export interface StagingProviderOptions {
  /**
   * The bundled handler: `assets/handlers/<handler>/index.js`, exporting `onEvent` (and
   * `isComplete` when `waits` is set).
   */
  readonly handler: string;

  /** What the handler may do. Scope every statement by resource name or tag. */
  readonly policies: iam.PolicyStatement[];

  /**
   * The handler finishes its work in `isComplete`, polled every `queryInterval` until
   * `totalTimeout`.
   * @default false
   */
  readonly waits?: boolean;

  /**
   * How often `isComplete` is polled.
   * @default Duration.seconds(30)
   */
  readonly queryInterval?: Duration;

  /**
   * How long the provider waits in all (only with `waits`). Keep it below the 1-hour service
   * timeout that feature stacks give their custom resources (`StagingProvider.SERVICE_TIMEOUT`).
   * @default Duration.minutes(50)
   */
  readonly totalTimeout?: Duration;

  /**
   * Timeout of one handler invocation.
   * @default Duration.minutes(2)
   */
  readonly timeout?: Duration;

  /**
   * Memory of the handler.
   * @default 256
   */
  readonly memorySize?: number;

  /**
   * Run the handler in this VPC (e.g. to reach Solr or Redis).
   * @default - not in a VPC
   */
  readonly vpc?: ec2.IVpc;

  /**
   * Subnets in `vpc`.
   * @default - private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * Security groups of the handler in `vpc`.
   * @default - a new security group with outbound access
   */
  readonly securityGroups?: ec2.ISecurityGroup[];

  /**
   * Environment of the handler.
   * @default - none
   */
  readonly environment?: Record<string, string>;
}

/** Properties of `StagingProvider`. */
export interface StagingProviderProps extends StagingProviderOptions {
  /** The provider's name, e.g. `listener-priority`. */
  readonly name: string;
}

/**
 * One custom-resource provider of the shared staging: a pre-bundled handler run by aws-cdk-lib's
 * Provider framework. Feature stacks hold only `CustomResource`s that point at its service token,
 * so they have no Lambda functions, assets or ENIs of their own.
 */
export class StagingProvider extends Construct {
  /**
   * The `serviceTimeout` feature stacks give custom resources of these providers: CloudFormation's
   * maximum, above every provider's `totalTimeout`.
   */
  public static readonly SERVICE_TIMEOUT = PROVIDER_SERVICE_TIMEOUT;

  /** The service token feature stacks pass to `CustomResource`. */
  public readonly serviceToken: string;

  /** The `onEvent` handler. */
  public readonly onEventHandler: lambda.Function;

  /** The `isComplete` handler, when the provider waits. */
  public readonly isCompleteHandler?: lambda.Function;

  constructor(scope: Construct, id: string, props: StagingProviderProps) {
    super(scope, id);
    if (props.totalTimeout && props.totalTimeout.toSeconds() >= StagingProvider.SERVICE_TIMEOUT.toSeconds()) {
      throw new Error(
        `totalTimeout of the ${props.name} provider must be below ${StagingProvider.SERVICE_TIMEOUT.toHumanString()} (got ${props.totalTimeout.toHumanString()}); CloudFormation stops waiting for a custom resource after one hour`,
      );
    }
    const code = handlerCode(props.handler);
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Handler of the ${props.name} staging provider`,
    });
    for (const statement of props.policies) role.addToPolicy(statement);

    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const fn = (fnId: string, entry: string) => {
      const f = new lambda.Function(this, fnId, {
        code,
        handler: `index.${entry}`,
        runtime: HANDLER_RUNTIME,
        role,
        timeout: props.timeout ?? Duration.minutes(2),
        memorySize: props.memorySize ?? 256,
        environment: props.environment,
        logGroup,
        vpc: props.vpc,
        vpcSubnets: props.vpc ? (props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }) : undefined,
        securityGroups: props.vpc ? props.securityGroups : undefined,
        description: `${props.name} staging provider: ${entry}`,
      });
      return f;
    };
    this.onEventHandler = fn('OnEvent', 'onEvent');
    if (props.waits) this.isCompleteHandler = fn('IsComplete', 'isComplete');
    logGroup.grantWrite(role);
    if (props.vpc) {
      role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole'));
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM4[Policy::${managedPolicyFinding('AWSLambdaVPCAccessExecutionRole')}]`,
        reason: 'AWSLambdaVPCAccessExecutionRole is the standard, minimal policy for a VPC function to manage its network interfaces.',
      });
    }

    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.onEventHandler,
      isCompleteHandler: this.isCompleteHandler,
      queryInterval: props.waits ? (props.queryInterval ?? Duration.seconds(30)) : undefined,
      totalTimeout: props.waits ? (props.totalTimeout ?? Duration.minutes(50)) : undefined,
      logGroup,
      disableWaiterStateMachineLogging: props.waits ? false : undefined,
      waiterStateMachineLogOptions: props.waits ? { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false } : undefined,
    });
    const waiter = provider.node.tryFindChild('waiter-state-machine');
    if (waiter) {
      Validations.of(waiter).acknowledge({
        id: 'AwsSolutions-SF2',
        reason: 'The waiter only polls isComplete every few seconds; its executions are logged in full, and X-Ray traces would add cost without insight.',
      });
      acknowledgeWildcardPermissions(
        waiter,
        'Step Functions log delivery (logs:CreateLogDelivery and friends) has no resource-level permissions.',
        /^Resource::\*$/,
      );
    }
    this.serviceToken = provider.serviceToken;
    // The function behind the service token: what a custom-resource delete invokes, and all the
    // sweeper's deletion role may invoke (lib/staging-sweeper.ts).
    Tags.of(provider.node.findChild('framework-onEvent')).add(TagKeys.PROVIDER, props.name);
    acknowledgeWildcardPermissions(
      provider,
      'The Provider framework may invoke the versions of its own handler functions (function ARN with `:*`), nothing else.',
      /^Resource::<[^>]+\.Arn>:\*$/,
    );
    Validations.of(provider).acknowledge(
      {
        id: `AwsSolutions-IAM4[Policy::${managedPolicyFinding('AWSLambdaBasicExecutionRole')}]`,
        reason: 'The Provider framework\'s own functions use AWSLambdaBasicExecutionRole, the minimal policy for writing their logs.',
      },
    );
  }
}

/** How cdk-nag names an AWS managed service-role policy in its IAM4 findings. */
function managedPolicyFinding(name: string): string {
  return `arn:<AWS::Partition>:iam::aws:policy/service-role/${name}`;
}
