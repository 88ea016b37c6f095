import {
  CloudFormationClient,
  DeleteStackCommand,
  DescribeStacksCommand,
  ListStackResourcesCommand,
  type Stack,
  type StackResourceSummary,
  type StackStatus,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, GetMetricDataCommand, PutMetricDataCommand, type GetMetricDataCommandInput, type MetricDataResult } from '@aws-sdk/client-cloudwatch';
import { PublishBatchCommand, SNSClient, type PublishBatchCommandInput } from '@aws-sdk/client-sns';
import { DeleteParametersCommand, GetParametersByPathCommand, PutParameterCommand, SSMClient, type Parameter } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../lambda/sweeper/index';
import type { SweepReport } from '../../lambda/sweeper/model';
import { ACCOUNT, REGION, ROLE_ARN, SCHEDULED_EVENT, SWEEPER_ENV } from './sweeper-fixtures';

const cfn = mockClient(CloudFormationClient);
const cw = mockClient(CloudWatchClient);
const ssm = mockClient(SSMClient);
const sns = mockClient(SNSClient);

const HOUR = 3600_000;
const DAY = 24 * HOUR;
/** 2026-05-10T12:00:00Z: the frozen "now" of every run unless a test moves it. */
const NOW = Date.UTC(2026, 4, 10, 12, 0, 0);

function awsError(name: string, message = name): Error {
  return Object.assign(new Error(message), { name, $metadata: {} });
}

interface StackSpec {
  name: string;
  createdAgo: number;
  updatedAgo?: number;
  status?: string;
  kind?: string | null;
  prefixTag?: string;
  account?: string;
  region?: string;
  outputs?: boolean;
  parentId?: string;
  protect?: boolean;
  branch?: string;
}

let uuidCounter = 0;

/**
 * A small simulated AWS: stacks, SSM parameters (with PutParameter Overwrite=false semantics, so
 * concurrent runs race for real), ALB request counts per target group, and SNS.
 */
class World {
  now = NOW;
  stacks: Stack[] = [];
  params = new Map<string, { value: string; modified: number }>();
  /** Target group full name -> request times (ms) and counts. */
  requests = new Map<string, { at: number; count: number }[]>();
  resources = new Map<string, StackResourceSummary[]>();
  stackPageSize = 100;
  metricPointsPerPage = 100_800;
  published: { subject: string; message: string; event: string; staging: string }[] = [];
  /** Return a failure for these; checked on every call. */
  failures: { command: string; when: (input: any) => boolean; error: Error }[] = [];
  /** The function dies (times out, runs out of memory) when it makes one of these calls: the call never returns. */
  deaths: { command: string; when: (input: any) => boolean }[] = [];

  constructor() {
    cfn.on(DescribeStacksCommand).callsFake(async (input) => {
      this.fail('DescribeStacks', input);
      const start = input.NextToken ? Number(input.NextToken) : 0;
      const live = this.stacks.filter((s) => s.StackStatus !== 'DELETE_COMPLETE');
      const page = live.slice(start, start + this.stackPageSize).map((s) => structuredClone(s));
      const next = start + this.stackPageSize < live.length ? String(start + this.stackPageSize) : undefined;
      return { Stacks: page, NextToken: next };
    });
    cfn.on(DeleteStackCommand).callsFake(async (input) => {
      await tick();
      await this.fail('DeleteStack', input);
      const s = this.stacks.find((x) => x.StackId === input.StackName);
      if (s) s.StackStatus = 'DELETE_IN_PROGRESS';
      return {};
    });
    cfn.on(ListStackResourcesCommand).callsFake(async (input) => {
      this.fail('ListStackResources', input);
      const all = this.resources.get(input.StackName!) ?? [];
      const start = input.NextToken ? Number(input.NextToken) : 0;
      return { StackResourceSummaries: all.slice(start, start + 2), NextToken: start + 2 < all.length ? String(start + 2) : undefined };
    });
    ssm.on(GetParametersByPathCommand).callsFake(async (input) => {
      this.fail('GetParametersByPath', input);
      const size = Math.min(input.MaxResults ?? 10, 10);
      const all = [...this.params.entries()].filter(([n]) => n.startsWith(`${input.Path}/`)).sort(([a], [b]) => a.localeCompare(b));
      const start = input.NextToken ? Number(input.NextToken) : 0;
      const page: Parameter[] = all.slice(start, start + size).map(([Name, p]) => ({ Name, Value: p.value, LastModifiedDate: new Date(p.modified) }));
      return { Parameters: page, NextToken: start + size < all.length ? String(start + size) : undefined };
    });
    ssm.on(PutParameterCommand).callsFake(async (input) => {
      await tick();
      await this.fail('PutParameter', input);
      if (!input.Overwrite && this.params.has(input.Name!)) throw awsError('ParameterAlreadyExists', `The parameter already exists.`);
      this.params.set(input.Name!, { value: input.Value!, modified: this.now });
      return { Version: 1 };
    });
    ssm.on(DeleteParametersCommand).callsFake(async (input) => {
      this.fail('DeleteParameters', input);
      expect(input.Names!.length).toBeLessThanOrEqual(10);
      for (const n of input.Names ?? []) this.params.delete(n);
      return { DeletedParameters: input.Names };
    });
    cw.on(GetMetricDataCommand).callsFake(async (input: GetMetricDataCommandInput) => {
      this.fail('GetMetricData', input);
      expect(input.MetricDataQueries!.length).toBeLessThanOrEqual(500);
      const start = input.StartTime!.getTime();
      const end = input.EndTime!.getTime();
      const points: { id: string; t: number; v: number }[] = [];
      for (const q of input.MetricDataQueries!) {
        const dims = q.MetricStat!.Metric!.Dimensions!;
        expect(q.MetricStat!.Metric!.Namespace).toBe('AWS/ApplicationELB');
        expect(q.MetricStat!.Metric!.MetricName).toBe('RequestCount');
        expect(dims.find((d) => d.Name === 'LoadBalancer')?.Value).toMatch(/^app\//);
        const tg = dims.find((d) => d.Name === 'TargetGroup')!.Value!;
        const period = q.MetricStat!.Period! * 1000;
        const buckets = new Map<number, number>();
        for (const r of this.requests.get(tg) ?? []) {
          if (r.at < start || r.at >= end) continue;
          const b = start + Math.floor((r.at - start) / period) * period;
          buckets.set(b, (buckets.get(b) ?? 0) + r.count);
        }
        // ALB publishes no data point for an hour without requests.
        for (const [t, v] of [...buckets.entries()].sort((a, b) => b[0] - a[0])) points.push({ id: q.Id!, t, v });
      }
      const from = input.NextToken ? Number(input.NextToken) : 0;
      const page = points.slice(from, from + this.metricPointsPerPage);
      const results = new Map<string, MetricDataResult>();
      for (const q of input.MetricDataQueries!) results.set(q.Id!, { Id: q.Id, Timestamps: [], Values: [], StatusCode: 'Complete' });
      for (const p of page) {
        results.get(p.id)!.Timestamps!.push(new Date(p.t));
        results.get(p.id)!.Values!.push(p.v);
      }
      const more = from + this.metricPointsPerPage < points.length;
      if (more) for (const r of results.values()) r.StatusCode = 'PartialData';
      return { MetricDataResults: [...results.values()], NextToken: more ? String(from + this.metricPointsPerPage) : undefined };
    });
    cw.on(PutMetricDataCommand).resolves({});
    sns.on(PublishBatchCommand).callsFake(async (input: PublishBatchCommandInput) => {
      await this.fail('PublishBatch', input);
      expect(input.PublishBatchRequestEntries!.length).toBeLessThanOrEqual(10);
      for (const e of input.PublishBatchRequestEntries ?? []) {
        this.published.push({
          subject: e.Subject!,
          message: e.Message!,
          event: e.MessageAttributes!.event.StringValue!,
          staging: e.MessageAttributes!.staging.StringValue!,
        });
      }
      return { Successful: input.PublishBatchRequestEntries!.map((e) => ({ Id: e.Id, MessageId: `msg-${e.Id}` })), Failed: [] };
    });
  }

  private fail(command: string, input: unknown): Promise<never> | void {
    if (this.deaths.some((x) => x.command === command && x.when(input))) return new Promise<never>(() => undefined);
    const f = this.failures.find((x) => x.command === command && x.when(input));
    if (f) throw f.error;
  }

  addStack(spec: StackSpec): Stack {
    const uuid = `0000${String(++uuidCounter).padStart(4, '0')}-aaaa-bbbb-cccc-${String(uuidCounter).padStart(12, '0')}`;
    const stackName = `staging-${spec.name}`;
    const tags = [
      ...(spec.kind === null ? [] : [{ Key: 'staging:kind', Value: spec.kind ?? 'feature' }]),
      { Key: 'staging:name', Value: spec.name },
      { Key: 'staging:branch', Value: spec.branch ?? `feature/${spec.name}` },
      { Key: 'staging:prefix', Value: spec.prefixTag ?? 'staging' },
      { Key: 'staging:managed-by', Value: 'cdk-multi-staging' },
    ];
    const stack: Stack = {
      StackName: stackName,
      StackId: `arn:aws:cloudformation:${spec.region ?? REGION}:${spec.account ?? ACCOUNT}:stack/${stackName}/${uuid}`,
      StackStatus: (spec.status ?? 'CREATE_COMPLETE') as StackStatus,
      CreationTime: new Date(this.now - spec.createdAgo),
      LastUpdatedTime: spec.updatedAgo === undefined ? undefined : new Date(this.now - spec.updatedAgo),
      ParentId: spec.parentId,
      EnableTerminationProtection: spec.protect,
      Tags: tags,
      Outputs:
        spec.outputs === false
          ? []
          : [
              { OutputKey: 'StagingUrl', OutputValue: `https://${spec.name}.staging.example.com` },
              { OutputKey: 'StagingTargetGroupFullName', OutputValue: this.targetGroup(spec.name) },
              { OutputKey: 'StagingLoadBalancerFullName', OutputValue: 'app/staging-shared/0123456789abcdef' },
            ],
    };
    this.stacks.push(stack);
    return stack;
  }

  targetGroup(name: string): string {
    return `targetgroup/staging-${name.slice(0, 20)}/${Buffer.from(name).toString('hex').slice(0, 16).padEnd(16, '0')}`;
  }

  request(name: string, ago: number, count = 1): void {
    const tg = this.targetGroup(name);
    this.requests.set(tg, [...(this.requests.get(tg) ?? []), { at: this.now - ago, count }]);
  }

  param(name: string, value: string, modifiedAgo = 0): void {
    this.params.set(name, { value, modified: this.now - modifiedAgo });
  }

  stack(name: string): Stack {
    return this.stacks.find((s) => s.StackName === `staging-${name}`)!;
  }

  /** Finishes every deletion in progress, as CloudFormation would. */
  finishDeletions(): void {
    for (const s of this.stacks) if (s.StackStatus === 'DELETE_IN_PROGRESS') s.StackStatus = 'DELETE_COMPLETE';
  }

  advance(ms: number): void {
    this.now += ms;
    jest.setSystemTime(this.now);
  }

  state(): string[] {
    return [...this.params.keys()].filter((k) => k.startsWith('/staging/sweeper/')).sort();
  }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

let world: World;

beforeEach(() => {
  cfn.reset();
  cw.reset();
  ssm.reset();
  sns.reset();
  jest.useFakeTimers({ now: NOW, doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'queueMicrotask'] });
  uuidCounter = 0;
  world = new World();
  process.env = { ...process.env, ...SWEEPER_ENV };
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  jest.spyOn(console, 'error').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

const run = (event: Record<string, unknown> = SCHEDULED_EVENT) => handler(event);
const staging = (report: SweepReport, name: string) => report.stagings.find((s) => s.stagingName === name)!;
const deletedIds = () => cfn.commandCalls(DeleteStackCommand).map((c) => c.args[0].input.StackName);
const MUTATING = [
  [cfn, DeleteStackCommand],
  [ssm, PutParameterCommand],
  [ssm, DeleteParametersCommand],
  [sns, PublishBatchCommand],
  [cw, PutMetricDataCommand],
] as const;
const mutatingCalls = () => MUTATING.reduce((n, [client, command]) => n + (client as any).commandCalls(command).length, 0);

/** The value of a warning parameter that SNS accepted: claimed at `claimedAt`, announcing `deleteAt`. */
function deliveredWarning(stack: Stack, claimedAt: number, deleteAt: number): string {
  return JSON.stringify({
    stackId: stack.StackId,
    claimedAt: new Date(claimedAt).toISOString(),
    deleteAt: new Date(deleteAt).toISOString(),
    lastActivity: stack.CreationTime!.toISOString(),
    lastActivitySource: 'stack-created',
    deliveredAt: new Date(claimedAt).toISOString(),
  });
}

/** Warns the stagings, then moves past the warning period. */
async function warnThenWait(): Promise<void> {
  await run();
  world.advance(DAY + HOUR);
  world.published = [];
}

describe('safety: only tagged feature stagings of this system', () => {
  test('a stack that only looks like a feature staging by name is never touched', async () => {
    world.addStack({ name: 'untagged', createdAgo: 30 * DAY, kind: null });
    world.addStack({ name: 'shared', createdAgo: 30 * DAY, kind: 'shared' });
    world.addStack({ name: 'other-system', createdAgo: 30 * DAY, prefixTag: 'prod' });
    world.addStack({ name: 'elsewhere', createdAgo: 30 * DAY, account: '210987654321' });
    world.addStack({ name: 'nested', createdAgo: 30 * DAY, parentId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/staging-x/1' });
    world.addStack({ name: 'real', createdAgo: 30 * DAY });
    // Even state that claims these were warned long ago must not lead to a deletion.
    for (const n of ['untagged', 'shared', 'other-system', 'elsewhere', 'nested']) {
      world.param(`/staging/sweeper/warned/${n}/${Math.floor((NOW - 20 * DAY) / 1000)}`, '{}', 20 * DAY);
    }

    await warnThenWait();
    const report = await run();

    expect(deletedIds()).toEqual([world.stack('real').StackId]);
    expect(report.counts.scanned).toBe(1);
    expect(report.ignored.map((i) => i.stackName).sort()).toEqual(
      ['staging-elsewhere', 'staging-nested', 'staging-other-system', 'staging-shared', 'staging-untagged'].sort(),
    );
    expect(report.ignored.find((i) => i.stackName === 'staging-untagged')!.reason).toMatch(/no staging:kind tag.*never touched/);
    expect(world.published.map((p) => p.staging)).toEqual(['real']);
  });

  test('deletes by stack id, with the CloudFormation service role and an idempotency token', async () => {
    world.addStack({ name: 'old', createdAgo: 10 * DAY });
    await warnThenWait();
    await run();
    const input = cfn.commandCalls(DeleteStackCommand)[0].args[0].input;
    expect(input).toEqual({
      StackName: world.stack('old').StackId,
      RoleARN: ROLE_ARN,
      ClientRequestToken: expect.stringMatching(/^sweeper-[0-9a-f-]+-1$/),
      RetainResources: undefined,
    });
  });
});

describe('dry run', () => {
  function busyWorld(): void {
    world.addStack({ name: 'due', createdAgo: 10 * DAY });
    world.addStack({ name: 'to-warn', createdAgo: 10 * DAY });
    world.addStack({ name: 'active', createdAgo: 10 * DAY, updatedAgo: HOUR });
    world.addStack({ name: 'broken', createdAgo: 10 * DAY, status: 'DELETE_FAILED' });
    world.resources.set(world.stack('broken').StackId!, [
      { LogicalResourceId: 'Bucket', PhysicalResourceId: 'b', ResourceType: 'AWS::S3::Bucket', ResourceStatus: 'DELETE_FAILED', ResourceStatusReason: 'not empty', LastUpdatedTimestamp: new Date() },
    ]);
    const due = world.stack('due');
    const deadline = Math.floor((due.CreationTime!.getTime() + 3 * DAY) / 1000);
    world.param(`/staging/sweeper/warned/due/${deadline}`, deliveredWarning(due, NOW - 2 * DAY, NOW - HOUR), 2 * DAY);
    world.param('/staging/sweeper/warned/gone/123', '{}', 5 * DAY); // obsolete state
    world.param('/staging/sweeper/deleting/finished/00000000-aaaa-bbbb-cccc-000000000000/1', JSON.stringify({ stackName: 'staging-finished' }), 2 * DAY);
  }

  test('{"dryRun": true} makes no mutating call and returns the full report', async () => {
    process.env.RETAIN_RESOURCES_ON_DELETE_FAILED = 'true';
    busyWorld();
    const report = await run({ dryRun: true });

    expect(mutatingCalls()).toBe(0);
    expect(report.dryRun).toBe(true);
    expect(staging(report, 'due')).toMatchObject({ action: 'delete', outcome: 'dry-run' });
    expect(staging(report, 'to-warn')).toMatchObject({ action: 'warn', outcome: 'dry-run', deleteAt: new Date(NOW + DAY).toISOString() });
    expect(staging(report, 'active')).toMatchObject({ action: 'keep', outcome: 'done' });
    expect(staging(report, 'broken')).toMatchObject({ action: 'retry-delete', outcome: 'dry-run', retainedResources: [expect.objectContaining({ logicalId: 'Bucket' })] });
    expect(report.completed).toEqual([expect.objectContaining({ stackName: 'staging-finished', outcome: 'dry-run' })]);
    expect(report.counts).toMatchObject({ scanned: 4, warned: 1, deleted: 2, idle: 2 });
  });

  test('a sweeper deployed with dryRun stays read-only whatever the event says', async () => {
    process.env.DRY_RUN = 'true';
    busyWorld();
    const report = await run({ dryRun: false });
    expect(mutatingCalls()).toBe(0);
    expect(report.dryRun).toBe(true);
  });
});

describe('pins', () => {
  test('an active pin keeps an idle staging until the end of its UTC day', async () => {
    world.addStack({ name: 'pinned', createdAgo: 30 * DAY });
    world.param('/staging/pins/pinned', '2026-05-10');
    const report = await run();
    expect(staging(report, 'pinned')).toMatchObject({ action: 'keep', pinnedUntil: '2026-05-11T00:00:00.000Z' });
    expect(report.counts.pinned).toBe(1);
    expect(world.published).toEqual([]);
  });

  test('an expired pin counts as no pin', async () => {
    world.addStack({ name: 'was-pinned', createdAgo: 30 * DAY });
    world.param('/staging/pins/was-pinned', '2026-05-09');
    const report = await run();
    expect(staging(report, 'was-pinned')).toMatchObject({ action: 'warn', outcome: 'done' });
    expect(world.published.map((p) => p.event)).toEqual(['warning']);
    world.advance(DAY + HOUR);
    await run();
    expect(deletedIds()).toEqual([world.stack('was-pinned').StackId]);
  });

  test('a malformed pin keeps the staging (fail closed) and reports it', async () => {
    world.addStack({ name: 'odd-pin', createdAgo: 30 * DAY });
    world.addStack({ name: 'impossible-date', createdAgo: 30 * DAY });
    world.param('/staging/pins/odd-pin', 'until christmas');
    world.param('/staging/pins/impossible-date', '2026-02-30');
    // Warned long ago and due: the pin still wins.
    world.param(`/staging/sweeper/warned/odd-pin/${Math.floor((NOW - 27 * DAY) / 1000)}`, '{}', 28 * DAY);

    await warnThenWait();
    const report = await run();
    expect(deletedIds()).toEqual([]);
    for (const n of ['odd-pin', 'impossible-date']) {
      expect(staging(report, n)).toMatchObject({ action: 'keep', outcome: 'failed', error: expect.stringMatching(/not a date.*kept \(fail closed\).*aws ssm put-parameter/) });
    }
    expect(report.counts.failed).toBe(2);
    const metrics = cw.commandCalls(PutMetricDataCommand).at(-1)!.args[0].input.MetricData!;
    expect(metrics.find((m) => m.MetricName === 'Failed')!.Value).toBe(2);
  });

  test('pinning a warned staging withdraws the warning, so a later expiry warns afresh', async () => {
    world.addStack({ name: 'rescued', createdAgo: 10 * DAY });
    await run();
    expect(world.state()).toHaveLength(1);
    world.param('/staging/pins/rescued', '2026-05-12');
    world.advance(HOUR);
    await run();
    expect(world.state()).toEqual([]);
    world.advance(3 * DAY); // pin expired
    world.published = [];
    const report = await run();
    expect(deletedIds()).toEqual([]);
    expect(staging(report, 'rescued')).toMatchObject({ action: 'warn', deleteAt: new Date(world.now + DAY).toISOString() });
  });
});

describe('activity', () => {
  test('no datapoints on a young target group is not idle; on an old one it is zero requests', async () => {
    world.addStack({ name: 'young', createdAgo: 2 * DAY + 12 * HOUR });
    world.addStack({ name: 'old', createdAgo: 10 * DAY });
    const report = await run();
    expect(staging(report, 'young')).toMatchObject({ action: 'keep', requests: 'no-data-young' });
    expect(staging(report, 'old')).toMatchObject({ action: 'warn', requests: 'none-in-window' });
    expect(world.published.map((p) => p.staging)).toEqual(['old']);
  });

  test('requests to the target group count as activity', async () => {
    world.addStack({ name: 'used', createdAgo: 10 * DAY });
    world.addStack({ name: 'used-long-ago', createdAgo: 10 * DAY });
    world.request('used', 5 * HOUR, 3);
    world.request('used-long-ago', 2 * DAY + 20 * HOUR, 3);
    const report = await run();
    expect(staging(report, 'used')).toMatchObject({ action: 'keep', requests: 'seen', lastActivitySource: 'request', lastActivity: new Date(NOW - 4 * HOUR).toISOString() });
    expect(staging(report, 'used-long-ago')).toMatchObject({ action: 'warn', requests: 'seen' });
  });

  test('LastUpdatedTime missing: the creation time counts', async () => {
    world.addStack({ name: 'never-updated', createdAgo: 4 * DAY });
    world.addStack({ name: 'updated', createdAgo: 40 * DAY, updatedAgo: DAY });
    const report = await run();
    expect(staging(report, 'never-updated')).toMatchObject({ action: 'warn', lastActivitySource: 'stack-created', lastActivity: new Date(NOW - 4 * DAY).toISOString() });
    expect(staging(report, 'updated')).toMatchObject({ action: 'keep', lastActivitySource: 'stack-updated', requests: 'not-queried' });
  });

  test('a keep-alive counts as activity', async () => {
    world.addStack({ name: 'kept-alive', createdAgo: 10 * DAY });
    world.param('/staging/keep-alive/kept-alive', new Date(NOW - HOUR).toISOString());
    const report = await run();
    expect(staging(report, 'kept-alive')).toMatchObject({ action: 'keep', lastActivitySource: 'keep-alive' });
  });

  test('a stack without the target group outputs is judged on its stack and keep-alive times', async () => {
    world.addStack({ name: 'failed-create', createdAgo: 10 * DAY, status: 'ROLLBACK_COMPLETE', outputs: false });
    const report = await run();
    expect(staging(report, 'failed-create')).toMatchObject({ action: 'warn', requests: 'no-target-group' });
  });
});

describe('stack states', () => {
  test.each(['CREATE_IN_PROGRESS', 'UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'DELETE_IN_PROGRESS', 'REVIEW_IN_PROGRESS', 'ROLLBACK_IN_PROGRESS'])(
    'a stack in %s is skipped',
    async (status) => {
      world.addStack({ name: 'busy', createdAgo: 30 * DAY, status });
      world.param(`/staging/sweeper/warned/busy/${Math.floor((NOW - 27 * DAY) / 1000)}`, '{}', 28 * DAY);
      const report = await run();
      expect(staging(report, 'busy')).toMatchObject({ action: 'skip', reason: expect.stringContaining(status) });
      expect(deletedIds()).toEqual([]);
      expect(world.published).toEqual([]);
    },
  );

  test('a DELETE_FAILED stack is reported with its failed resources, once, and not retried by default', async () => {
    world.addStack({ name: 'stuck', createdAgo: 30 * DAY, status: 'DELETE_FAILED' });
    world.resources.set(world.stack('stuck').StackId!, [
      { LogicalResourceId: 'Web', ResourceType: 'AWS::ECS::Service', ResourceStatus: 'DELETE_COMPLETE', LastUpdatedTimestamp: new Date() },
      { LogicalResourceId: 'Sg', PhysicalResourceId: 'sg-0123456789abcdef0', ResourceType: 'AWS::EC2::SecurityGroup', ResourceStatus: 'DELETE_FAILED', ResourceStatusReason: 'has a dependent object', LastUpdatedTimestamp: new Date() },
      { LogicalResourceId: 'Logs', ResourceType: 'AWS::Logs::LogGroup', ResourceStatus: 'DELETE_COMPLETE', LastUpdatedTimestamp: new Date() },
      { LogicalResourceId: 'Db', PhysicalResourceId: 'staging-stuck', ResourceType: 'Custom::StagingDatabase', ResourceStatus: 'DELETE_FAILED', ResourceStatusReason: 'timed out', LastUpdatedTimestamp: new Date() },
    ]);
    const report = await run();
    expect(staging(report, 'stuck')).toMatchObject({
      action: 'report',
      failedResources: [
        { logicalId: 'Sg', physicalId: 'sg-0123456789abcdef0', type: 'AWS::EC2::SecurityGroup', reason: 'has a dependent object' },
        { logicalId: 'Db', physicalId: 'staging-stuck', type: 'Custom::StagingDatabase', reason: 'timed out' },
      ],
    });
    expect(report.counts.failed).toBe(1);
    expect(deletedIds()).toEqual([]);
    expect(world.published).toEqual([expect.objectContaining({ event: 'delete-failed', message: expect.stringMatching(/Sg \(AWS::EC2::SecurityGroup, sg-0123456789abcdef0\): has a dependent object/) })]);

    world.advance(HOUR);
    const again = await run();
    expect(again.counts.failed).toBe(1);
    expect(world.published).toHaveLength(1); // told once, reported every run
  });

  test('with retainResourcesOnDeleteFailed it retries, retaining exactly the failed resources, and lists them', async () => {
    process.env.RETAIN_RESOURCES_ON_DELETE_FAILED = 'true';
    world.addStack({ name: 'stuck', createdAgo: 30 * DAY, status: 'DELETE_FAILED' });
    world.resources.set(world.stack('stuck').StackId!, [
      { LogicalResourceId: 'Sg', PhysicalResourceId: 'sg-0123456789abcdef0', ResourceType: 'AWS::EC2::SecurityGroup', ResourceStatus: 'DELETE_FAILED', LastUpdatedTimestamp: new Date() },
      { LogicalResourceId: 'Web', ResourceType: 'AWS::ECS::Service', ResourceStatus: 'DELETE_COMPLETE', LastUpdatedTimestamp: new Date() },
    ]);
    const report = await run();
    expect(cfn.commandCalls(DeleteStackCommand)[0].args[0].input).toMatchObject({ StackName: world.stack('stuck').StackId, RoleARN: ROLE_ARN, RetainResources: ['Sg'] });
    expect(staging(report, 'stuck')).toMatchObject({ action: 'retry-delete', outcome: 'done', retainedResources: [expect.objectContaining({ logicalId: 'Sg' })] });
    expect(world.published.find((p) => p.event === 'deleting')!.message).toMatch(/Left behind.*\n- Sg \(AWS::EC2::SecurityGroup\): sg-0123456789abcdef0/);

    world.finishDeletions();
    world.advance(HOUR);
    world.published = [];
    const later = await run();
    expect(later.completed).toEqual([expect.objectContaining({ stackName: 'staging-stuck', retainedResources: [expect.objectContaining({ logicalId: 'Sg' })] })]);
    expect(world.published[0].message).toMatch(/sg-0123456789abcdef0/);
    expect(world.state()).toEqual([]);
  });

  test('termination protection is respected', async () => {
    world.addStack({ name: 'protected', createdAgo: 30 * DAY, protect: true });
    const report = await run();
    expect(staging(report, 'protected')).toMatchObject({ action: 'keep', reason: expect.stringMatching(/termination protection/) });
    expect(world.published).toEqual([]);
  });
});

describe('errors on one stack', () => {
  test('a throttled DeleteStack skips that stack, reports it and continues; the next run retries it', async () => {
    for (const n of ['a', 'b', 'c']) world.addStack({ name: n, createdAgo: 10 * DAY });
    await warnThenWait();
    const b = world.stack('b').StackId;
    world.failures.push({ command: 'DeleteStack', when: (i) => i.StackName === b, error: awsError('Throttling', 'Rate exceeded') });

    const report = await run();
    expect(deletedIds().sort()).toEqual([world.stack('a').StackId, b, world.stack('c').StackId].sort());
    expect(world.stack('a').StackStatus).toBe('DELETE_IN_PROGRESS');
    expect(world.stack('b').StackStatus).toBe('CREATE_COMPLETE');
    expect(staging(report, 'b')).toMatchObject({ action: 'delete', outcome: 'failed', error: 'DeleteStack failed: Throttling: Rate exceeded' });
    expect(report.counts).toMatchObject({ deleted: 2, failed: 1 });
    expect(world.state().filter((k) => k.includes('/deleting/b/'))).toEqual([]); // claim released

    world.failures = [];
    world.advance(HOUR);
    cfn.resetHistory();
    await run();
    expect(deletedIds()).toEqual([b]);
  });

  test('a throttled warning claim or a failed metric query skips only those stagings', async () => {
    for (const n of ['a', 'b', 'c']) world.addStack({ name: n, createdAgo: 10 * DAY });
    world.failures.push({ command: 'PutParameter', when: (i) => i.Name.includes('/warned/a/'), error: awsError('ThrottlingException', 'Rate exceeded') });
    const report = await run();
    expect(staging(report, 'a')).toMatchObject({ outcome: 'failed', error: expect.stringMatching(/could not record the warning.*ThrottlingException/) });
    expect(world.published.map((p) => p.staging).sort()).toEqual(['b', 'c']);

    world.failures = [{ command: 'GetMetricData', when: () => true, error: awsError('ThrottlingException', 'Rate exceeded') }];
    world.advance(HOUR);
    const next = await run();
    expect(next.stagings.every((s) => s.action === 'skip' && s.outcome === 'failed')).toBe(true);
    expect(next.counts.failed).toBe(3);
    expect(deletedIds()).toEqual([]);
  });

  test('a warning SNS could not deliver is forgotten, so the next run warns again before any deletion', async () => {
    world.addStack({ name: 'a', createdAgo: 10 * DAY });
    world.failures.push({ command: 'PublishBatch', when: () => true, error: awsError('KMSAccessDeniedException', 'no key access') });
    const report = await run();
    expect(staging(report, 'a')).toMatchObject({ action: 'warn', outcome: 'failed' });
    expect(report.counts).toMatchObject({ warned: 0, failed: 1 });
    expect(world.state()).toEqual([]);

    world.failures = [];
    world.advance(2 * DAY);
    const next = await run();
    expect(staging(next, 'a')).toMatchObject({ action: 'warn', outcome: 'done' });
    expect(deletedIds()).toEqual([]);
  });

  test('when the stacks cannot be listed the run fails and changes nothing', async () => {
    world.addStack({ name: 'a', createdAgo: 10 * DAY });
    world.failures.push({ command: 'DescribeStacks', when: (i) => !!i.NextToken || true, error: awsError('AccessDenied', 'not allowed') });
    await expect(run()).rejects.toThrow(/could not list the stacks \(cloudformation:DescribeStacks\): AccessDenied: not allowed\. It changed nothing/);
    expect(mutatingCalls()).toBe(0);
  });

  test('when the pins cannot be read the run fails and deletes nothing', async () => {
    world.addStack({ name: 'a', createdAgo: 10 * DAY });
    await warnThenWait();
    world.failures.push({ command: 'GetParametersByPath', when: (i) => i.Path === '/staging/pins', error: awsError('ThrottlingException') });
    await expect(run()).rejects.toThrow(/could not read the pins under \/staging\/pins/);
    expect(deletedIds()).toEqual([]);
  });
});

describe('pagination', () => {
  test('several pages of stacks, pins and metrics', async () => {
    world.stackPageSize = 2;
    world.metricPointsPerPage = 3;
    for (let i = 0; i < 7; i++) world.addStack({ name: `s${i}`, createdAgo: 10 * DAY });
    for (let i = 0; i < 25; i++) world.param(`/staging/pins/other-${String(i).padStart(2, '0')}`, '2026-12-24');
    world.param('/staging/pins/s6', '2026-12-24'); // on the third page of pins
    // Several data points per target group, so one query's data spans pages; s5's only request is on a late page.
    for (let i = 0; i < 5; i++) for (let h = 0; h < 4; h++) world.request(`s${i}`, (2 * DAY + 20 * HOUR) + h * HOUR);
    world.request('s5', 3 * HOUR);

    const report = await run();
    expect(cfn.commandCalls(DescribeStacksCommand)).toHaveLength(4);
    expect(ssm.commandCalls(GetParametersByPathCommand).filter((c) => c.args[0].input.Path === '/staging/pins')).toHaveLength(3);
    expect(cw.commandCalls(GetMetricDataCommand).length).toBeGreaterThan(3);
    expect(report.counts.scanned).toBe(7);
    expect(staging(report, 's6')).toMatchObject({ action: 'keep', pinnedUntil: '2026-12-25T00:00:00.000Z' });
    expect(staging(report, 's5')).toMatchObject({ action: 'keep', requests: 'seen', lastActivity: new Date(NOW - 2 * HOUR).toISOString() });
    for (let i = 0; i < 5; i++) expect(staging(report, `s${i}`)).toMatchObject({ action: 'warn', requests: 'seen', lastActivity: new Date(NOW - 2 * DAY - 19 * HOUR).toISOString() });
  });

  test('GetMetricData takes at most 500 target groups per call', async () => {
    for (let i = 0; i < 501; i++) world.addStack({ name: `s${i}`, createdAgo: 10 * DAY });
    world.addStack({ name: 'fresh', createdAgo: HOUR });
    await run({ dryRun: true });
    const calls = cw.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input.MetricDataQueries!.length);
    expect(calls).toEqual([500, 1]); // the fresh stack needs no query
  });
});

describe('warnings', () => {
  test('warns once per deadline, then deletes after the warning period, then tells and cleans up', async () => {
    world.addStack({ name: 'idle', createdAgo: 10 * DAY, branch: 'feature/idle+2Bthing' });
    const first = await run();
    expect(staging(first, 'idle')).toMatchObject({ action: 'warn', outcome: 'done', deleteAt: new Date(NOW + DAY).toISOString() });
    expect(world.published).toHaveLength(1);
    const warning = world.published[0];
    expect(warning.subject).toBe('Staging idle will be deleted 2026-05-11');
    expect(warning.message).toContain('Branch:        feature/idle+thing');
    expect(warning.message).toContain('URL:           https://idle.staging.example.com');
    expect(warning.message).toContain(`Last activity: ${new Date(NOW - 10 * DAY).toISOString()} (stack created)`);
    expect(warning.message).toContain('Deletion at:   2026-05-11T12:00:00.000Z');
    expect(warning.message).toContain('aws ssm put-parameter --region eu-west-1 --type String --overwrite --name "/staging/pins/idle" --value "2026-05-25"');

    for (let h = 1; h <= 23; h++) {
      world.advance(HOUR);
      const r = await run();
      expect(staging(r, 'idle')).toMatchObject({ action: 'keep', deleteAt: new Date(NOW + DAY).toISOString() });
    }
    expect(world.published).toHaveLength(1);
    expect(deletedIds()).toEqual([]);

    world.advance(HOUR);
    const due = await run();
    expect(staging(due, 'idle')).toMatchObject({ action: 'delete', outcome: 'done' });
    expect(deletedIds()).toEqual([world.stack('idle').StackId]);
    expect(world.published.map((p) => p.event)).toEqual(['warning', 'deleting']);

    world.advance(HOUR);
    const inProgress = await run();
    expect(staging(inProgress, 'idle')).toMatchObject({ action: 'skip' });

    world.finishDeletions();
    world.advance(HOUR);
    const after = await run();
    expect(after.completed).toEqual([expect.objectContaining({ stagingName: 'idle', outcome: 'done', branch: 'feature/idle+thing' })]);
    expect(world.published.map((p) => p.event)).toEqual(['warning', 'deleting', 'deleted']);
    expect(world.published[2].message).toMatch(/has been deleted[\s\S]*stack staging-idle/);
    expect(world.state()).toEqual([]);
    expect(deletedIds()).toHaveLength(1);
  });

  test('a late first warning still gives the full warning period', async () => {
    world.addStack({ name: 'long-idle', createdAgo: 60 * DAY });
    const report = await run();
    expect(staging(report, 'long-idle')).toMatchObject({ action: 'warn', idleAt: new Date(NOW - 57 * DAY).toISOString(), deleteAt: new Date(NOW + DAY).toISOString() });
    world.advance(DAY - HOUR);
    await run();
    expect(deletedIds()).toEqual([]);
  });

  test('new activity moves the deadline: the old warning is withdrawn and the new deadline warned once', async () => {
    world.addStack({ name: 'revived', createdAgo: 10 * DAY });
    await run();
    const firstState = world.state();
    world.advance(12 * HOUR);
    world.request('revived', 0);
    await run();
    expect(world.state()).toEqual([]); // active again: warning withdrawn
    world.advance(2 * DAY + 2 * HOUR);
    world.published = [];
    const report = await run();
    expect(staging(report, 'revived')).toMatchObject({ action: 'warn', lastActivitySource: 'request' });
    expect(world.published).toHaveLength(1);
    expect(world.state()).not.toEqual(firstState);
    world.advance(DAY - 2 * HOUR);
    await run();
    expect(deletedIds()).toEqual([]);
  });

  test('emits scanned, idle, warned, deleted and failed in one PutMetricData call per run', async () => {
    world.addStack({ name: 'a', createdAgo: 10 * DAY });
    world.addStack({ name: 'b', createdAgo: HOUR });
    await run();
    const calls = cw.commandCalls(PutMetricDataCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0].args[0].input;
    expect(input.Namespace).toBe('CdkMultiStaging/StagingSweeper');
    expect(Object.fromEntries(input.MetricData!.map((m) => [m.MetricName, m.Value]))).toEqual({ Scanned: 2, Idle: 1, Warned: 1, Deleted: 0, Failed: 0, Pinned: 0 });
    expect(input.MetricData!.every((m) => m.Dimensions?.[0]?.Name === 'Prefix' && m.Dimensions[0].Value === 'staging')).toBe(true);
  });
});

describe('concurrent runs', () => {
  test('two runs at once warn each staging once and issue one delete per stack', async () => {
    for (let i = 0; i < 12; i++) world.addStack({ name: `c${i}`, createdAgo: 10 * DAY });
    await Promise.all([run(), run(), run()]);
    expect(world.published.filter((p) => p.event === 'warning').map((p) => p.staging).sort()).toEqual(
      Array.from({ length: 12 }, (_, i) => `c${i}`).sort(),
    );

    world.advance(DAY + HOUR);
    const reports = await Promise.all([run(), run(), run()]);
    const ids = deletedIds();
    expect(ids).toHaveLength(12);
    expect(new Set(ids).size).toBe(12);
    const outcomes = reports.flatMap((r) => r.stagings.map((s) => s.outcome));
    expect(outcomes.filter((o) => o === 'done')).toHaveLength(12);
    expect(outcomes.filter((o) => o === 'claimed-elsewhere')).toHaveLength(24);
  });

  test('a claim left by a crashed run is taken over once it is stale', async () => {
    world.addStack({ name: 'crashed', createdAgo: 10 * DAY });
    await warnThenWait();
    const uuid = world.stack('crashed').StackId!.split('/').at(-1);
    world.param(`/staging/sweeper/deleting/crashed/${uuid}/1`, '{}', 5 * 60_000);
    const fresh = await run();
    expect(staging(fresh, 'crashed')).toMatchObject({ action: 'delete', outcome: 'claimed-elsewhere' });
    expect(deletedIds()).toEqual([]);

    world.advance(HOUR);
    await run();
    expect(cfn.commandCalls(DeleteStackCommand)[0].args[0].input.ClientRequestToken).toBe(`sweeper-${uuid}-2`);
  });
});

describe('the warning protocol: what a warning says is what happens', () => {
  /** Lets a run that will never finish get as far as it can. */
  async function settle(): Promise<void> {
    for (let i = 0; i < 50; i++) await tick();
  }
  const warnedParams = () => world.state().filter((k) => k.includes('/warned/'));
  const record = (name: string) => JSON.parse(world.params.get(name)!.value);

  test('a warning counts once SNS accepted it: claimed, published, then marked delivered with the activity it rests on', async () => {
    world.addStack({ name: 'idle', createdAgo: 10 * DAY });
    await run();
    expect(warnedParams()).toHaveLength(1);
    expect(record(warnedParams()[0])).toEqual({
      stackId: world.stack('idle').StackId,
      claimedAt: new Date(NOW).toISOString(),
      deleteAt: new Date(NOW + DAY).toISOString(),
      lastActivity: new Date(NOW - 10 * DAY).toISOString(),
      lastActivitySource: 'stack-created',
      deliveredAt: new Date(NOW).toISOString(),
    });
    const puts = ssm.commandCalls(PutParameterCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => [p.Name, p.Overwrite])).toEqual([
      [warnedParams()[0], false], // the claim
      [warnedParams()[0], true], // delivered, after PublishBatch
    ]);
    expect(JSON.parse(puts[0].Value!).deliveredAt).toBeUndefined();
  });

  test('a run killed between recording a warning and publishing it: the next run does not delete, it warns afresh', async () => {
    world.addStack({ name: 'idle', createdAgo: 10 * DAY });
    world.deaths.push({ command: 'PublishBatch', when: () => true });
    void run(); // dies in PublishBatch: the claim is written, nothing is published, nothing marked
    await settle();
    expect(warnedParams()).toHaveLength(1);
    expect(record(warnedParams()[0]).deliveredAt).toBeUndefined();
    expect(world.published).toEqual([]);
    world.deaths = [];

    // Within the function timeout the claim may still be in flight: nobody else warns.
    world.advance(5 * 60_000);
    const meanwhile = await run();
    expect(staging(meanwhile, 'idle')).toMatchObject({ action: 'keep', reason: expect.stringMatching(/may still be sending it/) });
    expect(world.published).toEqual([]);

    // Past the announced deletion time: no warning was ever delivered, so no deletion; warned afresh.
    world.advance(DAY + HOUR);
    const next = await run();
    expect(deletedIds()).toEqual([]);
    expect(staging(next, 'idle')).toMatchObject({ action: 'warn', outcome: 'done', deleteAt: new Date(world.now + DAY).toISOString(), reason: expect.stringMatching(/never marked delivered.*withdrawn/) });
    expect(world.published.map((p) => p.event)).toEqual(['warning']);
    expect(world.published[0].message).toContain(`Deletion at:   ${new Date(world.now + DAY).toISOString()}`);
    expect(record(warnedParams()[0]).deliveredAt).toBeDefined();

    // The fresh warning's period runs its full length, then the staging goes.
    world.advance(DAY - HOUR);
    await run();
    expect(deletedIds()).toEqual([]);
    world.advance(HOUR);
    await run();
    expect(deletedIds()).toEqual([world.stack('idle').StackId]);
  });

  test('a run killed after SNS accepted the warning but before marking it delivered: warned again, never deleted unwarned', async () => {
    world.addStack({ name: 'idle', createdAgo: 10 * DAY });
    world.deaths.push({ command: 'PutParameter', when: (i) => i.Overwrite === true });
    void run();
    await settle();
    expect(world.published.map((p) => p.event)).toEqual(['warning']);
    world.deaths = [];

    world.advance(DAY + HOUR);
    const next = await run();
    expect(deletedIds()).toEqual([]);
    expect(staging(next, 'idle')).toMatchObject({ action: 'warn', outcome: 'done' });
    expect(world.published.map((p) => p.event)).toEqual(['warning', 'warning']);
  });

  test('marking a warning delivered fails: reported as a failure, and the warning does not count', async () => {
    world.addStack({ name: 'idle', createdAgo: 10 * DAY });
    world.failures.push({ command: 'PutParameter', when: (i) => i.Overwrite === true, error: awsError('ThrottlingException', 'Rate exceeded') });
    const report = await run();
    expect(staging(report, 'idle')).toMatchObject({ action: 'warn', outcome: 'failed', error: expect.stringMatching(/SNS accepted the warning but marking it delivered failed.*ThrottlingException.*15 minutes old/) });
    expect(report.counts).toMatchObject({ warned: 0, failed: 1 });
    world.failures = [];
    world.advance(DAY + HOUR);
    await run();
    expect(deletedIds()).toEqual([]);
  });

  test('a staging whose last activity was a request that ages out of the query window: one warning, deleted at the announced time', async () => {
    world.addStack({ name: 'used', createdAgo: 10 * DAY });
    // The last request, in the hour that ends 2 days ago: idle deadline tomorrow at this time.
    world.request('used', 2 * DAY + 30 * 60_000);
    const first = await run();
    expect(staging(first, 'used')).toMatchObject({ action: 'warn', lastActivitySource: 'request', lastActivity: new Date(NOW - 2 * DAY).toISOString(), deleteAt: new Date(NOW + DAY).toISOString() });

    for (let h = 1; h < 24; h++) {
      world.advance(HOUR);
      const r = await run();
      expect(staging(r, 'used')).toMatchObject({ action: 'keep', deleteAt: new Date(NOW + DAY).toISOString() });
    }
    // Now the request has left the RequestCount window; the warning's recorded activity has not.
    world.advance(HOUR);
    const due = await run();
    const window = cw.commandCalls(GetMetricDataCommand).at(-1)!.args[0].input;
    expect(window.MetricDataQueries).toHaveLength(1);
    expect(window.StartTime!.getTime()).toBeGreaterThan(NOW - 2 * DAY - 30 * 60_000); // the request is outside it
    expect(staging(due, 'used')).toMatchObject({ action: 'delete', outcome: 'done', lastActivitySource: 'request', lastActivity: new Date(NOW - 2 * DAY).toISOString() });
    expect(deletedIds()).toEqual([world.stack('used').StackId]);
    expect(world.published.map((p) => p.event)).toEqual(['warning', 'deleting']);
  });

  test('the reserved name "shared" is never deleted, whatever its tags say', async () => {
    const shared = world.addStack({ name: 'shared', createdAgo: 90 * DAY, kind: 'feature' });
    world.param(`/staging/sweeper/warned/shared/${Math.floor((NOW - 87 * DAY) / 1000)}`, deliveredWarning(shared, NOW - 5 * DAY, NOW - 4 * DAY), 5 * DAY);
    await warnThenWait();
    const report = await run();
    expect(report.stagings).toEqual([]);
    expect(report.ignored).toEqual([{ stackName: 'staging-shared', reason: expect.stringMatching(/reserved staging name/) }]);
    expect(deletedIds()).toEqual([]);
    expect(world.published).toEqual([]);
  });

  test('DeleteStack answering "does not exist" is a deletion, not a failure', async () => {
    world.addStack({ name: 'gone', createdAgo: 10 * DAY });
    await warnThenWait();
    const id = world.stack('gone').StackId!;
    cfn.on(DeleteStackCommand).callsFake(async () => {
      world.stack('gone').StackStatus = 'DELETE_COMPLETE'; // someone else deleted it meanwhile
      throw awsError('ValidationError', `Stack [${id}] does not exist`);
    });
    const report = await run();
    expect(staging(report, 'gone')).toMatchObject({ action: 'delete', outcome: 'done', reason: expect.stringMatching(/does not exist: it is gone already/) });
    expect(report.counts).toMatchObject({ deleted: 1, failed: 0 });
    const metrics = cw.commandCalls(PutMetricDataCommand).at(-1)!.args[0].input.MetricData!;
    expect(metrics.find((m) => m.MetricName === 'Failed')!.Value).toBe(0);

    world.advance(HOUR);
    const after = await run();
    expect(after.completed).toEqual([expect.objectContaining({ stagingName: 'gone', outcome: 'done' })]);
    expect(world.state()).toEqual([]);
  });

  test('another ValidationError of DeleteStack is still a failure', async () => {
    world.addStack({ name: 'odd', createdAgo: 10 * DAY });
    await warnThenWait();
    world.failures.push({ command: 'DeleteStack', when: () => true, error: awsError('ValidationError', 'Role arn:aws:iam::123456789012:role/x is invalid or cannot be assumed') });
    const report = await run();
    expect(staging(report, 'odd')).toMatchObject({ outcome: 'failed', error: expect.stringMatching(/cannot be assumed/) });
    expect(report.counts.failed).toBe(1);
  });
});

describe('invocation fails closed', () => {
  test.each([{ DryRun: true }, { dry_run: true }, { dryrun: true }])('%j is refused before any call, naming "dryRun"', async (event) => {
    world.addStack({ name: 'due', createdAgo: 10 * DAY });
    await expect(run(event)).rejects.toThrow(/did nothing: unknown key "(DryRun|dry_run|dryrun)" \(did you mean "dryRun"\?\)/);
    const calls = [cfn, ssm, cw, sns].reduce((n, c) => n + c.calls().length, 0);
    expect(calls).toBe(0);
  });

  test.each([undefined, '', 'yes'])('DRY_RUN=%j refuses to run', async (value) => {
    world.addStack({ name: 'due', createdAgo: 10 * DAY });
    process.env.DRY_RUN = value;
    if (value === undefined) delete process.env.DRY_RUN;
    await expect(run()).rejects.toThrow(/misconfigured and did nothing: environment variable DRY_RUN must be "true" or "false"/);
    expect([cfn, ssm, cw, sns].reduce((n, c) => n + c.calls().length, 0)).toBe(0);
  });

  test('the schedule\'s full EventBridge event runs the sweeper', async () => {
    world.addStack({ name: 'idle', createdAgo: 10 * DAY });
    const report = await run(SCHEDULED_EVENT);
    expect(report.dryRun).toBe(false);
    expect(world.published.map((p) => p.event)).toEqual(['warning']);
  });
});
