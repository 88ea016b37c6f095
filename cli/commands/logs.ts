/**
 * `staging logs <branch> [--service <name>] [--since 1h] [--follow]`: a branch's logs from
 * CloudWatch Logs. Each service has its log group `/<prefix>/<staging name>/<service>`
 * (lib/contract/naming.ts stagingLogGroupPrefix, serviceLogGroupName), so they are found by that prefix.
 *
 * History is FilterLogEvents (its paginator) per group, merged by time. --follow uses
 * StartLiveTail rather than polling FilterLogEvents: events arrive within about a second of
 * being written, one streaming call serves up to 10 groups, and it does not eat into the
 * account's shared FilterLogEvents rate limit (a few calls a second per account and region, which
 * a loop per group and per developer would soon throttle). Its costs: Live Tail is billed per
 * session minute, a session ends after 3 hours, and above 500 events a second it samples (such
 * lines are marked). The tail starts before the history is read, so nothing written in between is
 * lost; lines seen in both are printed once.
 */
import { LogGroup, StartLiveTailCommand, paginateDescribeLogGroups, paginateFilterLogEvents } from '@aws-sdk/client-cloudwatch-logs';
import { slugify, stagingLogGroupPrefix } from '../../lib/contract/naming';
import { ClientFactory, Clients, GlobalOptions, regionOf } from '../aws';
import { CliError, Io, UsageError, aws } from '../io';
import { colors } from '../render';
import { nearMatches } from '../../lib/contract/suggest';
import { findStaging, listStagings } from '../stagings';

export interface LogsOptions extends GlobalOptions {
  readonly service?: string;
  readonly since?: string;
  readonly follow?: boolean;
}

interface Group {
  readonly name: string;
  readonly arn: string;
  readonly service: string;
}

interface Line {
  readonly service: string;
  readonly timestamp: number;
  readonly logStream: string;
  readonly message: string;
  readonly sampled?: boolean;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3600_000, d: 86400_000 };

/** `--since`: 30s, 15m, 1h, 2d ago, or an ISO-8601 time. */
export function sinceMs(since: string, now: Date): number {
  const m = /^(\d+)\s*([smhd])$/.exec(since.trim());
  if (m && Number(m[1]) > 0) return now.getTime() - Number(m[1]) * UNITS[m[2]];
  const t = /^\d{4}-\d{2}-\d{2}/.test(since) ? Date.parse(since) : NaN;
  if (Number.isNaN(t)) throw new UsageError(`--since must be a duration like 15m, 1h or 2d, or an ISO time like 2026-12-01T09:00:00Z (got ${JSON.stringify(since)})`);
  return t;
}

export async function logsCommand(branch: string, options: LogsOptions, io: Io, factory: ClientFactory): Promise<void> {
  const start = sinceMs(options.since ?? '1h', io.now());
  const clients = factory(regionOf(options, io.env));
  const staging = findStaging(await listStagings(clients, options.prefix), branch, options.prefix);
  const prefix = stagingLogGroupPrefix(options.prefix, staging.name);
  const all = await logGroups(clients, prefix);
  if (all.length === 0) throw new CliError(`${staging.stackName} has no log groups below ${prefix} in ${clients.region} (status ${staging.status}). Wait for its deploy to finish, or check --prefix and --region.`);
  let groups = all;
  if (options.service !== undefined) {
    groups = all.filter((g) => g.service === slugify(options.service!) || g.service === options.service);
    if (groups.length === 0) {
      const near = nearMatches(options.service, all.map((g) => g.service));
      throw new CliError(`${staging.branch} has no service ${JSON.stringify(options.service)}.${near.length ? ` Did you mean: ${near.join(', ')}?` : ''} Its services: ${all.map((g) => g.service).join(', ')}.`);
    }
  }
  const print = printer(io, Math.max(...groups.map((g) => g.service.length)), Boolean(options.json));
  const tails = options.follow ? await startTails(clients, groups) : [];
  io.stderr.write(`${staging.branch}: ${groups.map((g) => g.service).join(', ')} since ${new Date(start).toISOString()}${options.follow ? ', then following (Ctrl-C to stop)' : ''}\n`);
  const history = await read(clients, groups, start);
  for (const line of history) print(line);
  if (!options.follow) {
    if (history.length === 0 && !options.json) io.stderr.write(`no log events since ${new Date(start).toISOString()}\n`);
    return;
  }
  const seen = new Set(history.map(key));
  const byArn = new Map(groups.flatMap((g) => [[g.arn, g], [g.name, g]]));
  await Promise.all(tails.map((tail) => drain(tail, byArn, (line) => !seen.has(key(line)) && print(line))));
}

async function logGroups(clients: Clients, prefix: string): Promise<Group[]> {
  const groups: Group[] = [];
  await aws(`logs:DescribeLogGroups on ${prefix}*`, async () => {
    for await (const page of paginateDescribeLogGroups({ client: clients.logs }, { logGroupNamePrefix: prefix })) {
      for (const g of page.logGroups ?? []) if (g.logGroupName) groups.push({ name: g.logGroupName, arn: arnOf(g), service: g.logGroupName.slice(prefix.length) });
    }
  });
  return groups.sort((a, b) => a.service.localeCompare(b.service));
}

function arnOf(g: LogGroup): string {
  return g.logGroupArn ?? String(g.arn ?? g.logGroupName).replace(/:\*$/, '');
}

/** Every group's events since `start`, merged by time (stable: a group's own order is kept). */
async function read(clients: Clients, groups: Group[], start: number): Promise<Line[]> {
  const per = await Promise.all(groups.map((g) => aws(`logs:FilterLogEvents on ${g.name}`, async () => {
    const lines: Line[] = [];
    for await (const page of paginateFilterLogEvents({ client: clients.logs }, { logGroupName: g.name, startTime: start })) {
      for (const e of page.events ?? []) lines.push({ service: g.service, timestamp: e.timestamp ?? 0, logStream: e.logStreamName ?? '', message: e.message ?? '' });
    }
    return lines;
  })));
  return per.flat().sort((a, b) => a.timestamp - b.timestamp);
}

type Tail = { readonly iterator: AsyncIterator<any>; readonly first?: IteratorResult<any> };

/** One Live Tail session per 10 groups (its limit), each past its sessionStart before the history is read. */
async function startTails(clients: Clients, groups: Group[]): Promise<Tail[]> {
  const chunks: Group[][] = [];
  for (let i = 0; i < groups.length; i += 10) chunks.push(groups.slice(i, i + 10));
  return Promise.all(chunks.map((chunk) => aws(`logs:StartLiveTail on ${chunk.map((g) => g.name).join(', ')}`, async () => {
    const out = await clients.logs.send(new StartLiveTailCommand({ logGroupIdentifiers: chunk.map((g) => g.arn) }));
    if (!out.responseStream) throw new CliError('CloudWatch Logs started no live tail (no response stream). Run again without --follow.');
    const iterator = out.responseStream[Symbol.asyncIterator]();
    const first = await iterator.next();
    return { iterator, first: first.value?.sessionStart ? undefined : first };
  })));
}

async function drain(tail: Tail, groups: Map<string, Group>, print: (line: Line) => unknown): Promise<void> {
  let next = tail.first ?? (await tail.iterator.next());
  while (!next.done) {
    const event = next.value;
    if (event.SessionTimeoutException) throw new CliError('The live tail ended: CloudWatch ends a session after 3 hours. Run staging logs --follow again.');
    if (event.SessionStreamingException) throw new CliError(`The live tail failed: ${event.SessionStreamingException.message ?? 'SessionStreamingException'}. Run staging logs --follow again.`);
    for (const r of event.sessionUpdate?.sessionResults ?? []) {
      const g = groups.get(String(r.logGroupIdentifier)) ?? groups.get(String(r.logGroupIdentifier).replace(/:\*$/, ''));
      print({ service: g?.service ?? String(r.logGroupIdentifier).split('/').pop() ?? '', timestamp: r.timestamp ?? 0, logStream: r.logStreamName ?? '', message: r.message ?? '', sampled: r.sampled || undefined });
    }
    next = await tail.iterator.next();
  }
}

function key(l: Line): string {
  return `${l.logStream}\u0000${l.timestamp}\u0000${l.message}`;
}

/** `web     2026-12-01T11:58:03.120Z message`; JSON lines with --json. */
function printer(io: Io, width: number, json: boolean): (line: Line) => void {
  const c = colors(io);
  return (l) => {
    const message = l.message.replace(/\r?\n$/, '');
    const time = new Date(l.timestamp).toISOString();
    if (json) return void io.stdout.write(JSON.stringify({ service: l.service, timestamp: time, logStream: l.logStream, message, ...(l.sampled ? { sampled: true } : {}) }) + '\n');
    io.stdout.write(`${c.cyan(l.service.padEnd(width))} ${c.dim(time)} ${message}${l.sampled ? ' (sampled)' : ''}\n`);
  };
}
