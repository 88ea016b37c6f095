/**
 * lib/staging-access.ts: the lock every host of the shared stack carries, for each kind of lock,
 * and the bad input it refuses. Branch hosts get theirs from the listener-priority handler
 * (test/lambda/listener-priority.test.ts, "with the stagings' lock"), which reads the same JSON
 * these tests find in its environment.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { buildStagingApp } from '../bin/staging-app';
import { desiredRules } from '../lambda/listener-priority/access';
import { SharedStaging, StagingAccess } from '../lib';
import { parseAccessConfig } from '../lib/contract/access';
import { formatFindings, testApp, validationFindings } from './util/validate';

const ENV = { account: '123456789012', region: 'eu-west-1' };
const HOST = 'shared.staging.example.com';

type Built = { app: App; stack: Stack; staging: SharedStaging; template: Template };

/** Built once per lock (the tests only read what is built): the same `access` function, the same app. */
const builtFor = new Map<(stack: Stack) => StagingAccess | undefined, Built>();
function shared(access: (stack: Stack) => StagingAccess | undefined): Built {
  let built = builtFor.get(access);
  if (!built) builtFor.set(access, (built = build(access)));
  return built;
}

function build(access: (stack: Stack) => StagingAccess | undefined): Built {
  const app = testApp();
  const stack = new Stack(app, 'Shared', { env: ENV });
  const staging = new SharedStaging(stack, 'Staging', {
    access: access(stack) as StagingAccess,
    domainName: 'staging.example.com',
    hostedZone: route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName: 'example.com' }),
    solr: { url: 'https://solr.internal.example.com:8983/solr' },
    app: { image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/nginx:1.27'), web: { name: 'web' } },
  });
  return { app, stack, staging, template: Template.fromStack(stack) };
}

const secret = (stack: Stack, id: string, name: string) => secretsmanager.Secret.fromSecretNameV2(stack, id, name);
const oidc = (stack: Stack, extra: Partial<Parameters<typeof StagingAccess.oidc>[0]> = {}) =>
  StagingAccess.oidc({
    issuer: 'https://example.okta.com',
    authorizationEndpoint: 'https://example.okta.com/oauth2/v1/authorize',
    tokenEndpoint: 'https://example.okta.com/oauth2/v1/token',
    userInfoEndpoint: 'https://example.okta.com/oauth2/v1/userinfo',
    clientId: '0oa1b2c3d4e5f6g7h8i9',
    clientSecret: secret(stack, 'OidcSecret', 'staging/oidc-client-secret'),
    ...extra,
  });

const LOCKS: Array<[string, (stack: Stack) => StagingAccess]> = [
  ['oidc', (stack) => oidc(stack)],
  ['oidc with networks, automation and public paths', (stack) =>
    oidc(stack, { allowNetworks: ['203.0.113.0/24'], automation: { tokenSecret: secret(stack, 'Token', 'staging/token') }, publicPaths: ['/webhooks/*'] })],
  ['cognito (a new pool)', () => StagingAccess.cognito()],
  ['cognito (a pool brought along)', (stack) =>
    StagingAccess.cognito({
      userPool: cognito.UserPool.fromUserPoolId(stack, 'Pool', 'eu-west-1_AbCdEfGhI'),
      userPoolDomain: cognito.UserPoolDomain.fromDomainName(stack, 'PoolDomain', 'acme-login'),
      identityProviders: ['AcmeSaml'],
    })],
  ['networks only', () => StagingAccess.allowNetworks(['203.0.113.0/24', '2001:db8::/32'])],
];

/** A template string value with its deploy-time parts (`Ref`s) filled with a sample. */
function joined(value: any): string {
  if (typeof value === 'string') return value;
  if (value['Fn::Join']) return value['Fn::Join'][1].map(joined).join(value['Fn::Join'][0]);
  if (value.Ref) return value.Ref === 'AWS::AccountId' ? '123456789012' : value.Ref === 'AWS::Region' ? 'eu-west-1' : `ref-${value.Ref}`;
  return 'deploy-time';
}

/** Every listener rule of the template that forwards (alone or after a sign-in) to a target group. */
function forwardingRules(template: Template): Array<{ id: string; actions: any[]; conditions: any[] }> {
  return Object.entries(template.findResources('AWS::ElasticLoadBalancingV2::ListenerRule')).map(([id, r]) => ({
    id,
    actions: [...r.Properties.Actions].sort((a: any, b: any) => (a.Order ?? 0) - (b.Order ?? 0)),
    conditions: r.Properties.Conditions,
  }));
}

describe('every rule in front of the shared app (and the waker\'s and branches\' rules, written by the handler with the same lock)', () => {
  test.each(LOCKS)('%s: each rule signs in first, or is a network, automation or public-path rule', (_what, access) => {
    const { template } = shared(access);
    const rules = forwardingRules(template);
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      const fields = rule.conditions.map((c: any) => c.Field).filter((f: string) => f !== 'host-header');
      if (fields.length === 0) expect(rule.actions[0].Type).toMatch(/^authenticate-(oidc|cognito)$/);
      else expect(['source-ip', 'http-header', 'path-pattern']).toContain(fields[0]);
    }
  });

  test.each(LOCKS)('%s: clean under cdk-nag and CloudFormation Validate', (_what, access) => {
    const { app } = shared(access);
    expect(formatFindings(validationFindings(app))).toEqual([]);
  });

  test('companions sit below the sign-in rule, so the load balancer tries them first', () => {
    const { template } = shared(LOCKS[1][1]);
    const priorities = Object.values(template.findResources('AWS::ElasticLoadBalancingV2::ListenerRule')).map((r) => ({
      priority: r.Properties.Priority,
      signIn: r.Properties.Actions.some((a: any) => a.Type === 'authenticate-oidc'),
    }));
    const main = priorities.find((p) => p.signIn)!.priority;
    expect(main).toBe(SharedStaging.SHARED_RULE_PRIORITY);
    for (const p of priorities.filter((x) => !x.signIn)) expect(p.priority).toBeLessThan(main);
  });

  test('OIDC: the client secret and the automation token are dynamic references, never values', () => {
    const { template } = shared(LOCKS[1][1]);
    const json = JSON.stringify(template.toJSON());
    expect(json).toContain('{{resolve:secretsmanager:staging/oidc-client-secret:SecretString:::}}');
    expect(json).toContain('{{resolve:secretsmanager:staging/token:SecretString:::}}');
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Conditions: Match.arrayWith([{ Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'x-staging-automation', Values: ['{{resolve:secretsmanager:staging/token:SecretString:::}}'] } }]),
    });
  });

  test('with a sign-in the load balancer may call the identity provider (HTTPS out)', () => {
    const { template } = shared(LOCKS[0][1]);
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: Match.arrayWith([Match.objectLike({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: '0.0.0.0/0', Description: Match.stringLikeRegexp('identity provider') })]),
    });
  });

  test('Cognito: the shared host gets its own app client with its own callback URL; the handler may manage clients of this pool only', () => {
    const { template } = shared(LOCKS[3][1]);
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      UserPoolId: 'eu-west-1_AbCdEfGhI',
      CallbackURLs: [`https://${HOST}/oauth2/idpresponse`],
      GenerateSecret: true,
      SupportedIdentityProviders: ['AcmeSaml'],
    });
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('cognito-idp:CreateUserPoolClient');
    expect(policies).toMatch(/userpool\/eu-west-1_AbCdEfGhI/);
  });

  test('the handler and the waker get the lock in their environment, and it parses (no secret values in it)', () => {
    const { template } = shared(LOCKS[1][1]);
    const functions = Object.values(template.findResources('AWS::Lambda::Function')).filter((f) => f.Properties.Environment?.Variables?.STAGING_ACCESS);
    expect(functions).toHaveLength(2);
    for (const f of functions) {
      const json = joined(f.Properties.Environment.Variables.STAGING_ACCESS);
      expect(json).not.toContain('resolve:secretsmanager');
      expect(parseAccessConfig(json)).toMatchObject({ signIn: 'oidc', networks: ['203.0.113.0/24'], publicPaths: ['/webhooks/*'], automation: { headerName: 'x-staging-automation', wakes: false } });
    }
  });
});

describe('StagingAccess.publicAccess()', () => {
  test('keeps the shared app\'s rule as it was, and warns at every synth, naming what is exposed', () => {
    const { stack, template } = shared(() => StagingAccess.publicAccess());
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: SharedStaging.SHARED_RULE_PRIORITY,
      Actions: [{ Type: 'forward', TargetGroupArn: Match.anyValue() }],
    });
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('access is StagingAccess.publicAccess\\(\\): every branch staging, the shared app and the waker are open'));
  });
});

describe('bad input fails at synth, naming the prop, the value and the fix', () => {
  test('leaving access out lists the four choices', () => {
    expect(() => shared(() => undefined)).toThrow(/access is required \(got undefined\).*StagingAccess\.oidc.*StagingAccess\.cognito.*StagingAccess\.allowNetworks.*StagingAccess\.publicAccess\(\)/);
  });

  test.each<[string, (stack: Stack) => StagingAccess, RegExp]>([
    ['an issuer that is not https', (stack) => oidc(stack, { issuer: 'http://example.okta.com' }), /access\.oidc\.issuer must be an https:\/\/ URL .*\(got "http:\/\/example\.okta\.com"\)/],
    ['a missing client secret', (stack) => oidc(stack, { clientSecret: undefined as never }), /access\.oidc\.clientSecret is missing: put the client secret in Secrets Manager/],
    ['an invalid CIDR', () => StagingAccess.allowNetworks(['10.0.0.300/8']), /access\.allowNetworks: "10\.0\.0\.300\/8" is not an IPv4 CIDR/],
    ['no CIDR at all', () => StagingAccess.allowNetworks([]), /access\.allowNetworks must name at least one CIDR/],
    ['a public path that is not a path pattern', (stack) => oidc(stack, { publicPaths: ['webhooks'] }), /access\.publicPaths: "webhooks" is not a path pattern: it starts with "\/"/],
    ['too many public paths for one rule', (stack) => oidc(stack, { publicPaths: ['/a/*', '/b/*', '/c/*', '/d/*', '/e/*'] }), /access\.publicPaths has 5 patterns; a listener rule holds at most 4/],
    ['an automation header the ALB cannot match', (stack) => oidc(stack, { automation: { tokenSecret: secret(stack, 'T', 't'), headerName: 'x token' } }), /access\.automation\.headerName "x token" is not a header name the load balancer can match/],
    ['a Cognito pool without its domain', (stack) => StagingAccess.cognito({ userPool: cognito.UserPool.fromUserPoolId(stack, 'P', 'eu-west-1_AbCdEfGhI') }), /access\.cognito\.userPoolDomain is required with userPool/],
    ['a session longer than the load balancer allows', (stack) => oidc(stack, { sessionTimeout: Duration.days(8) }), /access\.sessionTimeout must be between 1 second and 7 days \(got 8 days\)/],
  ])('%s', (_what, access, pattern) => {
    expect(() => shared(access)).toThrow(pattern);
  });
});

describe('rules per branch host (feeds the capacity of the load balancer)', () => {
  test.each<[string, (stack: Stack) => StagingAccess, number]>([
    ['public', () => StagingAccess.publicAccess(), 1],
    ['networks only', () => StagingAccess.allowNetworks(['203.0.113.0/24']), 1],
    ['oidc', (stack) => oidc(stack), 1],
    ['oidc + automation', (stack) => oidc(stack, { automation: { tokenSecret: secret(stack, 'T', 't') } }), 2],
    ['oidc + networks + automation + public paths', LOCKS[1][1], 4],
  ])('%s: %d', (_what, access, rules) => {
    expect(shared(access).staging.rulesPerBranch).toBe(rules);
  });
});

describe('the ready-made app\'s example config', () => {
  const exampleConfig = JSON.parse(readFileSync(join(__dirname, '..', 'cdk.json'), 'utf8')).context.staging;
  const synth = (context: Record<string, unknown>) => {
    const app = testApp({ context: { staging: exampleConfig, ...context } });
    return Template.fromStack(buildStagingApp(app)[0]).toJSON();
  };

  test.each([['full', { branch: 'feature/x' }], ['lite', { branch: 'feature/x', lite: 'true' }]])(
    'a %s branch is reachable only through the sign-in or the automation token',
    (_kind, context) => {
      const shared = synth({});
      const branch = synth(context);
      // The branch stack writes no rule of its own: its host's rules come from the shared provider's lock.
      expect(Object.values(branch.Resources).filter((r: any) => r.Type === 'AWS::ElasticLoadBalancingV2::ListenerRule')).toEqual([]);
      expect(Object.values(branch.Resources).filter((r: any) => r.Type === 'Custom::StagingListenerRule')).toHaveLength(1);
      const provider = Object.values(shared.Resources).find(
        // The listener-priority handler: the lock and the waker's target group (the waker itself has only the lock).
        (r: any) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.STAGING_ACCESS && r.Properties.Environment.Variables.WAKER_TARGET_GROUP_ARN,
      ) as any;
      const lock = parseAccessConfig(joined(provider.Properties.Environment.Variables.STAGING_ACCESS));
      const rules = desiredRules(lock, 'feature-x-1a2b3c4d.staging.example.com', 'arn:tg', 'arn:waker', { oidcClientSecret: 's', automationToken: 't' });
      expect(rules.map((r) => r.role)).toEqual(['main', 'automation']);
      expect(rules[0].actions('branch')[0].Type).toBe('authenticate-oidc');
      expect(rules[1].conditions.map((c) => c.Field)).toEqual(['host-header', 'http-header']);
    },
  );
});
