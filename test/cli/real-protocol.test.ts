/**
 * The CLI's real SDK clients against a local fake of the AWS wire protocols (fake-aws.ts): the
 * SDK's retries of throttling as configured in cli/aws.ts, and one run of `staging destroy` in a
 * real terminal (tmux), answering its confirmation by keystrokes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { run } from '../../cli/program';
import { fakeIo } from './fake-io';
import { FakeAnswer, FakeAws, FakeCall, describeStacksXml, emptyXml, fakeAws, fakeAwsEnv } from './fake-aws';
import { LOGIN, SHARED } from './fixtures';

const NAME = LOGIN.Tags![1].Value!;
let fake: FakeAws;
let answer: (call: FakeCall, nth: number) => FakeAnswer | undefined;
const saved = { ...process.env };

beforeAll(async () => {
  fake = await fakeAws((call) => answer(call, fake.calls.filter((c) => c.service === call.service && c.action === call.action).length));
});
afterAll(async () => {
  process.env = saved;
  await fake.close();
});
beforeEach(() => {
  fake.calls.length = 0;
});

/** The stacks by DescribeStacks (the branch's stack by its id), every other call from `more`. */
function stacksAnd(more: (call: FakeCall, nth: number) => FakeAnswer | undefined = () => undefined) {
  return (call: FakeCall, nth: number) => {
    if (call.service === 'cloudformation' && call.action === 'DescribeStacks') {
      if (call.input.StackName === 'staging-shared') return describeStacksXml([SHARED]);
      if (call.input.StackName === LOGIN.StackId) return describeStacksXml([{ ...LOGIN, StackStatus: fake.calls.some((c) => c.action === 'DeleteStack') ? 'DELETE_COMPLETE' : 'UPDATE_COMPLETE' }]);
      return describeStacksXml([LOGIN, SHARED]);
    }
    return more(call, nth);
  };
}

describe('throttling is retried by the SDK (adaptive retries, cli/aws.ts)', () => {
  beforeAll(() => Object.assign(process.env, fakeAwsEnv(fake.url)));

  // Each throttle costs about 2 s: adaptive mode's rate limiter drops to its minimum rate after one.
  test('the sleeper\'s reserved concurrency (Lambda 429 TooManyRequestsException during a round), then success', async () => {
    const describe = stacksAnd((call, nth): FakeAnswer | undefined => {
      if (call.service === 'lambda') {
        if (nth === 1) {
          return { status: 429, headers: { 'x-amzn-errortype': 'TooManyRequestsException', 'content-type': 'application/json' }, body: JSON.stringify({ message: 'Rate Exceeded.', Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded', Type: 'User' }) };
        }
        return { headers: { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST' }, body: JSON.stringify({ action: 'wake', stagingName: NAME, branch: 'feature/login', state: 'waking', changed: true, reason: 'waking', expectedSeconds: 130 }) };
      }
      return undefined;
    });
    answer = describe;
    const io = fakeIo();
    expect(await run(['wake', 'feature/login', '--no-wait'], io)).toBe(0);
    expect(io.out()).toBe('feature/login is waking; it goes on by itself. `staging wake feature/login` waits for it.\n');
    expect(fake.calls.filter((c) => c.service === 'lambda').map((c) => [c.input.FunctionName, JSON.parse(c.input.Payload)])).toEqual([
      ['staging-shared-sleeper', { wake: NAME }],
      ['staging-shared-sleeper', { wake: NAME }],
    ]);
  });

  test('CloudWatch Logs ThrottlingException on FilterLogEvents, then the events', async () => {
    answer = stacksAnd((call, nth) => {
      if (call.action === 'DescribeLogGroups') return { body: JSON.stringify({ logGroups: [{ logGroupName: `/staging/${NAME}/web`, arn: `arn:aws:logs:eu-west-1:123456789012:log-group:/staging/${NAME}/web:*` }] }) };
      if (call.action === 'FilterLogEvents') {
        if (nth === 1) return { status: 400, body: JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }) };
        return { body: JSON.stringify({ events: [{ logStreamName: 'web/app/1a', timestamp: Date.parse('2026-12-01T11:59:00Z'), message: 'GET / 200', eventId: '1' }], searchedLogStreams: [] }) };
      }
      return undefined;
    });
    const io = fakeIo();
    expect(await run(['logs', 'feature/login'], io)).toBe(0);
    expect(io.out()).toBe('web 2026-12-01T11:59:00.000Z GET / 200\n');
    expect(fake.calls.filter((c) => c.action === 'FilterLogEvents')).toHaveLength(2);
  });
});

describe('staging destroy in a real terminal (tmux)', () => {
  const socket = `staging-cli-test-${process.pid}`;
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  const pane = () => tmux('capture-pane', '-p', '-t', 'destroy');
  async function until(what: string, test: (text: string) => boolean, ms = 5000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const text = pane();
      if (test(text)) return text;
      if (Date.now() > deadline) throw new Error(`the terminal never showed ${what}; it shows:\n${text}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  beforeAll(() => {
    if (spawnSync('tmux', ['-V']).status !== 0) throw new Error('tmux is not installed: npm test installs it (scripts/ensure-test-services.sh), or apt-get install tmux');
  });
  afterAll(() => {
    spawnSync('tmux', ['-L', socket, 'kill-server']);
  });

  test('asks on the terminal, naming the stack; a typed y deletes it and waits', async () => {
    answer = stacksAnd((call) => (call.action === 'DeleteStack' ? emptyXml('DeleteStack') : undefined));
    const env = Object.entries({ ...fakeAwsEnv(fake.url), NO_COLOR: '1' }).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    const cli = `${process.execPath} --import tsx ${join(__dirname, '..', '..', 'cli', 'index.ts')}`;
    tmux('new-session', '-d', '-s', 'destroy', '-x', '200', '-y', '30', ...env, `${cli} destroy feature/login; echo "exit code $?"; sleep 60`);
    const prompt = await until('the confirmation', (t) => t.includes('[y/N]'));
    expect(prompt).toContain(`Delete the staging of branch feature/login (stack ${LOGIN.StackName} in eu-west-1) and all its data? [y/N]`);
    expect(fake.calls.map((c) => c.action)).not.toContain('DeleteStack');
    tmux('send-keys', '-t', 'destroy', 'y', 'Enter');
    const done = await until('the exit code', (t) => /exit code \d+/.test(t));
    expect(done).toContain(`Deleted ${LOGIN.StackName} (branch feature/login).`);
    expect(done).toContain('exit code 0');
    expect(fake.calls.filter((c) => c.action === 'DeleteStack').map((c) => c.input.StackName)).toEqual([LOGIN.StackId]);
  });
});
