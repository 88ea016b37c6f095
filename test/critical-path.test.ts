import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { buildStagingApp } from '../bin/staging-app';
import { atCpu, CREATE_SECONDS, createSeconds, criticalPath, dependencies, minutes, parseCriticalPathArgs, redeploy, releaseSeconds, STEP_SECONDS, wake } from '../scripts/critical-path';
import { testApp } from './util/validate';
import { SNAPSHOT_STAGING } from './util/example-config';

/** The example `staging` block of cdk.json, as `cdk synth` reads it. */
const STAGING = JSON.parse(readFileSync(join(__dirname, '..', 'cdk.json'), 'utf8')).context.staging;

/** A resource of type `type` (an unweighted one by default) with the given properties and DependsOn. */
function res(properties: Record<string, unknown> = {}, dependsOn?: string | string[], type = 'AWS::Test::Thing'): any {
  return { Type: type, Properties: properties, ...(dependsOn !== undefined ? { DependsOn: dependsOn } : {}) };
}

/** dependencies() as plain sorted arrays, so a failure shows the whole graph. */
function deps(template: any): Record<string, string[]> {
  return Object.fromEntries([...dependencies(template)].map(([id, d]) => [id, [...d].sort()]));
}

describe('dependencies()', () => {
  test('a template without resources has no dependencies', () => {
    expect(dependencies({}).size).toBe(0);
    expect(dependencies({ Resources: {} }).size).toBe(0);
  });

  test('DependsOn, as a string or a list', () => {
    const template = {
      Resources: {
        A: res(),
        B: res({}, 'A'),
        C: res({}, ['A', 'B']),
      },
    };
    expect(deps(template)).toEqual({ A: [], B: ['A'], C: ['A', 'B'] });
  });

  test('Ref and Fn::GetAtt anywhere in the properties, however deeply nested', () => {
    const template = {
      Resources: {
        Bucket: res(),
        Role: res(),
        Key: res(),
        User: res({
          Name: { Ref: 'Bucket' },
          Policies: [{ Document: { Statement: [{ Resource: { 'Fn::GetAtt': ['Role', 'Arn'] } }] } }],
          Joined: { 'Fn::Join': ['', ['x', { 'Fn::Select': [0, [{ Ref: 'Key' }]] }]] },
        }),
      },
    };
    expect(deps(template)).toEqual({ Bucket: [], Role: [], Key: [], User: ['Bucket', 'Key', 'Role'] });
  });

  test('Fn::Sub references: ${X}, ${X.Attr}, in the string form and the list form with a variable map', () => {
    const template = {
      Resources: {
        Queue: res(),
        Topic: res(),
        Table: res(),
        Stream: res(),
        Plain: res({ Url: { 'Fn::Sub': 'https://${Queue}/${Topic.Arn}' } }),
        Listed: res({ Url: { 'Fn::Sub': ['${Table.Arn}/x/${Name}', { Name: { Ref: 'Stream' } }] } }),
      },
    };
    expect(deps(template)).toMatchObject({ Plain: ['Queue', 'Topic'], Listed: ['Stream', 'Table'] });
  });

  test('Fn::Sub pseudo parameters (${AWS::Region}) and escaped literals (${!Queue}) are not resources', () => {
    const template = {
      Resources: {
        Queue: res(),
        Thing: res({ Arn: { 'Fn::Sub': 'arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${!Queue}' } }),
      },
    };
    expect(deps(template).Thing).toEqual([]);
  });

  test('parameters, pseudo parameters, unknown names and the resource itself are ignored', () => {
    const template = {
      Parameters: { Env: { Type: 'String' }, Token: { Type: 'AWS::SSM::Parameter::Value<String>', Default: '/staging/shared/x' } },
      Resources: {
        A: res(),
        B: res(
          {
            Env: { Ref: 'Env' },
            Token: { Ref: 'Token' },
            Region: { Ref: 'AWS::Region' },
            Self: { 'Fn::GetAtt': ['B', 'Arn'] },
            Sub: { 'Fn::Sub': '${Env}-${B.Arn}-${A}' },
          },
          ['Missing', 'B'],
        ),
      },
    };
    expect(deps(template)).toEqual({ A: [], B: ['A'] });
  });

  test('resources that reference nothing have an empty set, and each dependency is counted once', () => {
    const template = {
      Resources: {
        A: res(),
        B: res({ X: { Ref: 'A' }, Y: { 'Fn::GetAtt': ['A', 'Arn'] }, Z: { 'Fn::Sub': '${A}' } }, 'A'),
      },
    };
    const graph = dependencies(template);
    expect(graph.get('A')).toEqual(new Set());
    expect(graph.get('B')).toEqual(new Set(['A']));
  });

  test('Conditions, Outputs and Metadata are not dependencies of resources', () => {
    const template = {
      Resources: {
        A: res(),
        B: { Type: 'AWS::Test::Thing', Metadata: { Ref: 'A' }, Condition: 'IsProd', Properties: {} },
      },
      Outputs: { Out: { Value: { Ref: 'A' } } },
    };
    expect(deps(template)).toEqual({ A: [], B: [] });
  });
});

describe('criticalPath()', () => {
  test('an empty template has an empty path', () => {
    expect(criticalPath({ Resources: {} })).toEqual({ resources: [], seconds: 0 });
  });

  test('a chain is listed from the first resource created to the last, with its total estimated time', () => {
    const template = {
      Resources: {
        Service: res({ TaskDefinition: { Ref: 'Task' } }, undefined, 'AWS::ECS::Service'),
        Task: res({ Env: { 'Fn::GetAtt': ['Database', 'Endpoint'] } }, undefined, 'AWS::ECS::TaskDefinition'),
        Database: res({ Secret: { Ref: 'Secret' } }, undefined, 'Custom::StagingDatabase'),
        Secret: res({}, undefined, 'AWS::SecretsManager::Secret'),
      },
    };
    const chain = criticalPath(template);
    expect(chain.resources.map((r) => r.id)).toEqual(['Secret', 'Database', 'Task', 'Service']);
    expect(chain.resources.map((r) => r.type)).toEqual(['AWS::SecretsManager::Secret', 'Custom::StagingDatabase', 'AWS::ECS::TaskDefinition', 'AWS::ECS::Service']);
    // A service behind no load balancer (a worker): its task starts, then ECS calls it steady.
    const worker = STEP_SECONDS.taskStart + STEP_SECONDS.serviceSteady;
    expect(chain.resources.map((r) => r.seconds)).toEqual([3, CREATE_SECONDS['Custom::StagingDatabase'], 3, worker]);
    expect(chain.seconds).toBe(3 + 900 + 3 + worker);
  });

  test('the heaviest chain wins over the one with more resources', () => {
    const template = {
      Resources: {
        L1: res(),
        L2: res({ X: { Ref: 'L1' } }),
        L3: res({ X: { Ref: 'L2' } }),
        L4: res({ X: { Ref: 'L3' } }),
        Cache: res({}, undefined, 'AWS::ElastiCache::ReplicationGroup'),
      },
    };
    const chain = criticalPath(template);
    expect(chain.resources.map((r) => r.id)).toEqual(['Cache']);
    expect(chain.seconds).toBe(600);
  });

  test('of two branches into one resource, the path goes through the heavier', () => {
    const template = {
      Resources: {
        Cache: res({}, undefined, 'AWS::ElastiCache::ReplicationGroup'),
        Database: res({}, undefined, 'Custom::StagingDatabase'),
        Task: res({ A: { 'Fn::GetAtt': ['Cache', 'PrimaryEndPoint.Address'] }, B: { 'Fn::GetAtt': ['Database', 'Endpoint'] } }),
        Service: res({ T: { Ref: 'Task' } }, undefined, 'AWS::ECS::Service'),
      },
    };
    const chain = criticalPath(template);
    expect(chain.resources.map((r) => r.id)).toEqual(['Database', 'Task', 'Service']);
    expect(chain.seconds).toBe(900 + 3 + STEP_SECONDS.taskStart + STEP_SECONDS.serviceSteady);
  });

  test('DependsOn and Fn::Sub count like Ref', () => {
    const template = {
      Resources: {
        Release: res({}, undefined, 'Custom::StagingRelease'),
        Record: res({ Name: { 'Fn::Sub': '${Release.Id}.example.com' } }, undefined, 'AWS::Route53::RecordSet'),
        Service: res({}, ['Record'], 'AWS::ECS::Service'),
      },
    };
    expect(criticalPath(template).resources.map((r) => r.id)).toEqual(['Release', 'Record', 'Service']);
  });

  test('a dependency cycle throws, naming a resource on it', () => {
    const template = {
      Resources: {
        A: res({ X: { Ref: 'C' } }),
        B: res({ X: { Ref: 'A' } }),
        C: res({}, 'B'),
      },
    };
    expect(() => criticalPath(template)).toThrow(/dependency cycle through [ABC]\b/);
  });

  test('a diamond is not a cycle', () => {
    const template = {
      Resources: {
        Top: res(),
        Left: res({ X: { Ref: 'Top' } }),
        Right: res({ X: { Ref: 'Top' } }),
        Bottom: res({ L: { Ref: 'Left' }, R: { Ref: 'Right' } }),
      },
    };
    const chain = criticalPath(template);
    expect(chain.seconds).toBe(9);
    expect(chain.resources[0].id).toBe('Top');
    expect(chain.resources[2].id).toBe('Bottom');
  });
});

describe('critical path of the ready-made app\'s feature stack (cdk.json example with the seed\'s snapshot and own Valkey, -c branch=feature/new_cool_page)', () => {
  let template: any;

  beforeAll(() => {
    const stacks = buildStagingApp(testApp({ context: { staging: SNAPSHOT_STAGING, branch: 'feature/new_cool_page' } }));
    expect(stacks).toHaveLength(1);
    template = Template.fromStack(stacks[0]).toJSON();
  });

  test('has no dependency cycle', () => {
    expect(() => criticalPath(template)).not.toThrow();
  });

  test('starts with the quota check, then the branch database (or its secret), and ends with an ECS service', () => {
    const chain = criticalPath(template);
    // Every resource waits for the staging cap's check (Custom::StagingQuota), so it comes first.
    expect(chain.resources[0].type).toBe('Custom::StagingQuota');
    const types = chain.resources.slice(1).map((r) => r.type);
    expect(['AWS::SecretsManager::Secret', 'Custom::StagingDatabase']).toContain(types[0]);
    expect(types).toContain('Custom::StagingDatabase');
    // The sleep resource records the deployed services last (seconds, when the branch was awake).
    expect(types.filter((t) => t !== 'Custom::StagingSleep').at(-1)).toBe('AWS::ECS::Service');
    // The migrations run between the restored database and the services.
    expect(types.indexOf('Custom::StagingRelease')).toBeGreaterThan(types.indexOf('Custom::StagingDatabase'));
    // A secret on the path is the database's password, not the cache's AUTH token.
    if (types[0] === 'AWS::SecretsManager::Secret') {
      expect(template.Resources[chain.resources[1].id].Properties.Name).toMatch(/\/database$/);
    }
    expect(chain.seconds).toBe(chain.resources.reduce((sum, r) => sum + r.seconds, 0));
  });

  test('each resource on the path depends on the one before it', () => {
    const graph = dependencies(template);
    const ids = criticalPath(template).resources.map((r) => r.id);
    for (let i = 1; i < ids.length; i++) {
      expect({ resource: ids[i], dependsOn: graph.get(ids[i])!.has(ids[i - 1]) }).toEqual({ resource: ids[i], dependsOn: true });
    }
  });
});

/** A web service behind a target group with these health-check settings, a release before it, and a worker. */
function webApp(tg: Record<string, unknown>): any {
  return {
    Resources: {
      Database: res({}, undefined, 'Custom::StagingTemplateDatabase'),
      Collection: res({}, undefined, 'Custom::StagingSolrCollection'),
      TargetGroup: res(tg, undefined, 'AWS::ElasticLoadBalancingV2::TargetGroup'),
      WebTask: res({ Env: { 'Fn::GetAtt': ['Database', 'Endpoint'] } }, undefined, 'AWS::ECS::TaskDefinition'),
      ReleaseTask: res({ Env: { 'Fn::GetAtt': ['Database', 'Endpoint'] } }, undefined, 'AWS::ECS::TaskDefinition'),
      Release: res({ TaskDefinitionArn: { Ref: 'ReleaseTask' } }, undefined, 'Custom::StagingRelease'),
      Web: res({ TaskDefinition: { Ref: 'WebTask' }, LoadBalancers: [{ TargetGroupArn: { Ref: 'TargetGroup' } }] }, ['Release', 'Collection'], 'AWS::ECS::Service'),
      Worker: res({ TaskDefinition: { Ref: 'WebTask' } }, ['Release', 'Collection'], 'AWS::ECS::Service'),
      Sleep: res({ Web: { 'Fn::GetAtt': ['Web', 'Name'] }, Worker: { 'Fn::GetAtt': ['Worker', 'Name'] } }, undefined, 'Custom::StagingSleep'),
      Record: res({}, undefined, 'AWS::Route53::RecordSet'),
    },
  };
}

const FAST = { HealthCheckIntervalSeconds: 5, HealthyThresholdCount: 2, TargetGroupAttributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '5' }] };

describe('the web service, the redeploy and the wake read the target group', () => {
  test('a web service is created once its task is healthy: start, boot, healthy threshold x interval, steady', () => {
    const web = (tg: Record<string, unknown>) => createSeconds(webApp(tg), 'Web');
    expect(web(FAST)).toBe(STEP_SECONDS.taskStart + STEP_SECONDS.appBoot + 2 * 5 + STEP_SECONDS.serviceSteady);
    // ALB's defaults when the template sets nothing: 5 checks every 30 s.
    expect(web({})).toBe(STEP_SECONDS.taskStart + STEP_SECONDS.appBoot + 5 * 30 + STEP_SECONDS.serviceSteady);
  });

  test('a redeploy: change set, release task, the new web task healthy; the deploy ends after draining the old ones', () => {
    const r = redeploy(webApp(FAST));
    const healthy = STEP_SECONDS.taskStart + STEP_SECONDS.appBoot + 10;
    const RELEASE_SECONDS = STEP_SECONDS.customResource + STEP_SECONDS.taskStart + STEP_SECONDS.migrations + STEP_SECONDS.releasePoll;
    expect(releaseSeconds(webApp(FAST), 'Release')).toBe(RELEASE_SECONDS);
    expect(r.answeringSeconds).toBe(STEP_SECONDS.changeSet + 3 + RELEASE_SECONDS + healthy);
    // The web service drains for the deregistration delay; the worker, with no health checks, is quicker.
    expect(r.chain.resources.map((x) => x.id)).toEqual(['ReleaseTask', 'Release', 'Web', 'Sleep']);
    const web = healthy + 5 + STEP_SECONDS.oldTaskStop + STEP_SECONDS.serviceSteady;
    expect(r.doneSeconds).toBe(STEP_SECONDS.changeSet + 3 + RELEASE_SECONDS + web + STEP_SECONDS.customResource + STEP_SECONDS.cleanup);
  });

  test('a redeploy changes nothing that does not hold the image: the database, the collection and the record cost nothing', () => {
    const r = redeploy(webApp(FAST));
    for (const id of ['Database', 'Collection', 'Record', 'TargetGroup']) expect(r.chain.resources.map((x) => x.id)).not.toContain(id);
    // A slower health check and a longer deregistration delay show in the figures.
    const slow = redeploy(webApp({ HealthCheckIntervalSeconds: 15, HealthyThresholdCount: 2 }));
    expect(slow.answeringSeconds - r.answeringSeconds).toBe(20);
    expect(slow.doneSeconds - r.doneSeconds).toBe(20 + 300 - 5);
  });

  test('a web service with no room for one more task (maximum 100%) drains and stops the old one before the new one starts', () => {
    const template = webApp(FAST);
    const base = redeploy(template);
    template.Resources.Web.Properties.DeploymentConfiguration = { MaximumPercent: 100, MinimumHealthyPercent: 0 };
    const gone = 5 + STEP_SECONDS.oldTaskStop;
    expect(redeploy(template).answeringSeconds - base.answeringSeconds).toBe(gone);
    expect(redeploy(template).doneSeconds - base.doneSeconds).toBe(gone);
    // Two tasks at 150%: room for a third.
    template.Resources.Web.Properties.DeploymentConfiguration = { MaximumPercent: 150 };
    template.Resources.Web.Properties.DesiredCount = 2;
    expect(redeploy(template).answeringSeconds).toBe(base.answeringSeconds);
  });

  test('the boot and the migrations are estimated at 0.25 vCPU: a task of one vCPU boots four times faster, more vCPUs no faster', () => {
    expect([256, 512, 1024, 4096].map((cpu) => atCpu(20, cpu))).toEqual([20, 10, 5, 5]);
    const sized = (web: string, release: string) => {
      const template = webApp(FAST);
      template.Resources.WebTask.Properties.Cpu = web;
      template.Resources.ReleaseTask.Properties.Cpu = release;
      return template;
    };
    const base = redeploy(sized('256', '256'));
    // A full vCPU for the release: its 20 s of migrations take 5 s; the web task's boot stays.
    expect(base.answeringSeconds - redeploy(sized('256', '1024')).answeringSeconds).toBe(15);
    // A web task of 0.5 vCPU boots in half the time, on the redeploy and on the wake.
    expect(base.answeringSeconds - redeploy(sized('512', '256')).answeringSeconds).toBe(5);
    expect(wake(sized('256', '256')).seconds - wake(sized('512', '256')).seconds).toBe(5);
  });

  test('a wake: a web task healthy, then the rule moved back; a stopped own database starts first', () => {
    expect(wake(webApp(FAST))).toEqual({ seconds: STEP_SECONDS.taskStart + STEP_SECONDS.appBoot + 10 + STEP_SECONDS.routeAndRefresh, withStoppedDatabaseSeconds: undefined });
    const own = webApp(FAST);
    own.Resources.Database.Type = 'Custom::StagingDatabase';
    expect(wake(own).withStoppedDatabaseSeconds).toBe(wake(own).seconds + STEP_SECONDS.databaseStart);
  });
});

describe('the ready-made app, every data mode: first deploy, redeploy and wake (the README table)', () => {
  const stackOf = (feature: Record<string, unknown>) => {
    const staging = { ...STAGING, feature: { ...STAGING.feature, ...feature } };
    return Template.fromStack(buildStagingApp(testApp({ context: { staging, branch: 'feature/new_cool_page' } }))[0]).toJSON();
  };

  test('the cdk.json example (template + prefix + restored Solr): first deploy at most 7 min, wake at most 90 s; the release does not wait for Solr', () => {
    expect(STAGING.feature).toMatchObject({ database: { mode: 'template' }, cache: { mode: 'prefix' }, solr: { mode: 'restore' } });
    const template = stackOf({});
    const first = STEP_SECONDS.changeSet + criticalPath(template).seconds;
    expect(first).toBeLessThanOrEqual(7 * 60);
    expect(wake(template).seconds).toBeLessThanOrEqual(90);
    const release = Object.keys(template.Resources).find((id) => template.Resources[id].Type === 'Custom::StagingRelease')!;
    const chainToRelease = criticalPath(template).resources.map((r) => r.type);
    expect(chainToRelease.indexOf('Custom::StagingRelease')).toBe(-1); // the Solr restore, not the release, bounds the first deploy
    expect(dependencies(template).get(release)!.size).toBeGreaterThan(0);
  });
});

describe('the README\'s data-mode table shows the model\'s first deploy, redeploy and wake of each row', () => {
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8').split('\n');
  const header = readme.findIndex((l) => l.startsWith('| database / cache (Solr restored) | first deploy | redeploy | wake |'));
  const rows = readme.slice(header + 2, readme.indexOf('', header)).map((l) => l.split(' | ').map((c) => c.replace(/^\| /, '').replace(/\*\*/g, '')));
  /** Each row's first cell, and the `-c` context it stands for (npm run critical-path's shorthand). */
  const CONTEXTS: Record<string, Record<string, string>> = {
    "`snapshot` / `dedicated` (the library's default)": { database: 'snapshot', cache: 'dedicated' },
    '`snapshot` / `prefix`': { database: 'snapshot', cache: 'prefix' },
    '`template` / `dedicated`': { database: 'template', cache: 'dedicated' },
    '`template` / `prefix` (the cdk.json example)': {},
    '`template` / `prefix`, Solr shared': { solr: 'shared' },
    '`shared` / `shared`, Solr shared': { database: 'shared', cache: 'shared', solr: 'shared' },
    'FeatureStagingLite (`-c lite=true`)': { lite: 'true' },
  };

  test('the table lists every row the test knows, and no other', () => {
    expect(rows.map((r) => r[0]).sort()).toEqual(Object.keys(CONTEXTS).sort());
  });

  test.each(Object.keys(CONTEXTS))('%s', (label) => {
    const { lite, ...modes } = CONTEXTS[label];
    const feature = Object.fromEntries(Object.entries(modes).map(([store, mode]) => [store, { ...STAGING.feature[store], mode }]));
    const staging = { ...STAGING, feature: { ...STAGING.feature, ...feature } };
    const template = Template.fromStack(buildStagingApp(testApp({ context: { staging, branch: 'feature/new_cool_page', ...(lite ? { lite } : {}) } }))[0]).toJSON();
    const [, first, re, awake] = rows.find((r) => r[0] === label)!;
    const w = wake(template);
    expect({ first: first.startsWith(minutes(STEP_SECONDS.changeSet + criticalPath(template).seconds)), redeploy: re.startsWith(minutes(redeploy(template).answeringSeconds)), wake: awake.startsWith(minutes(w.seconds)) }).toEqual({ first: true, redeploy: true, wake: true });
    if (w.withStoppedDatabaseSeconds) expect(awake).toContain(`; ${minutes(w.withStoppedDatabaseSeconds)} with its database stopped`);
    // The redeploy goal of the project (issue 21): at most 3 minutes to the new code answering.
    expect(redeploy(template).answeringSeconds).toBeLessThanOrEqual(3 * 60);
  });
});

describe('npm run critical-path arguments', () => {
  test('no arguments: the full stack of feature/new_cool_page', () => {
    expect(parseCriticalPathArgs([])).toEqual({ file: undefined, context: { branch: 'feature/new_cool_page' } });
  });

  test('-c lite=true is context, not a branch named "-c"', () => {
    expect(parseCriticalPathArgs(['-c', 'lite=true'])).toEqual({ file: undefined, context: { branch: 'feature/new_cool_page', lite: 'true' } });
  });

  test('-c branch=..., --context and --context=... as cdk takes them; a value may hold "="', () => {
    expect(parseCriticalPathArgs(['-c', 'branch=fix/a=b', '--context', 'lite=true', '--context=refreshData=true']).context).toEqual({
      branch: 'fix/a=b',
      lite: 'true',
      refreshData: 'true',
    });
  });

  test('a template file', () => {
    expect(parseCriticalPathArgs(['cdk.out/x.template.json'])).toEqual({ file: 'cdk.out/x.template.json', context: { branch: 'feature/new_cool_page' } });
  });

  test.each([
    [['--lite'], /Unknown option '--lite'[^]*usage: npm run critical-path/],
    [['-c', 'lite'], /-c lite: must be KEY=VALUE, e\.g\. -c lite=true/],
    [['-c'], /argument missing|requires a value|Option '-c/],
    [['branch', 'feature/x'], /only one template file \(\*\.json\) may be given \(got "branch", "feature\/x"\)/],
  ])('fails on %j, with the usage', (argv, message) => {
    expect(() => parseCriticalPathArgs(argv as string[])).toThrow(message);
  });
});
