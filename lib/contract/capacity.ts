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
 *
 * The slots and claims (lib/contract/branch-state.ts) say which branch holds what; the readers
 * below (registry, slots, capacity in use) are shared by the quota handler, `staging list` and the
 * stagings page.
 */
import { BranchParameter, BranchStatePaths, byStagingName } from './branch-state';

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

/**
 * Reads SSM for the capacity readers below: the quota handler's, the CLI's and the stagings page's
 * client behind two calls, so all three read the registry and the slots the same way.
 */
export interface CapacityParameterReader {
  /** The value and last write of one parameter; undefined when it does not exist. */
  get(name: string): Promise<BranchParameter | undefined>;
  /** Every parameter directly below `path`, all pages (`StagingSources.parametersBelow` of ./stagings-view.ts is one). */
  below(path: string): Promise<readonly BranchParameter[]>;
}

/** The registry from its JSON; an Error saying what is wrong with it otherwise. */
export function parseShardRegistry(json: string): ShardRegistry {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new Error('it is not JSON');
  }
  const r = value as Partial<ShardRegistry> | null;
  const whole = (n: unknown, min: number) => typeof n === 'number' && Number.isInteger(n) && n >= min;
  if (!r || !whole(r.rulesPerBranch, 1) || !whole(r.rulesPerLoadBalancer, 1) || !Array.isArray(r.shards) || r.shards.length === 0) {
    throw new Error('it needs rulesPerBranch, rulesPerLoadBalancer (whole numbers >= 1) and at least one shard');
  }
  const keys: Array<keyof ShardInfo> = ['loadBalancerArn', 'loadBalancerFullName', 'dnsName', 'canonicalHostedZoneId', 'listenerArn', 'wakerTargetGroupArn'];
  r.shards.forEach((s: Partial<ShardInfo> | null, i) => {
    const missing = s ? keys.filter((k) => typeof s[k] !== 'string' || s[k] === '') : keys;
    if (!s || s.index !== i || !whole(s.branchSlots, 0) || missing.length > 0) {
      throw new Error(`shard ${i} needs index ${i}, branchSlots (a whole number >= 0) and ${missing.length > 0 ? missing.join(', ') : 'its load balancer'}`);
    }
  });
  return r as ShardRegistry;
}

/**
 * The registry at `<parameter prefix>/capacity/shards`: undefined when it does not exist (a shared
 * stack from before shards), an Error naming the parameter when it is unreadable.
 */
export async function readShardRegistry(reader: Pick<CapacityParameterReader, 'get'>, parameterPrefix: string): Promise<ShardRegistry | undefined> {
  const name = shardRegistryParameterName(parameterPrefix);
  const parameter = await reader.get(name);
  if (parameter === undefined) return undefined;
  try {
    return parseShardRegistry(parameter.value);
  } catch (e) {
    throw new Error(`The shard registry ${name} is unreadable: ${(e as Error).message}`);
  }
}

/** A slot in use: who holds it, since when. */
export interface SlotHolder {
  readonly slot: number;
  /** The staging name in the slot's parameter. */
  readonly stagingName: string;
  /** When the slot's parameter was written, ms. */
  readonly writtenMs?: number;
}

/** The slots in use on one shard, by slot index (parameters that are no slot are left out). */
export async function readShardSlots(reader: CapacityParameterReader, parameterPrefix: string, shard: number): Promise<Map<number, SlotHolder>> {
  const folder = new BranchStatePaths(parameterPrefix).capacitySlots(shard);
  const slots = new Map<number, SlotHolder>();
  for (const [slot, p] of byStagingName(folder.root, await reader.below(folder.root))) {
    if (/^\d{1,6}$/.test(slot)) slots.set(Number(slot), { slot: Number(slot), stagingName: p.value, writtenMs: p.lastModifiedMs });
  }
  return slots;
}

/** One shard and the branch stagings on it. */
export interface ShardInUse {
  readonly shard: ShardInfo;
  readonly stagings: number;
}

/** The capacity and what of it is in use. */
export interface CapacityInUse {
  readonly registry: ShardRegistry;
  readonly shards: ShardInUse[];
  /** Branch stagings the shards hold: the sum of their branchSlots. */
  readonly total: number;
  /** Branch stagings that exist. A branch deployed before shards may be on shard 0 beyond its branchSlots. */
  readonly inUse: number;
  /** Stagings whose load balancer is not known yet: a first deploy that has no outputs yet. */
  readonly unplaced: number;
}

/**
 * The capacity in use, for `staging list` and the stagings page: each branch staging counts on the
 * shard whose load balancer its `StagingLoadBalancerFullName` output names (`loadBalancerFullNames`,
 * one per staging, from the stack listing both already read). So a view of 500 stagings reads no
 * slot: the slots (ten a call) are the quota provider's to keep, and they differ from this count
 * only while a first deploy is placing its staging or a vanished stack's slot waits to be freed.
 */
export function capacityInUse(registry: ShardRegistry, loadBalancerFullNames: ReadonlyArray<string | undefined>): CapacityInUse {
  const counts = new Map<string, number>();
  for (const name of loadBalancerFullNames) if (name) counts.set(name, (counts.get(name) ?? 0) + 1);
  const shards = registry.shards.map((shard) => ({ shard, stagings: counts.get(shard.loadBalancerFullName) ?? 0 }));
  const placed = shards.reduce((n, s) => n + s.stagings, 0);
  return { registry, shards, total: totalSlots(registry), inUse: loadBalancerFullNames.length, unplaced: loadBalancerFullNames.length - placed };
}

/** Branch stagings the registry's shards hold. */
export function totalSlots(registry: ShardRegistry): number {
  return registry.shards.reduce((n, s) => n + s.branchSlots, 0);
}

/** `12 of 291 branch slots in use (shard 0: 10 of 97, shard 1: 2 of 97, shard 2: 0 of 97)`, and how many are being placed. */
export function capacitySummary(capacity: CapacityInUse): string {
  const perShard = capacity.shards.map((s) => `shard ${s.shard.index}: ${s.stagings} of ${s.shard.branchSlots}`).join(', ');
  const placing = capacity.unplaced > 0 ? `, ${capacity.unplaced} being placed` : '';
  return `${capacity.inUse} of ${capacity.total} branch slots in use (${perShard}${placing})`;
}
