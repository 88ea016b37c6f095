/**
 * lib/contract/branch-state.ts: the per-branch parameters' paths, IAM patterns and value formats,
 * one table per format, and the pin table run through the sweeper's and the sleeper's decisions
 * alike, so that the two can never disagree about a pin again.
 */
import { decide } from '../lambda/sweeper/decide';
import type { RawStack } from '../lambda/sweeper/model';
import { decideTick, type SleepConfig } from '../lambda/waker/model';
import {
  BranchStatePaths,
  branchStagingOf,
  byStagingName,
  foldersAndBelow,
  formatKeepAlive,
  formatPin,
  formatSleepState,
  isBranchStaging,
  kindLockParameterName,
  lastActivity,
  parseKeepAlive,
  parsePin,
  parseSleepState,
  parseTimestamp,
  pinKeeps,
  type SleepStateValue,
} from '../lib/contract/branch-state';
import { StagingNames } from '../lib/contract/naming';
import { ACCOUNT, SWEEPER_CONFIG } from './lambda/sweeper-fixtures';

const NOW = Date.UTC(2026, 4, 10, 12, 0, 0);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// ---------------------------------------------------------------------------------------------
// The value formats

/** [value, what it is at NOW (2026-05-10 12:00 UTC), the end of the day it keeps]: three entries a row, as jest counts a test function's arguments. */
const PIN_TABLE: ReadonlyArray<[string, 'active' | 'expired' | 'malformed', number | undefined]> = [
  ['2026-05-10', 'active', Date.UTC(2026, 4, 11)],
  ['2026-05-20', 'active', Date.UTC(2026, 4, 21)],
  [' 2026-05-10\n', 'active', Date.UTC(2026, 4, 11)],
  ['2028-02-29', 'active', Date.UTC(2028, 2, 1)],
  ['2026-05-09', 'expired', Date.UTC(2026, 4, 10)],
  ['2025-12-31', 'expired', Date.UTC(2026, 0, 1)],
  // Date.parse would roll these over to 3 and 2 March: they are not dates.
  ['2026-02-31', 'malformed', undefined],
  ['2026-02-30', 'malformed', undefined],
  ['2027-02-29', 'malformed', undefined],
  ['2026-13-01', 'malformed', undefined],
  ['2026-00-10', 'malformed', undefined],
  ['2026-5-10', 'malformed', undefined],
  ['10/05/2026', 'malformed', undefined],
  ['until christmas', 'malformed', undefined],
  ['2026-05-10T00:00:00Z', 'malformed', undefined],
  ['', 'malformed', undefined],
];

describe('pin: YYYY-MM-DD, a real date, kept until the end of that UTC day; anything else keeps the staging (fail closed)', () => {
  test.each(PIN_TABLE)('%j is %s', (value, kind, until) => {
    const pin = parsePin(value, NOW);
    expect(pin).toEqual(kind === 'malformed' ? { kind, value } : { kind, value, until });
    expect(pinKeeps(pin)).toBe(kind !== 'expired');
  });

  test('active until the last millisecond of its day, expired from midnight', () => {
    expect(parsePin('2026-05-10', Date.UTC(2026, 4, 10, 23, 59, 59, 999)).kind).toBe('active');
    expect(parsePin('2026-05-10', Date.UTC(2026, 4, 11)).kind).toBe('expired');
  });

  test('format → parse: the pin of any time of a day keeps the staging until the end of that day', () => {
    for (const at of [Date.UTC(2026, 4, 10), Date.UTC(2026, 4, 10, 23, 59, 59, 999), Date.UTC(2028, 1, 29, 12), Date.UTC(2026, 11, 31, 18)]) {
      const value = formatPin(at);
      expect(value).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      const endOfDay = Math.floor(at / DAY) * DAY + DAY;
      expect(parsePin(value, at)).toEqual({ kind: 'active', value, until: endOfDay });
      expect(parsePin(value, endOfDay).kind).toBe('expired');
    }
  });

  test('no pin keeps nothing', () => {
    expect(pinKeeps(undefined)).toBe(false);
  });
});

const WRITTEN = NOW - 5 * HOUR;

/** [value, the activity it counts as (its parameter written at WRITTEN), whether it is reported]. */
const KEEP_ALIVE_TABLE: ReadonlyArray<[string, number, boolean]> = [
  ['2026-05-09T08:30:00Z', Date.UTC(2026, 4, 9, 8, 30), false],
  ['2026-05-09T08:30:00.250Z', Date.UTC(2026, 4, 9, 8, 30, 0, 250), false],
  ['2026-05-09T08:30Z', Date.UTC(2026, 4, 9, 8, 30), false],
  ['2026-05-09T10:30:00+02:00', Date.UTC(2026, 4, 9, 8, 30), false],
  ['2026-05-09T10:30+0200', Date.UTC(2026, 4, 9, 8, 30), false],
  ['2026-05-09T03:30:00-05:00', Date.UTC(2026, 4, 9, 8, 30), false],
  [' 2026-05-09T08:30:00Z\n', Date.UTC(2026, 4, 9, 8, 30), false],
  // A future keep-alive counts as now.
  ['2099-01-01T00:00:00Z', NOW, false],
  // Malformed: counted from when it was written, and reported. Date.parse would take the first two.
  ['2026-02-31T10:00:00Z', WRITTEN, true],
  ['2026-05-09T24:00:00Z', WRITTEN, true],
  ['2026-05-09T08:60:00Z', WRITTEN, true],
  ['2026-05-09T08:30:00+25:00', WRITTEN, true],
  ['2026-05-09T08:30:00', WRITTEN, true],
  ['2026-05-09', WRITTEN, true],
  ['yes please', WRITTEN, true],
];

describe('keep-alive: an ISO-8601 timestamp with a zone; a malformed one counts from when it was written, reported', () => {
  test.each(KEEP_ALIVE_TABLE)('%j counts as %p (reported: %p)', (value, at, reported) => {
    const keepAlive = parseKeepAlive(value, WRITTEN, NOW);
    expect(keepAlive.at).toBe(at);
    expect(keepAlive.problem).toEqual(reported ? expect.stringMatching(/is not an ISO-8601 timestamp \(e\.g\. 2026-05-01T12:00:00Z\)/) : undefined);
  });

  test('a malformed one whose write time is unknown is no activity, and reported', () => {
    expect(parseKeepAlive('2026-02-31T10:00:00Z', undefined, NOW)).toEqual({ problem: expect.stringMatching(/not an ISO-8601 timestamp/) });
  });

  test('format → parse: a keep-alive counts at the very millisecond it was written', () => {
    for (const at of [Date.UTC(2026, 4, 9, 8, 30), Date.UTC(2026, 1, 28, 23, 59, 59, 999), NOW]) {
      expect(parseKeepAlive(formatKeepAlive(at), undefined, NOW)).toEqual({ at });
      expect(parseTimestamp(formatKeepAlive(at))).toBe(at);
    }
  });
});

const SINCE = '2026-05-10T11:00:00.000Z';

/** [parameter value, the state read, or undefined: unreadable, counted as awake by every reader]. */
const SLEEP_STATE_TABLE: ReadonlyArray<[string | undefined, SleepStateValue | undefined]> = [
  [JSON.stringify({ state: 'sleeping', since: SINCE, desiredCounts: { web: 2 }, reason: 'idle' }), { state: 'sleeping', since: SINCE, desiredCounts: { web: 2 }, reason: 'idle' }],
  [JSON.stringify({ state: 'awake', since: SINCE }), { state: 'awake', since: SINCE }],
  [JSON.stringify({ state: 'waking', since: '2026-05-10T13:00:00+02:00', databaseStopped: true }), { state: 'waking', since: '2026-05-10T13:00:00+02:00', databaseStopped: true }],
  [JSON.stringify({ state: 'dozing', since: SINCE }), undefined],
  [JSON.stringify({ state: 'sleeping', since: '2026-02-31T20:00:00.000Z' }), undefined],
  [JSON.stringify({ state: 'sleeping', since: 'yesterday' }), undefined],
  [JSON.stringify({ state: 'sleeping' }), undefined],
  ['{"state":"sleeping",', undefined],
  ['null', undefined],
  ['"sleeping"', undefined],
  ['', undefined],
  [undefined, undefined],
];

describe('sleep state: JSON with a known state and a timestamp since; anything else is unreadable (awake)', () => {
  test.each(SLEEP_STATE_TABLE)('%j reads as %j', (value, expected) => {
    expect(parseSleepState(value)).toEqual(expected);
  });

  test('format → parse returns the same state', () => {
    const value: SleepStateValue = { state: 'sleeping', since: SINCE, desiredCounts: { web: 2, worker: 1 }, databaseStopped: false, reason: 'manual' };
    expect(parseSleepState(formatSleepState(value))).toEqual(value);
  });
});

// ---------------------------------------------------------------------------------------------
// The pin table in the sweeper and the sleeper alike

describe('the pin table passes in the sweeper and the sleeper alike', () => {
  const name = 'feature-a-1a2b3c4d';
  const stack: RawStack = {
    StackName: `staging-${name}`,
    StackId: `arn:aws:cloudformation:eu-west-1:${ACCOUNT}:stack/staging-${name}/11111111-2222-3333-4444-555555555555`,
    StackStatus: 'UPDATE_COMPLETE',
    CreationTime: new Date(NOW - 10 * DAY),
    Tags: [
      { Key: 'staging:kind', Value: 'feature' },
      { Key: 'staging:name', Value: name },
      { Key: 'staging:branch', Value: 'feature/a' },
      { Key: 'staging:prefix', Value: 'staging' },
    ],
  };
  const paths = new BranchStatePaths('/staging');

  /** The sweeper on a staging idle for 10 days: `warn` unless the pin keeps it. */
  function sweeperKeeps(value: string): boolean {
    const plan = decide(SWEEPER_CONFIG, { nowMs: NOW, stacks: [stack], pins: [{ name: paths.pins.of(name), value }], keepAlives: [], state: [] });
    const action = plan.decisions[0].action;
    expect(['keep', 'warn']).toContain(action);
    return action === 'keep';
  }

  /** The sleeper on an awake branch idle for 5 hours with sleepAfter 60: `sleep` unless the pin keeps it. */
  function sleeperKeeps(value: string): boolean {
    const config = { stagingName: name, sleepAfterMinutes: 60, stopDatabaseAfterMinutes: 0 } as SleepConfig;
    const state = { state: 'awake', since: new Date(NOW - 5 * HOUR).toISOString() };
    const decision = decideTick({ config, state, lastActivityMs: NOW - 5 * HOUR, pin: parsePin(value, NOW), stackStatus: 'UPDATE_COMPLETE', nowMs: NOW });
    expect(['none', 'sleep']).toContain(decision.action);
    return decision.action === 'none';
  }

  test.each(PIN_TABLE)('%j (%s)', (value, kind) => {
    const keeps = kind !== 'expired';
    expect({ sweeper: sweeperKeeps(value), sleeper: sleeperKeeps(value) }).toEqual({ sweeper: keeps, sleeper: keeps });
  });

  test('without a pin both act: the rows above are kept by their pins alone', () => {
    expect(decide(SWEEPER_CONFIG, { nowMs: NOW, stacks: [stack], pins: [], keepAlives: [], state: [] }).decisions[0].action).toBe('warn');
    const config = { stagingName: name, sleepAfterMinutes: 60, stopDatabaseAfterMinutes: 0 } as SleepConfig;
    const state = { state: 'awake', since: new Date(NOW - 5 * HOUR).toISOString() };
    expect(decideTick({ config, state, lastActivityMs: NOW - 5 * HOUR, stackStatus: 'UPDATE_COMPLETE', nowMs: NOW }).action).toBe('sleep');
  });
});

// ---------------------------------------------------------------------------------------------
// Paths and IAM patterns

describe('paths: every per-branch parameter, below the parameter prefix', () => {
  const paths = new BranchStatePaths('/staging');

  test('one path per family, and the folders GetParametersByPath reads', () => {
    expect(paths.pins.of('feature-a')).toBe('/staging/pins/feature-a');
    expect(paths.pins.root).toBe('/staging/pins');
    expect(paths.keepAlives.of('feature-a')).toBe('/staging/keep-alive/feature-a');
    expect(paths.keepAlives.root).toBe('/staging/keep-alive');
    expect(paths.sleepStates.of('feature-a')).toBe('/staging/sleep/feature-a');
    expect(paths.sleepStates.root).toBe('/staging/sleep');
    expect(paths.sleepConfigs.of('feature-a')).toBe('/staging/sleep-config/feature-a');
    expect(paths.sleepConfigs.root).toBe('/staging/sleep-config');
    expect(paths.wakeClaim('feature-a', '2026-12-01T20:00:00.000Z')).toBe('/staging/sleep-claims/feature-a/2026-12-01T200000.000Z');
    expect(paths.wakeClaims.of('feature-a')).toBe('/staging/sleep-claims/feature-a');
    expect(paths.sweeper.root).toBe('/staging/sweeper');
    expect(kindLockParameterName(StagingNames.fromBranch('feature/a', 'staging'))).toBe(`/staging/branches/${StagingNames.fromBranch('feature/a', 'staging').name}/kind`);
  });

  test('a trailing slash on the prefix makes no double slash', () => {
    expect(new BranchStatePaths('/staging/').pins.of('feature-a')).toBe('/staging/pins/feature-a');
  });

  test("the sweeper's records read back as what they were written for; other names are no record", () => {
    const deadline = Date.UTC(2026, 4, 13, 12, 0, 0, 500);
    expect(paths.sweeperRecordOf(paths.sweeperWarned('feature-a', deadline))).toEqual({ kind: 'warned', stagingName: 'feature-a', deadlineSeconds: Math.floor(deadline / 1000) });
    expect(paths.sweeperRecordOf(paths.sweeperDeleting('feature-a', 'uuid-1', 2))).toEqual({ kind: 'deleting', stagingName: 'feature-a', uuid: 'uuid-1', attempt: 2 });
    expect(paths.sweeperRecordOf(paths.sweeperFailed('feature-a', 'uuid-1', deadline))).toEqual({ kind: 'failed', stagingName: 'feature-a', uuid: 'uuid-1' });
    for (const other of ['/staging/sweeper/warned/feature-a', '/staging/sweeper/warned/feature-a/soon', '/staging/sweeper/deleting/feature-a/uuid-1/x', '/staging/sweeper/other/a/b', paths.pins.of('feature-a')]) {
      expect(paths.sweeperRecordOf(other)).toBeUndefined();
    }
  });

  test('only the direct children of a folder are per-branch values', () => {
    const params = ['/staging/pins/a', '/staging/pins/b/deeper', '/staging/pins', '/staging/pinsx/c', '/staging/pins/d'].map((n) => ({ name: n, value: n }));
    expect([...byStagingName(paths.pins.root, params).keys()]).toEqual(['a', 'd']);
  });

  test('IAM patterns: each folder and everything below it, as SSM names', () => {
    const patterns = paths;
    expect(patterns.pins).toMatchObject({ root: '/staging/pins', below: '/staging/pins/*' });
    expect(patterns.keepAlives).toMatchObject({ root: '/staging/keep-alive', below: '/staging/keep-alive/*' });
    expect(patterns.sleepStates).toMatchObject({ root: '/staging/sleep', below: '/staging/sleep/*' });
    expect(patterns.sleepConfigs).toMatchObject({ root: '/staging/sleep-config', below: '/staging/sleep-config/*' });
    expect(patterns.wakeClaims).toMatchObject({ root: '/staging/sleep-claims', below: '/staging/sleep-claims/*' });
    expect(patterns.sweeper).toMatchObject({ root: '/staging/sweeper', below: '/staging/sweeper/*' });
    expect(foldersAndBelow(patterns.pins, patterns.keepAlives)).toEqual(['/staging/pins', '/staging/pins/*', '/staging/keep-alive', '/staging/keep-alive/*']);
  });

  test('every path of a family matches its pattern, and no other family claims it', () => {
    const patterns = paths;
    const matches = (pattern: string, name: string) => new RegExp(`^${pattern.replace(/[.]/g, '\\.').replace('*', '.*')}$`).test(name);
    const families: Array<[string, string]> = [
      [patterns.pins.below, paths.pins.of('a')],
      [patterns.keepAlives.below, paths.keepAlives.of('a')],
      [patterns.sleepStates.below, paths.sleepStates.of('a')],
      [patterns.sleepConfigs.below, paths.sleepConfigs.of('a')],
      [patterns.wakeClaims.below, paths.wakeClaim('a', SINCE)],
      [patterns.sweeper.below, paths.sweeperWarned('a', NOW)],
      [patterns.sweeper.below, paths.sweeperDeleting('a', 'u', 1)],
      [patterns.sweeper.below, paths.sweeperFailed('a', 'u', NOW)],
    ];
    for (const [pattern, name] of families) {
      expect(families.filter(([p]) => matches(p, name)).map(([p]) => p)).toEqual(families.filter(([p]) => p === pattern).map(([p]) => p));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Last activity and branchStagingOf

describe('lastActivity: the latest of deploy, keep-alive and request', () => {
  test('the latest wins, with its source', () => {
    expect(lastActivity({ createdMs: 1, updatedMs: 5, keepAlive: { at: 3 }, lastRequestMs: 4 })).toEqual({ at: 5, source: 'stack-updated' });
    expect(lastActivity({ createdMs: 1, keepAlive: { at: 7 }, lastRequestMs: 4 })).toEqual({ at: 7, source: 'keep-alive' });
    expect(lastActivity({ createdMs: 1, lastRequestMs: 4 })).toEqual({ at: 4, source: 'request' });
    expect(lastActivity({ createdMs: 1, known: [undefined, { at: 9, source: 'request' }] })).toEqual({ at: 9, source: 'request' });
  });

  test('an unreadable keep-alive without a write time adds nothing; nothing known is undefined', () => {
    expect(lastActivity({ createdMs: 1, keepAlive: { problem: 'x' } })).toEqual({ at: 1, source: 'stack-created' });
    expect(lastActivity({})).toBeUndefined();
  });
});

describe('branchStagingOf: the identity, or the reason it is not a branch staging', () => {
  const name = StagingNames.fromBranch('feature/new_cool_page', 'staging').name;
  const tags = (over: Record<string, string | undefined> = {}) =>
    Object.entries({ 'staging:kind': 'feature', 'staging:name': name, 'staging:branch': 'feature/new_cool_page', 'staging:prefix': 'staging', ...over })
      .filter(([, v]) => v !== undefined)
      .map(([Key, Value]) => ({ Key, Value }));

  test('a tagged stack named <prefix>-<name> is one', () => {
    const s = branchStagingOf({ StackName: `staging-${name}`, Tags: tags() }, 'staging');
    expect(s).toEqual({ stackName: `staging-${name}`, name, branch: 'feature/new_cool_page', kind: 'feature' });
    expect(isBranchStaging(s)).toBe(true);
  });

  test.each([
    [{ StackName: 'production-app', Tags: tags() }, /does not start with staging-/, false],
    [{ StackName: `staging-${name}`, Tags: tags(), ParentId: 'arn:parent' }, /nested stack/, true],
    [{ StackName: `staging-${name}`, Tags: tags({ 'staging:kind': undefined }) }, /no staging:kind tag/, true],
    [{ StackName: `staging-${name}`, Tags: tags({ 'staging:kind': 'shared' }) }, /staging:kind=shared: not a feature staging/, true],
    [{ StackName: `staging-${name}`, Tags: tags({ 'staging:prefix': 'other' }) }, /another staging system/, true],
    [{ StackName: 'staging-other', Tags: tags() }, /does not match the stack name/, true],
    [{ StackName: 'staging-shared', Tags: tags({ 'staging:name': 'shared' }) }, /reserved staging name/, true],
    [{ StackName: 'staging-stagings', Tags: tags({ 'staging:name': 'stagings' }) }, /"stagings" is a reserved staging name \(the stagings page, /, true],
  ])('%#: not one (%p)', (stack, reason, lookalike) => {
    const s = branchStagingOf(stack, 'staging');
    expect(isBranchStaging(s)).toBe(false);
    expect(s).toEqual({ reason: expect.stringMatching(reason), lookalike });
  });
});
