import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudFormationClient, DeleteStackCommand, DescribeStacksCommand, GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DeleteParameterCommand, GetParameterCommand, GetParametersByPathCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { StagingNames } from '../../lib/contract/naming';
import { run } from '../../cli/program';
import { fakeIo } from './fake-io';
import { LITE, LOGIN, SHARED, denied, stagingStack, throttle } from './fixtures';

const cf = mockClient(CloudFormationClient);
const ssm = mockClient(SSMClient);
const lambda = mockClient(LambdaClient);

const REPORT = {
  dryRun: true,
  stagings: [
    { stagingName: StagingNames.fromBranch('feature/login').name, branch: 'feature/login', action: 'keep', reason: 'active 1 hour ago', lastActivity: '2026-12-01T11:00:00.000Z', lastActivitySource: 'request', idleAt: '2026-12-04T11:00:00.000Z' },
    { stagingName: StagingNames.fromBranch('fix/typo').name, branch: 'fix/typo', action: 'warn', outcome: 'would-warn', reason: 'idle for 3 days', lastActivity: '2026-11-28T12:00:00.000Z', lastActivitySource: 'stack-created', deleteAt: '2026-12-02T12:00:00.000Z' },
  ],
  ignored: [{ stackName: 'staging-tools', reason: 'no staging:kind tag' }],
  problems: [],
};
beforeEach(() => {
  cf.reset();
  ssm.reset();
  lambda.reset();
  // Two pages of stacks: the paginator must follow NextToken.
  cf.on(DescribeStacksCommand, {}).resolves({ Stacks: [LOGIN, SHARED], NextToken: 'page-2' });
  cf.on(DescribeStacksCommand, { NextToken: 'page-2' }).resolves({ Stacks: [LITE] });
  cf.on(DescribeStacksCommand, { StackName: 'staging-shared' }).resolves({ Stacks: [SHARED] });
  ssm.on(GetParametersByPathCommand).resolves({ Parameters: [] });
  ssm.on(GetParametersByPathCommand, { Path: '/staging/pins' }).resolves({
    Parameters: [{ Name: `/staging/pins/${StagingNames.fromBranch('feature/login').name}`, Value: '2026-12-10' }],
  });
  ssm.on(GetParametersByPathCommand, { Path: '/staging/sleep' }).resolves({
    Parameters: [{ Name: `/staging/sleep/${StagingNames.fromBranch('fix/typo').name}`, Value: JSON.stringify({ state: 'sleeping', since: '2026-11-30T13:00:00Z' }) }],
  });
  lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: new TextEncoder().encode(JSON.stringify(REPORT)) as any });
});

async function cli(args: string[], opts: { isTTY?: boolean; answer?: boolean } = {}) {
  const io = fakeIo(opts);
  const code = await run(args, io);
  return { code, out: io.out(), err: io.err() };
}

describe('staging list', () => {
  test('a terminal gets a table, sorted by last activity, with state, pin, sweeper plan and cost', async () => {
    const r = await cli(['list'], { isTTY: true });
    expect(r.err).toBe('reading 2 staging(s)...\n');
    expect(r.code).toBe(0);
    expect(r.out).toMatchSnapshot();
    // The README's terminal sample is this output (no borders, as on a terminal).
    expect(readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8')).toContain(`\`npx staging list\` (a terminal; the tests' fixture):\n\n\`\`\`text\n${r.out}\`\`\``);
    expect(r.out.indexOf('feature/login')).toBeLessThan(r.out.indexOf('fix/typo'));
    expect(lambda.commandCalls(InvokeCommand)[0].args[0].input.FunctionName).toBe('staging-shared-sweeper');
    expect(JSON.parse(new TextDecoder().decode(lambda.commandCalls(InvokeCommand)[0].args[0].input.Payload as Uint8Array))).toEqual({ dryRun: true });
  });

  test('a terminal gets the stagings page\'s URL below the table; a shared stack older than the page has none, and no footer', async () => {
    expect((await cli(['list'], { isTTY: true })).out).toMatch(/\n\nThe stagings page, for everyone without a terminal: https:\/\/stagings\.staging\.example\.com\n$/);
    cf.on(DescribeStacksCommand, { StackName: 'staging-shared' }).resolves({ Stacks: [{ ...SHARED, Outputs: SHARED.Outputs!.filter((o) => o.OutputKey !== 'StagingsPageUrl') }] });
    const older = (await cli(['list'], { isTTY: true })).out;
    expect(older).not.toContain('stagings page');
    expect(older).toMatch(/\$0\.00\n$/);
  });

  test('piped: one staging a line, tab-separated; progress only on stderr', async () => {
    const r = await cli(['list']);
    expect(r.out).toBe(
      `feature/login\t${LOGIN.Tags![1].Value}\tfull\thttps://${LOGIN.Tags![1].Value}.staging.example.com\tawake\n` +
        `fix/typo\t${LITE.Tags![1].Value}\tlite\thttps://${LITE.Tags![1].Value}.staging.example.com\tsleeping\n`,
    );
    expect(r.err).toBe('reading 2 staging(s)...\n');
  });

  test('--json: every field, cost at the current state (a sleeping branch costs its asleep figure)', async () => {
    const r = await cli(['list', '--json']);
    const list = JSON.parse(r.out);
    expect(list.map((l: any) => [l.branch, l.kind, l.state, l.pinnedUntil ?? null, l.sweeper.action])).toEqual([
      ['feature/login', 'full', 'awake', '2026-12-10', 'keep'],
      ['fix/typo', 'lite', 'sleeping', null, 'warn'],
    ]);
    expect(list[0].costPerDay).toBeCloseTo(0.3, 2);
    expect(list[1].costPerDay).toBe(0);
    // From each stack's StagingCostPerDay output: no GetTemplate per staging.
    expect(list[0].cost).toEqual({ awake: 0.3, asleep: 0 });
    expect(cf.commandCalls(GetTemplateCommand)).toHaveLength(0);
  });

  test('--json: the last deploy\'s commit, pull request and image, from the stack\'s outputs as DescribeStacks listed them (no other call)', async () => {
    const image = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:3f2a1bc0d9e8';
    const deployed = [{ OutputKey: 'StagingCommit', OutputValue: '3f2a1bc0d9e8' }, { OutputKey: 'StagingPullRequest', OutputValue: '12' }, { OutputKey: 'StagingImage', OutputValue: image }];
    cf.on(DescribeStacksCommand, {}).resolves({ Stacks: [{ ...LOGIN, Outputs: [...LOGIN.Outputs!, ...deployed] }, SHARED, LITE] });
    const [login, typo] = JSON.parse((await cli(['list', '--json'])).out);
    expect(login).toMatchObject({ branch: 'feature/login', deployedAt: '2026-11-30T12:00:00.000Z', commit: '3f2a1bc0d9e8', pullRequest: '12', image });
    expect([typo.branch, typo.commit, typo.pullRequest, typo.image]).toEqual(['fix/typo', undefined, undefined, undefined]);
    expect(cf.commandCalls(GetTemplateCommand)).toHaveLength(0);
  });

  test('a pin is read as the sweeper reads it: an unreadable one is no date, shown as kept and reported', async () => {
    const name = StagingNames.fromBranch('feature/login').name;
    ssm.on(GetParametersByPathCommand, { Path: '/staging/pins' }).resolves({ Parameters: [{ Name: `/staging/pins/${name}`, Value: '2026-12-31x' }] });
    const list = JSON.parse((await cli(['list', '--json'])).out);
    expect(list[0]).toMatchObject({ branch: 'feature/login', problems: [`the pin /staging/pins/${name} has the value "2026-12-31x", which is not a date (YYYY-MM-DD): kept (fail closed)`] });
    expect(list[0].pinnedUntil).toBeUndefined();
    expect((await cli(['list'], { isTTY: true })).out).toContain('unreadable (kept)');
  });

  test('with a shard registry: the capacity in use, per shard, after the table (on stderr when piped)', async () => {
    const shard = (index: number, branchSlots: number) => ({
      index, branchSlots, loadBalancerArn: `lb-${index}`, loadBalancerFullName: `app/lb-${index}/0`, dnsName: `lb-${index}.example.com`,
      canonicalHostedZoneId: 'Z1', listenerArn: `listener-${index}`, wakerTargetGroupArn: `waker-${index}`,
    });
    const registry = { rulesPerBranch: 1, rulesPerLoadBalancer: 100, shards: [shard(0, 96), shard(1, 100)] };
    ssm.on(GetParameterCommand, { Name: '/staging/capacity/shards' }).resolves({ Parameter: { Name: '/staging/capacity/shards', Value: JSON.stringify(registry) } });
    // Each staging on the shard its stack's load balancer output names: no slot is read.
    const on = (stack: typeof LOGIN, lb: string) => ({ ...stack, Outputs: [...(stack.Outputs ?? []), { OutputKey: 'StagingLoadBalancerFullName', OutputValue: lb }] });
    cf.on(DescribeStacksCommand, {}).resolves({ Stacks: [on(LOGIN, 'app/lb-1/0'), SHARED], NextToken: 'page-2' });
    cf.on(DescribeStacksCommand, { NextToken: 'page-2' }).resolves({ Stacks: [on(LITE, 'app/lb-1/0')] });
    const line = 'capacity: 2 of 196 branch slots in use (shard 0: 0 of 96, shard 1: 2 of 100)\n';
    expect((await cli(['list'], { isTTY: true })).out).toMatch(new RegExp(`\\n${line.replace(/[()]/g, '\\$&')}$`));
    const piped = await cli(['list']);
    expect(piped.err).toBe(`reading 2 staging(s)...\n${line}`);
    expect(piped.out).not.toContain('capacity');
    expect(ssm.commandCalls(GetParametersByPathCommand).map((c) => c.args[0].input.Path).filter((p) => p?.includes('/capacity'))).toEqual([]);
  });

  test('no stagings', async () => {
    cf.on(DescribeStacksCommand, {}).resolves({ Stacks: [SHARED] });
    expect(await cli(['list'])).toEqual({ code: 0, out: 'No branch stagings with prefix staging in eu-west-1.\n', err: '' });
    expect((await cli(['list'], { isTTY: true })).out).toBe('No branch stagings with prefix staging in eu-west-1.\n\nThe stagings page, for everyone without a terminal: https://stagings.staging.example.com\n');
    expect((await cli(['list', '--json'])).out).toBe('[]\n');
  });

  test('a sweeper that cannot be invoked leaves its column empty, with a warning', async () => {
    lambda.on(InvokeCommand).rejects(Object.assign(new Error('not authorized to perform: lambda:InvokeFunction'), { name: 'AccessDeniedException' }));
    const r = await cli(['list', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)[0].sweeper).toBeUndefined();
    expect(r.err).toContain('warning: no sweeper plan (Missing permission for lambda:InvokeFunction');
  });
});

describe('errors say what to do', () => {
  test.each([
    [throttle, /AWS throttled cloudformation:DescribeStacks( on staging-shared)? \(Throttling\) after the SDK's retries\. Wait a minute/],
    [denied, /Missing permission for cloudformation:DescribeStacks( on staging-shared)?: User: .* is not authorized/],
    [Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), /No AWS credentials .* Set AWS_PROFILE \(then `aws sso login --profile <profile>`.*AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/],
  ])('%s', async (error, message) => {
    cf.on(DescribeStacksCommand, {}).rejects(error);
    for (const args of [['list'], ['url', 'feature/login'], ['keep', 'feature/login'], ['destroy', 'feature/login', '--yes']]) {
      const r = await cli(args);
      expect({ args, code: r.code, out: r.out }).toEqual({ args, code: 1, out: '' });
      expect(r.err).toMatch(message);
    }
  });

  test('an unknown branch lists the near matches', async () => {
    const r = await cli(['url', 'feature/logn']);
    expect(r).toEqual({ code: 1, out: '', err: 'staging: No branch staging for "feature/logn" (prefix staging). Did you mean: feature/login? Run `staging list` to see them all.\n' });
  });

  test('no region', async () => {
    const io = fakeIo({ env: { AWS_REGION: '' } });
    delete (io.env as any).AWS_REGION;
    expect(await run(['list'], io)).toBe(1);
    expect(io.err()).toContain('No AWS region. Pass --region <region> (e.g. --region eu-west-1) or set AWS_REGION.');
  });

  test('usage errors exit 2; --help exits 0 and shows an example', async () => {
    expect((await cli(['url'])).code).toBe(2);
    expect((await cli(['frobnicate'])).code).toBe(2);
    for (const command of ['list', 'url', 'keep', 'unkeep', 'wake', 'sleep', 'logs', 'console', 'sweep', 'cost', 'destroy']) {
      const r = await cli([command, '--help']);
      expect({ command, code: r.code }).toEqual({ command, code: 0 });
      expect(r.out).toMatch(/Example:\n {2}\S/);
    }
  });
});

describe('staging url', () => {
  test('piped: the URL only; a terminal: branch and URL; --json', async () => {
    const url = `https://${LOGIN.Tags![1].Value}.staging.example.com`;
    expect(await cli(['url', 'feature/login'])).toEqual({ code: 0, out: `${url}\n`, err: '' });
    expect((await cli(['url', 'feature/login'], { isTTY: true })).out).toBe(`feature/login  ${url}\n`);
    expect(JSON.parse((await cli(['url', LOGIN.Tags![1].Value!, '--json'])).out)).toEqual({ branch: 'feature/login', name: LOGIN.Tags![1].Value, url });
  });
});

describe('staging keep / unkeep', () => {
  const pin = `/staging/pins/${StagingNames.fromBranch('feature/login').name}`;
  test('--for 7d pins until the day a week from now, as the sweeper reads it', async () => {
    ssm.on(PutParameterCommand).resolves({});
    const r = await cli(['keep', 'feature/login', '--for', '7d']);
    expect(r).toEqual({ code: 0, out: 'feature/login is kept until the end of 2026-12-08 (UTC). Undo with: staging unkeep feature/login\n', err: '' });
    expect(ssm.commandCalls(PutParameterCommand)[0].args[0].input).toEqual({ Name: pin, Value: '2026-12-08', Type: 'String', Overwrite: true });
  });

  test('--until DATE; bad dates are usage errors', async () => {
    ssm.on(PutParameterCommand).resolves({});
    expect(JSON.parse((await cli(['keep', 'feature/login', '--until', '2026-12-24', '--json'])).out)).toEqual({ branch: 'feature/login', name: StagingNames.fromBranch('feature/login').name, parameter: pin, pinnedUntil: '2026-12-24' });
    expect((await cli(['keep', 'feature/login', '--until', '24.12.2026'])).code).toBe(2);
    expect((await cli(['keep', 'feature/login', '--until', '2026-02-30'])).code).toBe(2);
    expect((await cli(['keep', 'feature/login', '--until', '2026-11-30'])).err).toContain('is in the past');
    expect((await cli(['keep', 'feature/login', '--for', 'forever'])).code).toBe(2);
  });

  test('missing permission to write the pin', async () => {
    ssm.on(PutParameterCommand).rejects(Object.assign(new Error('not authorized to perform: ssm:PutParameter'), { name: 'AccessDeniedException' }));
    const r = await cli(['keep', 'feature/login']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`Missing permission for ssm:PutParameter on ${pin}`);
  });

  test('unkeep deletes the pin; no pin is fine', async () => {
    ssm.on(DeleteParameterCommand).resolvesOnce({}).rejects(Object.assign(new Error('not found'), { name: 'ParameterNotFound' }));
    expect((await cli(['unkeep', 'feature/login'])).out).toBe('feature/login is no longer pinned; the sweeper judges it by its activity again.\n');
    expect(await cli(['unkeep', 'feature/login'])).toEqual({ code: 0, out: 'feature/login was not pinned.\n', err: '' });
    expect(ssm.commandCalls(DeleteParameterCommand)[0].args[0].input).toEqual({ Name: pin });
  });

  test('a branch name that needs quoting is quoted in the undo hint', async () => {
    cf.on(DescribeStacksCommand, {}).resolves({ Stacks: [stagingStack("it's/a b"), SHARED] });
    ssm.on(PutParameterCommand).resolves({});
    expect((await cli(['keep', "it's/a b"])).out).toContain(`Undo with: staging unkeep 'it'\\''s/a b'`);
  });
});

describe('staging sweep', () => {
  test('a dry run by default, its report as a table', async () => {
    const r = await cli(['sweep']);
    expect(r.err).toBe('invoking staging-shared-sweeper (dry run: nothing changes)\n');
    expect(r.code).toBe(0);
    expect(r.err).toBe('invoking staging-shared-sweeper (dry run: nothing changes)\n');
    expect(r.out).toMatchSnapshot();
  });

  test('a real run needs --yes', async () => {
    expect((await cli(['sweep', '--no-dry-run'])).code).toBe(2);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
    expect((await cli(['sweep', '--no-dry-run', '--yes', '--json'])).code).toBe(0);
    expect(JSON.parse(new TextDecoder().decode(lambda.commandCalls(InvokeCommand)[0].args[0].input.Payload as Uint8Array))).toEqual({ dryRun: false });
  });

  test('a failed sweeper, and a shared stack without one', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, FunctionError: 'Unhandled', Payload: new TextEncoder().encode('{"errorMessage":"boom"}') as any });
    expect((await cli(['sweep'])).err).toContain('The sweeper staging-shared-sweeper failed (Unhandled): boom');
    cf.on(DescribeStacksCommand, { StackName: 'staging-shared' }).resolves({ Stacks: [{ ...SHARED, Outputs: [] }] });
    expect((await cli(['sweep'])).err).toContain('has no SweeperFunctionName output');
  });

  test('no shared stack: check the prefix and the region', async () => {
    cf.on(DescribeStacksCommand, { StackName: 'staging-shared' }).rejects(Object.assign(new Error('Stack with id staging-shared does not exist'), { name: 'ValidationError' }));
    expect((await cli(['sweep'])).err).toContain('No shared stack staging-shared in eu-west-1. Check --prefix (now staging) and --region');
  });
});

describe('staging destroy', () => {
  beforeEach(() => {
    cf.on(DeleteStackCommand).resolves({});
    cf.on(DescribeStacksCommand, { StackName: LOGIN.StackId }).resolves({ Stacks: [{ ...LOGIN, StackStatus: 'DELETE_COMPLETE' }] });
  });

  test('asks, deletes by stack id and waits', async () => {
    const r = await cli(['destroy', 'feature/login'], { answer: true });
    expect(r).toEqual({ code: 0, out: `Deleted ${LOGIN.StackName} (branch feature/login).\n`, err: `deleting ${LOGIN.StackName}; waiting for CloudFormation (a few minutes)...\n` });
    expect(cf.commandCalls(DeleteStackCommand)[0].args[0].input).toEqual({ StackName: LOGIN.StackId });
  });

  test('a no (or no terminal) deletes nothing', async () => {
    const r = await cli(['destroy', 'feature/login'], { answer: false });
    expect(r.code).toBe(1);
    expect(r.err).toContain('Not deleted. Answer y on a terminal, or pass --yes');
    expect(cf.commandCalls(DeleteStackCommand)).toHaveLength(0);
  });

  test('refuses the shared stack', async () => {
    for (const name of ['staging-shared', 'shared']) {
      const r = await cli(['destroy', name, '--yes']);
      expect(r.code).toBe(1);
      expect(r.err).toContain('staging destroy never deletes it');
    }
    expect(cf.commandCalls(DeleteStackCommand)).toHaveLength(0);
  });

  test('a failed deletion says where to look', async () => {
    cf.on(DescribeStacksCommand, { StackName: LOGIN.StackId }).resolves({ Stacks: [{ ...LOGIN, StackStatus: 'DELETE_FAILED' }] });
    const r = await cli(['destroy', 'feature/login', '--yes']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`did not finish deleting`);
    expect(r.err).toContain(`aws cloudformation describe-stack-events --stack-name ${LOGIN.StackId}`);
  });
});
