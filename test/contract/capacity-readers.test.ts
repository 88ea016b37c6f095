import { BranchParameter, BranchStatePaths, formatSlotRef, parseSlotRef } from '../../lib/contract/branch-state';
import { CapacityParameterReader, ShardInfo, ShardRegistry, capacityInUse, capacitySummary, parseShardRegistry, readShardRegistry, readShardSlots, totalSlots } from '../../lib/contract/capacity';

function shard(index: number, branchSlots: number): ShardInfo {
  return {
    index,
    branchSlots,
    loadBalancerArn: `arn:lb/${index}`,
    loadBalancerFullName: `app/lb-${index}/0`,
    dnsName: `lb-${index}.example.com`,
    canonicalHostedZoneId: 'Z1',
    listenerArn: `arn:listener/${index}`,
    wakerTargetGroupArn: `arn:waker/${index}`,
  };
}

const REGISTRY: ShardRegistry = { rulesPerBranch: 1, rulesPerLoadBalancer: 100, shards: [shard(0, 96), shard(1, 100)] };

/** A reader over a plain map of parameters (the readers' only access to SSM). */
function readerOf(parameters: Record<string, string>): CapacityParameterReader {
  const all: BranchParameter[] = Object.entries(parameters).map(([name, value]) => ({ name, value, lastModifiedMs: 1000 }));
  return {
    get: async (name) => all.find((p) => p.name === name),
    below: async (path) => all.filter((p) => p.name.startsWith(`${path}/`)),
  };
}

describe('capacity paths and claims (lib/contract/branch-state.ts)', () => {
  const paths = new BranchStatePaths('/staging/');

  test('slots, claims and release records live below <parameter prefix>/capacity/', () => {
    expect(paths.capacity.root).toBe('/staging/capacity');
    expect(paths.capacity.below).toBe('/staging/capacity/*');
    expect(paths.capacityClaims.of('feature-x-1234abcd')).toBe('/staging/capacity/claims/feature-x-1234abcd');
    expect(paths.capacitySlots(2).root).toBe('/staging/capacity/slots/2');
    expect(paths.capacitySlot({ shard: 2, slot: 41 })).toBe('/staging/capacity/slots/2/41');
    expect(paths.capacityRelease({ shard: 2, slot: 41 }, 1796558400000)).toBe('/staging/capacity/releases/2/41/1796558400000');
    // What the quota provider may write: never the registry.
    expect(paths.capacityRecords()).toEqual(['/staging/capacity/slots/*', '/staging/capacity/claims/*', '/staging/capacity/releases/*']);
  });

  test('a claim is <shard>/<slot>; anything else is unreadable', () => {
    expect(formatSlotRef({ shard: 3, slot: 7 })).toBe('3/7');
    expect(parseSlotRef('3/7')).toEqual({ shard: 3, slot: 7 });
    expect(parseSlotRef(' 0/95 ')).toEqual({ shard: 0, slot: 95 });
    for (const bad of ['', '3', '3/', '/7', 'a/b', '3/7/1', '-1/2', '1.5/2']) expect(parseSlotRef(bad)).toBeUndefined();
  });
});

describe('the registry', () => {
  test('parses a well-formed registry', () => {
    expect(parseShardRegistry(JSON.stringify(REGISTRY))).toEqual(REGISTRY);
    expect(totalSlots(REGISTRY)).toBe(196);
  });

  test.each([
    ['not json', 'it is not JSON'],
    ['null', 'it needs rulesPerBranch'],
    [JSON.stringify({ ...REGISTRY, shards: [] }), 'at least one shard'],
    [JSON.stringify({ ...REGISTRY, rulesPerBranch: 0 }), 'whole numbers >= 1'],
    [JSON.stringify({ ...REGISTRY, shards: [shard(1, 96)] }), 'shard 0 needs index 0'],
    [JSON.stringify({ ...REGISTRY, shards: [{ ...shard(0, 96), listenerArn: '' }] }), 'shard 0 needs index 0, branchSlots (a whole number >= 0) and listenerArn'],
    [JSON.stringify({ ...REGISTRY, shards: [shard(0, -1)] }), 'shard 0 needs index 0, branchSlots'],
  ])('%s is refused: %s', (json, message) => {
    expect(() => parseShardRegistry(json)).toThrow(message);
  });

  test('readShardRegistry: undefined when missing (a shared stack from before shards), an error naming the parameter when unreadable', async () => {
    await expect(readShardRegistry(readerOf({}), '/staging')).resolves.toBeUndefined();
    await expect(readShardRegistry(readerOf({ '/staging/capacity/shards': JSON.stringify(REGISTRY) }), '/staging')).resolves.toEqual(REGISTRY);
    await expect(readShardRegistry(readerOf({ '/staging/capacity/shards': '{' }), '/staging')).rejects.toThrow('The shard registry /staging/capacity/shards is unreadable: it is not JSON');
  });
});

describe('the slots of a shard (the quota provider, the capacity guard)', () => {
  test('readShardSlots lists the slots in use, ignoring parameters that are no slot', async () => {
    const slots = await readShardSlots(
      readerOf({
        '/staging/capacity/slots/0/0': 'a',
        '/staging/capacity/slots/0/95': 'b',
        '/staging/capacity/slots/0/x': 'not a slot',
        '/staging/capacity/slots/0/1/deeper': 'not a slot',
        '/staging/capacity/slots/1/3': 'c',
        '/staging/capacity/claims/a': '0/0',
      }),
      '/staging',
      0,
    );
    expect([...slots.values()]).toEqual([
      { slot: 0, stagingName: 'a', writtenMs: 1000 },
      { slot: 95, stagingName: 'b', writtenMs: 1000 },
    ]);
  });
});

describe('the capacity in use (staging list, the stagings page)', () => {
  const lb = (i: number) => REGISTRY.shards[i].loadBalancerFullName;

  test('counts each staging on the shard its load balancer output names', () => {
    const capacity = capacityInUse(REGISTRY, [lb(0), lb(1), lb(0)]);
    expect(capacity.shards.map((s) => s.stagings)).toEqual([2, 1]);
    expect(capacity).toMatchObject({ inUse: 3, total: 196, unplaced: 0 });
    expect(capacitySummary(capacity)).toBe('3 of 196 branch slots in use (shard 0: 2 of 96, shard 1: 1 of 100)');
  });

  test('a staging without the output yet (its first deploy is running) counts in the total, not on a shard', () => {
    const capacity = capacityInUse(REGISTRY, [lb(1), undefined, 'app/another-balancer/0123']);
    expect(capacity.shards.map((s) => s.stagings)).toEqual([0, 1]);
    expect(capacitySummary(capacity)).toBe('3 of 196 branch slots in use (shard 0: 0 of 96, shard 1: 1 of 100, 2 being placed)');
  });
});
