/**
 * The contract between the constructs, the custom-resource handlers and the sweeper:
 * tag keys, stack output names and SSM parameter names. This module has no imports, so handler
 * bundles can read it without pulling in aws-cdk-lib.
 */

/** Tag keys carried by every stack and resource this library creates. */
export const TagKeys = {
  /** `shared`, `feature` or `feature-lite`. The sweeper acts only on `feature` and `feature-lite`. */
  KIND: 'staging:kind',
  /** The staging name (the DNS label derived from the branch). */
  NAME: 'staging:name',
  /** The original git branch, escaped to the characters tags allow (see `encodeTagValue`). */
  BRANCH: 'staging:branch',
  /** The stack-name prefix of the staging system this resource belongs to. */
  PREFIX: 'staging:prefix',
  /** Always `cdk-multi-staging`. */
  MANAGED_BY: 'staging:managed-by',
} as const;

/** Values of the `staging:kind` tag. */
export const StagingKinds = {
  SHARED: 'shared',
  FEATURE: 'feature',
  FEATURE_LITE: 'feature-lite',
} as const;

/** The kinds that mark a stack as a per-branch staging the sweeper may destroy. */
export const FEATURE_KINDS: readonly string[] = [StagingKinds.FEATURE, StagingKinds.FEATURE_LITE];

/** Value of the `staging:managed-by` tag. */
export const MANAGED_BY_VALUE = 'cdk-multi-staging';

/** Output names of a feature staging stack that tools (the sweeper, CI) read. */
export const FeatureOutputs = {
  URL: 'StagingUrl',
  /** `targetgroup/<name>/<id>`: the CloudWatch dimension of the web target group. */
  TARGET_GROUP_FULL_NAME: 'StagingTargetGroupFullName',
  /** `app/<name>/<id>`: the CloudWatch dimension of the shared load balancer. */
  LOAD_BALANCER_FULL_NAME: 'StagingLoadBalancerFullName',
  CONSOLE_COMMAND: 'StagingConsoleCommand',
} as const;

/** SSM parameter names below the shared staging's parameter prefix (e.g. `/staging`). */
export const SharedParameterNames = {
  VPC_ID: 'shared/vpc-id',
  PRIVATE_SUBNET_IDS: 'shared/private-subnet-ids',
  AVAILABILITY_ZONES: 'shared/availability-zones',
  CLUSTER_NAME: 'shared/cluster-name',
  CLUSTER_ARN: 'shared/cluster-arn',
  LISTENER_ARN: 'shared/listener-arn',
  LOAD_BALANCER_ARN: 'shared/load-balancer-arn',
  LOAD_BALANCER_FULL_NAME: 'shared/load-balancer-full-name',
  LOAD_BALANCER_DNS_NAME: 'shared/load-balancer-dns-name',
  LOAD_BALANCER_HOSTED_ZONE_ID: 'shared/load-balancer-canonical-hosted-zone-id',
  HOSTED_ZONE_ID: 'shared/hosted-zone-id',
  HOSTED_ZONE_NAME: 'shared/hosted-zone-name',
  DOMAIN_NAME: 'shared/domain-name',
  WORKLOAD_SECURITY_GROUP_ID: 'shared/workload-security-group-id',
  DATA_SECURITY_GROUP_ID: 'shared/data-security-group-id',
  DATABASE_ENDPOINT: 'shared/database/endpoint',
  DATABASE_PORT: 'shared/database/port',
  DATABASE_NAME: 'shared/database/name',
  DATABASE_SECRET_ARN: 'shared/database/secret-arn',
  DATABASE_INSTANCE_ID: 'shared/database/instance-identifier',
  DATABASE_SUBNET_GROUP: 'shared/database/subnet-group-name',
  CACHE_ENDPOINT: 'shared/cache/endpoint',
  CACHE_PORT: 'shared/cache/port',
  CACHE_AUTH_SECRET_ARN: 'shared/cache/auth-secret-arn',
  CACHE_SUBNET_GROUP: 'shared/cache/subnet-group-name',
  SOLR_URL: 'shared/solr/url',
  SOLR_SECRET_ARN: 'shared/solr/secret-arn',
  /** `shared/providers/<provider name>/service-token` */
  PROVIDER_PREFIX: 'shared/providers',
} as const;

/** Per-branch SSM parameters the sweeper reads, below the parameter prefix. */
export const BranchParameterNames = {
  /** `pins/<staging name>`: `YYYY-MM-DD`, the staging is kept until the end of that UTC day. */
  PIN_PREFIX: 'pins',
  /** `keep-alive/<staging name>`: an ISO-8601 timestamp that counts as activity. */
  KEEP_ALIVE_PREFIX: 'keep-alive',
} as const;

/** Names of the custom-resource providers that SharedStaging hosts. */
export const ProviderNames = {
  LISTENER_PRIORITY: 'listener-priority',
  DATABASE_RESTORE: 'database-restore',
  SOLR_COLLECTION: 'solr-collection',
  RELEASE_TASK: 'release-task',
  REDIS_PREFIX: 'redis-prefix',
} as const;

/** Stream names given to containers as STAGING_STREAM, to separate exceptions and metrics. */
export const Streams = {
  PRODUCTION: 'production',
  SHARED_STAGING: 'shared-staging',
  FEATURE_STAGING: 'feature-staging',
} as const;
