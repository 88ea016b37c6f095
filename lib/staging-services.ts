import { Duration, RemovalPolicy, Stack, StringConcat, Tokenization, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import { IMAGE_EXAMPLE, imageReferenceProblem } from './contract/image';
import { serviceLogGroupName, slugify, taskDefinitionFamily } from './contract/naming';
import { acknowledgeWildcardPermissions } from './private/acknowledge';
import { layer } from './private/data-wiring';

/** One long-running service or job of the app: what it runs and how big it is. */
export interface ServiceOptions {
  /** Short name, e.g. `web`, `worker`, `nightly-report`. Used in log group and service names. */
  readonly name: string;

  /**
   * The command to run.
   * @default - the image's own command
   */
  readonly command?: string[];

  /**
   * Fargate CPU units.
   * @default 256
   */
  readonly cpu?: number;

  /**
   * Memory in MiB; must be a valid Fargate combination with `cpu`.
   * @default 512
   */
  readonly memoryLimitMiB?: number;

  /**
   * Number of tasks (ignored for scheduled jobs).
   * @default 1
   */
  readonly desiredCount?: number;

  /**
   * Environment variables for this service only; they win over the app-wide ones.
   * @default - none
   */
  readonly environment?: Record<string, string>;

  /**
   * Secrets for this service only, passed through ECS secrets (never as plain environment).
   * @default - none
   */
  readonly secrets?: Record<string, ecs.Secret>;
}

/** The web service: a `ServiceOptions` that also listens for HTTP. */
export interface WebServiceOptions extends ServiceOptions {
  /**
   * The port the container listens on.
   * @default 80
   */
  readonly containerPort?: number;

  /**
   * The path the load balancer checks.
   * @default '/'
   */
  readonly healthCheckPath?: string;
}

/** A cron-style job run as an ECS task by EventBridge Scheduler. */
export interface ScheduledJobOptions extends ServiceOptions {
  /** When it runs, e.g. `ScheduleExpression.cron({ hour: '3', minute: '0' })`. */
  readonly schedule: scheduler.ScheduleExpression;
}

/** Properties of `StagingServices`. */
export interface StagingServicesProps {
  /** The cluster the services run on. */
  readonly cluster: ecs.ICluster;

  /** The subnets the tasks run in. */
  readonly vpcSubnets: ec2.SubnetSelection;

  /** Security groups of every task. */
  readonly securityGroups: ec2.ISecurityGroup[];

  /** The app's image, shared by every service and job. */
  readonly image: ecs.ContainerImage;

  /** The staging's name, e.g. `shared` or `feature-x-1a2b3c4d`. */
  readonly stagingName: string;

  /** Stream name given to containers as `STAGING_STREAM`, e.g. `feature-staging`. */
  readonly stream: string;

  /** The staging's public URL, given to containers as `STAGING_URL`. */
  readonly url: string;

  /**
   * The git branch, given to containers as `BRANCH_NAME`.
   * @default - not set
   */
  readonly branch?: string;

  /** Every log group is `<logGroupPrefix><service>`, so all of a staging's logs sit together. */
  readonly logGroupPrefix: string;

  /** The web service. */
  readonly web: WebServiceOptions;

  /**
   * Long-running worker services.
   * @default - none
   */
  readonly workers?: ServiceOptions[];

  /**
   * Cron-style jobs.
   * @default - none
   */
  readonly scheduledJobs?: ScheduledJobOptions[];

  /**
   * The schedule group of the scheduled jobs. The shared staging keeps its own schedules in a group
   * of their own, so that the sleeper, which pauses branch schedules in `default`, cannot reach them.
   * @default - the `default` group
   */
  readonly scheduleGroup?: scheduler.IScheduleGroup;

  /**
   * Environment variables of every container.
   * @default - only the staging variables
   */
  readonly environment?: Record<string, string>;

  /**
   * Secrets of every container.
   * @default - none
   */
  readonly secrets?: Record<string, ecs.Secret>;

  /**
   * How long logs are kept.
   * @default logs.RetentionDays.TWO_WEEKS
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * What happens to the log groups when the stack is deleted.
   * @default RemovalPolicy.DESTROY
   */
  readonly logRemovalPolicy?: RemovalPolicy;

  /**
   * Where tasks run.
   * @default - the first task of each service on on-demand Fargate (so a Spot interruption never
   * leaves a service with no task), every further task three times out of four on Fargate Spot
   */
  readonly capacityProviderStrategies?: ecs.CapacityProviderStrategy[];

  /**
   * Allow `aws ecs execute-command` into the tasks (a console).
   * @default false
   */
  readonly enableExecuteCommand?: boolean;

  /**
   * A one-off release task (e.g. migrations): a task definition with the app's image,
   * environment and secrets, which is never run as a service.
   * @default - none
   */
  readonly release?: ServiceOptions;

  /**
   * The CPU architecture of every task, which the image must be built for. Fargate's ARM64
   * (Graviton) costs about 20% less per vCPU and GB; `npx staging cost` shows what it would save.
   * The default is x86_64 because images are often built for amd64 only.
   * @default ecs.CpuArchitecture.X86_64
   */
  readonly cpuArchitecture?: ecs.CpuArchitecture;

  /**
   * Task definition families are `<familyPrefix>-<service>`.
   * @default - generated by CDK
   */
  readonly familyPrefix?: string;
}

/** What `StagingServices.stagingEnvironment()` turns into the containers' staging variables. */
export interface StagingEnvironmentOptions {
  /** The staging's name (`STAGING_NAME`), e.g. `shared` or `feature-x-217d2bf5`. */
  readonly stagingName: string;
  /** The staging's stream (`STAGING_STREAM`): its kind, see `Streams`. */
  readonly stream: string;
  /** The staging's public URL (`STAGING_URL`). */
  readonly url: string;
  /**
   * The git branch (`BRANCH_NAME`).
   *
   * @default - no `BRANCH_NAME` (the shared staging)
   */
  readonly branch?: string;
}

/**
 * An app's services on one staging: the web service with its target group, workers and
 * scheduled jobs, all from one image, each with its own log group.
 *
 * Every container receives `STAGING_NAME`, `STAGING_STREAM`, `STAGING_URL`, `STAGING_SERVICE`
 * and, on branch stagings, `BRANCH_NAME`. Deployments use the ECS circuit breaker with rollback,
 * so a broken image fails the deploy in minutes.
 */
export class StagingServices extends Construct {
  /** The environment variables every container receives (before per-service overrides). */
  public static stagingEnvironment(props: StagingEnvironmentOptions): Record<string, string> {
    return {
      STAGING_NAME: props.stagingName,
      STAGING_STREAM: props.stream,
      STAGING_URL: props.url,
      ...(props.branch !== undefined ? { BRANCH_NAME: props.branch } : {}),
    };
  }

  /** The web service. */
  public readonly webService: ecs.FargateService;

  /** The web service's target group; route the staging's host to it. */
  public readonly targetGroup: elbv2.ApplicationTargetGroup;

  /** Worker services, by name. */
  public readonly workerServices: Record<string, ecs.FargateService> = {};

  /** Task definitions of the scheduled jobs, by name. */
  public readonly jobTaskDefinitions: Record<string, ecs.FargateTaskDefinition> = {};

  /** The release task's definition, when `release` was given. */
  public readonly releaseTaskDefinition?: ecs.FargateTaskDefinition;

  /** Every log group, by service name. */
  public readonly logGroups: Record<string, logs.LogGroup> = {};

  private readonly props: StagingServicesProps;

  constructor(scope: Construct, id: string, props: StagingServicesProps) {
    super(scope, id);
    this.props = props;
    validate(props);

    const web = this.taskDefinition('Web', props.web);
    checkImage(web.defaultContainer!.imageName);
    const port = props.web.containerPort ?? 80;
    web.defaultContainer!.addPortMappings({ containerPort: port });
    this.webService = this.service('Web', props.web, web);

    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'TargetGroup', {
      vpc: props.cluster.vpc,
      port,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.IP,
      // Staging-sized, for the redeploy and the wake (scripts/critical-path.ts models both): a
      // request in flight gets 5 s to finish on an old task; a new task takes traffic after two
      // passing checks 5 s apart (ALB's minimums), and three failures, not two, mark it unhealthy,
      // so one slow answer does not take a task out.
      deregistrationDelay: Duration.seconds(5),
      healthCheck: {
        path: props.web.healthCheckPath ?? '/',
        healthyHttpCodes: '200-399',
        interval: Duration.seconds(5),
        timeout: Duration.seconds(4),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      },
    });
    this.targetGroup.addTarget(this.webService);

    for (const worker of props.workers ?? []) {
      const id = `Worker${pascal(worker.name)}`;
      this.workerServices[worker.name] = this.service(id, worker, this.taskDefinition(id, worker));
    }

    if (props.release) this.releaseTaskDefinition = this.taskDefinition('Release', props.release);

    const jobs = props.scheduledJobs ?? [];
    const schedulerRole = jobs.length > 0 ? this.schedulerRole() : undefined;
    for (const job of jobs) {
      const id = `Job${pascal(job.name)}`;
      const taskDefinition = this.taskDefinition(id, job);
      this.jobTaskDefinitions[job.name] = taskDefinition;
      const schedule = new scheduler.Schedule(this, `${id}Schedule`, {
        scheduleGroup: props.scheduleGroup,
        schedule: job.schedule,
        description: `${props.stagingName}: ${job.name}`,
        target: new targets.EcsRunFargateTask(props.cluster, {
          taskDefinition,
          vpcSubnets: props.vpcSubnets,
          securityGroups: props.securityGroups,
          capacityProviderStrategies: this.capacity(),
          propagateTags: true,
          role: schedulerRole,
        }),
      });
      // The schedule names its group by name only: CloudFormation must create the group first.
      if (props.scheduleGroup) schedule.node.addDependency(props.scheduleGroup);
    }
    if (schedulerRole) {
      acknowledgeWildcardPermissions(
        schedulerRole,
        'Scheduler may tag the tasks it starts on this cluster; task ids are not known in advance, so the task ARN ends in a wildcard within the one cluster.',
        /^Resource::arn:.+:ecs:.+:task\/[^/*]+\/\*$/,
      );
    }
  }

  /** One role for EventBridge Scheduler to start this staging's job tasks. */
  private schedulerRole(): iam.Role {
    const role = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: `Starts the scheduled job tasks of staging ${this.props.stagingName}`,
    });
    return role;
  }

  /** The web service and every worker service. */
  public get allServices(): ecs.FargateService[] {
    return [this.webService, ...Object.values(this.workerServices)];
  }

  private capacity(): ecs.CapacityProviderStrategy[] {
    return (
      this.props.capacityProviderStrategies ?? [
        { capacityProvider: 'FARGATE', base: 1, weight: 1 },
        { capacityProvider: 'FARGATE_SPOT', weight: 3 },
      ]
    );
  }

  private taskDefinition(id: string, options: ServiceOptions): ecs.FargateTaskDefinition {
    const props = this.props;
    const serviceName = slugify(options.name);
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      logGroupName: serviceLogGroupName(props.logGroupPrefix, serviceName),
      retention: props.logRetention ?? logs.RetentionDays.TWO_WEEKS,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    this.logGroups[options.name] = logGroup;

    const taskDefinition = new ecs.FargateTaskDefinition(this, `${id}Task`, {
      cpu: options.cpu ?? 256,
      memoryLimitMiB: options.memoryLimitMiB ?? 512,
      family: props.familyPrefix ? taskDefinitionFamily(props.familyPrefix, serviceName) : undefined,
      runtimePlatform: { cpuArchitecture: props.cpuArchitecture ?? ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    taskDefinition.addContainer('app', {
      image: props.image,
      command: options.command,
      essential: true,
      ...layer(
        {
          environment: { ...StagingServices.stagingEnvironment(props), ...props.environment },
          secrets: { ...props.secrets },
        },
        {
          environment: { ...options.environment, STAGING_SERVICE: serviceName },
          secrets: { ...options.secrets },
        },
      ),
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: serviceName }),
    });
    acknowledgeWildcardPermissions(
      taskDefinition.obtainExecutionRole(),
      'ecr:GetAuthorizationToken has no resource-level permissions; image pulls themselves are limited to the app repository.',
      /^Resource::\*$/,
    );
    Validations.of(taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'Only non-secret configuration (staging name, URL, stream, host names) is passed as environment; passwords and tokens are ECS secrets from Secrets Manager.',
    });
    return taskDefinition;
  }

  private service(id: string, options: ServiceOptions, taskDefinition: ecs.FargateTaskDefinition): ecs.FargateService {
    return new ecs.FargateService(this, id, {
      cluster: this.props.cluster,
      taskDefinition,
      desiredCount: options.desiredCount ?? 1,
      vpcSubnets: this.props.vpcSubnets,
      securityGroups: this.props.securityGroups,
      assignPublicIp: false,
      capacityProviderStrategies: this.capacity(),
      circuitBreaker: { enable: true, rollback: true },
      enableExecuteCommand: this.props.enableExecuteCommand ?? false,
      propagateTags: ecs.PropagatedTagSource.SERVICE,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
    });
  }
}

/**
 * Fails on an image Docker cannot pull (`ContainerImage.fromRegistry('MyApp:Latest')`, an empty
 * tag), which would otherwise fail the deploy after minutes. Tokens (an ECR repository's account,
 * region, or a tag from a parameter) stand for valid parts; an image that is one token is not checked.
 */
function checkImage(imageName: string): void {
  const fragments = Tokenization.reverseString(imageName);
  if (fragments.length === 1 && fragments.firstToken) return;
  // A digest that is a token cannot be checked as hex; everything else is, with each token as "token".
  const shown = fragments.tokens.length === 0 ? imageName : String(fragments.mapTokens({ mapToken: () => 'token' }).join(new StringConcat()));
  if (fragments.tokens.length > 0 && shown.includes('@')) return;
  const problem = imageReferenceProblem(shown);
  if (problem) throw new Error(`image ${problem} (got ${JSON.stringify(shown)}); pass an image Docker can pull, e.g. ContainerImage.fromRegistry(${JSON.stringify(IMAGE_EXAMPLE)})`);
}

function validate(props: StagingServicesProps): void {
  const problems: string[] = [];
  const names = [props.web, ...(props.workers ?? []), ...(props.scheduledJobs ?? []), ...(props.release ? [props.release] : [])].map((s) => s.name);
  for (const name of names) {
    if (!slugify(name ?? '')) {
      problems.push(`service name must contain letters or digits (got ${JSON.stringify(name)}); e.g. "worker"`);
    }
  }
  const seen = new Set<string>();
  for (const name of names.map((n) => slugify(n ?? ''))) {
    if (seen.has(name)) {
      problems.push(`service names must be unique (got "${name}" twice); rename one of the workers or jobs`);
    }
    seen.add(name);
  }
  for (const s of [props.web, ...(props.workers ?? [])]) {
    if (s.desiredCount !== undefined && (!Number.isInteger(s.desiredCount) || s.desiredCount < 0)) {
      problems.push(`desiredCount of "${s.name}" must be a whole number >= 0 (got ${s.desiredCount})`);
    }
  }
  for (const s of [props.web, ...(props.workers ?? []), ...(props.scheduledJobs ?? []), ...(props.release ? [props.release] : [])]) {
    const problem = fargateSizeProblem(s.cpu ?? 256, s.memoryLimitMiB ?? 512);
    if (problem) problems.push(`service "${s.name}": ${problem}`);
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
}

/** Fargate's CPU units and the memory sizes (MiB) each allows. */
const FARGATE_SIZES: Record<number, number[]> = {
  256: [512, 1024, 2048],
  512: range(1024, 4096, 1024),
  1024: range(2048, 8192, 1024),
  2048: range(4096, 16384, 1024),
  4096: range(8192, 30720, 1024),
  8192: range(16384, 61440, 4096),
  16384: range(32768, 122880, 8192),
};

function range(from: number, to: number, step: number): number[] {
  return Array.from({ length: (to - from) / step + 1 }, (_, i) => from + i * step);
}

/** Why `cpu` and `memoryLimitMiB` are not a Fargate size, or undefined if they are. */
export function fargateSizeProblem(cpu: number, memory: number): string | undefined {
  const allowed = FARGATE_SIZES[cpu];
  if (!allowed) return `cpu must be one of ${Object.keys(FARGATE_SIZES).join(', ')} (got ${cpu})`;
  if (allowed.includes(memory)) return undefined;
  const shown = allowed.length > 4 ? `${allowed[0]} to ${allowed[allowed.length - 1]} in steps of ${allowed[1] - allowed[0]}` : allowed.join(', ');
  return `cpu ${cpu} with memoryLimitMiB ${memory} is not a Fargate size; with cpu ${cpu} use memoryLimitMiB ${shown} (got ${memory})`;
}

function pascal(name: string): string {
  return slugify(name)
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}
