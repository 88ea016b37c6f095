import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Annotations, App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { buildStagingApp } from '../bin/staging-app';
import { ProviderNames, SharedParameterNames, SharedStaging, StagingAccess, SharedStagingProps } from '../lib';
import { normalizeTemplate } from '../lib/testing';
import { FEATURE_FLAGS, formatFindings, testApp, validationFindings } from './util/validate';

const exampleConfig = JSON.parse(readFileSync(join(__dirname, '..', 'cdk.json'), 'utf8')).context.staging;
const ENV = { account: '123456789012', region: 'eu-west-1' };

function sharedProps(stack: Stack, overrides: Partial<SharedStagingProps> = {}): SharedStagingProps {
  // These tests are about other props: the open lock's warning is acknowledged here (test/staging-access.test.ts has its own).
  Annotations.of(stack).acknowledgeWarning('cdk-multi-staging:access-public', 'tests of other props');
  return {
    access: StagingAccess.publicAccess(),
    domainName: 'staging.example.com',
    hostedZone: route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName: 'example.com' }),
    solr: { url: 'https://solr.internal.example.com:8983/solr' },
    app: { image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/nginx:1.27'), web: { name: 'web' } },
    ...overrides,
  };
}

function newStack(): Stack {
  return new Stack(new App({ context: FEATURE_FLAGS }), 'Shared', { env: ENV });
}

describe('ready-made app, shared stack', () => {
  let app: App;
  let template: Template;
  beforeAll(() => {
    app = testApp({ context: { staging: exampleConfig } });
    const stacks = buildStagingApp(app);
    expect(stacks.map((s) => s.stackName)).toEqual(['staging-shared']);
    template = Template.fromStack(stacks[0]);
  });

  test('is clean under cdk-nag AwsSolutions and CloudFormation Validate', () => {
    expect(formatFindings(validationFindings(app))).toEqual([]);
  });

  test('is selected by the name the README uses: `cdk deploy staging-shared`', () => {
    // The CDK CLI selects stacks by construct path, which for a top-level stack is its id.
    const stack = app.node.tryFindChild('staging-shared');
    expect(stack && Stack.isStack(stack) ? [stack.node.id, stack.stackName, stack.artifactId] : stack).toEqual(['staging-shared', 'staging-shared', 'staging-shared']);
  });

  test('outputs what a user looks up after the deploy: the shared URL, the sweeper function and its topic, the sleeper function', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs).sort()).toEqual(
      ['SharedStagingClusterName', 'SharedStagingLibraryVersion', 'SharedStagingParameterPrefix', 'SharedStagingUrl', 'SleeperFunctionName', 'SweeperDryRunCommand', 'SweeperFunctionName', 'SweeperTopicArn'].sort(),
    );
    expect(outputs.SharedStagingUrl.Value).toBe('https://shared.staging.example.com');
    expect(outputs.SharedStagingParameterPrefix.Value).toBe('/staging');
    expect(outputs.SharedStagingLibraryVersion.Value).toBe(require('../package.json').version);
    const [fn] = Object.keys(template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: Match.objectLike({ STAGING_PREFIX: 'staging' }) } } }));
    expect(outputs.SweeperFunctionName.Value).toEqual({ Ref: fn });
    const [sleeper] = Object.keys(template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.onSchedule' } }));
    expect(outputs.SleeperFunctionName.Value).toEqual({ Ref: sleeper });
    const [topic] = Object.keys(template.findResources('AWS::SNS::Topic'));
    expect(outputs.SweeperTopicArn.Value).toEqual({ Ref: topic });
    expect(Object.entries(outputs).filter(([, o]) => 'Export' in o)).toEqual([]);
  });

  test('serves HTTPS with a wildcard certificate and a modern TLS policy; HTTP only redirects', () => {
    template.hasResourceProperties('AWS::CertificateManager::Certificate', {
      DomainName: '*.staging.example.com',
      ValidationMethod: 'DNS',
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'HTTPS',
      SslPolicy: Match.stringLikeRegexp('TLS13'),
      DefaultActions: [Match.objectLike({ Type: 'fixed-response', FixedResponseConfig: Match.objectLike({ StatusCode: '404' }) })],
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      DefaultActions: [Match.objectLike({ Type: 'redirect', RedirectConfig: Match.objectLike({ Protocol: 'HTTPS', Port: '443' }) })],
    });
  });

  test('opens only the load balancer to the internet', () => {
    const groups = template.findResources('AWS::EC2::SecurityGroup');
    const open = Object.entries(groups).filter(([, g]) =>
      (g.Properties.SecurityGroupIngress ?? []).some((r: { CidrIp?: string }) => r.CidrIp === '0.0.0.0/0'),
    );
    expect(open.map(([id]) => id)).toEqual([expect.stringMatching(/LoadBalancerSecurityGroup/)]);
    const ports = open[0][1].Properties.SecurityGroupIngress.map((r: { FromPort: number }) => r.FromPort).sort();
    expect(ports).toEqual([443, 80]);
  });

  test('keeps the shared data: encrypted, deletion-protected, retained, backed up', () => {
    template.hasResource('AWS::RDS::DBInstance', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ StorageEncrypted: true, DeletionProtection: true, BackupRetentionPeriod: 7, Engine: 'postgres' }),
    });
    template.hasResource('AWS::ElastiCache::ReplicationGroup', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ TransitEncryptionEnabled: true, AtRestEncryptionEnabled: true, AuthToken: Match.anyValue(), Engine: 'valkey' }),
    });
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', Match.anyValue());
  });

  test('publishes every value feature stacks read under /staging/shared', () => {
    const names = Object.values(template.findResources('AWS::SSM::Parameter')).map((p) => p.Properties.Name);
    for (const name of Object.values(SharedParameterNames).filter((n) => n !== SharedParameterNames.PROVIDER_PREFIX)) {
      expect(names).toContain(`/staging/${name}`);
    }
    expect(names).toContain(`/staging/shared/providers/${ProviderNames.LISTENER_PRIORITY}/service-token`);
  });

  test('runs the shared app in the shared-staging stream at shared.<domain>', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          Environment: Match.arrayWith([
            { Name: 'STAGING_STREAM', Value: 'shared-staging' },
            { Name: 'STAGING_URL', Value: 'https://shared.staging.example.com' },
          ]),
          Secrets: Match.arrayWith([Match.objectLike({ Name: 'DATABASE_PASSWORD' })]),
        }),
      ],
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: SharedStaging.SHARED_RULE_PRIORITY,
      Conditions: [Match.objectLike({ Field: 'host-header', HostHeaderConfig: { Values: ['shared.staging.example.com'] } })],
    });
  });

  test('hosts the listener-priority provider with a scoped policy', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).map((p) => JSON.stringify(p.Properties.PolicyDocument));
    const allocator = policies.find((p) => p.includes('elasticloadbalancing:CreateRule'));
    expect(allocator).toBeDefined();
    expect(allocator).toContain(':listener-rule/');
    expect(allocator).not.toContain('"elasticloadbalancing:*"');
  });

  test('hosts the staging-quota provider with staging.maxStagings of cdk.json as its cap, allowed to list stacks only', () => {
    const fns = template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: Match.objectLike({ QUOTA_PREFIX: 'staging' }) } } });
    expect(Object.values(fns).map((f) => f.Properties.Environment.Variables)).toEqual([{ QUOTA_PREFIX: 'staging', MAX_STAGINGS: String(exampleConfig.maxStagings) }]);
    const role = (Object.values(fns)[0] as any).Properties.Role['Fn::GetAtt'][0];
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => p.Properties.Roles.some((r: any) => r.Ref === role));
    const actions = policies.flatMap((p) => p.Properties.PolicyDocument.Statement.flatMap((st: any) => [].concat(st.Action)));
    expect(actions.filter((a) => !a.startsWith('logs:'))).toEqual(['cloudformation:DescribeStacks']);
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/staging/shared/providers/staging-quota/service-token' });
  });

  test('runs the sweeper hourly with a 3-day idle timeout, and alarms on it', () => {
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 hour)' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ IDLE_TIMEOUT_SECONDS: String(3 * 24 * 3600), STAGING_PREFIX: 'staging', DRY_RUN: 'false' }) },
    });
    expect(Object.keys(template.findResources('AWS::CloudWatch::Alarm')).length).toBeGreaterThanOrEqual(2);
  });

  test('matches the snapshot (asset hashes masked)', () => {
    expect(normalizeTemplate(template.toJSON())).toMatchSnapshot();
  });
});

describe('ready-made app with network.vpcId, credentials at hand', () => {
  const saved = { account: process.env.CDK_DEFAULT_ACCOUNT, validation: process.env.CDK_VALIDATION };
  afterAll(() => {
    for (const [key, value] of [['CDK_DEFAULT_ACCOUNT', saved.account], ['CDK_VALIDATION', saved.validation]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  test('leaves the VPC lookup to the CDK CLI: reports it as missing context and skips validating the placeholder VPC', () => {
    process.env.CDK_DEFAULT_ACCOUNT = '123456789012'; // as the CLI sets it when it has credentials
    delete process.env.CDK_VALIDATION;
    const app = testApp({ context: { staging: { ...exampleConfig, account: '123456789012', network: { vpcId: 'vpc-0123456789abcdef0' } } } });
    buildStagingApp(app);
    expect(process.env.CDK_VALIDATION).toBe('false');
    const assembly = app.synth();
    expect(assembly.manifest.missing?.map((m) => [m.provider, (m.props as { filter?: unknown }).filter])).toEqual([['vpc-provider', { 'vpc-id': 'vpc-0123456789abcdef0' }]]);
  });
});

describe('SharedStaging props', () => {
  test('fails on an environment-agnostic stack, naming the fix', () => {
    const stack = new Stack(new App({ context: FEATURE_FLAGS }), 'Agnostic');
    expect(() => new SharedStaging(stack, 'S', sharedProps(stack))).toThrow(/explicit region.*env: \{ region/);
  });

  test.each([
    ['domainName', { domainName: 'Staging.Example.com' }, /domainName must be a lower-case DNS name.*"Staging.Example.com"/],
    ['prefix', { prefix: 'Bad_Prefix' }, /prefix must be .*"Bad_Prefix"/],
    ['parameterPrefix', { parameterPrefix: 'staging/' }, /parameterPrefix must be an SSM path.*"staging\/"/],
    ['maxAzs', { maxAzs: 1 }, /maxAzs must be a whole number >= 2 \(got 1\)/],
    ['solr.url', { solr: { url: 'solr' } }, /solr.url must be the base URL.*"solr"/],
    ['maxStagings (zero)', { maxStagings: 0 }, /maxStagings must be a whole number >= 1 \(got 0\); e\.g\. maxStagings: 20, or leave it out for no cap/],
    ['maxStagings (a fraction)', { maxStagings: 2.5 }, /maxStagings must be a whole number >= 1 \(got 2\.5\)/],
  ])('fails when %s is invalid, showing the value and the fix', (_name, overrides, message) => {
    const stack = newStack();
    expect(() => new SharedStaging(stack, 'S', sharedProps(stack, overrides as Partial<SharedStagingProps>))).toThrow(message);
  });

  test('reports every problem at once', () => {
    const stack = newStack();
    expect(() => new SharedStaging(stack, 'S', sharedProps(stack, { prefix: 'X', maxAzs: 1 }))).toThrow(/prefix[\s\S]*maxAzs/);
  });

  test('adds EC2 capacity with managed scaling when asked, and stays nag-clean', () => {
    const app = testApp();
    const stack = new Stack(app, 'Shared', { env: ENV });
    new SharedStaging(stack, 'S', sharedProps(stack, { ec2Capacity: { maxCapacity: 4 } }));
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::ECS::CapacityProvider', {
      AutoScalingGroupProvider: Match.objectLike({ ManagedScaling: Match.objectLike({ Status: 'ENABLED' }) }),
    });
    t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MaxSize: '4', MinSize: '0' });
    expect(formatFindings(validationFindings(app))).toEqual([]);
  });

  test('the sweeper can be turned off', () => {
    const stack = newStack();
    const shared = new SharedStaging(stack, 'S', sharedProps(stack, { sweeper: { enabled: false } }));
    expect(shared.sweeper).toBeUndefined();
    // Only the sleeper's schedule is left.
    Template.fromStack(stack).resourceCountIs('AWS::Events::Rule', 1);
    Template.fromStack(stack).hasResourceProperties('AWS::Events::Rule', { Description: Match.stringLikeRegexp('to sleep') });
    expect(Object.keys(Template.fromStack(stack).toJSON().Outputs).filter((o) => o.startsWith('Sweeper'))).toEqual([]);
  });

  test('a second provider with the same name is refused', () => {
    const stack = newStack();
    const shared = new SharedStaging(stack, 'S', sharedProps(stack));
    expect(() => shared.addProvider(ProviderNames.LISTENER_PRIORITY, { handler: 'listener-priority', policies: [] })).toThrow(
      /already added/,
    );
  });
});
