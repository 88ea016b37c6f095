/**
 * `npm run bench`: whole-process synth times, measured side by side in one run.
 * - the shared stack of the ready-made app;
 * - a FeatureStagingLite branch of the ready-made app, against a hand-written CDK stack with the
 *   same resources (scripts/bench/handwritten-branch.ts).
 * Each app runs RUNS times, interleaved, as `node --import tsx <app>` with the cdk.json context
 * (feature flags on, CloudFormation Validate included); medians are compared as ratios. The
 * figure is the whole process's CPU time (every thread: V8 compiles WebAssembly and collects
 * garbage in threads of its own), which other work on the machine disturbs far less than the wall
 * time, printed beside it.
 *
 * The ready-made app compiles CloudFormation Validate's WebAssembly with Liftoff only (bin/app.ts);
 * a plain CDK app does not, which is the ratio's baseline. The hand-written stack is also run
 * with `--liftoff-only`, for the app's overhead with the same compiler settings.
 * Then the sweeper benchmark (scripts/bench-sweeper.ts), if present, and the database-template
 * handler against a real Postgres (scripts/bench-database-template.ts), and one view of the
 * stagings page with 10, 100 and 500 stagings (scripts/bench-stagings-page.ts).
 */
import { execFileSync, execSync, spawnSync } from 'node:child_process';
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
  readonly nodeOptions?: string[];
}

const branch = { ...context, branch: 'feature/new_cool_page', lite: 'true' };
const cases: Case[] = [
  { name: 'shared stack (ready-made app)', app: 'bin/app.ts', context },
  { name: 'FeatureStagingLite branch (ready-made app)', app: 'bin/app.ts', context: branch },
  { name: 'hand-written branch stack (same resources)', app: 'scripts/bench/handwritten-branch.ts', context },
  { name: '... hand-written, node --liftoff-only', app: 'scripts/bench/handwritten-branch.ts', context, nodeOptions: ['--liftoff-only'] },
];

/** CPU time (ms) of this process's finished children, from /proc; undefined where there is none. */
function childrenCpuMs(): number | undefined {
  if (!existsSync('/proc/self/stat')) return undefined;
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 16 and 17 of proc(5), cutime and cstime, in clock ticks: here 14 and 15 (0-based, after the name).
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / TICKS;
}
const TICKS = existsSync('/proc/self/stat') ? Number(execSync('getconf CLK_TCK', { encoding: 'utf8' }).trim()) : 100;

interface Run {
  readonly wallMs: number;
  readonly cpuMs?: number;
}

function runOnce(c: Case): Run {
  const outdir = mkdtempSync(join(tmpdir(), 'bench-'));
  const start = process.hrtime.bigint();
  const cpuBefore = childrenCpuMs();
  const result = spawnSync(process.execPath, [...(c.nodeOptions ?? []), '--import', 'tsx', c.app], {
    cwd: root,
    env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(c.context) },
    encoding: 'utf8',
  });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  const cpuAfter = childrenCpuMs();
  rmSync(outdir, { recursive: true, force: true });
  if (result.status !== 0) throw new Error(`${c.name} failed:\n${result.stderr}`);
  return { wallMs, cpuMs: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const runs = new Map<string, Run[]>(cases.map((c) => [c.name, []]));
for (const c of cases) runOnce(c); // warm the file cache once
for (let i = 0; i < RUNS; i++) for (const c of cases) runs.get(c.name)!.push(runOnce(c));

const measure = runs.get(cases[0].name)!.every((r) => r.cpuMs !== undefined) ? 'CPU' : 'wall';
const figure = (r: Run) => (measure === 'CPU' ? r.cpuMs! : r.wallMs);
console.log(`\nSynth, whole process, median of ${RUNS} (ms of ${measure} time; wall time beside it); node ${process.version}, ${cpus().length} cores`);
for (const c of cases) {
  const r = runs.get(c.name)!;
  const shown = r.map(figure);
  console.log(
    `  ${c.name.padEnd(46)} ${median(shown).toFixed(0).padStart(6)}   wall ${median(r.map((x) => x.wallMs)).toFixed(0).padStart(6)}   runs: ${shown.map((x) => x.toFixed(0)).join(', ')}`,
  );
}
const ratio = (a: Case, b: Case) => median(runs.get(a.name)!.map(figure)) / median(runs.get(b.name)!.map(figure));
const show = (r: number) => `${r.toFixed(3)} (${((r - 1) * 100).toFixed(1)}% over)`;
console.log(`  Lite / hand-written ratio: ${show(ratio(cases[1], cases[2]))}; target <= 1.05`);
console.log(`  Lite / hand-written with the same --liftoff-only: ${show(ratio(cases[1], cases[3]))} (the app's own overhead)`);

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
