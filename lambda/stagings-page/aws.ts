/**
 * Every AWS call of the stagings page. A view reads each source once (the stacks, the pins and
 * sweeper records by path, the sleep states and keep-alives of the listed stagings by name, ten a
 * call, all at once), and decides the sweeper's plan in-process with the sweeper's own `decide`
 * over those same reads plus its RequestCount query (500 target groups a call), rather than
 * invoking the sweeper's dry run (which would read everything again, page after page). The
 * capacity in use is the shard registry (one GetParameter) with the stagings counted on the shard
 * their stack's output names, as `staging list` counts them (lib/contract/capacity.ts
 * capacityInUse): no slot is read. The result is kept per function instance for {@link READ_TTL_MS}; the page's own actions update it, so the
 * next view shows them without reading again. Clients live at module scope (aws-sdk-client-mock's
 * mockClient(Class) catches them).
 */
import { DeleteStackCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, CreateLogStreamCommand, PutLogEventsCommand, paginateFilterLogEvents } from '@aws-sdk/client-cloudwatch-logs';
import { GetFunctionConfigurationCommand, InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DeleteParameterCommand, GetParametersCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { BranchStatePaths, SweeperRecords, parsePin, type BranchParameter, type BranchParameterFolder } from '../../lib/contract/branch-state';
import { readShardRegistry, type ShardRegistry } from '../../lib/contract/capacity';
import type { ManualSleepResult } from '../../lib/contract/sleeper';
import type { AuditRecord } from '../../lib/contract/stagings-page';
import { invocationAnswer, readStagings, stagingsOf, type StagingSources, type StagingsRead, type SweepReportView } from '../../lib/contract/stagings-view';
import { cloudformation, describeAllStacks, lastRequests, parametersByPath, ssm, type RequestResult } from '../sweeper/aws';
import { decide, requestQueries, type Observation } from '../sweeper/decide';
import { configFromEnvironment } from '../sweeper/index';
import { metricWindow, type SweeperConfig } from '../sweeper/model';
import { reportOf } from '../sweeper/sweep';
import { parameterIfAny } from '../shared/ssm-parameter';
import type { PageConfig } from './config';

const SDK = { maxAttempts: 4, retryMode: 'adaptive' } as const;
export const logs = new CloudWatchLogsClient(SDK);
export const lambda = new LambdaClient(SDK);
export const sns = new SNSClient(SDK);

/** How long a read of the stagings is shown before it is read again. */
export const READ_TTL_MS = 30_000;
/**
 * How long the last requests (CloudWatch RequestCount, billed per metric: up to one per staging)
 * are reused: the sweeper judges idleness in days, and a visit to a sleeping branch is a keep-alive.
 */
export const REQUESTS_TTL_MS = 5 * 60_000;
/** How far back the history goes. */
export const HISTORY_DAYS = 90;
/** At most this many audit pages per history (FilterLogEvents): the newest records are what matter. */
const HISTORY_PAGES = 3;
/** GetParameters takes at most 10 names per call. */
const NAMES_PER_CALL = 10;

interface Cached<T> {
  readonly at: number;
  readonly value: T;
}

/** The instance's cache: the stagings as last read, the capacity, the last requests, the sweeper's settings. */
export const cache: {
  read?: Cached<StagingsRead>;
  registry?: Cached<ShardRegistry | undefined>;
  requests?: Cached<Map<string, RequestResult>>;
  sweeper?: SweeperConfig;
} = {};

/** Empties the cache (tests, and the bench's cold view). */
export function forgetCache(): void {
  delete cache.read;
  delete cache.registry;
  delete cache.requests;
  delete cache.sweeper;
}

/** The sweeper's settings (idle timeout, warning period, ...), from its function's environment, once per instance. */
async function sweeperConfig(functionName: string): Promise<SweeperConfig> {
  if (!cache.sweeper) {
    const out = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
    cache.sweeper = { ...configFromEnvironment({ ...out.Environment?.Variables, AWS_REGION: process.env.AWS_REGION }), dryRun: true };
  }
  return cache.sweeper;
}

/** The parameters of `names` (GetParameters, ten a call, every call at once); missing ones are left out. */
async function parametersNamed(names: readonly string[]): Promise<BranchParameter[]> {
  const batches: string[][] = [];
  for (let i = 0; i < names.length; i += NAMES_PER_CALL) batches.push(names.slice(i, i + NAMES_PER_CALL));
  const pages = await Promise.all(batches.map((Names) => ssm.send(new GetParametersCommand({ Names }))));
  return pages.flatMap((page) => (page.Parameters ?? []).map((p) => ({ name: String(p.Name), value: p.Value ?? '', lastModifiedMs: p.LastModifiedDate?.getTime() })));
}

/**
 * The sources of one view, each read at most once: the stacks; the sparse folders (pins) by path;
 * the dense ones (a sleep state and a keep-alive for most stagings) by the listed stagings' names;
 * the sweeper's plan decided here from the same reads.
 */
function viewSources(config: PageConfig, nowMs: number): StagingSources {
  const once = <T>(read: () => Promise<T>): (() => Promise<T>) => {
    let promise: Promise<T> | undefined;
    return () => (promise ??= read());
  };
  const paths = new BranchStatePaths(config.parameterPrefix);
  const stacks = once(describeAllStacks);
  const named = (folder: BranchParameterFolder) => once(async () => parametersNamed(stagingsOf(await stacks(), config.prefix).map((s) => folder.of(s.name))));
  const folders = new Map<string, () => Promise<BranchParameter[]>>([
    [paths.pins.root, once(() => parametersByPath(paths.pins.root))],
    [paths.keepAlives.root, named(paths.keepAlives)],
    [paths.sleepStates.root, named(paths.sleepStates)],
  ]);
  const parametersBelow = (root: string) => (folders.get(root) ?? (() => parametersByPath(root)))();
  const sweeperPlan = async (): Promise<SweepReportView> => {
    const [sc, listed] = await Promise.all([
      sweeperConfig(config.sweeperFunctionName!),
      Promise.all([stacks(), parametersBelow(paths.pins.root), parametersBelow(paths.keepAlives.root), parametersByPath(paths.sweeper.root)])
        .then(([s, pins, keepAlives, state]): Observation => ({ nowMs, stacks: s, pins, keepAlives, state })),
    ]);
    const requests = await lastRequestsOf(sc, listed);
    return { dryRun: true, stagings: decide(sc, { ...listed, requests }).decisions.map((d) => reportOf(sc, d)) };
  };
  return { stacks, parametersBelow, sweeperPlan: config.sweeperFunctionName ? sweeperPlan : undefined };
}

/** RequestCount of the stagings the sweeper's decision needs it for, reused for REQUESTS_TTL_MS when it covers them. */
async function lastRequestsOf(sc: SweeperConfig, listed: Observation): Promise<Map<string, RequestResult> | undefined> {
  const queries = requestQueries(sc, listed);
  if (queries.length === 0) return undefined;
  const cached = cache.requests;
  if (cached && listed.nowMs - cached.at < REQUESTS_TTL_MS && queries.every((q) => cached.value.has(q.key))) return cached.value;
  const value = await lastRequests(queries, metricWindow(listed.nowMs, sc.idleTimeoutMs), listed.nowMs);
  cache.requests = { at: listed.nowMs, value };
  return value;
}

/** The stagings and everything about them, from the cache when it is fresh enough. */
export async function readAll(config: PageConfig, nowMs: number): Promise<StagingsRead> {
  if (cache.read && nowMs - cache.read.at < READ_TTL_MS) return cache.read.value;
  const value = await readStagings(viewSources(config, nowMs), { prefix: config.prefix, parameterPrefix: config.parameterPrefix, nowMs });
  cache.read = { at: nowMs, value };
  return value;
}

/** Re-reads only the stacks (before an action: the staging must still exist), keeping the rest of the cache. */
export async function refreshStacks(config: PageConfig, nowMs: number): Promise<StagingsRead> {
  if (!cache.read) return readAll(config, nowMs);
  const value = { ...cache.read.value, stagings: stagingsOf(await describeAllStacks(), config.prefix) };
  cache.read = { at: cache.read.at, value };
  return value;
}

/**
 * The shard registry (lib/contract/capacity.ts) when SharedStaging publishes its shards; none for a
 * shared stack from before shards or an unreadable registry (a plain Error from the kernel's parse),
 * while a failing AWS call fails the view as any other read does.
 */
export async function readRegistry(config: PageConfig, nowMs: number): Promise<ShardRegistry | undefined> {
  if (cache.registry && nowMs - cache.registry.at < READ_TTL_MS) return cache.registry.value;
  let value: ShardRegistry | undefined;
  try {
    value = await readShardRegistry({ get: (name) => parameterIfAny(ssm, name) }, config.parameterPrefix);
  } catch (e) {
    if (!(e instanceof Error) || e.name !== 'Error') throw e;
  }
  cache.registry = { at: nowMs, value };
  return value;
}

async function invokeJson<T>(functionName: string, payload: unknown, what: string): Promise<T> {
  const out = await lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: new TextEncoder().encode(JSON.stringify(payload)) }));
  const answer = invocationAnswer(out.Payload, out.FunctionError);
  if (answer.error !== undefined) throw new Error(`the ${what} failed: ${answer.error}`);
  if (answer.result === undefined) throw new Error(`the ${what} returned no result`);
  return answer.result as T;
}

/** Wakes or sleeps a staging now, as `staging wake`/`sleep` do; the cache takes its new state. */
export async function wakeOrSleep(config: PageConfig, action: 'wake' | 'sleep', stagingName: string, nowMs: number): Promise<ManualSleepResult> {
  const result = await invokeJson<ManualSleepResult>(config.sleeperFunctionName!, { [action]: stagingName }, 'sleeper');
  const previous = cache.read?.value.state.sleep.get(stagingName);
  if (cache.read && previous?.state !== result.state) cache.read.value.state.sleep.set(stagingName, { state: result.state, since: new Date(nowMs).toISOString() });
  return result;
}

/** Writes the pin (`staging keep`); the cache shows it at once. */
export async function keep(config: PageConfig, stagingName: string, date: string, nowMs: number): Promise<void> {
  await ssm.send(new PutParameterCommand({ Name: new BranchStatePaths(config.parameterPrefix).pins.of(stagingName), Value: date, Type: 'String', Overwrite: true }));
  cache.read?.value.state.pins.set(stagingName, parsePin(date, nowMs));
}

/** Deletes the pin (`staging unkeep`); false when there was none. */
export async function unkeep(config: PageConfig, stagingName: string): Promise<boolean> {
  cache.read?.value.state.pins.delete(stagingName);
  try {
    await ssm.send(new DeleteParameterCommand({ Name: new BranchStatePaths(config.parameterPrefix).pins.of(stagingName) }));
    return true;
  } catch (e: any) {
    if (e?.name === 'ParameterNotFound') return false;
    throw e;
  }
}

/** DeleteStack with the sweeper's deletion role, then the announcement on the sweeper's topic. */
export async function destroy(config: PageConfig, s: { stackId: string; stackName: string; name: string; branch: string }, who: string): Promise<void> {
  await cloudformation.send(new DeleteStackCommand({ StackName: s.stackId, RoleARN: config.deletionRoleArn }));
  if (cache.read) {
    const stagings = cache.read.value.stagings.map((x) => (x.stackId === s.stackId ? { ...x, status: 'DELETE_IN_PROGRESS' } : x));
    cache.read = { at: cache.read.at, value: { ...cache.read.value, stagings } };
  }
  await sns.send(new PublishCommand({
    TopicArn: config.topicArn,
    Subject: `Staging ${s.name} destroyed from the stagings page`.slice(0, 100),
    Message: `${who} destroyed the staging "${s.name}" (branch ${s.branch}, stack ${s.stackName}) from the stagings page at ${new Date().toISOString()}.`,
  }));
}

/** Log streams this instance created (or found): one per day. */
const streams = new Set<string>();

/** Appends one audit record to AUDIT_LOG_GROUP, creating the day's stream when needed (idempotent). */
export async function audit(config: PageConfig, record: AuditRecord): Promise<void> {
  const stream = `stagings-page/${record.at.slice(0, 10)}`;
  if (!streams.has(stream)) {
    try {
      await logs.send(new CreateLogStreamCommand({ logGroupName: config.auditLogGroup, logStreamName: stream }));
    } catch (e: any) {
      if (e?.name !== 'ResourceAlreadyExistsException') throw e;
    }
    streams.add(stream);
  }
  await logs.send(new PutLogEventsCommand({ logGroupName: config.auditLogGroup, logStreamName: stream, logEvents: [{ timestamp: Date.parse(record.at), message: JSON.stringify(record) }] }));
}

/** Forgets the streams this instance knows (tests). */
export function forgetStreams(): void {
  streams.clear();
}

/** The audit records of one staging, oldest first (FilterLogEvents on its name, the last HISTORY_DAYS). */
export async function auditRecords(config: PageConfig, stagingName: string, nowMs: number): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  const input = {
    logGroupName: config.auditLogGroup,
    filterPattern: `{ $.stagingName = ${JSON.stringify(stagingName)} }`,
    startTime: nowMs - HISTORY_DAYS * 86400_000,
  };
  let pages = 0;
  for await (const page of paginateFilterLogEvents({ client: logs }, input)) {
    for (const e of page.events ?? []) {
      try {
        const r = JSON.parse(e.message ?? '') as AuditRecord;
        if (r.stagingName === stagingName) out.push(r);
      } catch {
        // not an audit record
      }
    }
    if (++pages >= HISTORY_PAGES) break;
  }
  return out;
}

/** The sweeper's warnings of one staging (`sweeper/warned/<name>/...`). */
export async function warnings(config: PageConfig, stagingName: string): Promise<BranchParameter[]> {
  const paths = new BranchStatePaths(config.parameterPrefix);
  return parametersByPath(`${paths.sweeper.root}/${SweeperRecords.WARNED}/${stagingName}`);
}
