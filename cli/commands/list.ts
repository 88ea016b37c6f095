/** `staging list`: every branch staging, sorted by last activity. */
import { GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import { BranchStatePaths, SleepStates, lastActivity, malformedPinProblem, parseTimestamp, type Activity } from '../../lib/contract/branch-state';
import { ClientFactory, Clients, GlobalOptions, regionOf } from '../aws';
import { priceTemplate } from '../../lib/contract/cost/model';
import { Io } from '../io';
import { colors, duration, table, usd, writeJson } from '../render';
import { Staging, branchState, listStagings, sharedInfo } from '../stagings';
import { SweepReportView, invokeSweeper } from './sweep';

export interface ListedStaging {
  readonly branch: string;
  readonly name: string;
  readonly stackName: string;
  readonly kind: 'full' | 'lite';
  readonly url?: string;
  readonly state: string;
  readonly status: string;
  readonly createdAt: string;
  readonly lastActivity?: string;
  readonly sweeper?: { action: string; reason: string; deleteAt?: string; idleAt?: string };
  /** The last day of an active pin (kept until the end of that UTC day). */
  readonly pinnedUntil?: string;
  /** Unreadable pins and keep-alives; an unreadable pin keeps the staging (fail closed). */
  readonly problems?: string[];
  /** Own resources at the current state (awake or asleep), without the shared stack's share. */
  readonly costPerDay?: number;
}

/** awake, sleeping, waking, deleting or failed: the stack status first, then the sleep state. */
export function stateOf(status: string, sleepState: string | undefined): string {
  if (status.startsWith('DELETE')) return status === 'DELETE_FAILED' ? 'failed' : 'deleting';
  if (/FAILED|ROLLBACK_COMPLETE/.test(status) && status !== 'UPDATE_ROLLBACK_COMPLETE') return 'failed';
  if (status.endsWith('_IN_PROGRESS')) return 'deploying';
  return sleepState ?? SleepStates.AWAKE;
}

export async function listCommand(options: GlobalOptions, io: Io, factory: ClientFactory): Promise<void> {
  const clients = factory(regionOf(options, io.env));
  const [stagings, shared] = await Promise.all([listStagings(clients, options.prefix), sharedInfo(clients, options.prefix)]);
  if (stagings.length === 0) {
    if (options.json) return writeJson(io, []);
    io.stdout.write(`No branch stagings with prefix ${options.prefix} in ${clients.region}.\n`);
    return pageFooter(io, shared.stagingsPageUrl);
  }
  io.stderr.write(`reading ${stagings.length} staging(s)...\n`);
  const [state, report, costs] = await Promise.all([
    branchState(clients, shared.parameterPrefix, io.now().getTime()),
    shared.sweeperFunctionName ? invokeSweeper(clients, shared.sweeperFunctionName, true).catch((e: Error) => warn(io, `no sweeper plan (${e.message})`)) : undefined,
    Promise.all(stagings.map((s) => ownCost(clients, s).catch(() => undefined))),
  ]);
  const plans = new Map((report as SweepReportView | undefined)?.stagings.map((s) => [s.stagingName, s]) ?? []);
  const paths = new BranchStatePaths(shared.parameterPrefix);
  const listed: ListedStaging[] = stagings.map((s, i) => {
    const plan = plans.get(s.name);
    const st = stateOf(s.status, state.sleep.get(s.name)?.state);
    const keepAlive = state.keepAlives.get(s.name);
    const pin = state.pins.get(s.name);
    const planned = plan?.lastActivity !== undefined && plan.lastActivitySource ? parseTimestamp(plan.lastActivity) : undefined;
    const known: Activity | undefined = planned !== undefined ? { at: planned, source: plan!.lastActivitySource! } : undefined;
    const last = lastActivity({ createdMs: s.created.getTime(), updatedMs: s.updated?.getTime(), keepAlive, known: [known] });
    const problems = [
      ...(pin?.kind === 'malformed' ? [`${malformedPinProblem(paths.pins.of(s.name), pin.value)}: kept (fail closed)`] : []),
      ...(keepAlive?.problem ? [`${paths.keepAlives.of(s.name)}: ${keepAlive.problem}`] : []),
    ];
    const cost = costs[i];
    return {
      branch: s.branch,
      name: s.name,
      stackName: s.stackName,
      kind: s.kind === 'feature-lite' ? 'lite' : 'full',
      url: s.url,
      state: st,
      status: s.status,
      createdAt: s.created.toISOString(),
      lastActivity: last && new Date(last.at).toISOString(),
      sweeper: plan && { action: plan.action, reason: plan.reason, deleteAt: plan.deleteAt, idleAt: plan.idleAt },
      pinnedUntil: pin?.kind === 'active' ? pin.value.trim() : plan?.pinnedUntil,
      ...(problems.length ? { problems } : {}),
      costPerDay: cost && Math.round((st === SleepStates.SLEEPING ? cost.asleep : cost.awake) * 100) / 100,
    };
  });
  listed.sort((a, b) => (b.lastActivity ?? '').localeCompare(a.lastActivity ?? '') || a.branch.localeCompare(b.branch));
  if (options.json) return writeJson(io, listed);
  if (!io.isTTY) {
    // Piped: one staging a line, tab-separated, for cut/awk.
    for (const l of listed) io.stdout.write([l.branch, l.name, l.kind, l.url ?? '-', l.state].join('\t') + '\n');
    return;
  }
  const c = colors(io);
  const now = io.now().getTime();
  const paint = (s: string) => (s === 'awake' ? c.green(s) : s === 'failed' ? c.red(s) : s === 'sleeping' ? c.dim(s) : c.yellow(s));
  const rows = listed.map((l) => [
    l.branch,
    l.kind,
    l.url ?? '-',
    paint(l.state),
    duration(now - Date.parse(l.createdAt)),
    l.lastActivity ? `${duration(now - Date.parse(l.lastActivity))} ago` : '-',
    sweeperText(l, now),
    l.pinnedUntil ?? (state.pins.get(l.name)?.kind === 'malformed' ? 'unreadable (kept)' : '-'),
    l.costPerDay === undefined ? '-' : usd(l.costPerDay),
  ]);
  io.stdout.write(table(io, ['branch', 'kind', 'url', 'state', 'age', 'last activity', 'sweeper', 'pinned until', 'cost/day'], rows));
  pageFooter(io, shared.stagingsPageUrl);
}

/** On a terminal, where the rest of the team sees the same list (a shared stack older than the page has none). */
function pageFooter(io: Io, url: string | undefined): void {
  if (io.isTTY && url) io.stdout.write(`\nThe stagings page, for everyone without a terminal: ${url}\n`);
}

function sweeperText(l: ListedStaging, now: number): string {
  const s = l.sweeper;
  if (!s) return '-';
  if (s.deleteAt) return `${s.action}, deletes in ${duration(Date.parse(s.deleteAt) - now)}`;
  if (s.idleAt && Date.parse(s.idleAt) > now) return `idle in ${duration(Date.parse(s.idleAt) - now)}`;
  return s.action;
}

function warn(io: Io, text: string): undefined {
  io.stderr.write(`warning: ${text}\n`);
  return undefined;
}

async function ownCost(clients: Clients, s: Staging): Promise<{ awake: number; asleep: number }> {
  const out = await clients.cloudformation.send(new GetTemplateCommand({ StackName: s.stackId, TemplateStage: 'Original' }));
  const cost = priceTemplate(JSON.parse(String(out.TemplateBody ?? '{}')), clients.region);
  return { awake: cost.awakePerDay, asleep: cost.asleepPerDay };
}
