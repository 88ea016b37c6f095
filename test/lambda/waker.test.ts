import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DescribeRulesCommand, DescribeTargetHealthCommand, ElasticLoadBalancingV2Client, ModifyRuleCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeDBInstancesCommand, RDSClient, StartDBInstanceCommand, StopDBInstanceCommand } from '@aws-sdk/client-rds';
import { GetScheduleCommand, SchedulerClient, UpdateScheduleCommand } from '@aws-sdk/client-scheduler';
import { DeleteParametersCommand, GetParametersByPathCommand, GetParametersCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { ALBEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { clock, configFromProperties, isComplete, onEvent, onRequest, onSchedule } from '../../lambda/waker/index';
import type { SleepConfig } from '../../lambda/waker/model';
import type { OnEventRequest } from '../../lambda/shared/provider';

const ssm = mockClient(SSMClient);
const ecs = mockClient(ECSClient);
const elb = mockClient(ElasticLoadBalancingV2Client);
const rds = mockClient(RDSClient);
const sched = mockClient(SchedulerClient);
const cfn = mockClient(CloudFormationClient);
const cw = mockClient(CloudWatchClient);

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 11, 1, 20, 0, 0);
const PREFIX = '/staging';
const NAME = 'feature-new-cool-page-1a2b3c4d';
const HOST = `${NAME}.staging.example.com`;
const ACCOUNT = '123456789012';
const RULE = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:listener-rule/app/staging/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee`;
const BRANCH_TG = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:targetgroup/staging-feat-web/73e2d6bc24d8a067`;
const WAKER_TG = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:targetgroup/staging-waker/0123456789abcdef`;
const WEB = 'staging-feature-new-cool-page-1a2b3c4d-Web-AbCd';
const WORKER = 'staging-feature-new-cool-page-1a2b3c4d-Worker-EfGh';
const SCHEDULE = 'staging-feature-new-cool-page-1a2b3c4d-Nightly-IjKl';
const DB = 'staging-feature-new-cool-page-1a2b3c4d';

const PROPERTIES = {
  StagingName: NAME,
  Branch: 'feature/new_cool_page',
  StackName: `staging-${NAME}`,
  ClusterArn: `arn:aws:ecs:eu-west-1:${ACCOUNT}:cluster/staging`,
  WebServiceName: WEB,
  Services: [
    { Name: WEB, DesiredCount: '1' },
    { Name: WORKER, DesiredCount: '1' },
  ],
  TargetGroupArn: BRANCH_TG,
  TargetGroupFullName: 'targetgroup/staging-feat-web/73e2d6bc24d8a067',
  LoadBalancerFullName: 'app/staging/50dc6c495c0c9188',
  RuleArn: RULE,
  Schedules: [SCHEDULE],
  SleepAfterMinutes: '60',
  StopDatabaseAfterMinutes: '0',
  TaskDefinitions: ['arn:aws:ecs:eu-west-1:123456789012:task-definition/staging-x-web:3'],
};

function awsError(name: string): Error {
  return Object.assign(new Error(name), { name, $metadata: {} });
}

/**
 * A small simulated AWS: SSM parameters with real Overwrite=false semantics (so concurrent
 * requests race for the claim), ECS desired counts, target health, the rule's weights, one
 * schedule and, optionally, an RDS instance.
 */
class World {
  params = new Map<string, { value: string; modified: number }>();
  desired: Record<string, number> = { [WEB]: 1, [WORKER]: 1 };
  healthy = 1;
  weights: Record<string, number> = { [BRANCH_TG]: 1, [WAKER_TG]: 0 };
  scheduleState = 'ENABLED';
  database?: string;
  stack = { StackName: `staging-${NAME}`, StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(NOW - 2 * DAY), LastUpdatedTime: new Date(NOW - 3 * HOUR) };
  requestAt?: number;
  /** Every mutating call, in order. */
  calls: string[] = [];

  constructor(config: Partial<SleepConfig> = {}) {
    this.put(`${PREFIX}/sleep-config/${NAME}`, JSON.stringify({ ...configFromProperties(PROPERTIES), ...config }), NOW - 3 * HOUR);
  }

  put(name: string, value: string, at = clock.now()): void {
    this.params.set(name, { value, modified: at });
  }

  state(): any {
    const p = this.params.get(`${PREFIX}/sleep/${NAME}`);
    return p && JSON.parse(p.value);
  }

  install(): void {
    ssm.on(GetParametersCommand).callsFake((input) => ({
      Parameters: (input.Names as string[])
        .filter((n) => this.params.has(n))
        .map((n) => ({ Name: n, Value: this.params.get(n)!.value, LastModifiedDate: new Date(this.params.get(n)!.modified) })),
    }));
    // Pages of MaxResults (at most 10), as SSM serves them.
    ssm.on(GetParametersByPathCommand).callsFake((input) => {
      const all = [...this.params.entries()]
        .filter(([n]) => n.startsWith(`${input.Path}/`) && (input.Recursive || !n.slice(input.Path.length + 1).includes('/')))
        .map(([n, p]) => ({ Name: n, Value: p.value }));
      const size = Math.min(input.MaxResults ?? 10, 10);
      const start = input.NextToken ? Number(input.NextToken) : 0;
      return { Parameters: all.slice(start, start + size), NextToken: start + size < all.length ? String(start + size) : undefined };
    });
    ssm.on(PutParameterCommand).callsFake((input) => {
      if (!input.Overwrite && this.params.has(input.Name)) throw awsError('ParameterAlreadyExists');
      this.put(input.Name, input.Value);
      this.calls.push(`ssm:put ${input.Name.slice(PREFIX.length + 1).split('/')[0]}`);
      return {};
    });
    ssm.on(DeleteParametersCommand).callsFake((input) => {
      for (const n of input.Names) this.params.delete(n);
      this.calls.push('ssm:delete');
      return {};
    });
    ecs.on(DescribeServicesCommand).callsFake((input) => ({
      services: (input.services as string[]).map((s) => ({ serviceName: s, status: 'ACTIVE', desiredCount: this.desired[s] })),
    }));
    ecs.on(UpdateServiceCommand).callsFake((input) => {
      this.desired[input.service] = input.desiredCount;
      this.calls.push(`ecs:scale ${input.service === WEB ? 'web' : 'worker'}=${input.desiredCount}`);
      return {};
    });
    elb.on(DescribeTargetHealthCommand).callsFake(() => ({
      TargetHealthDescriptions: Array.from({ length: this.healthy }, () => ({ TargetHealth: { State: 'healthy' } })),
    }));
    elb.on(DescribeRulesCommand).callsFake(() => ({
      Rules: [
        {
          RuleArn: RULE,
          Priority: '7',
          Actions: [{ Type: 'forward', ForwardConfig: { TargetGroups: Object.entries(this.weights).map(([TargetGroupArn, Weight]) => ({ TargetGroupArn, Weight })) } }],
        },
      ],
    }));
    elb.on(ModifyRuleCommand).callsFake((input) => {
      for (const g of input.Actions[0].ForwardConfig.TargetGroups) this.weights[g.TargetGroupArn] = g.Weight;
      this.calls.push(`elb:route ${this.weights[WAKER_TG] > 0 ? 'waker' : 'branch'}`);
      return {};
    });
    sched.on(GetScheduleCommand).callsFake(() => ({ Name: SCHEDULE, State: this.scheduleState, ScheduleExpression: 'cron(0 3 * * ? *)', FlexibleTimeWindow: { Mode: 'OFF' }, Target: { Arn: 'x', RoleArn: 'y' } }));
    sched.on(UpdateScheduleCommand).callsFake((input) => {
      this.scheduleState = input.State;
      this.calls.push(`scheduler:${input.State}`);
      return {};
    });
    rds.on(DescribeDBInstancesCommand).callsFake(() => ({ DBInstances: [{ DBInstanceIdentifier: DB, DBInstanceStatus: this.database }] }));
    rds.on(StartDBInstanceCommand).callsFake(() => {
      this.database = 'starting';
      this.calls.push('rds:start');
      return {};
    });
    rds.on(StopDBInstanceCommand).callsFake(() => {
      this.database = 'stopping';
      this.calls.push('rds:stop');
      return {};
    });
    cfn.on(DescribeStacksCommand).callsFake(() => ({ Stacks: [this.stack] }));
    cw.on(GetMetricDataCommand).callsFake((input) => ({
      MetricDataResults: input.MetricDataQueries.map((q: { Id: string }) => ({
        Id: q.Id,
        StatusCode: 'Complete',
        Timestamps: this.requestAt ? [new Date(this.requestAt)] : [],
        Values: this.requestAt ? [3] : [],
      })),
    }));
  }

  /** The state a sleep leaves behind. */
  asleep(sinceAgo = 2 * HOUR, extra: Record<string, unknown> = {}): this {
    this.put(`${PREFIX}/sleep/${NAME}`, JSON.stringify({ state: 'sleeping', since: new Date(NOW - sinceAgo).toISOString(), desiredCounts: { [WEB]: 2, [WORKER]: 1 }, reason: 'idle', ...extra }));
    this.desired = { [WEB]: 0, [WORKER]: 0 };
    this.healthy = 0;
    this.weights = { [BRANCH_TG]: 0, [WAKER_TG]: 1 };
    this.scheduleState = 'DISABLED';
    return this;
  }
}

function request(headers: Record<string, string>, method = 'GET'): ALBEvent {
  return {
    httpMethod: method,
    path: '/products/42',
    headers: { host: HOST, ...headers },
    queryStringParameters: {},
    body: '',
    isBase64Encoded: false,
    requestContext: { elb: { targetGroupArn: WAKER_TG } },
  } as ALBEvent;
}

const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0' };
const CURL = { accept: '*/*', 'user-agent': 'curl/8.5.0' };
const SLACK = { accept: '*/*', 'user-agent': 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)' };

function cfnEvent(type: 'Create' | 'Update' | 'Delete'): OnEventRequest {
  return {
    RequestType: type,
    StackId: `arn:aws:cloudformation:eu-west-1:${ACCOUNT}:stack/staging-${NAME}/1`,
    RequestId: 'r1',
    LogicalResourceId: 'StagingBranchSleep',
    ResourceType: 'Custom::StagingSleep',
    PhysicalResourceId: type === 'Create' ? undefined : `${PREFIX}/sleep-config/${NAME}`,
    ResourceProperties: PROPERTIES,
    OldResourceProperties: type === 'Update' ? PROPERTIES : undefined,
  };
}

let world: World;
const realNow = clock.now;

beforeEach(() => {
  for (const m of [ssm, ecs, elb, rds, sched, cfn, cw]) m.reset();
  clock.now = () => NOW;
  process.env.PARAMETER_PREFIX = PREFIX;
  process.env.WAKER_TARGET_GROUP_ARN = WAKER_TG;
  process.env.STAGING_ACCESS = JSON.stringify({ signIn: 'none', networks: [], publicPaths: [], public: true });
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  jest.spyOn(console, 'error').mockImplementation(() => undefined);
  world = new World();
  world.install();
});

afterEach(() => {
  clock.now = realNow;
  jest.restoreAllMocks();
});

describe('sleep', () => {
  test('an awake branch idle for sleepAfter goes to sleep: state first, then the rule, then schedules and services', async () => {
    world.put(`${PREFIX}/sleep/${NAME}`, JSON.stringify({ state: 'awake', since: new Date(NOW - 5 * HOUR).toISOString() }));
    world.desired = { [WEB]: 2, [WORKER]: 1 };
    const report = await onSchedule();
    expect(report.decisions).toEqual([expect.objectContaining({ stagingName: NAME, action: 'sleep' })]);
    expect(world.calls).toEqual(['ssm:put sleep', 'elb:route waker', 'scheduler:DISABLED', 'ecs:scale web=0', 'ecs:scale worker=0']);
    expect(world.state()).toEqual({ state: 'sleeping', since: new Date(NOW).toISOString(), desiredCounts: { [WEB]: 2, [WORKER]: 1 }, reason: 'idle' });
    // The branch's target group stays in the rule at weight 0, so ECS keeps accepting the service.
    expect(world.weights).toEqual({ [BRANCH_TG]: 0, [WAKER_TG]: 1 });
  });

  test.each([
    ['a request 20 minutes ago', (w: World) => (w.requestAt = NOW - 20 * MINUTE)],
    ['a keep-alive 10 minutes ago (e.g. a visit that only saw the waking page)', (w: World) => w.put(`${PREFIX}/keep-alive/${NAME}`, new Date(NOW - 10 * MINUTE).toISOString())],
    ['a deploy 30 minutes ago', (w: World) => (w.stack.LastUpdatedTime = new Date(NOW - 30 * MINUTE))],
    ['a pin until today', (w: World) => w.put(`${PREFIX}/pins/${NAME}`, '2026-12-01')],
    ['a wake 15 minutes ago', (w: World) => w.put(`${PREFIX}/sleep/${NAME}`, JSON.stringify({ state: 'awake', since: new Date(NOW - 15 * MINUTE).toISOString() }))],
  ])('%s keeps it awake', async (_what, setup) => {
    setup(world);
    const report = await onSchedule();
    expect(report.decisions[0].action).toBe('none');
    expect(world.calls).toEqual([]);
  });

  test('a round reads every page of the configs (SSM serves 10 a page)', async () => {
    for (let i = 0; i < 11; i++) {
      world.put(`${PREFIX}/sleep-config/other-${i}`, JSON.stringify({ ...configFromProperties(PROPERTIES), stagingName: `other-${i}`, sleepAfterMinutes: 0 }));
    }
    const report = await onSchedule();
    expect(report.decisions).toHaveLength(12);
    // Two pages (the paginator reuses its input object, so the calls' tokens cannot be told apart afterwards).
    expect(ssm.commandCalls(GetParametersByPathCommand).filter((c) => c.args[0].input.Path === `${PREFIX}/sleep-config`)).toHaveLength(2);
  });

  test('an unreadable pin keeps it awake (fail closed, as the sweeper does) and is reported; an expired one does not', async () => {
    world.put(`${PREFIX}/sleep/${NAME}`, JSON.stringify({ state: 'awake', since: new Date(NOW - 5 * HOUR).toISOString() }));
    world.put(`${PREFIX}/pins/${NAME}`, '2026-11-31');
    const report = await onSchedule();
    expect(report.decisions[0]).toMatchObject({ action: 'none', reason: 'unreadable pin: kept awake (fail closed)' });
    expect(report.problems).toEqual([expect.stringMatching(new RegExp(`^the pin ${PREFIX}/pins/${NAME} has the value "2026-11-31", which is not a date`))]);
    expect(world.calls).toEqual([]);
    world.put(`${PREFIX}/pins/${NAME}`, '2026-11-30');
    expect((await onSchedule()).decisions[0].action).toBe('sleep');
  });

  test('an unreadable keep-alive is reported; a rolled-over date is not read as one', async () => {
    world.put(`${PREFIX}/sleep/${NAME}`, JSON.stringify({ state: 'awake', since: new Date(NOW - 5 * HOUR).toISOString() }));
    world.put(`${PREFIX}/keep-alive/${NAME}`, '2026-11-31T19:50:00Z');
    const report = await onSchedule();
    expect(report.problems).toEqual([expect.stringMatching(/keep-alive\/.*is not an ISO-8601 timestamp/)]);
    expect(report.decisions[0].action).toBe('sleep');
  });

  test('a branch with sleepAfter 0 never sleeps; a stack being deployed is left to the deploy', async () => {
    world.put(`${PREFIX}/sleep-config/${NAME}`, JSON.stringify({ ...configFromProperties(PROPERTIES), sleepAfterMinutes: 0 }));
    expect((await onSchedule()).decisions[0]).toMatchObject({ action: 'none', reason: 'sleep is off for this branch' });
    world.put(`${PREFIX}/sleep-config/${NAME}`, JSON.stringify(configFromProperties(PROPERTIES)));
    world.stack.StackStatus = 'UPDATE_IN_PROGRESS';
    expect((await onSchedule()).decisions[0]).toMatchObject({ action: 'none' });
    expect(world.calls).toEqual([]);
  });
});

describe('wake on request', () => {
  test('a browser wakes a sleeping branch: one claim, recorded counts, and the waking page', async () => {
    world.asleep();
    const response = await onRequest(request(BROWSER));
    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({ 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    expect(response.body).toContain(NAME);
    expect(response.body).toContain('feature/new_cool_page');
    expect(response.body).toMatch(/<meta http-equiv="refresh" content="5">/);
    expect(world.calls).toEqual(['ssm:put keep-alive', 'ssm:put sleep-claims', 'ssm:put sleep', 'ecs:scale web=2', 'ecs:scale worker=1']);
    expect(world.state()).toMatchObject({ state: 'waking', since: new Date(NOW).toISOString(), reason: 'request' });
    // The rule stays on the waker until a web target is healthy.
    expect(world.weights[WAKER_TG]).toBe(1);
  });

  describe('behind a sign-in (the stagings\' lock)', () => {
    const oidcLock = (extra: Record<string, unknown> = {}) =>
      JSON.stringify({
        signIn: 'oidc',
        oidc: { issuer: 'https://idp.example.com', authorizationEndpoint: 'https://idp.example.com/a', tokenEndpoint: 'https://idp.example.com/t', userInfoEndpoint: 'https://idp.example.com/u', clientId: 'c', clientSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:s', scope: 'openid' },
        networks: ['203.0.113.0/24'],
        publicPaths: [],
        public: false,
        ...extra,
      });
    beforeEach(() => (process.env.STAGING_ACCESS = oidcLock()));

    test('a request without sign-in never wakes a staging: 403, no keep-alive, no claim, nothing scaled', async () => {
      world.asleep();
      for (const headers of [BROWSER, CURL, { ...BROWSER, 'x-forwarded-for': '198.51.100.7' }, { ...CURL, 'x-staging-automation': 'guess' }]) {
        const response = await onRequest(request(headers));
        expect(response.statusCode).toBe(403);
        expect(response.body).toMatch(/Sign in/);
      }
      expect(world.calls).toEqual([]);
      expect(world.state().state).toBe('sleeping');
    });

    test('a signed-in browser (the load balancer\'s x-amzn-oidc-data) wakes it', async () => {
      world.asleep();
      const response = await onRequest(request({ ...BROWSER, 'x-amzn-oidc-data': 'eyJ.signed.by-the-alb' }));
      expect(response.statusCode).toBe(200);
      expect(world.state().state).toBe('waking');
    });

    test('a request from an allowed network wakes it (the client address the load balancer appends last)', async () => {
      world.asleep();
      await onRequest(request({ ...CURL, 'x-forwarded-for': '10.9.9.9, 203.0.113.40' }));
      expect(world.state().state).toBe('waking');
    });

    test('the automation header wakes it only where the lock says it may', async () => {
      world.asleep();
      process.env.STAGING_ACCESS = oidcLock({ automation: { headerName: 'x-staging-automation', tokenSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:t', wakes: true } });
      await onRequest(request({ ...CURL, 'x-staging-automation': 'the-token' }));
      expect(world.state().state).toBe('waking');
    });

    test('an unreadable lock wakes nothing', async () => {
      world.asleep();
      process.env.STAGING_ACCESS = '{not json';
      expect((await onRequest(request({ ...BROWSER, 'x-amzn-oidc-data': 'x' }))).statusCode).toBe(403);
      expect(world.state().state).toBe('sleeping');
    });
  });

  test('the waking page counts as activity for the sweeper: it writes the keep-alive, at most once a minute', async () => {
    world.asleep();
    await onRequest(request(BROWSER));
    expect(world.params.get(`${PREFIX}/keep-alive/${NAME}`)?.value).toBe(new Date(NOW).toISOString());
    world.calls = [];
    clock.now = () => NOW + 20_000;
    await onRequest(request(BROWSER));
    expect(world.calls.filter((c) => c.includes('keep-alive'))).toEqual([]);
  });

  test('other clients get 503 with Retry-After and wake it too', async () => {
    world.asleep();
    const response = await onRequest(request(CURL));
    expect(response.statusCode).toBe(503);
    expect(Number(response.headers!['Retry-After'])).toBeGreaterThanOrEqual(5);
    expect(response.headers!['Cache-Control']).toBe('no-store');
    expect(world.state().state).toBe('waking');
  });

  test('link previewers get the page without waking anything or counting as activity', async () => {
    world.asleep();
    const response = await onRequest(request(SLACK));
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('is asleep');
    expect(response.body).not.toContain('http-equiv="refresh"');
    expect(world.calls).toEqual([]);
  });

  test('many requests at once start the branch exactly once', async () => {
    world.asleep();
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => onRequest(request(i % 2 ? BROWSER : CURL))));
    expect(world.calls.filter((c) => c === 'ssm:put sleep-claims')).toHaveLength(1);
    expect(world.calls.filter((c) => c.startsWith('ecs:scale web'))).toEqual(['ecs:scale web=2']);
    expect(responses.map((r) => r.statusCode).sort()).toEqual([...Array(10).fill(200), ...Array(10).fill(503)]);
  });

  test('a wake while already waking moves it on: nothing restarts; once healthy the rule and schedules come back', async () => {
    world.asleep();
    await onRequest(request(BROWSER));
    world.calls = [];
    clock.now = () => NOW + 30_000;
    // Still starting: no new claim, no scaling, the page again.
    expect((await onRequest(request(BROWSER))).statusCode).toBe(200);
    expect(world.calls).toEqual([]);
    // Healthy: the rule moves back, the schedules resume, the state says awake.
    clock.now = () => NOW + 120_000;
    world.healthy = 1;
    await onRequest(request(CURL));
    expect(world.calls).toEqual(['ssm:put keep-alive', 'scheduler:ENABLED', 'elb:route branch', 'ssm:put sleep']);
    expect(world.weights).toEqual({ [BRANCH_TG]: 1, [WAKER_TG]: 0 });
    expect(world.state()).toMatchObject({ state: 'awake', since: new Date(NOW + 120_000).toISOString() });
  });

  test('a wake nobody watches is finished by the sleeper', async () => {
    world.asleep();
    await onRequest(request(CURL));
    world.healthy = 1;
    world.calls = [];
    const report = await onSchedule();
    expect(report.decisions[0].action).toBe('advance-wake');
    expect(world.calls).toEqual(['scheduler:ENABLED', 'elb:route branch', 'ssm:put sleep']);
  });

  test('a wake that finds no healthy web target in 30 minutes is given up: back to sleep, the next visit tries again', async () => {
    world.asleep();
    await onRequest(request(BROWSER));
    clock.now = () => NOW + 31 * MINUTE;
    world.calls = [];
    const report = await onSchedule();
    expect(report.decisions[0]).toMatchObject({ action: 'sleep', reason: expect.stringMatching(/waking for 31 minutes/) });
    // The rule is still on the waker and the schedules still off: only the services scale in.
    expect(world.calls).toEqual(['ssm:put sleep', 'ecs:scale web=0', 'ecs:scale worker=0']);
    expect(world.state()).toMatchObject({ state: 'sleeping', reason: 'wake-gave-up', desiredCounts: { [WEB]: 2, [WORKER]: 1 } });
    world.calls = [];
    await onRequest(request(BROWSER));
    expect(world.calls).toEqual(['ssm:put keep-alive', 'ssm:put sleep-claims', 'ssm:put sleep', 'ecs:scale web=2', 'ecs:scale worker=1']);
  });

  test('an unknown host gets 404', async () => {
    const response = await onRequest({ ...request(BROWSER), headers: { ...BROWSER, host: 'nothing-here.staging.example.com' } });
    expect(response.statusCode).toBe(404);
  });
});

describe('deploys (Custom::StagingSleep)', () => {
  test('a first deploy records the config and the state awake', async () => {
    world.params.clear();
    const out = await onEvent(cfnEvent('Create'));
    expect(out.PhysicalResourceId).toBe(`${PREFIX}/sleep-config/${NAME}`);
    expect(world.state()).toMatchObject({ state: 'awake', reason: 'deploy' });
    expect(await isComplete({ ...cfnEvent('Create'), ...out })).toEqual({ IsComplete: true });
  });

  test('a deploy during sleep ends awake: template counts, a healthy target, then the rule', async () => {
    world.asleep();
    const out = await onEvent(cfnEvent('Update'));
    expect(world.state()).toMatchObject({ state: 'waking', reason: 'deploy' });
    // The template's counts, not the recorded ones: a deploy says what should run.
    expect(await isComplete({ ...cfnEvent('Update'), ...out })).toEqual({ IsComplete: false });
    expect(world.desired).toEqual({ [WEB]: 1, [WORKER]: 1 });
    expect(world.weights[WAKER_TG]).toBe(1);
    world.healthy = 1;
    expect(await isComplete({ ...cfnEvent('Update'), ...out })).toEqual({ IsComplete: true });
    expect(world.weights).toEqual({ [BRANCH_TG]: 1, [WAKER_TG]: 0 });
    expect(world.scheduleState).toBe('ENABLED');
    expect(world.state().state).toBe('awake');
  });

  test('delete removes the config, the state, the claims and the keep-alive visits wrote; a replay finds nothing and succeeds', async () => {
    world.asleep();
    await onRequest(request(BROWSER));
    expect(world.params.has(`${PREFIX}/keep-alive/${NAME}`)).toBe(true);
    await onEvent(cfnEvent('Delete'));
    expect([...world.params.keys()].filter((k) => k.includes('/sleep') || k.includes('/keep-alive'))).toEqual([]);
    await expect(onEvent(cfnEvent('Delete'))).resolves.toBeDefined();
  });
});

describe('stagings on several shards (each names its shard\'s waker target group)', () => {
  const SHARD_WAKER_TG = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:targetgroup/staging-waker-2/fedcba9876543210`;
  const SHARD_LB = 'app/stagi-LoadB-Shard2/fedcba9876543210';
  const SHARD_PROPERTIES = { ...PROPERTIES, WakerTargetGroupArn: SHARD_WAKER_TG, LoadBalancerFullName: SHARD_LB };

  beforeEach(() => {
    world = new World({ wakerTargetGroupArn: SHARD_WAKER_TG, loadBalancerFullName: SHARD_LB });
    world.weights = { [BRANCH_TG]: 1, [SHARD_WAKER_TG]: 0 };
    world.install();
  });

  test('the sleeper sends an idle branch to its own shard\'s waker, reading its requests on its own load balancer', async () => {
    world.put(`${PREFIX}/sleep/${NAME}`, JSON.stringify({ state: 'awake', since: new Date(NOW - 5 * HOUR).toISOString() }));
    const report = await onSchedule();
    expect(report.decisions).toEqual([expect.objectContaining({ stagingName: NAME, action: 'sleep' })]);
    // Shard 0's waker (the environment) is never named in the rule.
    expect(world.weights).toEqual({ [BRANCH_TG]: 0, [SHARD_WAKER_TG]: 1 });
    const queries = cw.commandCalls(GetMetricDataCommand).flatMap((c) => c.args[0].input.MetricDataQueries ?? []);
    const dimensions = queries.flatMap((q) => q.MetricStat?.Metric?.Dimensions ?? []).filter((d) => d.Name === 'LoadBalancer');
    expect(dimensions.map((d) => d.Value)).toEqual(expect.arrayContaining([SHARD_LB]));
    expect(dimensions.map((d) => d.Value)).not.toContain(PROPERTIES.LoadBalancerFullName);
  });

  test('a deploy of a sleeping branch records its shard\'s waker and moves the rule back from it', async () => {
    world.asleep();
    world.weights = { [BRANCH_TG]: 0, [SHARD_WAKER_TG]: 1 };
    const event = { ...cfnEvent('Update'), ResourceProperties: SHARD_PROPERTIES, OldResourceProperties: SHARD_PROPERTIES };
    const out = await onEvent(event);
    expect(JSON.parse(world.params.get(`${PREFIX}/sleep-config/${NAME}`)!.value)).toMatchObject({ wakerTargetGroupArn: SHARD_WAKER_TG, loadBalancerFullName: SHARD_LB });
    world.healthy = 1;
    await isComplete({ ...event, ...out });
    expect(await isComplete({ ...event, ...out })).toEqual({ IsComplete: true });
    expect(world.weights).toEqual({ [BRANCH_TG]: 1, [SHARD_WAKER_TG]: 0 });
  });

  test('`staging sleep` of a branch on shard 2 flips to shard 2\'s waker', async () => {
    world.put(`${PREFIX}/sleep/${NAME}`, JSON.stringify({ state: 'awake', since: new Date(NOW - 5 * HOUR).toISOString() }));
    await onSchedule({ sleep: NAME });
    expect(world.weights).toEqual({ [BRANCH_TG]: 0, [SHARD_WAKER_TG]: 1 });
  });

  test('a config of before shards (no waker target group) still uses shard 0\'s, from the environment', async () => {
    world = new World();
    world.install();
    world.put(`${PREFIX}/sleep/${NAME}`, JSON.stringify({ state: 'awake', since: new Date(NOW - 5 * HOUR).toISOString() }));
    await onSchedule({ sleep: NAME });
    expect(world.weights).toEqual({ [BRANCH_TG]: 0, [WAKER_TG]: 1 });
    delete process.env.WAKER_TARGET_GROUP_ARN;
    await expect(onSchedule({ wake: NAME })).rejects.toThrow(/WAKER_TARGET_GROUP_ARN is not set, and the sleep config of feature-new-cool-page-1a2b3c4d names no waker target group/);
  });
});

describe('the branch database', () => {
  const withDb = { databaseInstanceId: DB, stopDatabaseAfterMinutes: 240 };

  test('is stopped once the branch has slept for stopDatabaseAfter', async () => {
    world = new World(withDb);
    world.install();
    world.asleep(5 * HOUR);
    world.database = 'available';
    await onSchedule();
    expect(world.calls).toEqual(['rds:stop', 'ssm:put sleep']);
    expect(world.state().databaseStopped).toBe(true);
  });

  test('RDS started it by itself after 7 days stopped: the sleeper stops it again', async () => {
    world = new World(withDb);
    world.install();
    world.asleep(8 * DAY, { databaseStopped: true });
    world.stack.LastUpdatedTime = new Date(NOW - 9 * DAY);
    world.database = 'available';
    const report = await onSchedule();
    expect(report.decisions[0]).toMatchObject({ action: 'stop-database', reason: expect.stringMatching(/7 days/) });
    expect(world.calls).toEqual(['rds:stop', 'ssm:put sleep']);
  });

  test('a wake starts a stopped database first and the services only once it is available; the page says it takes longer', async () => {
    world = new World(withDb);
    world.install();
    world.asleep(2 * DAY, { databaseStopped: true });
    world.database = 'stopped';
    const first = await onRequest(request(BROWSER));
    expect(world.calls).toEqual(['ssm:put keep-alive', 'ssm:put sleep-claims', 'ssm:put sleep', 'rds:start']);
    expect(first.body).toMatch(/database is starting too/);
    expect(first.body).toMatch(/about 8 minutes/);
    world.calls = [];
    clock.now = () => NOW + 2 * MINUTE;
    await onRequest(request(BROWSER));
    expect(world.calls).toEqual(['ssm:put keep-alive']);
    world.database = 'available';
    clock.now = () => NOW + 6 * MINUTE;
    await onRequest(request(BROWSER));
    expect(world.calls).toContain('ecs:scale web=2');
  });
});

describe('manual wake and sleep (the sleeper invoked with {"wake": name} or {"sleep": name})', () => {
  const mocks = [ssm, ecs, elb, rds, sched, cfn, cw];

  test('a wake of a sleeping branch: the keep-alive, the claim and the request\'s wake steps; later calls finish it', async () => {
    world.asleep();
    const first = await onSchedule({ wake: NAME });
    expect(first).toEqual({ action: 'wake', stagingName: NAME, branch: 'feature/new_cool_page', state: 'waking', changed: true, reason: 'waking', expectedSeconds: 110 });
    expect(world.calls).toEqual(['ssm:put keep-alive', 'ssm:put sleep-claims', 'ssm:put sleep', 'ecs:scale web=2', 'ecs:scale worker=1']);
    expect(world.state()).toMatchObject({ state: 'waking', reason: 'manual' });
    expect(world.params.get(`${PREFIX}/keep-alive/${NAME}`)?.value).toBe(new Date(NOW).toISOString());
    world.calls = [];
    clock.now = () => NOW + 2 * MINUTE;
    world.healthy = 1;
    expect(await onSchedule({ wake: NAME })).toMatchObject({ state: 'awake', changed: true, reason: 'awake' });
    expect(world.calls).toEqual(['ssm:put keep-alive', 'scheduler:ENABLED', 'elb:route branch', 'ssm:put sleep']);
    // The next round finds fresh activity and leaves it awake.
    world.calls = [];
    clock.now = () => NOW + 7 * MINUTE;
    expect((await onSchedule()).decisions[0]).toMatchObject({ action: 'none' });
    expect(world.calls).toEqual([]);
  });

  test('a wake of an awake branch only counts as activity', async () => {
    world.put(`${PREFIX}/sleep/${NAME}`, JSON.stringify({ state: 'awake', since: new Date(NOW - 5 * HOUR).toISOString() }));
    expect(await onSchedule({ wake: NAME })).toMatchObject({ state: 'awake', changed: false, reason: `already awake since ${new Date(NOW - 5 * HOUR).toISOString()}` });
    expect(world.calls).toEqual(['ssm:put keep-alive']);
    // Without that keep-alive this branch (5 hours idle, sleepAfter 60) would go to sleep now.
    expect((await onSchedule()).decisions[0]).toMatchObject({ action: 'none' });
  });

  test('a sleep of an awake branch: the idle sleep\'s steps with reason manual; a replay changes nothing', async () => {
    world.desired = { [WEB]: 2, [WORKER]: 1 };
    expect(await onSchedule({ sleep: NAME })).toEqual({ action: 'sleep', stagingName: NAME, branch: 'feature/new_cool_page', state: 'sleeping', changed: true, reason: 'asleep' });
    expect(world.calls).toEqual(['ssm:put sleep', 'elb:route waker', 'scheduler:DISABLED', 'ecs:scale web=0', 'ecs:scale worker=0']);
    expect(world.state()).toEqual({ state: 'sleeping', since: new Date(NOW).toISOString(), desiredCounts: { [WEB]: 2, [WORKER]: 1 }, reason: 'manual' });
    world.calls = [];
    expect(await onSchedule({ sleep: NAME })).toMatchObject({ state: 'sleeping', changed: false, reason: `already asleep since ${new Date(NOW).toISOString()}` });
    expect(world.calls).toEqual([]);
    // A visit wakes it as after any sleep, to the counts it had.
    await onRequest(request(BROWSER));
    expect(world.calls).toContain('ecs:scale web=2');
  });

  test('a sleep during a wake stops the wake', async () => {
    world.asleep();
    await onRequest(request(CURL));
    world.calls = [];
    expect(await onSchedule({ sleep: NAME })).toMatchObject({ state: 'sleeping', changed: true, reason: 'the wake was stopped; asleep' });
    expect(world.calls).toEqual(['ssm:put sleep', 'ecs:scale web=0', 'ecs:scale worker=0']);
  });

  test('an unknown staging is refused with the near names, changing nothing', async () => {
    await expect(onSchedule({ wake: 'feature-new-cool-page-1a2b3c4e' })).rejects.toThrow(
      `No branch staging "feature-new-cool-page-1a2b3c4e" to wake: there is no ${PREFIX}/sleep-config/feature-new-cool-page-1a2b3c4e (its stack is not deployed, or is being created). Did you mean "${NAME}"?`,
    );
    await expect(onSchedule({ sleep: 'nothing-like-it-00000000' })).rejects.toThrow(/^No branch staging "nothing-like-it-00000000" to sleep: there is no \S+ \([^)]*\)\.$/);
    expect(world.calls).toEqual([]);
  });

  test.each([
    [{ Wake: NAME }, /unknown key "Wake" \(did you mean "wake"\?\)/],
    [{ wkae: NAME }, /unknown key "wkae" \(did you mean "wake"\?\)/],
    [{ sleep: NAME, force: true }, /unknown key "force" \(the keys are "wake", "sleep"\)/],
    [{ wake: NAME, sleep: NAME }, /give one of "wake" and "sleep", not both/],
    [{ wake: 'feature/new_cool_page' }, /"wake" must be a staging name such as "feature-login-df7c7aeb" \(got "feature\/new_cool_page"\)/],
    [{ sleep: true }, /"sleep" must be a staging name/],
    ['wake', /the event must be a JSON object \(got "wake"\)/],
    [{ source: 'aws.events', 'detail-type': 'Scheduled Event', wake: NAME }, /a scheduled event carries no key "wake"/],
  ])('refuses %j before any AWS call', async (event, message) => {
    await expect(onSchedule(event)).rejects.toThrow(message);
    await expect(onSchedule(event)).rejects.toThrow(/^The sleeper refused the event and did nothing: .*Invoke it with \{"wake": "<staging name>"\}/);
    expect(mocks.map((m) => m.calls().length)).toEqual(mocks.map(() => 0));
  });

  test('the schedule\'s event and {} run the round', async () => {
    world.put(`${PREFIX}/sleep/${NAME}`, JSON.stringify({ state: 'awake', since: new Date(NOW - 5 * HOUR).toISOString() }));
    const scheduled = { version: '0', id: 'a1b2', 'detail-type': 'Scheduled Event', source: 'aws.events', account: ACCOUNT, time: new Date(NOW).toISOString(), region: 'eu-west-1', resources: [], detail: {} };
    expect(await onSchedule(scheduled)).toMatchObject({ decisions: [expect.objectContaining({ action: 'sleep' })] });
    expect(await onSchedule({})).toMatchObject({ decisions: [expect.objectContaining({ action: 'none' })] });
  });
});
