/**
 * The one reader of the branch stagings, for `staging list` (cli/commands/list.ts) and the stagings
 * page (lambda/stagings-page): which stagings exist, their state, pin, last activity, the sweeper's
 * plan and their cost per day. Both turn the same raw inputs into the same rows here, so the page
 * and the CLI cannot disagree.
 *
 * The kernel: no AWS SDK and no CDK. The reader takes its sources as functions ({@link StagingSources});
 * the CLI and the page back them with their SDK clients (paginated DescribeStacks and
 * GetParametersByPath, the sweeper's dry run).
 */
import {
  BranchParameter,
  BranchStatePaths,
  KeepAlive,
  Pin,
  SleepStateValue,
  SleepStates,
  branchStagingOf,
  byStagingName,
  isBranchStaging,
  lastActivity,
  malformedPinProblem,
  parseKeepAlive,
  parsePin,
  parseSleepState,
  parseTimestamp,
  type Activity,
  type ActivitySource,
  type StackSummary,
} from './branch-state';
import { FeatureOutputs } from './staging';

/** A stack as DescribeStacks returns it, as far as the reader reads it. */
export interface StackDescription extends StackSummary {
  readonly StackId?: string;
  readonly StackStatus?: string;
  readonly CreationTime?: Date;
  readonly LastUpdatedTime?: Date;
  readonly Outputs?: ReadonlyArray<{ readonly OutputKey?: string; readonly OutputValue?: string }>;
}

/** A branch staging's stack. */
export interface Staging {
  readonly stackName: string;
  readonly stackId: string;
  readonly name: string;
  readonly branch: string;
  readonly kind: string;
  readonly status: string;
  readonly created: Date;
  readonly updated?: Date;
  readonly url?: string;
  readonly consoleCommand?: string;
  /** The `StagingCostPerDay` output, as written at synthesis. */
  readonly costSummary?: string;
  /** The `StagingLoadBalancerFullName` output: the shard the staging is on (./capacity.ts). */
  readonly loadBalancerFullName?: string;
  /** The `StagingCommit`, `StagingPullRequest` and `StagingImage` outputs: what the last deploy was of. */
  readonly commit?: string;
  readonly pullRequest?: string;
  readonly image?: string;
}

/** A stack output's value. */
export function stackOutput(stack: StackDescription, key: string): string | undefined {
  return stack.Outputs?.find((o) => o.OutputKey === key)?.OutputValue;
}

/** The branch stagings of `prefix` among `stacks` (as DescribeStacks lists them), deleted ones left out. */
export function stagingsOf(stacks: readonly StackDescription[], prefix: string): Staging[] {
  return stacks.flatMap((s): Staging[] => {
    const staging = branchStagingOf(s, prefix);
    if (!isBranchStaging(staging) || s.StackStatus === 'DELETE_COMPLETE') return [];
    return [{
      ...staging,
      stackId: s.StackId ?? staging.stackName,
      status: s.StackStatus ?? 'UNKNOWN',
      created: s.CreationTime ?? new Date(0),
      updated: s.LastUpdatedTime,
      url: stackOutput(s, FeatureOutputs.URL),
      consoleCommand: stackOutput(s, FeatureOutputs.CONSOLE_COMMAND),
      costSummary: stackOutput(s, FeatureOutputs.COST_PER_DAY),
      loadBalancerFullName: stackOutput(s, FeatureOutputs.LOAD_BALANCER_FULL_NAME),
      commit: stackOutput(s, FeatureOutputs.COMMIT),
      pullRequest: stackOutput(s, FeatureOutputs.PULL_REQUEST),
      image: stackOutput(s, FeatureOutputs.IMAGE),
    }];
  });
}

/**
 * The figures of a `StagingCostPerDay` output (lib/contract/cost/model.ts costSummary:
 * `$1.57/day awake, $0.95/day asleep (eu-west-1, ...)`), or undefined for anything else.
 */
export function parseCostSummary(summary: string | undefined): { awake: number; asleep: number } | undefined {
  const m = /^\$(\d+(?:\.\d+)?)\/day awake, \$(\d+(?:\.\d+)?)\/day asleep\b/.exec(summary ?? '');
  return m ? { awake: Number(m[1]), asleep: Number(m[2]) } : undefined;
}

/** The pins, keep-alives and sleep states of every branch, read as the sweeper and the sleeper read them. */
export interface BranchState {
  readonly pins: Map<string, Pin>;
  readonly keepAlives: Map<string, KeepAlive>;
  /** Unreadable states are left out: a branch without a state counts as awake. */
  readonly sleep: Map<string, SleepStateValue>;
}

/** The three folders' parameters, parsed. */
export function branchStateOf(
  paths: BranchStatePaths,
  folders: { pins: readonly BranchParameter[]; keepAlives: readonly BranchParameter[]; sleep: readonly BranchParameter[] },
  nowMs: number,
): BranchState {
  const parsed = <T>(root: string, params: readonly BranchParameter[], parse: (p: BranchParameter) => T | undefined): Map<string, T> =>
    new Map([...byStagingName(root, params)].flatMap(([name, p]): Array<[string, T]> => {
      const value = parse(p);
      return value === undefined ? [] : [[name, value]];
    }));
  return {
    pins: parsed(paths.pins.root, folders.pins, (p) => parsePin(p.value, nowMs)),
    keepAlives: parsed(paths.keepAlives.root, folders.keepAlives, (p) => parseKeepAlive(p.value, p.lastModifiedMs, nowMs)),
    sleep: parsed(paths.sleepStates.root, folders.sleep, (p) => parseSleepState(p.value)),
  };
}

/** The sweeper's report (lambda/sweeper/model.ts SweepReport), as far as its readers read it. */
export interface SweepReportView {
  readonly dryRun: boolean;
  readonly counts?: Record<string, number>;
  readonly stagings: Array<{ stagingName: string; branch: string; action: string; outcome?: string; reason: string; lastActivity?: string; lastActivitySource?: ActivitySource; deleteAt?: string; idleAt?: string; pinnedUntil?: string }>;
  readonly ignored?: Array<{ stackName: string; reason: string }>;
  readonly problems?: string[];
}

/** One staging as `staging list --json` prints it and the stagings page shows it. */
export interface StagingRow {
  readonly branch: string;
  readonly name: string;
  readonly stackName: string;
  /** The stack's ARN (what DeleteStack is given, so a newer stack of the same name is never hit). */
  readonly stackId: string;
  readonly kind: 'full' | 'lite';
  readonly url?: string;
  readonly state: string;
  /** When the sleep state began (awake, sleeping or waking), when known. */
  readonly stateSince?: string;
  readonly status: string;
  readonly createdAt: string;
  /** The last deploy: the stack's last update, else its creation. */
  readonly deployedAt: string;
  /** The git commit of the last deploy, when it was given (`-c commit`, `BranchStagingStackProps.commit`). */
  readonly commit?: string;
  /** The pull request of the last deploy, a number or its URL, when it was given. */
  readonly pullRequest?: string;
  /** The image of the last deploy, when it was given. */
  readonly image?: string;
  readonly lastActivity?: string;
  readonly sweeper?: { action: string; reason: string; deleteAt?: string; idleAt?: string };
  /** The last day of an active pin (kept until the end of that UTC day). */
  readonly pinnedUntil?: string;
  /** Unreadable pins and keep-alives; an unreadable pin keeps the staging (fail closed). */
  readonly problems?: string[];
  /** Own resources at the current state (awake or asleep), without the shared stack's share. */
  readonly costPerDay?: number;
  /** Own resources per day, awake and asleep (the `StagingCostPerDay` output). */
  readonly cost?: { readonly awake: number; readonly asleep: number };
}

/** awake, sleeping, waking, deploying, deleting or failed: the stack status first, then the sleep state. */
export function stateOf(status: string, sleepState: string | undefined): string {
  if (status.startsWith('DELETE')) return status === 'DELETE_FAILED' ? 'failed' : 'deleting';
  if (/FAILED|ROLLBACK_COMPLETE/.test(status) && status !== 'UPDATE_ROLLBACK_COMPLETE') return 'failed';
  if (status.endsWith('_IN_PROGRESS')) return 'deploying';
  return sleepState ?? SleepStates.AWAKE;
}

/** What the rows are made of. */
export interface StagingsInput {
  readonly stagings: readonly Staging[];
  readonly state: BranchState;
  /** The sweeper's dry run, when it could be read. */
  readonly plan?: SweepReportView;
  readonly parameterPrefix: string;
}

/** One row per staging, the most recently active first (then by branch). */
export function stagingRows(input: StagingsInput): StagingRow[] {
  const plans = new Map(input.plan?.stagings.map((s) => [s.stagingName, s]) ?? []);
  const paths = new BranchStatePaths(input.parameterPrefix);
  const rows = input.stagings.map((s): StagingRow => {
    const plan = plans.get(s.name);
    const sleep = input.state.sleep.get(s.name);
    const st = stateOf(s.status, sleep?.state);
    const keepAlive = input.state.keepAlives.get(s.name);
    const pin = input.state.pins.get(s.name);
    const planned = plan?.lastActivity !== undefined && plan.lastActivitySource ? parseTimestamp(plan.lastActivity) : undefined;
    const known: Activity | undefined = planned !== undefined ? { at: planned, source: plan!.lastActivitySource! } : undefined;
    const last = lastActivity({ createdMs: s.created.getTime(), updatedMs: s.updated?.getTime(), keepAlive, known: [known] });
    const problems = [
      ...(pin?.kind === 'malformed' ? [`${malformedPinProblem(paths.pins.of(s.name), pin.value)}: kept (fail closed)`] : []),
      ...(keepAlive?.problem ? [`${paths.keepAlives.of(s.name)}: ${keepAlive.problem}`] : []),
    ];
    const cost = parseCostSummary(s.costSummary);
    return {
      branch: s.branch,
      name: s.name,
      stackName: s.stackName,
      stackId: s.stackId,
      kind: s.kind === 'feature-lite' ? 'lite' : 'full',
      url: s.url,
      state: st,
      ...(sleep && st === sleep.state ? { stateSince: sleep.since } : {}),
      status: s.status,
      createdAt: s.created.toISOString(),
      deployedAt: (s.updated ?? s.created).toISOString(),
      ...(s.commit ? { commit: s.commit } : {}),
      ...(s.pullRequest ? { pullRequest: s.pullRequest } : {}),
      ...(s.image ? { image: s.image } : {}),
      lastActivity: last && new Date(last.at).toISOString(),
      sweeper: plan && { action: plan.action, reason: plan.reason, deleteAt: plan.deleteAt, idleAt: plan.idleAt },
      pinnedUntil: pin?.kind === 'active' ? pin.value.trim() : plan?.pinnedUntil,
      ...(problems.length ? { problems } : {}),
      costPerDay: cost && Math.round((st === SleepStates.SLEEPING ? cost.asleep : cost.awake) * 100) / 100,
      ...(cost ? { cost } : {}),
    };
  });
  return rows.sort((a, b) => (b.lastActivity ?? '').localeCompare(a.lastActivity ?? '') || a.branch.localeCompare(b.branch));
}

/** Where the reader gets its raw inputs: the CLI and the page back these with their SDK clients. */
export interface StagingSources {
  /** Every stack DescribeStacks lists (all pages). */
  readonly stacks: () => Promise<readonly StackDescription[]>;
  /** The parameters below an SSM folder (GetParametersByPath, all pages). */
  readonly parametersBelow: (root: string) => Promise<readonly BranchParameter[]>;
  /** The sweeper's dry run; undefined when there is no sweeper. A failure leaves the plan out. */
  readonly sweeperPlan?: () => Promise<SweepReportView>;
}

/** What {@link readStagings} read: the inputs of {@link stagingRows}, and why the plan is missing. */
export interface StagingsRead extends StagingsInput {
  /** Why the sweeper's plan could not be read (its columns then stay empty). */
  readonly planProblem?: string;
}

/** The branch stagings of `prefix` only (DescribeStacks). */
export async function readStagingStacks(sources: Pick<StagingSources, 'stacks'>, prefix: string): Promise<Staging[]> {
  return stagingsOf(await sources.stacks(), prefix);
}

/** Reads the pins, keep-alives and sleep states below `parameterPrefix`. */
export async function readBranchState(sources: Pick<StagingSources, 'parametersBelow'>, parameterPrefix: string, nowMs: number): Promise<BranchState> {
  const paths = new BranchStatePaths(parameterPrefix);
  const [pins, keepAlives, sleep] = await Promise.all([
    sources.parametersBelow(paths.pins.root),
    sources.parametersBelow(paths.keepAlives.root),
    sources.parametersBelow(paths.sleepStates.root),
  ]);
  return branchStateOf(paths, { pins, keepAlives, sleep }, nowMs);
}

/** Reads everything {@link stagingRows} needs, the sources in parallel; no branch staging, no further reads. */
export async function readStagings(sources: StagingSources, o: { prefix: string; parameterPrefix: string; nowMs: number; stagings?: Staging[] }): Promise<StagingsRead> {
  const stagings = o.stagings ?? await readStagingStacks(sources, o.prefix);
  const empty: BranchState = { pins: new Map(), keepAlives: new Map(), sleep: new Map() };
  if (stagings.length === 0) return { stagings, state: empty, parameterPrefix: o.parameterPrefix };
  const [state, plan] = await Promise.all([
    readBranchState(sources, o.parameterPrefix, o.nowMs),
    sources.sweeperPlan ? sources.sweeperPlan().then((p) => ({ p }), (e: Error) => ({ problem: e.message })) : undefined,
  ]);
  return { stagings, state, parameterPrefix: o.parameterPrefix, plan: plan && 'p' in plan ? plan.p : undefined, planProblem: plan && 'problem' in plan ? plan.problem : undefined };
}

/**
 * What an invocation of a shared-stack function (the sweeper, the sleeper) answered: its JSON
 * result, or, when the handler threw (FunctionError), the handler's own message, which says what to
 * do. `result` is undefined for a payload that is not JSON.
 */
export function invocationAnswer(payload: Uint8Array | undefined, functionError: string | undefined): { result?: unknown; error?: string; text: string } {
  const text = payload ? new TextDecoder().decode(payload) : '';
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (functionError) return { error: (json && typeof json.errorMessage === 'string' && json.errorMessage) || text, text };
  return { result: json, text };
}
