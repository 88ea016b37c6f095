import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { BranchParameterNames, SharedStaging, StagingAccess, SharedStagingRef, StagingSweeper } from '../lib';
import { FEATURE_FLAGS, formatFindings, testApp, validationFindings } from './util/validate';

/*
 * The grants a CI role needs to deploy a branch (lib/private/grants.ts): reading the shared
 * staging's parameters, and writing pins and keep-alives for the sweeper.
 */

const ENV = { account: '123456789012', region: 'eu-west-1' };
// With the region known, CDK renders the partition too.
const PARAMETER_ARN = (name: string) => `arn:aws:ssm:eu-west-1:123456789012:parameter${name}`;

function ciRole(stack: Stack): iam.Role {
  return new iam.Role(stack, 'DeployRole', { assumedBy: new iam.AccountPrincipal('123456789012') });
}

/** The statements of the role's policies in `stack`. */
function statements(stack: Stack): any[] {
  return Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
}

function sharedStaging(stack: Stack, parameterPrefix = '/preview'): SharedStaging {
  return new SharedStaging(stack, 'Staging', {
    access: StagingAccess.publicAccess(),
    prefix: 'preview',
    parameterPrefix,
    domainName: 'staging.example.com',
    hostedZone: route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName: 'example.com' }),
    solr: { url: 'https://solr.internal.example.com:8983/solr' },
    app: { image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/nginx:1.27'), web: { name: 'web' } },
  });
}

const READ_ACTIONS = ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'];
const BRANCH_ACTIONS = ['ssm:DeleteParameter', 'ssm:GetParameter', 'ssm:PutParameter'];

describe('shared.grantReadParameters', () => {
  test('SharedStaging: the CI role may read the parameter path and everything below it, and nothing else', () => {
    const app = new App({ context: FEATURE_FLAGS });
    const shared = sharedStaging(new Stack(app, 'Shared', { env: ENV }));
    const ci = new Stack(app, 'Ci', { env: ENV });
    const grant = shared.grantReadParameters(ciRole(ci));

    expect(grant.success).toBe(true);
    expect(statements(ci)).toEqual([
      { Effect: 'Allow', Action: READ_ACTIONS, Resource: [PARAMETER_ARN('/preview'), PARAMETER_ARN('/preview/*')] },
    ]);
    // The grant names the path by value: the shared stack exports nothing for it.
    expect(JSON.stringify(Template.fromStack(ci).toJSON())).not.toContain('Fn::ImportValue');
  });

  test('SharedStagingRef (in a feature stack): the same statement, for the prefix it reads', () => {
    const app = new App({ context: FEATURE_FLAGS });
    const feature = new Stack(app, 'Feature', { env: ENV });
    const ref = SharedStagingRef.fromParameters(feature, 'Shared', { prefix: 'preview', parameterPrefix: '/preview/env' });
    new ssm.StringParameter(feature, 'Domain', { stringValue: ref.domainName }); // a feature stack is never empty
    const ci = new Stack(app, 'Ci', { env: ENV });
    ref.grantReadParameters(ciRole(ci));

    expect(statements(ci)).toEqual([
      { Effect: 'Allow', Action: READ_ACTIONS, Resource: [PARAMETER_ARN('/preview/env'), PARAMETER_ARN('/preview/env/*')] },
    ]);
    expect(JSON.stringify(Template.fromStack(ci).toJSON())).not.toContain('Fn::ImportValue');
  });

  test('the grantee stays nag-clean once the one wildcard is acknowledged on its own policy', () => {
    const app = testApp();
    const stack = new Stack(app, 'Ci', { env: ENV });
    const role = ciRole(stack);
    SharedStagingRef.fromParameters(stack, 'Shared').grantReadParameters(role);
    Validations.of(role.node.findChild('DefaultPolicy')).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:aws:ssm:eu-west-1:123456789012:parameter/staging/*]',
      reason: 'Branch deploys read every published shared-staging parameter; all of them live below /staging.',
    });
    expect(formatFindings(validationFindings(app))).toEqual([]);
  });
});

describe('sweeper.grantPin and sweeper.grantKeepAlive', () => {
  test.each([
    ['grantPin', BranchParameterNames.PIN_PREFIX],
    ['grantKeepAlive', BranchParameterNames.KEEP_ALIVE_PREFIX],
  ] as const)('%s: put, delete and read <parameterPrefix>/%s/* only', (method, folder) => {
    const app = new App({ context: FEATURE_FLAGS });
    const sweeper = new StagingSweeper(new Stack(app, 'Shared', { env: ENV }), 'Sweeper', { prefix: 'preview', parameterPrefix: '/preview/env' });
    const ci = new Stack(app, 'Ci', { env: ENV });
    const grant = sweeper[method](ciRole(ci));

    expect(grant.success).toBe(true);
    expect(statements(ci)).toEqual([{ Effect: 'Allow', Action: BRANCH_ACTIONS, Resource: PARAMETER_ARN(`/preview/env/${folder}/*`) }]);
  });

  test('the paths are the ones the sweeper reads (its own role may list them)', () => {
    const app = new App({ context: FEATURE_FLAGS });
    const shared = new Stack(app, 'Shared', { env: ENV });
    const sweeper = new StagingSweeper(shared, 'Sweeper');
    const ci = new Stack(app, 'Ci', { env: ENV });
    const role = ciRole(ci);
    sweeper.grantPin(role);
    sweeper.grantKeepAlive(role);

    // One statement: both grants have the same actions.
    const [statement, ...others] = statements(ci);
    expect(others).toEqual([]);
    const granted = (statement.Resource as string[]).map((arn) => arn.split(':parameter')[1].replace(/\/\*$/, '')).sort();
    const listed = JSON.stringify(statements(shared).find((s) => s.Sid === 'ReadPinsKeepAlivesAndState'));
    expect(granted).toEqual(['/staging/keep-alive', '/staging/pins']);
    for (const path of granted) expect(listed).toContain(`:parameter${path}/*`);
    // Never the sweeper's own state.
    expect(JSON.stringify(statements(ci))).not.toContain('/sweeper');
  });
});
