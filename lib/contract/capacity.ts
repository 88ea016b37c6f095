/**
 * The contract of the shared staging's capacity: how many branch stagings its load balancers hold,
 * and which load balancer (shard) each branch staging is on.
 *
 * - SharedStaging builds `shards` load balancers (shard 0 is the one that also serves the shared
 *   app, the waker and the stagings page). Each has its own HTTPS listener and waker target group;
 *   all share the wildcard certificate, the security group and the access logs bucket.
 * - SharedStaging publishes the shards at `<parameter prefix>/capacity/shards` (a JSON
 *   `ShardRegistry`). Adding a shard is a deploy of the shared stack only.
 * - A branch's `Custom::StagingQuota` claims a slot on a shard on Create (a registry, never a hash,
 *   so a branch never moves when shards are added), answers the shard's load balancer as its
 *   attributes (`ShardAttributes`), and frees the slot on Delete. Everything else of the branch
 *   stack depends on it, so the Create runs first and the Delete last.
 */

/** Target groups per Application Load Balancer: the AWS quota, which cannot be raised. */
export const TARGET_GROUPS_PER_LOAD_BALANCER = 100;

/** Listener rules per Application Load Balancer: the AWS default quota (it can be raised). */
export const DEFAULT_RULES_PER_LOAD_BALANCER = 100;

/** One load balancer of the shared staging, as branch stagings and tools see it. */
export interface ShardInfo {
  /** 0, 1, 2, ...: the position in `ShardRegistry.shards`. */
  readonly index: number;
  readonly loadBalancerArn: string;
  /** `app/<name>/<id>`, the CloudWatch dimension. */
  readonly loadBalancerFullName: string;
  readonly dnsName: string;
  readonly canonicalHostedZoneId: string;
  /** The HTTPS listener that gets the branches' rules. */
  readonly listenerArn: string;
  /** The waker's target group on this load balancer: where a sleeping branch's rule forwards. */
  readonly wakerTargetGroupArn: string;
  /** How many branch stagings this shard holds (its target groups and rules, after the shared ones). */
  readonly branchSlots: number;
}

/** The JSON value of `<parameter prefix>/capacity/shards`. */
export interface ShardRegistry {
  /** Listener rules each branch host takes (`SharedStaging.rulesPerBranch`). */
  readonly rulesPerBranch: number;
  /** The rule quota the shards were sized for (`SharedStagingProps.rulesPerLoadBalancer`). */
  readonly rulesPerLoadBalancer: number;
  readonly shards: ShardInfo[];
}

/** `<parameter prefix>/capacity/shards`. */
export function shardRegistryParameterName(parameterPrefix: string): string {
  return `${parameterPrefix.replace(/\/+$/, '')}/capacity/shards`;
}

/** Attributes (`Data`) of `Custom::StagingQuota`: the shard the branch staging is on. */
export const ShardAttributes = {
  SHARD: 'Shard',
  LISTENER_ARN: 'ListenerArn',
  LOAD_BALANCER_FULL_NAME: 'LoadBalancerFullName',
  LOAD_BALANCER_DNS_NAME: 'LoadBalancerDnsName',
  CANONICAL_HOSTED_ZONE_ID: 'CanonicalHostedZoneId',
  WAKER_TARGET_GROUP_ARN: 'WakerTargetGroupArn',
} as const;
