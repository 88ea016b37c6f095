/**
 * The capacity at scale (issue 23's simulation): the real staging-quota handler over the in-memory
 * SSM and CloudFormation of ./staging-quota-fake.ts, every call of every deploy yielding to a
 * fast-check scheduler, so the calls of 100 concurrent deploys interleave in any order.
 *
 * A scenario: 500 creates in five waves of 100 at once; in the waves after the first, deletes of
 * earlier branches (their quota Delete runs), stacks that vanish without their Delete (orphans),
 * re-creates of deleted branches, Updates and retried Creates of live ones, all concurrent with the
 * creates; the registry starts with 3 load balancers (96 + 100 + 100 slots) and gets 3 more in the
 * middle of the third wave. Properties: every create gets a slot (the capacity has room), no shard
 * ever holds more than its branchSlots, no slot is given to two live branches, a freed slot is
 * reused, a branch's shard never changes while it exists.
 *
 * Past the capacity, a small world (2 load balancers of 12) run many times: 20 deploys, then hours
 * later orphans and deletes while 24 more deploy at once. Each is served or refused with every
 * shard counted full, and a refusal leaves no slot to a vanished stack.
 */
import type { Stack } from '@aws-sdk/client-cloudformation';
import fc from 'fast-check';
import { onEvent } from '../../lambda/staging-quota';
import type { OnEventRequest, OnEventResponse } from '../../lambda/shared/provider';
import { BranchStatePaths } from '../../lib/contract/branch-state';
import { ShardAttributes, ShardInfo, ShardRegistry, shardRegistryParameterName } from '../../lib/contract/capacity';
import { ResourceTypes, StagingQuotaEnvironment } from '../../lib/contract/providers';
import { StagingKinds, TagKeys } from '../../lib/contract/staging';
import { FakeAws } from './staging-quota-fake';

const PREFIX = 'staging';
const PARAMETER_PREFIX = '/staging';
const paths = new BranchStatePaths(PARAMETER_PREFIX);
const WAVES = 5;
const PER_WAVE = 100;

const aws = new FakeAws();

/** The load balancers of the main scenario: shard 0 also carries the shared app's, the waker's and the stagings page's target groups. */
const REAL_SIZES = (index: number) => (index === 0 ? 96 : 100);

function shard(index: number, size: (index: number) => number): ShardInfo {
  const lb = `app/staging-${index}/${String(index).padStart(16, '0')}`;
  return {
    index,
    loadBalancerArn: `arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/${lb}`,
    loadBalancerFullName: lb,
    dnsName: `staging-${index}.eu-west-1.elb.amazonaws.com`,
    canonicalHostedZoneId: 'Z32O12XQLNTSW2',
    listenerArn: `arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/${lb}/0`,
    wakerTargetGroupArn: `arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/waker-${index}/0`,
    branchSlots: size(index),
  };
}

const registry = (shards: number, size: (index: number) => number): ShardRegistry => ({
  rulesPerBranch: 1,
  rulesPerLoadBalancer: 100,
  shards: Array.from({ length: shards }, (_, i) => shard(i, size)),
});

/** What happens to earlier branches in a wave (fractions of the live ones, drawn per scenario). */
interface Scenario {
  /** Seeds the handler's random choice among free slots. */
  readonly seed: number;
  /** Per wave after the first: how many live branches are deleted, orphaned, updated, retried; how many deleted ones come back. */
  readonly deletes: number;
  readonly orphans: number;
  readonly updates: number;
  readonly recreates: number;
}

const scenarios = fc.record({
  seed: fc.integer(),
  deletes: fc.integer({ min: 10, max: 30 }),
  orphans: fc.integer({ min: 2, max: 8 }),
  updates: fc.integer({ min: 5, max: 20 }),
  recreates: fc.integer({ min: 5, max: 15 }),
});

/** mulberry32: the handler's Math.random, reproducible from the scenario's seed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function stackOf(name: string, status: string, createdMs: number): Stack {
  return {
    StackName: `${PREFIX}-${name}`,
    StackId: `arn:aws:cloudformation:eu-west-1:123456789012:stack/${PREFIX}-${name}/${createdMs}`,
    StackStatus: status,
    CreationTime: new Date(createdMs),
    Tags: [
      { Key: TagKeys.KIND, Value: StagingKinds.FEATURE },
      { Key: TagKeys.NAME, Value: name },
      { Key: TagKeys.BRANCH, Value: name },
      { Key: TagKeys.PREFIX, Value: PREFIX },
    ],
  } as Stack;
}

/** The world: stacks, and what the handler answered each live branch. */
class World {
  public clock = Date.parse('2026-12-07T12:00:00Z');
  /** Creates refused past the capacity (counted as full on every shard). */
  public refused = 0;
  /** Live branches (answered, not deleted): their slot `<shard>/<slot>`. */
  public readonly live = new Map<string, string>();
  /** Every slot a branch was answered, with the branch: to see reuse. */
  public readonly holders = new Map<string, string[]>();
  public readonly problems: string[] = [];
  /** Branches whose stacks vanished without their Delete (and have not come back). */
  public readonly orphaned = new Set<string>();
  public readonly everOrphaned = new Set<string>();
  public createCalls = 0;

  private readonly stacks = new Map<string, Stack>();

  constructor(
    /** Slots of each load balancer. */
    private readonly size: (index: number) => number,
    /** Load balancers in the registry. */
    public shards: number,
    /** How many load balancers `addShards` makes it. */
    private readonly grownTo: number,
  ) {}

  public get capacity(): number {
    return Array.from({ length: this.shards }, (_, i) => this.size(i)).reduce((a, b) => a + b, 0);
  }

  public registry(): ShardRegistry {
    return registry(this.shards, this.size);
  }

  public publish(): void {
    aws.stacks = [...this.stacks.values()];
  }

  private event(type: OnEventRequest['RequestType'], name: string): OnEventRequest {
    return {
      RequestType: type,
      StackId: this.stacks.get(name)!.StackId!,
      RequestId: `${type}-${name}`,
      LogicalResourceId: 'Quota',
      ResourceType: ResourceTypes.STAGING_QUOTA,
      ResourceProperties: { StagingName: name },
      ...(type === 'Create' ? {} : { PhysicalResourceId: `staging-quota:${name}` }),
    };
  }

  private slotOf(answer: OnEventResponse, name: string): string {
    const data = answer.Data as Record<string, string>;
    const claim = aws.parameters.get(paths.capacityClaims.of(name))?.value ?? '(no claim)';
    if (data[ShardAttributes.SHARD] !== claim.split('/')[0]) this.problems.push(`${name}: answered shard ${data[ShardAttributes.SHARD]} but claims ${claim}`);
    return claim;
  }

  /** The first deploy of `name`: its stack exists, then its quota resource is created. */
  public async create(name: string): Promise<void> {
    this.orphaned.delete(name);
    this.stacks.set(name, stackOf(name, 'CREATE_IN_PROGRESS', this.clock));
    this.publish();
    this.createCalls++;
    try {
      const slot = this.slotOf(await onEvent(this.event('Create', name)), name);
      const [shardIndex, slotIndex] = slot.split('/').map(Number);
      if (slotIndex >= this.size(shardIndex)) this.problems.push(`${name} got slot ${slot}, past shard ${shardIndex}'s branchSlots`);
      const twice = [...this.live].find(([other, s]) => s === slot && other !== name);
      if (twice) this.problems.push(`slot ${slot} given to ${name} while ${twice[0]} holds it`);
      this.live.set(name, slot);
      this.holders.set(slot, [...(this.holders.get(slot) ?? []), name]);
      this.stacks.set(name, stackOf(name, 'CREATE_COMPLETE', this.stacks.get(name)!.CreationTime!.getTime()));
    } catch (e) {
      const message = (e as Error).message;
      const full = this.registry().shards.map((s) => `shard ${s.index}: ${s.branchSlots} of ${s.branchSlots}`).join(', ');
      if (message.includes(`hold ${this.capacity} branch stagings (${full})`)) this.refused++;
      else this.problems.push(`${name}: Create failed: ${message.slice(0, 300)}`);
      this.stacks.delete(name);
    }
    this.publish();
  }

  /** An Update, or a retried Create, of a live branch: the same slot. */
  public async again(name: string, type: 'Create' | 'Update'): Promise<void> {
    const before = this.live.get(name);
    const slot = this.slotOf(await onEvent(this.event(type, name)), name);
    if (slot !== before) this.problems.push(`${name}: ${type} moved it from ${before} to ${slot}`);
  }

  /** `staging destroy`: the stack goes away, its quota resource last. */
  public async destroy(name: string): Promise<void> {
    this.live.delete(name);
    const s = this.stacks.get(name)!;
    this.stacks.set(name, { ...s, StackStatus: 'DELETE_IN_PROGRESS' });
    this.publish();
    await onEvent(this.event('Delete', name));
    this.stacks.delete(name);
    this.publish();
  }

  /** A stack gone without its quota Delete (deleted retaining it, say): its slot is an orphan. */
  public orphan(name: string): void {
    this.live.delete(name);
    this.orphaned.add(name);
    this.everOrphaned.add(name);
    this.stacks.delete(name);
    this.publish();
  }

  public async addShards(): Promise<void> {
    this.shards = this.grownTo;
    aws.put(shardRegistryParameterName(PARAMETER_PREFIX), JSON.stringify(this.registry()), true);
  }

  /** Every check that holds whatever the order: run after each wave. */
  public check(): void {
    const perShard = new Map<number, number>();
    for (const slot of this.live.values()) perShard.set(Number(slot.split('/')[0]), (perShard.get(Number(slot.split('/')[0])) ?? 0) + 1);
    for (const [index, n] of perShard) if (n > this.size(index)) this.problems.push(`shard ${index} holds ${n} branches`);
    const slots = aws.valuesBelow(`${PARAMETER_PREFIX}/capacity/slots`);
    for (const [name, slot] of this.live) {
      const [shardIndex, slotIndex] = slot.split('/').map(Number);
      if (slots.get(paths.capacitySlot({ shard: shardIndex, slot: slotIndex })) !== name) this.problems.push(`${name}'s slot ${slot} holds ${slots.get(paths.capacitySlot({ shard: shardIndex, slot: slotIndex }))}`);
    }
    const perShardStored = new Map<string, number>();
    for (const n of slots.keys()) perShardStored.set(n.split('/').at(-2)!, (perShardStored.get(n.split('/').at(-2)!) ?? 0) + 1);
    for (const [index, n] of perShardStored) if (n > this.size(Number(index))) this.problems.push(`shard ${index} has ${n} slot parameters`);
  }
}

/** Picks `n` of `from` with the scenario's random. */
function pick<T>(from: T[], n: number, random: () => number): T[] {
  const left = [...from];
  return Array.from({ length: Math.min(n, left.length) }, () => left.splice(Math.floor(random() * left.length), 1)[0]);
}

/** A fresh world whose every SSM and CloudFormation call first yields to `s`. */
function start(s: fc.Scheduler, world: World, seed: number): World {
  aws.clear();
  aws.now = () => world.clock;
  jest.spyOn(Date, 'now').mockImplementation(() => world.clock);
  jest.spyOn(Math, 'random').mockImplementation(seeded(seed));
  aws.put(shardRegistryParameterName(PARAMETER_PREFIX), JSON.stringify(world.registry()));
  // Each call takes a second: a slot left by a vanished stack is an orphan a few hundred calls later.
  aws.beforeEachCall = async () => {
    await s.schedule(Promise.resolve());
    world.clock += 1000;
  };
  return world;
}

async function run(s: fc.Scheduler, scenario: Scenario): Promise<World> {
  const world = start(s, new World(REAL_SIZES, 3, 6), scenario.seed);
  const scenarioRandom = seeded(scenario.seed ^ 0x5bd1e995);
  const deleted: string[] = [];
  let next = 0;
  for (let wave = 0; wave < WAVES; wave++) {
    const tasks: Array<Promise<void>> = [];
    const live = [...world.live.keys()];
    // Branches deleted in earlier waves (never one whose Delete runs in this wave) come back.
    const comeBack = wave > 1 ? pick(deleted.filter((n) => !world.live.has(n)), scenario.recreates, scenarioRandom) : [];
    for (const name of comeBack) deleted.splice(deleted.indexOf(name), 1);
    if (wave > 0) {
      const gone = pick(live, scenario.deletes, scenarioRandom);
      const again = pick(live.filter((n) => !gone.includes(n)), scenario.updates, scenarioRandom);
      const orphaned = pick(live.filter((n) => !gone.includes(n) && !again.includes(n)), scenario.orphans, scenarioRandom);
      for (const name of orphaned) world.orphan(name);
      tasks.push(...gone.map((name) => world.destroy(name)));
      tasks.push(...again.map((name, i) => world.again(name, i % 2 === 0 ? 'Update' : 'Create')));
      deleted.push(...gone, ...orphaned);
    }
    const names = [...comeBack, ...Array.from({ length: PER_WAVE - comeBack.length }, () => `branch-${next++}`)];
    tasks.push(...names.map((name) => world.create(name)));
    if (wave === 2) tasks.push(s.schedule(Promise.resolve()).then(() => world.addShards()));
    await s.waitFor(Promise.all(tasks));
    world.check();
  }
  return world;
}

describe('the capacity at scale: 500 creates, 100 at once, over a faithful SSM', () => {
  beforeAll(() => {
    process.env[StagingQuotaEnvironment.PREFIX] = PREFIX;
    process.env[StagingQuotaEnvironment.PARAMETER_PREFIX] = PARAMETER_PREFIX;
    delete process.env[StagingQuotaEnvironment.MAX_STAGINGS];
    jest.spyOn(console, 'log').mockImplementation(() => {});
    jest.spyOn(console, 'error').mockImplementation(() => {});
  });
  afterAll(() => {
    aws.restore();
    jest.restoreAllMocks();
    delete process.env[StagingQuotaEnvironment.PREFIX];
    delete process.env[StagingQuotaEnvironment.PARAMETER_PREFIX];
  });

  test('no shard overfilled, no slot given twice, freed slots reused, no branch moved, every create and re-create served', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), scenarios, async (s, scenario) => {
        const world = await run(s, scenario);
        expect(world.problems).toEqual([]);
        expect(world.createCalls).toBe(WAVES * PER_WAVE);
        // A freed slot is reused: slots that served two branches, one after the other; orphans' slots too.
        const reused = [...world.holders.values()].filter((h) => h.length > 1);
        expect(reused.length).toBeGreaterThan(0);
        expect(reused.filter((h) => h.slice(0, -1).some((name) => world.everOrphaned.has(name))).length).toBeGreaterThan(0);
        // The shards added in the middle took branches (the first three could not hold them all).
        const shardsUsed = new Set([...world.live.values()].map((slot) => slot.split('/')[0]));
        expect(shardsUsed.has('3')).toBe(true);
        // Claims of branches that are not live: only of stacks that vanished without their Delete.
        const claimed = [...aws.valuesBelow(paths.capacityClaims.root).keys()].map((n) => n.split('/').at(-1)!);
        expect(claimed.filter((n) => !world.live.has(n) && !world.orphaned.has(n))).toEqual([]);
        expect(claimed.filter((n) => world.live.has(n))).toHaveLength(world.live.size);
      }),
      { numRuns: 1 },
    );
  });

  test('past the capacity (2 load balancers of 12): full shards free their orphans, never overfill, and refuse the rest counting them full', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer(), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 6 }), async (s, seed, orphans, deletes) => {
        const world = start(s, new World(() => 12, 2, 2), seed);
        const random = seeded(seed ^ 0x5bd1e995);
        const first = Array.from({ length: 20 }, (_, i) => `first-${i}`);
        await s.waitFor(Promise.all(first.map((name) => world.create(name))));
        // Hours later: some stacks vanish without their Delete, some are destroyed while 24 more deploy at once.
        world.clock += 3600_000;
        const gone = pick(first, orphans + deletes, random);
        for (const name of gone.slice(0, orphans)) world.orphan(name);
        const second = Array.from({ length: 24 }, (_, i) => `second-${i}`);
        await s.waitFor(Promise.all([...gone.slice(orphans).map((name) => world.destroy(name)), ...second.map((name) => world.create(name))]));
        world.check();
        expect(world.problems).toEqual([]);
        // Each create is served or refused with the capacity full. The 4 free slots are always
        // served; a refusal comes only after every orphan was freed (by it or by another deploy).
        const served = second.filter((name) => world.live.has(name)).length;
        expect(served + world.refused).toBe(24);
        expect(served).toBeGreaterThanOrEqual(4);
        const heldByOrphans = [...aws.valuesBelow(`${PARAMETER_PREFIX}/capacity/slots`).values()].filter((holder) => world.orphaned.has(holder));
        expect(world.refused).toBeGreaterThan(0); // 44 deploys, at most 12 gone: more than the 24 slots
        expect(heldByOrphans).toEqual([]);
        expect(world.live.size).toBeLessThanOrEqual(24);
      }),
      { numRuns: 25 },
    );
  });
});
