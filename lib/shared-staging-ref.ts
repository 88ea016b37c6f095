import { Fn } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { SharedParameterNames } from './contract';
import { StagingNames } from './naming';

/**
 * How many private subnets branch workloads use. SharedStaging requires at least this many, so
 * a feature stack can select them by index without knowing the shared VPC at synth time.
 */
export const BRANCH_SUBNET_COUNT = 2;

/** The shared Postgres, as feature stacks see it. */
export interface SharedDatabaseInfo {
  readonly endpoint: string;
  readonly port: string;
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
  readonly endpoint: string;
  readonly port: string;
  /** JSON secret with `password` (the AUTH token). */
  readonly authSecret: secretsmanager.ISecret;
  /** The cache subnet group branch caches are placed in. */
  readonly subnetGroupName: string;
}

/** The shared Solr server, as feature stacks see it. */
export interface SharedSolrInfo {
  readonly url: string;
  /** JSON secret with `username` and `password`. */
  readonly secret: secretsmanager.ISecret;
}

/**
 * What a feature stack builds on: the shared staging's network, cluster, load balancer, zone,
 * data sources and providers. Every value is read from SSM at deploy time.
 */
export interface ISharedStaging {
  /** The staging system's prefix (stack names, tags). */
  readonly prefix: string;
  /** Where the shared staging publishes its parameters, e.g. `/staging`. */
  readonly parameterPrefix: string;
  /** The staging domain, e.g. `staging.example.com`. */
  readonly domainName: string;
  readonly vpc: ec2.IVpc;
  /** The private subnets branch tasks run in. */
  readonly workloadSubnets: ec2.SubnetSelection;
  readonly cluster: ecs.ICluster;
  readonly listenerArn: string;
  readonly loadBalancerDnsName: string;
  readonly loadBalancerCanonicalHostedZoneId: string;
  /** `app/<name>/<id>`, the CloudWatch dimension. */
  readonly loadBalancerFullName: string;
  readonly hostedZone: route53.IHostedZone;
  /** Attached to every app task: the load balancer may reach it and it may reach the data stores. */
  readonly workloadSecurityGroup: ec2.ISecurityGroup;
  /** Attached to the data stores: workloads may reach it. */
  readonly dataSecurityGroup: ec2.ISecurityGroup;
  readonly database: SharedDatabaseInfo;
  readonly cache: SharedCacheInfo;
  readonly solr: SharedSolrInfo;
  /** The service token of one of the shared custom-resource providers (see `ProviderNames`). */
  serviceToken(providerName: string): string;
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
  /** Reads the shared staging into `scope`, which should be a feature stack. */
  public static fromParameters(scope: Construct, id: string, props: SharedStagingRefProps = {}): ISharedStaging {
    return new SharedStagingRef(scope, id, props);
  }

  public readonly prefix: string;
  public readonly parameterPrefix: string;
  public readonly domainName: string;
  public readonly vpc: ec2.IVpc;
  public readonly workloadSubnets: ec2.SubnetSelection;
  public readonly cluster: ecs.ICluster;
  public readonly listenerArn: string;
  public readonly loadBalancerDnsName: string;
  public readonly loadBalancerCanonicalHostedZoneId: string;
  public readonly loadBalancerFullName: string;
  public readonly hostedZone: route53.IHostedZone;
  public readonly workloadSecurityGroup: ec2.ISecurityGroup;
  public readonly dataSecurityGroup: ec2.ISecurityGroup;
  public readonly database: SharedDatabaseInfo;
  public readonly cache: SharedCacheInfo;
  public readonly solr: SharedSolrInfo;

  private constructor(scope: Construct, id: string, props: SharedStagingRefProps) {
    super(scope, id);
    this.prefix = props.prefix ?? 'staging';
    const problems = StagingNames.validatePrefix(this.prefix);
    this.parameterPrefix = props.parameterPrefix ?? `/${this.prefix}`;
    problems.push(...validateParameterPrefix(this.parameterPrefix));
    if (problems.length > 0) throw new Error(problems.join('\n'));

    const p = (name: string) => this.param(name);
    this.domainName = p(SharedParameterNames.DOMAIN_NAME);
    const azs = Fn.split(',', p(SharedParameterNames.AVAILABILITY_ZONES), BRANCH_SUBNET_COUNT);
    const subnets = Fn.split(',', p(SharedParameterNames.PRIVATE_SUBNET_IDS), BRANCH_SUBNET_COUNT);
    this.vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
      vpcId: p(SharedParameterNames.VPC_ID),
      availabilityZones: azs,
      privateSubnetIds: subnets,
    });
    this.workloadSubnets = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    this.cluster = ecs.Cluster.fromClusterAttributes(this, 'Cluster', {
      clusterName: p(SharedParameterNames.CLUSTER_NAME),
      clusterArn: p(SharedParameterNames.CLUSTER_ARN),
      vpc: this.vpc,
    });
    this.listenerArn = p(SharedParameterNames.LISTENER_ARN);
    this.loadBalancerDnsName = p(SharedParameterNames.LOAD_BALANCER_DNS_NAME);
    this.loadBalancerCanonicalHostedZoneId = p(SharedParameterNames.LOAD_BALANCER_HOSTED_ZONE_ID);
    this.loadBalancerFullName = p(SharedParameterNames.LOAD_BALANCER_FULL_NAME);
    this.hostedZone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
      hostedZoneId: p(SharedParameterNames.HOSTED_ZONE_ID),
      zoneName: p(SharedParameterNames.HOSTED_ZONE_NAME),
    });
    this.workloadSecurityGroup = ec2.SecurityGroup.fromSecurityGroupId(
      this,
      'WorkloadSecurityGroup',
      p(SharedParameterNames.WORKLOAD_SECURITY_GROUP_ID),
      { allowAllOutbound: true, mutable: false },
    );
    this.dataSecurityGroup = ec2.SecurityGroup.fromSecurityGroupId(
      this,
      'DataSecurityGroup',
      p(SharedParameterNames.DATA_SECURITY_GROUP_ID),
      { mutable: false },
    );
    this.database = {
      endpoint: p(SharedParameterNames.DATABASE_ENDPOINT),
      port: p(SharedParameterNames.DATABASE_PORT),
      databaseName: p(SharedParameterNames.DATABASE_NAME),
      secret: secretsmanager.Secret.fromSecretCompleteArn(this, 'DatabaseSecret', p(SharedParameterNames.DATABASE_SECRET_ARN)),
      instanceIdentifier: p(SharedParameterNames.DATABASE_INSTANCE_ID),
      subnetGroupName: p(SharedParameterNames.DATABASE_SUBNET_GROUP),
    };
    this.cache = {
      endpoint: p(SharedParameterNames.CACHE_ENDPOINT),
      port: p(SharedParameterNames.CACHE_PORT),
      authSecret: secretsmanager.Secret.fromSecretCompleteArn(this, 'CacheSecret', p(SharedParameterNames.CACHE_AUTH_SECRET_ARN)),
      subnetGroupName: p(SharedParameterNames.CACHE_SUBNET_GROUP),
    };
    this.solr = {
      url: p(SharedParameterNames.SOLR_URL),
      secret: secretsmanager.Secret.fromSecretCompleteArn(this, 'SolrSecret', p(SharedParameterNames.SOLR_SECRET_ARN)),
    };
  }

  public serviceToken(providerName: string): string {
    return this.param(`${SharedParameterNames.PROVIDER_PREFIX}/${providerName}/service-token`);
  }

  private param(name: string): string {
    return ssm.StringParameter.valueForStringParameter(this, `${this.parameterPrefix}/${name}`);
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
