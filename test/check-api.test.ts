import { apiProblems, Assembly, defaultProblem } from '../scripts/check-api';

/* scripts/check-api.ts, which `npm run build` runs on the jsii assembly. */

const documented = { summary: 'x' };
const member = (name: string) => ({ name, docs: documented });
const grant = { name: 'grantReadParameters', docs: documented, parameters: [member('grantee')] };

/** A minimal assembly that passes; tests take one thing away. */
function assembly(overrides: Record<string, any> = {}): Assembly {
  return {
    name: 'lib',
    types: {
      'lib.SharedStaging': { docs: documented, properties: [member('vpc')], methods: [grant], initializer: { parameters: [member('scope')] } },
      'lib.ISharedStaging': { docs: documented, interfaces: ['constructs.IConstruct'], methods: [grant] },
      'lib.SharedStagingRef': { docs: documented, methods: [grant] },
      'lib.StagingSweeper': { docs: documented, methods: [{ name: 'grantPin' }, { name: 'grantKeepAlive' }] },
      ...overrides,
    },
  };
}

describe('@default values', () => {
  test.each(["'staging'", '3', 'true', 'Duration.days(3)', 'logs.RetentionDays.ONE_WEEK', 'StagingCache.dedicated()', '`/${prefix}`', "new ec2.InstanceType('t3.large')", '- none'])(
    'accepts %s',
    (value) => expect(defaultProblem(value)).toBeUndefined(),
  );

  test.each(['db.t4g.medium', 't3.large', 'none', '-', 'the first task on-demand'])('rejects %s', (value) => {
    expect(defaultProblem(value)).toMatch(/neither a value nor "- <description>"/);
  });
});

describe('apiProblems', () => {
  test('a complete API has none', () => {
    expect(apiProblems(assembly())).toEqual([]);
  });

  test('fails when a member, a parameter or the type of SharedStaging has no doc comment', () => {
    const bare = assembly({ 'lib.SharedStaging': { properties: [{ name: 'vpc' }], methods: [{ ...grant, parameters: [{ name: 'grantee' }] }], initializer: { parameters: [{ name: 'scope' }] } } });
    expect(apiProblems(bare)).toEqual(['SharedStaging: no doc comment on (the type), vpc, grantReadParameters(grantee), constructor(scope)']);
  });

  test('fails when ISharedStaging does not extend IConstruct', () => {
    const problems = apiProblems(assembly({ 'lib.ISharedStaging': { docs: documented, methods: [grant] } }));
    expect(problems).toEqual(['ISharedStaging must extend constructs.IConstruct (extends: [])']);
  });

  test('fails when a grant is missing, naming it', () => {
    const problems = apiProblems(assembly({ 'lib.StagingSweeper': { docs: documented, methods: [{ name: 'grantPin' }] } }));
    expect(problems).toEqual(['StagingSweeper.grantKeepAlive(): missing']);
  });

  test('fails on a @default that is neither a value nor a description, anywhere in the API', () => {
    const problems = apiProblems(assembly({ 'lib.SomeProps': { properties: [{ name: 'instanceType', docs: { default: 'db.t4g.micro' } }] } }));
    expect(problems).toEqual(['SomeProps.instanceType: @default is neither a value nor "- <description>": "db.t4g.micro"']);
  });
});
