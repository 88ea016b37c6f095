/**
 * The contract between the constructs, the custom-resource handlers and the sweeper:
 * tag keys, stack output names and the shared SSM parameter names (the per-branch ones, with
 * their formats, are lib/contract/branch-state.ts). This module has no imports, so handler
 * bundles can read it without pulling in aws-cdk-lib.
 */

/** Tag keys carried by every stack and resource this library creates. */
export class TagKeys {
  /** `shared`, `feature` or `feature-lite`. The sweeper acts only on `feature` and `feature-lite`. */
  public static readonly KIND = 'staging:kind';
  /** The staging name (the DNS label derived from the branch). */
  public static readonly NAME = 'staging:name';
  /** The original git branch, escaped to the characters tags allow (see `encodeTagValue`). */
  public static readonly BRANCH = 'staging:branch';
  /** The stack-name prefix of the staging system this resource belongs to. */
  public static readonly PREFIX = 'staging:prefix';
  /** Always `cdk-multi-staging`. */
  public static readonly MANAGED_BY = 'staging:managed-by';
  /**
   * On the function behind a provider's service token: the provider's name. The sweeper's
   * deletion role may invoke only functions that carry it (custom-resource deletes), never the
   * sweeper, the sleeper or any other function.
   */
  public static readonly PROVIDER = 'staging:provider';
}

/** Values of the `staging:kind` tag. */
export class StagingKinds {
  public static readonly SHARED = 'shared';
  public static readonly FEATURE = 'feature';
  public static readonly FEATURE_LITE = 'feature-lite';
}

/** The kinds that mark a stack as a per-branch staging the sweeper may destroy. */
export const FEATURE_KINDS: readonly string[] = [StagingKinds.FEATURE, StagingKinds.FEATURE_LITE];

/** Value of the `staging:managed-by` tag. */
export const MANAGED_BY_VALUE = 'cdk-multi-staging';

/** Output names of a feature staging stack that tools (the sweeper, CI) read. */
export class FeatureOutputs {
  public static readonly URL = 'StagingUrl';
  /** `targetgroup/<name>/<id>`: the CloudWatch dimension of the web target group. */
  public static readonly TARGET_GROUP_FULL_NAME = 'StagingTargetGroupFullName';
  /** `app/<name>/<id>`: the CloudWatch dimension of the shared load balancer. */
  public static readonly LOAD_BALANCER_FULL_NAME = 'StagingLoadBalancerFullName';
  public static readonly CONSOLE_COMMAND = 'StagingConsoleCommand';
  /**
   * `$1.57/day awake, $0.95/day asleep (eu-west-1, prices as of 2026-09-29)`: the stack's own
   * resources at on-demand prices, priced at synthesis (the `staging cost` model), followed by
   * `; no price for X in Y` for anything it could not price.
   */
  public static readonly COST_PER_DAY = 'StagingCostPerDay';
  /** The git commit the stack was last deployed from (`BranchStagingStackProps.commit`); absent when not given. */
  public static readonly COMMIT = 'StagingCommit';
  /** The pull request the stack was last deployed for, a number or its URL (`BranchStagingStackProps.pullRequest`); absent when not given. */
  public static readonly PULL_REQUEST = 'StagingPullRequest';
  /** The image the stack was last deployed with (`BranchStagingStackProps.image`); absent when not given. */
  public static readonly IMAGE = 'StagingImage';
}

/** Output names of the shared stack that tools (the `staging` CLI) read. */
export class SharedStackOutputs {
  /** The cdk-multi-staging version that last deployed the shared stack (`staging doctor` compares it with the installed one). */
  public static readonly LIBRARY_VERSION = 'SharedStagingLibraryVersion';
  /** How many branch stagings the shared staging's load balancers hold (`SharedStaging.capacity`), for `staging list` and the stagings page. */
  public static readonly CAPACITY = 'SharedStagingCapacity';
  /** How many load balancers (shards) hold them (`SharedStaging.shardCount`), for `staging cost`. */
  public static readonly SHARD_COUNT = 'SharedStagingShardCount';
  /** `https://stagings.<domain>`: the stagings page (absent when it is off, or the stack predates it). */
  public static readonly STAGINGS_PAGE_URL = 'StagingsPageUrl';
}

/** SSM parameter names below the shared staging's parameter prefix (e.g. `/staging`). */
export class SharedParameterNames {
  public static readonly VPC_ID = 'shared/vpc-id';
  public static readonly PRIVATE_SUBNET_IDS = 'shared/private-subnet-ids';
  public static readonly AVAILABILITY_ZONES = 'shared/availability-zones';
  public static readonly CLUSTER_NAME = 'shared/cluster-name';
  public static readonly CLUSTER_ARN = 'shared/cluster-arn';
  public static readonly LISTENER_ARN = 'shared/listener-arn';
  public static readonly LOAD_BALANCER_ARN = 'shared/load-balancer-arn';
  public static readonly LOAD_BALANCER_FULL_NAME = 'shared/load-balancer-full-name';
  public static readonly LOAD_BALANCER_DNS_NAME = 'shared/load-balancer-dns-name';
  public static readonly LOAD_BALANCER_HOSTED_ZONE_ID = 'shared/load-balancer-canonical-hosted-zone-id';
  public static readonly HOSTED_ZONE_ID = 'shared/hosted-zone-id';
  public static readonly HOSTED_ZONE_NAME = 'shared/hosted-zone-name';
  public static readonly DOMAIN_NAME = 'shared/domain-name';
  public static readonly WORKLOAD_SECURITY_GROUP_ID = 'shared/workload-security-group-id';
  public static readonly DATA_SECURITY_GROUP_ID = 'shared/data-security-group-id';
  public static readonly DATABASE_ENDPOINT = 'shared/database/endpoint';
  public static readonly DATABASE_PORT = 'shared/database/port';
  public static readonly DATABASE_NAME = 'shared/database/name';
  public static readonly DATABASE_SECRET_ARN = 'shared/database/secret-arn';
  public static readonly DATABASE_INSTANCE_ID = 'shared/database/instance-identifier';
  public static readonly DATABASE_SUBNET_GROUP = 'shared/database/subnet-group-name';
  public static readonly CACHE_ENDPOINT = 'shared/cache/endpoint';
  public static readonly CACHE_PORT = 'shared/cache/port';
  public static readonly CACHE_AUTH_SECRET_ARN = 'shared/cache/auth-secret-arn';
  public static readonly CACHE_SUBNET_GROUP = 'shared/cache/subnet-group-name';
  public static readonly SOLR_URL = 'shared/solr/url';
  public static readonly SOLR_SECRET_ARN = 'shared/solr/secret-arn';
  /** ARN of the waker's Lambda target group; branch rules forward to it (weight 0 while awake). */
  public static readonly WAKER_TARGET_GROUP_ARN = 'shared/waker/target-group-arn';
  /** `shared/providers/<provider name>/service-token` */
  public static readonly PROVIDER_PREFIX = 'shared/providers';
}

/** Names of the custom-resource providers that SharedStaging hosts. */
export class ProviderNames {
  public static readonly LISTENER_PRIORITY = 'listener-priority';
  public static readonly DATABASE_RESTORE = 'database-restore';
  public static readonly SOLR_COLLECTION = 'solr-collection';
  public static readonly RELEASE_TASK = 'release-task';
  public static readonly REDIS_PREFIX = 'redis-prefix';
  public static readonly DATABASE_TEMPLATE = 'database-template';
  public static readonly WAKER = 'waker';
  /** Counts the branch stagings when a branch is first deployed, against `SharedStagingProps.maxStagings`. */
  public static readonly STAGING_QUOTA = 'staging-quota';
}

/** Stream names given to containers as STAGING_STREAM, to separate exceptions and metrics. */
export class Streams {
  public static readonly PRODUCTION = 'production';
  public static readonly SHARED_STAGING = 'shared-staging';
  public static readonly FEATURE_STAGING = 'feature-staging';
}
