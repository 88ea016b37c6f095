/**
 * `npm run capacity`: the figures of the shared staging's capacity (issue 23, README "Capacity"),
 * from the same functions the constructs and `staging cost` use:
 * - the rules and target groups a branch takes, and the branches one load balancer holds, with
 *   and without the access lock's rules (rulesPerBranch 1, 2 and 4);
 * - the load balancers (shards) and their cost a month for 100, 250 and 500 branches;
 * - the modelled time to URL of a branch's first deploy on a new shard against an existing one
 *   (the ready-made app's branch stack, scripts/critical-path.ts).
 */
import {
  DEFAULT_RULES_PER_LOAD_BALANCER,
  MAX_SHARDS,
  SHARED_HOSTS_ON_FIRST_SHARD,
  SHARED_TARGET_GROUPS_ON_FIRST_SHARD,
  branchSlotsOf,
  planCapacity,
  type CapacityPlan,
} from '../lib/contract/capacity';
import { BASELINE_LCU_PER_LOAD_BALANCER, shardPerMonth } from '../lib/contract/cost/model';
import { STEP_SECONDS, criticalPath, synthesizeBranchStack } from './critical-path';

const LOCKS = [
  [1, 'the host rule only (no access rules, or a sign-in alone)'],
  [2, 'a sign-in and one companion (networks, automation or paths)'],
  [4, 'a sign-in and all three companions'],
] as const;
const BRANCHES = [100, 250, 500];
const REGIONS = ['us-east-1', 'eu-west-1'];
const RAISED_RULES = 400;

const usd = (n: number) => `$${n.toFixed(0)}`;

function rulesTable(): void {
  console.log(`Per branch: 1 target group (its web service) and rulesPerBranch listener rules. Shard 0 also holds ${SHARED_TARGET_GROUPS_ON_FIRST_SHARD} target groups`);
  console.log(`(shared app, waker, stagings page) and ${SHARED_HOSTS_ON_FIRST_SHARD} hosts' rules; every other shard 1 target group (its waker).`);
  console.log(`rulesPerBranch  ${'lock'.padEnd(60)}rule quota  shard 0  other shards`);
  for (const rules of [DEFAULT_RULES_PER_LOAD_BALANCER, RAISED_RULES]) {
    for (const [perBranch, lock] of LOCKS) {
      const [first, next] = [branchSlotsOf(0, perBranch, rules), branchSlotsOf(1, perBranch, rules)];
      console.log(`${String(perBranch).padStart(14)}  ${lock.padEnd(60)}${String(rules).padStart(10)}  ${String(first).padStart(7)}  ${String(next).padStart(12)}`);
    }
  }
}

/** The plan, or undefined when it needs more than MAX_SHARDS load balancers. */
function planned(branches: number, rulesPerBranch: number, rules: number): CapacityPlan | undefined {
  try {
    return planCapacity(branches, rulesPerBranch, rules);
  } catch {
    return undefined;
  }
}

function costTable(): void {
  const perShard = REGIONS.map((r) => shardPerMonth(r)!);
  console.log(`\nCost of the load balancers a month before traffic (an ALB hour + ${BASELINE_LCU_PER_LOAD_BALANCER} LCU + 2 public IPv4 each: ${REGIONS.map((r, i) => `${usd(perShard[i])} in ${r}`).join(', ')}):`);
  console.log(`branches  rulesPerBranch  rule quota  shards  ${REGIONS.map((r) => r.padStart(10)).join('  ')}  added over one load balancer`);
  for (const branches of BRANCHES) {
    for (const [perBranch] of LOCKS) {
      // The default quota first; where it needs more than MAX_SHARDS load balancers, the raised one.
      const [quota, plan] = [DEFAULT_RULES_PER_LOAD_BALANCER, RAISED_RULES].map((q) => [q, planned(branches, perBranch, q)] as const).find(([, p]) => p)!;
      const costs = perShard.map((c) => usd(plan!.shards * c).padStart(10)).join('  ');
      console.log(`${String(branches).padStart(8)}  ${String(perBranch).padStart(14)}  ${String(quota).padStart(10)}  ${String(plan!.shards).padStart(6)}  ${costs}  ${usd((plan!.shards - 1) * perShard[0])} (${REGIONS[0]})`);
    }
  }
  console.log(`(At most ${MAX_SHARDS} shards; past that, raise the rule quota in Service Quotas and set rulesPerLoadBalancer.)`);
}

function timeToUrl(): void {
  const { name, template } = synthesizeBranchStack({ branch: 'feature/new_cool_page' });
  const first = STEP_SECONDS.changeSet + criticalPath(template).seconds;
  console.log(`\nTime to URL of a first deploy (${name}, modelled by scripts/critical-path.ts):`);
  console.log(`  on an existing shard: about ${(first / 60).toFixed(1)} min (${first} s)`);
  console.log(`  on a new shard:       about ${(first / 60).toFixed(1)} min (${first} s): the same.`);
  console.log('  The branch template is the same whichever shard its Custom::StagingQuota picks; every shard\'s load balancer,');
  console.log('  HTTPS listener, certificate and waker target group exist since the shared deploy that added it, so the first');
  console.log(`  branch on a shard only claims a slot (the quota's ${STEP_SECONDS.customResource} s round trip, as on any shard), adds its rule to a listener`);
  console.log('  that is already there, and aliases its record to that load balancer. What differs is not on the path: the');
  console.log('  record points at another DNS name, and the sweeper and the sleeper read its requests on that load balancer.');
}

if (require.main === module) {
  rulesTable();
  costTable();
  timeToUrl();
}
