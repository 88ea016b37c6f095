import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { build as buildBringYourOwn, SHARED_STACK_NAME } from '../examples/bring-your-own/stacks';
import { build as buildFrontendLite } from '../examples/frontend-lite/stacks';
import { build as buildRailsApp } from '../examples/rails-app/stacks';
import { StagingNames } from '../lib/contract/naming';
import { FEATURE_FLAGS, formatFindings, testApp, validationFindings } from './util/validate';

const EXAMPLES = join(__dirname, '..', 'examples');
const BRANCH = 'feature/new_cool_page';

interface Case {
  readonly example: string;
  readonly build: (app: App) => Stack[];
  readonly sharedStackName: string;
  readonly prefix: string;
  /** The construct that must be in the branch stack. */
  readonly branchResource: string;
}

const CASES: Case[] = [
  { example: 'rails-app', build: buildRailsApp, sharedStackName: 'staging-shared', prefix: 'staging', branchResource: 'Custom::StagingDatabase' },
  { example: 'frontend-lite', build: buildFrontendLite, sharedStackName: 'staging-shared', prefix: 'staging', branchResource: 'Custom::StagingListenerRule' },
  { example: 'bring-your-own', build: buildBringYourOwn, sharedStackName: SHARED_STACK_NAME, prefix: 'acme', branchResource: 'Custom::StagingRedisPrefix' },
];

/** Synthesizes once and keeps what the assertions need. */
function synth(c: Case, context: Record<string, unknown>) {
  const app = testApp({ context });
  const stacks = c.build(app);
  const findings = formatFindings(validationFindings(app));
  const assembly = app.synth();
  return {
    stacks,
    findings,
    out: assembly.stacks.map((s) => ({ stackName: s.stackName, template: s.template as any, tags: s.tags, region: s.environment.region })),
  };
}

function resources(template: any, type: string): any[] {
  return Object.values(template.Resources as Record<string, any>).filter((r) => r.Type === type);
}

function containerEnvironments(template: any): Array<Record<string, unknown>> {
  return resources(template, 'AWS::ECS::TaskDefinition').flatMap((td) =>
    (td.Properties.ContainerDefinitions as any[]).map((c) =>
      Object.fromEntries(((c.Environment ?? []) as Array<{ Name: string; Value: unknown }>).map((e) => [e.Name, e.Value])),
    ),
  );
}

function commands(template: any): string[][] {
  return resources(template, 'AWS::ECS::TaskDefinition').flatMap((td) => (td.Properties.ContainerDefinitions as any[]).map((c) => c.Command ?? []));
}

describe.each(CASES)('examples/$example', (c) => {
  describe('cdk synth (shared staging)', () => {
    let result: ReturnType<typeof synth>;
    beforeAll(() => {
      result = synth(c, {});
    });

    test('gives exactly the shared stack, in eu-west-1', () => {
      expect(result.stacks).toHaveLength(1);
      expect(result.out.map((s) => s.stackName)).toEqual([c.sharedStackName]);
      expect(result.out[0].region).toBe('eu-west-1');
    });

    test('is a SharedStagingStack: tagged as the shared staging of its prefix (what the sweeper\'s explicit denies read)', () => {
      expect(result.out[0].tags).toEqual({ 'staging:kind': 'shared', 'staging:prefix': c.prefix, 'staging:managed-by': 'cdk-multi-staging' });
    });

    test('is clean under cdk-nag AwsSolutions and CloudFormation Validate', () => {
      expect(result.findings).toEqual([]);
    });

    test('runs the sweeper for its prefix, with a 3-day idle timeout', () => {
      const functions = resources(result.out[0].template, 'AWS::Lambda::Function').filter((f) => f.Properties.Environment?.Variables?.IDLE_TIMEOUT_SECONDS);
      expect(functions).toHaveLength(1);
      expect(functions[0].Properties.Environment.Variables).toMatchObject({ STAGING_PREFIX: c.prefix, IDLE_TIMEOUT_SECONDS: String(3 * 24 * 3600) });
    });
  });

  describe(`cdk synth -c branch=${BRANCH}`, () => {
    let result: ReturnType<typeof synth>;
    beforeAll(() => {
      result = synth(c, { branch: BRANCH });
    });

    test('gives exactly the branch stack, named <prefix>-<staging name> as the sweeper requires', () => {
      const names = StagingNames.fromBranch(BRANCH, c.prefix);
      expect(result.stacks).toHaveLength(1);
      expect(result.out.map((s) => s.stackName)).toEqual([names.stackName]);
      expect(result.out[0].region).toBe('eu-west-1');
      // What the sweeper matches on (lambda/sweeper/model.ts classifyStack).
      expect(result.out[0].tags).toMatchObject({ 'staging:prefix': c.prefix, 'staging:name': names.name });
      expect(result.out[0].stackName).toBe(`${result.out[0].tags['staging:prefix']}-${result.out[0].tags['staging:name']}`);
      expect(['feature', 'feature-lite']).toContain(result.out[0].tags['staging:kind']);
    });

    test('is clean under cdk-nag AwsSolutions and CloudFormation Validate', () => {
      expect(result.findings).toEqual([]);
    });

    test('is a BranchStagingStack: it records its kind, so a redeploy of the other kind fails instead of deleting data', () => {
      const locks = Object.entries(result.out[0].template.Resources as Record<string, any>).filter(([id]) => id.startsWith('KindIs'));
      expect(locks.map(([, r]) => [r.Properties.Name, r.Properties.Value])).toEqual([
        [`/${c.prefix}/branches/${StagingNames.fromBranch(BRANCH, c.prefix).name}/kind`, result.out[0].tags['staging:kind']],
      ]);
    });

    test('holds the branch staging and no Lambda function', () => {
      const { template } = result.out[0];
      expect(resources(template, c.branchResource).length).toBeGreaterThan(0);
      expect(resources(template, 'AWS::Lambda::Function')).toEqual([]);
    });
  });
});

describe('examples/rails-app: what the example promises', () => {
  let template: any;
  beforeAll(() => {
    template = synth(CASES[0], { branch: BRANCH }).out[0].template;
  });

  test('web, a Sidekiq worker, a cron job and a migrate release task', () => {
    const all = commands(template);
    expect(all).toContainEqual(expect.arrayContaining(['bin/rails', 'server']));
    expect(all).toContainEqual(['bundle', 'exec', 'sidekiq']);
    expect(all).toContainEqual(['bin/rails', 'db:migrate']);
    expect(resources(template, 'AWS::Scheduler::Schedule')).toHaveLength(1);
    expect(resources(template, 'Custom::StagingRelease')[0].Properties.Command).toEqual(['bin/rails', 'db:migrate']);
  });

  test('its own Postgres from the newest snapshot, its own Valkey, its own restored Solr collection', () => {
    expect(resources(template, 'Custom::StagingDatabase')).toHaveLength(1);
    expect(resources(template, 'AWS::ElastiCache::ReplicationGroup')).toHaveLength(1);
    expect(resources(template, 'Custom::StagingSolrCollection')[0].Properties).toMatchObject({ Mode: 'restore', SourceCollection: 'products' });
  });
});

describe('examples refuse an image that cannot run', () => {
  test('rails-app: an empty -c imageTag (an unset $GIT_SHA) would pull latest, which CI never pushes', () => {
    expect(() => synth(CASES[0], { branch: BRANCH, imageTag: '' })).toThrow(/^imageTag must be a Docker tag, e\.g\. a commit SHA \(got ""\); is the variable in -c imageTag=\$GIT_SHA set\?/);
  });

  test('frontend-lite: an empty -c image (an unset $IMAGE) fails rather than deploy the default', () => {
    expect(() => synth(CASES[1], { branch: BRANCH, image: '' })).toThrow(/^image must be an image reference when given \(got ""\); is the variable in -c image=\$IMAGE set\?/);
  });

  test('frontend-lite: an image Docker cannot pull fails at synth, from the construct', () => {
    expect(() => synth(CASES[1], { branch: BRANCH, image: 'MyApp:Latest' })).toThrow(/^image has an upper-case repository "MyApp"/);
  });
});

describe('examples/frontend-lite: what the example promises', () => {
  test('a FeatureStagingLite whose environment override wins', () => {
    const out = synth(CASES[1], { branch: BRANCH }).out[0];
    expect(out.tags['staging:kind']).toBe('feature-lite');
    for (const env of containerEnvironments(out.template)) {
      expect(env).toMatchObject({ API_BASE_URL: 'https://shared.staging.example.com/api', LOG_LEVEL: 'debug' });
    }
    expect(resources(out.template, 'Custom::StagingDatabase')).toEqual([]);
    expect(resources(out.template, 'AWS::ElastiCache::ReplicationGroup')).toEqual([]);
  });
});

describe('examples/bring-your-own: what the example promises', () => {
  test('the shared staging uses the existing VPC and zone: it creates neither', () => {
    const { template } = synth(CASES[2], {}).out[0];
    expect(resources(template, 'AWS::EC2::VPC')).toEqual([]);
    expect(resources(template, 'AWS::EC2::Subnet')).toEqual([]);
    expect(resources(template, 'AWS::Route53::HostedZone')).toEqual([]);
    const lb = resources(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer')[0];
    expect(lb.Properties.Subnets).toEqual(['subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002']);
    const parameters = resources(template, 'AWS::SSM::Parameter').map((p) => p.Properties.Name);
    expect(parameters).toContain('/acme/staging/shared/vpc-id');
  });

  test('mixed data: own database from production, shared Redis with a key prefix, shared Solr', () => {
    const { template } = synth(CASES[2], { branch: BRANCH }).out[0];
    expect(resources(template, 'Custom::StagingDatabase')[0].Properties.SourceInstanceIdentifier).toBe('acme-production');
    expect(resources(template, 'Custom::StagingRedisPrefix')).toHaveLength(1);
    expect(resources(template, 'AWS::ElastiCache::ReplicationGroup')).toEqual([]);
    expect(resources(template, 'Custom::StagingSolrCollection')).toEqual([]);
  });

  test('refuses a branch whose stack name would be the shared stack\'s', () => {
    expect(() => buildBringYourOwn(new App({ context: { ...FEATURE_FLAGS, branch: 'platform-staging' } }))).toThrow(/acme-platform-staging.*shared staging/);
  });
});

/** Every file below `dir`, as paths relative to examples/. */
function filesBelow(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (entry === 'node_modules' || entry === 'cdk.out') return [];
    return statSync(path).isDirectory() ? filesBelow(path) : [relative(EXAMPLES, path)];
  });
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)(['"])([^'"]+)\1/gm;

describe('examples import the package as users do', () => {
  const files = filesBelow(EXAMPLES).filter((f) => !f.startsWith(`ci/`) && /\.(ts|js|mjs|cjs|tsx)$/.test(f));

  test('the examples are there', () => {
    for (const c of CASES) {
      for (const f of ['stacks.ts', 'app.ts', 'cdk.json', 'README.md']) {
        expect(filesBelow(EXAMPLES)).toContain(join(c.example, f));
      }
    }
  });

  test.each(files)('%s imports nothing from lib/ or a parent directory', (file) => {
    const source = readFileSync(join(EXAMPLES, file), 'utf8');
    const specifiers = [...source.matchAll(IMPORT)].map((m) => m[2]);
    expect(specifiers.length).toBeGreaterThan(0);
    expect(specifiers.filter((s) => s.startsWith('.') && (s.includes('lib/') || s.includes('../')))).toEqual([]);
  });

  test('the import check catches a relative lib/ import', () => {
    const specifiers = [...`import { X } from '../../lib';\nimport '../lib/index';\nconst y = require("../../lib/naming");`.matchAll(IMPORT)].map((m) => m[2]);
    expect(specifiers).toEqual(['../../lib', '../lib/index', '../../lib/naming']);
  });

  test.each(CASES.map((c) => c.example))('%s/cdk.json runs app.ts with the project\'s feature flags (CloudFormation Validate on)', (example) => {
    const cdkJson = JSON.parse(readFileSync(join(EXAMPLES, example, 'cdk.json'), 'utf8'));
    expect(cdkJson.app).toBe('npx tsx app.ts');
    expect(cdkJson.context).toEqual(FEATURE_FLAGS);
    expect(cdkJson.context['@aws-cdk/core:validateAgainstDefaultRules']).toBe(true);
  });
});
