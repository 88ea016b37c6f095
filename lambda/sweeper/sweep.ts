/**
 * One sweeper run: read everything (a few paginated calls), judge each feature staging, then act
 * (warn once per deadline, delete once per stack) and report. See docs/sweeper.md.
 */
import type { MetricDatum } from '@aws-sdk/client-cloudwatch';
import { log, logError } from '../shared/provider';
import {
  Parameter,
  RequestQuery,
  RequestResult,
  claim,
  deleteParameters,
  deleteStack,
  describeAllStacks,
  failedResources,
  lastRequests,
  parametersByPath,
  publish,
  putMetrics,
} from './aws';
import { Notice, deleteFailedNotice, deletedNotice, deletingNotice, pinCommand, warningNotice } from './messages';
import {
  Activity,
  CompletedDeletion,
  DELETING,
  FAILED,
  ParameterNames,
  PinState,
  STALE_CLAIM_MS,
  StackInfo,
  StagingReport,
  SweepReport,
  SweeperConfig,
  WARNED,
  classifyStack,
  emptyCounts,
  errorMessage,
  hours,
  isIgnored,
  isInProgress,
  iso,
  isoDate,
  latestActivity,
  metricWindow,
  parseKeepAlive,
  parsePin,
  parseStackArn,
} from './model';

interface WarnedEntry {
  readonly param: string;
  readonly stagingName: string;
  readonly deadlineSeconds: number;
  readonly lastModifiedMs?: number;
  readonly deleteAfterMs?: number;
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

/** What earlier runs recorded under `<parameterPrefix>/sweeper`. */
class SweeperState {
  readonly warned = new Map<string, WarnedEntry[]>();
  readonly claims = new Map<string, ClaimEntry[]>();
  readonly failed = new Map<string, FailedEntry[]>();

  constructor(statePath: string, params: Parameter[]) {
    for (const p of params) {
      const parts = p.name.slice(statePath.length + 1).split('/');
      const value = parseJson(p.value);
      if (parts[0] === WARNED && parts.length === 3 && /^\d+$/.test(parts[2])) {
        push(this.warned, parts[1], {
          param: p.name,
          stagingName: parts[1],
          deadlineSeconds: Number(parts[2]),
          lastModifiedMs: p.lastModifiedMs,
          deleteAfterMs: typeof value.deleteAfter === 'string' ? Date.parse(value.deleteAfter) || undefined : undefined,
        });
      } else if (parts[0] === DELETING && parts.length === 4 && /^\d+$/.test(parts[3])) {
        push(this.claims, parts[2], { param: p.name, stagingName: parts[1], uuid: parts[2], attempt: Number(parts[3]), lastModifiedMs: p.lastModifiedMs, value });
      } else if (parts[0] === FAILED && parts.length === 4) {
        push(this.failed, parts[2], { param: p.name, stagingName: parts[1], uuid: parts[2] });
      }
    }
  }

  latestClaim(uuid: string): ClaimEntry | undefined {
    return (this.claims.get(uuid) ?? []).reduce<ClaimEntry | undefined>((a, c) => (!a || c.attempt > a.attempt ? c : a), undefined);
  }
}

/** A staging being judged in this run. */
interface Work {
  readonly info: StackInfo;
  readonly report: StagingReport;
  readonly pin?: PinState;
  base?: Activity;
  idleDeadlineMs?: number;
  deleteAtMs?: number;
  retain?: string[];
}

export async function sweep(config: SweeperConfig, nowMs: number): Promise<SweepReport> {
  const names = new ParameterNames(config.parameterPrefix);
  const report: SweepReport = {
    dryRun: config.dryRun,
    startedAt: new Date(nowMs).toISOString(),
    prefix: config.prefix,
    idleTimeoutHours: hours(config.idleTimeoutMs),
    warningPeriodHours: hours(config.warningPeriodMs),
    counts: emptyCounts(),
    stagings: [],
    ignored: [],
    completed: [],
    problems: [],
  };
  const counts = report.counts;

  // 1. Read everything first. If any of these fails, nothing is known for sure: act on nothing.
  const [allStacks, pinParams, keepAliveParams, stateParams] = await Promise.all([
    labelled('list the stacks (cloudformation:DescribeStacks)', describeAllStacks()),
    labelled(`read the pins under ${names.pinPath} (ssm:GetParametersByPath)`, parametersByPath(names.pinPath)),
    labelled(`read the keep-alives under ${names.keepAlivePath} (ssm:GetParametersByPath)`, parametersByPath(names.keepAlivePath)),
    labelled(`read the sweeper's state under ${names.statePath} (ssm:GetParametersByPath)`, parametersByPath(names.statePath)),
  ]);
  const pins = childValues(names.pinPath, pinParams);
  const keepAlives = childValues(names.keepAlivePath, keepAliveParams);
  const state = new SweeperState(names.statePath, stateParams);

  const liveUuids = new Set(allStacks.map((s) => parseStackArn(s.StackId ?? '')?.uuid).filter((u): u is string => !!u));
  const liveNames = new Set<string>();
  const works: Work[] = [];
  for (const stack of allStacks) {
    const c = classifyStack(stack, config);
    if (!c) continue;
    if (isIgnored(c)) {
      report.ignored.push(c);
      continue;
    }
    liveNames.add(c.stagingName);
    const pinParam = pins.get(c.stagingName);
    works.push({
      info: c,
      pin: pinParam ? parsePin(pinParam.value, nowMs) : undefined,
      report: {
        stackName: c.stackName,
        stackId: c.stackId,
        stagingName: c.stagingName,
        branch: c.branch,
        kind: c.kind,
        status: c.status,
        url: c.url,
        action: 'keep',
        outcome: 'done',
        reason: '',
      },
    });
  }
  counts.scanned = works.length;
  report.stagings.push(...works.map((w) => w.report));

  const obsoleteState: string[] = [];
  const toJudge: Work[] = [];
  const deleteFailed: Work[] = [];

  // 2. Judge what needs no metrics.
  for (const w of works) {
    const { info, report: r } = w;
    if (isInProgress(info.status)) {
      setAction(r, 'skip', `the stack is ${info.status}; the sweeper leaves it alone until that finishes`);
      continue;
    }
    if (info.status === 'DELETE_FAILED') {
      deleteFailed.push(w);
      continue;
    }
    if (info.terminationProtection) {
      setAction(r, 'keep', 'termination protection is on: the sweeper never deletes a protected stack');
      continue;
    }
    if (w.pin?.kind === 'active') {
      counts.pinned++;
      r.pinnedUntil = new Date(w.pin.until).toISOString();
      setAction(r, 'keep', `pinned until the end of ${w.pin.value} (UTC)`);
      obsoleteState.push(...warningsOf(state, info.stagingName));
      continue;
    }
    if (w.pin?.kind === 'malformed') {
      counts.failed++;
      const problem =
        `the pin ${names.pin(info.stagingName)} has the value ${JSON.stringify(w.pin.value.slice(0, 64))}, which is not a date (YYYY-MM-DD): ` +
        `the staging is kept (fail closed) until it is fixed, e.g. ${pinCommand(config, info.stagingName, isoDate(nowMs + 14 * 24 * 3600 * 1000))}, or deleted`;
      (r.problems ??= []).push(problem);
      setAction(r, 'keep', 'unreadable pin: kept (fail closed) and reported');
      r.outcome = 'failed';
      r.error = problem;
      continue;
    }
    const keepAliveParam = keepAlives.get(info.stagingName);
    const keepAlive = keepAliveParam ? parseKeepAlive(keepAliveParam.value, keepAliveParam.lastModifiedMs, nowMs) : undefined;
    if (keepAlive?.problem) (r.problems ??= []).push(`${names.keepAlive(info.stagingName)}: ${keepAlive.problem}; counted from when it was written`);
    w.base = latestActivity([
      { at: info.createdMs, source: 'stack-created' },
      info.updatedMs !== undefined ? { at: info.updatedMs, source: 'stack-updated' } : undefined,
      keepAlive?.at !== undefined ? { at: keepAlive.at, source: 'keep-alive' } : undefined,
    ]);
    const pinNote = w.pin?.kind === 'expired' ? ` (its pin expired at the end of ${w.pin.value})` : '';
    if (w.base.at + config.idleTimeoutMs - config.warningPeriodMs > nowMs) {
      // Active whatever the requests say: no need to query them.
      setActivity(r, w.base, config);
      r.requests = 'not-queried';
      setAction(r, 'keep', `active: ${describeActivity(w.base)}${pinNote}`);
      obsoleteState.push(...warningsOf(state, info.stagingName), ...staleClaims(state, info.uuid, nowMs));
      continue;
    }
    if (pinNote) r.reason = pinNote.trim();
    toJudge.push(w);
  }

  // 3. RequestCount of every staging that may be idle: 500 target groups per GetMetricData call.
  const window = metricWindow(nowMs, config.idleTimeoutMs);
  const queries: RequestQuery[] = toJudge
    .filter((w) => w.info.targetGroup && w.info.loadBalancer)
    .map((w) => ({ key: w.info.stackId, targetGroup: w.info.targetGroup!, loadBalancer: w.info.loadBalancer! }));
  const requests = queries.length ? await lastRequests(queries, window, nowMs) : new Map<string, RequestResult>();

  const toWarn: Work[] = [];
  const toDelete: Work[] = [];
  for (const w of toJudge) {
    const { info, report: r } = w;
    let requestActivity: Activity | undefined;
    if (!info.targetGroup || !info.loadBalancer) {
      r.requests = 'no-target-group';
    } else {
      const res = requests.get(info.stackId);
      if (!res || res.error) {
        counts.failed++;
        setAction(r, 'skip', 'could not read its RequestCount: skipped this run');
        r.outcome = 'failed';
        r.error = res?.error ?? 'no GetMetricData result';
        continue;
      }
      if (res.lastRequestMs !== undefined) {
        r.requests = 'seen';
        requestActivity = { at: res.lastRequestMs, source: 'request' };
      } else if (res.hasData || info.createdMs <= nowMs - config.idleTimeoutMs) {
        // No requests, and the target group is older than the window: that is zero requests.
        r.requests = 'none-in-window';
      } else {
        // No data at all on a target group younger than the window: unknown, never "idle".
        r.requests = 'no-data-young';
        setActivity(r, w.base!, config);
        setAction(r, 'keep', 'no RequestCount data yet and the target group is younger than the idle window: not judged idle until it is older');
        continue;
      }
    }
    const last = latestActivity([w.base, requestActivity]);
    setActivity(r, last, config);
    const idleDeadlineMs = last.at + config.idleTimeoutMs;
    w.idleDeadlineMs = idleDeadlineMs;
    const deadlineSeconds = Math.floor(idleDeadlineMs / 1000);
    const warnings = state.warned.get(info.stagingName) ?? [];
    obsoleteState.push(...warnings.filter((x) => x.deadlineSeconds !== deadlineSeconds).map((x) => x.param));
    if (nowMs < idleDeadlineMs - config.warningPeriodMs) {
      setAction(r, 'keep', `active: ${describeActivity(last)}`);
      obsoleteState.push(...warnings.filter((x) => x.deadlineSeconds === deadlineSeconds).map((x) => x.param), ...staleClaims(state, info.uuid, nowMs));
      continue;
    }
    if (nowMs >= idleDeadlineMs) counts.idle++;
    const warned = warnings.find((x) => x.deadlineSeconds === deadlineSeconds);
    const note = r.reason ? ` ${r.reason}` : '';
    if (!warned) {
      w.deleteAtMs = Math.max(idleDeadlineMs, nowMs + config.warningPeriodMs);
      r.deleteAt = iso(w.deleteAtMs);
      setAction(r, 'warn', `idle since ${describeActivity(last)}: warn now, delete at ${r.deleteAt}${note}`);
      toWarn.push(w);
      continue;
    }
    const warnedAt = warned.lastModifiedMs ?? nowMs;
    w.deleteAtMs = Math.max(idleDeadlineMs, warnedAt + config.warningPeriodMs, warned.deleteAfterMs ?? 0);
    r.deleteAt = iso(w.deleteAtMs);
    if (nowMs < w.deleteAtMs) {
      setAction(r, 'keep', `warned at ${iso(warnedAt)}; deletion at ${r.deleteAt}${note}`);
      continue;
    }
    setAction(r, 'delete', `idle since ${describeActivity(last)}, warned at ${iso(warnedAt)} for ${r.deleteAt}${note}`);
    toDelete.push(w);
  }

  // 4. Act, a few stacks at a time. Each stack's errors stay with that stack.
  const notices: { notice: Notice; onFailure?: (error: string) => Promise<void> }[] = [];

  await forEachLimit(deleteFailed, config.concurrency, async (w) => {
    const { info, report: r } = w;
    counts.failed++;
    setAction(r, 'report', 'the stack is DELETE_FAILED');
    try {
      r.failedResources = await failedResources(info.stackId);
    } catch (e) {
      r.outcome = 'failed';
      r.error = `could not list its resources (cloudformation:ListStackResources): ${errorMessage(e)}`;
      return;
    }
    const list = r.failedResources.map((x) => x.logicalId).join(', ') || 'none listed';
    r.reason = `the stack is DELETE_FAILED; resources that failed: ${list}`;
    const marker = names.failed(info.stagingName, info.uuid, info.deletionMs ?? info.updatedMs ?? info.createdMs);
    const pinned = w.pin?.kind === 'active' || w.pin?.kind === 'malformed';
    const retry = config.retainResourcesOnDeleteFailed && !pinned && r.failedResources.length > 0;
    if (config.dryRun) {
      if (retry) {
        setAction(r, 'retry-delete', `${r.reason}; would retry, retaining them`);
        r.retainedResources = r.failedResources;
        counts.deleted++;
      }
      r.outcome = 'dry-run';
      return;
    }
    try {
      const reported = (state.failed.get(info.uuid) ?? []).some((f) => f.param === marker);
      if (!reported && (await claim(marker, { stackId: info.stackId, reportedAt: iso(nowMs) }))) {
        notices.push({ notice: deleteFailedNotice(config, r), onFailure: () => deleteParameters([marker]) });
      }
    } catch (e) {
      (r.problems ??= []).push(`could not record the failure notice: ${errorMessage(e)}`);
    }
    if (!retry) return;
    setAction(r, 'retry-delete', `${r.reason}; retrying, retaining them (left behind)`);
    w.retain = r.failedResources.map((x) => x.logicalId);
    r.retainedResources = r.failedResources;
    await deleteOne(w);
  });

  await forEachLimit(toWarn, config.concurrency, async (w) => {
    const { info, report: r } = w;
    if (config.dryRun) {
      counts.warned++;
      r.outcome = 'dry-run';
      return;
    }
    const param = names.warned(info.stagingName, w.idleDeadlineMs!);
    try {
      const mine = await claim(param, { stackId: info.stackId, warnedAt: iso(nowMs), deleteAfter: r.deleteAt, lastActivity: r.lastActivity });
      if (!mine) {
        r.outcome = 'claimed-elsewhere';
        r.reason += ' (another run has sent this warning)';
        return;
      }
    } catch (e) {
      counts.failed++;
      r.outcome = 'failed';
      r.error = `could not record the warning (ssm:PutParameter ${param}): ${errorMessage(e)}`;
      return;
    }
    counts.warned++;
    notices.push({
      notice: warningNotice(config, r, w.deleteAtMs!),
      onFailure: async (error) => {
        // Not delivered: forget it, so the next run warns again (and deletion waits for that).
        counts.warned--;
        counts.failed++;
        r.outcome = 'failed';
        r.error = error;
        await deleteParameters([param]);
      },
    });
  });

  await forEachLimit(toDelete, config.concurrency, deleteOne);

  async function deleteOne(w: Work): Promise<void> {
    const { info, report: r } = w;
    const latest = state.latestClaim(info.uuid);
    if (latest && info.status !== 'DELETE_FAILED' && nowMs - (latest.lastModifiedMs ?? 0) < STALE_CLAIM_MS) {
      r.outcome = 'claimed-elsewhere';
      r.reason += ` (another run claimed this deletion at ${iso(latest.lastModifiedMs)})`;
      return;
    }
    if (config.dryRun) {
      counts.deleted++;
      r.outcome = 'dry-run';
      return;
    }
    const attempt = (latest?.attempt ?? 0) + 1;
    const param = names.deleting(info.stagingName, info.uuid, attempt);
    try {
      const mine = await claim(param, {
        stackId: info.stackId,
        stackName: info.stackName,
        branch: info.branch,
        url: info.url,
        claimedAt: iso(nowMs),
        retained: r.retainedResources?.map((x) => ({ logicalId: x.logicalId, physicalId: x.physicalId, type: x.type })),
      });
      if (!mine) {
        r.outcome = 'claimed-elsewhere';
        r.reason += ' (another run is deleting it)';
        return;
      }
    } catch (e) {
      counts.failed++;
      r.outcome = 'failed';
      r.error = `could not claim the deletion (ssm:PutParameter ${param}): ${errorMessage(e)}`;
      return;
    }
    try {
      await deleteStack(info.stackId, config.deletionRoleArn, `sweeper-${info.uuid}-${attempt}`, w.retain);
    } catch (e) {
      counts.failed++;
      r.outcome = 'failed';
      r.error = `DeleteStack failed: ${errorMessage(e)}`;
      try {
        await deleteParameters([param]);
      } catch (release) {
        (r.problems ??= []).push(`could not release the deletion claim ${param}: ${errorMessage(release)}; it is retried after ${STALE_CLAIM_MS / 60000} minutes`);
      }
      return;
    }
    counts.deleted++;
    r.outcome = 'done';
    notices.push({ notice: deletingNotice(config, r) });
  }

  // 5. Deletions started by earlier runs that have finished: tell, then forget their state.
  const pendingForget: string[][] = [];
  for (const [uuid, claims] of state.claims) {
    if (liveUuids.has(uuid)) continue;
    const latest = state.latestClaim(uuid)!;
    const v = latest.value;
    const done: CompletedDeletion = {
      stackName: typeof v.stackName === 'string' ? v.stackName : `${config.prefix}-${latest.stagingName}`,
      stackId: typeof v.stackId === 'string' ? v.stackId : uuid,
      stagingName: latest.stagingName,
      branch: typeof v.branch === 'string' ? v.branch : undefined,
      url: typeof v.url === 'string' ? v.url : undefined,
      retainedResources: Array.isArray(v.retained) ? (v.retained as CompletedDeletion['retainedResources']) : undefined,
      outcome: config.dryRun ? 'dry-run' : 'done',
    };
    report.completed.push(done);
    const forget = [
      ...claims.map((c) => c.param),
      ...(state.failed.get(uuid) ?? []).map((f) => f.param),
      ...(liveNames.has(latest.stagingName) ? [] : warningsOf(state, latest.stagingName)),
    ];
    notices.push({
      notice: deletedNotice(config, done),
      onFailure: async (error) => {
        done.outcome = 'failed';
        done.error = error;
        forget.length = 0; // keep the state: the next run tells again
      },
    });
    pendingForget.push(forget);
  }

  // State of stagings that no longer exist (deleted by hand, or never claimed by this sweeper).
  for (const [name, warnings] of state.warned) {
    if (!liveNames.has(name) && !pendingForget.some((f) => warnings.some((x) => f.includes(x.param)))) {
      obsoleteState.push(...warnings.map((x) => x.param));
    }
  }
  for (const [uuid, failures] of state.failed) {
    if (!liveUuids.has(uuid) && !state.claims.has(uuid)) obsoleteState.push(...failures.map((f) => f.param));
  }

  if (!config.dryRun) {
    const failures = await publish(config.topicArn, config.prefix, notices.map((n) => n.notice));
    for (const [index, error] of failures) {
      const n = notices[index];
      report.problems.push(`${n.notice.event} notice for ${n.notice.stagingName} not published: ${error}`);
      try {
        await n.onFailure?.(error);
      } catch (e) {
        report.problems.push(`after the failed ${n.notice.event} notice for ${n.notice.stagingName}: ${errorMessage(e)}`);
      }
    }
    const forget = [...new Set([...obsoleteState, ...pendingForget.flat()])];
    if (forget.length) {
      try {
        await deleteParameters(forget);
      } catch (e) {
        report.problems.push(`could not remove ${forget.length} obsolete state parameter(s) under ${names.statePath}: ${errorMessage(e)}; retried next run`);
      }
    }
    try {
      await putMetrics(config.metricNamespace, metricData(config, counts, nowMs));
    } catch (e) {
      report.problems.push(`could not publish the run's metrics (cloudwatch:PutMetricData): ${errorMessage(e)}`);
    }
  }

  report.finishedAt = new Date().toISOString();
  for (const r of report.stagings) {
    if (r.action !== 'keep' || r.outcome !== 'done' || r.problems) log('staging', { ...r });
  }
  for (const p of report.problems) logError('problem', { problem: p });
  log('sweep finished', { dryRun: report.dryRun, counts, ignored: report.ignored.length, completed: report.completed.length, problems: report.problems.length });
  return report;
}

async function labelled<T>(what: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw new Error(
      `The sweeper could not ${what}: ${errorMessage(e)}. It changed nothing this run and tries again on the next one; ` +
        'check the function role\'s permissions and the AWS service health.',
    );
  }
}

/** Direct children of `path` (`<path>/<name>`), by name. Deeper parameters are not pins or keep-alives. */
function childValues(path: string, params: Parameter[]): Map<string, Parameter> {
  const out = new Map<string, Parameter>();
  for (const p of params) {
    const rest = p.name.slice(path.length + 1);
    if (p.name.startsWith(`${path}/`) && rest && !rest.includes('/')) out.set(rest, p);
  }
  return out;
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

function setAction(r: StagingReport, action: StagingReport['action'], reason: string): void {
  r.action = action;
  r.reason = reason;
}

function setActivity(r: StagingReport, a: Activity, config: SweeperConfig): void {
  r.lastActivity = iso(a.at);
  r.lastActivitySource = a.source;
  r.idleAt = iso(a.at + config.idleTimeoutMs);
}

function describeActivity(a: Activity): string {
  const what = { 'stack-created': 'stack created', 'stack-updated': 'stack updated', 'keep-alive': 'keep-alive', request: 'last request' }[a.source];
  return `${what} ${iso(a.at)}`;
}

function warningsOf(state: SweeperState, stagingName: string): string[] {
  return (state.warned.get(stagingName) ?? []).map((x) => x.param);
}

/** Deletion claims of a live, active stack older than a Lambda run can last: left over from a crash. */
function staleClaims(state: SweeperState, uuid: string, nowMs: number): string[] {
  return (state.claims.get(uuid) ?? []).filter((c) => nowMs - (c.lastModifiedMs ?? 0) >= STALE_CLAIM_MS).map((c) => c.param);
}

/** Runs `fn` over `items`, at most `limit` at a time. */
export async function forEachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(Math.max(1, limit), items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item);
    }
  });
  await Promise.all(workers);
}

function metricData(config: SweeperConfig, counts: SweepReport['counts'], nowMs: number): MetricDatum[] {
  const dims = [{ Name: 'Prefix', Value: config.prefix }];
  const m = (name: string, value: number): MetricDatum => ({ MetricName: name, Value: value, Unit: 'Count', Timestamp: new Date(nowMs), Dimensions: dims });
  return [m('Scanned', counts.scanned), m('Idle', counts.idle), m('Warned', counts.warned), m('Deleted', counts.deleted), m('Failed', counts.failed), m('Pinned', counts.pinned)];
}
