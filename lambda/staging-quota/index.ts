/**
 * Custom resource `staging-quota` (`Custom::StagingQuota`; it also serves the shared stack's
 * `Custom::StagingCapacity`, ./guard.ts): the cap on branch stagings
 * (`SharedStagingProps.maxStagings`) and the branch's place in the capacity: the load balancer
 * (shard) it is on. Every other resource of a branch stack depends on it, so its Create runs first
 * (when it fails, nothing of the branch has been created) and its Delete last.
 *
 * ResourceProperties: StagingName (required), Branch (for the message).
 * Environment: QUOTA_PREFIX and QUOTA_PARAMETER_PREFIX (required), MAX_STAGINGS (absent: no cap).
 * PhysicalResourceId: `staging-quota:<staging name>`, never changed by an Update.
 * Data (Create and Update): every key of `ShardAttributes` (lib/contract/capacity.ts), from the
 * shard registry `<parameter prefix>/capacity/shards`.
 *
 * - Create with a claim of this stack (written after the stack was created: a replay or a retry)
 *   answers its shard. A claim written before (a stack of the same name that is gone without its
 *   Delete) is released and the Create goes on as a first deploy.
 * - Create in a stack that already existed (UPDATE_IN_PROGRESS: a branch deployed before this
 *   resource or before shards), and Update without a claim, claim a slot on shard 0, where the
 *   branch's rule already is, never failing on the cap or the capacity (past shard 0's branchSlots
 *   if need be: that branch is there already). Update with a claim answers it: a branch's shard
 *   never changes while it exists.
 * - Create of a first deploy: the cap check, then a claim (./slots.ts: the lowest shard with a free
 *   slot, a random free slot on it, orphans freed when a shard looks full).
 *   - The cap: it lists every stack (DescribeStacks, all pages) and counts the branch stagings of
 *     the prefix as `staging list` finds them (tagged `staging:kind` feature|feature-lite and
 *     `staging:prefix`, named `<prefix>-<staging:name>`), leaving out the stack being deployed and
 *     stacks that hold nothing or are going away: DELETE_IN_PROGRESS, DELETE_COMPLETE, and failed
 *     first deploys (ROLLBACK_IN_PROGRESS, ROLLBACK_COMPLETE), such as a branch refused by this
 *     cap. DELETE_FAILED and ROLLBACK_FAILED still hold resources and count. It fails when the
 *     count is at the cap or above, naming the cap, the stagings and how to free one. Race: a
 *     stack exists before its own check runs, so two first deploys at once each see the other; the
 *     cap is a count of stacks (rarely passed when DescribeStacks lists a new stack late), the
 *     capacity below is exact.
 *   - The capacity: when every shard is full, it fails naming the capacity, the slots in use and
 *     how to raise it. A missing or unreadable registry fails saying to deploy the shared stack.
 * - Delete releases the slot and deletes the claim (both gone already is success).
 * - A failed AWS call fails the event (the SDK retries throttling first); a retry is safe, since a
 *   claim is found again. A slot taken by a Create that failed before its claim stays held by the
 *   staging until its stack is gone, then it is an orphan like any other.
 *
 * Calls of a first deploy (no cap, no race): GetParameter of the claim and the registry, one
 * DescribeStacks of its own stack, GetParametersByPath of each shard up to the first with room (10
 * slots a page: 10 pages a full shard), then PutParameter of the slot and the claim; past shard 0,
 * one listing of every stack (100 a page) for the orphans of the full shards. With maxStagings that
 * listing is the cap's, made once.
 */
import { CloudFormationClient, DescribeStacksCommand, paginateDescribeStacks, type Stack } from '@aws-sdk/client-cloudformation';
import { SlotRef, branchStagingOf, isBranchStaging } from '../../lib/contract/branch-state';
import { CapacityGuardResourceType, StagingQuotaEnvironment, capOf, parseProperties, physicalIdFor } from '../../lib/contract/providers/staging-quota';
import { guardEvent } from './guard';
import { ShardAttributes, ShardRegistry } from '../../lib/contract/capacity';
import { SharedStagingNames } from '../../lib/contract/naming';
import { Slots, StackListing, capacityMessage, freeSlots, shardOf } from './slots';
import { isAwsError, log, type OnEventRequest, type OnEventResponse } from '../shared/provider';
import { describeError } from '../shared/errors';
import { entry } from '../shared/entry';

/** Throttling and transient errors are retried by the SDK itself. */
export const cloudformation = new CloudFormationClient({ maxAttempts: 8, retryMode: 'adaptive' });

/** Statuses of stacks that do not count: going away, gone, or a failed first deploy rolled back (holding nothing). */
export const NOT_COUNTED_STATUSES: readonly string[] = ['DELETE_IN_PROGRESS', 'DELETE_COMPLETE', 'ROLLBACK_IN_PROGRESS', 'ROLLBACK_COMPLETE'];

/** A branch staging that counts against the cap. */
export interface CountedStaging {
  readonly stackName: string;
  readonly branch: string;
  readonly status: string;
}

/** What Create decided, and why. */
export interface QuotaDecision {
  readonly allowed: boolean;
  readonly reason: string;
  /** The other branch stagings of the prefix that count. */
  readonly counted: CountedStaging[];
}

/**
 * The decision of a Create, from the stacks that exist (pure). `stackId` is the stack being
 * deployed; `cap` undefined means no cap.
 */
export function decide(stacks: Stack[], input: { prefix: string; cap?: number; stackId: string }): QuotaDecision {
  const own = stacks.find((s) => s.StackId === input.stackId);
  const counted: CountedStaging[] = [];
  for (const s of stacks) {
    if (s.StackId === input.stackId) continue;
    const staging = branchStagingOf(s, input.prefix);
    if (!isBranchStaging(staging) || NOT_COUNTED_STATUSES.includes(s.StackStatus ?? '')) continue;
    counted.push({ stackName: staging.stackName, branch: staging.branch, status: s.StackStatus ?? 'UNKNOWN' });
  }
  counted.sort((a, b) => a.stackName.localeCompare(b.stackName));
  if (input.cap === undefined) return { allowed: true, reason: 'no cap (maxStagings is not set)', counted };
  // An update of a stack that exists (UPDATE_IN_PROGRESS): a branch deployed before it had this resource.
  if (own && /^(UPDATE|IMPORT)_/.test(own.StackStatus ?? '')) {
    return { allowed: true, reason: `the stack exists already (${own.StackStatus}): a redeploy never fails on the cap`, counted };
  }
  if (counted.length < input.cap) return { allowed: true, reason: `${counted.length} other branch staging(s), below the cap of ${input.cap}`, counted };
  return { allowed: false, reason: capMessage(input.prefix, input.cap, counted), counted };
}

function capMessage(prefix: string, cap: number, counted: CountedStaging[]): string {
  const list = counted.map((c) => `${c.branch} (${c.stackName}, ${c.status})`).join(', ');
  return (
    `The staging cap is reached: maxStagings is ${cap} and ${counted.length} branch staging(s) of prefix "${prefix}" exist: ${list}. ` +
    'Nothing of this branch was created. Free one with `npx staging list` and `npx staging destroy <branch>`, then deploy again; ' +
    'or raise maxStagings on SharedStaging (staging.maxStagings in the ready-made app) and deploy the shared stack.'
  );
}

async function allStacks(): Promise<Stack[]> {
  const stacks: Stack[] = [];
  try {
    for await (const page of paginateDescribeStacks({ client: cloudformation }, {})) stacks.push(...(page.Stacks ?? []));
  } catch (e) {
    throw new Error(`Could not count the branch stagings (cloudformation:DescribeStacks failed: ${describeError(e)}); nothing of this branch was created, deploy again`);
  }
  return stacks;
}

/** The stack being deployed. */
async function ownStack(stackId: string): Promise<Stack | undefined> {
  try {
    return (await cloudformation.send(new DescribeStacksCommand({ StackName: stackId }))).Stacks?.[0];
  } catch (e) {
    throw new Error(`Could not read the stack being deployed (cloudformation:DescribeStacks failed: ${describeError(e)}); nothing of this branch was created, deploy again`);
  }
}

/** Statuses of a stack that holds nothing any more, so its slot is an orphan. */
const GONE_STATUSES: readonly string[] = ['DELETE_COMPLETE', 'ROLLBACK_COMPLETE'];

/** Whether the stack of `stagingName` is gone (asked by name, which finds only stacks that exist). */
async function stackGone(prefix: string, stagingName: string): Promise<boolean> {
  try {
    const stack = (await cloudformation.send(new DescribeStacksCommand({ StackName: `${prefix}-${stagingName}` }))).Stacks?.[0];
    return stack === undefined || GONE_STATUSES.includes(stack.StackStatus ?? '');
  } catch (e) {
    if (isAwsError(e, 'ValidationError') && /does not exist/.test(describeError(e))) return true;
    throw e;
  }
}

/** The staging names of the prefix whose stacks exist (listed at `listedMs`). */
export function aliveStagings(stacks: Stack[], prefix: string, listedMs: number): StackListing {
  const alive = new Set<string>();
  for (const s of stacks) {
    const staging = branchStagingOf(s, prefix);
    if (isBranchStaging(staging) && !GONE_STATUSES.includes(s.StackStatus ?? '')) alive.add(staging.name);
  }
  return { alive, listedMs };
}

/** Every stack, listed at most once per event: for the cap, or when a shard looks full (orphans). */
class Stacks {
  private listed?: { stacks: Stack[]; listing: StackListing };

  constructor(private readonly prefix: string) {}

  public async all(): Promise<Stack[]> {
    return (await this.list()).stacks;
  }

  public async alive(): Promise<StackListing> {
    return (await this.list()).listing;
  }

  private async list(): Promise<{ stacks: Stack[]; listing: StackListing }> {
    if (!this.listed) {
      // The time before the first page: a stack created later may be missing from the listing.
      const listedMs = Date.now();
      const stacks = await allStacks();
      this.listed = { stacks, listing: aliveStagings(stacks, this.prefix, listedMs) };
    }
    return this.listed;
  }
}

/** Whether the stack existed before this resource did: a branch deployed before the cap or the shards. */
const existedBefore = (stack: Stack | undefined) => /^(UPDATE|IMPORT)_/.test(stack?.StackStatus ?? '');

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set on the staging-quota provider; deploy the shared stack again`);
  return value;
}

function attributes(registry: ShardRegistry, ref: SlotRef, stagingName: string): Record<string, string> {
  const shard = shardOf(registry, ref, stagingName);
  return {
    [ShardAttributes.SHARD]: String(shard.index),
    [ShardAttributes.LISTENER_ARN]: shard.listenerArn,
    [ShardAttributes.LOAD_BALANCER_FULL_NAME]: shard.loadBalancerFullName,
    [ShardAttributes.LOAD_BALANCER_DNS_NAME]: shard.dnsName,
    [ShardAttributes.CANONICAL_HOSTED_ZONE_ID]: shard.canonicalHostedZoneId,
    [ShardAttributes.WAKER_TARGET_GROUP_ARN]: shard.wakerTargetGroupArn,
  };
}

/** A slot on shard 0 for a branch that is there already (deployed before shards). */
async function claimOnShardZero(slots: Slots, registry: ShardRegistry): Promise<SlotRef> {
  const shard = registry.shards[0];
  const taken = await slots.slotsOf(0);
  const ref = (await slots.takeOneOf(0, freeSlots(shard, taken))) ?? (await slots.takeLowestFrom(0, taken, shard.branchSlots));
  return slots.bind(ref);
}

/** The slot of a Create: its own claim, a legacy branch's on shard 0, or a new one within the cap and the capacity. */
async function claimForCreate(event: OnEventRequest, slots: Slots, registry: ShardRegistry, everyStack: Stacks, prefix: string): Promise<SlotRef> {
  const cap = capOf(process.env[StagingQuotaEnvironment.MAX_STAGINGS]);
  const physicalId = physicalIdFor(slots.stagingName);
  const claim = await slots.claim();
  const stacks = cap !== undefined ? await everyStack.all() : undefined;
  const own = stacks ? stacks.find((s) => s.StackId === event.StackId) : await ownStack(event.StackId);
  if (claim?.ref && (existedBefore(own) || claim.writtenMs >= (own?.CreationTime?.getTime() ?? 0))) {
    log('Create: the claim exists (a replay or a retry)', { physicalId, claim: claim.value });
    return claim.ref;
  }
  if (claim) {
    log('Create: a claim from a former stack of this name, released', { physicalId, claim: claim.value, writtenMs: claim.writtenMs });
    if (claim.ref) await slots.releaseOwn(claim.ref);
    await slots.deleteClaim();
  }
  if (existedBefore(own)) {
    const ref = await claimOnShardZero(slots, registry);
    log('Create: a branch deployed before the capacity, claimed on shard 0', { physicalId, status: own?.StackStatus, slot: ref });
    return ref;
  }
  if (stacks) {
    const decision = decide(stacks, { prefix, cap, stackId: event.StackId });
    log(decision.allowed ? 'Create: allowed by the cap' : 'Create: refused by the cap', { physicalId, branch: event.ResourceProperties.Branch, cap, counted: decision.counted.length, reason: decision.reason });
    if (!decision.allowed) throw new Error(decision.reason);
  }
  const seen = new Map<number, number>();
  const ref = await slots.takeNew(registry, seen);
  if (!ref) {
    const message = capacityMessage(registry, seen);
    log('Create: refused, the capacity is full', { physicalId, reason: message });
    throw new Error(message);
  }
  const bound = await slots.bind(ref);
  log('Create: claimed', { physicalId, slot: bound });
  return bound;
}

async function handleEvent(event: OnEventRequest): Promise<OnEventResponse> {
  if (event.ResourceType === CapacityGuardResourceType) return guardEvent(event);
  const { stagingName } = parseProperties(event.ResourceProperties);
  const physicalId = event.PhysicalResourceId ?? physicalIdFor(stagingName);
  const prefix = required(StagingQuotaEnvironment.PREFIX);
  const everyStack = new Stacks(prefix);
  const slots = new Slots(required(StagingQuotaEnvironment.PARAMETER_PREFIX), stagingName, () => everyStack.alive(), (holder) => stackGone(prefix, holder));
  if (event.RequestType === 'Delete') {
    const claim = await slots.claim();
    if (claim?.ref) await slots.releaseOwn(claim.ref);
    await slots.deleteClaim();
    log('Delete: released', { physicalId, claim: claim?.value ?? '(none)' });
    return { PhysicalResourceId: physicalId };
  }
  const registry = await slots.registry(new SharedStagingNames(prefix).stackName);
  let ref: SlotRef;
  if (event.RequestType === 'Create') {
    ref = await claimForCreate(event, slots, registry, everyStack, prefix);
  } else {
    const claim = await slots.claim();
    ref = claim?.ref ?? (await claimOnShardZero(slots, registry));
    log(claim?.ref ? 'Update: the claim exists' : 'Update: a branch deployed before the capacity, claimed on shard 0', { physicalId, slot: ref });
  }
  return { PhysicalResourceId: physicalId, Data: attributes(registry, ref, stagingName) };
}
export const onEvent = entry('staging-quota.onEvent', handleEvent);
