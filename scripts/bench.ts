/**
 * `npm run bench`: whole-process synth times, measured side by side in one run.
 * - the shared stack of the ready-made app;
 * - a FeatureStagingLite branch of the ready-made app, against a hand-written CDK stack with the
 *   same resources (scripts/bench/handwritten-branch.ts).
 * Each app runs RUNS times, interleaved, as `node --import tsx <app>` with the cdk.json context
 * (feature flags on, CloudFormation Validate included); medians are compared as ratios.
 * Then the sweeper benchmark (scripts/bench-sweeper.ts), if present, and the database-template
 * handler against a real Postgres (scripts/bench-database-template.ts), and one view of the
 * stagings page with 10, 100 and 500 stagings (scripts/bench-stagings-page.ts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const context = JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')).context;

interface Case {
  readonly name: string;
  readonly app: string;
  readonly context: Record<string, unknown>;
}

const cases: Case[] = [
  { name: 'shared stack (ready-made app)', app: 'bin/app.ts', context },
  { name: 'FeatureStagingLite branch (ready-made app)', app: 'bin/app.ts', context: { ...context, branch: 'feature/new_cool_page', lite: 'true' } },
  { name: 'hand-written branch stack (same resources)', app: 'scripts/bench/handwritten-branch.ts', context },
];

function runOnce(c: Case): number {
  const outdir = mkdtempSync(join(tmpdir(), 'bench-'));
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, ['--import', 'tsx', c.app], {
    cwd: root,
    env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(c.context) },
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  rmSync(outdir, { recursive: true, force: true });
  if (result.status !== 0) throw new Error(`${c.name} failed:\n${result.stderr}`);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
for (const c of cases) runOnce(c); // warm the file cache once
for (let i = 0; i < RUNS; i++) for (const c of cases) times.get(c.name)!.push(runOnce(c));

console.log(`\nSynth time, whole process, median of ${RUNS} (ms); node ${process.version}, ${cpus().length} cores`);
for (const c of cases) {
  const t = times.get(c.name)!;
  console.log(`  ${c.name.padEnd(46)} ${median(t).toFixed(0).padStart(6)}   runs: ${t.map((x) => x.toFixed(0)).join(', ')}`);
}
const lite = median(times.get(cases[1].name)!);
const hand = median(times.get(cases[2].name)!);
console.log(`  Lite / hand-written ratio: ${(lite / hand).toFixed(3)} (${((lite / hand - 1) * 100).toFixed(1)}% over; target <= 10%)`);

if (existsSync(join(root, 'scripts', 'bench-sweeper.ts'))) {
  console.log('');
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/bench-sweeper.ts'], { cwd: root, stdio: 'inherit' });
}

if (existsSync(join(root, 'scripts', 'bench-database-template.ts'))) {
  console.log('');
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/bench-database-template.ts'], { cwd: root, stdio: 'inherit' });
}

if (existsSync(join(root, 'scripts', 'bench-stagings-page.ts'))) {
  console.log('');
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/bench-stagings-page.ts'], { cwd: root, stdio: 'inherit' });
}
