/**
 * The contract between the constructs that declare custom resources and the handlers that serve
 * them: each resource type, and the properties and attributes of each, by their wire names.
 * Both sides import this module (it has no imports, so handler bundles stay free of aws-cdk-lib),
 * so renaming a key on one side only is a compile error.
 *
 * Every value is typed as what CloudFormation delivers: scalars arrive as strings (tokens at
 * synth), so numbers and booleans are strings here too unless the construct passes a literal.
 */

/** Custom resource types: API, like construct ids (renaming one replaces users' resources). */
export class ResourceTypes {
  public static readonly DATABASE = 'Custom::StagingDatabase';
  public static readonly LISTENER_RULE = 'Custom::StagingListenerRule';
  public static readonly RELEASE = 'Custom::StagingRelease';
  public static readonly REDIS_PREFIX = 'Custom::StagingRedisPrefix';
  public static readonly SOLR_COLLECTION = 'Custom::StagingSolrCollection';
  /** A branch database copied from the golden template (database-template; see database-template-contract.ts). */
  public static readonly TEMPLATE_DATABASE = 'Custom::StagingTemplateDatabase';
  /** The cap check of a branch stack (staging-quota): every other resource of the stack depends on it. */
  public static readonly STAGING_QUOTA = 'Custom::StagingQuota';
}

/** A tag as CloudFormation passes it. */
export interface WireTag {
  readonly Key: string;
  readonly Value: string;
}

/** `Custom::StagingDatabase` (database-restore). */
export interface DatabaseResourceProperties {
  readonly SourceInstanceIdentifier: string;
  readonly InstanceIdentifierBase: string;
  readonly InstanceClass?: string;
  readonly AllocatedStorageGiB?: number | string;
  readonly DbSubnetGroupName: string;
  readonly VpcSecurityGroupIds: string[];
  readonly MasterUserSecretArn: string;
  readonly RefreshToken?: string;
  readonly Tags?: WireTag[];
}

/** Attributes (`getAtt`) of `Custom::StagingDatabase`. */
export class DatabaseAttributes {
  public static readonly ENDPOINT = 'Endpoint';
  public static readonly PORT = 'Port';
  public static readonly DATABASE_NAME = 'DatabaseName';
  public static readonly MASTER_USERNAME = 'MasterUsername';
  public static readonly INSTANCE_IDENTIFIER = 'InstanceIdentifier';
}

/** `Custom::StagingListenerRule` (listener-priority). */
export interface ListenerRuleResourceProperties {
  readonly ListenerArn: string;
  readonly HostHeader: string;
  readonly TargetGroupArn: string;
  readonly MinPriority?: number | string;
  readonly MaxPriority?: number | string;
  readonly Tags?: WireTag[];
}

/** `Custom::StagingRelease` (release-task). */
export interface ReleaseResourceProperties {
  readonly ClusterArn: string;
  readonly TaskDefinitionArn: string;
  readonly ContainerName: string;
  readonly Command: string[] | string;
  readonly Subnets: string[] | string;
  readonly SecurityGroups: string[] | string;
  readonly AssignPublicIp?: string;
  /** JSON of `[{ capacityProvider, weight?, base? }]`; empty for the FARGATE launch type. */
  readonly CapacityProviderStrategy?: string;
  readonly LogGroupName: string;
  readonly LogStreamPrefix: string;
  readonly TimeoutSeconds?: number | string;
  readonly StagingName: string;
}

/** `Custom::StagingRedisPrefix` (redis-prefix). */
export interface RedisPrefixResourceProperties {
  readonly Host: string;
  readonly Port?: number | string;
  readonly Tls?: string;
  readonly AuthSecretArn?: string;
  readonly KeyPrefix: string;
}

/** Attributes of `Custom::StagingRedisPrefix`. */
export class RedisPrefixAttributes {
  public static readonly KEY_PREFIX = 'KeyPrefix';
}

/** `Custom::StagingSolrCollection` (solr-collection). */
export interface SolrCollectionResourceProperties {
  readonly SolrUrl: string;
  readonly CredentialsSecretArn?: string;
  readonly RequestTimeoutSeconds?: number | string;
  readonly Collection: string;
  readonly SourceCollection?: string;
  /** `restore` or `empty`. */
  readonly Mode?: string;
  readonly ConfigSet?: string;
  readonly BackupLocation?: string;
  readonly BackupRepository?: string;
  readonly BackupName?: string;
  readonly NumShards?: number | string;
  readonly ReplicationFactor?: number | string;
}

/** Attributes of `Custom::StagingSolrCollection`. */
export class SolrCollectionAttributes {
  public static readonly COLLECTION = 'Collection';
}

/** `Custom::StagingQuota` (staging-quota). */
export interface StagingQuotaResourceProperties {
  /** The staging name, for the physical ID and the logs. */
  readonly StagingName: string;
  /** The git branch, for the message. */
  readonly Branch?: string;
}

/** Environment of the staging-quota provider, set by SharedStaging. */
export class StagingQuotaEnvironment {
  /** `SharedStagingProps.maxStagings` as a string; absent when there is no cap. */
  public static readonly MAX_STAGINGS = 'MAX_STAGINGS';
  /** The staging system's prefix: only branch stagings tagged with it count. */
  public static readonly PREFIX = 'QUOTA_PREFIX';
}

/**
 * Properties as a handler receives them: any key of the contract may be absent or of any type,
 * and nothing outside the contract can be read.
 */
export type Wire<T> = { readonly [K in keyof T]?: unknown };
