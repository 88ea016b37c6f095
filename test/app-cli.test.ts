import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The ready-made app run as `cdk` runs it: a process with the context in CDK_CONTEXT_JSON.
 * Bad input must read as messages: the problems one per line, exit code 1, no stack trace.
 */
const ROOT = join(__dirname, '..');
const CONTEXT = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context;
const STAGING = CONTEXT.staging;

interface Run {
  readonly status: number | null;
  readonly stderr: string;
  readonly stdout: string;
}

function runApp(context: Record<string, unknown>, env: Record<string, string | undefined> = {}): Promise<Run> {
  const childEnv: Record<string, string | undefined> = { ...process.env, CDK_OUTDIR: mkdtempSync(join(tmpdir(), 'app-cli-')), CDK_CONTEXT_JSON: JSON.stringify({ ...CONTEXT, ...context }) };
  // As the CDK CLI without credentials: no default account.
  delete childEnv.CDK_DEFAULT_ACCOUNT;
  Object.assign(childEnv, env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/app.ts'], { cwd: ROOT, env: childEnv });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Signs of an uncaught exception: a stack frame, a caret line, Node's version banner. */
const CRASH = /^\s+at |^\s*\^+\s*$|^Node\.js v/m;

describe('ready-made app as a process', () => {
  let badConfig: Run;
  let flagWithoutBranch: Run;
  let pendingVpc: Run;
  let lite: Run;

  beforeAll(async () => {
    const noRegion = { ...STAGING };
    delete noRegion.region;
    // Two at a time: the machine has two cores.
    [badConfig, flagWithoutBranch] = await Promise.all([
      runApp({ staging: { ...noRegion, databse: { instanceClass: 'db.r6g.large' }, prefix: 'my-staging' } }),
      runApp({ lite: 'true', image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:3f2a1bc' }),
    ]);
    [pendingVpc, lite] = await Promise.all([
      runApp({ staging: { ...STAGING, account: '123456789012', network: { vpcId: 'vpc-0123456789abcdef0' } } }),
      runApp({ branch: 'feature/new_cool_page', lite: 'true', staging: { ...STAGING, feature: { ...STAGING.feature, releaseCommand: undefined } } }),
    ]);
  });

  test('a bad staging block: every problem on a line of its own, exit 1, no stack trace', () => {
    expect(badConfig).toMatchObject({ status: 1, stdout: '' });
    expect(badConfig.stderr).not.toMatch(CRASH);
    expect(badConfig.stderr.trimEnd().split('\n')).toEqual([
      'Invalid staging configuration in cdk.json context:',
      '  - staging.prefix: must be 1 to 20 lower-case letters and digits, starting with a letter, no hyphens; write it like "staging" (got "my-staging")',
      '  - staging.region: is required, e.g. "eu-west-1" (got undefined)',
      '  - staging.databse: is not a key of staging; did you mean "database"? (got {"instanceClass":"db.r6g.large"})',
    ]);
  });

  test('a branch flag without -c branch fails naming branch, instead of targeting the shared stack', () => {
    expect(flagWithoutBranch.status).toBe(1);
    expect(flagWithoutBranch.stderr).not.toMatch(CRASH);
    const lines = flagWithoutBranch.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('Invalid branch context (-c):');
    expect(lines.slice(1).map((l) => l.slice(0, l.indexOf(':')))).toEqual(['  - lite', '  - image']);
    for (const line of lines.slice(1)) expect(line).toMatch(/no branch was given; add -c branch=/);
  });

  test('network.vpcId without credentials: only that the look-up needs credentials and staging.account', () => {
    expect(pendingVpc.status).toBe(1);
    expect(pendingVpc.stderr.trimEnd().split('\n')).toEqual([
      'Invalid staging configuration in cdk.json context:',
      expect.stringMatching(/^ {2}- staging\.network\.vpcId: is looked up in account 123456789012 at synth, which needs AWS credentials for that account and staging\.account; .*\(got "vpc-0123456789abcdef0"\)$/),
    ]);
  });

  test('a good synth says what it synthesized, and where', () => {
    expect(lite.status).toBe(0);
    expect(lite.stderr).toMatch(/^Synthesized staging-feature-new-cool-page-d5b3d603 \(FeatureStagingLite\) to .*staging-feature-new-cool-page-d5b3d603\.template\.json$/m);
  });
});

/** `cdk synth` with the real CDK CLI (the context it adds, and -c values as strings); `args` as a shell would pass them. */
function cdkSynth(args: string): Run {
  const out = mkdtempSync(join(tmpdir(), 'app-cdk-'));
  const env: Record<string, string | undefined> = { ...process.env, CDK_DISABLE_VERSION_CHECK: 'true' };
  delete env.CDK_DEFAULT_ACCOUNT;
  try {
    const stdout = execFileSync('bash', ['-c', `npx cdk synth --quiet --no-notices -o ${out} ${args}`], { cwd: ROOT, env, encoding: 'utf8', stdio: 'pipe' });
    return { status: 0, stdout, stderr: '' };
  } catch (e: any) {
    return { status: e.status, stdout: String(e.stdout), stderr: String(e.stderr) };
  }
}

describe('the ready-made app under the real CDK CLI', () => {
  // Through the real CDK CLI, one key that looks like nothing of ours and one near miss of -c branch;
  // every other slip (branches, branch_name, environment, cache, ...) takes the same path, and
  // test/config.test.ts checks each one's message in-process.
  test.each(['-c database=template', '-c branchName=x'])('fails on %s instead of synthesizing the shared stack', (flag) => {
    const run = cdkSynth(flag);
    expect(run.status).not.toBe(0);
    expect(run.stderr).not.toMatch(CRASH);
    expect(run.stderr).toContain(`  - ${flag.slice(3, flag.indexOf('='))}: is not a context key of the ready-made app; `);
    expect(run.stderr).toContain('its -c keys are branch, lite, image, env, refreshData, allowKindSwitch, commit, pullRequest');
    expect(run.stderr).not.toMatch(/Synthesized/);
  });

  test('the -c staging.<key> suggestion works as printed: a branch synth with the changed key', async () => {
    const refused = await runApp({ 'staging.region': 'us-west-2' });
    expect(refused.status).toBe(1);
    const suggested = /pass the whole block as JSON: (-c staging=".*") \(got "us-west-2"\)$/m.exec(refused.stderr)?.[1];
    expect(suggested).toBeDefined();
    const run = cdkSynth(`${suggested} -c branch=feature/x -c lite=true`);
    expect(run).toMatchObject({ status: 0 });
    expect(run.stderr).not.toMatch(/must be an object/);
  });
});

test('a misspelt staging block: the likely cause alone, on one short line', async () => {
  const run = await runApp({ staging: undefined, stagng: STAGING });
  expect(run.status).toBe(1);
  expect(run.stderr.trimEnd().split('\n')).toEqual([
    'Invalid staging configuration in cdk.json context:',
    expect.stringMatching(/^ {2}- stagng: is not a context key of the ready-made app; did you mean "staging"\? Rename it in cdk\.json \(got \{".{1,80}…\)$/),
  ]);
});
describe('ready-made app as a process, with JSII_DEPRECATED=fail (no deprecated API of aws-cdk-lib in our code)', () => {
  let full: Run;
  let probe: { status: number | null; stderr: string };

  beforeAll(async () => {
    [full, probe] = await Promise.all([
      runApp({ branch: 'feature/new_cool_page' }, { JSII_DEPRECATED: 'fail' }),
      // The same switch on a deprecated call, so the test above cannot pass because the switch is off.
      new Promise<{ status: number | null; stderr: string }>((resolve, reject) => {
        const script = "const { App, Stack, CfnResource } = require('aws-cdk-lib'); const s = new Stack(new App(), 'S'); const a = new CfnResource(s, 'A', { type: 'X::Y::Z' }); new CfnResource(s, 'B', { type: 'X::Y::Z' }).addDependency(a);";
        const child = spawn(process.execPath, ['-e', script], { cwd: ROOT, env: { ...process.env, JSII_DEPRECATED: 'fail' } });
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        child.on('error', reject);
        child.on('close', (status) => resolve({ status, stderr }));
      }),
    ]);
  });

  test('a full branch synthesizes, and prints no deprecation', () => {
    expect(full.stderr).not.toMatch(/deprecated/i);
    expect(full.status).toBe(0);
    expect(full.stderr).toMatch(/^Synthesized staging-feature-new-cool-page-d5b3d603 \(FeatureStaging\) to /m);
  });

  test('the switch is live: a deprecated call fails under it', () => {
    expect(probe.status).not.toBe(0);
    expect(probe.stderr).toMatch(/CfnResource#addDependency is deprecated/);
  });
});
