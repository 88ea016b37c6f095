/**
 * `npm run sleep-model`: the modelled wake time and the cost per day of branch stagings, awake
 * and asleep, read from the ready-made app's synthesized templates (cdk.json example) and priced
 * by the `staging` CLI's cost model (cli/cost, its dated price table); it prints figures and
 * asserts nothing. `npx staging cost` gives the itemized table with the shared stack's share.
 *
 * Counted per branch: what its template creates (tasks at their capacity strategy, its own RDS
 * instance and storage, its own ElastiCache node, secrets, log groups, scheduled jobs). Not counted
 * here: the shared stack's share (load balancer, NAT, shared data), which `staging cost` adds.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildStagingApp } from '../bin/staging-app';
import { WAKE_SECONDS } from '../lambda/waker/model';
import { DEFAULT_ASSUMPTIONS, priceTemplate } from '../lib/contract/cost/model';

const root = join(__dirname, '..');
const context = JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')).context;

function synth(extra: Record<string, unknown>, feature: Record<string, unknown> = {}): Stack[] {
  const staging = { ...context.staging, feature: { ...context.staging.feature, ...feature } };
  return buildStagingApp(new App({ context: { ...context, staging, ...extra } }));
}

function resources(json: any, type: string): any[] {
  return Object.values(json.Resources as Record<string, any>).filter((r) => r.Type === type);
}

const usd = (n: number) => `$${n.toFixed(3)}`;
const pct = (a: number, b: number) => `${Math.round((100 * a) / b)}%`;

/** One branch case: its own cost per day awake, asleep, and asleep with its own database stopped (`stopDatabaseAfter`). */
export interface SleepRow {
  readonly name: string;
  readonly awake: number;
  readonly asleep: number;
  /** Undefined when the branch has no database of its own to stop. */
  readonly stopped?: number;
  readonly lines: string;
}

/** The branch cases of the README's sleep table, synthesized from the ready-made app and priced. */
export function sleepRows(): { rows: SleepRow[]; region: string; sharedStorageGiB: number; lite: Stack } {
  // The shared stack as it is with branches on their own RDS (its storage is what a restore copies).
  const shared = Template.fromStack(synth({}, { database: { ...context.staging.feature.database, mode: 'snapshot' } })[0]).toJSON();
  const sharedStorageGiB = Number(resources(shared, 'AWS::RDS::DBInstance')[0].Properties.AllocatedStorage);
  const branch = 'feature/new_cool_page';
  const cases: Array<[string, Stack]> = [
    ['lite (shared data)', synth({ branch, lite: 'true' })[0]],
    ['full, template DB + key prefix (cdk.json example)', synth({ branch })[0]],
    ['full, own RDS + key prefix on the shared Redis', synth({ branch }, { database: { ...context.staging.feature.database, mode: 'snapshot' } })[0]],
    ['full, own RDS + own Valkey (the seed\'s choice)', synth({ branch }, { database: { ...context.staging.feature.database, mode: 'snapshot' }, cache: { ...context.staging.feature.cache, mode: 'dedicated' } })[0]],
  ];
  const region = context.staging.region ?? 'eu-west-1';
  const assumptions = { ...DEFAULT_ASSUMPTIONS, databaseStorageGiB: sharedStorageGiB, databaseStorageSource: 'the shared snapshot' };
  const rows = cases.map(([name, stack]): SleepRow => {
    const cost = priceTemplate(Template.fromStack(stack).toJSON(), region, assumptions);
    const db = cost.lines.filter((l) => l.category === 'database' && !l.item.endsWith(' storage')).reduce((a, l) => a + l.asleepPerDay, 0);
    return {
      name,
      awake: cost.awakePerDay,
      asleep: cost.asleepPerDay,
      stopped: db > 0 ? cost.asleepPerDay - db : undefined,
      lines: cost.lines.map((l) => `${l.category} ${usd(l.awakePerDay)}`).join(', '),
    };
  });
  return { rows, region, sharedStorageGiB, lite: cases[0][1] };
}

/** The README's table ("Sleep on idle, wake on request"), as test/readme.test.ts compares it. */
export function sleepTable(rows: readonly SleepRow[]): string {
  const cents = (n: number) => `$${n.toFixed(2)}`;
  const share = (n: number, of: number) => `${cents(n)} (${pct(n, of)})`;
  return [
    '| branch | awake | asleep | asleep, own database stopped (`stopDatabaseAfter`) |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.name} | ${cents(r.awake)} | ${share(r.asleep, r.awake)} | ${r.stopped === undefined ? '–' : share(r.stopped, r.awake)} |`),
  ].join('\n');
}

function main(): void {
  const { rows, region, sharedStorageGiB, lite } = sleepRows();
  console.log(`Own cost per branch per day (the staging CLI's cost model, cli/cost; ${region}; shared DB snapshot ${sharedStorageGiB} GiB; the shared stack's share not included):`);
  console.log('  branch                                             awake   asleep (DB running)   asleep (DB stopped)');
  for (const r of rows) {
    const stoppedText = r.stopped !== undefined ? `${usd(r.stopped)} (${pct(r.stopped, r.awake)})` : '-';
    console.log(`  ${r.name.padEnd(49)}  ${usd(r.awake)}  ${`${usd(r.asleep)} (${pct(r.asleep, r.awake)})`.padEnd(20)}  ${stoppedText}`);
    console.log(`      ${r.lines}`);
  }
  console.log(`\nThe README's table:\n${sleepTable(rows)}`);

  // Wake time, from the branch target group's health check and the Fargate start times users report.
  const tg = resources(Template.fromStack(lite).toJSON(), 'AWS::ElasticLoadBalancingV2::TargetGroup')[0].Properties;
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

if (require.main === module) main();
