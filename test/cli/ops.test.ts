/** staging wake / sleep / logs / console against aws-sdk-client-mock, with a fake machine (PATH, spawn, HTTP). */
import { spawnSync } from 'node:child_process';
import { CloudFormationClient, DescribeStacksCommand, Stack } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, DescribeLogGroupsCommand, FilterLogEventsCommand, StartLiveTailCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeTasksCommand, ECSClient, ExecuteCommandCommand, ListTasksCommand, Task } from '@aws-sdk/client-ecs';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetParameterCommand, GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { run } from '../../cli/program';
import type { System } from '../../cli/system';
import { fakeIo } from './fake-io';
import { ACCOUNT, LITE, LOGIN, SHARED, denied, stagingStack } from './fixtures';

const cf = mockClient(CloudFormationClient);
const ssm = mockClient(SSMClient);
const lambda = mockClient(LambdaClient);
const ecs = mockClient(ECSClient);
const logs = mockClient(CloudWatchLogsClient);

const NAME = LOGIN.Tags![1].Value!;
const URL = `https://${NAME}.staging.example.com`;
const STATE = `/staging/sleep/${NAME}`;
const payload = (value: unknown) => ({ StatusCode: 200, Payload: new TextEncoder().encode(JSON.stringify(value)) as any });
const invoked = () => lambda.commandCalls(InvokeCommand).map((c) => [c.args[0].input.FunctionName, JSON.parse(new TextDecoder().decode(c.args[0].input.Payload as Uint8Array))]);
const state = (value: string, since = '2026-12-01T12:00:00.000Z') => ({ Parameter: { Name: STATE, Value: JSON.stringify({ state: value, since }) } });

/** A machine whose PATH has `plugins`, whose spawn records its calls, and whose URL answers `statuses` in turn. */
function machine(opts: { plugin?: boolean; statuses?: Array<number | Error>; exitCode?: number } = {}) {
  const spawned: Array<[string, readonly string[]]> = [];
  const requests: Array<Record<string, string>> = [];
  const statuses = [...(opts.statuses ?? [200])];
  const system: System = {
    which: (c) => (opts.plugin && c === 'session-manager-plugin' ? '/usr/local/bin/session-manager-plugin' : undefined),
    spawn: async (c, a) => {
      spawned.push([c, a]);
      return opts.exitCode ?? 0;
    },
    httpStatus: async (_url, headers) => {
      requests.push(headers ?? {});
      const s = statuses.length > 1 ? statuses.shift()! : statuses[0];
      if (s instanceof Error) throw s;
      return s;
    },
  };
  return { system, spawned, requests };
}

async function cli(args: string[], opts: { isTTY?: boolean; m?: ReturnType<typeof machine>; env?: Record<string, string> } = {}) {
  const io = fakeIo({ isTTY: opts.isTTY, system: (opts.m ?? machine()).system, env: opts.env });
  const code = await run(args, io);
  return { code, out: io.out(), err: io.err() };
}

beforeEach(() => {
  for (const m of [cf, ssm, lambda, ecs, logs]) m.reset();
  cf.on(DescribeStacksCommand, {}).resolves({ Stacks: [LOGIN, SHARED, LITE] });
  cf.on(DescribeStacksCommand, { StackName: 'staging-shared' }).resolves({ Stacks: [SHARED] });
  ssm.on(GetParametersByPathCommand).resolves({ Parameters: [] });
});

describe('staging wake', () => {
  const fast = ['--poll-seconds', '0.01'];

  test('invokes the sleeper, then waits (progress on stderr) until the state is awake and the URL answers; piped: the URL', async () => {
    lambda.on(InvokeCommand).resolves(payload({ action: 'wake', stagingName: NAME, branch: 'feature/login', state: 'waking', changed: true, reason: 'waking', expectedSeconds: 130 }));
    ssm.on(GetParameterCommand, { Name: STATE }).resolvesOnce(state('waking')).resolvesOnce(state('awake')).resolves(state('awake'));
    const m = machine({ statuses: [503, 503, 200] });
    const r = await cli(['wake', 'feature/login', ...fast], { m });
    expect(r.code).toBe(0);
    expect(r.out).toBe(`${URL}\n`);
    // The first invocation starts the wake; the check that still finds it waking moves it on.
    expect(invoked()).toEqual([['staging-shared-sleeper', { wake: NAME }], ['staging-shared-sleeper', { wake: NAME }]]);
    expect(r.err).toBe(
      `waking feature/login (${LOGIN.StackName}) via staging-shared-sleeper...\n` +
        'waking: usually about 2m; waiting up to 15 min\n' +
        `  0m: waking, ${URL} answers 503\n` +
        `  0m: awake, ${URL} answers 503\n` +
        `  0m: awake, ${URL} answers 200\n`,
    );
  });

  test('behind a sign-in: the checks move the wake on through the sleeper, and the URL check sends the automation token when given', async () => {
    lambda.on(InvokeCommand).resolves(payload({ action: 'wake', stagingName: NAME, branch: 'feature/login', state: 'waking', changed: true, reason: 'waking', expectedSeconds: 130 }));
    ssm.on(GetParameterCommand, { Name: STATE }).resolvesOnce(state('waking')).resolvesOnce(state('waking')).resolves(state('awake'));
    // Without a token the locked URL answers with the sign-in redirect; the state decides.
    const locked = await cli(['wake', 'feature/login', ...fast], { m: machine({ statuses: [302] }) });
    expect(locked.code).toBe(0);
    expect(invoked()).toHaveLength(3);
    lambda.resetHistory();
    ssm.on(GetParameterCommand, { Name: STATE }).resolvesOnce(state('waking')).resolves(state('awake'));
    const m = machine({ statuses: [503, 200] });
    const withToken = await cli(['wake', 'feature/login', ...fast], { m, env: { STAGING_AUTOMATION_TOKEN: 's3cret', STAGING_AUTOMATION_HEADER: 'X-Preview-Token' } });
    expect(withToken.code).toBe(0);
    expect(m.requests.every((h) => h['x-preview-token'] === 's3cret')).toBe(true);
  });

  test('a terminal gets a sentence; --json the result; --no-wait returns at once', async () => {
    lambda.on(InvokeCommand).resolves(payload({ action: 'wake', stagingName: NAME, branch: 'feature/login', state: 'awake', changed: false, reason: 'already awake since 2026-12-01T09:00:00.000Z' }));
    ssm.on(GetParameterCommand).resolves(state('awake', '2026-12-01T09:00:00.000Z'));
    expect((await cli(['wake', 'feature/login', ...fast], { isTTY: true })).out).toBe(`feature/login is awake: ${URL}\n`);
    expect(JSON.parse((await cli(['wake', 'feature/login', '--json', ...fast])).out)).toEqual({ branch: 'feature/login', name: NAME, url: URL, state: 'awake', changed: false, seconds: 0 });
    lambda.on(InvokeCommand).resolves(payload({ action: 'wake', stagingName: NAME, branch: 'feature/login', state: 'waking', changed: true, reason: 'waking', expectedSeconds: 130 }));
    ssm.resetHistory();
    const r = await cli(['wake', 'feature/login', '--no-wait'], { isTTY: true });
    expect(r.out).toBe('feature/login is waking; it goes on by itself. `staging wake feature/login` waits for it.\n');
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(0);
  });

  test('a wake that gives up (asleep again) and one that takes too long say what to do', async () => {
    lambda.on(InvokeCommand).resolves(payload({ action: 'wake', stagingName: NAME, branch: 'feature/login', state: 'waking', changed: true, reason: 'waking', expectedSeconds: 130 }));
    ssm.on(GetParameterCommand).resolvesOnce(state('waking')).resolves(state('sleeping', '2026-12-01T12:30:00.000Z'));
    const gaveUp = await cli(['wake', 'feature/login', ...fast], { m: machine({ statuses: [new Error('connect ECONNREFUSED')] }) });
    expect(gaveUp.code).toBe(1);
    expect(gaveUp.err).toContain('staging: feature/login went back to sleep before it answered (last seen: sleeping, ');
    expect(gaveUp.err).toContain('See why with `staging logs feature/login --since 1h`');
    ssm.on(GetParameterCommand).resolves(state('waking'));
    const slow = await cli(['wake', 'feature/login', '--timeout', '0.002', ...fast], { m: machine({ statuses: [503] }) });
    expect(slow.code).toBe(1);
    expect(slow.err).toContain(`staging: feature/login is not awake after 0.002 min (last seen: waking, ${URL} answers 503). The wake goes on by itself`);
    expect((await cli(['wake', 'feature/login', '--timeout', 'soon'])).code).toBe(2);
  });

  test('the sleeper\'s refusal, a missing permission, an unknown branch and an old shared stack', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, FunctionError: 'Unhandled', Payload: new TextEncoder().encode(JSON.stringify({ errorType: 'Error', errorMessage: 'No branch staging "x" to wake: there is no /staging/sleep-config/x' })) as any });
    expect((await cli(['wake', 'feature/login'])).err).toBe(`waking feature/login (${LOGIN.StackName}) via staging-shared-sleeper...\nstaging: The sleeper staging-shared-sleeper failed (Unhandled): No branch staging "x" to wake: there is no /staging/sleep-config/x\n`);
    lambda.on(InvokeCommand).rejects(Object.assign(new Error('User: arn:aws:iam::123456789012:user/dev is not authorized to perform: lambda:InvokeFunction'), { name: 'AccessDeniedException' }));
    for (const command of ['wake', 'sleep']) {
      const r = await cli([command, 'feature/login']);
      expect({ command, code: r.code }).toEqual({ command, code: 1 });
      expect(r.err).toContain('staging: Missing permission for lambda:InvokeFunction on staging-shared-sleeper: User: arn:aws:iam::123456789012:user/dev is not authorized');
    }
    expect((await cli(['wake', 'feature/logn'])).err).toBe('staging: No branch staging for "feature/logn" (prefix staging). Did you mean: feature/login? Run `staging list` to see them all.\n');
    cf.on(DescribeStacksCommand, { StackName: 'staging-shared' }).resolves({ Stacks: [{ ...SHARED, Outputs: SHARED.Outputs!.filter((o) => o.OutputKey !== 'SleeperFunctionName') }] });
    expect((await cli(['sleep', 'feature/login'])).err).toContain('staging-shared has no SleeperFunctionName output: it was deployed by an older cdk-multi-staging. Deploy the shared stack again');
  });
});

describe('staging sleep', () => {
  test('invokes the sleeper with {"sleep": name}; a replay says so; --json', async () => {
    lambda.on(InvokeCommand).resolvesOnce(payload({ action: 'sleep', stagingName: NAME, branch: 'feature/login', state: 'sleeping', changed: true, reason: 'asleep' }))
      .resolves(payload({ action: 'sleep', stagingName: NAME, branch: 'feature/login', state: 'sleeping', changed: false, reason: 'already asleep since 2026-12-01T12:00:00.000Z' }));
    const r = await cli(['sleep', 'feature/login']);
    expect(r).toEqual({
      code: 0,
      out: `feature/login is asleep: its services are at 0 and its URL shows the waking page. A visit to ${URL} or \`staging wake feature/login\` wakes it.\n`,
      err: `putting feature/login (${LOGIN.StackName}) to sleep via staging-shared-sleeper...\n`,
    });
    expect(invoked()).toEqual([['staging-shared-sleeper', { sleep: NAME }]]);
    expect((await cli(['sleep', 'feature/login'])).out).toBe(`feature/login was already asleep since 2026-12-01T12:00:00.000Z. A visit to ${URL} or \`staging wake feature/login\` wakes it.\n`);
    expect(JSON.parse((await cli(['sleep', NAME, '--json'])).out)).toMatchObject({ action: 'sleep', stagingName: NAME, state: 'sleeping', changed: false, url: URL });
  });
});

describe('staging logs', () => {
  const group = (service: string) => ({
    logGroupName: `/staging/${NAME}/${service}`,
    arn: `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/staging/${NAME}/${service}:*`,
    logGroupArn: `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/staging/${NAME}/${service}`,
  });
  const at = (s: number) => Date.parse('2026-12-01T11:30:00.000Z') + s * 1000;
  beforeEach(() => {
    logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [group('web'), group('worker')] });
    logs.on(FilterLogEventsCommand, { logGroupName: `/staging/${NAME}/web` })
      .resolves({ events: [{ logStreamName: 'web/app/1a', timestamp: at(1), message: 'GET / 200\n', eventId: '1' }], nextToken: 'web-2' });
    logs.on(FilterLogEventsCommand, { logGroupName: `/staging/${NAME}/web`, nextToken: 'web-2' })
      .resolves({ events: [{ logStreamName: 'web/app/1a', timestamp: at(5), message: 'GET /health 200', eventId: '3' }] });
    logs.on(FilterLogEventsCommand, { logGroupName: `/staging/${NAME}/worker` })
      .resolves({ events: [{ logStreamName: 'worker/app/2b', timestamp: at(3), message: 'job done', eventId: '2' }] });
  });

  test('every service since 1h, merged by time (both pages), each line prefixed with service and time', async () => {
    const r = await cli(['logs', 'feature/login']);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      'web    2026-12-01T11:30:01.000Z GET / 200\n' +
        'worker 2026-12-01T11:30:03.000Z job done\n' +
        'web    2026-12-01T11:30:05.000Z GET /health 200\n',
    );
    expect(r.err).toBe('feature/login: web, worker since 2026-12-01T11:00:00.000Z\n');
    // A colour terminal gets the service in cyan and the time dimmed; a pipe never gets escapes.
    const tty = await cli(['logs', 'feature/login'], { isTTY: true, env: { NO_COLOR: '' } });
    expect(tty.out.split('\n')[0]).toBe('\x1b[36mweb   \x1b[39m \x1b[2m2026-12-01T11:30:01.000Z\x1b[22m GET / 200');
    expect((await cli(['logs', 'feature/login'], { env: { NO_COLOR: '' } })).out).toBe(r.out);
    expect(logs.commandCalls(DescribeLogGroupsCommand)[0].args[0].input).toEqual({ logGroupNamePrefix: `/staging/${NAME}/` });
    expect(logs.commandCalls(FilterLogEventsCommand)[0].args[0].input).toMatchObject({ startTime: Date.parse('2026-12-01T11:00:00.000Z') });
  });

  test('--service, --since, --json lines; a misspelt service lists the near ones; a bad --since is a usage error', async () => {
    const r = await cli(['logs', 'feature/login', '--service', 'worker', '--since', '30m', '--json']);
    expect(r.out.trim().split('\n').map((l) => JSON.parse(l))).toEqual([{ service: 'worker', timestamp: '2026-12-01T11:30:03.000Z', logStream: 'worker/app/2b', message: 'job done' }]);
    expect(logs.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input)).toEqual([{ logGroupName: `/staging/${NAME}/worker`, startTime: Date.parse('2026-12-01T11:30:00.000Z') }]);
    expect(await cli(['logs', 'feature/login', '--service', 'wrker'])).toEqual({ code: 1, out: '', err: 'staging: feature/login has no service "wrker". Did you mean: worker? Its services: web, worker.\n' });
    expect((await cli(['logs', 'feature/login', '--since', 'yesterday'])).code).toBe(2);
  });

  test('--follow: a live tail of the groups\' ARNs, started before the history, lines in both printed once', async () => {
    async function* stream() {
      yield { sessionStart: { sessionId: 's1', logGroupIdentifiers: [group('web').logGroupArn, group('worker').logGroupArn] } };
      yield { sessionUpdate: { sessionResults: [
        { logGroupIdentifier: group('web').logGroupArn, logStreamName: 'web/app/1a', timestamp: at(5), message: 'GET /health 200' },
        { logGroupIdentifier: group('worker').logGroupArn, logStreamName: 'worker/app/2b', timestamp: at(9), message: 'next job', sampled: true },
      ] } };
    }
    logs.on(StartLiveTailCommand).resolves({ responseStream: stream() as AsyncIterable<any> });
    const r = await cli(['logs', 'feature/login', '--follow'], { isTTY: true });
    expect(r.code).toBe(0);
    expect(r.out.split('\n').filter(Boolean)).toEqual([
      'web    2026-12-01T11:30:01.000Z GET / 200',
      'worker 2026-12-01T11:30:03.000Z job done',
      'web    2026-12-01T11:30:05.000Z GET /health 200',
      'worker 2026-12-01T11:30:09.000Z next job (sampled)',
    ]);
    expect(logs.commandCalls(StartLiveTailCommand)[0].args[0].input).toEqual({ logGroupIdentifiers: [group('web').logGroupArn, group('worker').logGroupArn] });
    expect(r.err).toContain('then following (Ctrl-C to stop)');
    // The end of a 3-hour session says so.
    async function* timeout() {
      yield { sessionStart: { sessionId: 's2' } };
      yield { SessionTimeoutException: { message: 'timed out' } };
    }
    logs.on(StartLiveTailCommand).resolves({ responseStream: timeout() as AsyncIterable<any> });
    expect((await cli(['logs', 'feature/login', '--follow'])).err).toContain('CloudWatch ends a session after 3 hours. Run staging logs --follow again.');
  });

  test('no log groups; a missing permission', async () => {
    logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [] });
    expect((await cli(['logs', 'feature/login'])).err).toContain(`${LOGIN.StackName} has no log groups below /staging/${NAME}/ in eu-west-1`);
    logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [group('web')] });
    logs.on(FilterLogEventsCommand).rejects(Object.assign(new Error('not authorized to perform: logs:FilterLogEvents'), { name: 'AccessDeniedException' }));
    const r = await cli(['logs', 'feature/login']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`staging: Missing permission for logs:FilterLogEvents on /staging/${NAME}/web: not authorized`);
  });
});

describe('staging console', () => {
  const CLUSTER = "it's a $cluster";
  const TASK = `arn:aws:ecs:eu-west-1:${ACCOUNT}:task/staging-cluster/0123456789abcdef0123456789abcdef`;
  const task = (agent = 'RUNNING'): Task => ({
    taskArn: TASK,
    lastStatus: 'RUNNING',
    enableExecuteCommand: true,
    containers: [{ name: 'app', runtimeId: '0123456789abcdef0123456789abcdef-1111111111', managedAgents: [{ name: 'ExecuteCommandAgent', lastStatus: agent }] }],
  });
  const SESSION = { sessionId: 'ecs-execute-command-0a1b2c3d4e5f', streamUrl: 'wss://ssmmessages.eu-west-1.amazonaws.com/v1/data-channel/ecs-execute-command-0a1b2c3d4e5f?role=publish_subscribe', tokenValue: 'AAEAAf0token' };
  /** The branch stacks, and a shared stack whose cluster name needs quoting. */
  const stacks = (...branches: Stack[]) => {
    const shared = { ...SHARED, Outputs: [...SHARED.Outputs!.filter((o) => o.OutputKey !== 'SharedStagingClusterName'), { OutputKey: 'SharedStagingClusterName', OutputValue: CLUSTER }] };
    cf.on(DescribeStacksCommand, {}).resolves({ Stacks: [...branches, shared] });
    cf.on(DescribeStacksCommand, { StackName: 'staging-shared' }).resolves({ Stacks: [shared] });
  };
  beforeEach(() => {
    stacks(LOGIN);
    ecs.on(ListTasksCommand).resolves({ taskArns: [TASK] });
    ecs.on(DescribeTasksCommand).resolves({ tasks: [task()] });
    ecs.on(ExecuteCommandCommand).resolves({ clusterArn: `arn:aws:ecs:eu-west-1:${ACCOUNT}:cluster/x`, taskArn: TASK, containerName: 'app', interactive: true, session: SESSION });
  });
  const argv = (command = '/bin/sh') => ['aws', 'ecs', 'execute-command', '--region', 'eu-west-1', '--cluster', CLUSTER, '--task', '0123456789abcdef0123456789abcdef', '--container', 'app', '--interactive', '--command', command];

  test('with session-manager-plugin: ExecuteCommand, then the plugin with the AWS CLI\'s arguments', async () => {
    const m = machine({ plugin: true });
    const r = await cli(['console', 'feature/login'], { m, env: { AWS_PROFILE: 'dev' } });
    expect(r.code).toBe(0);
    expect(r.out).toBe('');
    expect(r.err).toBe('opening /bin/sh in task 0123456789abcdef0123456789abcdef (web, container app) of feature/login; exit to leave\n');
    expect(ecs.commandCalls(ListTasksCommand)[0].args[0].input).toEqual({ cluster: CLUSTER, family: `${LOGIN.StackName}-web`, desiredStatus: 'RUNNING' });
    expect(ecs.commandCalls(ExecuteCommandCommand)[0].args[0].input).toEqual({ cluster: CLUSTER, task: TASK, container: 'app', command: '/bin/sh', interactive: true });
    expect(m.spawned).toEqual([[
      '/usr/local/bin/session-manager-plugin',
      [
        JSON.stringify(SESSION),
        'eu-west-1',
        'StartSession',
        'dev',
        JSON.stringify({ Target: `ecs:${CLUSTER}_0123456789abcdef0123456789abcdef_0123456789abcdef0123456789abcdef-1111111111` }),
        'https://ecs.eu-west-1.amazonaws.com',
      ],
    ]]);
    const failed = await cli(['console', 'feature/login'], { m: machine({ plugin: true, exitCode: 255 }) });
    expect(failed.code).toBe(1);
    expect(failed.err).toContain('session-manager-plugin ended with exit code 255');
  });

  test('without the plugin: the aws ecs execute-command line, shell-quoted (a shell reads back the exact words), and how to install it', async () => {
    const r = await cli(['console', 'feature/login', '--service', 'worker', '--command', "bin/rails runner 'p $stdout'"]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`aws ecs execute-command --region eu-west-1 --cluster 'it'\\''s a $cluster' --task 0123456789abcdef0123456789abcdef --container app --interactive --command 'bin/rails runner '\\''p $stdout'\\'''\n`);
    const words = spawnSync('bash', ['-c', `printf '%s\\0' ${r.out.trim()}`], { encoding: 'utf8' }).stdout.split('\0').slice(0, -1);
    expect(words).toEqual(argv("bin/rails runner 'p $stdout'"));
    expect(r.err).toBe('session-manager-plugin is not on PATH, so no shell was opened. Install it (https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html), then run staging console again, or run the command above.\n');
    expect(ecs.commandCalls(ListTasksCommand)[0].args[0].input.family).toBe(`${LOGIN.StackName}-worker`);
    expect(ecs.commandCalls(ExecuteCommandCommand)).toHaveLength(0);
  });

  test('--json names the task and the command, opening nothing', async () => {
    const m = machine({ plugin: true });
    expect(JSON.parse((await cli(['console', 'feature/login', '--json'], { m })).out)).toEqual({
      branch: 'feature/login', cluster: CLUSTER, task: TASK, container: 'app', command: argv(), commandLine: argv().map((w) => (w === CLUSTER ? `'it'\\''s a $cluster'` : w)).join(' '), plugin: '/usr/local/bin/session-manager-plugin',
    });
    expect(m.spawned).toEqual([]);
  });

  test('a branch that needs quoting is quoted in the hints; no running task, an agent not running, a missing permission', async () => {
    stacks(stagingStack("it's/a b"));
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });
    const none = await cli(['console', "it's/a b"]);
    expect(none.code).toBe(1);
    expect(none.err).toContain(`No running task of ${stagingStack("it's/a b").StackName}-web on cluster ${CLUSTER}. \`staging wake 'it'\\''s/a b'\` starts it if it is asleep`);
    stacks(LOGIN);
    ecs.on(ListTasksCommand).resolves({ taskArns: [TASK] });
    ecs.on(DescribeTasksCommand).resolves({ tasks: [task('PENDING')] });
    expect((await cli(['console', 'feature/login'])).err).toContain('The ECS Exec agent is not running in');
    ecs.on(ListTasksCommand).rejects(Object.assign(new Error('not authorized to perform: ecs:ListTasks'), { name: 'AccessDeniedException' }));
    expect((await cli(['console', 'feature/login'])).err).toContain(`staging: Missing permission for ecs:ListTasks on ${CLUSTER}: not authorized`);
    cf.on(DescribeStacksCommand, {}).rejects(denied);
    expect((await cli(['console', 'feature/login'])).err).toContain('Missing permission for cloudformation:DescribeStacks');
  });
});
