import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { buildStagingApp } from '../bin/staging-app';
import { FeatureStaging, FeatureStagingLite, ISharedStaging, StagingAccess, SharedStaging, SharedStagingRef, StagingCache, StagingDatabase, StagingNames } from '../lib';
import { ProviderNames } from '../lib/contract/staging';
import { only, onlyId, resourcesOfType, ssm } from './util/template';
import { FEATURE_FLAGS } from './util/validate';

const ENV = { account: '123456789012', region: 'eu-west-1' };
const BRANCH = 'feature/new_cool_page';
const NAMES = StagingNames.fromBranch(BRANCH);
const IMAGE = ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/nginx:1.27');
const NIGHTLY = { name: 'nightly', command: ['bin/nightly'], schedule: scheduler.ScheduleExpression.expression('cron(0 3 * * ? *)') };

function sharedStack(): { stack: Stack; shared: SharedStaging; template: Template } {
  const stack = new Stack(new App({ context: FEATURE_FLAGS }), 'Shared', { env: ENV });
  const shared = new SharedStaging(stack, 'S', {
    access: StagingAccess.publicAccess(),
    domainName: 'staging.example.com',
    hostedZone: route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName: 'example.com' }),
    solr: { url: 'https://solr.internal.example.com:8983/solr' },
    app: { image: IMAGE, web: { name: 'web' } },
  });
  return { stack, shared, template: Template.fromStack(stack) };
}

function branchStack(build: (stack: Stack, shared: ISharedStaging) => void): any {
  const stack = new Stack(new App({ context: FEATURE_FLAGS }), 'Feature', { stackName: NAMES.stackName, env: ENV });
  build(stack, SharedStagingRef.fromParameters(stack, 'Shared'));
  return Template.fromStack(stack).toJSON();
}

const lite = (props: Partial<ConstructorParameters<typeof FeatureStagingLite>[2]> = {}) =>
  branchStack((stack, shared) => new FeatureStagingLite(stack, 'Staging', { branch: BRANCH, shared, image: IMAGE, workers: [{ name: 'worker' }], scheduledJobs: [NIGHTLY], ...props }));

describe('shared stack: the waker and the sleeper', () => {
  let template: Template;
  let json: any;
  beforeAll(() => {
    template = sharedStack().template;
    json = template.toJSON();
  });

  test('the waker is a Lambda target group of its own, published for tools', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      TargetType: 'lambda',
      Targets: [{ Id: { 'Fn::GetAtt': [Match.stringLikeRegexp('SleeperWaker'), 'Arn'] } }],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'elasticloadbalancing.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [Match.stringLikeRegexp('SleeperWaker'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/staging/shared/waker/target-group-arn' });
    template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.onRequest', Environment: { Variables: { PARAMETER_PREFIX: '/staging' } } });
  });

  test('the sleeper runs every 5 minutes, one run at a time', () => {
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
    template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.onSchedule', ReservedConcurrentExecutions: 1 });
  });

  test('branch rules know the waker (listener-priority), and the waker provider wakes on deploy', () => {
    // The waker's (the stagings page has a Lambda target group of its own).
    const lambdaTgs = resourcesOfType(json, 'AWS::ElasticLoadBalancingV2::TargetGroup').filter(([, r]) => r.Properties.TargetType === 'lambda' && r.Properties.Name === 'staging-waker');
    expect(lambdaTgs).toHaveLength(1);
    const wakerTg = { Ref: lambdaTgs[0][0] };
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'listener-priority staging provider: onEvent',
      Environment: { Variables: { WAKER_TARGET_GROUP_ARN: wakerTg } },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'waker staging provider: isComplete',
      Environment: { Variables: { WAKER_TARGET_GROUP_ARN: wakerTg, PARAMETER_PREFIX: '/staging' } },
    });
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: `/staging/shared/providers/${ProviderNames.WAKER}/service-token` });
  });

  test('scales only tagged staging-* services of the one cluster and moves only tagged rules of the one listener', () => {
    const statements = resourcesOfType(json, 'AWS::IAM::Policy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
    const scale = statements.filter((s) => s.Sid === 'ScaleBranchServices');
    expect(scale.length).toBeGreaterThanOrEqual(2);
    for (const s of scale) {
      expect(JSON.stringify(s.Resource)).toMatch(/:service\/".*\/staging-\*"/);
      expect(s.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/staging:kind': ['feature', 'feature-lite'] } });
    }
    for (const s of statements.filter((x) => x.Sid === 'MoveBranchRules')) {
      expect(s.Action).toBe('elasticloadbalancing:ModifyRule');
      expect(JSON.stringify(s.Resource)).toContain(':listener-rule/');
      expect(s.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/staging:kind': ['feature', 'feature-lite'] } });
    }
    const parameters = statements.find((s) => s.Sid === 'SleepParameters');
    expect(JSON.stringify(parameters.Resource)).not.toMatch(/parameter\/staging\/\*"/);
  });

  test('fails when the sleeper schedule is not whole minutes within an hour', () => {
    const stack = new Stack(new App({ context: FEATURE_FLAGS }), 'Shared', { env: ENV });
    expect(
      () =>
        new SharedStaging(stack, 'S', {
    access: StagingAccess.publicAccess(),
          domainName: 'staging.example.com',
          hostedZone: route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName: 'example.com' }),
          solr: { url: 'https://solr.internal.example.com:8983/solr' },
          app: { image: IMAGE, web: { name: 'web' } },
          sleeper: { schedule: Duration.seconds(30) },
        }),
    ).toThrow(/sleeper.schedule must be whole minutes from 1 minute to 1 hour \(got 30 seconds\)/);
  });
});

describe('branch stack: Custom::StagingSleep', () => {
  test('records services, counts, target group, rule and schedules, after the rule and the services; no Lambda', () => {
    const json = lite();
    const sleep = only(json, 'Custom::StagingSleep');
    expect(sleep.Properties.ServiceToken).toEqual(ssm(json, `/staging/shared/providers/${ProviderNames.WAKER}/service-token`));
    const services = resourcesOfType(json, 'AWS::ECS::Service').map(([id]) => id);
    const rule = onlyId(json, 'Custom::StagingListenerRule');
    expect(sleep.DependsOn).toEqual(expect.arrayContaining([...services, rule]));
    expect(sleep.Properties).toMatchObject({
      StagingName: NAMES.name,
      Branch: BRANCH,
      StackName: NAMES.stackName,
      SleepAfterMinutes: '60',
      StopDatabaseAfterMinutes: '0',
      RuleArn: { Ref: rule },
      TargetGroupArn: { Ref: onlyId(json, 'AWS::ElasticLoadBalancingV2::TargetGroup') },
      Schedules: [{ Ref: onlyId(json, 'AWS::Scheduler::Schedule') }],
    });
    expect(sleep.Properties.Services).toEqual(services.map((id) => ({ Name: { 'Fn::GetAtt': [id, 'Name'] }, DesiredCount: '1' })));
    expect(sleep.Properties.TaskDefinitions).toHaveLength(resourcesOfType(json, 'AWS::ECS::TaskDefinition').length);
    expect(resourcesOfType(json, 'AWS::Lambda::Function')).toEqual([]);
  });

  test('services keep desiredCount in the template: a deploy that updates a sleeping service starts it, and the sleep resource then wakes the branch', () => {
    const json = lite({ web: { name: 'web', desiredCount: 2 } });
    const counts = resourcesOfType(json, 'AWS::ECS::Service').map(([, r]) => r.Properties.DesiredCount).sort();
    expect(counts).toEqual([1, 2]);
    expect(only(json, 'Custom::StagingSleep').Properties.Services.map((s: any) => s.DesiredCount).sort()).toEqual(['1', '2']);
  });

  test('sleepAfter is recorded in minutes; Duration.minutes(0) turns sleep off', () => {
    expect(only(lite({ sleepAfter: Duration.hours(3) }), 'Custom::StagingSleep').Properties.SleepAfterMinutes).toBe('180');
    expect(only(lite({ sleepAfter: Duration.minutes(0) }), 'Custom::StagingSleep').Properties.SleepAfterMinutes).toBe('0');
  });

  test.each([
    [Duration.minutes(2), /sleepAfter must be whole minutes from 5 minutes to 30 days, or Duration.minutes\(0\) for never \(got 2 minutes\)/],
    [Duration.seconds(330), /sleepAfter must be whole minutes .* \(got 5 minutes 30 seconds\)/],
    [Duration.days(31), /sleepAfter must be whole minutes .* \(got 31 days\)/],
  ])('fails when sleepAfter is %s', (sleepAfter, message) => {
    expect(() => lite({ sleepAfter })).toThrow(message);
  });

  test('a full branch with its own database may stop it after a longer sleep', () => {
    const json = branchStack(
      (stack, shared) =>
        new FeatureStaging(stack, 'Staging', { branch: BRANCH, shared, image: IMAGE, cache: StagingCache.sharedPrefix(), stopDatabaseAfter: Duration.hours(12) }),
    );
    const sleep = only(json, 'Custom::StagingSleep');
    expect(sleep.Properties.StopDatabaseAfterMinutes).toBe('720');
    expect(sleep.Properties.DatabaseInstanceId).toEqual({ 'Fn::GetAtt': [onlyId(json, 'Custom::StagingDatabase'), 'InstanceIdentifier'] });
  });

  test('fails when stopDatabaseAfter is set without a database of its own, or without sleep', () => {
    expect(() =>
      branchStack((stack, shared) => new FeatureStaging(stack, 'Staging', { branch: BRANCH, shared, image: IMAGE, database: StagingDatabase.shared(), stopDatabaseAfter: Duration.hours(12) })),
    ).toThrow(/stopDatabaseAfter needs a database instance of the branch's own \(got 12 hours with a database on a shared instance\)/);
    expect(() =>
      branchStack((stack, shared) => new FeatureStaging(stack, 'Staging', { branch: BRANCH, shared, image: IMAGE, sleepAfter: Duration.minutes(0), stopDatabaseAfter: Duration.hours(12) })),
    ).toThrow(/stopDatabaseAfter \(12 hours\) needs the branch to sleep, but sleepAfter is 0/);
  });
});

describe('ready-made app', () => {
  const STAGING = JSON.parse(readFileSync(join(__dirname, '..', 'cdk.json'), 'utf8')).context.staging;
  const sleepAfter = (staging: unknown) => {
    const app = new App({ context: { ...FEATURE_FLAGS, staging, branch: BRANCH, lite: 'true' } });
    return only(Template.fromStack(buildStagingApp(app)[0]).toJSON(), 'Custom::StagingSleep').Properties.SleepAfterMinutes;
  };

  test('branches sleep after an hour unless staging.feature.sleepAfterMinutes says otherwise (0 = never)', () => {
    expect(sleepAfter(STAGING)).toBe('60');
    expect(sleepAfter({ ...STAGING, feature: { ...STAGING.feature, sleepAfterMinutes: 0 } })).toBe('0');
    expect(sleepAfter({ ...STAGING, feature: { ...STAGING.feature, sleepAfterMinutes: 240 } })).toBe('240');
  });

  test('fails when staging.feature.sleepAfterMinutes is not a whole number of minutes', () => {
    expect(() => sleepAfter({ ...STAGING, feature: { ...STAGING.feature, sleepAfterMinutes: 1.5 } })).toThrow(/staging\.feature\.sleepAfterMinutes/);
  });
});
