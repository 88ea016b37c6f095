import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildStagingApp } from '../bin/staging-app';
import { ProviderNames, SharedStaging, SharedStagingProps, SharedStagingStack, StagingKinds, TagKeys } from '../lib';
import { SharedOutputs } from '../lib/private/shared-outputs';
import { ENV, sharedStagingProps } from './util/harness';
import { resourcesOfType } from './util/template';
import { FEATURE_FLAGS, formatFindings, testApp, validationFindings } from './util/validate';

/** The example `staging` block of cdk.json, as `cdk synth` reads it. */
const STAGING = JSON.parse(readFileSync(join(__dirname, '..', 'cdk.json'), 'utf8')).context.staging;

/** A SharedStagingStack to build one SharedStaging in. */
function newStack(): Stack {
  return new SharedStagingStack(new App({ context: FEATURE_FLAGS }), 'Shared', { env: ENV });
}

describe('SharedStaging props', () => {
  test('fails on an environment-agnostic stack, naming the fix', () => {
    const stack = new Stack(new App({ context: FEATURE_FLAGS }), 'Agnostic');
    expect(() => new SharedStaging(stack, 'S', sharedStagingProps(stack))).toThrow(/explicit region.*env: \{ region/);
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
    expect(() => new SharedStaging(stack, 'S', sharedStagingProps(stack, overrides as Partial<SharedStagingProps>))).toThrow(message);
  });

  test('reports every problem at once', () => {
    const stack = newStack();
    expect(() => new SharedStaging(stack, 'S', sharedStagingProps(stack, { prefix: 'X', maxAzs: 1 }))).toThrow(/prefix[\s\S]*maxAzs/);
  });

  test('adds EC2 capacity with managed scaling when asked, and stays nag-clean', () => {
    const app = testApp();
    const stack = new Stack(app, 'Shared', { env: ENV });
    new SharedStaging(stack, 'S', sharedStagingProps(stack, { ec2Capacity: { maxCapacity: 4 } }));
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::ECS::CapacityProvider', {
      AutoScalingGroupProvider: Match.objectLike({ ManagedScaling: Match.objectLike({ Status: 'ENABLED' }) }),
    });
    t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MaxSize: '4', MinSize: '0' });
    expect(formatFindings(validationFindings(app))).toEqual([]);
  });

  test('the sweeper can be turned off', () => {
    const stack = newStack();
    const shared = new SharedStaging(stack, 'S', sharedStagingProps(stack, { sweeper: { enabled: false } }));
    expect(shared.sweeper).toBeUndefined();
    // Only the sleeper's schedule is left.
    Template.fromStack(stack).resourceCountIs('AWS::Events::Rule', 1);
    Template.fromStack(stack).hasResourceProperties('AWS::Events::Rule', { Description: Match.stringLikeRegexp('to sleep') });
    expect(Object.keys(Template.fromStack(stack).toJSON().Outputs).filter((o) => o.startsWith('Sweeper'))).toEqual([]);
  });

  test('a second provider with the same name is refused', () => {
    const stack = newStack();
    const shared = new SharedStaging(stack, 'S', sharedStagingProps(stack));
    expect(() => shared.addProvider(ProviderNames.LISTENER_PRIORITY, { handler: 'listener-priority', policies: [] })).toThrow(
      /already added/,
    );
  });
});

describe('ready-made app, shared stack: the data providers', () => {
  let json: any;

  beforeAll(() => {
    const app = testApp({ context: { staging: STAGING } });
    const stacks = buildStagingApp(app);
    expect(stacks.map((s) => s.stackName)).toEqual(['staging-shared']);
    json = Template.fromStack(stacks[0]).toJSON();
  });

  /** The Provider framework's onEvent function behind a published service token, and the functions and waiter it drives. */
  function provider(name: string) {
    const tokens = resourcesOfType(json, 'AWS::SSM::Parameter').filter(([, p]) => p.Properties.Name === `/staging/shared/providers/${name}/service-token`);
    if (tokens.length !== 1) throw new Error(`expected one service-token parameter of ${name}, found ${tokens.length}`);
    const frameworkId = tokens[0][1].Properties.Value['Fn::GetAtt'][0];
    const framework = json.Resources[frameworkId];
    const variables = framework.Properties.Environment.Variables;
    const onEventId: string = variables.USER_ON_EVENT_FUNCTION_ARN['Fn::GetAtt'][0];
    const isCompleteId: string | undefined = variables.USER_IS_COMPLETE_FUNCTION_ARN?.['Fn::GetAtt'][0];
    const waiterId: string | undefined = variables.WAITER_STATE_MACHINE_ARN?.Ref;
    const roleId: string = json.Resources[onEventId].Properties.Role['Fn::GetAtt'][0];
    const statements = resourcesOfType(json, 'AWS::IAM::Policy')
      .filter(([, p]) => (p.Properties.Roles as any[]).some((r) => r.Ref === roleId))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as any[]);
    return {
      framework,
      onEvent: json.Resources[onEventId],
      isComplete: isCompleteId ? json.Resources[isCompleteId] : undefined,
      waiter: waiterId ? json.Resources[waiterId] : undefined,
      statements,
    };
  }

  /** An ARN as text, tokens as ${...}: `arn:aws:rds:eu-west-1:${AWS::AccountId}:db:staging-*`. */
  function arnText(value: any): string {
    if (typeof value === 'string') return value;
    if (value?.Ref) return `\${${value.Ref}}`;
    if (value?.['Fn::GetAtt']) return `\${${value['Fn::GetAtt'].join('.')}}`;
    if (value?.['Fn::Join']) return (value['Fn::Join'][1] as any[]).map(arnText).join(value['Fn::Join'][0]);
    return JSON.stringify(value);
  }

  const actionsOf = (s: any): string[] => [].concat(s.Action);

  test('the four data providers publish their service tokens in SSM', () => {
    for (const name of ['database-restore', 'release-task', 'solr-collection', 'redis-prefix']) {
      const p = provider(name);
      expect({ name, type: p.framework.Type, handler: p.onEvent.Properties.Handler }).toEqual({ name, type: 'AWS::Lambda::Function', handler: 'index.onEvent' });
    }
  });

  test('database-restore may modify and delete only staging-*-???? instances tagged staging:kind=feature', () => {
    const { statements } = provider('database-restore');
    const destructive = statements.filter((s) => actionsOf(s).some((a) => /^rds:(Modify|Delete)DBInstance$/.test(a) || a === 'rds:*'));
    const onInstances = destructive.filter((s) => [].concat(s.Resource).some((r) => /:db:/.test(arnText(r))));
    expect(onInstances.flatMap(actionsOf).sort()).toEqual(['rds:DeleteDBInstance', 'rds:ModifyDBInstance']);
    for (const s of onInstances) {
      expect(s.Effect).toBe('Allow');
      expect(s.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/staging:kind': 'feature' } });
      for (const resource of [].concat(s.Resource)) expect(arnText(resource)).toMatch(/^arn:aws:rds:eu-west-1:(\d{12}|\$\{AWS::AccountId\}):db:staging-\*-\?\?\?\?$/);
    }
    // The rest: ModifyDBInstance on the shared subnet group only (IAM checks it when the call moves an instance into it).
    const rest = destructive.filter((s) => !onInstances.includes(s));
    expect(rest.map((s) => ({ actions: actionsOf(s), resources: [].concat(s.Resource).map(arnText) }))).toEqual([
      { actions: ['rds:ModifyDBInstance'], resources: [expect.stringMatching(/:subgrp:[^*]+$/)] },
    ]);
    // Restores create only staging-*-???? instances too.
    const restore = statements.find((s) => actionsOf(s).includes('rds:RestoreDBInstanceFromDBSnapshot'));
    const dbResources = [].concat(restore.Resource).map(arnText).filter((r) => /:db:/.test(r));
    expect(dbResources).toEqual([expect.stringMatching(/:db:staging-\*-\?\?\?\?$/)]);
  });

  test('the solr-collection and redis-prefix functions run in the shared VPC; the others do not', () => {
    for (const name of ['solr-collection', 'redis-prefix']) {
      const p = provider(name);
      for (const fn of [p.onEvent, p.isComplete].filter(Boolean)) {
        expect({ name, vpc: fn.Properties.VpcConfig }).toEqual({
          name,
          vpc: { SubnetIds: expect.arrayContaining([expect.anything()]), SecurityGroupIds: expect.arrayContaining([expect.anything()]) },
        });
      }
    }
    for (const name of ['database-restore', 'release-task']) {
      expect({ name, vpc: provider(name).onEvent.Properties.VpcConfig }).toEqual({ name, vpc: undefined });
    }
  });

  test('providers that wait have an isComplete handler and a Step Functions waiter that logs, within the one-hour service timeout', () => {
    for (const name of ['database-restore', 'release-task', 'solr-collection']) {
      const p = provider(name);
      expect({ name, isComplete: p.isComplete?.Properties.Handler }).toEqual({ name, isComplete: 'index.isComplete' });
      expect({ name, type: p.waiter?.Type }).toEqual({ name, type: 'AWS::StepFunctions::StateMachine' });
      expect({ name, logging: p.waiter.Properties.LoggingConfiguration }).toEqual({
        name,
        logging: expect.objectContaining({ Level: 'ALL', Destinations: [expect.objectContaining({ CloudWatchLogsLogGroup: expect.anything() })] }),
      });
      const definition = arnText(p.waiter.Properties.DefinitionString);
      const retry = /"IntervalSeconds":(\d+),"MaxAttempts":(\d+)/.exec(definition);
      expect(retry).not.toBeNull();
      expect({ name, waitSeconds: Number(retry![1]) * Number(retry![2]) < 3600 }).toEqual({ name, waitSeconds: true });
    }
    for (const name of ['redis-prefix', 'listener-priority']) {
      expect({ name, waiter: provider(name).waiter }).toEqual({ name, waiter: undefined });
    }
  });
});


describe('SharedStaging in a SharedStagingStack', () => {
  test('takes the stack\'s prefix and parameter prefix when given none', () => {
    const stack = new SharedStagingStack(new App({ context: FEATURE_FLAGS }), 'Shared', { prefix: 'acme', parameterPrefix: '/acme/staging', env: ENV });
    const shared = new SharedStaging(stack, 'Staging', sharedStagingProps(stack));
    expect([shared.prefix, shared.parameterPrefix]).toEqual(['acme', '/acme/staging']);
    Template.fromStack(stack).hasResourceProperties('AWS::SSM::Parameter', { Name: '/acme/staging/shared/vpc-id' });
  });

  test('fails when its prefix is not the stack\'s, naming both', () => {
    const stack = new SharedStagingStack(new App({ context: FEATURE_FLAGS }), 'Shared', { prefix: 'acme', env: ENV });
    expect(() => new SharedStaging(stack, 'Staging', sharedStagingProps(stack, { prefix: 'other' }))).toThrow(
      /prefix "other" and parameterPrefix "\/acme" must be those of the SharedStagingStack it is in \("acme", "\/acme"\); leave them out/,
    );
  });
});

describe('SharedStaging in a plain Stack of the user\'s own', () => {
  let stack: Stack;
  let json: any;
  beforeAll(() => {
    stack = new Stack(new App({ context: FEATURE_FLAGS }), 'Shared', { stackName: 'staging-shared', env: ENV });
    new SharedStaging(stack, 'Staging', sharedStagingProps(stack));
    json = Template.fromStack(stack).toJSON();
  });

  test('adds no outputs and no stack tags: both are the user\'s job (README, "A staging in your own stack")', () => {
    expect(json.Outputs).toBeUndefined();
    expect(stack.tags.tagValues()).toEqual({});
  });

  test('still tags its own resources as the shared staging\'s, which the sweeper\'s explicit denies read', () => {
    const [, db] = resourcesOfType(json, 'AWS::RDS::DBInstance')[0];
    const tags = Object.fromEntries((db.Properties.Tags as Array<{ Key: string; Value: string }>).map((t) => [t.Key, t.Value]));
    expect(tags).toMatchObject({ [TagKeys.KIND]: StagingKinds.SHARED, [TagKeys.PREFIX]: 'staging' });
    expect(tags[TagKeys.MANAGED_BY]).toBeUndefined();
  });

  test('the outputs a SharedStagingStack would add are all there with it', () => {
    const app = new App({ context: FEATURE_FLAGS });
    const owned = new SharedStagingStack(app, 'Shared', { env: ENV });
    new SharedStaging(owned, 'Staging', sharedStagingProps(owned));
    expect(Object.keys(Template.fromStack(owned).toJSON().Outputs).sort()).toEqual(Object.values(SharedOutputs).sort());
  });
});
