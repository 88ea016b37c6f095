import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { StagingProvider, StagingProviderProps } from '../lib';
import { ENV } from './util/harness';
import { resourcesOfType } from './util/template';
import { formatFindings, testApp, validationFindings } from './util/validate';

const STATEMENT = new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: ['arn:aws:ssm:eu-west-1:123456789012:parameter/staging/x'] });

function build(overrides: Partial<StagingProviderProps> = {}, app: App = new App()) {
  const stack = new Stack(app, 'Providers', { env: ENV });
  const provider = new StagingProvider(stack, 'Provider', { name: 'listener-priority', handler: 'listener-priority', policies: [STATEMENT], ...overrides });
  return { stack, provider, json: Template.fromStack(stack).toJSON() };
}

/** The user functions (not the framework's): those whose description names the provider. */
function handlers(json: any): any[] {
  return resourcesOfType(json, 'AWS::Lambda::Function')
    .map(([, f]) => f)
    .filter((f) => String(f.Properties.Description).includes('staging provider'));
}

describe('StagingProvider', () => {
  test('runs the bundled handler\'s onEvent with its own role, holding the given statements', () => {
    const { provider, json } = build();
    expect(handlers(json).map((f) => [f.Properties.Handler, f.Properties.Timeout, f.Properties.MemorySize, f.Properties.VpcConfig])).toEqual([
      ['index.onEvent', 120, 256, undefined],
    ]);
    expect(provider.isCompleteHandler).toBeUndefined();
    const statements = resourcesOfType(json, 'AWS::IAM::Policy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement as any[]);
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'ssm:GetParameter', Resource: 'arn:aws:ssm:eu-west-1:123456789012:parameter/staging/x' }));
    expect(resourcesOfType(json, 'AWS::StepFunctions::StateMachine')).toEqual([]);
  });

  test('a provider that waits adds isComplete and a logged waiter, polling at queryInterval until totalTimeout', () => {
    const { provider, json } = build({ waits: true, queryInterval: Duration.seconds(20), totalTimeout: Duration.minutes(40) });
    expect(provider.isCompleteHandler).toBeDefined();
    expect(handlers(json).map((f) => f.Properties.Handler).sort()).toEqual(['index.isComplete', 'index.onEvent']);
    const [, waiter] = resourcesOfType(json, 'AWS::StepFunctions::StateMachine')[0];
    expect(waiter.Properties.LoggingConfiguration.Level).toBe('ALL');
    expect(JSON.stringify(waiter.Properties.DefinitionString)).toContain('\\"IntervalSeconds\\":20,\\"MaxAttempts\\":120');
  });

  test('in a VPC, both handlers run in it', () => {
    const stack = new Stack(new App(), 'Vpc', { env: ENV });
    const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
      vpcId: 'vpc-0123456789abcdef0',
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
      privateSubnetIds: ['subnet-0a1b2c3d4e5f60011', 'subnet-0a1b2c3d4e5f60012'],
    });
    const sg = ec2.SecurityGroup.fromSecurityGroupId(stack, 'Sg', 'sg-0123456789abcdef0');
    new StagingProvider(stack, 'Provider', { name: 'redis-prefix', handler: 'redis-prefix', policies: [STATEMENT], waits: true, vpc, vpcSubnets: { subnets: vpc.privateSubnets }, securityGroups: [sg] });
    for (const f of handlers(Template.fromStack(stack).toJSON())) {
      expect(f.Properties.VpcConfig).toEqual({ SubnetIds: ['subnet-0a1b2c3d4e5f60011', 'subnet-0a1b2c3d4e5f60012'], SecurityGroupIds: ['sg-0123456789abcdef0'] });
    }
  });

  test('fails when totalTimeout reaches the one-hour service timeout, naming the provider and the value', () => {
    expect(() => build({ waits: true, totalTimeout: Duration.minutes(60) })).toThrow(
      /totalTimeout of the listener-priority provider must be below 1 hour \(got 1 hour\); CloudFormation stops waiting/,
    );
  });

  test('fails on a handler that was not bundled', () => {
    expect(() => build({ handler: 'no-such-handler' })).toThrow(/The bundled handler 'no-such-handler' is missing/);
  });

  test('is clean under cdk-nag AwsSolutions and CloudFormation Validate, waiting or not', () => {
    const app = testApp();
    build({ waits: true }, app);
    expect(formatFindings(validationFindings(app))).toEqual([]);
  });
});
