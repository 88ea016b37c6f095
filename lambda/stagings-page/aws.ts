/**
 * Every AWS call of the stagings page. Reads go through one in-memory cache per function instance
 * (short-lived: {@link READ_TTL_MS}; the sweeper's dry run, which is slow and changes only with the
 * sweeper's own schedule, {@link PLAN_TTL_MS}); the page's own actions update the cache, so the next
 * view shows them without reading again. Clients live at module scope (aws-sdk-client-mock's
 * mockClient(Class) catches them).
 */
import { DeleteStackCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, CreateLogStreamCommand, PutLogEventsCommand, paginateFilterLogEvents } from '@aws-sdk/client-cloudwatch-logs';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DeleteParameterCommand, GetParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { BranchStatePaths, SweeperRecords, parsePin, type BranchParameter } from '../../lib/contract/branch-state';
import { shardRegistryParameterName, type ShardRegistry } from '../../lib/contract/capacity';
import type { ManualSleepResult } from '../../lib/contract/sleeper';
import type { AuditRecord } from '../../lib/contract/stagings-page';
import { invocationAnswer, readStagings, stagingsOf, type StagingsRead, type SweepReportView } from '../../lib/contract/stagings-view';
import { cloudformation, describeAllStacks, parametersByPath, ssm } from '../sweeper/aws';
import type { PageConfig } from './config';

const SDK = { maxAttempts: 4, retryMode: 'adaptive' } as const;
export const logs = new CloudWatchLogsClient(SDK);
export const lambda = new LambdaClient(SDK);
export const sns = new SNSClient(SDK);

/** How long a read of the stagings is shown before it is read again. */
export const READ_TTL_MS = 30_000;
/** How long the sweeper's dry run is reused: the sweeper itself runs on a schedule of an hour or so. */
export const PLAN_TTL_MS = 5 * 60_000;
/** How far back the history goes. */
export const HISTORY_DAYS = 90;
/** At most this many audit pages per history (FilterLogEvents): the newest records are what matter. */
const HISTORY_PAGES = 3;

interface Cached<T> {
  readonly at: number;
  readonly value: T;
}

/** The instance's cache: the stagings as last read, the sweeper's plan, the capacity. */
export const cache: { read?: Cached<StagingsRead>; plan?: Cached<SweepReportView>; capacity?: Cached<ShardRegistry | undefined> } = {};

/** Empties the cache (tests, and the bench's cold view). */
export function forgetCache(): void {
  delete cache.read;
  delete cache.plan;
  delete cache.capacity;
}

async function sweeperPlan(config: PageConfig, nowMs: number): Promise<SweepReportView> {
  if (cache.plan && nowMs - cache.plan.at < PLAN_TTL_MS) return cache.plan.value;
  const value = await invokeJson<SweepReportView>(config.sweeperFunctionName!, { dryRun: true }, 'sweeper');
  cache.plan = { at: nowMs, value };
  return value;
}

/** The stagings and everything about them, from the cache when it is fresh enough. */
export async function readAll(config: PageConfig, nowMs: number, fresh = false): Promise<StagingsRead> {
  if (!fresh && cache.read && nowMs - cache.read.at < READ_TTL_MS) return cache.read.value;
  const value = await readStagings(
    {
      stacks: describeAllStacks,
      parametersBelow: parametersByPath,
      sweeperPlan: config.sweeperFunctionName ? () => sweeperPlan(config, nowMs) : undefined,
    },
    { prefix: config.prefix, parameterPrefix: config.parameterPrefix, nowMs },
  );
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

/** `<parameter prefix>/capacity/shards`, when SharedStaging publishes one. */
export async function readCapacity(config: PageConfig, nowMs: number): Promise<ShardRegistry | undefined> {
  if (cache.capacity && nowMs - cache.capacity.at < READ_TTL_MS) return cache.capacity.value;
  let value: ShardRegistry | undefined;
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: shardRegistryParameterName(config.parameterPrefix) }));
    value = JSON.parse(out.Parameter?.Value ?? 'null') ?? undefined;
  } catch (e: any) {
    if (e?.name !== 'ParameterNotFound' && !(e instanceof SyntaxError)) throw e;
  }
  cache.capacity = { at: nowMs, value };
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
