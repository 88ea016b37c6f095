import { App, Stack } from 'aws-cdk-lib';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ProviderNames } from '../../lib/contract/staging';
import { listenerPriorityProvider } from '../../lib/providers';
import { acknowledgedOf, statementsOf, wildcardsOf } from './util';

const LISTENER = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/staging/0123456789abcdef/fedcba9876543210';

describe('listener-priority provider', () => {
  const stack = new Stack(new App(), 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
  const listener = elbv2.ApplicationListener.fromApplicationListenerAttributes(stack, 'L', {
    listenerArn: LISTENER,
    securityGroup: undefined as never,
  });
  const WAKER = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/staging-waker/0123456789abcdef';
  const tokenSecret = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:staging/automation-token-AbCdEf';
  const lock = {
    environment: '{"signIn":"none","networks":["203.0.113.0/24"],"publicPaths":[],"public":false}',
    signIn: 'none' as const,
    rulesPerHost: 2,
    providerStatements: [new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [tokenSecret] })],
    lockHost: () => undefined,
  };
  const definition = listenerPriorityProvider({ listeners: [listener], prefix: 'staging', wakerTargetGroupArn: WAKER, access: lock });
  const statements = statementsOf(stack, definition);

  test('runs the listener-priority handler under its ProviderNames name', () => {
    expect(definition.name).toBe(ProviderNames.LISTENER_PRIORITY);
    expect(definition.options.handler).toBe('listener-priority');
  });

  test('tells the handler the waker\'s target group, which branch rules forward to while asleep, and the lock every rule carries', () => {
    expect(definition.options.environment).toEqual({ WAKER_TARGET_GROUP_ARN: WAKER, STAGING_ACCESS: lock.environment });
  });

  test('creates rules on the shared listener only, and changes only that listener\'s branch rules', () => {
    const rules = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/staging/0123456789abcdef/fedcba9876543210/*';
    expect(statements).toEqual([
      { Effect: 'Allow', Action: 'elasticloadbalancing:DescribeRules', Resource: '*' },
      { Effect: 'Allow', Action: 'elasticloadbalancing:CreateRule', Resource: [LISTENER, rules] },
      { Effect: 'Allow', Action: 'elasticloadbalancing:AddTags', Resource: rules, Condition: { StringEquals: { 'elasticloadbalancing:CreateAction': 'CreateRule' } } },
      {
        Effect: 'Allow',
        Action: [
          'elasticloadbalancing:ModifyRule',
          'elasticloadbalancing:SetRulePriorities',
          'elasticloadbalancing:DeleteRule',
          'elasticloadbalancing:AddTags',
          'elasticloadbalancing:RemoveTags',
        ],
        Resource: rules,
        // Only the branch rules (tagged at CreateRule), never the shared app's or any other rule of the listener.
        Condition: { StringEquals: { 'aws:ResourceTag/staging:kind': ['feature', 'feature-lite'], 'aws:ResourceTag/staging:prefix': 'staging' } },
      },
      // The lock's own statements (its secrets; with Cognito, each host's app client).
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: tokenSecret },
    ]);
  });

  test('acknowledges exactly "*" and the listener\'s rules, each with its reason', () => {
    const acknowledged = acknowledgedOf(stack, definition);
    expect(Object.keys(acknowledged).sort()).toEqual(wildcardsOf(stack, definition));
    expect(Object.keys(acknowledged).sort()).toEqual([
      'Resource::*',
      'Resource::arn:<AWS::Partition>:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/staging/0123456789abcdef/fedcba9876543210/*',
    ]);
    expect(acknowledged['Resource::*']).toMatch(/no resource-level permissions/);
  });
});
