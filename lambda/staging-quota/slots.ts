/**
 * The capacity's slots and claims in SSM (lib/contract/branch-state.ts, lib/contract/capacity.ts):
 * taking a slot, binding it to the staging with a claim, and releasing it. The handler
 * (./index.ts) decides when; this module keeps the rules that make two deploys never hold one slot:
 *
 * - A slot is taken and a claim made only by PutParameter Overwrite=false: of two deploys that try
 *   one slot, or one claim, exactly one succeeds.
 * - A slot is deleted only by whoever first created its release record
 *   (`capacity/releases/<shard>/<slot>/<the slot's last write>`, Overwrite=false), after reading
 *   the slot again and finding it unchanged. SSM has no conditional delete; the release record
 *   makes one: of the deploys that want to free one slot as it was written (its holder's Delete,
 *   others that find it orphaned), one deletes it, and no one deletes the slot someone took after.
 */
import { DeleteParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { BranchStatePaths, SlotRef, formatSlotRef, parseSlotRef } from '../../lib/contract/branch-state';
import { CapacityParameterReader, ShardInfo, ShardRegistry, SlotHolder, readShardRegistry, readShardSlots, totalSlots } from '../../lib/contract/capacity';
import { ssmCapacityReader } from '../shared/capacity-reader';
import { isAwsError, log } from '../shared/provider';

/** Throttling (100 deploys at once) is retried by the SDK itself. */
export const ssm = new SSMClient({ maxAttempts: 10, retryMode: 'adaptive' });

/**
 * How old a slot must be, against the stack listing, before a missing stack makes it an orphan.
 * A deploy's stack exists before it takes its slot, so a slot written before the listing has its
 * stack in the listing unless that stack is gone; the margin covers DescribeStacks listing a new
 * stack late.
 */
export const ORPHAN_GRACE_MS = 5 * 60_000;

/** SSM through the contract's reader: the registry and the slots are read as `staging list` and the stagings page read them. */
export const reader: CapacityParameterReader = ssmCapacityReader(ssm);

/** Creates `name` unless it exists (Overwrite=false): true when this call created it. */
async function createOnce(name: string, value: string): Promise<boolean> {
  try {
    await ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'String', Overwrite: false }));
    return true;
  } catch (e) {
    if (isAwsError(e, 'ParameterAlreadyExists')) return false;
    throw e;
  }
}

/** Deletes `name`; one that is gone already is deleted. */
async function deleteParameter(name: string): Promise<void> {
  try {
    await ssm.send(new DeleteParameterCommand({ Name: name }));
  } catch (e) {
    if (!isAwsError(e, 'ParameterNotFound')) throw e;
  }
}

/** The staging names whose stacks exist, and when they were listed. */
export interface StackListing {
  readonly alive: ReadonlySet<string>;
  readonly listedMs: number;
}

/** A staging's claim as read: the slot, when it was written; `ref` undefined when unreadable. */
export interface Claim {
  readonly ref?: SlotRef;
  readonly value: string;
  readonly writtenMs: number;
}

/** The slots of one staging system, as one staging (`stagingName`) takes, binds and frees them. */
export class Slots {
  public readonly paths: BranchStatePaths;

  constructor(
    public readonly parameterPrefix: string,
    public readonly stagingName: string,
    /** The stacks that exist, listed once, on first need (only a full shard needs them). */
    private readonly listing: () => Promise<StackListing>,
    /** Whether the stack of a staging is gone, asked by its name: what confirms an orphan before it is freed. */
    private readonly stackGone: (stagingName: string) => Promise<boolean>,
  ) {
    this.paths = new BranchStatePaths(parameterPrefix);
  }

  /** The registry; an Error saying to deploy the shared stack when it is missing or unreadable. */
  public async registry(sharedStackName: string): Promise<ShardRegistry> {
    const fix = `deploy the shared stack (npx cdk deploy ${sharedStackName}), then this branch again; nothing of this branch was created`;
    let registry: ShardRegistry | undefined;
    try {
      registry = await readShardRegistry(reader, this.parameterPrefix);
    } catch (e) {
      throw new Error(`${(e as Error).message}; ${fix}`);
    }
    if (!registry) throw new Error(`The shard registry ${this.paths.capacity.root}/shards does not exist, so no load balancer can be chosen for this branch: ${fix}`);
    return registry;
  }

  /** This staging's claim, undefined when it has none. */
  public async claim(): Promise<Claim | undefined> {
    const p = await reader.get(this.paths.capacityClaims.of(this.stagingName));
    return p && { ref: parseSlotRef(p.value), value: p.value, writtenMs: p.lastModifiedMs ?? 0 };
  }

  /** The slots in use on `shard`. */
  public async slotsOf(shard: number): Promise<Map<number, SlotHolder>> {
    return readShardSlots(reader, this.parameterPrefix, shard);
  }

  /**
   * Takes one of `candidates` on `shard`, chosen at random so that deploys at once spread over the
   * free slots instead of all trying the lowest; a slot taken meanwhile is skipped. Undefined when
   * every candidate was taken.
   */
  public async takeOneOf(shard: number, candidates: readonly number[]): Promise<SlotRef | undefined> {
    const left = [...candidates];
    while (left.length > 0) {
      const [slot] = left.splice(Math.floor(Math.random() * left.length), 1);
      const ref = { shard, slot };
      if (await createOnce(this.paths.capacitySlot(ref), this.stagingName)) return ref;
    }
    return undefined;
  }

  /** The lowest slot from `from` upward on `shard` (past its branchSlots if need be): a branch deployed before shards is there already. */
  public async takeLowestFrom(shard: number, taken: ReadonlyMap<number, SlotHolder>, from: number): Promise<SlotRef> {
    for (let slot = from; ; slot++) {
      if (!taken.has(slot) && (await createOnce(this.paths.capacitySlot({ shard, slot }), this.stagingName))) return { shard, slot };
    }
  }

  /**
   * Binds the taken slot `ref` to this staging with its claim (Overwrite=false). When the claim
   * exists, a deploy of the same staging at once won: the slot is released and the winner's claim
   * is the answer.
   */
  public async bind(ref: SlotRef): Promise<SlotRef> {
    if (await createOnce(this.paths.capacityClaims.of(this.stagingName), formatSlotRef(ref))) return ref;
    await this.releaseOwn(ref);
    const theirs = await this.claim();
    if (!theirs?.ref) throw new Error(`A deploy of ${this.stagingName} at the same time claimed a slot and then gave it up; deploy again`);
    log('claim: a deploy of the same staging at once won, answering its slot', { stagingName: this.stagingName, mine: ref, theirs: theirs.ref });
    return theirs.ref;
  }

  /** Releases `ref` if this staging holds it (a claim's slot, or one taken but not bound). */
  public async releaseOwn(ref: SlotRef): Promise<void> {
    const holder = await reader.get(this.paths.capacitySlot(ref));
    if (holder?.value === this.stagingName) await this.release(ref, holder.value, holder.lastModifiedMs ?? 0);
  }

  /** Deletes this staging's claim. */
  public async deleteClaim(): Promise<void> {
    await deleteParameter(this.paths.capacityClaims.of(this.stagingName));
  }

  /**
   * Frees the slot `ref` as it was when `holder` wrote it at `writtenMs` (see the module comment):
   * true when it is free now (deleted here, or gone already), false when another deploy releases
   * it or it was taken again since.
   */
  public async release(ref: SlotRef, holder: string, writtenMs: number): Promise<boolean> {
    const record = this.paths.capacityRelease(ref, writtenMs);
    if (!(await createOnce(record, this.stagingName))) return false;
    const now = await reader.get(this.paths.capacitySlot(ref));
    const unchanged = now !== undefined && now.value === holder && (now.lastModifiedMs ?? 0) === writtenMs;
    if (unchanged) await deleteParameter(this.paths.capacitySlot(ref));
    await deleteParameter(record);
    return unchanged || now === undefined;
  }

  /**
   * The orphans among `slots`: held by a staging whose stack no longer exists (missing from the
   * listing, the slot older than it by the margin {@link ORPHAN_GRACE_MS}, and then confirmed by
   * the stack's name, since a listing read page by page may miss a stack), never this staging's own.
   */
  public async orphans(slots: ReadonlyMap<number, SlotHolder>): Promise<SlotHolder[]> {
    const { alive, listedMs } = await this.listing();
    const candidates = [...slots.values()].filter((h) => h.stagingName !== this.stagingName && !alive.has(h.stagingName) && (h.writtenMs ?? 0) < listedMs - ORPHAN_GRACE_MS);
    const orphans: SlotHolder[] = [];
    for (const h of candidates) if (await this.stackGone(h.stagingName)) orphans.push(h);
    return orphans;
  }

  /**
   * A new slot for a first deploy: the lowest shard with a free slot first, so that a shard added
   * to the registry (and the last ones of a capacity that was lowered) stay empty until the ones
   * before are full, a deploy reads only the shards up to the first with room, and the shards in
   * use are as few as the branches allow. A shard that looks full gets its orphans freed first, so
   * a slot whose stack is gone is reused before the next shard is opened. Undefined when every
   * shard is full: `seen` then holds how many slots each shard holds, for the message.
   */
  public async takeNew(registry: ShardRegistry, seen: Map<number, number>): Promise<SlotRef | undefined> {
    for (const shard of registry.shards) {
      const slots = await this.slotsOf(shard.index);
      const free = freeSlots(shard, slots);
      const ref = (free.length > 0 ? await this.takeOneOf(shard.index, free) : undefined) ?? (await this.takeOrphan(shard, slots));
      if (ref) return ref;
      // Every slot below branchSlots was held when read, or taken when tried: full, however stale the read.
      seen.set(shard.index, shard.branchSlots + [...slots.keys()].filter((slot) => slot >= shard.branchSlots).length);
    }
    return undefined;
  }

  private async takeOrphan(shard: ShardInfo, slots: ReadonlyMap<number, SlotHolder>): Promise<SlotRef | undefined> {
    const freed: number[] = [];
    for (const orphan of await this.orphans(slots)) {
      if (orphan.slot >= shard.branchSlots) continue;
      const ref = { shard: shard.index, slot: orphan.slot };
      if (await this.release(ref, orphan.stagingName, orphan.writtenMs ?? 0)) {
        log('claim: freed an orphaned slot (its stack is gone)', { ...ref, holder: orphan.stagingName });
        freed.push(orphan.slot);
      }
    }
    return freed.length > 0 ? this.takeOneOf(shard.index, freed) : undefined;
  }
}

/** The slots of `shard` below its branchSlots that no one holds. */
export function freeSlots(shard: ShardInfo, slots: ReadonlyMap<number, SlotHolder>): number[] {
  return Array.from({ length: shard.branchSlots }, (_, i) => i).filter((i) => !slots.has(i));
}

/** Why a first deploy is refused: the capacity, what is in use, how to raise it. */
export function capacityMessage(registry: ShardRegistry, inUse: ReadonlyMap<number, number>): string {
  const perShard = registry.shards.map((s) => `shard ${s.index}: ${inUse.get(s.index) ?? 0} of ${s.branchSlots}`).join(', ');
  const used = [...inUse.values()].reduce((a, b) => a + b, 0);
  const perLoadBalancer = Math.max(...registry.shards.map((s) => s.branchSlots));
  return (
    `The staging capacity is reached: its ${registry.shards.length} load balancer(s) hold ${totalSlots(registry)} branch stagings ` +
    `(${perShard}) and ${used} slots are in use. Nothing of this branch was created. ` +
    `Raise maxBranches on SharedStaging (staging.maxBranches in the ready-made app) and deploy the shared stack: each more load balancer holds up to ${perLoadBalancer} branches ` +
    `(${registry.rulesPerBranch} listener rules each, of ${registry.rulesPerLoadBalancer} rules per load balancer) and costs about $24 a month. ` +
    `With a higher quota of "Rules per Application Load Balancer" (Service Quotas), set rulesPerLoadBalancer to it and each holds more, up to its 100 target groups. ` +
    'Or free one with `npx staging list` and `npx staging destroy <branch>`.'
  );
}

/** What `Custom::StagingQuota` answers for the shard `shard`. */
export function shardOf(registry: ShardRegistry, ref: SlotRef, stagingName: string): ShardInfo {
  const shard = registry.shards[ref.shard];
  if (!shard) {
    throw new Error(
      `${stagingName} holds slot ${formatSlotRef(ref)}, on shard ${ref.shard}, which the shard registry no longer lists (it has ${registry.shards.length}): ` +
      'a capacity was lowered below a shard in use. Raise maxBranches on SharedStaging again and deploy the shared stack, or destroy this branch.',
    );
  }
  return shard;
}
