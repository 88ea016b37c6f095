/**
 * The per-branch state: every SSM parameter a branch staging has below the shared parameter prefix
 * (and its kind lock), in one module. It owns, for each family of parameters, the path, the IAM
 * resource pattern, the value format (parse and format) and who writes and reads it; and the two
 * judgements every client makes from that state: when a branch was last active
 * ({@link lastActivity}) and whether a stack is a branch staging at all ({@link branchStagingOf}).
 *
 * Its clients: the sweeper (lambda/sweeper), the sleeper and the waker (lambda/waker), the CLI
 * (`staging list`, `keep`, `unkeep`, `wake`), the staging-quota provider, and the constructs that
 * grant access (lib/staging-sweeper.ts, lib/providers/waker.ts, lib/private/grants.ts). None of
 * them builds a path, parses a value or writes an IAM pattern of its own, so no two can disagree.
 *
 * The families, below `<parameterPrefix>` (e.g. `/staging`):
 *
 * | family | path | value | written by | read by |
 * | --- | --- | --- | --- | --- |
 * | pin | `pins/<staging name>` | `YYYY-MM-DD` ({@link parsePin}) | `staging keep`/`unkeep`, whoever `StagingSweeper.grantPin` allows | sweeper, sleeper, `staging list` |
 * | keep-alive | `keep-alive/<staging name>` | ISO-8601 with zone ({@link parseKeepAlive}) | the waker (each visit, a manual wake), whoever `grantKeepAlive` allows | sweeper, sleeper, `staging list` |
 * | sleep state | `sleep/<staging name>` | JSON {@link SleepStateValue} ({@link parseSleepState}) | sleeper, waker, the waker provider | waker, sleeper, `staging list`, `staging wake` |
 * | sleep config | `sleep-config/<staging name>` | JSON (lambda/waker/model.ts `SleepConfig`) | the waker provider, on each deploy | waker, sleeper |
 * | wake claim | `sleep-claims/<staging name>/<sleeping since>` | ISO-8601 time of the claim | the waker (Overwrite=false) | nobody: existing is the claim |
 * | sweeper state | `sweeper/{warned,deleting,failed}/<staging name>/...` | JSON (lambda/sweeper/decide.ts) | sweeper | sweeper |
 * | capacity slot | `capacity/slots/<shard>/<slot>` | the staging name holding it | the staging-quota provider (Overwrite=false) | staging-quota, `staging list`, the stagings page (./capacity.ts) |
 * | capacity claim | `capacity/claims/<staging name>` | `<shard>/<slot>` ({@link parseSlotRef}) | the staging-quota provider (Overwrite=false) | staging-quota |
 * | slot release | `capacity/releases/<shard>/<slot>/<slot's last write, epoch ms>` | the staging name releasing it | the staging-quota provider (Overwrite=false) | nobody: existing is the right to delete that slot |
 *
 * and the kind lock `/<prefix>/branches/<staging name>/kind` ({@link kindLockParameterName}).
 *
 * The kernel: no imports beyond lib/contract/.
 */
import { StagingNames, decodeTagValue } from './naming';
import { FEATURE_KINDS, TagKeys } from './staging';

// The folder of each family (public API, its doc unchanged); this module owns their paths,
// formats and IAM patterns.
/** Per-branch SSM parameters the sweeper reads, below the parameter prefix. */
export class BranchParameterNames {
  /** `pins/<staging name>`: `YYYY-MM-DD`, the staging is kept until the end of that UTC day. */
  public static readonly PIN_PREFIX = 'pins';
  /** `keep-alive/<staging name>`: an ISO-8601 timestamp that counts as activity. */
  public static readonly KEEP_ALIVE_PREFIX = 'keep-alive';
  /** `sleep/<staging name>`: the branch's sleep state, JSON `SleepStateValue` (written by the sleeper and the waker). */
  public static readonly SLEEP_STATE_PREFIX = 'sleep';
  /** `sleep-config/<staging name>`: what the sleeper may scale and route, JSON (written by each deploy). */
  public static readonly SLEEP_CONFIG_PREFIX = 'sleep-config';
  /** `sleep-claims/<staging name>/<sleeping since>`: the one wake of one sleep, created with Overwrite=false. */
  public static readonly WAKE_CLAIM_PREFIX = 'sleep-claims';
}

/** The sweeper's own folder below the parameter prefix (internal: only the sweeper reads it). */
export const SWEEPER_STATE_FOLDER = 'sweeper';

/** The kinds of record the sweeper keeps below `sweeper/`. */
export const SweeperRecords = {
  /**
   * `sweeper/warned/<staging name>/<idle deadline, epoch seconds>`: a warning, claimed (JSON
   * `WarningRecord` without `deliveredAt`) before it is published, rewritten with `deliveredAt` once
   * SNS accepted it. Only a delivered warning lets the staging be deleted.
   */
  WARNED: 'warned',
  /** `sweeper/deleting/<staging name>/<stack uuid>/<attempt>`: a deletion claim, JSON with the stack's id, name, branch and URL. */
  DELETING: 'deleting',
  /** `sweeper/failed/<staging name>/<stack uuid>/<deletion time, epoch seconds>`: a DELETE_FAILED stack already reported. */
  FAILED: 'failed',
} as const;

/** The capacity's folder below the parameter prefix: the shard registry (./capacity.ts), the slots, claims and releases. */
export const CAPACITY_FOLDER = 'capacity';

/** A record below `sweeper/`, as its name says. */
export type SweeperRecord =
  | { readonly kind: 'warned'; readonly stagingName: string; readonly deadlineSeconds: number }
  | { readonly kind: 'deleting'; readonly stagingName: string; readonly uuid: string; readonly attempt: number }
  | { readonly kind: 'failed'; readonly stagingName: string; readonly uuid: string };

/**
 * One family of per-branch parameters: a folder below the parameter prefix holding one parameter
 * per staging. Its `root` is what GetParametersByPath reads (and is authorized on), `below` is the
 * IAM resource pattern of every parameter in it; the constructs turn both into ARNs
 * (`arn:...:parameter<root>`).
 */
export class BranchParameterFolder {
  /** The folder, e.g. `/staging/pins`. */
  public readonly root: string;
  /** Every parameter below it, e.g. `/staging/pins/*`. */
  public readonly below: string;

  constructor(root: string) {
    this.root = root;
    this.below = `${root}/*`;
  }

  /** `<root>/<staging name>`: the parameter of one staging. */
  public of(stagingName: string): string {
    return `${this.root}/${stagingName}`;
  }
}

/**
 * The names of one staging system's per-branch parameters, below its parameter prefix. Every path
 * and IAM pattern of every family comes from here.
 */
export class BranchStatePaths {
  /** The parameter prefix without a trailing slash, e.g. `/staging`. */
  public readonly parameterPrefix: string;
  /** `<prefix>/pins/<staging name>`: pins. */
  public readonly pins: BranchParameterFolder;
  /** `<prefix>/keep-alive/<staging name>`: keep-alives. */
  public readonly keepAlives: BranchParameterFolder;
  /** `<prefix>/sleep/<staging name>`: sleep states. */
  public readonly sleepStates: BranchParameterFolder;
  /** `<prefix>/sleep-config/<staging name>`: sleep configs. */
  public readonly sleepConfigs: BranchParameterFolder;
  /** `<prefix>/sleep-claims/<staging name>`: the wake claims of every sleep of one branch (see {@link wakeClaim}). */
  public readonly wakeClaims: BranchParameterFolder;
  /** `<prefix>/sweeper/...`: the sweeper's records (see {@link sweeperRecordOf}). */
  public readonly sweeper: BranchParameterFolder;
  /** `<prefix>/capacity/...`: the shard registry, slots, claims and releases; the staging-quota provider's only writable folder. */
  public readonly capacity: BranchParameterFolder;
  /** `<prefix>/capacity/claims/<staging name>` = `<shard>/<slot>`: the slot each branch staging holds. */
  public readonly capacityClaims: BranchParameterFolder;

  constructor(parameterPrefix: string) {
    this.parameterPrefix = parameterPrefix.replace(/\/+$/, '');
    const folder = (name: string) => new BranchParameterFolder(`${this.parameterPrefix}/${name}`);
    this.pins = folder(BranchParameterNames.PIN_PREFIX);
    this.keepAlives = folder(BranchParameterNames.KEEP_ALIVE_PREFIX);
    this.sleepStates = folder(BranchParameterNames.SLEEP_STATE_PREFIX);
    this.sleepConfigs = folder(BranchParameterNames.SLEEP_CONFIG_PREFIX);
    this.wakeClaims = folder(BranchParameterNames.WAKE_CLAIM_PREFIX);
    this.sweeper = folder(SWEEPER_STATE_FOLDER);
    this.capacity = folder(CAPACITY_FOLDER);
    this.capacityClaims = folder(`${CAPACITY_FOLDER}/claims`);
  }

  /** `<prefix>/capacity/slots/<shard>`: the slots of one shard, `<slot>` = the staging name holding it. */
  public capacitySlots(shard: number): BranchParameterFolder {
    return new BranchParameterFolder(`${this.capacity.root}/slots/${shard}`);
  }

  /** `<prefix>/capacity/slots/<shard>/<slot>`. */
  public capacitySlot(ref: SlotRef): string {
    return this.capacitySlots(ref.shard).of(String(ref.slot));
  }

  /**
   * What the staging-quota provider writes and deletes: the slots, claims and release records,
   * as IAM patterns (never the registry, `<prefix>/capacity/shards`, which the shared stack owns).
   */
  public capacityRecords(): string[] {
    return ['slots', 'claims', 'releases'].map((folder) => `${this.capacity.root}/${folder}/*`);
  }

  /**
   * `<prefix>/capacity/releases/<shard>/<slot>/<the slot's last write, epoch ms>`: whoever creates it
   * (Overwrite=false) is the one allowed to delete that slot as it was written then.
   */
  public capacityRelease(ref: SlotRef, slotWrittenMs: number): string {
    return `${this.capacity.root}/releases/${ref.shard}/${ref.slot}/${slotWrittenMs}`;
  }

  /** `<prefix>/sleep-claims/<staging name>/<sleeping since>`; SSM names allow `a-zA-Z0-9_.-/` only, so the time's colons go. */
  public wakeClaim(stagingName: string, sleepingSince: string): string {
    return `${this.wakeClaims.of(stagingName)}/${sleepingSince.replace(/[^0-9A-Za-z.-]/g, '')}`;
  }

  /** `<prefix>/sweeper/warned/<staging name>/<idle deadline, epoch seconds>`. */
  public sweeperWarned(stagingName: string, idleDeadlineMs: number): string {
    return `${this.sweeper.root}/${SweeperRecords.WARNED}/${stagingName}/${Math.floor(idleDeadlineMs / 1000)}`;
  }

  /** `<prefix>/sweeper/deleting/<staging name>/<stack uuid>/<attempt>`. */
  public sweeperDeleting(stagingName: string, uuid: string, attempt: number): string {
    return `${this.sweeper.root}/${SweeperRecords.DELETING}/${stagingName}/${uuid}/${attempt}`;
  }

  /** `<prefix>/sweeper/failed/<staging name>/<stack uuid>/<deletion time, epoch seconds>`. */
  public sweeperFailed(stagingName: string, uuid: string, deletionMs: number): string {
    return `${this.sweeper.root}/${SweeperRecords.FAILED}/${stagingName}/${uuid}/${Math.floor(deletionMs / 1000)}`;
  }

  /** What a parameter below `sweeper/` records, or undefined for a name the sweeper never writes. */
  public sweeperRecordOf(parameterName: string): SweeperRecord | undefined {
    if (!parameterName.startsWith(`${this.sweeper.root}/`)) return undefined;
    const parts = parameterName.slice(this.sweeper.root.length + 1).split('/');
    if (parts[0] === SweeperRecords.WARNED && parts.length === 3 && /^\d+$/.test(parts[2])) {
      return { kind: 'warned', stagingName: parts[1], deadlineSeconds: Number(parts[2]) };
    }
    if (parts[0] === SweeperRecords.DELETING && parts.length === 4 && /^\d+$/.test(parts[3])) {
      return { kind: 'deleting', stagingName: parts[1], uuid: parts[2], attempt: Number(parts[3]) };
    }
    if (parts[0] === SweeperRecords.FAILED && parts.length === 4) return { kind: 'failed', stagingName: parts[1], uuid: parts[2] };
    return undefined;
  }
}

/** A per-branch parameter as GetParametersByPath returns it. */
export interface BranchParameter {
  readonly name: string;
  readonly value: string;
  readonly lastModifiedMs?: number;
}

/** A slot of the capacity: shard index and slot index on it. */
export interface SlotRef {
  readonly shard: number;
  readonly slot: number;
}

/** A claim's value: `<shard>/<slot>`. */
export function formatSlotRef(ref: SlotRef): string {
  return `${ref.shard}/${ref.slot}`;
}

/** A claim's value read back: `<shard>/<slot>`, two whole numbers; anything else is undefined. */
export function parseSlotRef(value: string): SlotRef | undefined {
  const m = /^\s*(\d{1,6})\/(\d{1,6})\s*$/.exec(value);
  return m ? { shard: Number(m[1]), slot: Number(m[2]) } : undefined;
}

/**
 * The staging name of a parameter directly below `root` (`<root>/<staging name>`), or undefined.
 * Deeper parameters are not pins, keep-alives or sleep states.
 */
export function stagingNameBelow(root: string, parameterName: string): string | undefined {
  const rest = parameterName.slice(root.length + 1);
  return parameterName.startsWith(`${root}/`) && rest && !rest.includes('/') ? rest : undefined;
}

/** Parameters directly below `root`, by staging name. */
export function byStagingName<P extends { readonly name: string }>(root: string, params: readonly P[]): Map<string, P> {
  const out = new Map<string, P>();
  for (const p of params) {
    const name = stagingNameBelow(root, p.name);
    if (name !== undefined) out.set(name, p);
  }
  return out;
}

/**
 * The kind lock of a branch staging, `/<prefix>/branches/<staging name>/kind`: an
 * `AWS::SSM::Parameter` in the branch's own stack holding its kind (`feature` or `feature-lite`).
 * Written by CloudFormation; read by nobody: a deploy of the other kind fails because the
 * parameter already exists, which is the lock.
 */
export function kindLockParameterName(names: StagingNames): string {
  return `${names.parameterPath}/kind`;
}

/** The folders and everything below them, as one list of patterns: what GetParametersByPath over them needs. */
export function foldersAndBelow(...folders: BranchParameterFolder[]): string[] {
  return folders.flatMap((f) => [f.root, f.below]);
}

// ---------------------------------------------------------------------------------------------
// Values: one rule for every reader, fail closed

const DAY_MS = 24 * 3600 * 1000;

/** A pin as read: kept until `until` (the end of its UTC day), over, or unreadable. */
export type Pin =
  | { readonly kind: 'active'; readonly until: number; readonly value: string }
  | { readonly kind: 'expired'; readonly until: number; readonly value: string }
  | { readonly kind: 'malformed'; readonly value: string };

/**
 * A pin is `YYYY-MM-DD`, a real calendar date (surrounding blanks allowed): the staging is kept
 * until the end of that UTC day. Anything else is malformed, `2026-02-31` included (never rolled
 * over to March), and a malformed pin keeps the staging (fail closed): the sweeper does not delete
 * it and the sleeper does not put it to sleep; both report it.
 */
export function parsePin(value: string, nowMs: number): Pin {
  const m = /^\s*(\d{4})-(\d{2})-(\d{2})\s*$/.exec(value);
  const start = m ? calendarMs(Number(m[1]), Number(m[2]), Number(m[3])) : undefined;
  if (start === undefined) return { kind: 'malformed', value };
  const until = start + DAY_MS;
  return nowMs < until ? { kind: 'active', until, value } : { kind: 'expired', until, value };
}

/** A pin's value that keeps a staging until the end of the UTC day of `lastDayMs`. */
export function formatPin(lastDayMs: number): string {
  return new Date(lastDayMs).toISOString().slice(0, 10);
}

/** Whether a pin keeps its staging: active, or unreadable (fail closed). */
export function pinKeeps(pin: Pin | undefined): boolean {
  return pin?.kind === 'active' || pin?.kind === 'malformed';
}

/** Why an unreadable pin keeps its staging, for reports and logs. */
export function malformedPinProblem(parameterName: string, value: string): string {
  return `the pin ${parameterName} has the value ${JSON.stringify(value.slice(0, 64))}, which is not a date (YYYY-MM-DD)`;
}

/** A keep-alive as read: the activity it records, and a problem when it is unreadable. */
export interface KeepAlive {
  /** When it counts as activity, ms (never later than now); undefined when unreadable and its write time is unknown. */
  readonly at?: number;
  readonly problem?: string;
}

/**
 * A keep-alive is an ISO-8601 timestamp with a time zone and a real calendar date and time
 * (`2026-05-01T12:00:00Z`, `2026-05-01T14:00+02:00`). A future one counts as now. A malformed one
 * (`2026-02-31T10:00:00Z` included) counts from when the parameter was written, since writing it
 * is activity too, and is reported.
 */
export function parseKeepAlive(value: string, lastModifiedMs: number | undefined, nowMs: number): KeepAlive {
  const parsed = parseTimestamp(value);
  if (parsed !== undefined) return { at: Math.min(parsed, nowMs) };
  const problem = `keep-alive value ${JSON.stringify(value.slice(0, 64))} is not an ISO-8601 timestamp (e.g. 2026-05-01T12:00:00Z)`;
  return lastModifiedMs !== undefined ? { at: Math.min(lastModifiedMs, nowMs), problem } : { problem };
}

/** A keep-alive's value for the time `ms`. */
export function formatKeepAlive(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * An ISO-8601 timestamp with a time zone (`Z` or `±hh:mm`, `±hhmm`), seconds and fractions
 * optional, every field in range: `2026-02-31T...`, `T24:00` and `+25:00` are not timestamps.
 * Unlike `Date.parse`, nothing rolls over.
 */
export function parseTimestamp(value: string): number | undefined {
  const m = /^\s*(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(?:(Z)|([+-])(\d{2}):?(\d{2}))\s*$/.exec(value);
  if (!m) return undefined;
  const day = calendarMs(Number(m[1]), Number(m[2]), Number(m[3]));
  const [h, min, s] = [Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  const [oh, om] = [Number(m[10] ?? 0), Number(m[11] ?? 0)];
  if (day === undefined || h > 23 || min > 59 || s > 59 || oh > 23 || om > 59) return undefined;
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const offset = (m[9] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  return day + ((h * 60 + min) * 60 + s) * 1000 + ms - offset;
}

/** Midnight UTC of a real calendar date, or undefined (`2026-02-31`, month 13). */
function calendarMs(y: number, mo: number, d: number): number | undefined {
  const ms = Date.UTC(y, mo - 1, d);
  const check = new Date(ms);
  return check.getUTCFullYear() === y && check.getUTCMonth() === mo - 1 && check.getUTCDate() === d ? ms : undefined;
}

/** Values of `SleepStateValue.state`. */
export class SleepStates {
  /** The rule forwards to the branch; services run at their desired counts. */
  public static readonly AWAKE = 'awake';
  /** Services at zero, schedules disabled, the rule forwards to the waker. */
  public static readonly SLEEPING = 'sleeping';
  /** A request or a deploy started the branch; the rule moves back once the web target is healthy. */
  public static readonly WAKING = 'waking';
}

/**
 * The JSON of `<parameterPrefix>/sleep/<staging name>`, for tools such as the `staging` CLI:
 * `{"state":"sleeping","since":"2026-12-01T20:00:00.000Z","desiredCounts":{"<service name>":1},"databaseStopped":false}`.
 */
export interface SleepStateValue {
  /** `awake`, `sleeping` or `waking` (SleepStates). */
  readonly state: string;
  /** ISO-8601: when the branch entered this state. */
  readonly since: string;
  /** The services' desired counts when the branch went to sleep, restored on wake. */
  readonly desiredCounts?: Record<string, number>;
  /** True while the sleeper keeps the branch's own database stopped. */
  readonly databaseStopped?: boolean;
  /** What caused the state: `idle`, `request`, `deploy`, ... */
  readonly reason?: string;
}

/**
 * A sleep state: JSON whose `state` is one of {@link SleepStates} and whose `since` is a timestamp
 * ({@link parseTimestamp}). Anything else is unreadable: undefined. Every reader then counts the
 * branch as awake (the sleeper judges it by its activity and rewrites the state; `staging list`
 * shows it awake), which is what a branch without a state is.
 */
export function parseSleepState(json: string | undefined): SleepStateValue | undefined {
  if (!json) return undefined;
  try {
    const s = JSON.parse(json) as Partial<SleepStateValue> | null;
    const states: readonly unknown[] = [SleepStates.AWAKE, SleepStates.SLEEPING, SleepStates.WAKING];
    if (s && states.includes(s.state) && typeof s.since === 'string' && parseTimestamp(s.since) !== undefined) return s as SleepStateValue;
  } catch {
    // unreadable
  }
  return undefined;
}

/** A sleep state's parameter value. */
export function formatSleepState(value: SleepStateValue): string {
  return JSON.stringify(value);
}

// ---------------------------------------------------------------------------------------------
// Last activity

/** What counts as activity: a deploy (the stack created or updated), a keep-alive, a request. */
export type ActivitySource = 'stack-created' | 'stack-updated' | 'keep-alive' | 'request';

export interface Activity {
  readonly at: number;
  readonly source: ActivitySource;
}

/** What is known about a branch's activity. */
export interface ActivityFacts {
  readonly createdMs?: number;
  readonly updatedMs?: number;
  /** The branch's keep-alive, parsed ({@link parseKeepAlive}). */
  readonly keepAlive?: KeepAlive;
  /** The end of the newest period with requests to its web target group. */
  readonly lastRequestMs?: number;
  /** Activity known from elsewhere: recorded with a sweeper warning, or reported by the sweeper. */
  readonly known?: ReadonlyArray<Activity | undefined>;
}

/**
 * The latest activity of a branch: the latest of its stack's creation and update, its keep-alive
 * and its last request (a pin is not activity: it keeps the staging while it lasts). Undefined when
 * nothing is known. The sweeper, the sleeper and `staging list` all judge idleness from this.
 */
export function lastActivity(facts: ActivityFacts): Activity | undefined {
  const candidates: Array<Activity | undefined> = [
    facts.createdMs !== undefined ? { at: facts.createdMs, source: 'stack-created' } : undefined,
    facts.updatedMs !== undefined ? { at: facts.updatedMs, source: 'stack-updated' } : undefined,
    facts.keepAlive?.at !== undefined ? { at: facts.keepAlive.at, source: 'keep-alive' } : undefined,
    facts.lastRequestMs !== undefined ? { at: facts.lastRequestMs, source: 'request' } : undefined,
    ...(facts.known ?? []),
  ];
  let best: Activity | undefined;
  for (const c of candidates) {
    if (c && (best === undefined || c.at > best.at)) best = c;
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Is this stack a branch staging?

/** A CloudFormation stack as DescribeStacks returns it, as far as {@link branchStagingOf} reads it. */
export interface StackSummary {
  readonly StackName?: string;
  readonly ParentId?: string;
  readonly RootId?: string;
  readonly Tags?: ReadonlyArray<{ readonly Key?: string; readonly Value?: string }>;
}

/** What identifies a branch staging's stack. */
export interface BranchStagingIdentity {
  /** `<prefix>-<name>`. */
  readonly stackName: string;
  /** The staging name (tag `staging:name`), e.g. `feature-login-df7c7aeb`. */
  readonly name: string;
  /** The branch (tag `staging:branch`, decoded). */
  readonly branch: string;
  /** `feature` or `feature-lite` (tag `staging:kind`). */
  readonly kind: string;
}

/** Why a stack is not a branch staging of the prefix. */
export interface NotABranchStaging {
  readonly reason: string;
  /**
   * True when its name starts with `<prefix>-`, so it looks like one (the sweeper lists these as
   * ignored); false for every other stack.
   */
  readonly lookalike: boolean;
}

/**
 * The branch staging a stack is, or why it is not one: a top-level stack tagged with a feature kind,
 * the prefix and a valid, unreserved staging name, and named `<prefix>-<name>`. `staging list`, the
 * staging-quota provider and the sweeper all decide with this (the sweeper then also requires its
 * own account and region, and reports the reasons).
 */
export function branchStagingOf(stack: StackSummary, prefix: string): BranchStagingIdentity | NotABranchStaging {
  const stackName = stack.StackName ?? '';
  const namePrefix = `${prefix}-`;
  if (!stackName.startsWith(namePrefix)) return { reason: `the name does not start with ${namePrefix}`, lookalike: false };
  const not = (reason: string): NotABranchStaging => ({ reason, lookalike: true });
  if (stack.ParentId || stack.RootId) return not('nested stack: deleted with its parent, never on its own');
  const tags = new Map((stack.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  const kind = tags.get(TagKeys.KIND);
  if (kind === undefined) return not(`no ${TagKeys.KIND} tag: not a feature staging, never touched`);
  if (!FEATURE_KINDS.includes(kind)) return not(`${TagKeys.KIND}=${kind}: not a feature staging, never touched`);
  const tagPrefix = tags.get(TagKeys.PREFIX);
  if (tagPrefix !== prefix) return not(`${TagKeys.PREFIX}=${tagPrefix ?? '(missing)'} is not "${prefix}": another staging system's stack, never touched`);
  const name = tags.get(TagKeys.NAME) ?? '';
  if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(name) || `${namePrefix}${name}` !== stackName) {
    return not(`${TagKeys.NAME}=${JSON.stringify(name)} does not match the stack name: never touched`);
  }
  const reservedFor = StagingNames.reservedFor(name);
  if (reservedFor) return not(`"${name}" is a reserved staging name (${reservedFor}): never deleted, whatever its tags say`);
  const branchTag = tags.get(TagKeys.BRANCH);
  return { stackName, name, kind, branch: branchTag ? decodeTagValue(branchTag) : name };
}

/** Whether {@link branchStagingOf} found a branch staging. */
export function isBranchStaging(x: BranchStagingIdentity | NotABranchStaging): x is BranchStagingIdentity {
  return !('reason' in x);
}
