import { Duration, Fn, RemovalPolicy, Size, Stack, Token, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as route53targets from 'aws-cdk-lib/aws-route53-targets';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { ProviderNames, SharedParameterNames, StagingKinds, Streams, TagKeys } from './contract';
import { acknowledgeWildcardPermissions } from './private/acknowledge';
import { cacheWiring, combineWiring, databaseWiring, eager, layer, resolveWiring, searchWiring } from './private/data-wiring';
import { generatedSecret } from './private/generated-secret';
import { grantReadParameterTree } from './private/grants';
import { StagingNames } from './naming';
import { BRANCH_SUBNET_COUNT, validateParameterPrefix } from './shared-staging-ref';
import { ScheduledJobOptions, ServiceOptions, StagingServices, WebServiceOptions } from './staging-services';
import { StagingProvider, StagingProviderOptions } from './staging-provider';
import { StagingSweeper, StagingSweeperOptions } from './staging-sweeper';

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

/** Properties of `SharedStaging`. */
export interface SharedStagingProps {
  /**
   * The staging system's prefix: stack names (`<prefix>-<branch>`) and tags.
   * @default 'staging'
   */
  readonly prefix?: string;

  /**
   * Where the parameters for feature stacks are published.
   * @default `/${prefix}`
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
}

/**
 * The long-lived base of the staging system, close to production: network and ECS cluster, one
 * HTTPS load balancer with a wildcard certificate, the shared Postgres, Redis/Valkey and Solr, the
 * shared-staging app at `shared.<domainName>`, and the custom-resource providers feature stacks use.
 *
 * Everything feature stacks need is published under `parameterPrefix` in SSM; read it with
 * `SharedStagingRef.fromParameters`. Data stores are retained and deletion-protected.
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
  /** The one internet-facing load balancer of all stagings. */
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  /** The HTTPS listener: one rule per branch, and the shared app's rule last. */
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

  private readonly providers: Record<string, StagingProvider> = {};

  /**
   * @param scope the shared stack (it needs an explicit region)
   * @param id the construct id
   * @param props the domain, hosted zone, Solr server and app, and optional sizing
   */
  constructor(scope: Construct, id: string, props: SharedStagingProps) {
    super(scope, id);
    this.prefix = props.prefix ?? 'staging';
    this.parameterPrefix = props.parameterPrefix ?? `/${this.prefix}`;
    this.domainName = props.domainName;
    validate(props, this.prefix, this.parameterPrefix);
    if (Token.isUnresolved(Stack.of(this).region)) {
      throw new Error(
        `SharedStaging needs a stack with an explicit region (got an environment-agnostic stack "${Stack.of(this).stackName}"); pass env: { region: 'eu-west-1' } (load balancer access logs are written by the region's log delivery)`,
      );
    }

    // Network and cluster.
    this.vpc = props.vpc ?? this.newVpc(props);
    const workloadSubnets = this.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS });
    if (!Token.isUnresolved(workloadSubnets.subnetIds) && workloadSubnets.subnetIds.length < BRANCH_SUBNET_COUNT) {
      throw new Error(
        `vpc must have at least ${BRANCH_SUBNET_COUNT} private subnets with egress (got ${workloadSubnets.subnetIds.length}); pass a VPC with private subnets in two AZs`,
      );
    }
    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: this.vpc,
      enableFargateCapacityProviders: true,
      containerInsightsV2: props.containerInsights === false ? ecs.ContainerInsights.DISABLED : ecs.ContainerInsights.ENABLED,
    });
    if (props.ec2Capacity) this.addEc2Capacity(props.ec2Capacity);

    // Security groups: the load balancer reaches workloads; workloads reach data stores.
    this.workloadSecurityGroup = new ec2.SecurityGroup(this, 'WorkloadSecurityGroup', {
      vpc: this.vpc,
      description: 'Staging app tasks (shared and branches)',
      allowAllOutbound: true,
    });
    this.dataSecurityGroup = new ec2.SecurityGroup(this, 'DataSecurityGroup', {
      vpc: this.vpc,
      description: 'Staging data stores, reachable from staging app tasks',
      allowAllOutbound: false,
    });
    this.dataSecurityGroup.addIngressRule(this.workloadSecurityGroup, ec2.Port.tcp(5432), 'Postgres from staging apps');
    this.dataSecurityGroup.addIngressRule(this.workloadSecurityGroup, ec2.Port.tcp(6379), 'Redis from staging apps');

    // The one load balancer: HTTPS with a wildcard certificate; HTTP only redirects.
    const logBucket = this.newLogBucket();
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: this.vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      dropInvalidHeaderFields: true,
    });
    this.loadBalancer.logAccessLogs(logBucket, 'alb');
    Validations.of(this.loadBalancer.node.findChild('SecurityGroup')).acknowledge({
      id: 'AwsSolutions-EC23',
      reason: 'The staging load balancer is the one public entry point: 443 for HTTPS and 80 only to redirect to HTTPS.',
    });
    this.workloadSecurityGroup.connections.allowFrom(this.loadBalancer, ec2.Port.allTcp(), 'Load balancer to app tasks');

    this.certificate = new acm.Certificate(this, 'WildcardCertificate', {
      domainName: `*.${props.domainName}`,
      validation: acm.CertificateValidation.fromDns(props.hostedZone),
    });
    this.listener = this.loadBalancer.addListener('Https', {
      port: 443,
      protocol: elbv2.ApplicationProtocol.HTTPS,
      certificates: [this.certificate],
      sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
      defaultAction: elbv2.ListenerAction.fixedResponse(404, {
        contentType: 'text/plain',
        messageBody: 'No staging is deployed at this address.',
      }),
    });
    this.loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443 });

    // Shared data sources.
    this.databaseName = props.database?.databaseName ?? 'app';
    this.database = this.newDatabase(props.database ?? {});
    const { secret: cacheSecret, group: cache, subnetGroup: cacheSubnets } = this.newCache(props.cache ?? {});
    this.cacheAuthSecret = cacheSecret;
    this.cache = cache;
    this.solrSecret =
      props.solr.credentials ??
      generatedSecret(this, 'SolrCredentials', {
        description: 'Basic-auth credentials of the staging Solr server',
        fields: { username: 'staging' },
        passwordLength: 32,
        removalPolicy: RemovalPolicy.RETAIN,
        whyNotRotated: 'Solr runs outside this stack, so Secrets Manager cannot rotate its password; rotate it in Solr and update this secret.',
      });

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
      logGroupPrefix: `/${this.prefix}/${SharedStaging.SHARED_HOST_LABEL}/`,
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      logRemovalPolicy: RemovalPolicy.RETAIN,
      web: props.app.web,
      workers: props.app.workers,
      scheduledJobs: props.app.scheduledJobs,
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
    });
    this.listener.addTargetGroups('SharedApp', {
      targetGroups: [this.app.targetGroup],
      priority: SharedStaging.SHARED_RULE_PRIORITY,
      conditions: [elbv2.ListenerCondition.hostHeaders([host])],
    });
    new route53.ARecord(this, 'SharedAppRecord', {
      zone: props.hostedZone,
      recordName: `${host}.`,
      target: route53.RecordTarget.fromAlias(new route53targets.LoadBalancerTarget(this.loadBalancer)),
    });

    this.publish(props, workloadSubnets, cacheSubnets);
    this.addListenerRuleProvider();
    this.addDataProviders();

    const { enabled = true, ...sweeper } = props.sweeper ?? {};
    if (enabled) {
      this.sweeper = new StagingSweeper(this, 'Sweeper', { prefix: this.prefix, parameterPrefix: this.parameterPrefix, ...sweeper });
    }
  }

  /**
   * The providers of FeatureStaging's own data: branch databases restored from snapshots, release
   * tasks, Solr collections and Redis key prefixes. Each may touch only what branches own: names
   * start with `<prefix>-` (or `<prefix>/branches/` for secrets) and carry the feature tag.
   */
  private addDataProviders(): void {
    const stack = Stack.of(this);
    const rds = (resource: string) => `arn:${stack.partition}:rds:${stack.region}:${stack.account}:${resource}`;
    const branchResource = { StringEquals: { [`aws:ResourceTag/${TagKeys.KIND}`]: StagingKinds.FEATURE } };
    const branchSecrets = `arn:${stack.partition}:secretsmanager:${stack.region}:${stack.account}:secret:${this.prefix}/branches/*`;
    const subnetGroup = (this.database.node.findChild('SubnetGroup') as rds.SubnetGroup).subnetGroupName;

    const database = this.addProvider(ProviderNames.DATABASE_RESTORE, {
      handler: 'database-restore',
      waits: true,
      queryInterval: Duration.seconds(30),
      timeout: Duration.minutes(2),
      policies: [
        new iam.PolicyStatement({ actions: ['rds:DescribeDBSnapshots', 'rds:DescribeDBInstances'], resources: ['*'] }),
        new iam.PolicyStatement({
          actions: ['rds:RestoreDBInstanceFromDBSnapshot'],
          resources: [rds(`db:${this.prefix}-*`), rds('snapshot:*'), rds(`subgrp:${subnetGroup}`), rds('og:*'), rds('pg:*')],
        }),
        new iam.PolicyStatement({
          actions: ['rds:AddTagsToResource'],
          resources: [rds(`db:${this.prefix}-*`)],
        }),
        new iam.PolicyStatement({
          actions: ['rds:ModifyDBInstance', 'rds:DeleteDBInstance'],
          resources: [rds(`db:${this.prefix}-*`)],
          conditions: branchResource,
        }),
        new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [branchSecrets] }),
        new iam.PolicyStatement({
          actions: ['kms:CreateGrant', 'kms:DescribeKey', 'kms:Decrypt'],
          resources: ['*'],
          conditions: { StringEquals: { 'kms:ViaService': `rds.${stack.region}.amazonaws.com` } },
        }),
      ],
    });
    acknowledgeWildcardPermissions(
      database,
      'Describe calls have no resource-level permissions; restores may read any snapshot, option and parameter group but create only `<prefix>-*` instances; modify and delete need the feature tag as well; KMS use is only through RDS.',
      /^Resource::(\*|arn:.*:rds:.*:(db:[a-z0-9]+-\*|snapshot:\*|og:\*|pg:\*)|arn:.*:secretsmanager:.*:secret:[a-z0-9]+\/branches\/\*)$/,
    );

    const cluster = this.cluster;
    const release = this.addProvider(ProviderNames.RELEASE_TASK, {
      handler: 'release-task',
      waits: true,
      queryInterval: Duration.seconds(15),
      timeout: Duration.minutes(1),
      policies: [
        new iam.PolicyStatement({
          actions: ['ecs:RunTask'],
          resources: [`arn:${stack.partition}:ecs:${stack.region}:${stack.account}:task-definition/${this.prefix}-*:*`],
          conditions: { ArnEquals: { 'ecs:cluster': cluster.clusterArn } },
        }),
        new iam.PolicyStatement({
          actions: ['ecs:ListTasks'],
          resources: ['*'],
          conditions: { ArnEquals: { 'ecs:cluster': cluster.clusterArn } },
        }),
        new iam.PolicyStatement({
          actions: ['ecs:DescribeTasks', 'ecs:StopTask'],
          resources: [`arn:${stack.partition}:ecs:${stack.region}:${stack.account}:task/${cluster.clusterName}/*`],
        }),
        new iam.PolicyStatement({
          actions: ['ecs:TagResource'],
          resources: [`arn:${stack.partition}:ecs:${stack.region}:${stack.account}:task/${cluster.clusterName}/*`],
          conditions: { StringEquals: { 'ecs:CreateAction': 'RunTask' } },
        }),
        new iam.PolicyStatement({
          actions: ['iam:PassRole'],
          resources: [`arn:${stack.partition}:iam::${stack.account}:role/*`],
          conditions: {
            StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com', [`aws:ResourceTag/${TagKeys.KIND}`]: StagingKinds.FEATURE },
          },
        }),
        new iam.PolicyStatement({
          actions: ['logs:GetLogEvents'],
          resources: [`arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:/${this.prefix}/*:log-stream:*`],
        }),
      ],
    });
    acknowledgeWildcardPermissions(
      release,
      'Release tasks run only task definitions named `<prefix>-*` on the one shared cluster, pass only roles tagged as feature-staging roles to ECS tasks, and read only staging log groups; task ids are not known in advance.',
      /^Resource::(\*|arn:.*:ecs:.*:(task-definition\/[a-z0-9]+-\*:\*|task\/.*\/\*)|arn:.*:iam::.*:role\/\*|arn:.*:logs:.*:log-group:\/[a-z0-9]+\/\*:log-stream:\*)$/,
    );

    // Solr and Redis are only reachable inside the VPC, so these two handlers run there.
    const inVpc = { vpc: this.vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }, securityGroups: [this.workloadSecurityGroup] };
    this.addProvider(ProviderNames.SOLR_COLLECTION, {
      handler: 'solr-collection',
      waits: true,
      queryInterval: Duration.seconds(20),
      timeout: Duration.minutes(3),
      ...inVpc,
      policies: [new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [this.solrSecret.secretArn] })],
    });
    this.addProvider(ProviderNames.REDIS_PREFIX, {
      handler: 'redis-prefix',
      timeout: Duration.minutes(10),
      ...inVpc,
      policies: [new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [this.cacheAuthSecret.secretArn] })],
    });
  }

  /** Branch host rules on the shared listener, with priorities allocated without collisions. */
  private addListenerRuleProvider(): void {
    const [head, tail] = [0, 1].map((i) => Fn.select(i, Fn.split(':listener/', this.listener.listenerArn)));
    const rulesOfListener = Fn.join('', [head, ':listener-rule/', tail, '/*']);
    const provider = this.addProvider(ProviderNames.LISTENER_PRIORITY, {
      handler: 'listener-priority',
      timeout: Duration.minutes(3),
      policies: [
        new iam.PolicyStatement({ actions: ['elasticloadbalancing:DescribeRules'], resources: ['*'] }),
        new iam.PolicyStatement({
          actions: ['elasticloadbalancing:CreateRule'],
          resources: [this.listener.listenerArn, rulesOfListener],
        }),
        new iam.PolicyStatement({
          actions: [
            'elasticloadbalancing:ModifyRule',
            'elasticloadbalancing:DeleteRule',
            'elasticloadbalancing:AddTags',
            'elasticloadbalancing:RemoveTags',
          ],
          resources: [rulesOfListener],
        }),
      ],
    });
    acknowledgeWildcardPermissions(
      provider,
      'DescribeRules supports no resource-level permissions; rule changes are limited to the rules of the one shared listener, whose rule ids are assigned by AWS.',
      /^Resource::(\*|.*:listener-rule\/.*\/\*)$/,
    );
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

  private newVpc(props: SharedStagingProps): ec2.Vpc {
    const vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.vpcCidr ?? '10.64.0.0/16'),
      maxAzs: props.maxAzs ?? 2,
      natGateways: props.natGateways ?? 1,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'app', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
        { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
    });
    vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(this, 'FlowLogs', {
          retention: logs.RetentionDays.TWO_WEEKS,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
      ),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });
    return vpc;
  }

  private addEc2Capacity(options: SharedEc2CapacityOptions): void {
    const group = new autoscaling.AutoScalingGroup(this, 'Ec2Capacity', {
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      instanceType: options.instanceType ?? new ec2.InstanceType('t3.large'),
      machineImage: ecs.EcsOptimizedImage.amazonLinux2023(),
      minCapacity: options.minCapacity ?? 0,
      maxCapacity: options.maxCapacity ?? 10,
      requireImdsv2: true,
      blockDevices: [
        { deviceName: '/dev/xvda', volume: autoscaling.BlockDeviceVolume.ebs(30, { encrypted: true, volumeType: autoscaling.EbsDeviceVolumeType.GP3 }) },
      ],
    });
    Validations.of(group).acknowledge({
      id: 'AwsSolutions-AS3',
      reason: 'ECS managed scaling adds and removes instances as branches come and go; scaling notifications would only be noise.',
    });
    const capacityProvider = new ecs.AsgCapacityProvider(this, 'Ec2CapacityProvider', {
      autoScalingGroup: group,
      enableManagedScaling: true,
      enableManagedTerminationProtection: false,
      // ECS drains instances itself, so no drain-hook Lambda is needed.
      enableManagedDraining: true,
      targetCapacityPercent: 100,
    });
    this.cluster.addAsgCapacityProvider(capacityProvider);
    acknowledgeWildcardPermissions(
      group,
      'The ECS container agent\'s standard instance permissions (ecs:Submit*, discovery, image pulls, logs), limited to this cluster where ECS allows it.',
      /^(Action::ecs:Submit\*|Resource::\*)$/,
    );
  }

  private newLogBucket(): s3.Bucket {
    const bucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(30) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket receives the load balancer access logs; logging its own access would log the logs.',
    });
    return bucket;
  }

  private newDatabase(options: SharedDatabaseOptions): rds.DatabaseInstance {
    const instanceIdentifier = `${this.prefix}-shared`;
    // RDS writes to this group; creating it here gives it a retention without a LogRetention function.
    const logGroup = new logs.LogGroup(this, 'DatabaseLogs', {
      logGroupName: `/aws/rds/instance/${instanceIdentifier}/postgresql`,
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const database = new rds.DatabaseInstance(this, 'Database', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: options.engineVersion ?? rds.PostgresEngineVersion.VER_16 }),
      instanceType: options.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MEDIUM),
      vpc: this.vpc,
      vpcSubnets: { subnetType: this.isolatedOrPrivate() },
      securityGroups: [this.dataSecurityGroup],
      databaseName: this.databaseName,
      credentials: rds.Credentials.fromGeneratedSecret('app_admin'),
      allocatedStorage: (options.allocatedStorage ?? Size.gibibytes(50)).toGibibytes(),
      storageType: rds.StorageType.GP3,
      storageEncrypted: true,
      multiAz: options.multiAz ?? false,
      backupRetention: options.backupRetention ?? Duration.days(7),
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      publiclyAccessible: false,
      autoMinorVersionUpgrade: true,
      iamAuthentication: true,
      instanceIdentifier,
      cloudwatchLogsExports: ['postgresql'],
      parameters: { 'rds.force_ssl': '1' },
    });
    database.node.addDependency(logGroup);
    database.addRotationSingleUser({ automaticallyAfter: Duration.days(30) });
    if (!options.multiAz) {
      Validations.of(database).acknowledge({
        id: 'AwsSolutions-RDS3',
        reason: 'Staging, not production: a standby doubles the cost and staging can wait for a restart. Set database.multiAz to true to match production.',
      });
    }
    Validations.of(database).acknowledge({
      id: 'AwsSolutions-RDS11',
      reason: 'The default port is kept so apps need no special configuration; only staging app tasks reach it (security group).',
    });
    return database;
  }

  private newCache(options: SharedCacheOptions): {
    secret: secretsmanager.Secret;
    group: elasticache.CfnReplicationGroup;
    subnetGroup: elasticache.CfnSubnetGroup;
  } {
    const secret = generatedSecret(this, 'CacheAuth', {
      description: 'AUTH token of the shared staging Redis/Valkey',
      passwordLength: 64,
      removalPolicy: RemovalPolicy.RETAIN,
      whyNotRotated: 'ElastiCache AUTH tokens cannot be rotated by Secrets Manager without a custom rotation function; rotate with ModifyReplicationGroup (AuthTokenUpdateStrategy ROTATE).',
    });
    const subnetGroup = new elasticache.CfnSubnetGroup(this, 'CacheSubnets', {
      description: 'Staging caches',
      subnetIds: this.vpc.selectSubnets({ subnetType: this.isolatedOrPrivate() }).subnetIds,
    });
    const group = new elasticache.CfnReplicationGroup(this, 'Cache', {
      replicationGroupDescription: 'Shared staging Redis/Valkey',
      engine: 'valkey',
      engineVersion: options.engineVersion ?? '8.0',
      cacheNodeType: options.nodeType ?? 'cache.t4g.small',
      numCacheClusters: 1,
      automaticFailoverEnabled: false,
      multiAzEnabled: false,
      cacheSubnetGroupName: subnetGroup.ref,
      securityGroupIds: [this.dataSecurityGroup.securityGroupId],
      atRestEncryptionEnabled: true,
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      authToken: secret.secretValueFromJson('password').unsafeUnwrap(),
      snapshotRetentionLimit: 3,
      port: 6379,
    });
    group.applyRemovalPolicy(RemovalPolicy.RETAIN);
    Validations.of(group).acknowledge(
      {
        id: 'AwsSolutions-AEC4',
        reason: 'Staging cache: a replica in a second AZ doubles the cost for data that can be rebuilt.',
      },
      {
        id: 'AwsSolutions-AEC5',
        reason: 'The default port is kept so apps need no special configuration; only staging app tasks reach it (security group).',
      },
    );
    return { secret, group, subnetGroup };
  }

  /** Isolated subnets for data when the VPC has them, else the private ones. */
  private isolatedOrPrivate(): ec2.SubnetType {
    return this.vpc.isolatedSubnets.length > 0 ? ec2.SubnetType.PRIVATE_ISOLATED : ec2.SubnetType.PRIVATE_WITH_EGRESS;
  }

  private publish(props: SharedStagingProps, workloadSubnets: ec2.SelectedSubnets, cacheSubnets: elasticache.CfnSubnetGroup): void {
    const values: Record<string, string> = {
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
      [SharedParameterNames.DATABASE_SUBNET_GROUP]: (this.database.node.findChild('SubnetGroup') as rds.SubnetGroup).subnetGroupName,
      [SharedParameterNames.CACHE_ENDPOINT]: this.cache.attrPrimaryEndPointAddress,
      [SharedParameterNames.CACHE_PORT]: this.cache.attrPrimaryEndPointPort,
      [SharedParameterNames.CACHE_AUTH_SECRET_ARN]: this.cacheAuthSecret.secretArn,
      [SharedParameterNames.CACHE_SUBNET_GROUP]: cacheSubnets.ref,
      [SharedParameterNames.SOLR_URL]: props.solr.url,
      [SharedParameterNames.SOLR_SECRET_ARN]: this.solrSecret.secretArn,
    };
    const parameters = new Construct(this, 'Parameters');
    for (const [name, value] of Object.entries(values)) {
      new ssm.StringParameter(parameters, name, {
        parameterName: `${this.parameterPrefix}/${name}`,
        stringValue: value,
      });
    }
  }
}

function validate(props: SharedStagingProps, prefix: string, parameterPrefix: string): void {
  const problems: string[] = [...StagingNames.validatePrefix(prefix), ...validateParameterPrefix(parameterPrefix)];
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
  const ec2Capacity = props.ec2Capacity;
  if (ec2Capacity && (ec2Capacity.minCapacity ?? 0) > (ec2Capacity.maxCapacity ?? 10)) {
    problems.push(`ec2Capacity.minCapacity (${ec2Capacity.minCapacity}) must not exceed ec2Capacity.maxCapacity (${ec2Capacity.maxCapacity ?? 10})`);
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
}
