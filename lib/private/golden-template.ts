import { CfnOutput, CustomResource, Fn, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { MAX_IDENTIFIER_BYTES, NEXT_SUFFIX, TEMPLATE_LOCK, identifierProblem } from '../contract/providers/database-template';
import { SharedStagingNames, StagingNames } from '../contract/naming';
import type { SharedDatabaseTemplateOptions } from '../providers/database-template';
import { acknowledgeWildcardPermissions } from './acknowledge';
import { GOLDEN_REFRESH_SCRIPT } from './golden-refresh-script';
import { ReleaseResourceProperties, ResourceTypes } from '../contract/providers';
import type { StagingProvider } from '../staging-provider';
import { PROVIDER_SERVICE_TIMEOUT } from './timeouts';

/** Properties of `GoldenTemplate`. */
export interface GoldenTemplateProps extends SharedDatabaseTemplateOptions {
  readonly prefix: string;
  readonly cluster: ecs.ICluster;
  readonly vpcSubnets: ec2.SubnetSelection;
  readonly securityGroups: ec2.ISecurityGroup[];
  readonly host: string;
  readonly port: string;
  /** The shared Postgres's admin secret (`username`, `password`). */
  readonly adminSecret: secretsmanager.ISecret;
  /** The shared app's database: the refresh's source. */
  readonly sourceDatabase: string;
  /** Major version of the shared Postgres: the refresh runs the same version's pg_dump. */
  readonly postgresMajorVersion: string;
  /** The shared staging's schedule group (`SharedStagingNames.scheduleGroupName`). */
  readonly scheduleGroup: scheduler.IScheduleGroup;
  /** The shared staging's release-task provider, which runs the first refresh on the first deploy. */
  readonly releaseTaskProvider?: StagingProvider;
}

/**
 * The golden template on the shared Postgres and its refresh: a one-off Fargate task with the
 * official postgres image that runs GOLDEN_REFRESH_SCRIPT (pg_dump | pg_restore into a new
 * database beside the live template, then a swap), on a schedule and on demand.
 */
export class GoldenTemplate extends Construct {
  public readonly templateDatabase: string;
  /** The NOLOGIN role that owns the golden template's objects. */
  public readonly templateOwner: string;
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  /** The command that refreshes the golden template now (also the stack output). */
  public readonly refreshCommand: string;

  constructor(scope: Construct, id: string, props: GoldenTemplateProps) {
    super(scope, id);
    this.templateDatabase = props.templateDatabaseName ?? `${props.prefix}_template`;
    this.templateOwner = `${props.prefix}_template_owner`;
    validate(props, this.templateDatabase);

    const logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/${props.prefix}/shared/database-template-refresh`,
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'RefreshTask', {
      family: new SharedStagingNames(props.prefix).databaseTemplateRefreshFamily,
      cpu: props.cpu ?? 512,
      memoryLimitMiB: props.memoryLimitMiB ?? 1024,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.ARM64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    this.taskDefinition.addContainer('refresh', {
      image: ecs.ContainerImage.fromRegistry(`public.ecr.aws/docker/library/postgres:${props.postgresMajorVersion}`),
      entryPoint: ['bash', '-c'],
      command: [GOLDEN_REFRESH_SCRIPT],
      essential: true,
      environment: {
        PGHOST: props.host,
        PGPORT: props.port,
        PGSSLMODE: 'require',
        SOURCE_DATABASE: props.sourceDatabase,
        TEMPLATE_DATABASE: this.templateDatabase,
        TEMPLATE_OWNER: this.templateOwner,
        LOCK_CLASS: String(TEMPLATE_LOCK.classId),
        LOCK_OBJECT: String(TEMPLATE_LOCK.objectId),
      },
      secrets: {
        PGUSER: ecs.Secret.fromSecretsManager(props.adminSecret, 'username'),
        PGPASSWORD: ecs.Secret.fromSecretsManager(props.adminSecret, 'password'),
      },
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'refresh' }),
    });
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason: 'Only non-secret configuration (host, database names, lock ids) is passed as environment; the admin credentials are ECS secrets from Secrets Manager.',
    });

    const schedule = new scheduler.Schedule(this, 'Schedule', {
      scheduleGroup: props.scheduleGroup,
      schedule: props.schedule ?? scheduler.ScheduleExpression.cron({ minute: '0', hour: '2' }),
      description: `Refreshes the golden template ${this.templateDatabase} from ${props.sourceDatabase}`,
      target: new targets.EcsRunFargateTask(props.cluster, {
        taskDefinition: this.taskDefinition,
        vpcSubnets: props.vpcSubnets,
        securityGroups: props.securityGroups,
        capacityProviderStrategies: [{ capacityProvider: 'FARGATE', weight: 1 }],
      }),
    });
    // The schedule names its group by name only: CloudFormation must create the group first.
    schedule.node.addDependency(props.scheduleGroup);
    acknowledgeWildcardPermissions(
      schedule,
      'Scheduler may tag the refresh tasks it starts on the shared cluster; task ids are not known in advance.',
      /^Resource::arn:.+:ecs:.+:task\/[^/*]+\/\*$/,
    );

    const subnets = props.cluster.vpc.selectSubnets(props.vpcSubnets).subnetIds;
    this.refreshCommand = Fn.join('', [
      'aws ecs run-task --region ',
      Stack.of(this).region,
      ' --cluster ',
      props.cluster.clusterName,
      ' --task-definition ',
      this.taskDefinition.family,
      ' --capacity-provider-strategy capacityProvider=FARGATE,weight=1 --network-configuration "awsvpcConfiguration={subnets=[',
      Fn.join(',', subnets),
      '],securityGroups=[',
      Fn.join(',', props.securityGroups.map((g) => g.securityGroupId)),
      ']}"',
    ]);
    this.firstRefresh(props, logGroup, subnets);
    new CfnOutput(Stack.of(this), 'StagingDatabaseTemplateRefreshCommand', {
      description: `Refreshes the golden template ${this.templateDatabase} now (branch databases are copied from it)`,
      value: this.refreshCommand,
    });
  }

  /**
   * The first refresh, run by the shared stack's first deploy through the release-task provider
   * (a `Custom::StagingRelease` of the shared staging), so the golden template exists before any
   * branch is copied from it. It runs again only when the refresh task changes (a new Postgres
   * major, a new script); the nightly schedule keeps the template fresh.
   */
  private firstRefresh(props: GoldenTemplateProps, logGroup: logs.LogGroup, subnets: string[]): void {
    const provider = props.releaseTaskProvider;
    if (!provider) return;
    // The provider passes only feature-staging roles; these two are the shared staging's.
    this.taskDefinition.taskRole.grantPassRole(provider.onEventHandler.grantPrincipal);
    this.taskDefinition.obtainExecutionRole().grantPassRole(provider.onEventHandler.grantPrincipal);
    const refresh = new CustomResource(this, 'FirstRefresh', {
      serviceToken: provider.serviceToken,
      resourceType: ResourceTypes.RELEASE,
      serviceTimeout: PROVIDER_SERVICE_TIMEOUT,
      properties: {
        ClusterArn: props.cluster.clusterArn,
        TaskDefinitionArn: this.taskDefinition.taskDefinitionArn,
        ContainerName: 'refresh',
        Command: [GOLDEN_REFRESH_SCRIPT],
        Subnets: subnets,
        SecurityGroups: props.securityGroups.map((g) => g.securityGroupId),
        CapacityProviderStrategy: JSON.stringify([{ capacityProvider: 'FARGATE', weight: 1 }]),
        LogGroupName: logGroup.logGroupName,
        LogStreamPrefix: 'refresh',
        StagingName: 'shared-database-template',
      } satisfies ReleaseResourceProperties,
    });
    // The task pulls the postgres image through the NAT gateway and reads the shared database.
    refresh.node.addDependency(props.cluster.vpc);
  }
}

function validate(props: GoldenTemplateProps, name: string): void {
  const problems: string[] = [];
  const key = 'databaseTemplate.templateDatabaseName';
  const problem = identifierProblem(key, name);
  if (problem) problems.push(`${problem} (got ${JSON.stringify(name)})`);
  else if (Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES - NEXT_SUFFIX.length) {
    problems.push(`${key} must be at most ${MAX_IDENTIFIER_BYTES - NEXT_SUFFIX.length} bytes, so that '${name}${NEXT_SUFFIX}' fits Postgres's ${MAX_IDENTIFIER_BYTES} (got ${JSON.stringify(name)})`);
  }
  if (name.startsWith(StagingNames.branchDatabasePrefix(props.prefix))) {
    problems.push(`${key} must not start with '${StagingNames.branchDatabasePrefix(props.prefix)}', the branch databases' pattern (got ${JSON.stringify(name)}); e.g. "${props.prefix}_template"`);
  }
  if (!Token.isUnresolved(props.sourceDatabase) && name === props.sourceDatabase) {
    problems.push(`${key} must differ from the shared app's database (got ${JSON.stringify(name)}): the app is always connected to it, so it cannot serve as a template`);
  }
  const branchPrefix = StagingNames.branchDatabasePrefix(props.prefix);
  if (!Token.isUnresolved(props.sourceDatabase) && props.sourceDatabase.startsWith(branchPrefix)) {
    problems.push(`database.databaseName must not start with '${branchPrefix}', the branch databases' pattern (got ${JSON.stringify(props.sourceDatabase)}); e.g. "app"`);
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
}
