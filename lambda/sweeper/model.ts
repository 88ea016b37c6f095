/**
 * Pure parts of the sweeper: configuration, the report's shape, stack ARNs, the RequestCount query
 * window. No AWS calls here. The pins, keep-alives and the sweeper's own state, their paths and
 * formats, and what counts as activity are lib/contract/branch-state.ts.
 */
import type { ActivitySource } from '../../lib/contract/branch-state';
import { branchStagingOf, isBranchStaging } from '../../lib/contract/branch-state';
import { FeatureOutputs } from '../../lib/contract/staging';

/** A deletion claim older than this whose stack is not being deleted is left over from a crashed run. */
export const STALE_CLAIM_MS = 30 * 60 * 1000;

const HOUR_MS = 3600 * 1000;

export interface SweeperConfig {
  /** Stack-name prefix: feature stacks are `<prefix>-<staging name>`. */
  readonly prefix: string;
  /** SSM path of the staging system, e.g. `/staging`. */
  readonly parameterPrefix: string;
  readonly idleTimeoutMs: number;
  readonly warningPeriodMs: number;
  /**
   * The longest a run can last (the function's timeout). A warning claimed longer ago than this
   * and never marked delivered was left by a run that died before SNS accepted it.
   */
  readonly runTimeoutMs: number;
  /** Preview only: no mutating call at all. */
  readonly dryRun: boolean;
  /** Retry DELETE_FAILED stacks with RetainResources = the resources that failed. */
  readonly retainResourcesOnDeleteFailed: boolean;
  readonly topicArn: string;
  /** The CloudFormation service role DeleteStack runs with. */
  readonly deletionRoleArn: string;
  /** The sweeper's own account and region: it never acts on a stack elsewhere. */
  readonly account: string;
  readonly region: string;
  readonly metricNamespace: string;
  /** How many stacks are worked on at the same time. */
  readonly concurrency: number;
}

/** What the sweeper decided for one feature staging. */
export type Action =
  /** Nothing to do: active, pinned, warned but not yet due, or protected. */
  | 'keep'
  /** Publish the warning now (deletion at `deleteAt`). */
  | 'warn'
  /** Delete the stack now. */
  | 'delete'
  /** Retry a DELETE_FAILED stack with RetainResources. */
  | 'retry-delete'
  /** Not evaluated this run: in progress, or an error. */
  | 'skip'
  /** DELETE_FAILED, reported; retried only by opt-in. */
  | 'report';

export type Outcome =
  /** The action was carried out (for `keep`, `skip`, `report`: nothing needed doing). */
  | 'done'
  /** Dry run: what would have happened. */
  | 'dry-run'
  /** Another run holds the claim for this warning or deletion; this run did nothing. */
  | 'claimed-elsewhere'
  /** An API call failed; see `error`. */
  | 'failed';

export interface ResourceInfo {
  readonly logicalId: string;
  readonly physicalId?: string;
  readonly type?: string;
  readonly reason?: string;
}

export interface StagingReport {
  readonly stackName: string;
  readonly stackId: string;
  readonly stagingName: string;
  readonly branch: string;
  readonly kind: string;
  readonly status: string;
  readonly url?: string;
  /** ISO-8601; the latest of creation/update, keep-alive and the last request. */
  lastActivity?: string;
  lastActivitySource?: ActivitySource;
  /** `requests`: what RequestCount said (or why it was not read). */
  requests?: 'seen' | 'none-in-window' | 'no-data-young' | 'not-queried' | 'no-target-group' | 'error';
  /** When the staging becomes idle (lastActivity + idle timeout). */
  idleAt?: string;
  /** When the sweeper deletes it (announced in the warning); set once warned or due. */
  deleteAt?: string;
  pinnedUntil?: string;
  action: Action;
  outcome: Outcome;
  reason: string;
  error?: string;
  /** Resources that failed to delete (DELETE_FAILED stacks). */
  failedResources?: ResourceInfo[];
  /** Resources a RetainResources retry leaves behind (to delete by hand). */
  retainedResources?: ResourceInfo[];
  /** Problems that need a person (malformed pin or keep-alive, ...). */
  problems?: string[];
}

export interface IgnoredStack {
  readonly stackName: string;
  readonly reason: string;
}

export interface CompletedDeletion {
  readonly stackName: string;
  readonly stackId: string;
  readonly stagingName: string;
  readonly branch?: string;
  readonly url?: string;
  readonly retainedResources?: ResourceInfo[];
  outcome: Outcome;
  error?: string;
}

/** The counts of a run, derived from its final report (sweep.ts `countsOf`), never kept along the way. */
export interface Counts {
  /** Feature stagings considered (marker tag, name prefix, own account and region). */
  readonly scanned: number;
  /** Stagings whose idle deadline (`idleAt`) has passed. */
  readonly idle: number;
  /** Warnings SNS accepted (dry run: that would be sent). */
  readonly warned: number;
  /** DeleteStack calls accepted, or answered "does not exist" (dry run: that would be made). */
  readonly deleted: number;
  /** Stagings the sweeper could not handle (outcome `failed`: API errors, unreadable pins) and DELETE_FAILED stacks; each once. */
  readonly failed: number;
  /** Stagings kept by an active pin. */
  readonly pinned: number;
}

export interface SweepReport {
  readonly dryRun: boolean;
  readonly startedAt: string;
  finishedAt?: string;
  readonly prefix: string;
  readonly idleTimeoutHours: number;
  readonly warningPeriodHours: number;
  readonly counts: Counts;
  readonly stagings: StagingReport[];
  /** Stacks with the name prefix that are not feature stagings of this system: never touched. */
  readonly ignored: IgnoredStack[];
  /** Deletions started by earlier runs that have finished. */
  readonly completed: CompletedDeletion[];
  /** Problems not tied to one staging (e.g. metrics could not be published). */
  readonly problems: string[];
}

/** A stack as the sweeper sees it, from DescribeStacks. */
export interface StackInfo {
  readonly stackName: string;
  readonly stackId: string;
  readonly uuid: string;
  readonly stagingName: string;
  readonly branch: string;
  readonly kind: string;
  readonly status: string;
  readonly createdMs: number;
  readonly updatedMs?: number;
  readonly deletionMs?: number;
  readonly terminationProtection: boolean;
  readonly url?: string;
  readonly targetGroup?: string;
  readonly loadBalancer?: string;
}

/** The subset of a CloudFormation Stack the sweeper reads (matches the SDK's shape). */
export interface RawStack {
  StackName?: string;
  StackId?: string;
  StackStatus?: string;
  CreationTime?: Date;
  LastUpdatedTime?: Date;
  DeletionTime?: Date;
  ParentId?: string;
  RootId?: string;
  EnableTerminationProtection?: boolean;
  Tags?: { Key?: string; Value?: string }[];
  Outputs?: { OutputKey?: string; OutputValue?: string }[];
}

/**
 * Classifies a stack: a feature staging of this system (returns StackInfo), a look-alike with the
 * name prefix (returns the reason it is ignored), or unrelated (returns undefined).
 */
export function classifyStack(stack: RawStack, config: SweeperConfig): StackInfo | IgnoredStack | undefined {
  const stackName = stack.StackName ?? '';
  const staging = branchStagingOf(stack, config.prefix);
  if (!isBranchStaging(staging)) return staging.lookalike ? { stackName, reason: staging.reason } : undefined;
  const ignore = (reason: string): IgnoredStack => ({ stackName, reason });
  const arn = parseStackArn(stack.StackId ?? '');
  if (!arn || arn.region !== config.region || arn.account !== config.account || arn.stackName !== stackName) {
    return ignore(`stack id ${stack.StackId} is not a stack of account ${config.account} in ${config.region}: never touched`);
  }
  if (!stack.CreationTime) return ignore('no creation time: cannot judge its age, never touched');

  const outputs = new Map((stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  const targetGroup = outputs.get(FeatureOutputs.TARGET_GROUP_FULL_NAME);
  const loadBalancer = outputs.get(FeatureOutputs.LOAD_BALANCER_FULL_NAME);
  return {
    stackName,
    stackId: stack.StackId!,
    uuid: arn.uuid,
    stagingName: staging.name,
    branch: staging.branch,
    kind: staging.kind,
    status: stack.StackStatus ?? 'UNKNOWN',
    createdMs: stack.CreationTime.getTime(),
    updatedMs: stack.LastUpdatedTime?.getTime(),
    deletionMs: stack.DeletionTime?.getTime(),
    terminationProtection: stack.EnableTerminationProtection === true,
    url: outputs.get(FeatureOutputs.URL) || undefined,
    targetGroup: targetGroup && /^targetgroup\/[^/]+\/[^/]+$/.test(targetGroup) ? targetGroup : undefined,
    loadBalancer: loadBalancer && /^app\/[^/]+\/[^/]+$/.test(loadBalancer) ? loadBalancer : undefined,
  };
}

export function isIgnored(x: StackInfo | IgnoredStack): x is IgnoredStack {
  return 'reason' in x;
}

export interface StackArn {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  readonly stackName: string;
  readonly uuid: string;
}

export function parseStackArn(arn: string): StackArn | undefined {
  const m = /^arn:(aws[a-z-]*):cloudformation:([a-z0-9-]+):(\d{12}):stack\/([^/]+)\/([A-Za-z0-9-]+)$/.exec(arn);
  if (!m) return undefined;
  return { partition: m[1], region: m[2], account: m[3], stackName: m[4], uuid: m[5] };
}


/** What GetMetricData said about one target group's RequestCount. */
export interface RequestResult {
  /** End of the newest hour with requests. */
  readonly lastRequestMs?: number;
  /** Whether any data point came back at all. */
  readonly hasData: boolean;
  readonly error?: string;
}

/** The RequestCount query: hour-aligned buckets (so results are stable across runs) over the idle window. */
export interface MetricWindow {
  readonly periodSeconds: number;
  readonly startMs: number;
  readonly endMs: number;
}

/** Data points per query so that 500 queries stay within GetMetricData's 100,800 per call. */
const MAX_POINTS_PER_QUERY = 200;

export function metricWindow(nowMs: number, idleTimeoutMs: number): MetricWindow {
  const hours = Math.ceil(idleTimeoutMs / HOUR_MS / MAX_POINTS_PER_QUERY);
  const periodMs = Math.max(1, hours) * HOUR_MS;
  // The end of the current bucket, so a request in this very minute is seen.
  const endMs = (Math.floor(nowMs / periodMs) + 1) * periodMs;
  const buckets = Math.ceil(idleTimeoutMs / periodMs) + 1;
  return { periodSeconds: periodMs / 1000, startMs: endMs - buckets * periodMs, endMs };
}

/** Latest request time from one query's data points: the end of the newest bucket with requests. */
export function lastRequestAt(timestamps: Date[], values: number[], periodSeconds: number, nowMs: number): number | undefined {
  let latest: number | undefined;
  timestamps.forEach((t, i) => {
    if ((values[i] ?? 0) > 0) {
      const end = Math.min(t.getTime() + periodSeconds * 1000, nowMs);
      if (latest === undefined || end > latest) latest = end;
    }
  });
  return latest;
}

/** Stack statuses the sweeper never acts on: something is already happening to the stack. */
export function isInProgress(status: string): boolean {
  return status.endsWith('_IN_PROGRESS');
}

export function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/** `YYYY-MM-DD` of a time, UTC. */
export function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function hours(ms: number): number {
  return Math.round((ms / HOUR_MS) * 100) / 100;
}
