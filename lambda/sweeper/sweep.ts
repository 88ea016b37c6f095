/**
 * One sweeper run in three steps: observe (a few paginated reads), decide (decide.ts: pure, one
 * decision per staging with its reason), act (carry the decisions out through atomic SSM claims),
 * then report what happened. The counts are derived from the final report. See docs/sweeper.md.
 */
import type { MetricDatum } from '@aws-sdk/client-cloudwatch';
import { BranchStatePaths } from '../../lib/contract/branch-state';
import { log, logError } from '../shared/provider';
import { describeError } from '../shared/errors';
import {
  claim,
  deleteParameters,
  deleteStack,
  describeAllStacks,
  failedResources as listFailedResources,
  lastRequests,
  parametersByPath,
  publish,
  putMetrics,
  rewrite,
} from './aws';
import { Decision, FailedResourcesResult, Observation, Plan, decide, deleteFailedStacks, requestQueries } from './decide';
import { Notice, deleteFailedNotice, deletedNotice, deletingNotice, warningNotice } from './messages';
import {
  Action,
  CompletedDeletion,
  Counts,
  RequestResult,
  STALE_CLAIM_MS,
  StagingReport,
  SweepReport,
  SweeperConfig,
  hours,
  iso,
  metricWindow,
} from './model';

export async function sweep(config: SweeperConfig, nowMs: number): Promise<SweepReport> {
  const observation = await observe(config, nowMs);
  return act(config, nowMs, decide(config, observation));
}

/** Reads everything the decision needs. If a listing fails, nothing is known for sure: the run fails and acts on nothing. */
async function observe(config: SweeperConfig, nowMs: number): Promise<Observation> {
  const paths = new BranchStatePaths(config.parameterPrefix);
  const [stacks, pins, keepAlives, state] = await Promise.all([
    labelled('list the stacks (cloudformation:DescribeStacks)', describeAllStacks()),
    labelled(`read the pins under ${paths.pins.root} (ssm:GetParametersByPath)`, parametersByPath(paths.pins.root)),
    labelled(`read the keep-alives under ${paths.keepAlives.root} (ssm:GetParametersByPath)`, parametersByPath(paths.keepAlives.root)),
    labelled(`read the sweeper's state under ${paths.sweeper.root} (ssm:GetParametersByPath)`, parametersByPath(paths.sweeper.root)),
  ]);
  const listed: Observation = { nowMs, stacks, pins, keepAlives, state };
  // RequestCount only of the stagings that may be idle (500 target groups per call); the failed
  // resources of DELETE_FAILED stacks. An error here stays with the stacks concerned.
  const queries = requestQueries(config, listed);
  const failedResources = new Map<string, FailedResourcesResult>();
  const [requests] = await Promise.all([
    queries.length ? lastRequests(queries, metricWindow(nowMs, config.idleTimeoutMs), nowMs) : Promise.resolve(new Map<string, RequestResult>()),
    forEachLimit(deleteFailedStacks(config, listed), config.concurrency, async (info) => {
      try {
        failedResources.set(info.stackId, { resources: await listFailedResources(info.stackId) });
      } catch (e) {
        failedResources.set(info.stackId, { error: describeError(e) });
      }
    }),
  ]);
  return { ...listed, requests, failedResources };
}

/** A notice to publish, with what to do once SNS accepted or refused it. */
interface Pending {
  readonly notice: Notice;
  readonly onAccepted?: () => Promise<void>;
  readonly onRefused?: (error: string) => Promise<void>;
}

/** Carries the decisions out, a few stacks at a time; each stack's errors stay with that stack. */
async function act(config: SweeperConfig, nowMs: number, plan: Plan): Promise<SweepReport> {
  const dryRun = config.dryRun;
  const items = plan.decisions.map((d) => ({ d, r: reportOf(config, d) }));
  const doing = (...actions: Action[]) => items.filter((x) => actions.includes(x.d.action));
  const notices: Pending[] = [];
  const problems: string[] = [];

  await forEachLimit(doing('report', 'retry-delete'), config.concurrency, async ({ d, r }) => {
    if (!dryRun && d.failureNotice) {
      const marker = d.failureNotice.marker;
      try {
        if (await claim(marker, { stackId: d.info.stackId, reportedAt: iso(nowMs) })) {
          notices.push({ notice: deleteFailedNotice(config, r), onRefused: () => deleteParameters([marker]) });
        }
      } catch (e) {
        (r.problems ??= []).push(`could not record the failure notice: ${describeError(e)}`);
      }
    }
    if (d.deletion) await deleteOne(d, r);
  });
  await forEachLimit(doing('warn'), config.concurrency, ({ d, r }) => warnOne(d, r));
  await forEachLimit(doing('delete'), config.concurrency, ({ d, r }) => deleteOne(d, r));

  async function warnOne(d: Decision, r: StagingReport): Promise<void> {
    const w = d.warning!;
    if (dryRun) return;
    if (w.withdraw.length) {
      try {
        await deleteParameters([...w.withdraw]);
      } catch (e) {
        return fail(r, `could not withdraw the undelivered warning (ssm:DeleteParameters ${w.withdraw.join(', ')}): ${describeError(e)}`);
      }
    }
    try {
      if (!(await claim(w.param, { ...w.record }))) {
        r.outcome = 'claimed-elsewhere';
        r.reason += ' (another run has sent this warning)';
        return;
      }
    } catch (e) {
      return fail(r, `could not record the warning (ssm:PutParameter ${w.param}): ${describeError(e)}`);
    }
    notices.push({
      notice: warningNotice(config, r, d.deleteAtMs!),
      // Delivered: only now does the warning count towards a deletion.
      onAccepted: async () => {
        try {
          await rewrite(w.param, { ...w.record, deliveredAt: new Date().toISOString() });
        } catch (e) {
          fail(
            r,
            `SNS accepted the warning but marking it delivered failed (ssm:PutParameter ${w.param}): ${describeError(e)}; ` +
              `it does not count, and the staging is warned again once the claim is ${config.runTimeoutMs / 60000} minutes old`,
          );
        }
      },
      // Not delivered: withdraw the claim, so the next run warns again (and deletion waits for that).
      onRefused: async (error) => {
        fail(r, error);
        await deleteParameters([w.param]);
      },
    });
  }

  async function deleteOne(d: Decision, r: StagingReport): Promise<void> {
    const plan = d.deletion!;
    if (plan.kind === 'held-elsewhere') {
      r.outcome = 'claimed-elsewhere';
      r.reason += ` (another run claimed this deletion at ${iso(plan.claimedAtMs)})`;
      return;
    }
    if (dryRun) return;
    const info = d.info;
    try {
      const mine = await claim(plan.param, {
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
      return fail(r, `could not claim the deletion (ssm:PutParameter ${plan.param}): ${describeError(e)}`);
    }
    try {
      const result = await deleteStack(info.stackId, config.deletionRoleArn, plan.clientRequestToken, plan.retain);
      if (result === 'already-gone') r.reason += ' (CloudFormation says the stack does not exist: it is gone already)';
    } catch (e) {
      fail(r, `DeleteStack failed: ${describeError(e)}`);
      try {
        await deleteParameters([plan.param]);
      } catch (release) {
        (r.problems ??= []).push(`could not release the deletion claim ${plan.param}: ${describeError(release)}; it is retried after ${STALE_CLAIM_MS / 60000} minutes`);
      }
      return;
    }
    notices.push({ notice: deletingNotice(config, r) });
  }

  // Deletions started by earlier runs that have finished: tell, then forget their state.
  const completed: CompletedDeletion[] = [];
  const forget = [...plan.forget];
  for (const c of plan.completed) {
    const done: CompletedDeletion = { ...c.deletion, outcome: dryRun ? 'dry-run' : 'done' };
    completed.push(done);
    notices.push({
      notice: deletedNotice(config, done),
      onAccepted: async () => {
        forget.push(...c.forget);
      },
      // Not told: keep the state, so the next run tells again.
      onRefused: async (error) => {
        done.outcome = 'failed';
        done.error = error;
      },
    });
  }

  const stagings = items.map((x) => x.r);
  if (!dryRun) {
    const refused = await publish(config.topicArn, config.prefix, notices.map((n) => n.notice));
    await forEachLimit(
      notices.map((n, i) => ({ n, error: refused.get(i) })),
      config.concurrency,
      async ({ n, error }) => {
        try {
          if (error === undefined) await n.onAccepted?.();
          else {
            problems.push(`${n.notice.event} notice for ${n.notice.stagingName} not published: ${error}`);
            await n.onRefused?.(error);
          }
        } catch (e) {
          problems.push(`after the ${error === undefined ? 'published' : 'failed'} ${n.notice.event} notice for ${n.notice.stagingName}: ${describeError(e)}`);
        }
      },
    );
    const obsolete = [...new Set(forget)];
    if (obsolete.length) {
      try {
        await deleteParameters(obsolete);
      } catch (e) {
        problems.push(`could not remove ${obsolete.length} obsolete state parameter(s) under ${new BranchStatePaths(config.parameterPrefix).sweeper.root}: ${describeError(e)}; retried next run`);
      }
    }
  }
  const counts = countsOf(stagings, nowMs);
  if (!dryRun) {
    try {
      await putMetrics(config.metricNamespace, metricData(config, counts, nowMs));
    } catch (e) {
      problems.push(`could not publish the run's metrics (cloudwatch:PutMetricData): ${describeError(e)}`);
    }
  }

  const report: SweepReport = {
    dryRun,
    startedAt: new Date(nowMs).toISOString(),
    finishedAt: new Date().toISOString(),
    prefix: config.prefix,
    idleTimeoutHours: hours(config.idleTimeoutMs),
    warningPeriodHours: hours(config.warningPeriodMs),
    counts,
    stagings,
    ignored: [...plan.ignored],
    completed,
    problems,
  };
  for (const r of report.stagings) {
    if (r.action !== 'keep' || r.outcome !== 'done' || r.problems) log('staging', { ...r });
  }
  for (const p of report.problems) logError('problem', { problem: p });
  log('sweep finished', { dryRun: report.dryRun, counts, ignored: report.ignored.length, completed: report.completed.length, problems: report.problems.length });
  return report;
}

/** The report of one staging as decided; the action step then records what happened (the stagings page shows it as the plan). */
export function reportOf(config: SweeperConfig, d: Decision): StagingReport {
  const { info } = d;
  const acts = d.action !== 'keep' && d.action !== 'skip';
  const r: StagingReport = {
    stackName: info.stackName,
    stackId: info.stackId,
    stagingName: info.stagingName,
    branch: info.branch,
    kind: info.kind,
    status: info.status,
    action: d.action,
    outcome: d.error ? 'failed' : config.dryRun && acts ? 'dry-run' : 'done',
    reason: d.reason,
  };
  const optional: Partial<StagingReport> = {
    url: info.url,
    lastActivity: iso(d.activity?.at),
    lastActivitySource: d.activity?.source,
    requests: d.requests,
    idleAt: iso(d.idleAtMs),
    deleteAt: iso(d.deleteAtMs),
    pinnedUntil: iso(d.pinnedUntilMs),
    error: d.error,
    failedResources: d.failedResources ? [...d.failedResources] : undefined,
    retainedResources: d.action === 'retry-delete' && d.failedResources ? [...d.failedResources] : undefined,
    problems: d.problems?.length ? [...d.problems] : undefined,
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) (r as unknown as Record<string, unknown>)[k] = v;
  return r;
}

function fail(r: StagingReport, error: string): void {
  r.outcome = 'failed';
  r.error = error;
}

/** The run's counts, from its final report. */
export function countsOf(stagings: readonly StagingReport[], nowMs: number): Counts {
  const count = (f: (r: StagingReport) => boolean) => stagings.filter(f).length;
  const carriedOut = (r: StagingReport, ...actions: Action[]) => actions.includes(r.action) && (r.outcome === 'done' || r.outcome === 'dry-run');
  return {
    scanned: stagings.length,
    idle: count((r) => r.idleAt !== undefined && Date.parse(r.idleAt) <= nowMs),
    warned: count((r) => carriedOut(r, 'warn')),
    deleted: count((r) => carriedOut(r, 'delete', 'retry-delete')),
    failed: count((r) => r.outcome === 'failed' || r.status === 'DELETE_FAILED'),
    pinned: count((r) => r.pinnedUntil !== undefined),
  };
}

async function labelled<T>(what: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw new Error(
      `The sweeper could not ${what}: ${describeError(e)}. It changed nothing this run and tries again on the next one; ` +
        'check the function role\'s permissions and the AWS service health.',
    );
  }
}

/** Runs `fn` over `items`, at most `limit` at a time. */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(Math.max(1, limit), items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item);
    }
  });
  await Promise.all(workers);
}

function metricData(config: SweeperConfig, counts: Counts, nowMs: number): MetricDatum[] {
  const dims = [{ Name: 'Prefix', Value: config.prefix }];
  const m = (name: string, value: number): MetricDatum => ({ MetricName: name, Value: value, Unit: 'Count', Timestamp: new Date(nowMs), Dimensions: dims });
  return [m('Scanned', counts.scanned), m('Idle', counts.idle), m('Warned', counts.warned), m('Deleted', counts.deleted), m('Failed', counts.failed), m('Pinned', counts.pinned)];
}
