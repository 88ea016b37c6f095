import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { explainAwsError } from '../../cli/io';
import { run } from '../../cli/program';
import { fakeIo } from './fake-io';
import { LOGIN, SHARED } from './fixtures';

/** The CLI's edges: version, help, option errors, and errors it does not explain, each on one line. */

const cf = mockClient(CloudFormationClient);
const lambda = mockClient(LambdaClient);
beforeEach(() => {
  cf.reset();
  lambda.reset();
  cf.on(DescribeStacksCommand, { StackName: 'staging-shared' }).resolves({ Stacks: [SHARED] });
});

async function cli(args: string[], env: Record<string, string> = {}) {
  const io = fakeIo({ env });
  const code = await run(args, io);
  return { code, out: io.out(), err: io.err() };
}

/** One line on stderr, `staging: ...`, and nothing that looks like a stack trace. */
const ONE_LINE = /^staging: [^\n]+\n$/;

describe('staging (the program)', () => {
  test('--version and -V print the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
    expect(await cli(['--version'])).toEqual({ code: 0, out: `${version}\n`, err: '' });
    expect((await cli(['-V'])).out).toBe(`${version}\n`);
  });

  test('a bare `staging` prints the help on stderr and exits 1', async () => {
    const r = await cli([]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^Usage: staging \[options\] \[command\]/);
  });

  test('sweep --help states the default once', async () => {
    const r = await cli(['sweep', '--help']);
    expect(r.out).toMatch(/--dry-run +only report \(default: true\)\n/);
    expect(r.out).not.toMatch(/\(the default\) \(default: true\)/);
  });

  test('--prefix is checked with the rule the app and the constructs apply, before any AWS call', async () => {
    const r = await cli(['--prefix', 'my-staging', 'list']);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`error: option '--prefix <prefix>' argument 'my-staging' is invalid. prefix must be 1-20 lower-case letters or digits, starting with a letter (got "my-staging"); e.g. "staging"`);
    expect(cf.calls()).toHaveLength(0);
  });

  test('cost --shared with a missing file names --shared', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cost-'));
    const template = join(dir, 'branch.template.json');
    writeFileSync(template, JSON.stringify({ Resources: {} }));
    const r = await cli(['cost', template, '--shared', 'nosuch']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^staging: --shared nosuch: No such file or directory: nosuch\. /);
  });
});

describe('every error is one clear line', () => {
  test('an error the CLI does not explain: its name and message, no stack; --debug (or CDK_DEBUG=true) adds the stack', async () => {
    cf.on(DescribeStacksCommand).rejects(Object.assign(new Error('Something odd\nhappened'), { name: 'InternalFailure', $metadata: { requestId: 'req-1' } }));
    const r = await cli(['list']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(ONE_LINE);
    expect(r.err).toBe('staging: InternalFailure: Something odd happened (AWS request id req-1) (run again with --debug for the stack trace)\n');
    for (const debug of [await cli(['--debug', 'list']), await cli(['list'], { CDK_DEBUG: 'true' })]) {
      expect(debug.err).toMatch(/^staging: InternalFailure: Something odd happened \(AWS request id req-1\)\n.*InternalFailure: Something odd\n/);
      expect(debug.err).toMatch(/^\s+at /m);
    }
  });

  test('a missing sweeper function: says the shared stack needs a deploy', async () => {
    lambda.on(InvokeCommand).rejects(Object.assign(new Error('Function not found: arn:aws:lambda:eu-west-1:123456789012:function:staging-shared-sweeper'), { name: 'ResourceNotFoundException' }));
    const r = await cli(['sweep']);
    expect(r.code).toBe(1);
    expect(r.err.split('\n').filter((l) => l.startsWith('staging: '))).toEqual([
      'staging: Function not found: arn:aws:lambda:eu-west-1:123456789012:function:staging-shared-sweeper (lambda:InvokeFunction on staging-shared-sweeper). The shared stack may be older than this CLI or not fully deployed: deploy it (npx cdk deploy <prefix>-shared), then run this again.',
    ]);
  });

  test('a conflict while the shared stack updates the sleeper: wait for that deploy', async () => {
    cf.on(DescribeStacksCommand, {}).resolves({ Stacks: [LOGIN, SHARED] });
    cf.on(DescribeStacksCommand, { StackName: 'staging-shared' }).resolves({ Stacks: [SHARED] });
    lambda.on(InvokeCommand).rejects(Object.assign(new Error('The operation cannot be performed at this time. An update is in progress for resource: staging-shared-sleeper'), { name: 'ResourceConflictException' }));
    const r = await cli(['sleep', 'feature/login']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^staging: [^\n]*An update is in progress for resource: staging-shared-sleeper \(lambda:InvokeFunction on staging-shared-sleeper\)\. The shared stack is probably being deployed and is updating it: wait until that deploy finishes, then run this again\.\n/m);
  });

  test('a misspelt region: not an AWS region, did you mean ...', async () => {
    cf.on(DescribeStacksCommand).rejects(Object.assign(new Error('getaddrinfo ENOTFOUND cloudformation.eu-wset-1.amazonaws.com'), { code: 'ENOTFOUND', hostname: 'cloudformation.eu-wset-1.amazonaws.com' }));
    const r = await cli(['list', '--region', 'eu-wset-1']);
    expect(r).toMatchObject({ code: 1, out: '' });
    expect(r.err).toBe(
      'staging: Region eu-wset-1 is not an AWS region; did you mean eu-west-1? Pass --region with a region such as eu-west-1 (or correct AWS_REGION / the profile\'s region) and run again.\n',
    );
  });

  test('a real region that cannot be reached: the network', async () => {
    cf.on(DescribeStacksCommand).rejects(Object.assign(new Error('getaddrinfo ENOTFOUND cloudformation.eu-west-1.amazonaws.com'), { code: 'ENOTFOUND', hostname: 'cloudformation.eu-west-1.amazonaws.com' }));
    const r = await cli(['list']);
    expect(r.err).toBe(
      'staging: Cannot reach AWS for cloudformation:DescribeStacks on staging-shared: cloudformation.eu-west-1.amazonaws.com gives ENOTFOUND. Check the network connection, VPN or proxy (HTTPS_PROXY), and run again.\n',
    );
  });
});

describe('explainAwsError: AWS_PROFILE', () => {
  const noCredentials = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
  const dir = mkdtempSync(join(tmpdir(), 'aws-'));
  const files = { AWS_CONFIG_FILE: join(dir, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials') };
  writeFileSync(files.AWS_CONFIG_FILE, '[default]\nregion = eu-west-1\n[profile dev]\nsso_session = x\n[sso-session x]\nsso_region = eu-west-1\n');
  writeFileSync(files.AWS_SHARED_CREDENTIALS_FILE, '[prod]\naws_access_key_id = AKIA\n');

  test('a profile that is in neither file: says so, lists those there', () => {
    expect(explainAwsError(noCredentials, 'cloudformation:DescribeStacks', { ...files, AWS_PROFILE: 'nosuch' })?.message).toBe(
      `Profile nosuch (AWS_PROFILE) is not in ${files.AWS_CONFIG_FILE} or ${files.AWS_SHARED_CREDENTIALS_FILE}. The profiles there: default, dev, prod. ` +
        'Set AWS_PROFILE to one of them, or create it (aws configure --profile nosuch, or aws configure sso for SSO).',
    );
    expect(explainAwsError(noCredentials, 'x', { ...files, AWS_PROFILE: 'dvv' })?.message).toContain('Did you mean dev?');
  });

  test('a profile that is there but gives no credentials: log in with it, not "set AWS_PROFILE"', () => {
    const message = explainAwsError(noCredentials, 'cloudformation:DescribeStacks', { ...files, AWS_PROFILE: 'dev' })?.message;
    expect(message).toBe('No AWS credentials from profile dev (AWS_PROFILE) for cloudformation:DescribeStacks. For an SSO profile run `aws sso login --profile dev`; otherwise give the profile keys (aws configure), and run again.');
  });
});
