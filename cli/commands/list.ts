/** `staging list`: every branch staging, sorted by last activity (rows from lib/contract/stagings-view.ts, as the stagings page shows them). */
import { capacitySummary } from '../../lib/contract/capacity';
import { readStagings, stagingRows, type StagingRow } from '../../lib/contract/stagings-view';
import { ClientFactory, GlobalOptions, regionOf } from '../aws';
import { Io } from '../io';
import { colors, duration, table, usd, writeJson } from '../render';
import { capacityOf, listStagings, sharedInfo, stagingSources } from '../stagings';
import { invokeSweeper } from './sweep';

export async function listCommand(options: GlobalOptions, io: Io, factory: ClientFactory): Promise<void> {
  const clients = factory(regionOf(options, io.env));
  const [stagings, shared] = await Promise.all([listStagings(clients, options.prefix), sharedInfo(clients, options.prefix)]);
  if (stagings.length === 0) {
    if (options.json) return writeJson(io, []);
    io.stdout.write(`No branch stagings with prefix ${options.prefix} in ${clients.region}.\n`);
    return pageFooter(io, shared.stagingsPageUrl);
  }
  io.stderr.write(`reading ${stagings.length} staging(s)...\n`);
  const sweeper = shared.sweeperFunctionName;
  const [read, capacity] = await Promise.all([
    readStagings(
      { ...stagingSources(clients), sweeperPlan: sweeper ? () => invokeSweeper(clients, sweeper, true) : undefined },
      { prefix: options.prefix, parameterPrefix: shared.parameterPrefix, nowMs: io.now().getTime(), stagings },
    ),
    capacityOf(clients, shared.parameterPrefix, stagings).catch((e: Error) => {
      io.stderr.write(`warning: no capacity (${e.message})\n`);
      return undefined;
    }),
  ]);
  if (read.planProblem) io.stderr.write(`warning: no sweeper plan (${read.planProblem})\n`);
  const listed = stagingRows(read);
  // The capacity in use (a shared stack from before shards has no registry: no line).
  const capacityLine = capacity ? `capacity: ${capacitySummary(capacity)}\n` : '';
  if (options.json || !io.isTTY) io.stderr.write(capacityLine);
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
    l.pinnedUntil ?? (read.state.pins.get(l.name)?.kind === 'malformed' ? 'unreadable (kept)' : '-'),
    l.costPerDay === undefined ? '-' : usd(l.costPerDay),
  ]);
  io.stdout.write(table(io, ['branch', 'kind', 'url', 'state', 'age', 'last activity', 'sweeper', 'pinned until', 'cost/day'], rows));
  io.stdout.write(capacityLine);
  pageFooter(io, shared.stagingsPageUrl);
}

/** On a terminal, where the rest of the team sees the same list (a shared stack older than the page has none). */
function pageFooter(io: Io, url: string | undefined): void {
  if (io.isTTY && url) io.stdout.write(`\nThe stagings page, for everyone without a terminal: ${url}\n`);
}

function sweeperText(l: StagingRow, now: number): string {
  const s = l.sweeper;
  if (!s) return '-';
  if (s.deleteAt) return `${s.action}, deletes in ${duration(Date.parse(s.deleteAt) - now)}`;
  if (s.idleAt && Date.parse(s.idleAt) > now) return `idle in ${duration(Date.parse(s.idleAt) - now)}`;
  return s.action;
}
