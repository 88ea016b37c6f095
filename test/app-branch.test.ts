import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildStagingApp } from '../bin/staging-app';
import { FeatureOutputs } from '../lib/contract/staging';
import { StagingNames } from '../lib/contract/naming';
import { cliCost, costOutput } from './util/cost';
import { notAfterQuota } from './util/template';
import { formatFindings, testApp, validationFindings } from './util/validate';

/** The example `staging` block of cdk.json, as `cdk synth` reads it. */
const STAGING = JSON.parse(readFileSync(join(__dirname, '..', 'cdk.json'), 'utf8')).context.staging;
const DOMAIN: string = STAGING.domainName;
/** The example block without feature.releaseCommand, which lite stagings skip with a warning. */
const STAGING_NO_RELEASE = { ...STAGING, feature: { ...STAGING.feature, releaseCommand: undefined } };
/** The warning of a lite synth when feature.releaseCommand is set (the example block sets it). */
const LITE_SKIPS_RELEASE = expect.stringMatching(
  /^Construct Annotations Annotation::cdk-multi-staging:liteSkipsReleaseCommand \(warning\) at staging-[a-z0-9-]+: staging\.feature\.releaseCommand \(.*\) does not run in a lite staging/,
);

/** The ready-made app with `-c` context on top of the example `staging` block. */
function branchApp(context: Record<string, unknown>, staging: unknown = STAGING): { app: App; stacks: Stack[] } {
  const app = testApp({ context: { staging, ...context } });
  return { app, stacks: buildStagingApp(app) };
}

/** What `cdk synth` would print: the stacks of the cloud assembly, with their templates. */
function synthesized(app: App) {
  return app.synth().stacks.map((s) => ({ stackName: s.stackName, template: s.template as any, tags: s.tags, environment: s.environment }));
}

/** The kind-lock parameters of a branch stack, as [logical ID, properties without description]. */
function kindLocks(template: any): Array<[string, unknown]> {
  return Object.entries(template.Resources as Record<string, any>)
    .filter(([id, r]) => r.Type === 'AWS::SSM::Parameter' && id.startsWith('KindIs'))
    .map(([id, r]) => {
      const properties = { ...r.Properties };
      delete properties.Description;
      delete properties.Tags;
      return [id, properties];
    });
}

function resources(template: any, type: string): any[] {
  return Object.values(template.Resources as Record<string, any>).filter((r) => r.Type === type);
}

interface Container {
  readonly image: unknown;
  readonly environment: Record<string, unknown>;
}

function containers(template: any): Container[] {
  return resources(template, 'AWS::ECS::TaskDefinition').flatMap((td) =>
    (td.Properties.ContainerDefinitions as any[]).map((c) => ({
      image: c.Image,
      environment: Object.fromEntries(((c.Environment ?? []) as Array<{ Name: string; Value: unknown }>).map((e) => [e.Name, e.Value])),
    })),
  );
}

/** The host label of the branch, as its listener rule routes it (`<label>.<domain from SSM>`). */
function hostLabel(template: any): string {
  const rules = resources(template, 'Custom::StagingListenerRule');
  if (rules.length !== 1) throw new Error(`expected one listener rule, found ${rules.length}`);
  const [first] = rules[0].Properties.HostHeader['Fn::Join'][1];
  return String(first).replace(/\.$/, '');
}

const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** `-c branch=feature/new_cool_page -c lite=true`, synthesized once for the whole file (with validation). */
let exampleLite: { stacks: Stack[]; findings: string[]; out: ReturnType<typeof synthesized> } | undefined;
function liteExample() {
  if (!exampleLite) {
    const { app, stacks } = branchApp({ branch: 'feature/new_cool_page', lite: 'true' });
    const findings = formatFindings(validationFindings(app));
    exampleLite = { stacks, findings, out: synthesized(app) };
  }
  return exampleLite;
}

describe('ready-made app: cdk synth -c branch=feature/new_cool_page -c lite=true', () => {
  const branch = 'feature/new_cool_page';
  let stacks: Stack[];
  let findings: string[];
  let out: ReturnType<typeof synthesized>;

  beforeAll(() => {
    ({ stacks, findings, out } = liteExample());
  });

  test('gives exactly one stack, named after the branch', () => {
    expect(stacks).toHaveLength(1);
    expect(out.map((s) => s.stackName)).toEqual([StagingNames.fromBranch(branch).stackName]);
    expect(out[0].stackName).toMatch(/^staging-feature-new-cool-page-[0-9a-f]{8}$/);
    expect(out[0].environment.region).toBe('eu-west-1');
  });

  test('is clean under cdk-nag AwsSolutions and CloudFormation Validate, and warns that it skips feature.releaseCommand', () => {
    expect(findings).toEqual([LITE_SKIPS_RELEASE]);
  });

  test('records its kind in an SSM parameter that a full deploy of the branch would collide with', () => {
    expect(kindLocks(out[0].template)).toEqual([
      ['KindIsLiteSwitchWithAllowKindSwitch', { Name: `/staging/branches/${StagingNames.fromBranch(branch).name}/kind`, Type: 'String', Value: 'feature-lite' }],
    ]);
  });

  test('its kind record waits for the quota check like every other resource, so a refused first deploy records nothing', () => {
    expect(kindLocks(out[0].template)).toHaveLength(1);
    expect(notAfterQuota(out[0].template)).toEqual([]);
  });

  test('is that branch\'s FeatureStagingLite: its host, its branch variables, no Lambda', () => {
    const { template } = out[0];
    expect(hostLabel(template)).toBe(StagingNames.fromBranch(branch).name);
    for (const c of containers(template)) {
      expect(c.environment).toMatchObject({ BRANCH_NAME: branch, STAGING_STREAM: 'feature-staging', STAGING_NAME: StagingNames.fromBranch(branch).name });
    }
    expect(resources(template, 'AWS::Lambda::Function')).toEqual([]);
    expect(JSON.stringify(template)).not.toContain('Fn::ImportValue');
  });

  test('runs the staging block\'s web, worker and nightly job, staging-sized rather than shared-staging-sized', () => {
    const { template } = out[0];
    const services = resources(template, 'AWS::ECS::Service');
    expect(services).toHaveLength(2);
    for (const s of services) expect(s.Properties.DesiredCount).toBe(1);
    for (const td of resources(template, 'AWS::ECS::TaskDefinition')) {
      expect({ cpu: td.Properties.Cpu, memory: td.Properties.Memory }).toEqual({ cpu: '256', memory: '512' });
    }
    const schedules = resources(template, 'AWS::Scheduler::Schedule');
    expect(schedules.map((s) => s.Properties.ScheduleExpression)).toEqual(['cron(0 3 * * ? *)']);
    expect(containers(template).map((c) => c.environment.STAGING_SERVICE).sort()).toEqual(['nightly', 'web', 'worker']);
  });

  test('the staging block\'s app environment and image reach every container', () => {
    for (const c of containers(out[0].template)) {
      expect(c.environment.APP_LOG_LEVEL).toBe('info');
      expect(c.image).toBe(STAGING.app.image);
    }
  });
});

describe('ready-made app: cdk synth -c branch=feature/new_cool_page (FeatureStaging, own data)', () => {
  const branch = 'feature/new_cool_page';
  let findings: string[];
  let full: ReturnType<typeof synthesized>[number];
  let lite: ReturnType<typeof synthesized>[number];
  let switching: ReturnType<typeof synthesized>[number];

  beforeAll(() => {
    const { app } = branchApp({ branch });
    findings = formatFindings(validationFindings(app));
    [full] = synthesized(app);
    [lite] = liteExample().out;
    [switching] = synthesized(branchApp({ branch, allowKindSwitch: 'true' }).app);
  });

  test('is clean under cdk-nag AwsSolutions and CloudFormation Validate', () => {
    expect(findings).toEqual([]);
  });

  test('records its kind under the same parameter name as lite, in a resource of its own: switching kinds fails the deploy', () => {
    const name = `/staging/branches/${StagingNames.fromBranch(branch).name}/kind`;
    expect(kindLocks(full.template)).toEqual([['KindIsFullSwitchWithAllowKindSwitch', { Name: name, Type: 'String', Value: 'feature' }]]);
    expect(kindLocks(lite.template)).toEqual([['KindIsLiteSwitchWithAllowKindSwitch', { Name: name, Type: 'String', Value: 'feature-lite' }]]);
    expect(full.stackName).toBe(lite.stackName);
    // The message a failed switch shows names the flag that allows it.
    for (const t of [full.template, lite.template]) {
      expect(Object.values(t.Resources as Record<string, any>).find((r) => r.Type === 'AWS::SSM::Parameter')?.Properties.Description).toContain('-c allowKindSwitch=true');
    }
  });

  test('-c allowKindSwitch=true leaves the kind out for that deploy, and nothing else', () => {
    expect(kindLocks(switching.template)).toEqual([]);
    const ids = (t: any) => Object.keys(t.Resources).filter((id) => !id.startsWith('KindIs')).sort();
    expect(ids(switching.template)).toEqual(ids(full.template));
  });

  test('prints its cost per day as a stack output, as `staging cost <template>` prices the same template', async () => {
    // Full, the example's everyday choice: a database on the shared instance (priced with the shared
    // stack), a key prefix, a secret and logs of its own; the tasks stop asleep.
    expect(full.template.Outputs[FeatureOutputs.COST_PER_DAY].Value).toBe('$0.63/day awake, $0.01/day asleep (eu-west-1, prices as of 2026-09-29)');
    expect(lite.template.Outputs[FeatureOutputs.COST_PER_DAY].Value).toBe('$0.61/day awake, $0.00/day asleep (eu-west-1, prices as of 2026-09-29)');
    for (const { template, environment } of [full, lite]) expect(costOutput(template)).toEqual(await cliCost(template, environment.region));
  });

  test('records the image it runs, and with -c commit and -c pullRequest the last deploy\'s commit and pull request, as outputs (they change no resource)', () => {
    const outputs = (t: any) => ({ commit: t.Outputs[FeatureOutputs.COMMIT]?.Value, pullRequest: t.Outputs[FeatureOutputs.PULL_REQUEST]?.Value, image: t.Outputs[FeatureOutputs.IMAGE]?.Value });
    expect(outputs(full.template)).toEqual({ commit: undefined, pullRequest: undefined, image: STAGING.app.image });
    const image = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:3f2a1bc0d9e8';
    const [informed] = synthesized(branchApp({ branch, commit: '3f2a1bc0d9e8', pullRequest: '12', image }).app);
    expect(outputs(informed.template)).toEqual({ commit: '3f2a1bc0d9e8', pullRequest: '12', image });
    const [noPullRequest] = synthesized(branchApp({ branch, commit: '3f2a1bc0d9e8', pullRequest: '' }).app);
    expect(outputs(noPullRequest.template)).toEqual({ commit: '3f2a1bc0d9e8', pullRequest: undefined, image: STAGING.app.image });
    const others = (t: any) => ({ ...t, Outputs: undefined });
    expect(others(noPullRequest.template)).toEqual(others(full.template));
  });

  test('gives DATABASE_USERNAME as a plain variable, as FeatureStagingLite does', () => {
    for (const { template } of [full, lite]) {
      for (const td of resources(template, 'AWS::ECS::TaskDefinition')) {
        for (const c of td.Properties.ContainerDefinitions as any[]) {
          expect((c.Environment as Array<{ Name: string }>).map((e) => e.Name)).toContain('DATABASE_USERNAME');
          expect(((c.Secrets ?? []) as Array<{ Name: string }>).map((e) => e.Name)).not.toContain('DATABASE_USERNAME');
        }
      }
    }
  });
});

describe('ready-made app: awkward branch names', () => {
  const long = 'feature/' + 'x'.repeat(191);
  const branches: Array<[string, string]> = [
    ['underscore', 'feature/a_b'],
    ['hyphen', 'feature/a-b'],
    ['upper case', 'Fix/X'],
    ['lower case', 'fix/x'],
    ['200 characters ending in a', `${long}a`],
    ['200 characters ending in b', `${long}b`],
    ['Unicode', 'Ünïcödé/日本語'],
    ['leading digit', '1-fix'],
    ['leading hyphen', '-leading'],
    ['at sign', 'user@feature'],
    ['hash', 'issue#42'],
    ['dots', 'release/1.2.3'],
    ['single character', 'x'],
    ['the reserved name', 'shared'],
    ['the stagings page\'s reserved name', 'stagings'],
  ];
  /** These also run cdk-nag and CloudFormation Validate (the others only synthesize). */
  const validated = new Set([`${long}a`, 'Ünïcödé/日本語', 'issue#42']);
  const results = new Map<string, { stackNames: string[]; host: string; families: string[]; findings: string[] }>();

  beforeAll(() => {
    for (const [, branch] of branches) {
      const { app } = branchApp({ branch, lite: 'true' }, STAGING_NO_RELEASE);
      const findings = validated.has(branch) ? formatFindings(validationFindings(app)) : [];
      const out = synthesized(app);
      const families = resources(out[0].template, 'AWS::ECS::TaskDefinition').map((td) => td.Properties.Family);
      results.set(branch, { stackNames: out.map((s) => s.stackName), host: hostLabel(out[0].template), families, findings });
    }
  });

  test.each(branches)('%s (%j) gives one stack with a valid stack name and host name', (_, branch) => {
    const r = results.get(branch)!;
    const names = StagingNames.fromBranch(branch);
    expect(r.stackNames).toEqual([names.stackName]);
    expect(r.stackNames[0]).toMatch(STACK_NAME);
    expect(r.host).toBe(names.name);
    expect(r.host).toMatch(DNS_LABEL);
    expect(`${r.host}.${DOMAIN}`.length).toBeLessThanOrEqual(253);
    for (const family of r.families) expect(family).toMatch(/^[A-Za-z0-9_-]{1,255}$/);
    expect(r.findings).toEqual([]);
  });

  test('every branch gets its own stack and host, and none is the shared stack', () => {
    const stackNames = [...results.values()].map((r) => r.stackNames[0]);
    const hosts = [...results.values()].map((r) => r.host);
    expect(new Set(stackNames).size).toBe(branches.length);
    expect(new Set(hosts).size).toBe(branches.length);
    expect(stackNames).not.toContain(`${STAGING.prefix}-shared`);
    expect(hosts).not.toContain('shared');
    const families = [...results.values()].flatMap((r) => r.families);
    expect(new Set(families).size).toBe(families.length);
  });

  test('the 200-character branches are validated and keep their words', () => {
    expect(results.get(`${long}a`)!.stackNames[0]).toMatch(/^staging-feature-x{20,}-[0-9a-f]{8}$/);
  });
});

describe('ready-made app: bad input fails with the key and the value', () => {
  const fails = (context: Record<string, unknown>, staging: unknown = STAGING) => () => branchApp(context, staging);

  test.each([
    ['empty', ''],
    ['blank', '  '],
  ])('fails when the branch is %s', (_, branch) => {
    expect(fails({ branch, lite: 'true' })).toThrow(new RegExp(`branch: .*git branch.*\\(got ${JSON.stringify(branch)}\\)`));
  });

  test('fails when -c env is not JSON', () => {
    expect(fails({ branch: 'feature/x', lite: 'true', env: 'not json' })).toThrow(/env: must be a JSON object.*\(got "not json"\)/);
  });

  test('fails when -c env names an invalid variable', () => {
    expect(fails({ branch: 'feature/x', lite: 'true', env: '{"1BAD":"x"}' })).toThrow(/env\.1BAD: is not a valid environment variable name.*\(got "1BAD"\)/);
  });

  test('fails when -c env is not an object of strings', () => {
    expect(fails({ branch: 'feature/x', lite: 'true', env: '["LOG_LEVEL"]' })).toThrow(/env: must be an object of variables, e\.g\. .* \(got \["LOG_LEVEL"\]\)/);
    expect(fails({ branch: 'feature/x', lite: 'true', env: '{"LOG_LEVEL":{"level":"debug"}}' })).toThrow(/env\.LOG_LEVEL: must be a string \(got \{"level":"debug"\}\)/);
  });

  test('fails when -c lite is neither true nor false', () => {
    expect(fails({ branch: 'feature/x', lite: 'maybe' })).toThrow(/lite: must be true or false \(got "maybe"\)/);
  });

  test('fails when -c image is not an image reference', () => {
    expect(fails({ branch: 'feature/x', lite: 'true', image: 'my image' })).toThrow(/image: is not an image Docker can pull: it contains white space; write it like .*\(got "my image"\)/);
  });

  test('fails when -c image is empty, rather than silently deploying the default image', () => {
    // `-c image=$IMAGE` with IMAGE unset in CI.
    expect(fails({ branch: 'feature/x', lite: 'true', image: '' })).toThrow(/image: .*\(got ""\)/);
  });

  test('reports every problem of the branch context at once', () => {
    expect(fails({ branch: ' ', lite: 'maybe', env: 'not json' })).toThrow(/branch: [^]*lite: [^]*env: /);
  });

  test('fails when a branch size in staging.feature.services is out of range', () => {
    const staging = { ...STAGING, feature: { services: { web: { cpu: 100, desiredCount: 'two' } } } };
    expect(fails({ branch: 'feature/x', lite: 'true' }, staging)).toThrow(/staging\.feature\.services\.web\.cpu: must be >= 256 and <= 16384 \(got 100\)/);
    expect(fails({ branch: 'feature/x', lite: 'true' }, staging)).toThrow(/staging\.feature\.services\.web\.desiredCount: must be a whole number.*\(got "two"\)/);
  });

  test('fails when staging.feature.services sizes a service the app does not have', () => {
    const staging = { ...STAGING, feature: { services: { wrker: { cpu: 512, memoryMiB: 1024 } } } };
    expect(fails({ branch: 'feature/x', lite: 'true' }, staging)).toThrow(/staging\.feature\.services\.wrker/);
  });

  test('fails when staging.feature.services gives a CPU and memory that Fargate does not offer, naming the key', () => {
    const staging = { ...STAGING, feature: { services: { web: { cpu: 256, memoryMiB: 8192 } } } };
    const synth = () => {
      const { app } = branchApp({ branch: 'feature/x', lite: 'true' }, staging);
      app.synth();
    };
    expect(synth).toThrow(/staging\.feature\.services\.web[^]*256[^]*8192/);
  });
});

describe('ready-made app: -c env and -c image', () => {
  const image = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:3f2a1bc';
  let template: any;
  let findings: string[];

  beforeAll(() => {
    const { app } = branchApp(
      { branch: 'feature/new_cool_page', lite: 'true', env: '{"LOG_LEVEL":"debug","DATABASE_HOST":"db.branch.internal"}', image },
      STAGING_NO_RELEASE,
    );
    findings = formatFindings(validationFindings(app));
    template = synthesized(app)[0].template;
  });

  test('is clean under cdk-nag AwsSolutions and CloudFormation Validate', () => {
    expect(findings).toEqual([]);
  });

  test('-c env reaches every container and wins over the shared data sources', () => {
    const all = containers(template);
    expect(all).toHaveLength(3);
    for (const c of all) {
      expect(c.environment).toMatchObject({ LOG_LEVEL: 'debug', DATABASE_HOST: 'db.branch.internal', APP_LOG_LEVEL: 'info' });
    }
  });

  test('-c image replaces the image of every container', () => {
    for (const c of containers(template)) expect(JSON.stringify(c.image)).toContain('app:3f2a1bc');
  });

  test('tasks may pull a private ECR -c image: every execution role gets ECR pull rights on that repository', () => {
    const executionRoles = resources(template, 'AWS::ECS::TaskDefinition').map((td) => td.Properties.ExecutionRoleArn['Fn::GetAtt'][0]);
    expect(executionRoles).toHaveLength(3);
    const policies = resources(template, 'AWS::IAM::Policy');
    for (const role of executionRoles) {
      const statements = policies
        .filter((p) => (p.Properties.Roles as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: role })))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as any[]);
      const allowed = (action: string) =>
        statements.filter((st) => st.Effect === 'Allow' && [st.Action].flat().includes(action)).map((st) => JSON.stringify(st.Resource));
      expect({ role, pull: allowed('ecr:BatchGetImage') }).toEqual({ role, pull: [expect.stringContaining(':repository/app')] });
      expect({ role, layers: allowed('ecr:GetDownloadUrlForLayer') }).toEqual({ role, layers: [expect.stringContaining(':repository/app')] });
      expect({ role, token: allowed('ecr:GetAuthorizationToken') }).toEqual({ role, token: ['"*"'] });
    }
  });
});

describe('ready-made app without a branch', () => {
  // Only the stack list: whether the shared stack is clean is test/app-shared.test.ts's business.
  test('gives one stack, staging-shared', () => {
    const app = testApp({ context: { staging: STAGING } });
    const stacks = buildStagingApp(app);
    expect(stacks.map((s) => s.stackName)).toEqual(['staging-shared']);
    expect(app.node.children.filter((c) => Stack.isStack(c)).map((c) => (c as Stack).stackName)).toEqual(['staging-shared']);
  });
});

describe('ready-made app: staging.app.cpuArchitecture and staging.feature.stopDatabaseAfterMinutes', () => {
  const architectures = (stack: Stack) =>
    Object.values(Template.fromStack(stack).findResources('AWS::ECS::TaskDefinition'))
      .filter((r) => !/database-template-refresh/.test(String(r.Properties.Family)))
      .map((r) => r.Properties.RuntimePlatform.CpuArchitecture);

  test('x86_64 by default, for the branch and the shared app', () => {
    for (const context of [{ branch: 'feature/x' }, {}]) {
      const arch = architectures(buildStagingApp(new App({ context: { staging: STAGING, ...context } }))[0]);
      expect(new Set(arch)).toEqual(new Set(['X86_64']));
    }
  });

  test('"arm64" puts every task of the branch (full and lite) and of the shared app on ARM64', () => {
    const staging = { ...STAGING, app: { ...STAGING.app, cpuArchitecture: 'arm64' } };
    for (const context of [{ branch: 'feature/x' }, { branch: 'feature/x', lite: 'true' }, {}]) {
      const arch = architectures(buildStagingApp(new App({ context: { staging, ...context } }))[0]);
      expect({ context, arch: [...new Set(arch)] }).toEqual({ context, arch: ['ARM64'] });
    }
  });

  test('fails on another architecture, naming the values', () => {
    const staging = { ...STAGING, app: { ...STAGING.app, cpuArchitecture: 'arm' } };
    expect(() => buildStagingApp(new App({ context: { staging, branch: 'feature/x' } }))).toThrow(
      expect.objectContaining({ lines: expect.arrayContaining([expect.stringMatching(/app\.cpuArchitecture.*must be one of "x86_64", "arm64"/)]) }),
    );
  });

  const withStop = (database: string, minutes: number, extra: Record<string, unknown> = {}) => ({
    ...STAGING,
    feature: { ...STAGING.feature, ...extra, database: { ...STAGING.feature.database, mode: database }, stopDatabaseAfterMinutes: minutes },
  });

  test('stopDatabaseAfterMinutes reaches the sleep record of a branch with its own RDS instance, and the cost asleep', () => {
    const [stack] = buildStagingApp(new App({ context: { staging: withStop('snapshot', 120), branch: 'feature/x' } }));
    const json = Template.fromStack(stack).toJSON();
    const sleep = Object.values<any>(json.Resources).find((r) => r.Type === 'Custom::StagingSleep');
    expect(sleep.Properties.StopDatabaseAfterMinutes).toBe('120');
    expect(json.Outputs[FeatureOutputs.COST_PER_DAY].Value).toMatch(/^\$1\.\d\d\/day awake, \$0\.[0-4]\d\/day asleep/);
  });

  test.each([
    ['template', 120, {}, /stops a branch's own RDS instance, which only feature\.database\.mode "snapshot" gives \(the mode is "template"\)/],
    ['snapshot', 30, {}, /must be 0 \(never stop\) or at least 60/],
    ['snapshot', 120, { sleepAfterMinutes: 0 }, /needs branches that sleep, but feature\.sleepAfterMinutes is 0/],
  ])('fails with database mode %s and %i minutes, saying why', (mode, minutes, extra, message) => {
    expect(() => buildStagingApp(new App({ context: { staging: withStop(mode, minutes, extra), branch: 'feature/x' } }))).toThrow(
      expect.objectContaining({ lines: expect.arrayContaining([expect.stringMatching(message)]) }),
    );
  });
});
