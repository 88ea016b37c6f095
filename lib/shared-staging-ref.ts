import { Fn, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, IConstruct } from 'constructs';
import { SharedParameterNames } from './contract/staging';
import { StagingNames } from './contract/naming';
import { grantReadParameterTree } from './private/grants';

/**
 * How many private subnets branch workloads use. SharedStaging requires at least this many, so
 * a feature stack can select them by index without knowing the shared VPC at synth time.
 */
export const BRANCH_SUBNET_COUNT = 2;

/** The shared Postgres, as feature stacks see it. */
export interface SharedDatabaseInfo {
  /** The instance's endpoint address (host name). */
  readonly endpoint: string;
  /** The port Postgres listens on, as a string (an SSM parameter value). */
  readonly port: string;
  /** The name of the app's database on the instance. */
  readonly databaseName: string;
  /** JSON secret with `username` and `password`. */
  readonly secret: secretsmanager.ISecret;
  /** The instance identifier: the default source of branch restores. */
  readonly instanceIdentifier: string;
  /** The DB subnet group branch databases are placed in. */
  readonly subnetGroupName: string;
}

/** The shared Redis/Valkey, as feature stacks see it. */
export interface SharedCacheInfo {
  /** The replication group's primary endpoint address (host name). */
  readonly endpoint: string;
  /** The port Valkey listens on, as a string (an SSM parameter value). */
  readonly port: string;
  /** JSON secret with `password` (the AUTH token). */
  readonly authSecret: secretsmanager.ISecret;
  /** The cache subnet group branch caches are placed in. */
  readonly subnetGroupName: string;
}

/** The shared Solr server, as feature stacks see it. */
export interface SharedSolrInfo {
  /** The Solr base URL, e.g. `https://solr.internal.example.com:8983/solr`. */
  readonly url: string;
  /** JSON secret with `username` and `password`. */
  readonly secret: secretsmanager.ISecret;
}

/**
 * What a feature stack builds on: the shared staging's network, cluster, load balancer, zone,
 * data sources and providers. Every value is read from SSM at deploy time.
 *
 * Get one with `SharedStagingRef.fromParameters()` in the feature stack.
 */
export interface ISharedStaging extends IConstruct {
  /** The staging system's prefix (stack names, tags). */
  readonly prefix: string;
  /** Where the shared staging publishes its parameters, e.g. `/staging`. */
  readonly parameterPrefix: string;
  /** The staging domain, e.g. `staging.example.com`. */
  readonly domainName: string;
  /** The shared VPC (by id: its subnets come from `workloadSubnets`). */
  readonly vpc: ec2.IVpc;
  /** The private subnets branch tasks run in. */
  readonly workloadSubnets: ec2.SubnetSelection;
  /** The shared ECS cluster branch services run in. */
  readonly cluster: ecs.ICluster;
  /**
   * The ARN of shard 0's HTTPS listener. Branch stagings put their rule on their own shard's
   * listener, which their `Custom::StagingQuota` answers (README, "Capacity").
   */
  readonly listenerArn: string;
  /** Shard 0's DNS name (a branch's record aliases its own shard's, from its quota resource). */
  readonly loadBalancerDnsName: string;
  /** Shard 0's canonical hosted zone id. */
  readonly loadBalancerCanonicalHostedZoneId: string;
  /** `app/<name>/<id>` of shard 0, the CloudWatch dimension. */
  readonly loadBalancerFullName: string;
  /** The hosted zone branch records are created in. */
  readonly hostedZone: route53.IHostedZone;
  /** Attached to every app task: the load balancer may reach it and it may reach the data stores. */
  readonly workloadSecurityGroup: ec2.ISecurityGroup;
  /** Attached to the data stores: workloads may reach it. */
  readonly dataSecurityGroup: ec2.ISecurityGroup;
  /** The shared Postgres: where branch databases are restored from, or what they share. */
  readonly database: SharedDatabaseInfo;
  /** The shared Valkey, for branches that use a key prefix in it. */
  readonly cache: SharedCacheInfo;
  /** The Solr server branch collections live on. */
  readonly solr: SharedSolrInfo;

  /**
   * The service token of one of the shared custom-resource providers.
   *
   * @param providerName the provider's name, one of `ProviderNames`, e.g. `ProviderNames.LISTENER_PRIORITY`
   */
  serviceToken(providerName: string): string;

  /**
   * Lets `grantee` read every parameter the shared staging publishes: `ssm:GetParameter`,
   * `ssm:GetParameters` and `ssm:GetParametersByPath` on `parameterPrefix` and below it.
   *
   * A CI role that deploys branch stacks needs this: CloudFormation resolves their SSM parameters
   * with the deploying principal's permissions. cdk-nag reports the `<parameterPrefix>/*`
   * resource as AwsSolutions-IAM5 on the grantee's policy; acknowledge it there.
   *
   * @param grantee the principal, e.g. the CI deploy role
   */
  grantReadParameters(grantee: iam.IGrantable): iam.Grant;
}

/** Properties of `SharedStagingRef.fromParameters`. */
export interface SharedStagingRefProps {
  /**
   * The staging system's prefix.
   * @default 'staging'
   */
  readonly prefix?: string;

  /**
   * Where the shared staging published its parameters.
   * @default `/${prefix}`
   */
  readonly parameterPrefix?: string;
}

/**
 * Reads the shared staging from the SSM parameters it publishes. Values resolve at deploy time
 * (CloudFormation parameters of type `AWS::SSM::Parameter::Value<String>`), so a feature stack has
 * no `Fn::ImportValue`, and updating the shared stack never needs a feature stack to change.
 */
export class SharedStagingRef extends Construct implements ISharedStaging {
  /**
   * Reads the shared staging into `scope`, which should be a feature stack.
   *
   * @param scope the feature stack (or a construct in it)
   * @param id the construct id
   * @param props where the shared staging published its parameters
   */
  public static fromParameters(scope: Construct, id: string, props: SharedStagingRefProps = {}): ISharedStaging {
    return new SharedStagingRef(scope, id, props);
  }

  /** The staging system's prefix (stack names, tags). */
  public readonly prefix: string;
  /** Where the shared staging publishes its parameters, e.g. `/staging`. */
  public readonly parameterPrefix: string;
  private readonly memo = new Map<string, unknown>();

  private constructor(scope: Construct, id: string, props: SharedStagingRefProps) {
    super(scope, id);
    this.prefix = props.prefix ?? 'staging';
    const problems = StagingNames.validatePrefix(this.prefix);
    this.parameterPrefix = props.parameterPrefix ?? `/${this.prefix}`;
    problems.push(...validateParameterPrefix(this.parameterPrefix));
    if (problems.length > 0) throw new Error(problems.join('\n'));
  }

  // Every value is created on first use, so a stack holds only the SSM parameters it reads.

  /** The staging domain, e.g. `staging.example.com`. */
  public get domainName(): string {
    return this.param(SharedParameterNames.DOMAIN_NAME);
  }

  /**
   * The VPC by id only. Branch resources name their subnets explicitly (`workloadSubnets`), so no
   * AZ is ever rendered; CDK still wants one entry, hence the placeholder.
   */
  public get vpc(): ec2.IVpc {
    return this.once('vpc', () =>
      ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
        vpcId: this.param(SharedParameterNames.VPC_ID),
        availabilityZones: ['see-workloadSubnets'],
      }),
    );
  }

  /** The first `BRANCH_SUBNET_COUNT` private subnets of the shared VPC. */
  public get workloadSubnets(): ec2.SubnetSelection {
    return this.once('subnets', () => {
      const ids = Fn.split(',', this.param(SharedParameterNames.PRIVATE_SUBNET_IDS), BRANCH_SUBNET_COUNT);
      const subnets = ids.map((subnetId, i) => ec2.Subnet.fromSubnetId(this, `Subnet${i + 1}`, subnetId));
      for (const subnet of subnets) {
        Validations.of(subnet).acknowledge({
          id: 'Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId',
          reason: 'Branch stacks only place tasks in these subnets; they never read or change route tables.',
        });
      }
      return { subnets };
    });
  }

  /** The shared ECS cluster, by name. */
  public get cluster(): ecs.ICluster {
    return this.once('cluster', () =>
      ecs.Cluster.fromClusterAttributes(this, 'Cluster', {
        // The ARN is derived from the name, so stacks that never use it carry no parameter for it.
        clusterName: this.param(SharedParameterNames.CLUSTER_NAME),
        vpc: this.vpc,
      }),
    );
  }

  /** The ARN of the shared HTTPS listener. */
  public get listenerArn(): string {
    return this.param(SharedParameterNames.LISTENER_ARN);
  }

  /** The load balancer's DNS name. */
  public get loadBalancerDnsName(): string {
    return this.param(SharedParameterNames.LOAD_BALANCER_DNS_NAME);
  }

  /** The load balancer's canonical hosted zone id. */
  public get loadBalancerCanonicalHostedZoneId(): string {
    return this.param(SharedParameterNames.LOAD_BALANCER_HOSTED_ZONE_ID);
  }

  /** `app/<name>/<id>`, the CloudWatch dimension. */
  public get loadBalancerFullName(): string {
    return this.param(SharedParameterNames.LOAD_BALANCER_FULL_NAME);
  }

  /** The hosted zone, by id. */
  public get hostedZone(): route53.IHostedZone {
    return this.once('zone', () =>
      // Records are named with fully qualified names, so the zone's name is never needed.
      route53.HostedZone.fromHostedZoneId(this, 'Zone', this.param(SharedParameterNames.HOSTED_ZONE_ID)),
    );
  }

  /** The security group of every app task (imported immutable). */
  public get workloadSecurityGroup(): ec2.ISecurityGroup {
    return this.once('workload-sg', () =>
      ec2.SecurityGroup.fromSecurityGroupId(this, 'WorkloadSecurityGroup', this.param(SharedParameterNames.WORKLOAD_SECURITY_GROUP_ID), {
        allowAllOutbound: true,
        mutable: false,
      }),
    );
  }

  /** The security group of the data stores (imported immutable). */
  public get dataSecurityGroup(): ec2.ISecurityGroup {
    return this.once('data-sg', () =>
      ec2.SecurityGroup.fromSecurityGroupId(this, 'DataSecurityGroup', this.param(SharedParameterNames.DATA_SECURITY_GROUP_ID), {
        mutable: false,
      }),
    );
  }

  /** The shared Postgres; each value is read from SSM on first use. */
  public get database(): SharedDatabaseInfo {
    return this.once('database', () =>
      this.lazyInfo<SharedDatabaseInfo>('database', {
        endpoint: () => this.param(SharedParameterNames.DATABASE_ENDPOINT),
        port: () => this.param(SharedParameterNames.DATABASE_PORT),
        databaseName: () => this.param(SharedParameterNames.DATABASE_NAME),
        secret: () => this.secret('DatabaseSecret', SharedParameterNames.DATABASE_SECRET_ARN),
        instanceIdentifier: () => this.param(SharedParameterNames.DATABASE_INSTANCE_ID),
        subnetGroupName: () => this.param(SharedParameterNames.DATABASE_SUBNET_GROUP),
      }),
    );
  }

  /** The shared Valkey; each value is read from SSM on first use. */
  public get cache(): SharedCacheInfo {
    return this.once('cache', () =>
      this.lazyInfo<SharedCacheInfo>('cache', {
        endpoint: () => this.param(SharedParameterNames.CACHE_ENDPOINT),
        port: () => this.param(SharedParameterNames.CACHE_PORT),
        authSecret: () => this.secret('CacheSecret', SharedParameterNames.CACHE_AUTH_SECRET_ARN),
        subnetGroupName: () => this.param(SharedParameterNames.CACHE_SUBNET_GROUP),
      }),
    );
  }

  /** The Solr server; each value is read from SSM on first use. */
  public get solr(): SharedSolrInfo {
    return this.once('solr', () =>
      this.lazyInfo<SharedSolrInfo>('solr', {
        url: () => this.param(SharedParameterNames.SOLR_URL),
        secret: () => this.secret('SolrSecret', SharedParameterNames.SOLR_SECRET_ARN),
      }),
    );
  }

  /**
   * The service token of a shared provider, read from `<parameterPrefix>/shared/providers/<name>/service-token`.
   *
   * @param providerName the provider's name, one of `ProviderNames`
   */
  public serviceToken(providerName: string): string {
    return this.param(`${SharedParameterNames.PROVIDER_PREFIX}/${providerName}/service-token`);
  }

  /**
   * Lets `grantee` read every parameter below `parameterPrefix` (`ssm:GetParameter`,
   * `ssm:GetParameters`, `ssm:GetParametersByPath`).
   *
   * @param grantee the principal, e.g. the CI deploy role
   */
  public grantReadParameters(grantee: iam.IGrantable): iam.Grant {
    return grantReadParameterTree(grantee, this, this.parameterPrefix);
  }

  private param(name: string): string {
    return ssm.StringParameter.valueForStringParameter(this, `${this.parameterPrefix}/${name}`);
  }

  private secret(id: string, name: string): secretsmanager.ISecret {
    return secretsmanager.Secret.fromSecretCompleteArn(this, id, this.param(name));
  }

  /**
   * An object whose every property is made on first read (and then kept), so a stack holds only
   * the parameters it reads: FeatureStaging with its own database never reads the shared one's.
   */
  private lazyInfo<T>(name: string, makers: Record<string, () => unknown>): T {
    const info = {};
    for (const [property, make] of Object.entries(makers)) {
      Object.defineProperty(info, property, { get: () => this.once(`${name}.${property}`, make), enumerable: true });
    }
    return info as T;
  }

  private once<T>(key: string, make: () => T): T {
    if (!this.memo.has(key)) this.memo.set(key, make());
    return this.memo.get(key) as T;
  }
}

/** Problems with an SSM parameter prefix, as messages naming `parameterPrefix`. */
export function validateParameterPrefix(parameterPrefix: string): string[] {
  if (typeof parameterPrefix !== 'string' || !/^\/[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(parameterPrefix) || /^\/aws|^\/ssm/i.test(parameterPrefix)) {
    return [
      `parameterPrefix must be an SSM path like "/staging" (a leading slash, no trailing slash, not under /aws or /ssm; got ${JSON.stringify(parameterPrefix)})`,
    ];
  }
  return [];
}
