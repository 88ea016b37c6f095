import type { Rule } from '@aws-sdk/client-elastic-load-balancing-v2';
import * as fc from 'fast-check';
import {
  firstFreePriorities,
  forwardActions,
  routeOf,
  forwardsTo,
  isRuleArn,
  pickPriority,
  ruleBelongsToListener,
  usedPriorities,
} from '../../lambda/listener-priority/rules';
import { roleOf, sameActions } from '../../lambda/listener-priority/access';

const LISTENER = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/alb/50dc6c495c0c9188/f2f7dc8efc522ab2';
const RULE = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/alb/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee';
const TG = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/tg/73e2d6bc24d8a067';

describe('pickPriority', () => {
  test('picks only free priorities inside the range, among the first `window` free ones', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 60 }), { maxLength: 60 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 12 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (used, min, span, window, r) => {
          const max = min + span;
          const set = new Set(used);
          const p = pickPriority(set, min, max, window, () => r);
          const free = firstFreePriorities(set, min, max, window);
          if (free.length === 0) {
            expect(p).toBeUndefined();
          } else {
            expect(free).toContain(p);
            expect(set.has(p!)).toBe(false);
          }
        },
      ),
    );
  });

  test('returns the lowest free priority when random() is 0', () => {
    expect(pickPriority(new Set([1, 2, 4]), 1, 10, 5, () => 0)).toBe(3);
  });

  test('returns undefined for a full range', () => {
    expect(pickPriority(new Set([5, 6, 7]), 5, 7, 5, () => 0.5)).toBeUndefined();
  });
});

describe('usedPriorities', () => {
  test('ignores the default rule and adds known-taken priorities', () => {
    const rules: Rule[] = [{ Priority: 'default', IsDefault: true }, { Priority: '3' }, { Priority: '50000' }];
    expect([...usedPriorities(rules, [7])].sort((a, b) => a - b)).toEqual([3, 7, 50000]);
  });
});

describe('roleOf: the host rule itself (its only condition the host)', () => {
  const host = 'feature-x.staging.example.com';
  test.each<[string, Rule, boolean]>([
    ['HostHeaderConfig', { Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [host] } }] }, true],
    ['legacy Values', { Conditions: [{ Field: 'host-header', Values: [host] }] }, true],
    ['other case', { Conditions: [{ Field: 'host-header', Values: [host.toUpperCase()] }] }, true],
    ['other host', { Conditions: [{ Field: 'host-header', Values: ['x.staging.example.com'] }] }, false],
    ['two hosts', { Conditions: [{ Field: 'host-header', Values: [host, 'y.example.com'] }] }, false],
    ['extra condition', { Conditions: [{ Field: 'host-header', Values: [host] }, { Field: 'path-pattern', Values: ['/a'] }] }, false],
    ['regex', { Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [host], RegexValues: ['.*'] } }] }, false],
    ['default rule', { IsDefault: true, Conditions: [{ Field: 'host-header', Values: [host] }] }, false],
  ])('%s', (_name, rule, expected) => {
    expect(roleOf(rule, host) === 'main').toBe(expected);
  });
});

describe('forwardsTo', () => {
  test.each<[string, Rule, boolean]>([
    ['plain forward', { Actions: [{ Type: 'forward', TargetGroupArn: TG }] }, true],
    [
      'as DescribeRules returns it',
      { Actions: [{ Type: 'forward', TargetGroupArn: TG, ForwardConfig: { TargetGroups: [{ TargetGroupArn: TG, Weight: 1 }] } }] },
      true,
    ],
    ['other target group', { Actions: [{ Type: 'forward', TargetGroupArn: `${TG}x` }] }, false],
    [
      'weighted to it and the waker',
      { Actions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: TG }, { TargetGroupArn: `${TG}x` }] } }] },
      true,
    ],
    [
      'weighted to two other groups',
      { Actions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: `${TG}y` }, { TargetGroupArn: `${TG}x` }] } }] },
      false,
    ],
    ['fixed response', { Actions: [{ Type: 'fixed-response' }] }, false],
    ['after a sign-in', { Actions: [{ Type: 'authenticate-oidc' }, { Type: 'forward', TargetGroupArn: TG }] }, true],
  ])('%s', (_name, rule, expected) => {
    expect(forwardsTo(rule, TG)).toBe(expected);
  });
});

describe('ARNs', () => {
  test('recognises listener rule ARNs only', () => {
    expect(isRuleArn(RULE)).toBe(true);
    expect(isRuleArn(LISTENER)).toBe(false);
    expect(isRuleArn(TG)).toBe(false);
    expect(isRuleArn('AWSCDK::CustomResourceProviderFramework::CREATE_FAILED')).toBe(false);
    expect(isRuleArn(undefined)).toBe(false);
  });

  test('tells whether a rule belongs to a listener', () => {
    expect(ruleBelongsToListener(RULE, LISTENER)).toBe(true);
    expect(ruleBelongsToListener(RULE, LISTENER.replace('f2f7dc8efc522ab2', '0123456789abcdef'))).toBe(false);
  });
});

describe('routes with the waker', () => {
  const BRANCH = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/branch/0123456789abcdef';
  const WAKER = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/waker/fedcba9876543210';
  const rule = (actions: Rule['Actions']): Rule => ({ RuleArn: 'r', Priority: '3', Actions: actions });

  test('forwardActions: a weighted forward to both groups, or a plain forward without a waker', () => {
    expect(forwardActions(BRANCH, WAKER, 'waker')[0].ForwardConfig!.TargetGroups).toEqual([
      { TargetGroupArn: BRANCH, Weight: 0 },
      { TargetGroupArn: WAKER, Weight: 1 },
    ]);
    expect(forwardActions(BRANCH, undefined, 'waker')).toEqual([{ Type: 'forward', TargetGroupArn: BRANCH }]);
  });

  test('routeOf reads the weights; a plain forward goes to the branch', () => {
    expect(routeOf(rule(forwardActions(BRANCH, WAKER, 'waker')), WAKER)).toBe('waker');
    expect(routeOf(rule(forwardActions(BRANCH, WAKER, 'branch')), WAKER)).toBe('branch');
    expect(routeOf(rule([{ Type: 'forward', TargetGroupArn: BRANCH }]), WAKER)).toBe('branch');
    expect(routeOf(rule(forwardActions(BRANCH, WAKER, 'waker')), undefined)).toBe('branch');
  });

  test('sameActions compares target groups and weights, in any order, as DescribeRules returns them', () => {
    const described = rule([
      { Type: 'forward', TargetGroupArn: undefined, ForwardConfig: { TargetGroups: [{ TargetGroupArn: WAKER, Weight: 1 }, { TargetGroupArn: BRANCH, Weight: 0 }] } },
    ]);
    expect(sameActions(described, forwardActions(BRANCH, WAKER, 'waker'))).toBe(true);
    expect(sameActions(described, forwardActions(BRANCH, WAKER, 'branch'))).toBe(false);
    const plain = rule([{ Type: 'forward', TargetGroupArn: BRANCH, ForwardConfig: { TargetGroups: [{ TargetGroupArn: BRANCH, Weight: 1 }] } }]);
    expect(sameActions(plain, forwardActions(BRANCH, undefined, 'branch'))).toBe(true);
    expect(sameActions(plain, forwardActions(BRANCH, WAKER, 'branch'))).toBe(false);
  });
});
