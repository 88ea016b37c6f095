/**
 * `npm run sleep-model`: the modelled wake time and the cost per day of branch stagings, awake
 * and asleep, read from the ready-made app's synthesized templates (cdk.json example) and the
 * on-demand prices of ../shared/RESEARCH.md §4 (us-east-1, USD). A first cost model, meant to be
 * replaced by the `staging` CLI's; it prints figures and asserts nothing.
 *
 * Counted per branch: Fargate tasks of its services (on-demand price; Spot would be cheaper),
 * its own RDS instance and storage, its own ElastiCache node, its secrets. Not counted: the
 * shared load balancer, NAT, shared data stores, logs and the waker/sleeper functions (shared by
 * all branches; the sleeper costs cents a month), nor scheduled jobs (minutes a day).
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildStagingApp } from '../bin/staging-app';
import { WAKE_SECONDS } from '../lambda/waker/model';

const HOURS_PER_DAY = 24;
const DAYS_PER_MONTH = 30.42;
/** RESEARCH.md §4, us-east-1. */
const PRICES = {
  fargateVcpuHour: 0.04048,
  fargateGbHour: 0.004445,
  rdsHour: { 'db.t4g.micro': 0.016 } as Record<string, number>,
  rdsGp3GbMonth: 0.115,
  cacheHour: { 'cache.t4g.micro': 0.016 } as Record<string, number>,
  secretMonth: 0.4,
};

const root = join(__dirname, '..');
const context = JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')).context;

function synth(extra: Record<string, unknown>, feature: Record<string, unknown> = {}): Stack[] {
  const staging = { ...context.staging, feature: { ...context.staging.feature, ...feature } };
  return buildStagingApp(new App({ context: { ...context, staging, ...extra } }));
}

interface Costs {
  readonly services: number;
  readonly database: number;
  readonly storage: number;
  readonly cache: number;
  readonly secrets: number;
}

function resources(json: any, type: string): any[] {
  return Object.values(json.Resources as Record<string, any>).filter((r) => r.Type === type);
}

/** Cost per day of each part of one branch stack. */
function branchCosts(json: any, sharedStorageGiB: number): Costs {
  const taskDefinitions = json.Resources as Record<string, any>;
  let services = 0;
  for (const s of resources(json, 'AWS::ECS::Service')) {
    const td = taskDefinitions[s.Properties.TaskDefinition.Ref].Properties;
    const perHour = (Number(td.Cpu) / 1024) * PRICES.fargateVcpuHour + (Number(td.Memory) / 1024) * PRICES.fargateGbHour;
    services += perHour * Number(s.Properties.DesiredCount ?? 1) * HOURS_PER_DAY;
  }
  let database = 0;
  let storage = 0;
  for (const db of resources(json, 'Custom::StagingDatabase')) {
    const price = PRICES.rdsHour[db.Properties.InstanceClass];
    if (price === undefined) throw new Error(`no price for ${db.Properties.InstanceClass}; add it to PRICES`);
    database += price * HOURS_PER_DAY;
    // A restore keeps the snapshot's size: the shared database's allocated storage at least.
    const gib = Math.max(sharedStorageGiB, Number(db.Properties.AllocatedStorageGiB ?? 0));
    storage += (gib * PRICES.rdsGp3GbMonth) / DAYS_PER_MONTH;
  }
  let cache = 0;
  for (const c of resources(json, 'AWS::ElastiCache::ReplicationGroup')) {
    const price = PRICES.cacheHour[c.Properties.CacheNodeType];
    if (price === undefined) throw new Error(`no price for ${c.Properties.CacheNodeType}; add it to PRICES`);
    cache += price * HOURS_PER_DAY * Number(c.Properties.NumCacheClusters ?? 1);
  }
  const secrets = (resources(json, 'AWS::SecretsManager::Secret').length * PRICES.secretMonth) / DAYS_PER_MONTH;
  return { services, database, storage, cache, secrets };
}

const usd = (n: number) => `$${n.toFixed(3)}`;
const pct = (a: number, b: number) => `${Math.round((100 * a) / b)}%`;

function main(): void {
  const shared = Template.fromStack(synth({})[0]).toJSON();
  const sharedStorageGiB = Number(resources(shared, 'AWS::RDS::DBInstance')[0].Properties.AllocatedStorage);
  const branch = 'feature/new_cool_page';
  const cases: Array<[string, Stack]> = [
    ['lite (shared data)', synth({ branch, lite: 'true' })[0]],
    ['full, own RDS + key prefix on the shared Redis', synth({ branch }, { cache: { mode: 'prefix' } })[0]],
    ['full, own RDS + own Valkey (cdk.json example)', synth({ branch })[0]],
  ];
  console.log(`Cost per branch per day (us-east-1 on-demand, RESEARCH §4; shared DB snapshot ${sharedStorageGiB} GiB):`);
  console.log('  branch                                          awake   asleep (DB running)   asleep (DB stopped)');
  for (const [name, stack] of cases) {
    const c = branchCosts(Template.fromStack(stack).toJSON(), sharedStorageGiB);
    const awake = c.services + c.database + c.storage + c.cache + c.secrets;
    const asleep = c.database + c.storage + c.cache + c.secrets;
    const stopped = c.storage + c.cache + c.secrets;
    const stoppedText = c.database > 0 ? `${usd(stopped)} (${pct(stopped, awake)})` : '-';
    console.log(`  ${name.padEnd(46)}  ${usd(awake)}  ${`${usd(asleep)} (${pct(asleep, awake)})`.padEnd(20)}  ${stoppedText}`);
    console.log(
      `      services ${usd(c.services)}, RDS instance ${usd(c.database)}, RDS storage ${usd(c.storage)}, cache ${usd(c.cache)}, secrets ${usd(c.secrets)}`,
    );
  }

  // Wake time, from the branch target group's health check and RESEARCH §2's Fargate figures.
  const tg = resources(Template.fromStack(cases[0][1]).toJSON(), 'AWS::ElasticLoadBalancingV2::TargetGroup')[0].Properties;
  const interval = Number(tg.HealthCheckIntervalSeconds);
  const threshold = Number(tg.HealthyThresholdCount);
  const refresh = 5;
  const low = 45 + threshold * interval + 2 * refresh;
  const high = WAKE_SECONDS.taskStart + (threshold + 1) * interval + 2 * refresh;
  console.log('\nModelled wake time, first request to the branch answering:');
  console.log(`  task start 45-${WAKE_SECONDS.taskStart} s + ${threshold} health checks every ${interval} s (+ up to one interval to the first) + rule move and page refresh (2 x ${refresh} s)`);
  console.log(`  without a stopped database: ${low}-${high} s (about ${Math.round(low / 60)}-${Math.round(high / 60)} min; the page promises ${WAKE_SECONDS.taskStart + WAKE_SECONDS.healthChecks + WAKE_SECONDS.routeAndRefresh} s)`);
  console.log(
    `  with a stopped database: + StartDBInstance to available (3-10 min reported, modelled ${WAKE_SECONDS.databaseStart} s) = ${low + 180}-${high + 600} s (page: ${WAKE_SECONDS.taskStart + WAKE_SECONDS.healthChecks + WAKE_SECONDS.routeAndRefresh + WAKE_SECONDS.databaseStart} s)`,
  );
}

main();
