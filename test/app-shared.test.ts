import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildStagingApp } from '../bin/staging-app';
import { ProviderNames, SharedParameterNames, SharedStaging } from '../lib';
import { normalizeTemplate } from '../lib/testing';
import { formatFindings, testApp, validationFindings } from './util/validate';

const exampleConfig = JSON.parse(readFileSync(join(__dirname, '..', 'cdk.json'), 'utf8')).context.staging;

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

  test('outputs what a user looks up after the deploy: the shared URL, the sweeper function and its topic, the sleeper function, the golden-template refresh, the stagings page', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs).sort()).toEqual(
      [
        'SharedStagingCapacity',
        'SharedStagingClusterName',
        'SharedStagingLibraryVersion',
        'SharedStagingParameterPrefix',
        'SharedStagingShardCount',
        'SharedStagingUrl',
        'SleeperFunctionName',
        'StagingsPageUrl',
        'SweeperDryRunCommand',
        'SweeperFunctionName',
        'SweeperTopicArn',
        // The example's branches copy their database from the golden template.
        'StagingDatabaseTemplateRefreshCommand',
      ].sort(),
    );
    expect(outputs.SharedStagingUrl.Value).toBe('https://shared.staging.example.com');
    expect(outputs.SharedStagingParameterPrefix.Value).toBe('/staging');
    expect(outputs.SharedStagingLibraryVersion.Value).toBe(JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version);
    const [fn] = Object.keys(template.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('^Deletes staging-\\* feature stagings') } }));
    expect(outputs.SweeperFunctionName.Value).toEqual({ Ref: fn });
    const [sleeper] = Object.keys(template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.onSchedule' } }));
    expect(outputs.SleeperFunctionName.Value).toEqual({ Ref: sleeper });
    const [topic] = Object.keys(template.findResources('AWS::SNS::Topic'));
    expect(outputs.SweeperTopicArn.Value).toEqual({ Ref: topic });
    expect(outputs.StagingsPageUrl.Value).toBe('https://stagings.staging.example.com');
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

  test('hosts the staging-quota provider with staging.maxStagings of cdk.json as its cap, allowed to list stacks and keep the capacity\'s parameters only', () => {
    const fns = template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: Match.objectLike({ QUOTA_PREFIX: 'staging' }) } } });
    expect(Object.values(fns).map((f) => f.Properties.Environment.Variables)).toEqual([
      { QUOTA_PREFIX: 'staging', QUOTA_PARAMETER_PREFIX: '/staging', MAX_STAGINGS: String(exampleConfig.maxStagings) },
    ]);
    const role = (Object.values(fns)[0] as any).Properties.Role['Fn::GetAtt'][0];
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => p.Properties.Roles.some((r: any) => r.Ref === role));
    const actions = policies.flatMap((p) => p.Properties.PolicyDocument.Statement.flatMap((st: any) => [].concat(st.Action)));
    expect(actions.filter((a) => !a.startsWith('logs:'))).toEqual(['cloudformation:DescribeStacks', 'ssm:GetParameter', 'ssm:GetParametersByPath', 'ssm:DeleteParameter', 'ssm:PutParameter']);
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

describe('ready-made app, staging.profile "lean"', () => {
  /** The example without the sizes a profile decides, plus `extra`. */
  const lean = (extra: Record<string, unknown> = {}) => {
    const staging = JSON.parse(JSON.stringify(exampleConfig));
    delete staging.database.instanceClass;
    delete staging.cache.nodeType;
    delete staging.app.web.desiredCount;
    return Template.fromStack(buildStagingApp(new App({ context: { staging: { ...staging, profile: 'lean', ...extra } } }))[0]);
  };
  const webService = (t: Template) => Object.values(t.findResources('AWS::ECS::Service', { Properties: { LoadBalancers: Match.anyValue() } }));

  test('one shared web task, a db.t4g.micro Postgres and a cache.t4g.micro Valkey; the NAT gateway stays', () => {
    const t = lean();
    expect(webService(t).map((s) => s.Properties.DesiredCount)).toEqual([1]);
    t.hasResourceProperties('AWS::RDS::DBInstance', { DBInstanceClass: 'db.t4g.micro' });
    t.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { CacheNodeType: 'cache.t4g.micro' });
    t.resourceCountIs('AWS::EC2::NatGateway', 1);
  });

  test('keys that are set win over the profile', () => {
    const t = lean({ database: { ...exampleConfig.database }, cache: { ...exampleConfig.cache } });
    t.hasResourceProperties('AWS::RDS::DBInstance', { DBInstanceClass: exampleConfig.database.instanceClass });
    t.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { CacheNodeType: exampleConfig.cache.nodeType });
  });

  test('the standard profile (the default) keeps the library\'s sizes: two web tasks by default, db.t4g.medium, cache.t4g.small', () => {
    const staging = JSON.parse(JSON.stringify(exampleConfig));
    delete staging.database.instanceClass;
    delete staging.cache.nodeType;
    const t = Template.fromStack(buildStagingApp(new App({ context: { staging } }))[0]);
    t.hasResourceProperties('AWS::RDS::DBInstance', { DBInstanceClass: 'db.t4g.medium' });
    t.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { CacheNodeType: 'cache.t4g.small' });
  });

  test('fails on an unknown profile, naming the values', () => {
    expect(() => buildStagingApp(new App({ context: { staging: { ...exampleConfig, profile: 'tiny' } } }))).toThrow(
      expect.objectContaining({ lines: expect.arrayContaining([expect.stringMatching(/profile.*must be one of "standard", "lean"/)]) }),
    );
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
