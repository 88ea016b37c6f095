/**
 * Pure parts of the sweeper: configuration, the report's shape, parsing of pins, keep-alives and
 * stack ARNs, the RequestCount query window, and the inactivity arithmetic. No AWS calls here.
 */
import { BranchParameterNames, FEATURE_KINDS, FeatureOutputs, TagKeys } from '../../lib/contract/staging';
// The inverse of the tags the constructs write; lib/contract/naming.ts imports nothing beyond node:crypto.
import { StagingNames, decodeTagValue } from '../../lib/contract/naming';

export { decodeTagValue };

/** Below `<parameterPrefix>/`: the sweeper's own state (warnings sent, deletions claimed). */
export const STATE_PREFIX = 'sweeper';
/**
 * `<parameterPrefix>/sweeper/warned/<staging name>/<idle deadline, epoch seconds>`: a warning,
 * claimed (a `WarningRecord` without `deliveredAt`) before it is published, and rewritten with
 * `deliveredAt` once SNS accepted it. Only a delivered warning lets the staging be deleted.
 */
export const WARNED = 'warned';
/** `<parameterPrefix>/sweeper/deleting/<staging name>/<stack uuid>/<attempt>` */
export const DELETING = 'deleting';
/** `<parameterPrefix>/sweeper/failed/<staging name>/<stack uuid>/<deletion time, epoch seconds>` */
export const FAILED = 'failed';

/** A deletion claim older than this whose stack is not being deleted is left over from a crashed run. */
export const STALE_CLAIM_MS = 30 * 60 * 1000;

const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;

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

export type ActivitySource = 'stack-created' | 'stack-updated' | 'keep-alive' | 'request';

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
  const namePrefix = `${config.prefix}-`;
  if (!stackName.startsWith(namePrefix)) return undefined;
  const ignore = (reason: string): IgnoredStack => ({ stackName, reason });

  if (stack.ParentId || stack.RootId) return ignore('nested stack: deleted with its parent, never on its own');
  const tags = new Map((stack.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  const kind = tags.get(TagKeys.KIND);
  if (kind === undefined) return ignore(`no ${TagKeys.KIND} tag: not a feature staging, never touched`);
  if (!FEATURE_KINDS.includes(kind)) return ignore(`${TagKeys.KIND}=${kind}: not a feature staging, never touched`);
  const tagPrefix = tags.get(TagKeys.PREFIX);
  if (tagPrefix !== config.prefix) {
    return ignore(`${TagKeys.PREFIX}=${tagPrefix ?? '(missing)'} is not "${config.prefix}": another staging system's stack, never touched`);
  }
  const stagingName = tags.get(TagKeys.NAME) ?? '';
  if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(stagingName) || `${namePrefix}${stagingName}` !== stackName) {
    return ignore(`${TagKeys.NAME}=${JSON.stringify(stagingName)} does not match the stack name: never touched`);
  }
  if (StagingNames.RESERVED_NAMES.includes(stagingName)) {
    return ignore(`"${stagingName}" is a reserved staging name (the shared staging, where every staging and the shared database live): never deleted, whatever its tags say`);
  }
  const arn = parseStackArn(stack.StackId ?? '');
  if (!arn || arn.region !== config.region || arn.account !== config.account || arn.stackName !== stackName) {
    return ignore(`stack id ${stack.StackId} is not a stack of account ${config.account} in ${config.region}: never touched`);
  }
  if (!stack.CreationTime) return ignore('no creation time: cannot judge its age, never touched');

  const outputs = new Map((stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  const targetGroup = outputs.get(FeatureOutputs.TARGET_GROUP_FULL_NAME);
  const loadBalancer = outputs.get(FeatureOutputs.LOAD_BALANCER_FULL_NAME);
  const branchTag = tags.get(TagKeys.BRANCH);
  return {
    stackName,
    stackId: stack.StackId!,
    uuid: arn.uuid,
    stagingName,
    branch: branchTag ? decodeTagValue(branchTag) : stagingName,
    kind,
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


export type PinState =
  | { readonly kind: 'active'; readonly until: number; readonly value: string }
  | { readonly kind: 'expired'; readonly until: number; readonly value: string }
  | { readonly kind: 'malformed'; readonly value: string };

/**
 * A pin is `YYYY-MM-DD` (a real calendar date): the staging is kept until the end of that UTC day.
 * Anything else is malformed, and a malformed pin keeps the staging (fail closed).
 */
export function parsePin(value: string, nowMs: number): PinState {
  const m = /^\s*(\d{4})-(\d{2})-(\d{2})\s*$/.exec(value);
  if (!m) return { kind: 'malformed', value };
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const start = Date.UTC(y, mo - 1, d);
  const check = new Date(start);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) {
    return { kind: 'malformed', value };
  }
  const until = start + DAY_MS;
  return nowMs < until ? { kind: 'active', until, value } : { kind: 'expired', until, value };
}

/**
 * A keep-alive is an ISO-8601 timestamp with a time zone. A future one counts as now. A malformed one
 * counts from when the parameter was written (writing it is activity too) and is reported.
 */
export function parseKeepAlive(value: string, lastModifiedMs: number | undefined, nowMs: number): { at?: number; problem?: string } {
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
  const parsed = iso.test(value.trim()) ? Date.parse(value.trim()) : NaN;
  if (Number.isFinite(parsed)) return { at: Math.min(parsed, nowMs) };
  const problem = `keep-alive value ${JSON.stringify(value.slice(0, 64))} is not an ISO-8601 timestamp (e.g. 2026-05-01T12:00:00Z)`;
  return lastModifiedMs !== undefined ? { at: Math.min(lastModifiedMs, nowMs), problem } : { problem };
}

/** An SSM parameter as the sweeper reads it. */
export interface Parameter {
  readonly name: string;
  readonly value: string;
  readonly lastModifiedMs?: number;
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

export interface Activity {
  readonly at: number;
  readonly source: ActivitySource;
}

export function latestActivity(candidates: (Activity | undefined)[]): Activity {
  let best: Activity | undefined;
  for (const c of candidates) {
    if (c && (best === undefined || c.at > best.at)) best = c;
  }
  return best!;
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



/** Names of the SSM parameters the sweeper uses, under the staging system's parameter prefix. */
export class ParameterNames {
  constructor(private readonly parameterPrefix: string) {}

  get pinPath(): string {
    return `${this.parameterPrefix}/${BranchParameterNames.PIN_PREFIX}`;
  }

  get keepAlivePath(): string {
    return `${this.parameterPrefix}/${BranchParameterNames.KEEP_ALIVE_PREFIX}`;
  }

  get statePath(): string {
    return `${this.parameterPrefix}/${STATE_PREFIX}`;
  }

  pin(stagingName: string): string {
    return `${this.pinPath}/${stagingName}`;
  }

  keepAlive(stagingName: string): string {
    return `${this.keepAlivePath}/${stagingName}`;
  }

  warned(stagingName: string, idleDeadlineMs: number): string {
    return `${this.statePath}/${WARNED}/${stagingName}/${Math.floor(idleDeadlineMs / 1000)}`;
  }

  deleting(stagingName: string, uuid: string, attempt: number): string {
    return `${this.statePath}/${DELETING}/${stagingName}/${uuid}/${attempt}`;
  }

  failed(stagingName: string, uuid: string, deletionMs: number): string {
    return `${this.statePath}/${FAILED}/${stagingName}/${uuid}/${Math.floor(deletionMs / 1000)}`;
  }
}
