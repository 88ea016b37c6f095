/**
 * The decision step of a sweeper run: a pure function from what the run observed (stacks, pins,
 * keep-alives, request counts, failed resources, the sweeper's own state) and the clock to one
 * decision per feature staging, each with its reason, plus the state to forget. No AWS call and
 * no clock read here: sweep.ts observes, calls `decide`, then carries the decisions out.
 */
import {
  Activity,
  ActivitySource,
  BranchParameter,
  BranchStatePaths,
  Pin,
  byStagingName,
  formatPin,
  lastActivity,
  malformedPinProblem,
  parseKeepAlive,
  parsePin,
  parseTimestamp,
  pinKeeps,
} from '../../lib/contract/branch-state';
import { pinCommand } from './messages';
import {
  Action,
  CompletedDeletion,
  IgnoredStack,
  RawStack,
  RequestResult,
  ResourceInfo,
  STALE_CLAIM_MS,
  StackInfo,
  StagingReport,
  SweeperConfig,
  classifyStack,
  isIgnored,
  isInProgress,
  iso,
  parseStackArn,
} from './model';

/** ListStackResources of a DELETE_FAILED stack: the resources that failed, or why they are unknown. */
export type FailedResourcesResult = { readonly resources: readonly ResourceInfo[] } | { readonly error: string };

/** Everything a run read before deciding. */
export interface Observation {
  /** The run's clock: every time the sweeper writes or compares is this one. */
  readonly nowMs: number;
  readonly stacks: readonly RawStack[];
  /** Parameters below `<parameterPrefix>/pins`. */
  readonly pins: readonly BranchParameter[];
  /** Parameters below `<parameterPrefix>/keep-alive`. */
  readonly keepAlives: readonly BranchParameter[];
  /** Parameters below `<parameterPrefix>/sweeper`. */
  readonly state: readonly BranchParameter[];
  /** RequestCount by stack id, for the stacks `requestQueries` listed. */
  readonly requests?: ReadonlyMap<string, RequestResult>;
  /** By stack id, for the stacks `deleteFailedStacks` listed. */
  readonly failedResources?: ReadonlyMap<string, FailedResourcesResult>;
}

/** What a warning parameter holds (JSON). */
export interface WarningRecord {
  readonly stackId: string;
  /** The run's clock when the warning was composed: its age counts from here. */
  readonly claimedAt: string;
  /** The deletion time the warning announces. */
  readonly deleteAt: string;
  /** The activity the deadline was computed from: kept, so that forgetting it cannot move the deadline. */
  readonly lastActivity: string;
  readonly lastActivitySource: ActivitySource;
  /** Set once SNS accepted the warning; only then does the warning count. */
  readonly deliveredAt?: string;
}

/** Publish a warning: claim `param` (after withdrawing `withdraw`), publish, then mark it delivered. */
export interface WarningPlan {
  readonly param: string;
  /** Undelivered claims left by runs that died: removed before claiming afresh. */
  readonly withdraw: readonly string[];
  readonly record: WarningRecord;
}

/** Delete the stack: claim `param`, then DeleteStack; or leave it to the run holding the claim. */
export type DeletionPlan =
  | { readonly kind: 'claim'; readonly param: string; readonly attempt: number; readonly clientRequestToken: string; readonly retain?: readonly string[] }
  | { readonly kind: 'held-elsewhere'; readonly claimedAtMs?: number };

export interface Decision {
  readonly info: StackInfo;
  readonly action: Action;
  readonly reason: string;
  /** The decision is itself a failure to handle the staging (unreadable pin, no RequestCount, ...). */
  readonly error?: string;
  readonly problems?: readonly string[];
  /** The last activity the decision rests on. */
  readonly activity?: Activity;
  readonly idleAtMs?: number;
  readonly deleteAtMs?: number;
  readonly pinnedUntilMs?: number;
  readonly requests?: StagingReport['requests'];
  readonly failedResources?: readonly ResourceInfo[];
  readonly warning?: WarningPlan;
  readonly deletion?: DeletionPlan;
  /** DELETE_FAILED and not told yet: claim this marker, then tell. */
  readonly failureNotice?: { readonly marker: string };
}

/** A deletion an earlier run started that has finished: tell, then forget its state. */
export interface CompletedPlan {
  readonly deletion: Omit<CompletedDeletion, 'outcome' | 'error'>;
  readonly forget: readonly string[];
}

export interface Plan {
  readonly decisions: readonly Decision[];
  readonly ignored: readonly IgnoredStack[];
  readonly completed: readonly CompletedPlan[];
  /** State parameters that no longer mean anything: removed at the end of the run. */
  readonly forget: readonly string[];
}

/** The target groups whose RequestCount the decision needs. */
export function requestQueries(config: SweeperConfig, obs: Observation): { key: string; targetGroup: string; loadBalancer: string }[] {
  return judgeAll(config, { ...obs, requests: undefined })
    .judged.filter((j): j is NeedsRequests => 'needsRequests' in j && !!j.info.targetGroup && !!j.info.loadBalancer)
    .map((j) => ({ key: j.info.stackId, targetGroup: j.info.targetGroup!, loadBalancer: j.info.loadBalancer! }));
}

/** The DELETE_FAILED feature stacks, whose failed resources the decision needs. */
export function deleteFailedStacks(config: SweeperConfig, obs: Observation): StackInfo[] {
  return stagingsOf(config, obs.stacks).stagings.filter((s) => s.status === 'DELETE_FAILED');
}

/** The decision step. */
export function decide(config: SweeperConfig, obs: Observation): Plan {
  const { judged, ignored, forget, state, liveNames, liveUuids } = judgeAll(config, obs);
  const decisions = judged.map((j): Decision =>
    'needsRequests' in j
      ? { info: j.info, action: 'skip', reason: 'could not read its RequestCount: skipped this run', error: 'no GetMetricData result', requests: 'error' }
      : j,
  );

  // Deletions started by earlier runs that have finished: tell, then forget their state.
  const completed: CompletedPlan[] = [];
  for (const [uuid, claims] of state.claims) {
    if (liveUuids.has(uuid)) continue;
    const latest = state.latestClaim(uuid)!;
    const v = latest.value;
    completed.push({
      deletion: {
        stackName: typeof v.stackName === 'string' ? v.stackName : `${config.prefix}-${latest.stagingName}`,
        stackId: typeof v.stackId === 'string' ? v.stackId : uuid,
        stagingName: latest.stagingName,
        branch: typeof v.branch === 'string' ? v.branch : undefined,
        url: typeof v.url === 'string' ? v.url : undefined,
        retainedResources: Array.isArray(v.retained) ? (v.retained as ResourceInfo[]) : undefined,
      },
      forget: [
        ...claims.map((c) => c.param),
        ...(state.failed.get(uuid) ?? []).map((f) => f.param),
        ...(liveNames.has(latest.stagingName) ? [] : state.warningsOf(latest.stagingName).map((w) => w.param)),
      ],
    });
  }

  // State of stagings that no longer exist (deleted by hand, or never claimed by this sweeper).
  const toldLater = new Set(completed.flatMap((c) => c.forget));
  for (const [name, warnings] of state.warned) {
    if (!liveNames.has(name)) forget.push(...warnings.map((w) => w.param).filter((p) => !toldLater.has(p)));
  }
  for (const [uuid, failures] of state.failed) {
    if (!liveUuids.has(uuid) && !state.claims.has(uuid)) forget.push(...failures.map((f) => f.param));
  }
  const claiming = new Set(decisions.map((d) => d.warning?.param));
  return { decisions, ignored, completed, forget: [...new Set(forget)].filter((p) => !claiming.has(p)) };
}

// ---------------------------------------------------------------------------------------------
// State

interface WarningEntry {
  readonly param: string;
  readonly stagingName: string;
  readonly deadlineSeconds: number;
  readonly stackId?: string;
  /** The run's clock when it was claimed; a record without one counts from when it was written. */
  readonly claimedAtMs: number;
  readonly deleteAtMs?: number;
  readonly deliveredAtMs?: number;
  /** The activity recorded with it. */
  readonly basis?: Activity;
}

interface ClaimEntry {
  readonly param: string;
  readonly stagingName: string;
  readonly uuid: string;
  readonly attempt: number;
  readonly lastModifiedMs?: number;
  readonly value: Record<string, unknown>;
}

interface FailedEntry {
  readonly param: string;
  readonly stagingName: string;
  readonly uuid: string;
}

const SOURCES: readonly ActivitySource[] = ['stack-created', 'stack-updated', 'keep-alive', 'request'];

/** What earlier runs recorded under `<parameterPrefix>/sweeper`. */
class SweeperState {
  readonly warned = new Map<string, WarningEntry[]>();
  readonly claims = new Map<string, ClaimEntry[]>();
  readonly failed = new Map<string, FailedEntry[]>();

  constructor(paths: BranchStatePaths, params: readonly BranchParameter[]) {
    for (const p of params) {
      const record = paths.sweeperRecordOf(p.name);
      const value = parseJson(p.value);
      if (record?.kind === 'warned') {
        push(this.warned, record.stagingName, warningEntry(p, record.stagingName, record.deadlineSeconds, value));
      } else if (record?.kind === 'deleting') {
        push(this.claims, record.uuid, { param: p.name, ...record, lastModifiedMs: p.lastModifiedMs, value });
      } else if (record?.kind === 'failed') {
        push(this.failed, record.uuid, { param: p.name, stagingName: record.stagingName, uuid: record.uuid });
      }
    }
  }

  warningsOf(stagingName: string): WarningEntry[] {
    return this.warned.get(stagingName) ?? [];
  }

  latestClaim(uuid: string): ClaimEntry | undefined {
    return (this.claims.get(uuid) ?? []).reduce<ClaimEntry | undefined>((a, c) => (!a || c.attempt > a.attempt ? c : a), undefined);
  }

  /** Deletion claims of a live, active stack older than a run can last: left over from a crash. */
  staleClaims(uuid: string, nowMs: number): string[] {
    return (this.claims.get(uuid) ?? []).filter((c) => nowMs - (c.lastModifiedMs ?? 0) >= STALE_CLAIM_MS).map((c) => c.param);
  }
}

function warningEntry(p: BranchParameter, stagingName: string, deadlineSeconds: number, v: Record<string, unknown>): WarningEntry {
  const time = (x: unknown): number | undefined => (typeof x === 'string' ? parseTimestamp(x) : undefined);
  const activityAt = time(v.lastActivity);
  const source = SOURCES.find((s) => s === v.lastActivitySource);
  return {
    param: p.name,
    stagingName,
    deadlineSeconds,
    stackId: typeof v.stackId === 'string' ? v.stackId : undefined,
    // `warnedAt`/`deleteAfter`: records written before warnings were marked delivered.
    claimedAtMs: time(v.claimedAt) ?? time(v.warnedAt) ?? p.lastModifiedMs ?? 0,
    deleteAtMs: time(v.deleteAt) ?? time(v.deleteAfter),
    deliveredAtMs: time(v.deliveredAt),
    basis: activityAt !== undefined && source ? { at: activityAt, source } : undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// Judging one staging

interface NeedsRequests {
  readonly info: StackInfo;
  readonly needsRequests: true;
}

interface Context {
  readonly config: SweeperConfig;
  readonly obs: Observation;
  readonly paths: BranchStatePaths;
  readonly state: SweeperState;
  readonly keepAlives: Map<string, BranchParameter>;
  /** Obsolete state found while judging. */
  readonly forget: string[];
}

function stagingsOf(config: SweeperConfig, stacks: readonly RawStack[]): { stagings: StackInfo[]; ignored: IgnoredStack[] } {
  const stagings: StackInfo[] = [];
  const ignored: IgnoredStack[] = [];
  for (const stack of stacks) {
    const c = classifyStack(stack, config);
    if (!c) continue;
    if (isIgnored(c)) ignored.push(c);
    else stagings.push(c);
  }
  return { stagings, ignored };
}

function judgeAll(config: SweeperConfig, obs: Observation) {
  const paths = new BranchStatePaths(config.parameterPrefix);
  const state = new SweeperState(paths, obs.state);
  const pins = byStagingName(paths.pins.root, obs.pins);
  const ctx: Context = { config, obs, paths, state, keepAlives: byStagingName(paths.keepAlives.root, obs.keepAlives), forget: [] };
  const { stagings, ignored } = stagingsOf(config, obs.stacks);
  const judged = stagings.map((info) => {
    const pin = pins.get(info.stagingName);
    return judge(ctx, info, pin ? parsePin(pin.value, obs.nowMs) : undefined);
  });
  return {
    judged,
    ignored,
    forget: ctx.forget,
    state,
    liveNames: new Set(stagings.map((s) => s.stagingName)),
    liveUuids: new Set(obs.stacks.map((s) => parseStackArn(s.StackId ?? '')?.uuid).filter((u): u is string => !!u)),
  };
}

function judge(ctx: Context, info: StackInfo, pin: Pin | undefined): Decision | NeedsRequests {
  const { config, obs, paths, state } = ctx;
  const now = obs.nowMs;
  const decision = (action: Action, reason: string, more: Partial<Decision> = {}): Decision => ({ info, action, reason, ...more });

  if (isInProgress(info.status)) return decision('skip', `the stack is ${info.status}; the sweeper leaves it alone until that finishes`);
  if (info.status === 'DELETE_FAILED') return judgeDeleteFailed(ctx, info, pin);
  if (info.terminationProtection) return decision('keep', 'termination protection is on: the sweeper never deletes a protected stack');
  if (pin?.kind === 'active') {
    ctx.forget.push(...state.warningsOf(info.stagingName).map((w) => w.param));
    return decision('keep', `pinned until the end of ${pin.value} (UTC)`, { pinnedUntilMs: pin.until });
  }
  if (pin?.kind === 'malformed') {
    const problem =
      `${malformedPinProblem(paths.pins.of(info.stagingName), pin.value)}: ` +
      `the staging is kept (fail closed) until it is fixed, e.g. ${pinCommand(config, info.stagingName, formatPin(now + 14 * 24 * 3600 * 1000))}, or deleted`;
    return decision('keep', 'unreadable pin: kept (fail closed) and reported', { error: problem, problems: [problem] });
  }

  const problems: string[] = [];
  const keepAliveParam = ctx.keepAlives.get(info.stagingName);
  const keepAlive = keepAliveParam ? parseKeepAlive(keepAliveParam.value, keepAliveParam.lastModifiedMs, now) : undefined;
  if (keepAlive?.problem) problems.push(`${paths.keepAlives.of(info.stagingName)}: ${keepAlive.problem}; counted from when it was written`);
  // Warnings of another stack by the same name (deleted by hand, deployed again) mean nothing here.
  const warnings = state.warningsOf(info.stagingName).filter((w) => w.stackId === undefined || w.stackId === info.stackId);
  ctx.forget.push(...state.warningsOf(info.stagingName).filter((w) => !warnings.includes(w)).map((w) => w.param));
  const base = lastActivity({
    createdMs: info.createdMs,
    updatedMs: info.updatedMs,
    keepAlive,
    // Activity recorded with a warning stays activity, even once the request has left the metrics
    // window: only new activity moves a deadline that a warning announced.
    known: warnings.map((w) => w.basis),
  })!;
  const more = (x: Partial<Decision>): Partial<Decision> => ({ ...(problems.length ? { problems } : {}), ...x });
  const pinNote = pin?.kind === 'expired' ? ` (its pin expired at the end of ${pin.value})` : '';

  if (base.at + config.idleTimeoutMs - config.warningPeriodMs > now) {
    // Active whatever the requests say: no need to query them.
    ctx.forget.push(...warnings.map((w) => w.param), ...state.staleClaims(info.uuid, now));
    return decision('keep', `active: ${describeActivity(base)}${pinNote}`, more({ activity: base, idleAtMs: base.at + config.idleTimeoutMs, requests: 'not-queried' }));
  }

  let lastRequestMs: number | undefined;
  let requests: StagingReport['requests'];
  if (!info.targetGroup || !info.loadBalancer) {
    requests = 'no-target-group';
  } else {
    if (!obs.requests) return { info, needsRequests: true };
    const res = obs.requests.get(info.stackId);
    if (!res || res.error) {
      return decision('skip', 'could not read its RequestCount: skipped this run', more({ error: res?.error ?? 'no GetMetricData result', requests: 'error' }));
    }
    if (res.lastRequestMs !== undefined) {
      requests = 'seen';
      lastRequestMs = res.lastRequestMs;
    } else if (res.hasData || info.createdMs <= now - config.idleTimeoutMs) {
      // No requests, and the target group is older than the window: that is zero requests.
      requests = 'none-in-window';
    } else {
      // No data at all on a target group younger than the window: unknown, never "idle".
      return decision(
        'keep',
        'no RequestCount data yet and the target group is younger than the idle window: not judged idle until it is older',
        more({ activity: base, idleAtMs: base.at + config.idleTimeoutMs, requests: 'no-data-young' }),
      );
    }
  }

  const last = lastActivity({ known: [base], lastRequestMs })!;
  const idleAtMs = last.at + config.idleTimeoutMs;
  const deadlineSeconds = Math.floor(idleAtMs / 1000);
  const current = warnings.find((w) => w.deadlineSeconds === deadlineSeconds);
  ctx.forget.push(...warnings.filter((w) => w !== current).map((w) => w.param));
  const facts = more({ activity: last, idleAtMs, requests });

  if (now < idleAtMs - config.warningPeriodMs) {
    ctx.forget.push(...(current ? [current.param] : []), ...state.staleClaims(info.uuid, now));
    return decision('keep', `active: ${describeActivity(last)}`, facts);
  }

  const idleSince = `idle since ${describeActivity(last)}`;
  if (current?.deliveredAtMs !== undefined) {
    const deleteAtMs = Math.max(idleAtMs, current.claimedAtMs + config.warningPeriodMs, current.deleteAtMs ?? 0);
    const warned = `warned at ${iso(current.claimedAtMs)} (delivered ${iso(current.deliveredAtMs)})`;
    if (now < deleteAtMs) return decision('keep', `${warned}; deletion at ${iso(deleteAtMs)}${pinNote}`, { ...facts, deleteAtMs });
    return decision('delete', `${idleSince}, ${warned} for ${iso(deleteAtMs)}${pinNote}`, { ...facts, deleteAtMs, deletion: deletionPlan(ctx, info) });
  }
  if (current && now - current.claimedAtMs < config.runTimeoutMs) {
    return decision('keep', `a warning was claimed at ${iso(current.claimedAtMs)} by a run that may still be sending it; not delivered yet${pinNote}`, facts);
  }
  const deleteAtMs = Math.max(idleAtMs, now + config.warningPeriodMs);
  const param = paths.sweeperWarned(info.stagingName, idleAtMs);
  const withdrawn = current
    ? ` (the warning claimed at ${iso(current.claimedAtMs)} was never marked delivered: its run ended before SNS accepted it; withdrawn)`
    : '';
  return decision('warn', `${idleSince}: warn now, delete at ${iso(deleteAtMs)}${withdrawn}${pinNote}`, {
    ...facts,
    deleteAtMs,
    warning: {
      param,
      // The undelivered claim, or one of an earlier stack by the same name: the claim needs its name.
      withdraw: state.warningsOf(info.stagingName).some((w) => w.param === param) ? [param] : [],
      record: { stackId: info.stackId, claimedAt: iso(now)!, deleteAt: iso(deleteAtMs)!, lastActivity: iso(last.at)!, lastActivitySource: last.source },
    },
  });
}

function judgeDeleteFailed(ctx: Context, info: StackInfo, pin: Pin | undefined): Decision {
  const { config, obs, paths, state } = ctx;
  const listed = obs.failedResources?.get(info.stackId);
  if (!listed || 'error' in listed) {
    const error = `could not list its resources (cloudformation:ListStackResources): ${listed && 'error' in listed ? listed.error : 'not read'}`;
    return { info, action: 'report', reason: 'the stack is DELETE_FAILED', error };
  }
  const failedResources = listed.resources;
  const reason = `the stack is DELETE_FAILED; resources that failed: ${failedResources.map((x) => x.logicalId).join(', ') || 'none listed'}`;
  const marker = paths.sweeperFailed(info.stagingName, info.uuid, info.deletionMs ?? info.updatedMs ?? info.createdMs);
  const told = (state.failed.get(info.uuid) ?? []).some((f) => f.param === marker);
  const failureNotice = told ? undefined : { marker };
  const pinned = pinKeeps(pin);
  if (!config.retainResourcesOnDeleteFailed || pinned || failedResources.length === 0) {
    return { info, action: 'report', reason, failedResources, failureNotice };
  }
  const retain = failedResources.map((x) => x.logicalId);
  return {
    info,
    action: 'retry-delete',
    reason: `${reason}; retrying, retaining them (left behind)`,
    failedResources,
    failureNotice,
    deletion: deletionPlan(ctx, info, retain),
  };
}

function deletionPlan(ctx: Context, info: StackInfo, retain?: readonly string[]): DeletionPlan {
  const latest = ctx.state.latestClaim(info.uuid);
  if (latest && info.status !== 'DELETE_FAILED' && ctx.obs.nowMs - (latest.lastModifiedMs ?? 0) < STALE_CLAIM_MS) {
    return { kind: 'held-elsewhere', claimedAtMs: latest.lastModifiedMs };
  }
  const attempt = (latest?.attempt ?? 0) + 1;
  return {
    kind: 'claim',
    param: ctx.paths.sweeperDeleting(info.stagingName, info.uuid, attempt),
    attempt,
    clientRequestToken: `sweeper-${info.uuid}-${attempt}`,
    ...(retain ? { retain } : {}),
  };
}

function describeActivity(a: Activity): string {
  const what = { 'stack-created': 'stack created', 'stack-updated': 'stack updated', 'keep-alive': 'keep-alive', request: 'last request' }[a.source];
  return `${what} ${iso(a.at)}`;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function parseJson(value: string): Record<string, unknown> {
  try {
    const v = JSON.parse(value);
    return v && typeof v === 'object' ? v : {};
  } catch {
    return {};
  }
}
