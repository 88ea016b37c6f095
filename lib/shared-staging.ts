import { CustomResource, Duration, Fn, RemovalPolicy, Size, Stack, Tags, Token } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as route53targets from 'aws-cdk-lib/aws-route53-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { ProviderNames, SharedParameterNames, StagingKinds, Streams, TagKeys } from './contract/staging';
import { SharedStagingNames, StagingNames } from './contract/naming';
import { acknowledgeResources, acknowledgeWildcardPermissions } from './private/acknowledge';
import { cacheWiring, combineWiring, databaseWiring, eager, layer, resolveWiring, searchWiring } from './private/data-wiring';
import { databaseSubnetGroupName, sharedCache, sharedDatabase, solrCredentials } from './private/shared-data';
import { sharedLoadBalancer } from './private/shared-load-balancer';
import { GoldenTemplate } from './private/golden-template';
import { grantReadParameterTree } from './private/grants';
import { sharedNetwork } from './private/shared-network';
import { publishShardRegistry, publishSharedParameters } from './private/shared-parameters';
import { DEFAULT_RULES_PER_LOAD_BALANCER, planCapacity } from './contract/capacity';
import { ResourceTypes, type CapacityGuardResourceProperties } from './contract/providers';
import {
  databaseRestoreProvider,
  databaseTemplateProvider,
  listenerPriorityProvider,
  ProviderDefinition,
  SharedDatabaseTemplateOptions,
  redisPrefixProvider,
  releaseTaskProvider,
  solrCollectionProvider,
  stagingQuotaProvider,
  wakerProvider,
} from './providers';
import { validateParameterPrefix } from './shared-staging-ref';
import { ScheduledJobOptions, ServiceOptions, StagingServices, WebServiceOptions } from './staging-services';
import { StagingProvider, StagingProviderOptions } from './staging-provider';
import { sharedOutputs } from './private/shared-outputs';
import { sharedStagingStackOf } from './private/stack-wide';
import { StagingSweeper, StagingSweeperOptions } from './staging-sweeper';
import { StagingSleeper, StagingSleeperOptions } from './staging-sleeper';
import { StagingAccess } from './staging-access';
import { AccessEnvironment } from './contract/access';
import type { BoundAccess } from './private/bound-access';
import { StagingsPage, stagingsPageProblems } from './private/stagings-page';

/** The shared Postgres. */
export interface SharedDatabaseOptions {
  /**
   * Instance type.
   * @default ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MEDIUM)
   */
  readonly instanceType?: ec2.InstanceType;

  /**
   * Postgres version.
   * @default rds.PostgresEngineVersion.VER_16
   */
  readonly engineVersion?: rds.PostgresEngineVersion;

  /**
   * Storage.
   * @default Size.gibibytes(50)
   */
  readonly allocatedStorage?: Size;

  /**
   * The database the app uses.
   * @default 'app'
   */
  readonly databaseName?: string;

  /**
   * Run a standby in a second AZ, as production does.
   * @default false
   */
  readonly multiAz?: boolean;

  /**
   * How long automated backups are kept. Branches restore from the newest of these snapshots.
   * @default Duration.days(7)
   */
  readonly backupRetention?: Duration;
}

/** The shared Redis/Valkey. */
export interface SharedCacheOptions {
  /**
   * Node type.
   * @default 'cache.t4g.small'
   */
  readonly nodeType?: string;

  /**
   * Valkey version.
   * @default '8.0'
   */
  readonly engineVersion?: string;
}

/** The user's Solr server. Solr runs wherever the user runs it; this only points at it. */
export interface SharedSolrOptions {
  /** Base URL of Solr, e.g. `https://solr.internal.example.com:8983/solr`. */
  readonly url: string;

  /**
   * A secret with `username` and `password` for Solr's basic auth.
   * @default - a new secret with user `staging` and a generated password; set the same in Solr's
   * security.json (or overwrite the secret with your credentials)
   */
  readonly credentials?: secretsmanager.ISecret;
}

/** EC2 capacity for the cluster, on top of Fargate and Fargate Spot. */
export interface SharedEc2CapacityOptions {
  /**
   * Instance type.
   * @default new ec2.InstanceType('t3.large')
   */
  readonly instanceType?: ec2.InstanceType;

  /**
   * Fewest instances.
   * @default 0
   */
  readonly minCapacity?: number;

  /**
   * Most instances.
   * @default 10
   */
  readonly maxCapacity?: number;
}

/** The app as shared staging runs it: production-like sizes. */
export interface SharedAppOptions {
  /** The app's image. */
  readonly image: ecs.ContainerImage;

  /**
   * The CPU architecture of every task, which the image must be built for. Fargate's ARM64
   * (Graviton) costs about 20% less per vCPU and GB; `npx staging cost` shows what it would save.
   * The default is x86_64 because images are often built for amd64 only.
   * @default ecs.CpuArchitecture.X86_64
   */
  readonly cpuArchitecture?: ecs.CpuArchitecture;

  /** The web service. */
  readonly web: WebServiceOptions;

  /**
   * Worker services.
   * @default - none
   */
  readonly workers?: ServiceOptions[];

  /**
   * Cron-style jobs.
   * @default - none
   */
  readonly scheduledJobs?: ScheduledJobOptions[];

  /**
   * Environment of every container, on top of the staging and data-source variables.
   * @default - none
   */
  readonly environment?: Record<string, string>;

  /**
   * Secrets of every container, on top of the data-source secrets.
   * @default - none
   */
  readonly secrets?: Record<string, ecs.Secret>;
}

/** The sweeper of the shared staging. */
export interface SharedSweeperOptions extends StagingSweeperOptions {
  /**
   * Run the sweeper. Turn it off only if you deploy a `StagingSweeper` yourself.
   * @default true
   */
  readonly enabled?: boolean;
}

/**
 * The stagings page at `https://stagings.<domainName>` (README, "Stagings page"): every branch
 * staging with its state, plan, pin and cost, where signed-in people open, wake, sleep and keep
 * stagings, and (when allowed) destroy them. A Lambda function behind the same lock as every host.
 */
export interface StagingsPageOptions {
  /**
   * Serve the page.
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * The longest keep the page offers, in whole days (1 to 365).
   * @default 14
   */
  readonly maxKeepDays?: number;

  /**
   * The claim of the signed-in person's token that may allow a destroy, e.g. `groups` (OIDC) or a
   * custom attribute such as `custom:staging_role` (Cognito: `cognito:groups` is not among the
   * claims the load balancer signs). Set it together with `destroyClaimValues`; it needs a sign-in
   * (`StagingAccess.oidc` or `.cognito`) and the sweeper (its deletion role and topic).
   * @default - nobody may destroy from the page
   */
  readonly destroyClaim?: string;

  /**
   * The values of `destroyClaim` that allow a destroy (any one of them), e.g. `['staging-admins']`.
   * @default - nobody may destroy from the page
   */
  readonly destroyClaimValues?: string[];

  /**
   * How long the page's audit records (who woke, slept, kept, unkept or destroyed what) and logs are
   * kept. The log group itself is retained when the shared stack is deleted.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
}

/** Properties of `SharedStaging`. */
export interface SharedStagingProps {
  /**
   * Who may reach the stagings: every branch host (full and lite), the shared app's host and the
   * waker. There is no default: choose `StagingAccess.oidc({...})`, `StagingAccess.cognito({...})`,
   * `StagingAccess.allowNetworks([...])` or, written down on purpose, `StagingAccess.publicAccess()`.
   */
  readonly access: StagingAccess;

  /**
   * The staging system's prefix: stack names (`<prefix>-<branch>`) and tags.
   * @default - the prefix of the SharedStagingStack it is in, else 'staging'
   */
  readonly prefix?: string;

  /**
   * Where the parameters for feature stacks are published.
   * @default - the parameterPrefix of the SharedStagingStack it is in, else `/${prefix}`
   */
  readonly parameterPrefix?: string;

  /** The staging domain: branches live at `<name>.<domainName>`, e.g. `staging.example.com`. */
  readonly domainName: string;

  /** The hosted zone of `domainName` (or of a parent domain). */
  readonly hostedZone: route53.IHostedZone;

  /**
   * The network. Its private subnets with egress (at least two) run the workloads; its public
   * subnets hold the load balancer.
   * @default - a new VPC with `maxAzs` AZs and `natGateways` NAT gateways
   */
  readonly vpc?: ec2.IVpc;

  /**
   * CIDR of the new VPC.
   * @default '10.64.0.0/16'
   */
  readonly vpcCidr?: string;

  /**
   * AZs of the new VPC (at least 2).
   * @default 2
   */
  readonly maxAzs?: number;

  /**
   * NAT gateways of the new VPC.
   * @default 1
   */
  readonly natGateways?: number;

  /**
   * CloudWatch Container Insights on the cluster.
   * @default true
   */
  readonly containerInsights?: boolean;

  /**
   * EC2 capacity with managed scaling: instances are added when branches need room and removed
   * as stagings are destroyed.
   * @default - Fargate and Fargate Spot only
   */
  readonly ec2Capacity?: SharedEc2CapacityOptions;

  /**
   * The shared Postgres.
   * @default - defaults of `SharedDatabaseOptions`
   */
  readonly database?: SharedDatabaseOptions;

  /**
   * The shared Redis/Valkey.
   * @default - defaults of `SharedCacheOptions`
   */
  readonly cache?: SharedCacheOptions;

  /** The user's Solr server. */
  readonly solr: SharedSolrOptions;

  /**
   * Offer branch databases copied from a golden template on the shared Postgres
   * (`StagingDatabase.fromTemplate()`): the golden template, its refresh and the provider.
   * @default - no template databases
   */
  readonly databaseTemplate?: SharedDatabaseTemplateOptions;

  /** The shared-staging app. */
  readonly app: SharedAppOptions;

  /**
   * How long the shared app's logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * The sweeper that destroys feature stagings after days of inactivity.
   * @default - a sweeper with a 3-day idle timeout, warning 24 hours before
   */
  readonly sweeper?: SharedSweeperOptions;

  /**
   * The sleeper and waker: idle branches sleep (each branch's `sleepAfter`) and wake on request.
   * @default - the sleeper looks for idle branches every 5 minutes
   */
  readonly sleeper?: StagingSleeperOptions;

  /**
   * The most branch stagings (FeatureStaging and FeatureStagingLite stacks of this prefix) that may
   * exist at once. A branch's first deploy beyond it fails before anything of the branch is created,
   * with a message naming the cap and the stagings that exist; redeploying an existing branch never
   * fails on it. Changing it is a deploy of the shared stack only. Two first deploys at the same
   * moment each see the other's stack, so at worst both are refused (README, "Capping the number
   * of stagings").
   * @default - no cap
   */
  readonly maxStagings?: number;

  /**
   * How many branch stagings the load balancers hold: the capacity. One Application Load Balancer
   * holds at most 100 target groups (a quota that cannot be raised) and `rulesPerLoadBalancer`
   * listener rules, so beyond what one holds the shared staging adds load balancers (shards, about
   * $24 a month each before traffic). A branch is placed on a shard on its first deploy and stays
   * there; raising this is a deploy of the shared stack only (README, "Capacity"). Lowering it so
   * that a shard holding branches would go is refused by the deploy (the capacity guard), so
   * shrink only once that shard's branches are destroyed.
   * @default - what one load balancer holds: 97 branches with one listener rule per branch at the
   * default rule quota (`capacity` has the value for the chosen `access`)
   */
  readonly maxBranches?: number;

  /**
   * The listener rules quota per Application Load Balancer in this account and Region ("Rules per
   * Application Load Balancer" in Service Quotas; AWS's default is 100). Raise it there first,
   * then here: each load balancer then holds more branches whose hosts take several rules (the
   * sign-in's companions).
   * @default 100
   */
  readonly rulesPerLoadBalancer?: number;

  /**
   * The stagings page at `https://stagings.<domainName>`.
   * @default - the page, read and wake/sleep/keep for everyone the lock lets in; destroy off
   */
  readonly stagingsPage?: StagingsPageOptions;
}

/**
 * The long-lived base of the staging system, close to production: network and ECS cluster, the
 * HTTPS load balancers with a wildcard certificate (one, or the shards `maxBranches` needs), the shared Postgres, Redis/Valkey and Solr, the
 * shared-staging app at `shared.<domainName>`, and the custom-resource providers feature stacks use.
 *
 * Everything feature stacks need is published under `parameterPrefix` in SSM; read it with
 * `SharedStagingRef.fromParameters`. Data stores are retained and deletion-protected.
 *
 * Build it in a `SharedStagingStack`, which tags the stack and adds the outputs. In a stack of
 * your own these are your job (README, "A staging in your own stack").
 */
export class SharedStaging extends Construct {
  /** The host label of the shared-staging app. */
  public static readonly SHARED_HOST_LABEL = 'shared';

  /** Listener rule priority of the shared-staging app: after every branch rule. */
  public static readonly SHARED_RULE_PRIORITY = 50000;

  /** The staging system's prefix (stack names, tags). */
  public readonly prefix: string;
  /** Where the parameters feature stacks read are published, e.g. `/staging`. */
  public readonly parameterPrefix: string;
  /** The staging domain, e.g. `staging.example.com`. */
  public readonly domainName: string;
  /** The VPC: the given one, or the one this construct created. */
  public readonly vpc: ec2.IVpc;
  /** The ECS cluster every staging's services run in. */
  public readonly cluster: ecs.Cluster;
  /** Shard 0: the internet-facing load balancer of the shared app, the waker, the stagings page and the first branches. */
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  /** Shard 0's HTTPS listener: one rule per branch on it, and the shared app's rule last. */
  public readonly listener: elbv2.ApplicationListener;
  /** The wildcard certificate for `*.<domainName>`, validated by DNS. */
  public readonly certificate: acm.Certificate;
  /** Attached to every app task: the load balancer may reach it and it may reach the data stores. */
  public readonly workloadSecurityGroup: ec2.SecurityGroup;
  /** Attached to the data stores: workloads may reach them. */
  public readonly dataSecurityGroup: ec2.SecurityGroup;
  /** The shared Postgres (retained, deletion-protected). */
  public readonly database: rds.DatabaseInstance;
  /** The database the apps use on the shared Postgres (branch restores keep it). */
  public readonly databaseName: string;
  /** The shared Valkey's AUTH token, as JSON `{ "password": ... }`. */
  public readonly cacheAuthSecret: secretsmanager.Secret;
  /** The shared Valkey replication group. */
  public readonly cache: elasticache.CfnReplicationGroup;
  /** The Solr credentials, as JSON `{ "username": ..., "password": ... }`. */
  public readonly solrSecret: secretsmanager.ISecret;
  /** The shared-staging app's services, at `shared.<domainName>`. */
  public readonly app: StagingServices;
  /** The shared-staging app's URL. */
  public readonly url: string;
  /** The sweeper, unless it was turned off. */
  public readonly sweeper?: StagingSweeper;
  /** The waker and the sleeper of the branches (docs/sleep.md). */
  public readonly sleeper: StagingSleeper;
  /** Who may reach the stagings. */
  public readonly access: StagingAccess;
  /** Listener rules each branch host takes under `access` (1 to 4). */
  public readonly rulesPerBranch: number;
  /** How many branch stagings the load balancers hold together (at least `maxBranches`). */
  public readonly capacity: number;
  /** How many load balancers (shards) hold the branches; shard 0 is `loadBalancer`. */
  public readonly shardCount: number;
  /** Branch stagings each shard holds, shard 0 first. */
  public readonly shardSlots: number[];
  /** Every load balancer, shard 0 (`loadBalancer`) first. */
  public readonly loadBalancers: elbv2.ApplicationLoadBalancer[];
  /** The HTTPS listener of each shard, shard 0's (`listener`) first. */
  public readonly listeners: elbv2.ApplicationListener[];
  /** The rule quota the shards are sized for (`rulesPerLoadBalancer`). */
  public readonly rulesPerLoadBalancer: number;
  /** The stagings page's URL, `https://stagings.<domainName>`, unless the page was turned off. */
  public readonly stagingsPageUrl?: string;

  private readonly providers: Record<string, StagingProvider> = {};
  private sharedScheduleGroup?: scheduler.ScheduleGroup;

  /**
   * @param scope the shared stack (it needs an explicit region)
   * @param id the construct id
   * @param props the domain, hosted zone, Solr server and app, and optional sizing
   */
  constructor(scope: Construct, id: string, props: SharedStagingProps) {
    super(scope, id);
    const holder = sharedStagingStackOf(this);
    this.prefix = props.prefix ?? holder?.prefix ?? 'staging';
    this.parameterPrefix = props.parameterPrefix ?? holder?.parameterPrefix ?? `/${this.prefix}`;
    this.domainName = props.domainName;
    validate(props, this.prefix, this.parameterPrefix);
    if (holder && (holder.prefix !== this.prefix || holder.parameterPrefix !== this.parameterPrefix)) {
      throw new Error(
        `prefix "${this.prefix}" and parameterPrefix "${this.parameterPrefix}" must be those of the SharedStagingStack it is in ("${holder.prefix}", "${holder.parameterPrefix}"); leave them out, the stack's are the default`,
      );
    }
    if (Token.isUnresolved(Stack.of(this).region)) {
      throw new Error(
        `SharedStaging needs a stack with an explicit region (got an environment-agnostic stack "${Stack.of(this).stackName}"); pass env: { region: 'eu-west-1' } (load balancer access logs are written by the region's log delivery)`,
      );
    }

    // Network and cluster; the load balancer reaches workloads; workloads reach data stores.
    const shared = new SharedStagingNames(this.prefix);
    // What the deletion role's and the sweeper's explicit denies recognise shared resources by.
    Tags.of(this).add(TagKeys.KIND, StagingKinds.SHARED);
    Tags.of(this).add(TagKeys.PREFIX, this.prefix);
    const network = sharedNetwork(this, props);
    this.vpc = network.vpc;
    this.cluster = network.cluster;
    this.workloadSecurityGroup = network.workloadSecurityGroup;
    this.dataSecurityGroup = network.dataSecurityGroup;
    const lb = sharedLoadBalancer(this, { vpc: this.vpc, workloadSecurityGroup: this.workloadSecurityGroup, domainName: props.domainName, hostedZone: props.hostedZone });
    this.loadBalancer = lb.loadBalancer;
    this.listener = lb.listener;
    this.certificate = lb.certificate;
    this.access = props.access;
    const lock = props.access._bind(this, { prefix: this.prefix, listener: this.listener, loadBalancer: this.loadBalancer });
    this.rulesPerBranch = lock.rulesPerHost;
    this.rulesPerLoadBalancer = props.rulesPerLoadBalancer ?? DEFAULT_RULES_PER_LOAD_BALANCER;
    const plan = planCapacity(props.maxBranches, this.rulesPerBranch, this.rulesPerLoadBalancer);
    if (props.maxStagings !== undefined && !Token.isUnresolved(props.maxStagings) && props.maxStagings > plan.capacity) {
      throw new Error(
        `maxStagings ${props.maxStagings} is above the capacity of ${plan.capacity} branch stagings (${plan.shards} load balancer(s)); ` +
          `set maxBranches: ${props.maxStagings} so the shared staging builds the load balancers they need, or lower maxStagings`,
      );
    }
    this.capacity = plan.capacity;
    this.shardCount = plan.shards;
    this.shardSlots = plan.slots;
    const shards = lb.withShards(plan.shards);
    this.loadBalancers = shards.map((shard) => shard.loadBalancer);
    this.listeners = shards.map((shard) => shard.listener);

    // Shared data sources.
    const placement = { vpc: this.vpc, dataSecurityGroup: this.dataSecurityGroup };
    this.databaseName = props.database?.databaseName ?? 'app';
    this.database = sharedDatabase(this, placement, {
      ...props.database,
      databaseName: this.databaseName,
      instanceIdentifier: shared.databaseIdentifier,
      logGroupName: shared.databaseLogGroupName,
    });
    const { secret: cacheSecret, group: cache, subnetGroup: cacheSubnets } = sharedCache(this, placement, props.cache ?? {});
    this.cacheAuthSecret = cacheSecret;
    this.cache = cache;
    this.solrSecret = solrCredentials(this, props.solr);

    // The shared-staging app.
    const host = `${SharedStaging.SHARED_HOST_LABEL}.${props.domainName}`;
    this.url = `https://${host}`;
    this.app = new StagingServices(this, 'App', {
      cluster: this.cluster,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.workloadSecurityGroup],
      image: props.app.image,
      stagingName: SharedStaging.SHARED_HOST_LABEL,
      stream: Streams.SHARED_STAGING,
      url: this.url,
      logGroupPrefix: shared.logGroupPrefix,
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      logRemovalPolicy: RemovalPolicy.RETAIN,
      web: props.app.web,
      workers: props.app.workers,
      scheduledJobs: props.app.scheduledJobs,
      scheduleGroup: props.app.scheduledJobs?.length ? this.scheduleGroup : undefined,
      // The same variables branches get; the app's own win over them, name by name.
      ...resolveWiring(
        layer(
          combineWiring(
            databaseWiring({
              endpoint: this.database.dbInstanceEndpointAddress,
              port: this.database.dbInstanceEndpointPort,
              databaseName: this.databaseName,
              secret: this.database.secret!,
            }),
            cacheWiring({ endpoint: this.cache.attrPrimaryEndPointAddress, port: this.cache.attrPrimaryEndPointPort, authSecret: this.cacheAuthSecret }),
            searchWiring({ url: props.solr.url, secret: this.solrSecret }),
          ),
          eager(props.app.environment, props.app.secrets),
        ),
      ),
      capacityProviderStrategies: [{ capacityProvider: 'FARGATE', base: 1, weight: 1 }],
      cpuArchitecture: props.app.cpuArchitecture,
    });
    lock.lockHost(this.listener, 'SharedApp', host, this.app.targetGroup, SharedStaging.SHARED_RULE_PRIORITY);
    new route53.ARecord(this, 'SharedAppRecord', {
      zone: props.hostedZone,
      recordName: `${host}.`,
      target: route53.RecordTarget.fromAlias(new route53targets.LoadBalancerTarget(this.loadBalancer)),
    });

    publishSharedParameters(this, this.parameterPrefix, this.parameterValues(props, network.workloadSubnets, cacheSubnets));
    this.sleeper = new StagingSleeper(this, 'Sleeper', {
      prefix: this.prefix,
      parameterPrefix: this.parameterPrefix,
      cluster: this.cluster,
      listener: this.listener,
      additionalListeners: this.listeners.slice(1),
      ...props.sleeper,
    });
    const registry = publishShardRegistry(this, this.parameterPrefix, {
      rulesPerBranch: this.rulesPerBranch,
      rulesPerLoadBalancer: this.rulesPerLoadBalancer,
      shards: shards.map(({ index, loadBalancer, listener }) => ({
        index,
        loadBalancerArn: loadBalancer.loadBalancerArn,
        loadBalancerFullName: loadBalancer.loadBalancerFullName,
        dnsName: loadBalancer.loadBalancerDnsName,
        canonicalHostedZoneId: loadBalancer.loadBalancerCanonicalHostedZoneId,
        listenerArn: listener.listenerArn,
        wakerTargetGroupArn: this.sleeper.targetGroups[index].targetGroupArn,
        branchSlots: plan.slots[index],
      })),
    });
    // The waker refuses to wake for a request the lock would not let in (a second barrier).
    this.sleeper.wakerFunction.addEnvironment(AccessEnvironment.CONFIG, lock.environment);
    this.addProviders(props, lock);
    // Refuses a shrink that would delete a shard holding branches; the registry waits for it.
    registry.node.addDependency(new CustomResource(this, 'CapacityGuard', {
      serviceToken: this.providers[ProviderNames.STAGING_QUOTA].serviceToken,
      resourceType: ResourceTypes.CAPACITY_GUARD,
      properties: {
        ShardCount: String(plan.shards),
        ...(props.maxBranches !== undefined ? { MaxBranches: String(props.maxBranches) } : {}),
      } satisfies CapacityGuardResourceProperties,
    }));
    if (props.databaseTemplate) this.addDatabaseTemplate(props.databaseTemplate, props.database?.engineVersion ?? rds.PostgresEngineVersion.VER_16);

    const { enabled = true, ...sweeper } = props.sweeper ?? {};
    if (enabled) {
      this.sweeper = new StagingSweeper(this, 'Sweeper', { prefix: this.prefix, parameterPrefix: this.parameterPrefix, ...sweeper });
    }
    if (props.stagingsPage?.enabled !== false) {
      const page = new StagingsPage(this, 'StagingsPage', {
        options: props.stagingsPage ?? {},
        prefix: this.prefix,
        parameterPrefix: this.parameterPrefix,
        domainName: this.domainName,
        hostedZone: props.hostedZone,
        loadBalancer: this.loadBalancer,
        listener: this.listener,
        lock,
        sleeper: this.sleeper,
        sweeper: this.sweeper,
        maxStagings: props.maxStagings,
      });
      this.stagingsPageUrl = page.url;
    }
    // The stack's outputs are the SharedStagingStack's; in a stack of the user's own, the user's.
    holder?._holdSharedStaging(this, sharedOutputs(this));
  }

  /**
   * Adds a custom-resource provider that feature stacks can use through its service token,
   * published at `<parameterPrefix>/shared/providers/<name>/service-token`.
   *
   * @param name the provider's name, unique in this shared staging (`[a-z0-9-]`)
   * @param options the provider's handler, permissions and timeouts
   */
  public addProvider(name: string, options: StagingProviderOptions): StagingProvider {
    if (this.providers[name]) {
      throw new Error(`A provider named "${name}" was already added to the shared staging; give each provider its own name`);
    }
    const provider = new StagingProvider(this, `Provider-${name}`, { ...options, name });
    this.providers[name] = provider;
    new ssm.StringParameter(this, `Provider-${name}-Token`, {
      parameterName: `${this.parameterPrefix}/${SharedParameterNames.PROVIDER_PREFIX}/${name}/service-token`,
      stringValue: provider.serviceToken,
      description: `Service token of the ${name} provider`,
    });
    return provider;
  }

  /**
   * The provider added under `name`, if any.
   *
   * @param name a name given to `addProvider`, or one of `ProviderNames`
   */
  public provider(name: string): StagingProvider | undefined {
    return this.providers[name];
  }

  /**
   * Lets `grantee` read every parameter this shared staging publishes: `ssm:GetParameter`,
   * `ssm:GetParameters` and `ssm:GetParametersByPath` on `parameterPrefix` and below it.
   *
   * A CI role that deploys branch stacks needs this: CloudFormation resolves their SSM parameters
   * with the deploying principal's permissions. cdk-nag reports the `<parameterPrefix>/*`
   * resource as AwsSolutions-IAM5 on the grantee's policy; acknowledge it there.
   *
   * @param grantee the principal, e.g. the CI deploy role
   */
  public grantReadParameters(grantee: iam.IGrantable): iam.Grant {
    return grantReadParameterTree(grantee, this, this.parameterPrefix);
  }

  /**
   * The providers feature stacks use (one file each in lib/providers/): listener rules, branch
   * databases, release tasks, Solr collections, Redis key prefixes and the staging cap.
   */
  private addProviders(props: SharedStagingProps, lock: BoundAccess): void {
    const stack = Stack.of(this);
    // Solr and Redis are only reachable inside the VPC, so these two handlers run there.
    const inVpc = { vpc: this.vpc, securityGroups: [this.workloadSecurityGroup] };
    const definitions: ProviderDefinition[] = [
      listenerPriorityProvider({ listeners: this.listeners, prefix: this.prefix, wakerTargetGroupArn: this.sleeper.targetGroup.targetGroupArn, access: lock }),
      wakerProvider({
        stack,
        prefix: this.prefix,
        parameterPrefix: this.parameterPrefix,
        clusterName: this.cluster.clusterName,
        listenerArns: this.listeners.map((l) => l.listenerArn),
        wakerTargetGroupArn: this.sleeper.targetGroup.targetGroupArn,
      }),
      databaseRestoreProvider({ stack, prefix: this.prefix, subnetGroupName: databaseSubnetGroupName(this.database) }),
      releaseTaskProvider({ stack, prefix: this.prefix, cluster: this.cluster }),
      solrCollectionProvider({ ...inVpc, credentials: this.solrSecret }),
      redisPrefixProvider({ ...inVpc, authSecret: this.cacheAuthSecret }),
      // Always there (branch stacks always ask it); it allows every deploy without maxStagings.
      stagingQuotaProvider({ stack, prefix: this.prefix, parameterPrefix: this.parameterPrefix, maxStagings: props.maxStagings }),
    ];
    for (const definition of definitions) this.addDefinedProvider(definition);
  }

  private addDefinedProvider(definition: ProviderDefinition): StagingProvider {
    const provider = this.addProvider(definition.name, definition.options);
    if (definition.wildcards) acknowledgeWildcardPermissions(provider, definition.wildcards.reason, definition.wildcards.findings);
    if (definition.acknowledgements) acknowledgeResources(provider, definition.acknowledgements);
    return provider;
  }

  /**
   * The schedule group of the shared staging's own schedules (its app's jobs, the golden template
   * refresh), created on first use. Branch schedules stay in `default`: the sleeper and the waker
   * may pause only `schedule/default/<prefix>-*`, and schedules carry no tags of their own.
   */
  private get scheduleGroup(): scheduler.IScheduleGroup {
    this.sharedScheduleGroup ??= new scheduler.ScheduleGroup(this, 'Schedules', {
      scheduleGroupName: new SharedStagingNames(this.prefix).scheduleGroupName,
      // Deleting the group deletes its schedules, which the stack deletes anyway; a retained group
      // would make a new shared stack of the same prefix fail on its name.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    return this.sharedScheduleGroup;
  }

  /** The golden template branch databases are copied from, its refresh task and its provider. */
  private addDatabaseTemplate(options: SharedDatabaseTemplateOptions, engineVersion: rds.PostgresEngineVersion): void {
    const target = { host: this.database.dbInstanceEndpointAddress, port: this.database.dbInstanceEndpointPort, adminSecret: this.database.secret! };
    const golden = new GoldenTemplate(this, 'DatabaseTemplate', {
      ...options,
      ...target,
      prefix: this.prefix,
      cluster: this.cluster,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.workloadSecurityGroup],
      sourceDatabase: this.databaseName,
      postgresMajorVersion: engineVersion.postgresMajorVersion,
      scheduleGroup: this.scheduleGroup,
      releaseTaskProvider: this.providers[ProviderNames.RELEASE_TASK],
    });
    this.addDefinedProvider(
      databaseTemplateProvider({
        ...target,
        prefix: this.prefix,
        vpc: this.vpc,
        securityGroups: [this.workloadSecurityGroup],
        templateDatabase: golden.templateDatabase,
        templateOwner: golden.templateOwner,
        protectedDatabases: [this.databaseName],
        refreshCommand: golden.refreshCommand,
      }),
    );
  }

  private parameterValues(props: SharedStagingProps, workloadSubnets: ec2.SelectedSubnets, cacheSubnets: elasticache.CfnSubnetGroup): Record<string, string> {
    return {
      [SharedParameterNames.VPC_ID]: this.vpc.vpcId,
      [SharedParameterNames.PRIVATE_SUBNET_IDS]: Fn.join(',', workloadSubnets.subnetIds),
      [SharedParameterNames.AVAILABILITY_ZONES]: Fn.join(',', workloadSubnets.availabilityZones),
      [SharedParameterNames.CLUSTER_NAME]: this.cluster.clusterName,
      [SharedParameterNames.CLUSTER_ARN]: this.cluster.clusterArn,
      [SharedParameterNames.LISTENER_ARN]: this.listener.listenerArn,
      [SharedParameterNames.LOAD_BALANCER_ARN]: this.loadBalancer.loadBalancerArn,
      [SharedParameterNames.LOAD_BALANCER_FULL_NAME]: this.loadBalancer.loadBalancerFullName,
      [SharedParameterNames.LOAD_BALANCER_DNS_NAME]: this.loadBalancer.loadBalancerDnsName,
      [SharedParameterNames.LOAD_BALANCER_HOSTED_ZONE_ID]: this.loadBalancer.loadBalancerCanonicalHostedZoneId,
      [SharedParameterNames.HOSTED_ZONE_ID]: props.hostedZone.hostedZoneId,
      [SharedParameterNames.HOSTED_ZONE_NAME]: props.hostedZone.zoneName,
      [SharedParameterNames.DOMAIN_NAME]: props.domainName,
      [SharedParameterNames.WORKLOAD_SECURITY_GROUP_ID]: this.workloadSecurityGroup.securityGroupId,
      [SharedParameterNames.DATA_SECURITY_GROUP_ID]: this.dataSecurityGroup.securityGroupId,
      [SharedParameterNames.DATABASE_ENDPOINT]: this.database.dbInstanceEndpointAddress,
      [SharedParameterNames.DATABASE_PORT]: this.database.dbInstanceEndpointPort,
      [SharedParameterNames.DATABASE_NAME]: this.databaseName,
      [SharedParameterNames.DATABASE_SECRET_ARN]: this.database.secret!.secretArn,
      [SharedParameterNames.DATABASE_INSTANCE_ID]: this.database.instanceIdentifier,
      [SharedParameterNames.DATABASE_SUBNET_GROUP]: databaseSubnetGroupName(this.database),
      [SharedParameterNames.CACHE_ENDPOINT]: this.cache.attrPrimaryEndPointAddress,
      [SharedParameterNames.CACHE_PORT]: this.cache.attrPrimaryEndPointPort,
      [SharedParameterNames.CACHE_AUTH_SECRET_ARN]: this.cacheAuthSecret.secretArn,
      [SharedParameterNames.CACHE_SUBNET_GROUP]: cacheSubnets.ref,
      [SharedParameterNames.SOLR_URL]: props.solr.url,
      [SharedParameterNames.SOLR_SECRET_ARN]: this.solrSecret.secretArn,
    };
  }
}

function validate(props: SharedStagingProps, prefix: string, parameterPrefix: string): void {
  const problems: string[] = [...StagingNames.validatePrefix(prefix), ...validateParameterPrefix(parameterPrefix)];
  if (!(props.access instanceof StagingAccess)) {
    problems.push(
      `access is required (got ${JSON.stringify(props.access)}): say who may reach the stagings with one of ` +
        'StagingAccess.oidc({...}) (an OpenID Connect provider), StagingAccess.cognito({...}) (a Cognito user pool), ' +
        "StagingAccess.allowNetworks(['203.0.113.0/24']) (source CIDRs) or StagingAccess.publicAccess() (no lock, on purpose)",
    );
  } else {
    problems.push(...props.access.problems('access'));
  }
  const domain = props.domainName;
  if (typeof domain !== 'string' || (!Token.isUnresolved(domain) && !/^(?=.{1,189}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(domain))) {
    problems.push(
      `domainName must be a lower-case DNS name such as "staging.example.com" (got ${JSON.stringify(domain)}); branches are served at <branch>.<domainName>`,
    );
  }
  if (props.maxAzs !== undefined && (!Number.isInteger(props.maxAzs) || props.maxAzs < 2)) {
    problems.push(`maxAzs must be a whole number >= 2 (got ${props.maxAzs}); the load balancer needs two AZs`);
  }
  if (props.natGateways !== undefined && (!Number.isInteger(props.natGateways) || props.natGateways < 1)) {
    problems.push(`natGateways must be a whole number >= 1 (got ${props.natGateways}); app tasks pull images through it`);
  }
  if (!props.solr || typeof props.solr.url !== 'string' || (!Token.isUnresolved(props.solr.url) && !/^https?:\/\/[^\s/]+/.test(props.solr.url))) {
    problems.push(`solr.url must be the base URL of your Solr server, e.g. "https://solr.internal.example.com:8983/solr" (got ${JSON.stringify(props.solr?.url)})`);
  }
  const max = props.maxStagings;
  if (max !== undefined && !Token.isUnresolved(max) && (!Number.isInteger(max) || max < 1)) {
    problems.push(`maxStagings must be a whole number >= 1 (got ${max}); e.g. maxStagings: 20, or leave it out for no cap`);
  }
  const maxBranches = props.maxBranches;
  if (maxBranches !== undefined && (Token.isUnresolved(maxBranches) || !Number.isInteger(maxBranches) || maxBranches < 1)) {
    problems.push(`maxBranches must be a literal whole number >= 1 (got ${maxBranches}): it decides how many load balancers the shared stack builds; e.g. maxBranches: 500`);
  }
  const rules = props.rulesPerLoadBalancer;
  if (rules !== undefined && (Token.isUnresolved(rules) || !Number.isInteger(rules) || rules < 1)) {
    problems.push(
      `rulesPerLoadBalancer must be a literal whole number (got ${rules}): your "Rules per Application Load Balancer" quota in Service Quotas, ${DEFAULT_RULES_PER_LOAD_BALANCER} unless you had it raised`,
    );
  }
  problems.push(...stagingsPageProblems(props.stagingsPage, props.access, props.sweeper?.enabled !== false));
  const ec2Capacity = props.ec2Capacity;
  if (ec2Capacity && (ec2Capacity.minCapacity ?? 0) > (ec2Capacity.maxCapacity ?? 10)) {
    problems.push(`ec2Capacity.minCapacity (${ec2Capacity.minCapacity}) must not exceed ec2Capacity.maxCapacity (${ec2Capacity.maxCapacity ?? 10})`);
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
}
