/** `staging cost [<branch> | <template.json> | <cdk.out dir>]` */
import { GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import { existsSync } from 'node:fs';
import { SharedStagingNames } from '../../lib/contract/naming';
import { ClientFactory, GlobalOptions, regionOf } from '../aws';
import { loadTemplates } from '../cost/load';
import { CostAssumptions, DAYS_PER_MONTH, DEFAULT_ASSUMPTIONS, SharedShare, StackCost, priceTemplate, shareOf } from '../../lib/contract/cost/model';
import { CliError, Io, UsageError, aws } from '../io';
import { colors, table, usd, writeJson } from '../render';
import { findStaging, listStagings } from '../stagings';

export interface CostOptions extends GlobalOptions {
  readonly branches?: string;
  readonly databaseStorageGib?: string;
  readonly logGbPerDay?: string;
  readonly jobMinutes?: string;
  readonly pageViewsPerDay?: string;
  /** A shared stack template (or cdk.out directory holding it) to price the shared share from. */
  readonly shared?: string;
}

const DEFAULT_BRANCHES = 10;

interface BranchCost {
  readonly stackName: string;
  readonly cost: StackCost;
}

export async function costCommand(target: string | undefined, options: CostOptions, io: Io, clients: ClientFactory): Promise<void> {
  const assumptions = readAssumptions(options);
  const path = target ?? 'cdk.out';
  let branches: BranchCost[];
  let share: SharedShare | undefined;
  if (target === undefined || existsSync(path) || path.endsWith('.json')) {
    ({ branches, share } = offline(path, options, io, assumptions));
  } else {
    ({ branches, share } = await live(target, options, io, clients, assumptions));
  }
  if (options.json) {
    writeJson(io, branches.length === 1 ? json(branches[0], share) : { stacks: branches.map((b) => json(b, share)), shared: share && sharedJson(share) });
    return;
  }
  for (const b of branches) io.stdout.write(render(io, b, share));
  if (share) io.stdout.write(renderShared(io, share));
  const missing = [...new Set([...branches.flatMap((b) => b.cost.missing), ...(share?.stack.missing ?? [])])];
  for (const m of missing) io.stderr.write(`warning: ${m}; that item is left out of the totals\n`);
}

function readAssumptions(options: CostOptions): CostAssumptions {
  const num = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new UsageError(`${flag} must be a number of at least 0 (got ${JSON.stringify(v)})`);
    return n;
  };
  const storage = num('--database-storage-gib', options.databaseStorageGib);
  return {
    logGbPerGroupPerDay: num('--log-gb-per-day', options.logGbPerDay) ?? DEFAULT_ASSUMPTIONS.logGbPerGroupPerDay,
    jobMinutes: num('--job-minutes', options.jobMinutes) ?? DEFAULT_ASSUMPTIONS.jobMinutes,
    databaseStorageGiB: storage ?? DEFAULT_ASSUMPTIONS.databaseStorageGiB,
    databaseStorageSource: storage !== undefined ? '--database-storage-gib' : DEFAULT_ASSUMPTIONS.databaseStorageSource,
    pageViewsPerDay: num('--page-views-per-day', options.pageViewsPerDay) ?? DEFAULT_ASSUMPTIONS.pageViewsPerDay,
    pageViewSeconds: DEFAULT_ASSUMPTIONS.pageViewSeconds,
  };
}

function branchCount(options: CostOptions, liveCount?: number): { n: number; source: string } {
  if (options.branches !== undefined) {
    const n = Number(options.branches);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--branches must be a whole number of at least 1 (got ${JSON.stringify(options.branches)})`);
    return { n, source: '--branches' };
  }
  if (liveCount !== undefined) return { n: Math.max(1, liveCount), source: 'branch stagings deployed now' };
  return { n: DEFAULT_BRANCHES, source: `assumed; pass --branches <n>` };
}

/** Where a user finds the price table: in the installed package, compiled from lib/contract/cost/price-table.ts. */
export const PRICE_TABLE = 'node_modules/cdk-multi-staging/dist/contract/cost/price-table.js';

/** The templates of `--shared`, with errors that name the option. */
function sharedTemplates(path: string) {
  try {
    return loadTemplates(path);
  } catch (e) {
    if (e instanceof CliError) throw new CliError(`--shared ${path}: ${e.message}`, e.exitCode);
    throw e;
  }
}

/** The shared database's storage: what a branch restored from its snapshot starts with. */
function withSharedStorage(assumptions: CostAssumptions, options: CostOptions, sharedTemplate: any): CostAssumptions {
  if (options.databaseStorageGib !== undefined || !sharedTemplate) return assumptions;
  const db = Object.values<any>(sharedTemplate.Resources ?? {}).find((r) => r.Type === 'AWS::RDS::DBInstance');
  const gib = Number(db?.Properties?.AllocatedStorage);
  if (!Number.isFinite(gib) || gib <= 0) return assumptions;
  return { ...assumptions, databaseStorageGiB: gib, databaseStorageSource: "the shared database's, whose snapshot it restores" };
}

function offline(path: string, options: CostOptions, io: Io, assumptions: CostAssumptions) {
  const templates = loadTemplates(path);
  const region = (t: { region?: string }) => options.region ?? t.region ?? regionOf(options, io.env);
  const shared = templates.find((t) => t.shared) ?? (options.shared ? sharedTemplates(options.shared).find((t) => t.shared) : undefined);
  if (options.shared && !shared) throw new CliError(`--shared ${options.shared} holds no shared stack template (one with a SharedStagingParameterPrefix output).`);
  const branchAssumptions = withSharedStorage(assumptions, options, shared?.template);
  const branches = templates.filter((t) => !t.shared).map((t) => ({ stackName: t.stackName, cost: priceTemplate(t.template, region(t), branchAssumptions) }));
  const { n, source } = branchCount(options);
  const share = shared ? shareOf(priceTemplate(shared.template, region(shared), assumptions), n, source) : undefined;
  if (branches.length === 0 && !share) throw new CliError(`No stack to price in ${path}.`);
  return { branches, share };
}

async function live(branch: string, options: CostOptions, io: Io, factory: ClientFactory, assumptions: CostAssumptions) {
  const clients = factory(regionOf(options, io.env));
  const stagings = await listStagings(clients, options.prefix);
  const staging = findStaging(stagings, branch, options.prefix);
  io.stderr.write(`reading the templates of ${staging.stackName} and ${new SharedStagingNames(options.prefix).stackName}\n`);
  const template = async (stackName: string) => {
    const out = await aws(`cloudformation:GetTemplate on ${stackName}`, () =>
      clients.cloudformation.send(new GetTemplateCommand({ StackName: stackName, TemplateStage: 'Original' })));
    return JSON.parse(String(out.TemplateBody ?? '{}'));
  };
  const sharedName = new SharedStagingNames(options.prefix).stackName;
  const [branchTemplate, sharedTemplate] = await Promise.all([template(staging.stackName), template(sharedName).catch(() => undefined)]);
  if (!sharedTemplate) io.stderr.write(`warning: could not read ${sharedName}'s template; its share is left out\n`);
  const cost = priceTemplate(branchTemplate, clients.region, withSharedStorage(assumptions, options, sharedTemplate));
  const { n, source } = branchCount(options, stagings.length);
  const share = sharedTemplate ? shareOf(priceTemplate(sharedTemplate, clients.region, assumptions), n, source) : undefined;
  return { branches: [{ stackName: staging.stackName, cost }], share };
}

const round = (n: number) => Math.round(n * 10000) / 10000;

function json(b: BranchCost, share: SharedShare | undefined) {
  const sharePerDay = share?.perBranchPerDay ?? 0;
  return {
    stackName: b.stackName,
    region: b.cost.region,
    currency: b.cost.currency,
    pricesAsOf: b.cost.pricesAsOf,
    awakePerDay: round(b.cost.awakePerDay + sharePerDay),
    asleepPerDay: round(b.cost.asleepPerDay + sharePerDay),
    awakePerMonth: round((b.cost.awakePerDay + sharePerDay) * DAYS_PER_MONTH),
    asleepPerMonth: round((b.cost.asleepPerDay + sharePerDay) * DAYS_PER_MONTH),
    ownAwakePerDay: round(b.cost.awakePerDay),
    ownAsleepPerDay: round(b.cost.asleepPerDay),
    sharedPerBranchPerDay: round(sharePerDay),
    lines: b.cost.lines.map((l) => ({ ...l, awakePerDay: round(l.awakePerDay), asleepPerDay: round(l.asleepPerDay) })),
    missing: b.cost.missing,
    assumed: b.cost.assumed,
    arm64SavingPerDay: round(b.cost.arm64SavingPerDay),
    shared: share && sharedJson(share),
  };
}

function sharedJson(s: SharedShare) {
  return {
    perDay: round(s.stack.awakePerDay),
    branches: s.branches,
    branchesSource: s.branchesSource,
    perBranchPerDay: round(s.perBranchPerDay),
    lines: s.stack.lines.map((l) => ({ ...l, awakePerDay: round(l.awakePerDay), asleepPerDay: round(l.asleepPerDay) })),
    missing: s.stack.missing,
  };
}

function render(io: Io, b: BranchCost, share: SharedShare | undefined): string {
  const c = colors(io);
  const rows = b.cost.lines.map((l) => [
    l.category,
    l.item,
    l.detail + (l.estimate ? ' *' : ''),
    l.noPrice ? c.yellow(l.noPrice) : usd(l.awakePerDay, 3),
    l.noPrice ? '-' : usd(l.asleepPerDay, 3),
  ]);
  const sharePerDay = share?.perBranchPerDay ?? 0;
  if (share) rows.push(['shared', 'share of the shared stack', `${usd(share.stack.awakePerDay, 3)}/day over ${share.branches} branches (${share.branchesSource})`, usd(sharePerDay, 3), usd(sharePerDay, 3)]);
  const awake = b.cost.awakePerDay + sharePerDay;
  const asleep = b.cost.asleepPerDay + sharePerDay;
  rows.push(['total', 'per day', '', c.bold(usd(awake, 2)), c.bold(usd(asleep, 2))]);
  rows.push(['total', `per month (${DAYS_PER_MONTH} days)`, '', usd(awake * DAYS_PER_MONTH, 2), usd(asleep * DAYS_PER_MONTH, 2)]);
  return (
    `${c.bold(b.stackName)}: ${b.cost.region}, ${b.cost.currency}, on-demand prices as of ${b.cost.pricesAsOf}${b.cost.sleeps ? '' : ' (this stack does not sleep)'}\n` +
    table(io, ['category', 'item', 'how', 'awake/day', 'asleep/day'], rows, ['left', 'left', 'left', 'right', 'right']) +
    (b.cost.lines.some((l) => l.estimate) ? `* an estimated price: another region's figure or a rule of thumb (each figure's source: ${PRICE_TABLE})\n` : '') +
    arm64Note(b.cost, b.cost.awakePerDay + sharePerDay) +
    '\n'
  );
}

/** What ARM64 tasks would save, when some run on x86_64. */
function arm64Note(cost: StackCost, awakePerDay: number): string {
  if (cost.arm64SavingPerDay <= 0) return '';
  const pct = Math.round((100 * cost.arm64SavingPerDay) / awakePerDay);
  return (
    `On ARM64 (Graviton) the x86_64 tasks would cost ${usd(cost.arm64SavingPerDay, 3)} a day less awake (${pct}% of the total), ` +
    `if the image runs on arm64: staging.app.cpuArchitecture "arm64", or cpuArchitecture: ecs.CpuArchitecture.ARM64.\n`
  );
}

function renderShared(io: Io, s: SharedShare): string {
  const c = colors(io);
  const rows = s.stack.lines
    .filter((l) => l.awakePerDay > 0 || l.noPrice)
    .map((l) => [l.category, l.item, l.detail + (l.estimate ? ' *' : ''), l.noPrice ? c.yellow(l.noPrice) : usd(l.awakePerDay, 3)]);
  rows.push(['total', 'per day', '', c.bold(usd(s.stack.awakePerDay, 2))]);
  rows.push(['total', `per branch (${s.branches}, ${s.branchesSource})`, '', usd(s.perBranchPerDay, 3)]);
  return `${c.bold('shared stack')} (fixed costs, shown once):\n` + table(io, ['category', 'item', 'how', 'per day'], rows, ['left', 'left', 'left', 'right']) + '\n';
}
