/**
 * The shared staging's capacity (issue 23): the shards at 1, 2 and 6 load balancers, every path a
 * request can take, the quotas of each load balancer counted from the template plus the branches
 * its slots admit, and the shard registry.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { SharedStaging, SharedStagingProps, SharedStagingStack, StagingAccess } from '../lib';
import { SHARED_HOSTS_ON_FIRST_SHARD, SHARED_TARGET_GROUPS_ON_FIRST_SHARD, TARGET_GROUPS_PER_LOAD_BALANCER, shardRegistryParameterName } from '../lib/contract/capacity';
import { SharedOutputs } from '../lib/private/shared-outputs';
import { TemplateResolver } from './util/cfn-resolve';
import { ENV, sharedStagingProps } from './util/harness';
import { resourcesOfType } from './util/template';
import { FEATURE_FLAGS, formatFindings, testApp, validationFindings } from './util/validate';

const LISTENER = 'AWS::ElasticLoadBalancingV2::Listener';
const RULE = 'AWS::ElasticLoadBalancingV2::ListenerRule';
const TARGET_GROUP = 'AWS::ElasticLoadBalancingV2::TargetGroup';
const LOAD_BALANCER = 'AWS::ElasticLoadBalancingV2::LoadBalancer';

interface Built {
  readonly app: App;
  readonly stack: Stack;
  readonly shared: SharedStaging;
  readonly json: any;
}

function build(overrides: Partial<SharedStagingProps> = {}, app: App = new App({ context: FEATURE_FLAGS })): Built {
  const stack = new SharedStagingStack(app, 'Shared', { env: ENV });
  const shared = new SharedStaging(stack, 'Staging', sharedStagingProps(stack, overrides));
  return { app, stack, shared, json: Template.fromStack(stack).toJSON() };
}

/** A lock whose hosts take `rules` listener rules (1: networks only; 2: OIDC and automation; 4: OIDC, networks, automation, public paths). */
function lockOf(stack: Stack, rules: 1 | 2 | 4): StagingAccess {
  if (rules === 1) return StagingAccess.allowNetworks(['203.0.113.0/24']);
  const secret = (id: string, name: string) => secretsmanager.Secret.fromSecretNameV2(stack, id, name);
  return StagingAccess.oidc({
    issuer: 'https://login.example.com',
    authorizationEndpoint: 'https://login.example.com/authorize',
    tokenEndpoint: 'https://login.example.com/token',
    userInfoEndpoint: 'https://login.example.com/userinfo',
    clientId: 'staging',
    clientSecret: secret('Client', 'staging/oidc'),
    automation: { tokenSecret: secret('Token', 'staging/token') },
    ...(rules === 4 ? { allowNetworks: ['203.0.113.0/24'], publicPaths: ['/webhooks/*'] } : {}),
  });
}

/** The shard registry as deployed, its intrinsics resolved. */
function registryOf(json: any): any {
  const [, parameter] = resourcesOfType(json, 'AWS::SSM::Parameter').find(([, r]) => r.Properties.Name === shardRegistryParameterName('/staging'))!;
  return JSON.parse(new TemplateResolver(json, { ...ENV, stackName: 'staging-shared' }).resolve(parameter.Properties.Value));
}

/** The logical ids a value refers to (Ref and Fn::GetAtt), deep. */
function referencedIds(value: any): string[] {
  if (Array.isArray(value)) return value.flatMap(referencedIds);
  if (value === null || typeof value !== 'object') return [];
  if (typeof value.Ref === 'string') return [value.Ref];
  if (Array.isArray(value['Fn::GetAtt'])) return [value['Fn::GetAtt'][0]];
  return Object.values(value).flatMap(referencedIds);
}

/** The target groups a listener's or rule's actions forward to (logical ids). */
function forwardedTargetGroups(actions: any[]): string[] {
  return actions.flatMap((a) => [a.TargetGroupArn, ...(a.ForwardConfig?.TargetGroups ?? []).map((g: any) => g.TargetGroupArn)]).filter(Boolean).flatMap(referencedIds);
}

describe.each([
  ['1 shard', undefined, 1],
  ['2 shards', 150, 2],
  ['6 shards', 500, 6],
])('SharedStaging with %s', (_name, maxBranches, shards) => {
  const { shared, json } = build({ maxBranches });
  const resolver = new TemplateResolver(json, { ...ENV, stackName: 'staging-shared' });
  const registry = registryOf(json);
  const listeners = resourcesOfType(json, LISTENER);

  test('builds the load balancers the capacity needs, each with HTTPS and the redirect, on one security group', () => {
    expect(shared.shardCount).toBe(shards);
    expect(resourcesOfType(json, LOAD_BALANCER)).toHaveLength(shards);
    expect(listeners.filter(([, l]) => l.Properties.Port === 443)).toHaveLength(shards);
    expect(listeners.filter(([, l]) => l.Properties.Port === 80)).toHaveLength(shards);
    expect(resourcesOfType(json, 'AWS::CertificateManager::Certificate')).toHaveLength(1);
    const groups = new Set(resourcesOfType(json, LOAD_BALANCER).map(([, lb]) => JSON.stringify(lb.Properties.SecurityGroups)));
    expect(groups.size).toBe(1);
    expect(shared.capacity).toBe(shared.shardSlots.reduce((a, b) => a + b, 0));
    expect(shared.capacity).toBeGreaterThanOrEqual(maxBranches ?? 1);
  });

  test('every path a request can take ends at a target group that exists, or at a fixed answer', () => {
    for (const [, listener] of listeners) {
      const [action] = listener.Properties.DefaultActions;
      expect(['fixed-response', 'redirect']).toContain(action.Type);
    }
    for (const [, rule] of resourcesOfType(json, RULE)) {
      for (const id of forwardedTargetGroups(rule.Properties.Actions)) expect(json.Resources[id]?.Type).toBe(TARGET_GROUP);
    }
    // Branch rules (written at deploy time) forward to the branch's own target group and to the waker's of its shard.
    const wakers = registry.shards.map((s: any) => s.wakerTargetGroupArn);
    const targetGroupArns = resourcesOfType(json, TARGET_GROUP).map(([id]) => resolver.ref(id));
    for (const waker of wakers) expect(targetGroupArns).toContain(waker);
    expect(new Set(wakers).size).toBe(shards);
    // Each waker target group sends to the waker, which each may invoke (one permission per group).
    for (const [id, group] of resourcesOfType(json, TARGET_GROUP).filter(([, g]) => g.Properties.TargetType === 'lambda')) {
      const name = group.Properties.Name;
      const permissions = resourcesOfType(json, 'AWS::Lambda::Permission').filter(([, p]) => JSON.stringify(resolver.resolve(p.Properties.SourceArn ?? '')).includes(`targetgroup/${name}/`));
      expect([id, permissions]).toEqual([id, [expect.anything()]]);
    }
  });

  test('no load balancer exceeds its target groups or its rules, counting the branches its slots admit', () => {
    const listenerOfShard = registry.shards.map((s: any) => s.listenerArn);
    for (const shard of registry.shards) {
      const ownRules = resourcesOfType(json, RULE).filter(([, r]) => resolver.resolve(r.Properties.ListenerArn) === listenerOfShard[shard.index]);
      const ownGroups = new Set([...ownRules.flatMap(([, r]) => forwardedTargetGroups(r.Properties.Actions)).map((id) => resolver.ref(id)), shard.wakerTargetGroupArn]);
      // The stagings page (another feature of this turn) is reserved on shard 0 when it is not in the template.
      const reservedGroups = shard.index === 0 ? SHARED_TARGET_GROUPS_ON_FIRST_SHARD - ownGroups.size : 0;
      const reservedRules = shard.index === 0 ? SHARED_HOSTS_ON_FIRST_SHARD * registry.rulesPerBranch - ownRules.length : 0;
      expect(reservedGroups).toBeGreaterThanOrEqual(0);
      expect(ownGroups.size + reservedGroups + shard.branchSlots).toBeLessThanOrEqual(TARGET_GROUPS_PER_LOAD_BALANCER);
      expect(ownRules.length + reservedRules + shard.branchSlots * registry.rulesPerBranch).toBeLessThanOrEqual(registry.rulesPerLoadBalancer);
      expect(shard.branchSlots).toBe(shared.shardSlots[shard.index]);
    }
  });

  test('publishes the registry of every shard, and the capacity as an output', () => {
    expect(registry.shards.map((s: any) => s.index)).toEqual([...Array(shards).keys()]);
    for (const shard of registry.shards) {
      expect(shard.listenerArn).toMatch(/:listener\/app\//);
      expect(shard.loadBalancerArn).toMatch(/:loadbalancer\/app\//);
      expect(shard.loadBalancerFullName).toMatch(/^app\//);
    }
    expect(json.Outputs[SharedOutputs.CAPACITY].Value).toBe(String(shared.capacity));
    expect(json.Outputs[SharedOutputs.SHARD_COUNT].Value).toBe(String(shards));
  });

  test('a guard served by the quota provider holds the shard count, and the registry waits for it', () => {
    const [[guardId, guard]] = resourcesOfType(json, 'Custom::StagingCapacity');
    expect(guard.Properties.ShardCount).toBe(String(shards));
    expect(guard.Properties.MaxBranches).toBe(maxBranches === undefined ? undefined : String(maxBranches));
    const token = resolver.resolve(guard.Properties.ServiceToken);
    const [, quotaToken] = resourcesOfType(json, 'AWS::SSM::Parameter').find(([, p]) => String(p.Properties.Name).endsWith('/providers/staging-quota/service-token'))!;
    expect(token).toEqual(resolver.resolve(quotaToken.Properties.Value));
    const [[, registryParameter]] = resourcesOfType(json, 'AWS::SSM::Parameter').filter(([, p]) => p.Properties.Name === shardRegistryParameterName('/staging'));
    expect(registryParameter.DependsOn).toContain(guardId);
  });

  test('the listener-priority provider and the sleeper may change the rules of every shard listener', () => {
    const policies = JSON.stringify(resolver.resolve(resourcesOfType(json, 'AWS::IAM::Policy').map(([, p]) => p.Properties.PolicyDocument)));
    for (const shard of registry.shards) {
      const rules = shard.listenerArn.replace(':listener/', ':listener-rule/');
      expect(policies.split(`${rules}/*`).length - 1).toBeGreaterThanOrEqual(2);
    }
  });
});

describe('shard 0 is the load balancer of before shards', () => {
  test('the 1-shard template keeps the load balancer logical ids', () => {
    const { json } = build();
    const ids = (type: string) => resourcesOfType(json, type).map(([id]) => id).sort();
    // As on main before issue 23 (test/__snapshots__/app-shared.test.ts.snap).
    expect(ids(LOAD_BALANCER)).toEqual(['StagingLoadBalancer3D59D3BE']);
    expect(ids(LISTENER)).toEqual(['StagingLoadBalancerHttpsDB0D172D', 'StagingLoadBalancerRedirect80To443AB579B6E']);
    expect(ids('AWS::CertificateManager::Certificate')).toEqual(['StagingWildcardCertificate4CE25800']);
    // The stagings page's target group is new in this version; the two of before keep their ids.
    expect(ids(TARGET_GROUP)).toEqual(['StagingAppTargetGroup5581DEBD', 'StagingSleeperTargetGroupB950366B', 'StagingStagingsPageTargetGroup468A8135']);
    expect(json.Resources.StagingLoadBalancerSecurityGroup3AF767AA.Type).toBe('AWS::EC2::SecurityGroup');
    expect(json.Resources.StagingSleeperTargetGroupArn8DC0F170.Type).toBe('AWS::SSM::Parameter');
  });

  test('the other shards log to the same bucket, each under its own prefix', () => {
    const { json } = build({ maxBranches: 200 });
    const prefixes = resourcesOfType(json, LOAD_BALANCER).map(([, lb]) => lb.Properties.LoadBalancerAttributes.find((a: any) => a.Key === 'access_logs.s3.prefix').Value);
    expect(prefixes.sort()).toEqual(['alb', 'alb-shard1', 'alb-shard2', 'alb-shard3'].slice(0, prefixes.length));
  });
});

describe('the shard registry parameter', () => {
  /** The registry's length with the longest values AWS gives: 32-character load balancer names, the longest Region. */
  function worstCaseLength(json: any): number {
    const value = registryOf(json);
    const lbName = 'x'.repeat(32);
    const region = 'ap-southeast-2';
    for (const s of value.shards) {
      s.loadBalancerArn = `arn:aws:elasticloadbalancing:${region}:123456789012:loadbalancer/app/${lbName}/0123456789abcdef`;
      s.loadBalancerFullName = `app/${lbName}/0123456789abcdef`;
      s.listenerArn = `arn:aws:elasticloadbalancing:${region}:123456789012:listener/app/${lbName}/0123456789abcdef/0123456789abcdef`;
      s.dnsName = `${lbName}-1234567890.${region}.elb.amazonaws.com`;
      s.canonicalHostedZoneId = 'Z1GM3OXH4ZPM65';
      s.wakerTargetGroupArn = `arn:aws:elasticloadbalancing:${region}:123456789012:targetgroup/${'x'.repeat(29)}/0123456789abcdef`;
    }
    return JSON.stringify(value).length;
  }

  test('is Intelligent-Tiering: past the 4 KB of a standard parameter at 6 shards, within the 8 KB of an advanced one at the most shards', () => {
    const six = build({ maxBranches: 500 }).json;
    Template.fromJSON(six).hasResourceProperties('AWS::SSM::Parameter', { Name: '/staging/capacity/shards', Tier: 'Intelligent-Tiering' });
    expect(worstCaseLength(six)).toBeGreaterThan(4096);
    const most = build({ maxBranches: 988 }).json;
    expect(resourcesOfType(most, LOAD_BALANCER)).toHaveLength(10);
    expect(worstCaseLength(most)).toBeLessThanOrEqual(8192);
  });
});

describe('capacity props', () => {
  test.each<[string, (stack: Stack) => Partial<SharedStagingProps>, RegExp]>([
    ['maxStagings above the capacity', () => ({ maxStagings: 150 }), /maxStagings 150 is above the capacity of 97 branch stagings \(1 load balancer\(s\)\); set maxBranches: 150/],
    ['maxBranches not a whole number', () => ({ maxBranches: 0 }), /maxBranches must be a literal whole number >= 1 \(got 0\).*e\.g\. maxBranches: 500/],
    ['rulesPerLoadBalancer not a whole number', () => ({ rulesPerLoadBalancer: 99.5 }), /rulesPerLoadBalancer must be a literal whole number \(got 99\.5\).*Service Quotas, 100 unless/],
    ['a capacity needing too many load balancers', () => ({ maxBranches: 5000 }), /maxBranches 5000 needs 51 load balancers, more than the 10.*Lower maxBranches/],
    ['a rule quota too small for the lock', (stack) => ({ access: lockOf(stack, 4), rulesPerLoadBalancer: 10 }), /rulesPerLoadBalancer 10 leaves no room for a branch that takes 4 listener rules/],
  ])('fails on %s, naming the prop, the value and the fix', (_name, overrides, message) => {
    const stack = new SharedStagingStack(new App({ context: FEATURE_FLAGS }), 'Shared', { env: ENV });
    expect(() => new SharedStaging(stack, 'Staging', sharedStagingProps(stack, overrides(stack)))).toThrow(message);
  });

  test.each([
    [1, 97],
    [2, 48],
    [4, 23],
  ] as const)('a lock of %i rule(s) per host leaves shard 0 %i branches', (rules, slots) => {
    const stack = new SharedStagingStack(new App({ context: FEATURE_FLAGS }), 'Shared', { env: ENV });
    const shared = new SharedStaging(stack, 'Staging', sharedStagingProps(stack, { access: lockOf(stack, rules) }));
    expect([shared.rulesPerBranch, shared.shardSlots]).toEqual([rules, [slots]]);
  });

  test('a raised rule quota holds more branches with the sign-in rules', () => {
    const stack = new SharedStagingStack(new App({ context: FEATURE_FLAGS }), 'Shared', { env: ENV });
    const shared = new SharedStaging(stack, 'Staging', sharedStagingProps(stack, { access: lockOf(stack, 4), rulesPerLoadBalancer: 400, maxBranches: 500 }));
    expect(shared.shardSlots).toEqual([97, 99, 99, 99, 99, 99]);
  });
});

test('6 shards stay cdk-nag and Validate clean', () => {
  const app = testApp();
  build({ maxBranches: 500 }, app);
  expect(formatFindings(validationFindings(app))).toEqual([]);
});

test('the waker target groups are named per shard', () => {
  const { json } = build({ maxBranches: 200 });
  Template.fromJSON(json).resourcePropertiesCountIs(TARGET_GROUP, { TargetType: 'lambda', Name: Match.stringLikeRegexp('^staging-waker(-[12])?$') }, 3);
});
