/**
 * Pure parts of sleep and wake: the branch's configuration and state as stored in SSM, and the
 * decisions, each a function from what was observed (and the clock) to a list of steps with a
 * reason. aws.ts carries the steps out. No AWS calls here.
 */
import { SleepStates, parseSleepState, parseTimestamp, pinKeeps, type Pin, type SleepStateValue } from '../../lib/contract/branch-state';
import { SleeperEventKeys } from '../../lib/contract/sleeper';
import { ScheduledEvent } from '../../lib/contract/sweeper';
import type { SleepConfig } from '../../lib/contract/providers/waker';
import { manualInvocation } from '../shared/invocation';

/** The config a branch's deploy records (the parsed properties of its Custom::StagingSleep): the contract's. */
export type { ServiceConfig, SleepConfig } from '../../lib/contract/providers/waker';

export type State = SleepStateValue;

/**
 * A wake that has not produced a healthy web target in this long is given up: the branch goes
 * back to sleep rather than crash-loop at full price until the sweeper deletes it. The next
 * visit tries again.
 */
export const WAKE_GIVE_UP_MINUTES = 30;

export const MINUTE_MS = 60_000;

/** Modelled wake times (seconds), Fargate start 45–90 s as users report it, plus two health checks at 15 s. */
export const WAKE_SECONDS = {
  /** ECS schedules the tasks, pulls a 250–500 MB image and starts it (upper report). */
  taskStart: 90,
  /** Two passing checks at a 5 s interval (the branch target group's settings, lib/staging-services.ts). */
  healthChecks: 10,
  /** ModifyRule, then the page's next refresh (5 s). */
  routeAndRefresh: 10,
  /** StartDBInstance of a small stopped instance until `available` (typical reports: 4–8 min). */
  databaseStart: 360,
} as const;

/** About how long a wake takes, in seconds. */
export function expectedWakeSeconds(databaseStopped: boolean): number {
  const base = WAKE_SECONDS.taskStart + WAKE_SECONDS.healthChecks + WAKE_SECONDS.routeAndRefresh;
  return databaseStopped ? base + WAKE_SECONDS.databaseStart : base;
}

// ---------------------------------------------------------------------------------------------
// Parsing

/** The config JSON, or an error that says what is wrong. */
export function parseConfig(json: string): SleepConfig {
  const c = JSON.parse(json) as Partial<SleepConfig>;
  const missing = (['stagingName', 'stackName', 'clusterArn', 'webServiceName', 'targetGroupArn', 'ruleArn'] as const).filter(
    (k) => typeof c[k] !== 'string' || c[k] === '',
  );
  if (missing.length > 0 || !Array.isArray(c.services)) {
    throw new Error(`sleep config is missing ${[...missing, ...(Array.isArray(c.services) ? [] : ['services'])].join(', ')}`);
  }
  return {
    branch: c.stagingName!,
    schedules: [],
    sleepAfterMinutes: 0,
    stopDatabaseAfterMinutes: 0,
    targetGroupFullName: '',
    loadBalancerFullName: '',
    ...c,
  } as SleepConfig;
}

/** The state (lib/contract/branch-state.ts parseSleepState); a missing or unreadable value counts as awake since `fallbackMs`. */
export function parseState(json: string | undefined, fallbackMs: number): State {
  return parseSleepState(json) ?? { state: SleepStates.AWAKE, since: new Date(fallbackMs).toISOString(), reason: 'no-state' };
}

/** The staging name of a request's host: its first DNS label, lower case. */
export function stagingNameOfHost(host: string | undefined): string | undefined {
  const label = (host ?? '').split(':')[0].split('.')[0].toLowerCase();
  return /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(label) ? label : undefined;
}

// ---------------------------------------------------------------------------------------------
// Observations and steps

/** What was read about a branch before deciding. */
export interface Observed {
  /** Desired count of each service, by name (missing = the service is gone). */
  readonly desired: Record<string, number>;
  /** Healthy targets in the web target group. */
  readonly healthyTargets: number;
  /** Where the rule sends requests. */
  readonly route: 'branch' | 'waker';
  /** RDS status of the branch's own database (`available`, `stopped`, ...), when it has one. */
  readonly databaseStatus?: string;
}

export type Step =
  | { readonly kind: 'start-database' }
  | { readonly kind: 'stop-database' }
  | { readonly kind: 'scale'; readonly service: string; readonly count: number }
  | { readonly kind: 'route'; readonly to: 'branch' | 'waker' }
  | { readonly kind: 'schedules'; readonly enabled: boolean }
  | { readonly kind: 'state'; readonly value: State };

export interface Plan {
  readonly steps: Step[];
  readonly reason: string;
  /** True when the wake is finished (the branch answers). */
  readonly done: boolean;
}

/** The count each service goes back to: what it had when it fell asleep, else the template's; web at least 1. */
export function wakeCounts(config: SleepConfig, state: State, prefer: 'recorded' | 'template'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of config.services) {
    const recorded = state.desiredCounts?.[s.name];
    const count = prefer === 'recorded' && recorded !== undefined && recorded > 0 ? recorded : s.desiredCount;
    out[s.name] = s.name === config.webServiceName ? Math.max(1, count) : count;
  }
  return out;
}

/**
 * One step of a wake, from what is observed now. Called by every request to the waker, by each
 * poll of a deploy and by the sleeper's runs: each call moves the wake on, and repeating a call is
 * harmless. The database comes first (the app cannot boot without it), then the services; the rule
 * moves back only once a web target is healthy, so nobody is sent to a branch that cannot answer.
 */
export function wakeStep(config: SleepConfig, state: State, observed: Observed, nowMs: number, prefer: 'recorded' | 'template'): Plan {
  const steps: Step[] = [];
  const waking: State = state.state === SleepStates.WAKING ? state : { ...state, state: SleepStates.WAKING, since: new Date(nowMs).toISOString() };
  if (state.state !== SleepStates.WAKING) steps.push({ kind: 'state', value: waking });

  if (config.databaseInstanceId && observed.databaseStatus !== undefined && observed.databaseStatus !== 'available') {
    if (observed.databaseStatus === 'stopped') {
      return { steps: [...steps, { kind: 'start-database' }], reason: 'the database is stopped; starting it before the services', done: false };
    }
    return { steps, reason: `waiting for the database (${observed.databaseStatus})`, done: false };
  }

  const counts = wakeCounts(config, state, prefer);
  for (const [service, count] of Object.entries(counts)) {
    if (observed.desired[service] !== undefined && observed.desired[service] < count) steps.push({ kind: 'scale', service, count });
  }
  if (observed.healthyTargets === 0) {
    return { steps, reason: 'waiting for a healthy web target', done: false };
  }
  const awake: State = { state: SleepStates.AWAKE, since: new Date(nowMs).toISOString(), reason: state.reason };
  return {
    steps: [
      ...steps.filter((s) => s.kind !== 'state'),
      ...(config.schedules.length > 0 ? [{ kind: 'schedules', enabled: true } as Step] : []),
      ...(observed.route !== 'branch' ? [{ kind: 'route', to: 'branch' } as Step] : []),
      { kind: 'state', value: awake },
    ],
    reason: 'a web target is healthy; the rule forwards to the branch again',
    done: true,
  };
}

/**
 * Putting a branch to sleep. The state is written first, with the counts to restore, so a request
 * that arrives once the rule has moved finds them; then the rule moves, so no request reaches a
 * service that is scaling in; then schedules and services stop.
 */
export function sleepSteps(config: SleepConfig, observed: Observed, nowMs: number, reason: string): Step[] {
  const desiredCounts: Record<string, number> = {};
  for (const s of config.services) desiredCounts[s.name] = observed.desired[s.name] ?? s.desiredCount;
  return [
    { kind: 'state', value: { state: SleepStates.SLEEPING, since: new Date(nowMs).toISOString(), desiredCounts, reason } },
    ...(observed.route !== 'waker' ? [{ kind: 'route', to: 'waker' } as Step] : []),
    ...(config.schedules.length > 0 ? [{ kind: 'schedules', enabled: false } as Step] : []),
    ...config.services.filter((s) => (observed.desired[s.name] ?? 0) > 0).map((s): Step => ({ kind: 'scale', service: s.name, count: 0 })),
  ];
}

// ---------------------------------------------------------------------------------------------
// The sleeper's decision for one branch

export interface TickInput {
  readonly config: SleepConfig;
  readonly state: State;
  /** Latest activity (lib/contract/branch-state.ts lastActivity: deploy, request, keep-alive), ms; 0 when none is known. */
  readonly lastActivityMs: number;
  /** The branch's pin, parsed: an active or unreadable one keeps an awake branch awake. */
  readonly pin?: Pin;
  /** CloudFormation status of the branch's stack; undefined when it is gone. */
  readonly stackStatus?: string;
  /** RDS status of the branch's own database, when it has one. */
  readonly databaseStatus?: string;
  readonly nowMs: number;
}

export type TickAction = 'sleep' | 'advance-wake' | 'stop-database' | 'none';

export interface TickDecision {
  readonly stagingName: string;
  readonly action: TickAction;
  readonly reason: string;
}

/** What the sleeper does with one branch on this run, and why. */
export function decideTick(input: TickInput): TickDecision {
  const { config, state, nowMs } = input;
  const d = (action: TickAction, reason: string): TickDecision => ({ stagingName: config.stagingName, action, reason });
  // parseState accepts only a readable `since`; were it not, the state would count as entered now.
  const sinceMs = parseTimestamp(state.since) ?? nowMs;
  if (input.stackStatus === undefined) return d('none', 'its stack is gone');
  if (input.stackStatus.endsWith('_IN_PROGRESS')) return d('none', `its stack is ${input.stackStatus}; a deploy decides its state`);
  if (state.state === SleepStates.WAKING) {
    const wakingMs = nowMs - sinceMs;
    if (wakingMs >= WAKE_GIVE_UP_MINUTES * MINUTE_MS) {
      return d('sleep', `waking for ${Math.floor(wakingMs / MINUTE_MS)} minutes without a healthy web target; back to sleep until the next visit`);
    }
    return d('advance-wake', `waking since ${state.since}`);
  }
  if (state.state === SleepStates.SLEEPING) {
    const stopAfter = config.stopDatabaseAfterMinutes * MINUTE_MS;
    const asleepMs = nowMs - sinceMs;
    // RDS starts a stopped instance by itself after 7 days; it is stopped again on the next run.
    if (config.databaseInstanceId && stopAfter > 0 && asleepMs >= stopAfter && input.databaseStatus === 'available') {
      return d('stop-database', state.databaseStopped ? 'RDS started the database after 7 days stopped; stopping it again' : `asleep for ${Math.floor(asleepMs / MINUTE_MS)} minutes`);
    }
    return d('none', `asleep since ${state.since}`);
  }
  if (config.sleepAfterMinutes <= 0) return d('none', 'sleep is off for this branch');
  if (input.pin?.kind === 'active') return d('none', `pinned until the end of ${input.pin.value} (UTC)`);
  if (pinKeeps(input.pin)) return d('none', 'unreadable pin: kept awake (fail closed)');
  const idleMs = nowMs - Math.max(input.lastActivityMs, sinceMs);
  if (idleMs >= config.sleepAfterMinutes * MINUTE_MS) {
    return d('sleep', `no activity for ${Math.floor(idleMs / MINUTE_MS)} minutes (sleepAfter ${config.sleepAfterMinutes})`);
  }
  return d('none', `active ${Math.floor(idleMs / MINUTE_MS)} minutes ago`);
}

// ---------------------------------------------------------------------------------------------
// The sleeper's event

/** What an invocation of the sleeper asks for: its scheduled round, or one branch now. */
export type SleeperRequest = { readonly kind: 'tick' } | { readonly kind: 'wake' | 'sleep'; readonly stagingName: string };

/**
 * The sleeper's event. Fails closed: an event it does not understand is refused before any AWS
 * call, so a mistyped key never runs a round or touches a branch nobody named.
 */
export function parseSleeperEvent(event: unknown): SleeperRequest {
  const keys: readonly string[] = Object.values(SleeperEventKeys);
  const refuse = (why: string): never => {
    throw new Error(
      `The sleeper refused the event and did nothing: ${why}. Invoke it with {"${SleeperEventKeys.WAKE}": "<staging name>"} or ` +
        `{"${SleeperEventKeys.SLEEP}": "<staging name>"} (or {} for a round now); its schedule sends an EventBridge "${ScheduledEvent.DETAIL_TYPE}".`,
    );
  };
  const e = manualInvocation(event, keys, refuse);
  if (!e) return { kind: 'tick' };
  const given = keys.filter((k) => e[k] !== undefined);
  if (given.length === 0) return { kind: 'tick' };
  if (given.length > 1) refuse(`give one of ${given.map((k) => JSON.stringify(k)).join(' and ')}, not both`);
  const kind = given[0] as 'wake' | 'sleep';
  const name = e[kind];
  if (typeof name !== 'string' || stagingNameOfHost(name) !== name) {
    refuse(`"${kind}" must be a staging name such as "feature-login-df7c7aeb" (got ${JSON.stringify(name)}); \`staging list --json\` shows each branch's name`);
  }
  return { kind, stagingName: name as string };
}

/** The rules a route step flips: the lock's flipping rules, or the one host rule of older configs. */
export function flipRules(config: SleepConfig): string[] {
  return config.flipRuleArns && config.flipRuleArns.length > 0 ? config.flipRuleArns : [config.ruleArn];
}
