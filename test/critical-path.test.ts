import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { buildStagingApp } from '../bin/staging-app';
import { CREATE_SECONDS, criticalPath, dependencies, parseCriticalPathArgs } from '../scripts/critical-path';
import { testApp } from './util/validate';

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
    expect(chain.resources.map((r) => r.seconds)).toEqual([3, CREATE_SECONDS['Custom::StagingDatabase'], 3, CREATE_SECONDS['AWS::ECS::Service']]);
    expect(chain.seconds).toBe(3 + 900 + 3 + 180);
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
    expect(chain.seconds).toBe(900 + 3 + 180);
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

describe('critical path of the ready-made app\'s feature stack (cdk.json example, -c branch=feature/new_cool_page)', () => {
  let template: any;

  beforeAll(() => {
    const stacks = buildStagingApp(testApp({ context: { staging: STAGING, branch: 'feature/new_cool_page' } }));
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
