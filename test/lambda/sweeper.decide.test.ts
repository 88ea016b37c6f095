/**
 * The sweeper's decision step, as a table: one row per behaviour, a frozen clock, no AWS at all.
 * test/lambda/sweeper.test.ts runs the same rules end to end against a simulated AWS.
 */
import type { RawStack, SweeperConfig } from '../../lambda/sweeper/model';
import { Decision, Observation, WarningRecord, decide, deleteFailedStacks, requestQueries } from '../../lambda/sweeper/decide';
import { ACCOUNT, SWEEPER_CONFIG } from './sweeper-fixtures';

const NOW = Date.UTC(2026, 4, 10, 12, 0, 0);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const UUID = '11111111-2222-3333-4444-555555555555';
const iso = (ms: number) => new Date(ms).toISOString();

const config = SWEEPER_CONFIG;

interface StackSpec {
  name?: string;
  uuid?: string;
  createdAgo?: number;
  updatedAgo?: number;
  status?: string;
  protect?: boolean;
  outputs?: boolean;
}

const stackId = (name = 'a', uuid = UUID) => `arn:aws:cloudformation:eu-west-1:${ACCOUNT}:stack/staging-${name}/${uuid}`;

function stack({ name = 'a', uuid = UUID, createdAgo = 10 * DAY, updatedAgo, status = 'UPDATE_COMPLETE', protect, outputs = true }: StackSpec = {}): RawStack {
  return {
    StackName: `staging-${name}`,
    StackId: stackId(name, uuid),
    StackStatus: status,
    CreationTime: new Date(NOW - createdAgo),
    LastUpdatedTime: updatedAgo === undefined ? undefined : new Date(NOW - updatedAgo),
    EnableTerminationProtection: protect,
    Tags: [
      { Key: 'staging:kind', Value: 'feature' },
      { Key: 'staging:name', Value: name },
      { Key: 'staging:branch', Value: `feature/${name}` },
      { Key: 'staging:prefix', Value: 'staging' },
    ],
    Outputs: outputs
      ? [
          { OutputKey: 'StagingUrl', OutputValue: `https://${name}.staging.example.com` },
          { OutputKey: 'StagingTargetGroupFullName', OutputValue: `targetgroup/staging-${name}/0123456789abcdef` },
          { OutputKey: 'StagingLoadBalancerFullName', OutputValue: 'app/staging-shared/0123456789abcdef' },
        ]
      : [],
  };
}

const param = (name: string, value: string, modifiedAgo = 0) => ({ name, value, lastModifiedMs: NOW - modifiedAgo });

/** A warning record for staging `a` with idle deadline `deadlineMs`, claimed `claimedAgo` ago. */
function warning(deadlineMs: number, claimedAgo: number, record: Partial<WarningRecord> & { delivered?: boolean } = {}) {
  const { delivered = true, ...rest } = record;
  const claimedAt = NOW - claimedAgo;
  const value: WarningRecord = {
    stackId: stackId(),
    claimedAt: iso(claimedAt),
    deleteAt: iso(Math.max(deadlineMs, claimedAt + DAY)),
    lastActivity: iso(deadlineMs - 3 * DAY),
    lastActivitySource: 'stack-created',
    ...(delivered ? { deliveredAt: iso(claimedAt + 2000) } : {}),
    ...rest,
  };
  return param(`/staging/sweeper/warned/a/${Math.floor(deadlineMs / 1000)}`, JSON.stringify(value), claimedAgo);
}

const deleting = (attempt: number, modifiedAgo: number, name = 'a', uuid = UUID) =>
  param(`/staging/sweeper/deleting/${name}/${uuid}/${attempt}`, JSON.stringify({ stackId: stackId(name, uuid), stackName: `staging-${name}`, branch: `feature/${name}` }), modifiedAgo);

interface Row {
  stack?: StackSpec;
  config?: Partial<SweeperConfig>;
  pin?: string;
  keepAlive?: { value: string; modifiedAgo?: number };
  state?: ReturnType<typeof param>[];
  /** RequestCount of staging a: the last request this long ago, or none (default), or an error. */
  lastRequestAgo?: number;
  metricsError?: string;
  noData?: boolean;
  failedResources?: string[] | { error: string };
  expected: Partial<Record<keyof Decision, unknown>> & { reason: RegExp };
  forgets?: string[];
}

function observe(row: Row): Observation {
  const s = stack(row.stack);
  const hourEnd = (ago: number) => Math.min((Math.floor((NOW - ago) / HOUR) + 1) * HOUR, NOW);
  return {
    nowMs: NOW,
    stacks: [s],
    pins: row.pin ? [param('/staging/pins/a', row.pin)] : [],
    keepAlives: row.keepAlive ? [param('/staging/keep-alive/a', row.keepAlive.value, row.keepAlive.modifiedAgo)] : [],
    state: row.state ?? [],
    requests: new Map([
      [
        s.StackId!,
        row.metricsError
          ? { hasData: false, error: row.metricsError }
          : { hasData: row.lastRequestAgo !== undefined || !row.noData, lastRequestMs: row.lastRequestAgo === undefined ? undefined : hourEnd(row.lastRequestAgo) },
      ],
    ]),
    failedResources: new Map([
      [
        s.StackId!,
        Array.isArray(row.failedResources)
          ? { resources: row.failedResources.map((logicalId) => ({ logicalId, type: 'AWS::EC2::SecurityGroup', reason: 'has a dependent object' })) }
          : (row.failedResources ?? { resources: [] }),
      ],
    ]),
  };
}

const CREATED = NOW - 10 * DAY;
const DEADLINE = CREATED + 3 * DAY;
const warnedParam = (deadlineMs: number) => `/staging/sweeper/warned/a/${Math.floor(deadlineMs / 1000)}`;

const rows: Record<string, Row> = {
  'a stack being created, updated or deleted is skipped': {
    stack: { status: 'UPDATE_IN_PROGRESS' },
    state: [warning(DEADLINE, 5 * DAY)],
    expected: { action: 'skip', reason: /the stack is UPDATE_IN_PROGRESS; the sweeper leaves it alone/ },
  },
  'termination protection keeps it': {
    stack: { protect: true },
    expected: { action: 'keep', reason: /termination protection is on/ },
  },
  'an active pin keeps it until the end of that UTC day, and withdraws its warnings': {
    pin: '2026-05-10',
    state: [warning(DEADLINE, 5 * DAY)],
    expected: { action: 'keep', reason: /pinned until the end of 2026-05-10/, pinnedUntilMs: Date.UTC(2026, 4, 11) },
    forgets: [warnedParam(DEADLINE)],
  },
  'an unreadable pin keeps it (fail closed) and is an error': {
    pin: 'until christmas',
    state: [warning(DEADLINE, 5 * DAY)],
    expected: { action: 'keep', reason: /unreadable pin: kept \(fail closed\)/, error: expect.stringMatching(/not a date \(YYYY-MM-DD\).*aws ssm put-parameter/) },
  },
  'a recent deploy keeps it, without asking for its requests': {
    stack: { updatedAgo: HOUR },
    expected: { action: 'keep', reason: /active: stack updated/, requests: 'not-queried', idleAtMs: NOW - HOUR + 3 * DAY },
  },
  'a recent keep-alive keeps it': {
    keepAlive: { value: iso(NOW - 5 * HOUR) },
    expected: { action: 'keep', reason: /active: keep-alive/, activity: { at: NOW - 5 * HOUR, source: 'keep-alive' } },
  },
  'a malformed keep-alive counts from when it was written, and is reported': {
    keepAlive: { value: 'yes please', modifiedAgo: 2 * HOUR },
    expected: { action: 'keep', reason: /active: keep-alive/, problems: [expect.stringMatching(/not an ISO-8601 timestamp/)] },
  },
  'a recent request keeps it': {
    lastRequestAgo: 5 * HOUR,
    expected: { action: 'keep', reason: /active: last request/, requests: 'seen', activity: { at: NOW - 4 * HOUR, source: 'request' } },
  },
  'no data on a target group younger than the idle window is not idle': {
    stack: { createdAgo: 2 * DAY + 12 * HOUR },
    noData: true,
    expected: { action: 'keep', reason: /no RequestCount data yet/, requests: 'no-data-young' },
  },
  'a RequestCount error skips it this run, as an error': {
    metricsError: 'GetMetricData failed: Throttling',
    expected: { action: 'skip', reason: /could not read its RequestCount/, error: 'GetMetricData failed: Throttling', requests: 'error' },
  },
  'within the warning period and not warned: warn, deletion at the idle deadline': {
    stack: { createdAgo: 2 * DAY + 6 * HOUR },
    lastRequestAgo: 2 * DAY + 5 * HOUR,
    expected: {
      action: 'warn',
      reason: /idle since last request .*: warn now, delete at/,
      idleAtMs: NOW - 2 * DAY - 4 * HOUR + 3 * DAY,
      deleteAtMs: NOW + DAY,
      warning: {
        param: warnedParam(NOW + 20 * HOUR),
        withdraw: [],
        record: {
          stackId: stackId(),
          claimedAt: iso(NOW),
          deleteAt: iso(NOW + DAY),
          lastActivity: iso(NOW - 2 * DAY - 4 * HOUR),
          lastActivitySource: 'request',
        },
      },
    },
  },
  'idle long ago and never warned: a late warning still gives the full warning period': {
    stack: { createdAgo: 60 * DAY },
    expected: { action: 'warn', reason: /idle since stack created/, idleAtMs: NOW - 57 * DAY, deleteAtMs: NOW + DAY, requests: 'none-in-window' },
  },
  'no target group: judged on its stack times': {
    stack: { outputs: false },
    expected: { action: 'warn', reason: /idle since stack created/, requests: 'no-target-group' },
  },
  'an expired pin counts as no pin': {
    pin: '2026-05-09',
    expected: { action: 'warn', reason: /\(its pin expired at the end of 2026-05-09\)/ },
  },
  'a delivered warning not yet a warning period old: kept until the announced time': {
    state: [warning(DEADLINE, 20 * HOUR)],
    expected: { action: 'keep', reason: /warned at .* \(delivered .*\); deletion at/, deleteAtMs: NOW + 4 * HOUR },
  },
  'a delivered warning a warning period old: delete': {
    state: [warning(DEADLINE, DAY)],
    expected: {
      action: 'delete',
      reason: /idle since stack created .*, warned at .* for 2026-05-10T12:00:00.000Z/,
      deleteAtMs: NOW,
      deletion: { kind: 'claim', param: `/staging/sweeper/deleting/a/${UUID}/1`, attempt: 1, clientRequestToken: `sweeper-${UUID}-1` },
    },
  },
  'a delivered warning announcing a later time than its age: the announced time holds': {
    state: [warning(DEADLINE, 2 * DAY, { deleteAt: iso(NOW + HOUR) })],
    expected: { action: 'keep', deleteAtMs: NOW + HOUR, reason: /deletion at 2026-05-10T13:00:00.000Z/ },
  },
  'a claimed warning younger than a run can last: another run may still be sending it': {
    state: [warning(DEADLINE, 10 * MINUTE, { delivered: false })],
    expected: { action: 'keep', reason: /a warning was claimed at .* by a run that may still be sending it; not delivered yet/, warning: undefined, deletion: undefined },
  },
  'a claimed warning never delivered and older than a run can last: withdrawn and warned afresh, never deleted on': {
    state: [warning(DEADLINE, 2 * DAY, { delivered: false })],
    expected: {
      action: 'warn',
      reason: /warn now, delete at 2026-05-11T12:00:00.000Z \(the warning claimed at 2026-05-08T12:00:00.000Z was never marked delivered: its run ended before SNS accepted it; withdrawn\)/,
      deleteAtMs: NOW + DAY,
      warning: expect.objectContaining({ param: warnedParam(DEADLINE), withdraw: [warnedParam(DEADLINE)] }),
    },
  },
  'a warning recorded before delivery was marked (older releases) does not count either': {
    state: [param(warnedParam(DEADLINE), JSON.stringify({ stackId: stackId(), warnedAt: iso(NOW - 2 * DAY), deleteAfter: iso(NOW - DAY) }), 2 * DAY)],
    expected: { action: 'warn', reason: /was never marked delivered/, warning: expect.objectContaining({ withdraw: [warnedParam(DEADLINE)] }) },
  },
  'the request a warning was based on has left the metrics window: the recorded activity holds the deadline': {
    // Last request 3 days ago (announced deletion now); GetMetricData no longer returns it.
    state: [warning(NOW, DAY, { lastActivity: iso(NOW - 3 * DAY), lastActivitySource: 'request', deleteAt: iso(NOW) })],
    expected: {
      action: 'delete',
      activity: { at: NOW - 3 * DAY, source: 'request' },
      idleAtMs: NOW,
      deleteAtMs: NOW,
      reason: /idle since last request 2026-05-07T12:00:00.000Z/,
    },
  },
  'new activity after a warning moves the deadline: the warning is withdrawn': {
    lastRequestAgo: 30 * MINUTE,
    state: [warning(DEADLINE, 12 * HOUR)],
    expected: { action: 'keep', reason: /active: last request/ },
    forgets: [warnedParam(DEADLINE)],
  },
  'a warning of an earlier stack with the same name means nothing for this one': {
    state: [warning(DEADLINE, 2 * DAY, { stackId: stackId('a', '99999999-2222-3333-4444-555555555555') })],
    expected: { action: 'warn', warning: expect.objectContaining({ param: warnedParam(DEADLINE), withdraw: [warnedParam(DEADLINE)] }), reason: /warn now/ },
  },
  'a warning of an earlier stack for another deadline is forgotten': {
    state: [warning(DEADLINE - DAY, 2 * DAY, { stackId: stackId('a', '99999999-2222-3333-4444-555555555555') })],
    expected: { action: 'warn', warning: expect.objectContaining({ withdraw: [] }), reason: /warn now/ },
    forgets: [warnedParam(DEADLINE - DAY)],
  },
  'due, but another run claimed the deletion minutes ago: left to that run': {
    state: [warning(DEADLINE, DAY), deleting(1, 5 * MINUTE)],
    expected: { action: 'delete', reason: /warned at/, deletion: { kind: 'held-elsewhere', claimedAtMs: NOW - 5 * MINUTE } },
  },
  'due, and a deletion claim left by a crashed run is stale: taken over with the next attempt': {
    state: [warning(DEADLINE, DAY), deleting(1, HOUR)],
    expected: { action: 'delete', reason: /warned at/, deletion: expect.objectContaining({ kind: 'claim', attempt: 2, clientRequestToken: `sweeper-${UUID}-2` }) },
  },
  'DELETE_FAILED: reported with its failed resources, and told once': {
    stack: { status: 'DELETE_FAILED' },
    failedResources: ['Sg'],
    expected: {
      action: 'report',
      reason: /the stack is DELETE_FAILED; resources that failed: Sg$/,
      failedResources: [expect.objectContaining({ logicalId: 'Sg' })],
      failureNotice: { marker: expect.stringMatching(new RegExp(`^/staging/sweeper/failed/a/${UUID}/\\d+$`)) },
      deletion: undefined,
    },
  },
  'DELETE_FAILED and already told: reported, not told again': {
    stack: { status: 'DELETE_FAILED' },
    failedResources: ['Sg'],
    state: [param(`/staging/sweeper/failed/a/${UUID}/${Math.floor((NOW - 10 * DAY) / 1000)}`, '{}')],
    expected: { action: 'report', reason: /DELETE_FAILED/, failureNotice: undefined },
  },
  'DELETE_FAILED with retainResourcesOnDeleteFailed: retried, retaining exactly the failed resources': {
    stack: { status: 'DELETE_FAILED' },
    config: { retainResourcesOnDeleteFailed: true },
    failedResources: ['Sg', 'Db'],
    expected: { action: 'retry-delete', reason: /retrying, retaining them/, deletion: expect.objectContaining({ kind: 'claim', retain: ['Sg', 'Db'] }) },
  },
  'DELETE_FAILED with retainResourcesOnDeleteFailed but pinned: not retried': {
    stack: { status: 'DELETE_FAILED' },
    config: { retainResourcesOnDeleteFailed: true },
    pin: '2026-05-20',
    failedResources: ['Sg'],
    expected: { action: 'report', reason: /DELETE_FAILED/, deletion: undefined },
  },
  'DELETE_FAILED whose resources could not be listed: reported as an error': {
    stack: { status: 'DELETE_FAILED' },
    failedResources: { error: 'AccessDenied: no' },
    expected: { action: 'report', reason: /DELETE_FAILED/, error: 'could not list its resources (cloudformation:ListStackResources): AccessDenied: no' },
  },
};

describe('decide: one row per behaviour', () => {
  test.each(Object.entries(rows))('%s', (_, row) => {
    const plan = decide({ ...config, ...row.config }, observe(row));
    expect(plan.decisions).toHaveLength(1);
    const d = plan.decisions[0];
    const { reason, ...rest } = row.expected;
    expect(d.reason).toMatch(reason);
    expect(d).toMatchObject(Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)));
    for (const [k, v] of Object.entries(rest)) if (v === undefined) expect(d[k as keyof Decision]).toBeUndefined();
    expect([...plan.forget].sort()).toEqual([...(row.forgets ?? [])].sort());
  });
});

describe('decide: the plan', () => {
  test('the reserved name "shared" is never a staging, whatever its tags and state say', () => {
    const shared = stack({ name: 'shared' });
    const plan = decide(config, {
      ...observe({ expected: { reason: /./ } }),
      stacks: [shared],
      state: [param(`/staging/sweeper/warned/shared/${Math.floor(DEADLINE / 1000)}`, JSON.stringify({ stackId: shared.StackId, claimedAt: iso(NOW - 5 * DAY), deliveredAt: iso(NOW - 5 * DAY) }))],
    });
    expect(plan.decisions).toEqual([]);
    expect(plan.ignored).toEqual([{ stackName: 'staging-shared', reason: expect.stringMatching(/reserved staging name/) }]);
  });

  test('a finished deletion is told, and then its state forgotten; state of stagings that are gone is forgotten', () => {
    const gone = '22222222-2222-3333-4444-555555555555';
    const plan = decide(config, {
      nowMs: NOW,
      stacks: [],
      pins: [],
      keepAlives: [],
      state: [
        deleting(1, 2 * HOUR, 'b', gone),
        param(`/staging/sweeper/failed/b/${gone}/123`, '{}'),
        param('/staging/sweeper/warned/b/456', '{}'),
        param('/staging/sweeper/warned/c/789', '{}'),
      ],
      requests: new Map(),
      failedResources: new Map(),
    });
    expect(plan.completed).toEqual([
      {
        deletion: { stackName: 'staging-b', stackId: stackId('b', gone), stagingName: 'b', branch: 'feature/b', url: undefined, retainedResources: undefined },
        forget: [`/staging/sweeper/deleting/b/${gone}/1`, `/staging/sweeper/failed/b/${gone}/123`, '/staging/sweeper/warned/b/456'],
      },
    ]);
    // b's warning waits for the deleted notice; c's staging is gone without a deletion of this sweeper.
    expect(plan.forget).toEqual(['/staging/sweeper/warned/c/789']);
  });

  test('requestQueries asks only for stagings that may be idle and have a target group', () => {
    const obs: Observation = {
      nowMs: NOW,
      stacks: [stack({ name: 'idle' }), stack({ name: 'deployed', updatedAgo: HOUR }), stack({ name: 'bare', outputs: false }), stack({ name: 'busy', status: 'UPDATE_IN_PROGRESS' })],
      pins: [],
      keepAlives: [],
      state: [],
    };
    expect(requestQueries(config, obs)).toEqual([
      { key: stackId('idle'), targetGroup: 'targetgroup/staging-idle/0123456789abcdef', loadBalancer: 'app/staging-shared/0123456789abcdef' },
    ]);
    expect(deleteFailedStacks(config, { ...obs, stacks: [stack({ name: 'stuck', status: 'DELETE_FAILED' }), ...obs.stacks] }).map((s) => s.stagingName)).toEqual(['stuck']);
  });

  test('requestQueries reads each staging\'s requests on its own shard\'s load balancer (its stack output)', () => {
    const onShard = (name: string, loadBalancer: string): RawStack => {
      const raw = stack({ name });
      return { ...raw, Outputs: raw.Outputs!.map((o) => (o.OutputKey === 'StagingLoadBalancerFullName' ? { ...o, OutputValue: loadBalancer } : o)) };
    };
    const shards = ['app/staging-shared/0123456789abcdef', 'app/stagi-LoadB-Shard1/1111111111111111', 'app/stagi-LoadB-Shard5/5555555555555555'];
    const obs: Observation = { nowMs: NOW, stacks: shards.map((lb, i) => onShard(`s${i}`, lb)), pins: [], keepAlives: [], state: [] };
    expect(requestQueries(config, obs).map((q) => [q.targetGroup, q.loadBalancer])).toEqual(shards.map((lb, i) => [`targetgroup/staging-s${i}/0123456789abcdef`, lb]));
  });

  test('pure: the same observation gives the same plan, and the observation is not changed', () => {
    const obs = observe({ state: [warning(DEADLINE, DAY), deleting(1, HOUR)], expected: { reason: /./ } });
    const frozen = deepFreeze(obs);
    const first = decide(config, frozen);
    expect(decide(config, frozen)).toEqual(first);
  });
});

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    if (value instanceof Map) for (const v of value.values()) deepFreeze(v);
    else for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
