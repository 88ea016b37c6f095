import { parseProperties, type SleepResourceProperties } from '../../../lib/contract/providers/waker';

/** Custom::StagingSleep as a branch stack sends it (CloudFormation passes strings). */
const PROPERTIES: SleepResourceProperties = {
  StagingName: 'feature-login-df7c7aeb',
  Branch: 'feature/login',
  StackName: 'staging-feature-login-df7c7aeb',
  ClusterArn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/staging',
  WebServiceName: 'staging-feature-login-web',
  Services: [
    { Name: 'staging-feature-login-web', DesiredCount: '2' },
    { Name: 'staging-feature-login-worker', DesiredCount: '1' },
  ],
  TargetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/staging-feat-web/73e2d6bc24d8a067',
  TargetGroupFullName: 'targetgroup/staging-feat-web/73e2d6bc24d8a067',
  LoadBalancerFullName: 'app/staging/50dc6c495c0c9188',
  RuleArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/staging/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee',
  Schedules: ['staging-feature-login-nightly'],
  SleepAfterMinutes: '60',
  StopDatabaseAfterMinutes: '0',
  TaskDefinitions: ['arn:aws:ecs:eu-west-1:123456789012:task-definition/staging-feature-login-web:3'],
};

describe('Custom::StagingSleep parseProperties', () => {
  test('the config a deploy records: numbers parsed, the web service first, TaskDefinitions not kept', () => {
    expect(parseProperties(PROPERTIES)).toEqual({
      stagingName: 'feature-login-df7c7aeb',
      branch: 'feature/login',
      stackName: 'staging-feature-login-df7c7aeb',
      clusterArn: PROPERTIES.ClusterArn,
      services: [
        { name: 'staging-feature-login-web', desiredCount: 2 },
        { name: 'staging-feature-login-worker', desiredCount: 1 },
      ],
      webServiceName: 'staging-feature-login-web',
      targetGroupArn: PROPERTIES.TargetGroupArn,
      targetGroupFullName: PROPERTIES.TargetGroupFullName,
      loadBalancerFullName: PROPERTIES.LoadBalancerFullName,
      ruleArn: PROPERTIES.RuleArn,
      schedules: ['staging-feature-login-nightly'],
      databaseInstanceId: undefined,
      sleepAfterMinutes: 60,
      stopDatabaseAfterMinutes: 0,
    });
  });

  test('without Branch, minutes or schedules: the staging name, 0 (never sleeps, database kept) and none', () => {
    const bare = { ...PROPERTIES, Branch: undefined, SleepAfterMinutes: undefined, StopDatabaseAfterMinutes: undefined, Schedules: undefined };
    expect(parseProperties(bare)).toMatchObject({ branch: 'feature-login-df7c7aeb', sleepAfterMinutes: 0, stopDatabaseAfterMinutes: 0, schedules: [] });
  });

  test.each([
    ['StackName', { StackName: '' }, /Missing required property 'StackName'/],
    ['RuleArn', { RuleArn: undefined }, /Missing required property 'RuleArn'/],
    ['a negative SleepAfterMinutes', { SleepAfterMinutes: '-5' }, /SleepAfterMinutes must be a whole number of minutes >= 0, got '-5'/],
    ['a fractional StopDatabaseAfterMinutes', { StopDatabaseAfterMinutes: '1.5' }, /StopDatabaseAfterMinutes must be a whole number of minutes >= 0, got '1.5'/],
    ['minutes that are no number', { SleepAfterMinutes: 'an hour' }, /SleepAfterMinutes must be a whole number/],
  ])('fails on %s', (_what, change, message) => {
    expect(() => parseProperties({ ...PROPERTIES, ...change })).toThrow(message);
  });
});
