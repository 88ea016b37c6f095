import { App } from 'aws-cdk-lib';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildStagingApp } from '../../bin/staging-app';
import { run } from '../../cli/program';
import { DEFAULT_ASSUMPTIONS, costSummary, priceTemplate, runsPerDay, splitCapacity } from '../../lib/contract/cost/model';
import { PRICES } from '../../lib/contract/cost/prices';
import { pick, priceOfEntry, queriesFor, renderTable } from '../../scripts/update-prices';
import { fakeIo } from './fake-io';
import { SNAPSHOT_STAGING } from '../util/example-config';

// The ready-made app's templates, synthesized once for the file (cdk.json example configuration
// with the seed's choice: a snapshot restore and a Valkey node of its own).
const root = join(__dirname, '..', '..');
const context = JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')).context;
const dir = mkdtempSync(join(tmpdir(), 'staging-cost-'));
const BRANCH = 'feature/new_cool_page';

function synth(name: string, extra: Record<string, unknown>, feature: Record<string, unknown> = {}): string {
  const staging = { ...SNAPSHOT_STAGING, feature: { ...SNAPSHOT_STAGING.feature, ...feature } };
  const outdir = join(dir, name);
  const app = new App({ outdir, context: { ...context, staging, ...extra } });
  buildStagingApp(app);
  app.synth();
  return outdir;
}

let shared: string;
let full: string;
let lite: string;
let template: string;
beforeAll(() => {
  shared = synth('shared', {});
  full = synth('full', { branch: BRANCH });
  lite = synth('lite', { branch: BRANCH, lite: 'true' });
  template = synth('template', { branch: BRANCH }, { database: { mode: 'template' } });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function costJson(...args: string[]): Promise<any> {
  const io = fakeIo();
  const code = await run(['cost', ...args, '--json'], io);
  expect({ code, err: io.err() }).toEqual({ code: 0, err: '' });
  return JSON.parse(io.out());
}

const line = (j: any, item: string) => j.lines.find((l: any) => l.item.startsWith(item));

// eu-west-1 prices (lib/contract/cost/price-table.ts), worked out by hand:
const task = 0.25 * 0.04048 + 0.5 * 0.004445; // 0.25 vCPU / 0.5 GB Fargate x86, per hour
const logs = (groups: number) => groups * 0.01 * 0.57 + (groups * 0.01 * 7 * 0.03) / 30.42; // 7-day retention

describe('staging cost, offline, from the ready-made app', () => {
  test('full branch (own RDS from the snapshot, own Valkey): itemized from its resources', async () => {
    const j = await costJson(full, '--shared', shared);
    expect(j).toMatchObject({ region: 'eu-west-1', currency: 'USD', pricesAsOf: '2026-09-29', missing: [] });
    expect(line(j, 'StagingBranchAppWebService').awakePerDay).toBeCloseTo(task * 24, 4);
    expect(line(j, 'StagingBranchAppWebService').asleepPerDay).toBe(0);
    expect(line(j, 'StagingBranchAppWorkerWorkerService').awakePerDay).toBeCloseTo(task * 24, 4);
    expect(line(j, 'StagingBranchAppJobNightly').awakePerDay).toBeCloseTo((task * 5) / 60, 4);
    expect(line(j, 'StagingDatabase447E2D95').awakePerDay).toBeCloseTo(0.017 * 24, 4);
    // A restore starts at the shared database's 50 GiB.
    expect(line(j, 'StagingDatabase447E2D95 storage')).toMatchObject({ detail: expect.stringMatching(/^50 GiB gp3/) });
    expect(line(j, 'StagingDatabase447E2D95 storage').asleepPerDay).toBeCloseTo((50 * 0.127) / 30.42, 4);
    expect(line(j, 'StagingCache').asleepPerDay).toBeCloseTo(0.016 * 0.8 * 24, 4);
    expect(line(j, '2 secret(s)').awakePerDay).toBeCloseTo((2 * 0.4) / 30.42, 4);
    expect(line(j, '4 log group(s)').awakePerDay).toBeCloseTo(logs(4), 4);
    const own = 2 * task * 24 + (task * 5) / 60 + 0.017 * 24 + (50 * 0.127) / 30.42 + 0.016 * 0.8 * 24 + (2 * 0.4) / 30.42 + logs(4);
    const ownAsleep = 0.017 * 24 + (50 * 0.127) / 30.42 + 0.016 * 0.8 * 24 + (2 * 0.4) / 30.42;
    expect(j.ownAwakePerDay).toBeCloseTo(own, 3);
    expect(j.ownAsleepPerDay).toBeCloseTo(ownAsleep, 3);
    expect(j.shared.branches).toBe(10);
    expect(j.awakePerDay).toBeCloseTo(own + j.shared.perDay / 10, 3);
    expect(j.asleepPerDay).toBeCloseTo(ownAsleep + j.shared.perDay / 10, 3);
  });

  test('the shared stack: ALB, NAT, its database, cache and services, shown once with the share', async () => {
    const j = await costJson(shared, '--branches', '4');
    expect(j.stacks).toEqual([]);
    const s = j.shared;
    expect(s.branches).toBe(4);
    const types = s.lines.filter((l: any) => l.awakePerDay > 0).map((l: any) => l.category);
    expect(new Set(types)).toEqual(new Set(['network', 'load balancer', 'database', 'cache', 'compute', 'jobs', 'secrets', 'logs', 'stagings page']));
    // The stagings page: 200 views a day (assumed), each a request and 1 s of its 512 MB ARM64 function (eu-west-1 prices).
    const page = s.lines.find((l: any) => l.category === 'stagings page');
    expect(page.detail).toBe('200 views/day x 1 s x 0.5 GB ARM64 Lambda (assumed)');
    expect(page.awakePerDay).toBeCloseTo(200 * (0.0000002 + 0.5 * 0.0000133334), 4); // --json rounds to 4 places
    const nat = s.lines.find((l: any) => l.item.includes('NATGateway'));
    expect(nat.awakePerDay).toBeCloseTo(0.048 * 24, 4);
    const alb = s.lines.find((l: any) => l.category === 'load balancer');
    expect(alb.awakePerDay).toBeCloseTo((0.0252 + 0.1 * 0.008 + 2 * 0.005) * 24, 4);
    const db = s.lines.find((l: any) => l.item === 'StagingDatabaseEB5A8A27');
    expect(db.awakePerDay).toBeCloseTo(0.068 * 24, 4);
    expect(s.perBranchPerDay).toBeCloseTo(s.perDay / 4, 3); // both printed to the tenth of a cent
    // The access lock's secrets (the OIDC client secret and the automation token) are priced with the stack's own.
    expect(s.lines.find((l: any) => l.category === 'secrets').detail).toMatch(/\(2 read by dynamic reference\)$/);
  });

  test('lite branch: only its tasks, job and logs (data is shared)', async () => {
    const j = await costJson(lite);
    expect(j.lines.map((l: any) => l.category).sort()).toEqual(['compute', 'compute', 'jobs', 'logs']);
    expect(j.ownAwakePerDay).toBeCloseTo(2 * task * 24 + (task * 5) / 60 + logs(3), 4);
    expect(j.ownAsleepPerDay).toBe(0);
    expect(j.shared).toBeUndefined();
  });

  test('template-db branch: the database is on the shared Postgres, its cache still its own', async () => {
    const j = await costJson(template);
    expect(line(j, 'StagingDatabase447E2D95')).toMatchObject({ awakePerDay: 0, detail: expect.stringMatching(/shared Postgres/) });
    expect(line(j, 'StagingDatabase447E2D95 storage')).toBeUndefined();
    expect(line(j, 'StagingCache').awakePerDay).toBeCloseTo(0.016 * 0.8 * 24, 4);
  });

  test('the rendered table (piped: no borders, no colour)', async () => {
    const io = fakeIo();
    expect(await run(['cost', full, '--shared', shared], io)).toBe(0);
    expect(io.out()).toMatchSnapshot();
  });

  test('an unknown region says "no price for region" and an unknown class is priced around', async () => {
    const io = fakeIo();
    expect(await run(['cost', full, '--region', 'ap-south-1', '--json'], io)).toBe(0);
    expect(JSON.parse(io.out()).missing).toEqual(['no price for region ap-south-1 (the table has us-east-1, eu-west-1)']);

    const t = JSON.parse(readFileSync(join(full, `staging-feature-new-cool-page-d5b3d603.template.json`), 'utf8'));
    t.Resources.StagingDatabase447E2D95.Properties.InstanceClass = 'db.r7g.large';
    const cost = priceTemplate(t, 'eu-west-1');
    expect(cost.missing).toEqual(['no price for RDS PostgreSQL db.r7g.large in eu-west-1']);
    expect(cost.lines.find((l) => l.item === 'StagingDatabase447E2D95')?.noPrice).toBe('no price for RDS PostgreSQL db.r7g.large in eu-west-1');
    expect(cost.awakePerDay).toBeGreaterThan(0.5); // tasks, storage, cache, secrets, logs still priced

    const file = join(dir, 'r7g.json');
    writeFileSync(file, JSON.stringify(t));
    const io2 = fakeIo();
    expect(await run(['cost', file], io2)).toBe(0);
    expect(io2.out()).toContain('no price for RDS PostgreSQL db.r7g.large in eu-west-1');
    expect(io2.err()).toBe('warning: no price for RDS PostgreSQL db.r7g.large in eu-west-1; that item is left out of the totals\n');
  });

  test('usage errors exit 2, a missing path exits 1 saying what to pass', async () => {
    const io = fakeIo();
    expect(await run(['cost', full, '--branches', 'many'], io)).toBe(2);
    expect(io.err()).toContain('--branches must be a whole number of at least 1 (got "many")');
    const io2 = fakeIo();
    expect(await run(['cost', 'nope/x.json'], io2)).toBe(1);
    expect(io2.err()).toContain('No such file or directory: nope/x.json');
  });
});

describe('the cost model', () => {
  test.each([
    [1, 0, 1, 0],
    [4, 0, 1.75, 2.25],
    [2, 1, 2, 0],
  ])('%i tasks on base 1 FARGATE + 3 FARGATE_SPOT (launch type %i)', (count, launchType, onDemand, spot) => {
    const strategy = [{ Base: 1, CapacityProvider: 'FARGATE', Weight: 1 }, { CapacityProvider: 'FARGATE_SPOT', Weight: 3 }];
    expect(splitCapacity(count, strategy, launchType ? 'FARGATE' : undefined)).toEqual({ onDemand, spot });
  });

  test.each([
    ['cron(0 3 * * ? *)', 1],
    ['cron(0/15 * * * ? *)', 96],
    ['rate(6 hours)', 4],
    ['rate(1 day)', 1],
    ['at(2026-12-24T00:00:00)', undefined],
  ])('%s runs %s times a day', (expression, runs) => {
    expect(runsPerDay(expression)).toBe(runs);
  });

  test('values set at deploy (an SSM instance class, a parameter count) are "no price", the rest still priced', () => {
    const t = JSON.parse(readFileSync(join(full, `staging-feature-new-cool-page-d5b3d603.template.json`), 'utf8'));
    t.Resources.StagingDatabase447E2D95.Properties.InstanceClass = { Ref: 'SsmParameterValuestagingdbclass' };
    t.Resources.StagingBranchAppWebService064967C3.Properties.DesiredCount = { Ref: 'WebCount' };
    const cost = priceTemplate(t, 'eu-west-1');
    expect(cost.missing).toEqual([
      'no price for RDS PostgreSQL <set at deploy: Ref SsmParameterValuestagingdbclass> in eu-west-1',
      'no price for StagingBranchAppWebService064967C3 in eu-west-1: its size or count is set at deploy',
    ]);
    const worker = task * 24 + (task * 5) / 60;
    expect(cost.awakePerDay).toBeCloseTo(worker + (20 * 0.127) / 30.42 + 0.016 * 0.8 * 24 + (2 * 0.4) / 30.42 + logs(4), 4);
    // The restored database's storage is a guess (its snapshot's size is known at deploy): said once, after the figures.
    expect(cost.assumed).toEqual(["database storage 20 GiB assumed (a restore takes its snapshot's size, known at deploy)"]);
    expect(costSummary(cost)).toMatch(/^\$0\.\d\d\/day awake, \$0\.\d\d\/day asleep \(eu-west-1, prices as of 2026-09-29\); database storage 20 GiB assumed \(.*\); no price for RDS PostgreSQL .*; no price for StagingBranchAppWebService064967C3 /);
    expect(priceTemplate(t, 'eu-west-1', { ...DEFAULT_ASSUMPTIONS, databaseStorageGiB: 50, databaseStorageSource: '--database-storage-gib' }).assumed).toEqual([]);
    expect(costSummary(priceTemplate(t, 'unknown-region'))).toBe(
      '$0.00/day awake, $0.00/day asleep (unknown-region, prices as of 2026-09-29); no price for region unknown-region (the table has us-east-1, eu-west-1)',
    );
  });

  test('the stagings page: per view, a Lambda request and its duration at the function\'s size and architecture; other functions are not priced', () => {
    const fn = (variables: Record<string, unknown>, more: Record<string, unknown> = {}) => ({ Type: 'AWS::Lambda::Function', Properties: { MemorySize: 1024, Environment: { Variables: variables }, ...more } });
    const page = fn({ AUDIT_LOG_GROUP: { Ref: 'Audit' } });
    const cost = (resources: Record<string, unknown>, views = 200) => priceTemplate({ Resources: resources }, 'us-east-1', { ...DEFAULT_ASSUMPTIONS, pageViewsPerDay: views });
    expect(cost({ Page: page }).lines).toEqual([
      { category: 'stagings page', item: 'Page', detail: '200 views/day x 1 s x 1 GB X86_64 Lambda (assumed)', awakePerDay: 200 * (2e-7 + 0.0000166667), asleepPerDay: 200 * (2e-7 + 0.0000166667), estimate: true },
    ]);
    expect(cost({ Page: fn({ AUDIT_LOG_GROUP: 'x' }, { Architectures: ['arm64'] }) }, 3000).awakePerDay).toBeCloseTo(3000 * (2e-7 + 0.0000133334), 9);
    expect(cost({ Sweeper: fn({ STAGING_PREFIX: 'staging' }) }).lines).toEqual([]);
    expect(cost({ Page: page }, 0).awakePerDay).toBe(0);
  });

  test('what ARM64 would save: each x86_64 service and job at the ARM64 price of the same size, nothing when they run on ARM64', () => {
    const t = JSON.parse(readFileSync(join(full, `staging-feature-new-cool-page-d5b3d603.template.json`), 'utf8'));
    const arm = 0.25 * 0.03238 + 0.5 * 0.00356; // eu-west-1 ARM64, 0.25 vCPU / 0.5 GB, per hour (price table)
    const saving = (task - arm) * (24 + 24 + 5 / 60); // web, worker, the nightly job
    expect(priceTemplate(t, 'eu-west-1').arm64SavingPerDay).toBeCloseTo(saving, 5);
    for (const r of Object.values<any>(t.Resources)) if (r.Type === 'AWS::ECS::TaskDefinition') r.Properties.RuntimePlatform.CpuArchitecture = 'ARM64';
    const onArm = priceTemplate(t, 'eu-west-1');
    expect(onArm.arm64SavingPerDay).toBe(0);
    expect(line(onArm, 'StagingBranchAppWebService').awakePerDay).toBeCloseTo(arm * 24, 5);
    expect(priceTemplate(t, 'unknown-region').arm64SavingPerDay).toBe(0);
  });

  test('the table says what ARM64 would save, and --json has it', async () => {
    const io = fakeIo();
    expect(await run(['cost', full], io)).toBe(0);
    expect(io.out()).toMatch(/On ARM64 \(Graviton\) the x86_64 tasks would cost \$0\.1\d\d a day less awake \(\d+% of the total\), if the image runs on arm64: staging\.app\.cpuArchitecture "arm64"/);
    expect((await costJson(full)).arm64SavingPerDay).toBeGreaterThan(0.1);
  });

  test('every price of the table has a source and a date', () => {
    const walk = (v: any): any[] => (v && typeof v === 'object' && 'usd' in v ? [v] : Object.values(v ?? {}).flatMap(walk));
    const prices = walk(PRICES);
    expect(prices.length).toBeGreaterThan(40);
    for (const p of prices) expect(p).toEqual({ usd: expect.any(Number), source: expect.any(String), asOf: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/), verified: expect.any(Boolean) });
  });
});

describe('scripts/update-prices.ts (its pure parts; the script itself needs the Price List API)', () => {
  // A GetProducts PriceList entry, shaped as the API returns it (a JSON string per product).
  const entry = (usagetype: string, usd: string) =>
    JSON.stringify({
      product: { productFamily: 'Compute', sku: 'ABC123', attributes: { regionCode: 'eu-west-1', usagetype } },
      serviceCode: 'AmazonECS',
      terms: {
        OnDemand: {
          'ABC123.JRTCKXETXF': {
            sku: 'ABC123',
            offerTermCode: 'JRTCKXETXF',
            priceDimensions: { 'ABC123.JRTCKXETXF.6YS6EN2CT7': { unit: 'hours', beginRange: '0', endRange: 'Inf', pricePerUnit: { USD: usd } } },
          },
        },
      },
    });
  const vcpu = queriesFor(PRICES['eu-west-1'])[0];

  test('reads the on-demand price of an entry, and picks the one product of the usage type (region prefix or not)', () => {
    expect(priceOfEntry(entry('EU-Fargate-vCPU-Hours:perCPU', '0.0404800000'))).toEqual({ usd: 0.04048, unit: 'hours', usageType: 'EU-Fargate-vCPU-Hours:perCPU', sku: 'ABC123' });
    expect(vcpu).toMatchObject({ path: ['fargate', 'X86_64', 'vcpuHour'], serviceCode: 'AmazonECS' });
    const spot = entry('EU-SpotUsage-Fargate-vCPU-Hours:perCPU', '0.0121');
    expect(pick([spot, entry('EU-Fargate-vCPU-Hours:perCPU', '0.04048')], vcpu)).toMatchObject({ usd: 0.04048 });
    expect(pick([entry('Fargate-vCPU-Hours:perCPU', '0.04048')], vcpu)).toMatchObject({ usd: 0.04048 });
    expect(pick([spot], vcpu)).toBe('no product with usagetype Fargate-vCPU-Hours:perCPU');
  });

  test('renders the table file it reads: lib/contract/cost/price-table.ts is its output', () => {
    expect(renderTable(PRICES)).toBe(readFileSync(join(root, 'lib', 'contract', 'cost', 'price-table.ts'), 'utf8'));
  });
});
