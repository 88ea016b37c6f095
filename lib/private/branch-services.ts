import { Annotations, AspectPriority, Aspects, CustomResource, Duration, Fn, Stack, Tags, Token } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { Construct, IConstruct } from 'constructs';
import { FeatureOutputs, ProviderNames, Streams } from '../contract/staging';
import { StagingNames } from '../contract/naming';
import { ShardAttributes } from '../contract/capacity';
import { ListenerRuleResourceProperties, ReleaseResourceProperties, ResourceTypes, SleepResourceProperties, StagingQuotaResourceProperties } from '../contract/providers';
import { PROVIDER_SERVICE_TIMEOUT } from './timeouts';
import type { BranchStagingProps } from '../feature-staging-lite';
import { ServiceOptions, StagingServices } from '../staging-services';
import { acknowledgeWildcardPermissions } from './acknowledge';
import { eager, layer, LazyWiring, resolveWiring } from './data-wiring';
import { AfterQuota, branchStagingStackOf, HeldBranchStaging, stagingTags } from './stack-wide';

/** What every branch staging takes, whatever its data. */
export interface BranchServicesProps extends Omit<BranchStagingProps, 'branch'> {
  readonly names: StagingNames;
  readonly kind: string;
  /** Variables and secrets that point at the data sources; `environment` and `secrets` win over them. */
  readonly data: LazyWiring;
  /** A command run as a one-off task before the services roll (migrations). */
  readonly releaseCommand?: string[];
  /**
   * What the long-running services wait for but the release task does not (a restored Solr
   * collection: migrations don't use it, a URL that answers has its search).
   */
  readonly servicesAwait?: IConstruct[];
  /** The branch's own RDS instance, which the sleeper may stop. */
  readonly databaseInstanceId?: string;
  /** Stop `databaseInstanceId` after the branch slept this long. */
  readonly stopDatabaseAfter?: Duration;
}

/** Default of `sleepAfter`. */
export const DEFAULT_SLEEP_AFTER = Duration.hours(1);
/** Shortest `sleepAfter`: the sleeper runs every few minutes and request metrics come per minute. */
const MIN_SLEEP_AFTER = Duration.minutes(5);
/** Longest `sleepAfter` and `stopDatabaseAfter`. */
const MAX_SLEEP_AFTER = Duration.days(30);

/** Staging-sized defaults: "far less web-workers, with less CPU and memory". */
const BRANCH_DEFAULTS = { cpu: 256, memoryLimitMiB: 512, desiredCount: 1 } as const;

/**
 * The release task's size: one full vCPU. Every service waits for it on each redeploy, and the
 * app's boot before its migrations is mostly one thread, which 0.25 vCPU (a CPU quota of a quarter)
 * runs about four times slower; more than one vCPU would not speed it. It runs about 1.5 minutes a
 * deploy, so the size costs about $0.001 a run (1 vCPU + 2 GB at eu-west-1's Fargate prices).
 * scripts/critical-path.ts reads the size from the template.
 */
const RELEASE_SIZE = { cpu: 1024, memoryLimitMiB: 2048 } as const;

/**
 * A branch's services on the shared cluster, its host rule on its shard's listener, its DNS name
 * and its quota check (which places it on a shard). Shared by FeatureStagingLite and FeatureStaging (`scope`).
 *
 * What is stack-wide (the stack's tags, its outputs, the quota ordering of every resource in it
 * and the kind lock) is the `BranchStagingStack`'s: this hands it over. In any other stack it
 * tags and orders only the staging's own resources, and warns when the stack is not tagged as
 * the staging (README, "A staging in your own stack").
 */
export class BranchServices extends Construct {
  public readonly services: StagingServices;
  public readonly url: string;
  public readonly hostName: string;
  public readonly listenerRule: CustomResource;
  public readonly record: route53.ARecord;
  /** The release task's custom resource, when there is a release command. */
  public readonly release?: CustomResource;
  /** Records what the sleeper may scale and route; a deploy wakes a sleeping branch (docs/sleep.md). */
  public readonly sleep: CustomResource;
  /**
   * The cap check (`SharedStagingProps.maxStagings`) and the branch's place on a shard (its
   * attributes are `ShardAttributes`): every other resource of the stack depends on it.
   */
  public readonly quota: CustomResource;

  constructor(scope: Construct, id: string, props: BranchServicesProps) {
    super(scope, id);
    const { names, shared } = props;
    const sleepMinutes = validateSleep(props);
    this.quota = quotaResource(this, props);
    // The shard the quota placed the branch on (lib/contract/capacity.ts): its listener, load
    // balancer and waker target group, rather than the shared parameters of shard 0.
    const shard = (attribute: string) => this.quota.getAttString(attribute);

    this.hostName = names.hostName(shared.domainName);
    this.url = `https://${this.hostName}`;

    const sized = <T extends ServiceOptions>(s: T): T => ({
      ...s,
      cpu: s.cpu ?? BRANCH_DEFAULTS.cpu,
      memoryLimitMiB: s.memoryLimitMiB ?? BRANCH_DEFAULTS.memoryLimitMiB,
      desiredCount: s.desiredCount ?? BRANCH_DEFAULTS.desiredCount,
    });
    this.services = new StagingServices(this, 'App', {
      cluster: shared.cluster,
      vpcSubnets: shared.workloadSubnets,
      securityGroups: [shared.workloadSecurityGroup],
      image: props.image,
      stagingName: names.name,
      stream: Streams.FEATURE_STAGING,
      url: this.url,
      branch: names.branch,
      logGroupPrefix: names.logGroupPrefix,
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_WEEK,
      web: sized(props.web ?? { name: 'web' }),
      workers: (props.workers ?? []).map(sized),
      scheduledJobs: (props.scheduledJobs ?? []).map(sized),
      ...resolveWiring(layer(props.data, eager(props.environment, props.secrets))),
      capacityProviderStrategies: props.capacityProviderStrategies,
      cpuArchitecture: props.cpuArchitecture,
      enableExecuteCommand: true,
      familyPrefix: names.stackName,
      release: props.releaseCommand ? sized({ name: 'release', command: props.releaseCommand, ...RELEASE_SIZE }) : undefined,
    });
    if (props.releaseCommand) this.release = this.releaseTask(props, props.releaseCommand);
    for (const service of this.services.allServices) for (const awaited of props.servicesAwait ?? []) service.node.addDependency(awaited);
    for (const taskDefinition of this.taskDefinitions()) {
      acknowledgeWildcardPermissions(
        taskDefinition.taskRole,
        'ECS Exec (the branch console) needs ssmmessages channels, which have no resource ARNs.',
        /^Resource::\*$/,
      );
    }

    // The host rule on the shared listener, owned by the shared listener-priority provider.
    this.listenerRule = new CustomResource(this, 'ListenerRule', {
      serviceToken: shared.serviceToken(ProviderNames.LISTENER_PRIORITY),
      resourceType: ResourceTypes.LISTENER_RULE,
      serviceTimeout: PROVIDER_SERVICE_TIMEOUT,
      properties: {
        ListenerArn: shard(ShardAttributes.LISTENER_ARN),
        HostHeader: this.hostName,
        TargetGroupArn: this.services.targetGroup.targetGroupArn,
        WakerTargetGroupArn: shard(ShardAttributes.WAKER_TARGET_GROUP_ARN),
        Tags: Object.entries(stagingTags(props.kind, names)).map(([Key, Value]) => ({ Key, Value })),
      } satisfies ListenerRuleResourceProperties,
    });
    // ECS refuses a service whose target group is not yet behind a listener.
    this.services.webService.node.addDependency(this.listenerRule);

    this.sleep = this.sleepResource(props, sleepMinutes, shard);

    this.record = new route53.ARecord(this, 'Record', {
      zone: shared.hostedZone,
      recordName: `${this.hostName}.`,
      target: route53.RecordTarget.fromAlias({
        bind: () => ({ dnsName: shard(ShardAttributes.LOAD_BALANCER_DNS_NAME), hostedZoneId: shard(ShardAttributes.CANONICAL_HOSTED_ZONE_ID) }),
      }),
    });

    const held: HeldBranchStaging = {
      staging: scope,
      kind: props.kind,
      names,
      quota: this.quota,
      outputs: [
        { name: FeatureOutputs.URL, value: this.url, description: 'The branch staging' },
        {
          name: FeatureOutputs.TARGET_GROUP_FULL_NAME,
          value: this.services.targetGroup.targetGroupFullName,
          description: 'CloudWatch dimension of the web target group (read by the sweeper)',
        },
        {
          name: FeatureOutputs.LOAD_BALANCER_FULL_NAME,
          value: shard(ShardAttributes.LOAD_BALANCER_FULL_NAME),
          description: "CloudWatch dimension of the branch's load balancer (its shard; read by the sweeper)",
        },
        {
          name: FeatureOutputs.CONSOLE_COMMAND,
          description: 'A shell in a web task of this staging (ECS Exec)',
          value: Fn.join('', [
            'aws ecs execute-command --interactive --container app --command /bin/sh --cluster ',
            shared.cluster.clusterName,
            ' --task "$(aws ecs list-tasks --cluster ',
            shared.cluster.clusterName,
            ' --service-name ',
            this.services.webService.serviceName,
            ' --query "taskArns[0]" --output text)"',
          ]),
        },
      ],
    };
    const stack = branchStagingStackOf(this);
    if (stack) stack._holdBranchStaging(held);
    else inPlainStack(held);
  }

  /**
   * Runs the release command as a one-off task on every deploy where the image or the command
   * changed (the properties change with the task definition), before any service rolls. A non-zero
   * exit fails the deploy with the task's last log lines.
   */
  private releaseTask(props: BranchServicesProps, command: string[]): CustomResource {
    const taskDefinition = this.services.releaseTaskDefinition!;
    const release = new CustomResource(this, 'Release', {
      serviceToken: props.shared.serviceToken(ProviderNames.RELEASE_TASK),
      resourceType: ResourceTypes.RELEASE,
      serviceTimeout: PROVIDER_SERVICE_TIMEOUT,
      properties: {
        ClusterArn: props.shared.cluster.clusterArn,
        TaskDefinitionArn: taskDefinition.taskDefinitionArn,
        ContainerName: 'app',
        Command: command,
        Subnets: (props.shared.workloadSubnets.subnets ?? []).map((s) => s.subnetId),
        SecurityGroups: [props.shared.workloadSecurityGroup.securityGroupId],
        CapacityProviderStrategy: JSON.stringify([{ capacityProvider: 'FARGATE', weight: 1 }]),
        LogGroupName: this.services.logGroups.release.logGroupName,
        LogStreamPrefix: 'release',
        StagingName: props.names.name,
      } satisfies ReleaseResourceProperties,
    });
    for (const service of this.services.allServices) service.node.addDependency(release);
    return release;
  }

  /**
   * The branch's entry for the sleeper and the waker. It runs after the rule and the services, so
   * on every deploy that changes what runs (a task definition, a count, the rule) it finds them
   * in their deployed state, and wakes the branch if it was asleep: a deploy ends awake. The
   * services keep their desiredCount in the template: a deploy that updates a sleeping service
   * starts it, and this resource then moves the rule back once a web target is healthy.
   */
  private sleepResource(props: BranchServicesProps, minutes: { sleepAfter: number; stopDatabaseAfter: number }, shard: (attribute: string) => string): CustomResource {
    const services = this.services.allServices;
    const schedules = this.services.node.findAll().filter((c): c is scheduler.Schedule => c instanceof scheduler.Schedule);
    const resource = new CustomResource(this, 'Sleep', {
      serviceToken: props.shared.serviceToken(ProviderNames.WAKER),
      resourceType: ResourceTypes.SLEEP,
      serviceTimeout: PROVIDER_SERVICE_TIMEOUT,
      properties: {
        StagingName: props.names.name,
        Branch: props.names.branch,
        StackName: Stack.of(this).stackName,
        ClusterArn: props.shared.cluster.clusterArn,
        WebServiceName: this.services.webService.serviceName,
        Services: services.map((s) => ({ Name: s.serviceName, DesiredCount: String((s.node.defaultChild as ecs.CfnService).desiredCount ?? 1) })),
        TargetGroupArn: this.services.targetGroup.targetGroupArn,
        TargetGroupFullName: this.services.targetGroup.targetGroupFullName,
        LoadBalancerFullName: shard(ShardAttributes.LOAD_BALANCER_FULL_NAME),
        WakerTargetGroupArn: shard(ShardAttributes.WAKER_TARGET_GROUP_ARN),
        RuleArn: this.listenerRule.ref,
        // Every rule of the host whose forward follows sleep (the lock's companions too).
        FlipRuleArns: this.listenerRule.getAttString('FlipRuleArns'),
        Schedules: schedules.map((s) => s.scheduleName),
        DatabaseInstanceId: props.databaseInstanceId,
        SleepAfterMinutes: String(minutes.sleepAfter),
        StopDatabaseAfterMinutes: String(minutes.stopDatabaseAfter),
        // Changes with every new image or configuration, so each such deploy wakes the branch.
        TaskDefinitions: this.taskDefinitions().map((t) => t.taskDefinitionArn),
      } satisfies SleepResourceProperties,
    });
    for (const service of services) resource.node.addDependency(service);
    resource.node.addDependency(this.listenerRule);
    return resource;
  }

  private taskDefinitions(): ecs.TaskDefinition[] {
    return [
      this.services.webService.taskDefinition,
      ...Object.values(this.services.workerServices).map((s) => s.taskDefinition),
      ...Object.values(this.services.jobTaskDefinitions),
      ...(this.services.releaseTaskDefinition ? [this.services.releaseTaskDefinition] : []),
    ];
  }
}

/**
 * The branch's `Custom::StagingQuota`, which every other resource of the stack depends on (an
 * aspect, so resources added later, e.g. the data stores or the app's own, are covered too): on
 * the first deploy beyond the shared staging's `maxStagings` it fails before anything is created.
 */
function quotaResource(scope: Construct, props: BranchServicesProps): CustomResource {
  const quota = new CustomResource(scope, 'Quota', {
    serviceToken: props.shared.serviceToken(ProviderNames.STAGING_QUOTA),
    resourceType: ResourceTypes.STAGING_QUOTA,
    serviceTimeout: PROVIDER_SERVICE_TIMEOUT,
    properties: { StagingName: props.names.name, Branch: props.names.branch } satisfies StagingQuotaResourceProperties,
  });
  return quota;
}

/** `sleepAfter` and `stopDatabaseAfter` in minutes (0 = off), or a synth error that says how to fix them. */
function validateSleep(props: BranchServicesProps): { sleepAfter: number; stopDatabaseAfter: number } {
  const problems: string[] = [];
  const minutes = (name: string, d: Duration | undefined, fallback: number, min: Duration): number => {
    if (d === undefined) return fallback;
    if (d.isUnresolved()) {
      problems.push(`${name} must be a literal Duration (got a token); e.g. Duration.hours(1)`);
      return fallback;
    }
    const s = d.toSeconds();
    if (s === 0) return 0;
    if (s % 60 !== 0 || s < min.toSeconds() || s > MAX_SLEEP_AFTER.toSeconds()) {
      problems.push(
        `${name} must be whole minutes from ${min.toHumanString()} to ${MAX_SLEEP_AFTER.toHumanString()}, or Duration.minutes(0) for never (got ${d.toHumanString()}); e.g. Duration.hours(1)`,
      );
      return fallback;
    }
    return s / 60;
  };
  const sleepAfter = minutes('sleepAfter', props.sleepAfter, DEFAULT_SLEEP_AFTER.toMinutes(), MIN_SLEEP_AFTER);
  const stopDatabaseAfter = minutes('stopDatabaseAfter', props.stopDatabaseAfter, 0, Duration.hours(1));
  if (stopDatabaseAfter > 0 && props.databaseInstanceId === undefined) {
    problems.push(
      `stopDatabaseAfter needs a database instance of the branch's own (got ${props.stopDatabaseAfter!.toHumanString()} with a database on a shared instance); use database: StagingDatabase.fromLatestSnapshot() or leave stopDatabaseAfter out`,
    );
  }
  if (stopDatabaseAfter > 0 && sleepAfter === 0) {
    problems.push(`stopDatabaseAfter (${props.stopDatabaseAfter!.toHumanString()}) needs the branch to sleep, but sleepAfter is 0; set sleepAfter or leave stopDatabaseAfter out`);
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return { sleepAfter, stopDatabaseAfter };
}

/**
 * A branch staging in a stack of the user's own: what is stack-wide is the user's job (README,
 * "A staging in your own stack"). The staging tags its own resources and makes them wait for its
 * quota check; it warns when the stack's name or tags would hide it from the sweeper.
 */
function inPlainStack(held: HeldBranchStaging): void {
  const { staging, names } = held;
  const stack = Stack.of(staging);
  const tags = stagingTags(held.kind, names);
  for (const [key, value] of Object.entries(tags)) Tags.of(staging).add(key, value);
  Aspects.of(staging).add(new AfterQuota(held.quota));
  if (!Token.isUnresolved(stack.stackName) && stack.stackName !== names.stackName) {
    Annotations.of(stack).addWarningV2(
      'cdk-multi-staging:stackName',
      `The sweeper only removes branch stagings named "<prefix>-<staging name>", so stack "${stack.stackName}" of branch ${JSON.stringify(names.branch)} will never be swept; name it "${names.stackName}" (StagingNames.fromBranch(branch, prefix).stackName), or use a BranchStagingStack`,
    );
  }
  // Checked at synth: the user tags the stack after the staging is built.
  Aspects.of(staging).add(
    {
      visit: (node) => {
        if (node !== staging) return;
        const own = stack.tags.tagValues();
        const missing = Object.entries(tags).filter(([key, value]) => own[key] !== value);
        if (missing.length === 0) return;
        Annotations.of(staging).addWarningV2(
          'cdk-multi-staging:untaggedStack',
          `Stack "${stack.node.path}" does not carry the tags of the branch staging ${JSON.stringify(names.name)} (missing ${missing.map(([k, v]) => `${k}=${v}`).join(', ')}), so the sweeper, the sleeper and \`staging list\` will not find it; put the staging in a BranchStagingStack, or tag the stack with its stagingTags (stack.tags.setTag(key, value) for each)`,
        );
      },
    },
    { priority: AspectPriority.READONLY },
  );
}
