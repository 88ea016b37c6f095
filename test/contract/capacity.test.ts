import fc from 'fast-check';
import {
  DEFAULT_RULES_PER_LOAD_BALANCER,
  SHARED_HOSTS_ON_FIRST_SHARD,
  SHARED_TARGET_GROUPS_ON_OTHER_SHARDS,
  MAX_SHARDS,
  SHARED_TARGET_GROUPS_ON_FIRST_SHARD,
  TARGET_GROUPS_PER_LOAD_BALANCER,
  branchSlotsOf,
  planCapacity,
  shardRegistryParameterName,
} from '../../lib/contract/capacity';
import { shardPerMonth } from '../../lib/contract/cost/model';

describe('branchSlotsOf', () => {
  test.each([
    // [shard, rulesPerBranch, rulesPerLoadBalancer, slots]: the target groups bind at one rule, the rules from two on.
    [0, 1, 100, 97],
    [1, 1, 100, 99],
    [0, 2, 100, 48],
    [1, 2, 100, 50],
    [0, 4, 100, 23],
    [1, 4, 100, 25],
    [0, 4, 400, 97],
    [1, 4, 400, 99],
  ])('shard %i at %i rule(s) per branch and a quota of %i holds %i branches', (shard, rulesPerBranch, rules, slots) => {
    expect(branchSlotsOf(shard, rulesPerBranch, rules)).toBe(slots);
  });

  test('no shard ever holds more target groups than the quota allows', () => {
    for (const rules of [100, 200, 1000]) {
      expect(branchSlotsOf(0, 1, rules) + SHARED_TARGET_GROUPS_ON_FIRST_SHARD).toBeLessThanOrEqual(TARGET_GROUPS_PER_LOAD_BALANCER);
      expect(branchSlotsOf(1, 1, rules) + 1).toBeLessThanOrEqual(TARGET_GROUPS_PER_LOAD_BALANCER);
    }
  });
});

describe('planCapacity', () => {
  test('without maxBranches it is one load balancer, as before shards', () => {
    expect(planCapacity(undefined, 1, DEFAULT_RULES_PER_LOAD_BALANCER)).toEqual({ shards: 1, slots: [97], capacity: 97 });
  });

  test.each([
    [1, 1, [97]],
    [97, 1, [97]],
    [98, 1, [97, 99]],
    [500, 1, [97, 99, 99, 99, 99, 99]],
    [250, 2, [48, 50, 50, 50, 50, 50]],
    [100, 4, [23, 25, 25, 25, 25]],
  ])('maxBranches %i at %i rule(s) per branch: the fewest shards that hold it', (maxBranches, rulesPerBranch, slots) => {
    const plan = planCapacity(maxBranches, rulesPerBranch, DEFAULT_RULES_PER_LOAD_BALANCER);
    expect(plan.slots).toEqual(slots);
    expect(plan.capacity).toBeGreaterThanOrEqual(maxBranches);
    expect(plan.capacity - plan.slots[plan.slots.length - 1]).toBeLessThan(maxBranches);
  });

  test('property: the fewest shards, each within both quotas once full, together holding maxBranches', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 100, max: 1000 }), fc.integer({ min: 1, max: 2000 }), (rulesPerBranch, rules, maxBranches) => {
        let plan;
        try {
          plan = planCapacity(maxBranches, rulesPerBranch, rules);
        } catch (e) {
          // Only past MAX_SHARDS load balancers, and then what MAX_SHARDS hold is below maxBranches.
          expect(String(e)).toMatch(/more than the 10 one shared staging builds/);
          expect(branchSlotsOf(0, rulesPerBranch, rules) + (MAX_SHARDS - 1) * branchSlotsOf(1, rulesPerBranch, rules)).toBeLessThan(maxBranches);
          return;
        }
        expect(plan.capacity).toBeGreaterThanOrEqual(maxBranches);
        expect(plan.capacity - plan.slots[plan.slots.length - 1]).toBeLessThan(maxBranches);
        plan.slots.forEach((slots, shard) => {
          const ownGroups = shard === 0 ? SHARED_TARGET_GROUPS_ON_FIRST_SHARD : SHARED_TARGET_GROUPS_ON_OTHER_SHARDS;
          const ownRules = shard === 0 ? SHARED_HOSTS_ON_FIRST_SHARD * rulesPerBranch : 0;
          expect(ownGroups + slots).toBeLessThanOrEqual(TARGET_GROUPS_PER_LOAD_BALANCER);
          expect(ownRules + slots * rulesPerBranch).toBeLessThanOrEqual(rules);
        });
      }),
    );
  });

  test('fails past MAX_SHARDS, naming maxBranches, what fits and the fix', () => {
    expect(() => planCapacity(500, 4, 100)).toThrow(
      new RegExp(`maxBranches 500 needs 21 load balancers, more than the ${MAX_SHARDS} one shared staging builds: at 4 listener rule\\(s\\) per branch and rulesPerLoadBalancer 100, 10 hold 248 branches.*set rulesPerLoadBalancer`),
    );
    expect(planCapacity(500, 4, 400).shards).toBe(6);
  });

  test('fails when the rule quota leaves no room for a branch, naming rulesPerLoadBalancer', () => {
    expect(() => planCapacity(undefined, 4, 8)).toThrow(/rulesPerLoadBalancer 8 leaves no room for a branch that takes 4 listener rules.*Service Quotas/);
  });
});

test('the registry lives at <parameter prefix>/capacity/shards', () => {
  expect(shardRegistryParameterName('/staging/')).toBe('/staging/capacity/shards');
});

test('a shard costs an ALB hour, the LCU baseline and 2 public IPv4 a month: within the $16-25 the issue expects', () => {
  expect(shardPerMonth('us-east-1')).toBeCloseTo((0.0225 + 0.1 * 0.008 + 2 * 0.005) * 24 * 30.42, 6);
  expect(shardPerMonth('us-east-1')).toBeLessThan(25);
  expect(shardPerMonth('xx-nowhere-1')).toBeUndefined();
});
