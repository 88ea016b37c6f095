/**
 * StagingDatabase.fromTemplate(): the branch stack (template database + shared key prefix: no
 * per-branch instance at all) and the shared side (golden template, its refresh, the provider).
 */
import { readFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { App, CustomResource, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { buildStagingApp } from '../bin/staging-app';
import { BranchStagingStack, FeatureStaging, ISharedStaging, SharedStaging, SharedStagingRef, StagingAccess, StagingCache, StagingDatabase, StagingNames } from '../lib';
import { DatabaseTemplateEnvironment as E } from '../lib/contract/providers/database-template';
import { GOLDEN_REFRESH_SCRIPT } from '../lib/private/golden-refresh-script';
import { container, containers, join, only, onlyId, resourcesOfType, ssm, ssmParameterIds } from './util/template';
import { criticalPath, dependencies } from '../scripts/critical-path';
import { SNAPSHOT_STAGING } from './util/example-config';
import { formatFindings, testApp, validationFindings } from './util/validate';

const ENV = { account: '123456789012', region: 'eu-west-1' };
const BRANCH = 'feature/new_cool_page';
const NAMES = StagingNames.fromBranch(BRANCH);
const STAGING = JSON.parse(readFileSync(joinPath(__dirname, '..', 'cdk.json'), 'utf8')).context.staging;
const TEMPLATE_AND_PREFIX = { ...STAGING, feature: { ...STAGING.feature, database: { mode: 'template' }, cache: { mode: 'prefix' } } };
const getAtt = (id: string, attribute: string) => ({ 'Fn::GetAtt': [id, attribute] });

describe('StagingNames.branchDatabaseName', () => {
  test('is <prefix>_br_<name> with _ for -, within 63 bytes, and distinct for distinct branches', () => {
    expect(StagingNames.fromBranch('main').branchDatabaseName).toBe('staging_br_main');
    expect(NAMES.branchDatabaseName).toBe(`staging_br_${NAMES.name.replace(/-/g, '_')}`);
    const long = StagingNames.fromBranch(`feature/${'very-long-words-'.repeat(8)}`, 'averyverylongprefix1');
    expect(Buffer.byteLength(long.branchDatabaseName)).toBeLessThanOrEqual(63);
    expect(long.branchDatabaseName).toMatch(/^averyverylongprefix1_br_[a-z0-9_]+_[0-9a-f]{8}$/);
    expect(StagingNames.fromBranch('feature/a_b').branchDatabaseName).not.toBe(StagingNames.fromBranch('feature/a-b').branchDatabaseName);
  });
});

describe('FeatureStaging with StagingDatabase.fromTemplate() and StagingCache.sharedPrefix()', () => {
  let app: App;
  let stack: Stack;
  let staging: FeatureStaging;
  let json: any;
  let findings: string[];
  const P = (name: string) => ssm(json, `/staging/shared/${name}`);

  beforeAll(() => {
    app = testApp();
    const branchStack = new BranchStagingStack(app, { branch: BRANCH, env: ENV });
    stack = branchStack;
    staging = new FeatureStaging(stack, 'Staging', {
      branch: BRANCH,
      shared: branchStack.shared,
      image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/nginx:1.27'),
      database: StagingDatabase.fromTemplate(),
      cache: StagingCache.sharedPrefix(),
      releaseCommand: ['bin/rails', 'db:migrate'],
    });
    findings = formatFindings(validationFindings(app));
    json = Template.fromStack(stack).toJSON();
  });

  test('is clean under cdk-nag AwsSolutions and CloudFormation Validate', () => {
    expect(findings).toEqual([]);
  });

  test('has no instance of its own: no RDS, no ElastiCache, no Lambda, no Fn::ImportValue', () => {
    const types = Object.values(json.Resources as Record<string, any>).map((r) => String(r.Type));
    expect(types.filter((t) => /^AWS::(RDS|ElastiCache|Lambda)::/.test(t))).toEqual([]);
    expect(types).not.toContain('Custom::StagingDatabase');
    expect(JSON.stringify(json)).not.toContain('Fn::ImportValue');
  });

  test('one Custom::StagingTemplateDatabase from the shared database-template provider names the branch database, its role and secret', () => {
    const db = only(json, 'Custom::StagingTemplateDatabase');
    const secretId = onlyId(json, 'AWS::SecretsManager::Secret');
    expect(db.Properties).toEqual({
      ServiceToken: P('providers/database-template/service-token'),
      ServiceTimeout: '3600',
      DatabaseName: NAMES.branchDatabaseName,
      RoleName: NAMES.branchDatabaseName,
      PasswordSecretArn: { Ref: secretId },
      ConnectionLimit: '20',
      StagingName: NAMES.name,
    });
    expect(db.DeletionPolicy).toBe('Delete');
    const secret = json.Resources[secretId];
    expect(secret.Properties.Name).toBe(`staging/branches/${NAMES.name}/database`);
    expect(JSON.parse(secret.Properties.GenerateSecretString.SecretStringTemplate)).toEqual({ username: NAMES.branchDatabaseName });
    expect(secret.DeletionPolicy).toBe('Delete');
  });

  test('containers get DATABASE_* from the custom resource (so they wait for the copy) and the password as a secret', () => {
    const dbId = onlyId(json, 'Custom::StagingTemplateDatabase');
    const secretId = onlyId(json, 'AWS::SecretsManager::Secret');
    for (const c of containers(json)) {
      expect(c.environment).toMatchObject({
        DATABASE_HOST: getAtt(dbId, 'Endpoint'),
        DATABASE_PORT: getAtt(dbId, 'Port'),
        DATABASE_NAME: getAtt(dbId, 'DatabaseName'),
        DATABASE_USERNAME: getAtt(dbId, 'Username'),
        REDIS_KEY_PREFIX: getAtt(onlyId(json, 'Custom::StagingRedisPrefix'), 'KeyPrefix'),
      });
      expect(c.secrets.DATABASE_PASSWORD).toEqual(join({ Ref: secretId }, ':password::'));
      expect(c.secrets).not.toHaveProperty('DATABASE_USERNAME');
    }
    // The shared database's endpoint and admin secret are never read by a branch.
    expect(ssmParameterIds(json, '/staging/shared/database/secret-arn')).toEqual([]);
    expect(ssmParameterIds(json, '/staging/shared/database/endpoint')).toEqual([]);
  });

  test('the release command runs against the branch\'s copy, after it is made', () => {
    const release = only(json, 'Custom::StagingRelease');
    expect(release).toBeDefined();
    expect(container(json, 'release').environment.DATABASE_NAME).toEqual(getAtt(onlyId(json, 'Custom::StagingTemplateDatabase'), 'DatabaseName'));
  });

  test('exposes typed information about the copy', () => {
    expect(staging.database.resource).toBeInstanceOf(CustomResource);
    expect(stack.resolve(staging.database.username)).toEqual(getAtt(onlyId(json, 'Custom::StagingTemplateDatabase'), 'Username'));
    expect(staging.cache.resource).toBeInstanceOf(CustomResource);
  });
});

describe('StagingDatabase.fromTemplate() options and bad input', () => {
  function build(database: StagingDatabase, shared?: (stack: Stack) => ISharedStaging): () => any {
    return () => {
      const stack = new Stack(new App(), 'F', { env: ENV });
      new FeatureStaging(stack, 'Staging', {
        branch: BRANCH,
        shared: shared ? shared(stack) : SharedStagingRef.fromParameters(stack, 'Shared'),
        image: ecs.ContainerImage.fromRegistry('nginx'),
        database,
      });
      return Template.fromStack(stack).toJSON();
    };
  }

  test('connectionLimit and refreshToken pass through', () => {
    const json = build(StagingDatabase.fromTemplate({ connectionLimit: 5, refreshToken: '2026-12-01' }))();
    expect(only(json, 'Custom::StagingTemplateDatabase').Properties).toMatchObject({ ConnectionLimit: '5', RefreshToken: '2026-12-01' });
  });

  test('fails when connectionLimit is not a whole number from 1 to 1000, naming the option and the value', () => {
    expect(build(StagingDatabase.fromTemplate({ connectionLimit: 0 }))).toThrow(/database connectionLimit must be a whole number from 1 to 1000 \(got 0\)/);
    expect(build(StagingDatabase.fromTemplate({ connectionLimit: 2.5 }))).toThrow(/\(got 2\.5\)/);
  });

  test('fails when the shared staging has no Postgres, saying what to do', () => {
    const withoutDatabase = (stack: Stack): ISharedStaging => {
      const ref = SharedStagingRef.fromParameters(stack, 'Shared');
      return new Proxy(ref, { get: (target, key) => (key === 'database' ? undefined : Reflect.get(target, key, target)) });
    };
    expect(build(StagingDatabase.fromTemplate(), withoutDatabase)).toThrow(/fromTemplate\(\) needs the shared staging's Postgres, but shared.database is undefined; .*fromLatestSnapshot/);
  });
});

describe('ready-made app with feature.database.mode "template" and feature.cache.mode "prefix"', () => {
  test('the branch stack has no RDS, ElastiCache or Lambda resource, and is clean', () => {
    const app = testApp({ context: { staging: TEMPLATE_AND_PREFIX, branch: BRANCH } });
    const [stack] = buildStagingApp(app);
    const findings = formatFindings(validationFindings(app));
    const json = Template.fromStack(stack).toJSON();
    expect(findings).toEqual([]);
    const types = Object.values(json.Resources as Record<string, any>).map((r) => String(r.Type));
    expect(types.filter((t) => /^AWS::(RDS|ElastiCache|Lambda)::/.test(t))).toEqual([]);
    expect(resourcesOfType(json, 'Custom::StagingTemplateDatabase')).toHaveLength(1);
    expect(resourcesOfType(json, 'Custom::StagingRedisPrefix')).toHaveLength(1);
  });

  test('the modelled time to URL is within 8 minutes: copy, release, service (with the shared Solr)', () => {
    const staging = { ...TEMPLATE_AND_PREFIX, feature: { ...TEMPLATE_AND_PREFIX.feature, solr: { mode: 'shared' } } };
    const json = Template.fromStack(buildStagingApp(new App({ context: { staging, branch: BRANCH } }))[0]).toJSON();
    const chain = criticalPath(json);
    expect(chain.seconds).toBeLessThanOrEqual(8 * 60);
    expect(chain.resources.map((r) => r.type).filter((t) => t.startsWith('Custom::') || t === 'AWS::ECS::Service')).toEqual([
      // The staging cap is checked before anything else of the branch is created.
      'Custom::StagingQuota',
      'Custom::StagingTemplateDatabase',
      'Custom::StagingRelease',
      'AWS::ECS::Service',
      // Records the branch for sleep and wake once its services run (the branch is created awake).
      'Custom::StagingSleep',
    ]);
  });

  test('-c refreshData=true sets a RefreshToken on the template database', () => {
    const app = new App({ context: { staging: TEMPLATE_AND_PREFIX, branch: BRANCH, refreshData: 'true' } });
    const json = Template.fromStack(buildStagingApp(app)[0]).toJSON();
    expect(only(json, 'Custom::StagingTemplateDatabase').Properties.RefreshToken).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  describe('the shared stack', () => {
    let json: any;
    let findings: string[];

    beforeAll(() => {
      const app = testApp({ context: { staging: TEMPLATE_AND_PREFIX } });
      const [stack] = buildStagingApp(app);
      findings = formatFindings(validationFindings(app));
      json = Template.fromStack(stack).toJSON();
    });

    test('is clean under cdk-nag AwsSolutions and CloudFormation Validate', () => {
      expect(findings).toEqual([]);
    });

    test('publishes the database-template provider\'s service token', () => {
      const tokens = resourcesOfType(json, 'AWS::SSM::Parameter').filter(([, p]) => p.Properties.Name === '/staging/shared/providers/database-template/service-token');
      expect(tokens).toHaveLength(1);
    });

    function handler(): any {
      const found = resourcesOfType(json, 'AWS::Lambda::Function').filter(([, f]) => f.Properties.Description === 'database-template staging provider: onEvent');
      expect(found).toHaveLength(1);
      return found[0][1];
    }

    test('its handler runs in the shared VPC with the workload security group (which may reach Postgres)', () => {
      const fn = handler();
      expect(fn.Properties.VpcConfig.SecurityGroupIds).toHaveLength(1);
      const sgId = fn.Properties.VpcConfig.SecurityGroupIds[0]['Fn::GetAtt'][0];
      const ingress = resourcesOfType(json, 'AWS::EC2::SecurityGroupIngress').filter(([, r]) => r.Properties.FromPort === 5432);
      expect(ingress.map(([, r]) => r.Properties.SourceSecurityGroupId['Fn::GetAtt'][0])).toContain(sgId);
    });

    test('its environment fixes what it may touch: the golden template, the branch prefix, the protected app database', () => {
      const vars = handler().Properties.Environment.Variables;
      expect(vars).toMatchObject({
        [E.TEMPLATE_DATABASE]: 'staging_template',
        [E.TEMPLATE_OWNER]: 'staging_template_owner',
        [E.BRANCH_PREFIX]: 'staging_br_',
        [E.PROTECTED_DATABASES]: 'app',
        [E.MAINTENANCE_DATABASE]: 'postgres',
        [E.SSL]: 'true',
        NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
      });
      expect(JSON.stringify(vars[E.REFRESH_COMMAND])).toContain('aws ecs run-task');
    });

    test('its role may read the admin secret and the branches\' secrets only', () => {
      const fn = handler();
      const roleId = fn.Properties.Role['Fn::GetAtt'][0];
      const statements = resourcesOfType(json, 'AWS::IAM::Policy')
        .filter(([, p]) => (p.Properties.Roles as any[]).some((r) => r.Ref === roleId))
        .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as any[]);
      const actions = statements.flatMap((s) => [].concat(s.Action));
      expect(actions.filter((a: string) => !a.startsWith('logs:'))).toEqual(['secretsmanager:GetSecretValue']);
      const secretStatement = statements.find((s) => [].concat(s.Action).includes('secretsmanager:GetSecretValue' as never));
      expect(JSON.stringify(secretStatement.Resource)).toContain(':secret:staging/branches/*');
    });

    test('the golden template is refreshed nightly by a Fargate task with the official postgres image of the shared version', () => {
      const schedules = resourcesOfType(json, 'AWS::Scheduler::Schedule').filter(([, r]) => /golden template/.test(r.Properties.Description));
      expect(schedules).toHaveLength(1);
      const schedule = schedules[0][1];
      expect(schedule.Properties.ScheduleExpression).toBe('cron(0 2 * * ? *)');
      const taskId = schedule.Properties.Target.EcsParameters.TaskDefinitionArn.Ref;
      const task = json.Resources[taskId];
      // Outside the branch families `staging-*` that release-task may run.
      expect(task.Properties.Family).toBe('staging_shared-database-template-refresh');
      // In the shared staging's own group (the sleeper pauses only `default` ones), created before it.
      expect(schedule.Properties.GroupName).toBe('staging-shared');
      const [groupId] = resourcesOfType(json, 'AWS::Scheduler::ScheduleGroup').map(([id]) => id);
      expect(schedule.DependsOn).toContain(groupId);
      const [c] = task.Properties.ContainerDefinitions;
      expect(c.Image).toBe('public.ecr.aws/docker/library/postgres:16');
      expect(c.EntryPoint).toEqual(['bash', '-c']);
      expect(c.Command).toEqual([GOLDEN_REFRESH_SCRIPT]);
      const env = Object.fromEntries((c.Environment as any[]).map((e) => [e.Name, e.Value]));
      expect(env).toMatchObject({ SOURCE_DATABASE: 'app', TEMPLATE_DATABASE: 'staging_template', PGSSLMODE: 'require' });
      expect((c.Secrets as any[]).map((s) => s.Name).sort()).toEqual(['PGPASSWORD', 'PGUSER']);
    });

    test('the shared stack\'s first deploy runs the first refresh, through the release-task provider, after the VPC and the database', () => {
      const refreshes = resourcesOfType(json, 'Custom::StagingRelease');
      expect(refreshes).toHaveLength(1);
      const [id, refresh] = refreshes[0];
      const taskId = refresh.Properties.TaskDefinitionArn.Ref;
      expect(json.Resources[taskId].Properties.Family).toBe('staging_shared-database-template-refresh');
      expect(refresh.Properties).toMatchObject({ ContainerName: 'refresh', Command: [GOLDEN_REFRESH_SCRIPT], LogStreamPrefix: 'refresh' });
      // The release-task provider's framework function is the service token.
      const token = refresh.Properties.ServiceToken['Fn::GetAtt'][0];
      expect(json.Resources[token].Properties.Description).toMatch(/release-task/);
      const closure = dependencies(json);
      const reach = (from: string, seen = new Set<string>()): Set<string> => {
        for (const d of closure.get(from) ?? []) if (!seen.has(d)) { seen.add(d); reach(d, seen); }
        return seen;
      };
      const waits = reach(id);
      for (const type of ['AWS::RDS::DBInstance', 'AWS::EC2::NatGateway', 'AWS::EC2::Route']) {
        const ids = resourcesOfType(json, type).map(([r]) => r);
        expect({ type, waited: ids.length > 0 && ids.every((r) => waits.has(r)) }).toEqual({ type, waited: true });
      }
      // The provider may pass the refresh task's two roles, which are not feature-staging roles.
      const task = json.Resources[taskId].Properties;
      const [[, releaseHandler]] = resourcesOfType(json, 'AWS::Lambda::Function').filter(([, f]) => f.Properties.Description === 'release-task staging provider: onEvent');
      const providerRole = releaseHandler.Properties.Role['Fn::GetAtt'][0];
      const passed = resourcesOfType(json, 'AWS::IAM::Policy')
        .filter(([, p]) => (p.Properties.Roles as any[]).some((r) => r.Ref === providerRole))
        .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as any[])
        .filter((st) => st.Action === 'iam:PassRole')
        .flatMap((st) => [].concat(st.Resource).map((r) => JSON.stringify(r)));
      for (const role of [task.TaskRoleArn, task.ExecutionRoleArn]) expect(passed).toContain(JSON.stringify(role));
    });

    test('the on-demand refresh command is a stack output', () => {
      expect(JSON.stringify(json.Outputs.StagingDatabaseTemplateRefreshCommand.Value)).toContain('aws ecs run-task');
    });
  });

  test('the shared stack without template mode has no golden template, refresh or provider', () => {
    const [stack] = buildStagingApp(new App({ context: { staging: SNAPSHOT_STAGING } }));
    const json = Template.fromStack(stack).toJSON();
    expect(resourcesOfType(json, 'AWS::Lambda::Function').filter(([, f]) => /database-template/.test(f.Properties.Description))).toEqual([]);
    expect(json.Outputs?.StagingDatabaseTemplateRefreshCommand).toBeUndefined();
    expect(resourcesOfType(json, 'Custom::StagingRelease')).toEqual([]);
  });
});

describe('SharedStaging databaseTemplate bad input', () => {
  function shared(staging: Record<string, unknown>): () => unknown {
    return () => buildStagingApp(new App({ context: { staging: { ...TEMPLATE_AND_PREFIX, ...staging } } }));
  }

  test('fails when the shared app\'s database name falls in the branch databases\' pattern', () => {
    expect(shared({ database: { ...STAGING.database, databaseName: 'staging_br_app' } })).toThrow(
      /database\.databaseName must not start with 'staging_br_', the branch databases' pattern \(got "staging_br_app"\)/,
    );
  });
});

describe('GoldenTemplate names', () => {
  function golden(templateDatabaseName: string): () => unknown {
    return () => {
      const stack = new Stack(new App(), 'S', { env: ENV });
      return new SharedStaging(stack, 'Staging', {
        access: StagingAccess.publicAccess(),
        domainName: 'staging.example.com',
        hostedZone: route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName: 'example.com' }),
        solr: { url: 'https://solr.internal.example.com:8983/solr' },
        app: { image: ecs.ContainerImage.fromRegistry('nginx'), web: { name: 'web' } },
        databaseTemplate: { templateDatabaseName },
      });
    };
  }

  test.each([
    ['app', /must differ from the shared app's database \(got "app"\)/],
    ['staging_br_golden', /must not start with 'staging_br_'/],
    ['x'.repeat(59), /must be at most 58 bytes/],
    ['Golden', /lower-case letters/],
  ])('fails for templateDatabaseName %s, naming the option and the value', (name, message) => {
    expect(golden(name)).toThrow(message);
    expect(golden(name)).toThrow(/databaseTemplate\.templateDatabaseName/);
  });
});
