/**
 * The sweeper's handler (lambda/sweeper) against moto's server: it lists the stacks and the
 * pins, keep-alives and its own state (CloudFormation DescribeStacks, SSM GetParametersByPath),
 * reads the request counts (CloudWatch GetMetricData), claims and records its warnings and
 * deletions (SSM PutParameter with Overwrite=false), publishes (SNS PublishBatch), deletes the
 * idle stack by its id with the deletion role (CloudFormation DeleteStack) and publishes its
 * run's metrics (CloudWatch PutMetricData). The idle timeout is 3 seconds and the warning period
 * 1.5 seconds, so the runs happen in real time with the real clock. test/lambda/sweeper.test.ts
 * runs the same paths against aws-sdk-client-mock.
 *
 * Where moto differs from AWS:
 * - GetMetricData answers without data points (no ALB here counts requests): every staging's
 *   activity is its stack's creation or a keep-alive.
 * - DeleteStack finishes at once (DELETE_COMPLETE); the role passed as RoleARN is not assumed.
 * - SNS accepts PublishBatch to a topic without subscribers and delivers nothing.
 */
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { SweeperEnvironment as Env } from '../../lib/contract/sweeper';
import { MOTO_ACCOUNT, describeWithMoto } from './moto-server';
import { BranchWorld, PARAMETER_PREFIX, PREFIX, clients, createStack, parameters, seedBranch, seedShared } from './seed';

type Sweeper = typeof import('../../lambda/sweeper/index');
type Report = Awaited<ReturnType<Sweeper['handler']>>;

const NAMESPACE = 'CdkMultiStaging/Test';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeWithMoto('the sweeper against moto', () => {
  let sweeper: Sweeper;
  const saved = { ...process.env };

  beforeAll(async () => {
    sweeper = await import('../../lambda/sweeper/index');
  });
  afterAll(() => {
    for (const key of Object.values(Env)) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  });

  const actions = (r: Report) => Object.fromEntries(r.stagings.map((s) => [s.branch, `${s.action}/${s.outcome}`]));
  const stackStatus = async (id: string) => (await clients().cloudformation.send(new DescribeStacksCommand({ StackName: id }))).Stacks![0].StackStatus;
  const keepAlive = (b: BranchWorld) =>
    clients().ssm.send(new PutParameterCommand({ Name: `${PARAMETER_PREFIX}/keep-alive/${b.name}`, Value: new Date().toISOString(), Type: 'String', Overwrite: true }));

  test('dry run, then a run that warns, then one that deletes the idle staging by its id; pinned, active and foreign stacks stay', async () => {
    const topic = await new SNSClient({}).send(new CreateTopicCommand({ Name: 'staging-sweeper' }));
    Object.assign(process.env, {
      [Env.STAGING_PREFIX]: PREFIX,
      [Env.PARAMETER_PREFIX]: PARAMETER_PREFIX,
      [Env.IDLE_TIMEOUT_SECONDS]: '3',
      [Env.WARNING_PERIOD_SECONDS]: '1.5',
      [Env.RUN_TIMEOUT_SECONDS]: '60',
      [Env.DRY_RUN]: 'false',
      [Env.TOPIC_ARN]: topic.TopicArn!,
      [Env.DELETION_ROLE_ARN]: `arn:aws:iam::${MOTO_ACCOUNT}:role/staging-sweeper-deletion`,
      [Env.ACCOUNT_ID]: MOTO_ACCOUNT,
      [Env.METRIC_NAMESPACE]: NAMESPACE,
    });
    const shared = await seedShared();
    const idle = await seedBranch(shared, 'feature/idle');
    const pinned = await seedBranch(shared, 'feature/pinned', { kind: 'feature-lite' });
    const active = await seedBranch(shared, 'feature/active');
    const foreign = await createStack(`${PREFIX}-tools`, [], {});
    await clients().ssm.send(new PutParameterCommand({ Name: `${PARAMETER_PREFIX}/pins/${pinned.name}`, Value: '2099-12-31', Type: 'String' }));
    await sleep(3500);

    // A dry run: what it would do, and no state, metric or deletion.
    await keepAlive(active);
    const dry = await sweeper.handler({ dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(actions(dry)).toEqual({ 'feature/idle': 'warn/dry-run', 'feature/pinned': 'keep/done', 'feature/active': 'keep/done' });
    expect(dry.ignored.map((i) => i.stackName)).toContain(`${PREFIX}-tools`);
    expect([...(await parameters(`${PARAMETER_PREFIX}/sweeper`)).keys()]).toEqual([]);
    expect((await new CloudWatchClient({}).send(new ListMetricsCommand({ Namespace: NAMESPACE }))).Metrics).toEqual([]);

    // The first real run warns: its claim is recorded, and its metrics are published.
    await keepAlive(active);
    const first = await sweeper.handler({});
    expect(actions(first)).toEqual({ 'feature/idle': 'warn/done', 'feature/pinned': 'keep/done', 'feature/active': 'keep/done' });
    expect(first.counts).toMatchObject({ scanned: 3, warned: 1, deleted: 0, failed: 0, pinned: 1 });
    expect(first.problems).toEqual([]);
    const state = await parameters(PARAMETER_PREFIX);
    const warned = [...state.keys()].filter((n) => n.startsWith(`${PARAMETER_PREFIX}/sweeper/`));
    expect(warned).toHaveLength(1);
    expect(JSON.parse(state.get(warned[0])!)).toMatchObject({ stackId: idle.stackId });
    const metrics = (await new CloudWatchClient({}).send(new ListMetricsCommand({ Namespace: NAMESPACE }))).Metrics!.map((m) => m.MetricName).sort();
    expect(metrics.length).toBeGreaterThan(0);

    // After the warning period, the next run deletes it, by its stack id.
    await sleep(1600);
    await keepAlive(active);
    const second = await sweeper.handler({});
    expect(actions(second)).toEqual({ 'feature/idle': 'delete/done', 'feature/pinned': 'keep/done', 'feature/active': 'keep/done' });
    expect(second.counts).toMatchObject({ deleted: 1, failed: 0 });
    expect(await stackStatus(idle.stackId)).toBe('DELETE_COMPLETE');
    for (const kept of [pinned.stackId, active.stackId, foreign, shared.sharedStackId]) expect(await stackStatus(kept)).toBe('CREATE_COMPLETE');

    // The run after reports the finished deletion and forgets its state for it.
    await keepAlive(active);
    const third = await sweeper.handler({});
    expect(third.completed.map((c) => c.stagingName)).toEqual([idle.name]);
    expect([...(await parameters(PARAMETER_PREFIX)).keys()].filter((n) => n.includes(idle.name))).toEqual([]);
  });
});
