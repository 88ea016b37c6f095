/**
 * The waker and the sleeper (lambda/waker) against moto's server: real SDK requests meet moto's
 * validation and state. A deploy records the branch (Custom::StagingSleep), the sleeper's round
 * puts an idle branch to sleep (state parameter, rule weights to the waker, schedule off, services
 * at 0), stops its database later, a browser's request wakes it (claim, database, services), and
 * the next round moves the rule back once a target is healthy. Manual sleep and wake, and the
 * provider's Delete, too. The same paths run against aws-sdk-client-mock in test/lambda/waker.test.ts.
 *
 * Where moto differs from AWS, and what these tests do about it:
 * - Lambda target groups hold no Lambda here (moto's Lambda needs Docker): the waker's handler is
 *   called directly with the ALB event the load balancer would send.
 * - A registered target is `healthy` at once (AWS: `initial`, then health checks). The test
 *   registers one to stand for the started task; moto runs no tasks.
 * - RDS StopDBInstance / StartDBInstance change the status at once to `stopped` / `available`
 *   (AWS: `stopping` / `starting` for minutes).
 * - CloudWatch GetMetricData answers without data points: no requests were counted.
 * - ECS CreateService with awsvpc networking crashes in moto (HTTP 500, KeyError) when
 *   `securityGroups` is left out, which AWS allows; the seed passes one, as the stacks do.
 */
import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { DescribeRulesCommand, RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { GetScheduleCommand } from '@aws-sdk/client-scheduler';
import { GetParameterCommand, GetParametersByPathCommand } from '@aws-sdk/client-ssm';
import type { ALBEvent } from 'aws-lambda';
import type { OnEventRequest } from '../../lambda/shared/provider';
import { describeWithMoto } from './moto-server';
import { BranchWorld, PARAMETER_PREFIX, SharedWorld, clients, parameters, seedBranch, seedShared, sleepProperties } from './seed';

type Waker = typeof import('../../lambda/waker/index');

const MINUTE = 60_000;
const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0' };
const CURL = { accept: '*/*', 'user-agent': 'curl/8.5.0' };

describeWithMoto('the waker and the sleeper against moto', () => {
  let waker: Waker;
  let shared: SharedWorld;
  let b: BranchWorld;
  const saved = { PARAMETER_PREFIX: process.env.PARAMETER_PREFIX, WAKER_TARGET_GROUP_ARN: process.env.WAKER_TARGET_GROUP_ARN, STAGING_ACCESS: process.env.STAGING_ACCESS };

  beforeAll(async () => {
    // The handler's clients are made when its module loads: after process.env points at moto.
    waker = await import('../../lambda/waker/index');
  });
  afterAll(() => {
    Object.assign(process.env, saved);
  });
  beforeEach(async () => {
    shared = await seedShared();
    b = await seedBranch(shared, 'feature/sleepy', { database: true });
    process.env.PARAMETER_PREFIX = PARAMETER_PREFIX;
    process.env.WAKER_TARGET_GROUP_ARN = shared.wakerTargetGroupArn;
    // StagingAccess.publicAccess(): these requests carry no sign-in (the lock itself: test/lambda/waker.test.ts).
    process.env.STAGING_ACCESS = JSON.stringify({ signIn: 'none', networks: [], publicPaths: [], public: true });
    waker.clock.now = () => Date.now();
  });

  const event = (type: 'Create' | 'Delete', props: Record<string, unknown>): OnEventRequest => ({
    RequestType: type,
    StackId: b.stackId,
    RequestId: `r-${type}`,
    LogicalResourceId: 'StagingBranchSleep',
    ResourceType: 'Custom::StagingSleep',
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:waker-provider',
    ResponseURL: 'https://example.com/response',
    ResourceProperties: { ServiceToken: 'x', ...props },
    ...(type === 'Delete' ? { PhysicalResourceId: `${PARAMETER_PREFIX}/sleep-config/${b.name}` } : {}),
  } as OnEventRequest);

  const request = (headers: Record<string, string>): ALBEvent => ({
    httpMethod: 'GET',
    path: '/',
    headers: { host: `${b.name}.staging.example.com`, ...headers },
    queryStringParameters: {},
    body: '',
    isBase64Encoded: false,
    requestContext: { elb: { targetGroupArn: shared.wakerTargetGroupArn } },
  } as ALBEvent);

  async function desiredCounts(): Promise<number[]> {
    const out = await clients().ecs.send(new DescribeServicesCommand({ cluster: shared.clusterArn, services: b.services }));
    return b.services.map((s) => out.services!.find((x) => x.serviceName === s)!.desiredCount!);
  }
  async function weights(): Promise<Record<'branch' | 'waker', number>> {
    const rule = (await clients().elbv2.send(new DescribeRulesCommand({ RuleArns: [b.ruleArn] }))).Rules![0];
    const groups = rule.Actions![0].ForwardConfig!.TargetGroups!;
    return { branch: groups.find((g) => g.TargetGroupArn === b.targetGroupArn)!.Weight!, waker: groups.find((g) => g.TargetGroupArn === shared.wakerTargetGroupArn)!.Weight! };
  }
  async function state(): Promise<Record<string, any>> {
    return JSON.parse((await clients().ssm.send(new GetParameterCommand({ Name: `${PARAMETER_PREFIX}/sleep/${b.name}` }))).Parameter!.Value!);
  }
  const scheduleState = async () => (await clients().scheduler.send(new GetScheduleCommand({ Name: b.schedule }))).State;
  const databaseStatus = async () => (await clients().rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: b.databaseInstanceId }))).DBInstances![0].DBInstanceStatus;

  test('a deploy records the config and the awake state; isComplete is done at once', async () => {
    const props = sleepProperties(shared, b, { stopDatabaseAfterMinutes: 30 });
    const out = await waker.onEvent(event('Create', props));
    expect(out).toEqual({ PhysicalResourceId: `${PARAMETER_PREFIX}/sleep-config/${b.name}`, Data: { StateParameter: `${PARAMETER_PREFIX}/sleep/${b.name}` } });
    const config = JSON.parse((await clients().ssm.send(new GetParameterCommand({ Name: `${PARAMETER_PREFIX}/sleep-config/${b.name}` }))).Parameter!.Value!);
    expect(config).toMatchObject({ stagingName: b.name, ruleArn: b.ruleArn, services: b.services.map((name) => ({ name, desiredCount: 1 })), databaseInstanceId: b.databaseInstanceId });
    expect(await state()).toMatchObject({ state: 'awake', reason: 'deploy' });
    expect(await waker.isComplete({ ...event('Create', props), PhysicalResourceId: out.PhysicalResourceId } as any)).toEqual({ IsComplete: true });
  });

  test('idle: the round sleeps the branch, a later round stops its database; a browser wakes it, the next round routes back', async () => {
    await waker.onEvent(event('Create', sleepProperties(shared, b, { sleepAfterMinutes: 60, stopDatabaseAfterMinutes: 30 })));
    const t0 = Date.now();
    expect(await weights()).toEqual({ branch: 1, waker: 0 });

    // 2 hours without a request (moto's GetMetricData has no data points): asleep.
    waker.clock.now = () => t0 + 120 * MINUTE;
    const round = await waker.onSchedule({});
    expect('decisions' in round && round.decisions.map((d) => d.action)).toEqual(['sleep']);
    expect(await state()).toMatchObject({ state: 'sleeping', reason: 'idle', desiredCounts: Object.fromEntries(b.services.map((s) => [s, 1])) });
    expect(await weights()).toEqual({ branch: 0, waker: 1 });
    expect(await scheduleState()).toBe('DISABLED');
    expect(await desiredCounts()).toEqual([0, 0]);
    expect(await databaseStatus()).toBe('available');

    // 40 minutes asleep: the database stops.
    waker.clock.now = () => t0 + 160 * MINUTE;
    const later = await waker.onSchedule({});
    expect('decisions' in later && later.decisions.map((d) => d.action)).toEqual(['stop-database']);
    expect(await databaseStatus()).toBe('stopped');
    expect(await state()).toMatchObject({ state: 'sleeping', databaseStopped: true });

    // curl gets 503 and Retry-After; the request still starts the wake (it is not a link previewer).
    waker.clock.now = () => t0 + 200 * MINUTE;
    const api = await waker.onRequest(request(CURL));
    expect(api.statusCode).toBe(503);
    expect(api.headers?.['Retry-After'] ?? api.headers?.['retry-after']).toBeDefined();
    expect(await state()).toMatchObject({ state: 'waking' });
    // The database starts first (moto: `available` at once); the services once it is up.
    expect(await databaseStatus()).toBe('available');
    const page = await waker.onRequest(request(BROWSER));
    expect(page.statusCode).toBe(200);
    expect(page.headers?.['Content-Type'] ?? page.headers?.['content-type']).toMatch(/text\/html/);
    expect(await desiredCounts()).toEqual([1, 1]);
    expect(await weights()).toEqual({ branch: 0, waker: 1 });
    const keepAlive = await clients().ssm.send(new GetParameterCommand({ Name: `${PARAMETER_PREFIX}/keep-alive/${b.name}` }));
    expect(Date.parse(keepAlive.Parameter!.Value!)).toBe(t0 + 200 * MINUTE);

    // No healthy target yet: the round waits. Once the task's IP is healthy, the rule moves back.
    waker.clock.now = () => t0 + 201 * MINUTE;
    await waker.onSchedule({});
    expect(await weights()).toEqual({ branch: 0, waker: 1 });
    await clients().elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: b.targetGroupArn, Targets: [{ Id: '10.0.0.10', Port: 80 }] }));
    waker.clock.now = () => t0 + 202 * MINUTE;
    const woke = await waker.onSchedule({});
    expect('decisions' in woke && woke.decisions.map((d) => d.action)).toEqual(['advance-wake']);
    expect(await weights()).toEqual({ branch: 1, waker: 0 });
    expect(await scheduleState()).toBe('ENABLED');
    expect(await state()).toMatchObject({ state: 'awake' });
    // The one wake of that sleep was claimed once.
    const claims = await clients().ssm.send(new GetParametersByPathCommand({ Path: `${PARAMETER_PREFIX}/sleep-claims/${b.name}`, Recursive: true }));
    expect(claims.Parameters).toHaveLength(1);
  });

  test('manual sleep and wake ({"sleep": name}, {"wake": name}); repeating either changes nothing', async () => {
    await waker.onEvent(event('Create', sleepProperties(shared, b)));
    await clients().elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: b.targetGroupArn, Targets: [{ Id: '10.0.0.11', Port: 80 }] }));
    expect(await waker.onSchedule({ sleep: b.name })).toMatchObject({ action: 'sleep', state: 'sleeping', changed: true });
    expect(await desiredCounts()).toEqual([0, 0]);
    expect(await weights()).toEqual({ branch: 0, waker: 1 });
    expect(await waker.onSchedule({ sleep: b.name })).toMatchObject({ changed: false });
    // A healthy target is registered: the wake finishes in one step.
    expect(await waker.onSchedule({ wake: b.name })).toMatchObject({ action: 'wake', state: 'awake', changed: true });
    expect(await desiredCounts()).toEqual([1, 1]);
    expect(await weights()).toEqual({ branch: 1, waker: 0 });
    expect(await waker.onSchedule({ wake: b.name })).toMatchObject({ changed: false });
    await expect(waker.onSchedule({ wake: 'feature-nope-00000000' })).rejects.toThrow(/No branch staging "feature-nope-00000000" to wake/);
  });

  test('a deploy of a sleeping branch wakes it: the Update marks it waking, isComplete scales up and routes back once a target is healthy', async () => {
    const props = sleepProperties(shared, b);
    const created = await waker.onEvent(event('Create', props));
    await waker.onSchedule({ sleep: b.name });
    expect(await desiredCounts()).toEqual([0, 0]);
    const update = { ...event('Create', props), RequestType: 'Update', PhysicalResourceId: created.PhysicalResourceId, OldResourceProperties: props } as OnEventRequest;
    expect(await waker.onEvent(update)).toEqual(created);
    expect(await state()).toMatchObject({ state: 'waking', reason: 'deploy' });
    expect(await waker.isComplete(update as any)).toEqual({ IsComplete: false });
    expect(await desiredCounts()).toEqual([1, 1]);
    expect(await weights()).toEqual({ branch: 0, waker: 1 });
    await clients().elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: b.targetGroupArn, Targets: [{ Id: '10.0.0.12', Port: 80 }] }));
    expect(await waker.isComplete(update as any)).toEqual({ IsComplete: true });
    expect(await weights()).toEqual({ branch: 1, waker: 0 });
    expect(await scheduleState()).toBe('ENABLED');
    expect(await state()).toMatchObject({ state: 'awake' });
  });

  test('the provider\'s Delete removes every parameter the waker wrote for the branch', async () => {
    const props = sleepProperties(shared, b);
    await waker.onEvent(event('Create', props));
    await waker.onSchedule({ sleep: b.name });
    await waker.onRequest(request(BROWSER));
    const ofBranch = async () => [...(await parameters(PARAMETER_PREFIX)).keys()].filter((n) => n.includes(b.name)).sort();
    // config, state, keep-alive and the claim of the wake the request started
    expect((await ofBranch()).map((n) => n.slice(PARAMETER_PREFIX.length + 1).split('/')[0]).sort()).toEqual(['keep-alive', 'sleep', 'sleep-claims', 'sleep-config']);
    await waker.onEvent(event('Delete', props));
    expect(await ofBranch()).toEqual([]);
  });
});
