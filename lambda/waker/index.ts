/**
 * Sleep on idle, wake on request. One bundle, four entry points, all run in the shared stack:
 *
 * - `onRequest`: the Lambda target of the shared waker target group. A sleeping branch's rule
 *   forwards here. Browsers get the waking page (200), other clients 503 + Retry-After, link
 *   previewers the page without waking anything. The first request after a sleep wins an atomic
 *   claim and starts the branch; every request moves the wake on (model.ts wakeStep).
 * - `onSchedule`: the sleeper, run every few minutes. Puts idle branches to sleep, finishes wakes
 *   nobody is watching, stops (and re-stops, after RDS's 7-day auto-start) sleeping databases.
 *   Invoked by hand with `{"wake": "<staging name>"}` or `{"sleep": "<staging name>"}` (the
 *   `staging wake` / `staging sleep` commands), it wakes or sleeps that one branch now; any other
 *   key is refused before any AWS call (model.ts parseSleeperEvent).
 * - `onEvent` / `isComplete`: the `waker` provider of each branch's Custom::StagingSleep resource.
 *   A deploy records the branch's config and wakes a sleeping branch: the deployed state is awake.
 *
 * Environment: PARAMETER_PREFIX (e.g. `/staging`); WAKER_TARGET_GROUP_ARN, shard 0's waker target
 * group, for the sleep configs of branches deployed before shards (a config names its shard's
 * group; `onRequest` reads the group it was invoked through from the ALB event).
 */
import type { ALBEvent, ALBResult } from 'aws-lambda';
import { AccessEnvironment, mayWake, parseAccessConfig, type AccessConfig } from '../../lib/contract/access';
import { BranchStatePaths, lastActivity, malformedPinProblem, parseKeepAlive, parsePin, parseTimestamp, SleepStates } from '../../lib/contract/branch-state';
import { nearMatches } from '../../lib/contract/suggest';
import type { ManualSleepResult } from '../../lib/contract/sleeper';
import { SleepAttributes, WakerEnvironment, parseProperties } from '../../lib/contract/providers/waker';
import { describeAllStacks, lastRequests } from '../sweeper/aws';
import { log, logError, type IsCompleteRequest, type IsCompleteResponse, type OnEventRequest, type OnEventResponse } from '../shared/provider';
import { describeError } from '../shared/errors';
import { entry } from '../shared/entry';
import {
  allConfigs,
  apply,
  claimWake,
  deleteBranchParameters,
  observe,
  byStagingNameIn,
  putConfig,
  putKeepAlive,
  putState,
  readBranch,
} from './aws';
import {
  MINUTE_MS,
  decideTick,
  expectedWakeSeconds,
  parseConfig,
  parseSleeperEvent,
  parseState,
  sleepSteps,
  stagingNameOfHost,
  wakeStep,
  type SleepConfig,
  type State,
  type TickDecision,
} from './model';
import { classifyClient, wakerResponse, type Phase } from './page';

/** The handler's clock; tests freeze it. */
export const clock = { now: (): number => Date.now() };

/** A keep-alive is rewritten at most this often per branch, however many requests come. */
export const KEEP_ALIVE_EVERY_MS = MINUTE_MS;

function prefix(): string {
  const p = process.env[WakerEnvironment.PARAMETER_PREFIX];
  if (!p) throw new Error(`${WakerEnvironment.PARAMETER_PREFIX} is not set`);
  return p;
}

/** The waker's target group on the branch's shard: its config's, else (configs of before shards) shard 0's from the environment. */
function wakerTargetGroup(config: SleepConfig): string {
  const arn = config.wakerTargetGroupArn ?? process.env[WakerEnvironment.WAKER_TARGET_GROUP_ARN];
  if (!arn) throw new Error(`${WakerEnvironment.WAKER_TARGET_GROUP_ARN} is not set, and the sleep config of ${config.stagingName} names no waker target group`);
  return arn;
}

/** The stagings' lock (lib/contract/access.ts), or undefined when unreadable: then nothing wakes. */
function lock(): AccessConfig | undefined {
  try {
    return parseAccessConfig(process.env[AccessEnvironment.CONFIG]);
  } catch (e) {
    logError('the stagings\' lock is unreadable; no request wakes a staging', { error: describeError(e) });
    return undefined;
  }
}

/** A request the lock does not let wake the staging: 403, no keep-alive, no wake. */
function notSignedIn(name: string): ALBResult {
  return {
    statusCode: 403,
    statusDescription: '403 Forbidden',
    isBase64Encoded: false,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
    body: `The staging ${name} is asleep. Sign in (open its address in a browser) to wake it.\n`,
  };
}

// ---------------------------------------------------------------------------------------------
// Requests (ALB Lambda target)

async function handleRequest(event: ALBEvent): Promise<ALBResult> {
  const now = clock.now();
  const headers = lowerCase(event.headers ?? {});
  const request = { method: event.httpMethod ?? 'GET', headers };
  const name = stagingNameOfHost(headers.host);
  const p = new BranchStatePaths(prefix());
  if (!name) return wakerResponse({ request, phase: 'unknown', stagingName: '', expectedSeconds: 0, elapsedSeconds: 0 });

  const params = await readBranch(p, name);
  if (!params.config) return wakerResponse({ request, phase: 'unknown', stagingName: name, expectedSeconds: 0, elapsedSeconds: 0 });
  const config = parseConfig(params.config);
  let state = parseState(params.state, now);
  const client = classifyClient(request);
  const wakerArn = event.requestContext?.elb?.targetGroupArn ?? wakerTargetGroup(config);

  if (client !== 'previewer' && !mayWake(lock(), request)) {
    log('waker request refused: not signed in', { stagingName: name, state: state.state });
    return notSignedIn(name);
  }
  if (client !== 'previewer') {
    try {
      if (params.keepAliveModifiedMs === undefined || now - params.keepAliveModifiedMs >= KEEP_ALIVE_EVERY_MS) await putKeepAlive(p, name, now);
      state = await moveWakeOn(config, state, p, wakerArn, now, 'request');
    } catch (e) {
      // The visitor still gets the page; the next refresh (or the sleeper) tries again.
      logError('wake step failed', { stagingName: name, error: describeError(e) });
    }
  }
  const response = wakerResponse({
    request,
    phase: state.state as Phase,
    stagingName: name,
    branch: config.branch,
    expectedSeconds: expectedWakeSeconds(Boolean(state.databaseStopped)),
    elapsedSeconds: state.state === SleepStates.WAKING ? Math.max(0, (now - parseTimestamp(state.since)!) / 1000) : 0,
    databaseStarting: Boolean(state.databaseStopped),
  });
  log('waker request', { stagingName: name, client, state: state.state, status: response.statusCode });
  return response;
}
export const onRequest = entry('waker.onRequest', handleRequest);

/**
 * One move of a wake. A sleeping branch is started only by whoever wins the claim for this sleep;
 * the others find it `waking` on their next request. A waking (or, after a lost race, awake but
 * still routed here) branch is observed and moved on.
 */
async function moveWakeOn(config: SleepConfig, state: State, p: BranchStatePaths, wakerArn: string, now: number, reason: string): Promise<State> {
  if (state.state === SleepStates.SLEEPING) {
    const won = await claimWake(p, config.stagingName, state.since, now);
    if (!won) {
      log('another request is already waking this branch', { stagingName: config.stagingName });
      return { ...state, state: SleepStates.WAKING, since: new Date(now).toISOString() };
    }
    state = { ...state, reason };
  }
  const observed = await observe(config, wakerArn);
  const plan = wakeStep(config, state, observed, now, 'recorded');
  await apply(config, plan.steps, p, wakerArn);
  log('wake step', { stagingName: config.stagingName, reason: plan.reason, done: plan.done, steps: plan.steps.map((s) => s.kind) });
  const written = [...plan.steps].reverse().find((s) => s.kind === 'state');
  return written && written.kind === 'state' ? written.value : state;
}

// ---------------------------------------------------------------------------------------------
// The sleeper (scheduled)

export interface TickReport {
  readonly decisions: TickDecision[];
  readonly failures: Array<{ stagingName: string; error: string }>;
  /** Unreadable pins and keep-alives: each still decided fail-closed (lib/contract/branch-state.ts), and reported. */
  readonly problems: string[];
}

/** A round (the schedule's event, `{}` or no event), or a manual wake or sleep of one branch. */
function runSchedule(): Promise<TickReport>;
function runSchedule(event: unknown): Promise<TickReport | ManualSleepResult>;
async function runSchedule(event?: unknown): Promise<TickReport | ManualSleepResult> {
  const request = parseSleeperEvent(event);
  const now = clock.now();
  const p = new BranchStatePaths(prefix());
  if (request.kind !== 'tick') return manual(request.kind, request.stagingName, p, now);
  const configs = [...(await allConfigs(p)).entries()].flatMap(([name, json]) => {
    try {
      return [parseConfig(json)];
    } catch (e) {
      logError('unreadable sleep config', { stagingName: name, error: describeError(e) });
      return [];
    }
  });
  if (configs.length === 0) return { decisions: [], failures: [], problems: [] };

  const [stacks, states, keepAlives, pins] = await Promise.all([
    describeAllStacks(),
    byStagingNameIn(p.sleepStates.root),
    byStagingNameIn(p.keepAlives.root),
    byStagingNameIn(p.pins.root),
  ]);
  const stackOf = new Map(stacks.map((s) => [s.StackName, s]));

  // Requests in the longest sleepAfter window, in minute buckets (5-minute ones beyond 16 hours).
  const windowMs = Math.max(...configs.map((c) => c.sleepAfterMinutes)) * MINUTE_MS + 5 * MINUTE_MS;
  const periodSeconds = windowMs > 16 * 60 * MINUTE_MS ? 300 : 60;
  const endMs = (Math.floor(now / (periodSeconds * 1000)) + 1) * periodSeconds * 1000;
  const awakeOnes = configs.filter((c) => c.sleepAfterMinutes > 0 && c.targetGroupFullName && c.loadBalancerFullName);
  const requests = await lastRequests(
    awakeOnes.map((c) => ({ key: c.stagingName, targetGroup: c.targetGroupFullName, loadBalancer: c.loadBalancerFullName })),
    { periodSeconds, startMs: endMs - windowMs - periodSeconds * 1000, endMs },
    now,
  );

  const decisions: TickDecision[] = [];
  const failures: Array<{ stagingName: string; error: string }> = [];
  const problems: string[] = [];
  for (const config of configs) {
    const name = config.stagingName;
    try {
      const stack = stackOf.get(config.stackName);
      const state = parseState(states.get(name)?.value, now);
      const result = requests.get(name);
      if (result?.error) throw new Error(`could not read its requests: ${result.error}`);
      const keepAliveParam = keepAlives.get(name);
      const keepAlive = keepAliveParam && parseKeepAlive(keepAliveParam.value, keepAliveParam.lastModifiedMs, now);
      if (keepAlive?.problem) problems.push(`${p.keepAlives.of(name)}: ${keepAlive.problem}; counted from when it was written`);
      const pin = pins.has(name) ? parsePin(pins.get(name)!.value, now) : undefined;
      if (pin?.kind === 'malformed') problems.push(`${malformedPinProblem(p.pins.of(name), pin.value)}: the branch is kept awake (fail closed) until it is fixed or deleted`);
      const activity = lastActivity({
        createdMs: stack?.CreationTime?.getTime(),
        updatedMs: stack?.LastUpdatedTime?.getTime(),
        keepAlive,
        lastRequestMs: result?.lastRequestMs,
      });
      const wakerArn = wakerTargetGroup(config);
      const needsObservation = state.state !== SleepStates.AWAKE || config.databaseInstanceId !== undefined;
      const observed = needsObservation ? await observe(config, wakerArn) : undefined;
      const decision = decideTick({ config, state, lastActivityMs: activity?.at ?? 0, pin, stackStatus: stack?.StackStatus, databaseStatus: observed?.databaseStatus, nowMs: now });
      decisions.push(decision);
      if (decision.action === 'sleep') {
        const reason = state.state === SleepStates.WAKING ? 'wake-gave-up' : 'idle';
        await apply(config, sleepSteps(config, observed ?? (await observe(config, wakerArn)), now, reason), p, wakerArn);
      } else if (decision.action === 'advance-wake') {
        const plan = wakeStep(config, state, observed!, now, 'recorded');
        await apply(config, plan.steps, p, wakerArn);
      } else if (decision.action === 'stop-database') {
        await apply(config, [{ kind: 'stop-database' }, { kind: 'state', value: { ...state, databaseStopped: true } }], p, wakerArn);
      }
    } catch (e) {
      failures.push({ stagingName: name, error: describeError(e) });
    }
  }
  log('sleeper run', { decisions, failures });
  if (problems.length > 0) logError('unreadable pins or keep-alives', { problems });
  if (failures.length > 0) {
    // Fails the run, so the Errors metric shows it; every other branch was still handled.
    throw new Error(`The sleeper could not handle ${failures.length} staging(s): ${failures.map((f) => `${f.stagingName}: ${f.error}`).join('; ')}`);
  }
  return { decisions, failures, problems };
}
export const onSchedule = entry('waker.onSchedule', runSchedule);

/**
 * A wake or sleep asked for by hand. A wake is what a request does (the claim, then the first wake
 * step; the sleeper's rounds and `staging wake`'s polls finish it) plus a keep-alive, so the next
 * round does not put the branch straight back to sleep. A sleep is the idle sleep's steps, reason
 * `manual`. Repeating either changes nothing.
 */
async function manual(action: 'wake' | 'sleep', name: string, p: BranchStatePaths, now: number): Promise<ManualSleepResult> {
  const params = await readBranch(p, name);
  if (!params.config) {
    const near = nearMatches(name, [...(await allConfigs(p)).keys()]);
    throw new Error(
      `No branch staging "${name}" to ${action}: there is no ${p.sleepConfigs.of(name)} (its stack is not deployed, or is being created).` +
        (near.length ? ` Did you mean ${near.map((n) => `"${n}"`).join(', ')}?` : ''),
    );
  }
  const config = parseConfig(params.config);
  const wakerArn = wakerTargetGroup(config);
  const before = parseState(params.state, now);
  const result = (state: string, changed: boolean, reason: string, extra: Partial<ManualSleepResult> = {}): ManualSleepResult => {
    log('manual ' + action, { stagingName: name, state, changed, reason });
    return { action, stagingName: name, branch: config.branch, state, changed, reason, ...extra };
  };
  if (action === 'sleep') {
    if (before.state === SleepStates.SLEEPING) return result(before.state, false, `already asleep since ${before.since}`);
    await apply(config, sleepSteps(config, await observe(config, wakerArn), now, 'manual'), p, wakerArn);
    return result(SleepStates.SLEEPING, true, before.state === SleepStates.WAKING ? 'the wake was stopped; asleep' : 'asleep');
  }
  await putKeepAlive(p, name, now);
  if (before.state === SleepStates.AWAKE) return result(before.state, false, `already awake since ${before.since}`);
  const after = await moveWakeOn(config, before, p, wakerArn, now, 'manual');
  const expectedSeconds = expectedWakeSeconds(Boolean(after.databaseStopped ?? before.databaseStopped));
  if (after.state === SleepStates.AWAKE) return result(after.state, true, 'awake', { expectedSeconds });
  return result(after.state, before.state === SleepStates.SLEEPING, before.state === SleepStates.SLEEPING ? 'waking' : `already waking since ${before.since}`, { expectedSeconds });
}

// ---------------------------------------------------------------------------------------------
// Custom::StagingSleep (the waker provider)

/** The branch's config from the custom resource's properties (the contract's parse). */
export function configFromProperties(p: Record<string, unknown>): SleepConfig {
  return parseProperties(p);
}

async function handleEvent(event: OnEventRequest): Promise<OnEventResponse> {
  const p = new BranchStatePaths(prefix());
  if (event.RequestType === 'Delete') {
    const name = String(event.ResourceProperties?.StagingName ?? '');
    if (name) await deleteBranchParameters(p, name);
    return { PhysicalResourceId: event.PhysicalResourceId };
  }
  const config = configFromProperties(event.ResourceProperties);
  const now = clock.now();
  try {
    await putConfig(p, config);
    const params = await readBranch(p, config.stagingName);
    const state = parseState(params.state, now);
    if (!params.state) {
      await putState(p, config.stagingName, { state: SleepStates.AWAKE, since: new Date(now).toISOString(), reason: 'deploy' });
    } else if (state.state !== SleepStates.AWAKE) {
      // A deploy of a sleeping branch ends awake; isComplete finishes the wake.
      await putState(p, config.stagingName, { ...state, state: SleepStates.WAKING, since: new Date(now).toISOString(), reason: 'deploy' });
    }
  } catch (e) {
    // A failed Create gets no Delete from CloudFormation: leave nothing behind.
    if (event.RequestType === 'Create') await deleteBranchParameters(p, config.stagingName).catch(() => undefined);
    throw e;
  }
  return { PhysicalResourceId: p.sleepConfigs.of(config.stagingName), Data: { [SleepAttributes.STATE_PARAMETER]: p.sleepStates.of(config.stagingName) } };
}
export const onEvent = entry('waker.onEvent', handleEvent);

async function checkComplete(event: IsCompleteRequest): Promise<IsCompleteResponse> {
  if (event.RequestType === 'Delete') return { IsComplete: true };
  const config = configFromProperties(event.ResourceProperties);
  const p = new BranchStatePaths(prefix());
  const now = clock.now();
  const state = parseState((await readBranch(p, config.stagingName)).state, now);
  if (state.state === SleepStates.AWAKE) return { IsComplete: true };
  const wakerArn = wakerTargetGroup(config);
  const plan = wakeStep(config, state, await observe(config, wakerArn), now, 'template');
  await apply(config, plan.steps, p, wakerArn);
  log('deploy wake step', { stagingName: config.stagingName, reason: plan.reason, done: plan.done });
  return { IsComplete: plan.done };
}
export const isComplete = entry('waker.isComplete', checkComplete);

// ---------------------------------------------------------------------------------------------

function lowerCase(headers: Record<string, string | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

