import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The bundled `staging` as users run it (scripts/build-cli.mjs, into a directory of its own): its
 * output is its own, one line per error, whatever the AWS SDK would print around it.
 */
const ROOT = join(__dirname, '..', '..');
const BUNDLE = join(mkdtempSync(join(tmpdir(), 'staging-cli-')), 'staging.js');

beforeAll(() => {
  execFileSync(process.execPath, ['scripts/build-cli.mjs'], { cwd: ROOT, env: { ...process.env, STAGING_CLI_OUTFILE: BUNDLE }, stdio: 'pipe' });
});

/** The bundle, with no AWS configuration but `env`, offline. */
function staging(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(AWS_|CDK_)/.test(k)));
  const none = join(tmpdir(), 'no-such-aws-file');
  const result = spawnSync(process.execPath, [BUNDLE, ...args], {
    env: { ...clean, AWS_CONFIG_FILE: none, AWS_SHARED_CREDENTIALS_FILE: none, AWS_EC2_METADATA_DISABLED: 'true', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the bundled staging CLI', () => {
  test('--version prints the version written into the bundle', () => {
    const { version } = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
    expect(staging(['--version'])).toEqual({ status: 0, stdout: `${version}\n`, stderr: '' });
  });

  test("AWS_PROFILE=nosuch: one line naming the profile and the files, and none of the SDK's Node-version warning", () => {
    const r = staging(['list', '--region', 'eu-west-1'], { AWS_PROFILE: 'nosuch' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`staging: Profile nosuch (AWS_PROFILE) is not in ${join(tmpdir(), 'no-such-aws-file')} or ${join(tmpdir(), 'no-such-aws-file')}. Set AWS_PROFILE to one of them, or create it (aws configure --profile nosuch, or aws configure sso for SSO).\n`);
  });

  test('a misspelt region: one line with the region meant, no getaddrinfo and no stack', () => {
    const r = staging(['list', '--region', 'eu-wset-1'], { AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^staging: Region eu-wset-1 is not an AWS region; did you mean eu-west-1\? [^\n]*\n$/);
  });
});
