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

/**
 * Target groups shard 0 holds besides the branches': the shared app's, the waker's and the
 * stagings page's (a Lambda target group).
 */
export const SHARED_TARGET_GROUPS_ON_FIRST_SHARD = 3;

/** Hosts shard 0 serves besides the branches (the shared app, the stagings page), each with `rulesPerBranch` rules. */
export const SHARED_HOSTS_ON_FIRST_SHARD = 2;

/** Target groups every other shard holds besides the branches': its waker's. It serves no host of its own. */
export const SHARED_TARGET_GROUPS_ON_OTHER_SHARDS = 1;

/**
 * The most shards one shared staging builds. Their registry (about 700 characters a shard) must
 * fit the 8 KB of an advanced SSM parameter, and each shard is a load balancer of the Region's 50.
 */
export const MAX_SHARDS = 10;

/** How many branch stagings shard `index` holds under the rule quota and the rules a branch host takes. */
export function branchSlotsOf(index: number, rulesPerBranch: number, rulesPerLoadBalancer: number): number {
  const first = index === 0;
  const targetGroups = TARGET_GROUPS_PER_LOAD_BALANCER - (first ? SHARED_TARGET_GROUPS_ON_FIRST_SHARD : SHARED_TARGET_GROUPS_ON_OTHER_SHARDS);
  const rules = rulesPerLoadBalancer - (first ? SHARED_HOSTS_ON_FIRST_SHARD * rulesPerBranch : 0);
  return Math.max(0, Math.min(targetGroups, Math.floor(rules / rulesPerBranch)));
}

/** The load balancers a capacity needs. */
export interface CapacityPlan {
  /** How many load balancers (shards). */
  readonly shards: number;
  /** Branch slots of each shard, shard 0 first. */
  readonly slots: number[];
  /** Branch stagings all shards hold together (at least the branches asked for). */
  readonly capacity: number;
}

/**
 * The fewest shards that hold `maxBranches` branch stagings (pure). `maxBranches` undefined means
 * one load balancer, as before shards existed. Throws, naming the setting and the fix, when a shard
 * could hold no branch at all (a rule quota too small for `rulesPerBranch`) or when more than
 * `MAX_SHARDS` load balancers would be needed.
 */
export function planCapacity(maxBranches: number | undefined, rulesPerBranch: number, rulesPerLoadBalancer: number): CapacityPlan {
  const first = branchSlotsOf(0, rulesPerBranch, rulesPerLoadBalancer);
  const next = branchSlotsOf(1, rulesPerBranch, rulesPerLoadBalancer);
  if (first < 1 || next < 1) {
    throw new Error(
      `rulesPerLoadBalancer ${rulesPerLoadBalancer} leaves no room for a branch that takes ${rulesPerBranch} listener rules ` +
        `(shard 0 also serves ${SHARED_HOSTS_ON_FIRST_SHARD} hosts of the shared stack); raise the rule quota in Service Quotas and set rulesPerLoadBalancer to it`,
    );
  }
  const more = maxBranches === undefined ? 0 : Math.max(0, Math.ceil((maxBranches - first) / next));
  if (more + 1 > MAX_SHARDS) {
    throw new Error(
      `maxBranches ${maxBranches} needs ${more + 1} load balancers, more than the ${MAX_SHARDS} one shared staging builds: ` +
        `at ${rulesPerBranch} listener rule(s) per branch and rulesPerLoadBalancer ${rulesPerLoadBalancer}, ${MAX_SHARDS} hold ${first + (MAX_SHARDS - 1) * next} branches. ` +
        'Lower maxBranches, or raise the rule quota (Service Quotas, "Rules per Application Load Balancer") and set rulesPerLoadBalancer to it',
    );
  }
  const slots = [first, ...Array.from({ length: more }, () => next)];
  return { shards: slots.length, slots, capacity: first + more * next };
}
