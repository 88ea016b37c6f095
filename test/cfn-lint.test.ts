import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Acknowledgement, Finding, judge, targets } from '../scripts/cfn-lint';

const finding = (over: Partial<Finding> = {}): Finding => ({
  target: 'app-shared',
  template: 'staging-shared.template.json',
  rule: 'W3005',
  level: 'Warning',
  resource: 'StagingSweeperFunction89C7DCC3',
  resourceType: 'AWS::Lambda::Function',
  path: 'Resources/StagingSweeperFunction89C7DCC3/DependsOn/0',
  message: "'StagingSweeperFunctionRoleDA79BBDB' dependency already enforced by a 'GetAtt' at 'Resources/StagingSweeperFunction89C7DCC3/Properties/Role'",
  ...over,
});
const ack = (over: Partial<Acknowledgement> = {}): Acknowledgement => ({
  rule: 'W3005',
  templates: '*',
  resources: '*',
  resourceTypes: ['AWS::Lambda::Function'],
  message: "at 'Resources/[^/]+/Properties/Role'$",
  reason: 'aws-cdk-lib writes it',
  ...over,
});

describe('judge: the verdict on cfn-lint findings', () => {
  test('an acknowledged warning passes and is counted on its acknowledgement', () => {
    const a = ack();
    const v = judge([finding(), finding({ resource: 'Other', resourceType: 'AWS::Lambda::Function' })], [a]);
    expect(v.problems).toEqual([]);
    expect(v.used.get(a)).toBe(2);
    expect(v.counts.get('W3005 (Warning)')).toBe(2);
  });

  test('fails on any error, even one an acknowledgement would match', () => {
    const v = judge([finding({ rule: 'E3002', level: 'Error', message: "'Tags' was unexpected" })], [ack({ rule: 'E3002', message: undefined, resourceTypes: undefined })]);
    expect(v.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^error: app-shared\/staging-shared.template.json .*E3002/),
        expect.stringMatching(/E3002 is not a warning: errors are fixed, never acknowledged/),
      ]),
    );
  });

  test.each([
    ['another rule', { rule: 'W3691' }],
    ['another template', { target: 'example-rails-app-branch' }],
    ['another resource type', { resourceType: 'AWS::StepFunctions::StateMachine' }],
    ['another message', { message: "dependency already enforced by a 'Ref' at 'Resources/X/Properties/RuleArn'" }],
  ])('fails on a warning no acknowledgement matches: %s', (_why, over) => {
    const v = judge([finding(over)], [ack({ templates: 'app-*' })]);
    expect(v.problems).toEqual(expect.arrayContaining([expect.stringMatching(/^unacknowledged warning: /)]));
  });

  test('fails on an acknowledgement that matches nothing any more, and on one without a reason', () => {
    const v = judge([finding()], [ack(), ack({ rule: 'W2001', reason: ' ' })]);
    expect(v.problems).toEqual([
      'cfn-lint-acknowledged.yaml: W2001 * has no reason',
      'cfn-lint-acknowledged.yaml: the acknowledgement of W2001 on * * matches nothing any more: remove it',
    ]);
  });
});

describe('the committed acknowledgements and targets', () => {
  test('every acknowledgement is of a warning and gives a reason', () => {
    const acks = parse(readFileSync(join(__dirname, '..', 'cfn-lint-acknowledged.yaml'), 'utf8')) as Acknowledgement[];
    expect(acks.length).toBeGreaterThan(0);
    expect(judge([], acks).problems.filter((p) => !p.includes('matches nothing'))).toEqual([]);
  });

  test('the ready-made app (shared, full, lite) and each example with a cdk.json (shared, branch)', () => {
    expect(targets().map((t) => t.name)).toEqual([
      'app-shared',
      'app-feature',
      'app-feature-lite',
      'example-bring-your-own-shared',
      'example-bring-your-own-branch',
      'example-frontend-lite-shared',
      'example-frontend-lite-branch',
      'example-rails-app-shared',
      'example-rails-app-branch',
    ]);
  });
});
