/**
 * lib/private/stagings-page.ts, as SharedStaging wires it: the page's function behind its Lambda
 * target group on the shared listener, at stagings.<domain> behind the lock of every host, its
 * environment (lib/contract/stagings-page.ts), record, output, role and bad input.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { SharedStaging, SharedStagingProps, SharedStagingStack, StagingAccess } from '../lib';
import { SharedStackOutputs } from '../lib/contract/staging';
import { DEFAULT_MAX_KEEP_DAYS, StagingsPageEnvironment, stagingsPageHost } from '../lib/contract/stagings-page';
import { STAGINGS_PAGE_RULE_PRIORITY } from '../lib/private/stagings-page';
import { ENV, sharedStagingProps } from './util/harness';
import { resourcesOfType } from './util/template';
import { FEATURE_FLAGS, formatFindings, testApp, validationFindings } from './util/validate';

const HOST = stagingsPageHost('staging.example.com');
const DESTROY = { destroyClaim: 'groups', destroyClaimValues: ['staging-admins', 'qa-leads'] };

const oidc = (stack: Stack) => StagingAccess.oidc(oidcProps(stack));

const LOCKS: Array<[string, (stack: Stack) => StagingAccess, string | undefined]> = [
  ['oidc', oidc, 'authenticate-oidc'],
  ['cognito', () => StagingAccess.cognito(), 'authenticate-cognito'],
  ['publicAccess', () => StagingAccess.publicAccess(), undefined],
];

function shared(overrides: (stack: Stack) => Partial<SharedStagingProps> = () => ({}), app: App = new App({ context: FEATURE_FLAGS })) {
  const stack = new SharedStagingStack(app, 'Shared', { env: ENV });
  const staging = new SharedStaging(stack, 'Staging', sharedStagingProps(stack, overrides(stack)));
  return { app, stack, staging, template: Template.fromStack(stack), json: Template.fromStack(stack).toJSON() };
}

/** The shared stack with the harness's props, built once for the tests that only read it. */
let byDefault: ReturnType<typeof shared> | undefined;
const sharedByDefault = () => (byDefault ??= shared());

const pageFunction = (json: any): [string, any] => {
  const found = resourcesOfType(json, 'AWS::Lambda::Function').filter(([, r]) => /^The stagings page/.test(r.Properties.Description ?? ''));
  expect(found).toHaveLength(1);
  return found[0];
};
const pageTargetGroup = (json: any): string => {
  const found = resourcesOfType(json, 'AWS::ElasticLoadBalancingV2::TargetGroup').filter(([, r]) => r.Properties.Name === 'staging-stagings');
  expect(found).toHaveLength(1);
  return found[0][0];
};
const hostRules = (json: any) =>
  resourcesOfType(json, 'AWS::ElasticLoadBalancingV2::ListenerRule').filter(([, r]) =>
    r.Properties.Conditions.some((c: any) => c.Field === 'host-header' && JSON.stringify(c).includes(HOST)),
  );
const policyOf = (json: any) =>
  JSON.stringify(resourcesOfType(json, 'AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties.Roles).includes('StagingsPageRole')));

/**
 * Each lock's shared stack in an app with cdk-nag, with destroy where a sign-in allows it (a claim
 * changes the page's role, not its rules), built once for the rule test and the nag test.
 */
const byLock = new Map<string, { app: App; json: any }>();
function sharedWithLock(what: string, access: (stack: Stack) => StagingAccess): { app: App; json: any } {
  let built = byLock.get(what);
  if (!built) {
    const app = testApp();
    const { json } = shared((stack) => ({ access: access(stack), ...(what === 'publicAccess' ? {} : { stagingsPage: DESTROY }) }), app);
    byLock.set(what, (built = { app, json }));
  }
  return built;
}

describe('the page on the shared listener', () => {
  test.each(LOCKS)('%s: the host forwards to the page\'s Lambda target group behind the same lock as the shared app', (what, access, signIn) => {
    const { json } = sharedWithLock(what, access);
    const targetGroup = pageTargetGroup(json);
    expect(json.Resources[targetGroup].Properties).toMatchObject({ TargetType: 'lambda', Targets: [{ Id: { 'Fn::GetAtt': [pageFunction(json)[0], 'Arn'] } }] });
    const rules = hostRules(json);
    expect(rules).toHaveLength(1);
    const [, rule] = rules[0];
    expect(rule.Properties.Priority).toBe(STAGINGS_PAGE_RULE_PRIORITY);
    const actions = [...rule.Properties.Actions].sort((a: any, b: any) => (a.Order ?? 0) - (b.Order ?? 0));
    expect(actions.map((a: any) => a.Type)).toEqual(signIn ? [signIn, 'forward'] : ['forward']);
    expect(JSON.stringify(actions.at(-1))).toContain(targetGroup);
    // The shared app's host is locked the same way.
    const app = resourcesOfType(json, 'AWS::ElasticLoadBalancingV2::ListenerRule').find(([, r]) => r.Properties.Priority === SharedStaging.SHARED_RULE_PRIORITY)!;
    expect(app[1].Properties.Actions.map((a: any) => a.Type).sort()).toEqual(actions.map((a: any) => a.Type).sort());
  });

  test('networks: only the allowed networks reach the host', () => {
    const { json } = shared(() => ({ access: StagingAccess.allowNetworks(['203.0.113.0/24']) }));
    const [[, rule]] = hostRules(json);
    expect(rule.Properties.Conditions).toContainEqual({ Field: 'source-ip', SourceIpConfig: { Values: ['203.0.113.0/24'] } });
  });

  test('cognito: the page gets its own app client, calling back to its host', () => {
    const { template } = shared(() => ({ access: StagingAccess.cognito() }));
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', { CallbackURLs: [`https://${HOST}/oauth2/idpresponse`] });
  });

  test('oidc with companions: the page\'s companion rules sit just below its sign-in rule, above every branch rule', () => {
    const { json } = shared((stack) => ({ access: StagingAccess.oidc({ ...oidcProps(stack), allowNetworks: ['203.0.113.0/24'] }) }));
    expect(hostRules(json).map(([, r]) => r.Properties.Priority).sort()).toEqual([STAGINGS_PAGE_RULE_PRIORITY - 1, STAGINGS_PAGE_RULE_PRIORITY]);
  });

  test('only its own target group may invoke the function', () => {
    const { json } = sharedByDefault();
    const [fn] = pageFunction(json);
    const permissions = resourcesOfType(json, 'AWS::Lambda::Permission').filter(([, p]) => JSON.stringify(p.Properties.FunctionName).includes(fn));
    expect(permissions).toHaveLength(1);
    expect(permissions[0][1].Properties).toMatchObject({ Principal: 'elasticloadbalancing.amazonaws.com', Action: 'lambda:InvokeFunction' });
    expect(JSON.stringify(permissions[0][1].Properties.SourceArn)).toContain(':targetgroup/staging-stagings/*');
  });

  test('an alias record points the host at the load balancer', () => {
    const { template } = sharedByDefault();
    template.hasResourceProperties('AWS::Route53::RecordSet', { Name: `${HOST}.`, Type: 'A', AliasTarget: Match.anyValue() });
  });

  test('the URL is on the construct and a stack output for the CLI', () => {
    const { staging, template } = sharedByDefault();
    expect(staging.stagingsPageUrl).toBe(`https://${HOST}`);
    template.hasOutput(SharedStackOutputs.STAGINGS_PAGE_URL, { Value: `https://${HOST}` });
  });
});

describe('the page\'s environment', () => {
  test('names every input of the contract, destroy included when a claim is set', () => {
    const { json } = shared((stack) => ({ access: oidc(stack), maxStagings: 40, stagingsPage: { ...DESTROY, maxKeepDays: 30 } }));
    const variables = pageFunction(json)[1].Properties.Environment.Variables;
    const { PUBLIC_KEYS_URL, ...set } = StagingsPageEnvironment;
    expect(Object.keys(variables).sort()).toEqual(Object.values(set).sort());
    expect(variables).not.toHaveProperty(PUBLIC_KEYS_URL);
    expect(variables).toMatchObject({
      [set.PREFIX]: 'staging',
      [set.PARAMETER_PREFIX]: '/staging',
      [set.DOMAIN_NAME]: 'staging.example.com',
      [set.SIGN_IN]: 'oidc',
      [set.MAX_KEEP_DAYS]: '30',
      [set.MAX_STAGINGS]: '40',
      [set.DESTROY_CLAIM]: 'groups',
      [set.DESTROY_CLAIM_VALUES]: 'staging-admins,qa-leads',
    });
    const refs = (v: unknown) => JSON.stringify(v);
    expect(refs(variables[set.LOAD_BALANCER_ARN])).toMatch(/LoadBalancer/);
    expect(refs(variables[set.SLEEPER_FUNCTION_NAME])).toMatch(/^\{"Ref":"StagingSleeper[0-9A-F]{8}"\}$/);
    expect(refs(variables[set.SWEEPER_FUNCTION_NAME])).toMatch(/SweeperFunction/);
    expect(refs(variables[set.DELETION_ROLE_ARN])).toMatch(/SweeperDeletionRole/);
    expect(refs(variables[set.NOTIFICATION_TOPIC_ARN])).toMatch(/SweeperTopic/);
    expect(refs(variables[set.AUDIT_LOG_GROUP])).toMatch(/StagingsPageAuditLogs/);
  });

  test('by default: keeps up to 14 days, no destroy, no cap; the sign-in kind of the lock', () => {
    const { json } = shared(() => ({ access: StagingAccess.cognito() }));
    const variables = pageFunction(json)[1].Properties.Environment.Variables;
    expect(variables[StagingsPageEnvironment.MAX_KEEP_DAYS]).toBe(String(DEFAULT_MAX_KEEP_DAYS));
    expect(variables[StagingsPageEnvironment.SIGN_IN]).toBe('cognito');
    for (const absent of ['DESTROY_CLAIM', 'DESTROY_CLAIM_VALUES', 'DELETION_ROLE_ARN', 'NOTIFICATION_TOPIC_ARN', 'MAX_STAGINGS'] as const) {
      expect(variables).not.toHaveProperty(StagingsPageEnvironment[absent]);
    }
  });

  test('without a sweeper: no plans, no destroy; the page still reads and wakes', () => {
    const { json } = shared(() => ({ sweeper: { enabled: false } }));
    const variables = pageFunction(json)[1].Properties.Environment.Variables;
    expect(variables).not.toHaveProperty(StagingsPageEnvironment.SWEEPER_FUNCTION_NAME);
    expect(variables[StagingsPageEnvironment.SIGN_IN]).toBe('none');
  });

  test.each([
    ['three months by default', {}, 90],
    ['as long as told', { logRetention: 365 }, 365],
  ])('the audit log group is the function\'s own log group, kept %s', (_what, stagingsPage, days) => {
    const { json } = shared(() => ({ stagingsPage }));
    const [, fn] = pageFunction(json);
    const group = fn.Properties.LoggingConfig.LogGroup.Ref;
    expect(json.Resources[group].Properties.RetentionInDays).toBe(days);
    // Deleting the shared stack keeps the audit trail.
    expect(json.Resources[group]).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(fn.Properties.Environment.Variables[StagingsPageEnvironment.AUDIT_LOG_GROUP]).toEqual({ Ref: group });
  });
});

describe('the page\'s role', () => {
  test('may delete branch stacks only when a destroy claim is set, with the sweeper\'s guards', () => {
    expect(policyOf(sharedByDefault().json)).not.toContain('cloudformation:DeleteStack');
    const policy = policyOf(shared((stack) => ({ access: oidc(stack), stagingsPage: DESTROY })).json);
    for (const sid of ['DeleteTaggedFeatureStacksOnly', 'NeverDeleteTheSharedStack', 'NeverDeleteSharedStacks', 'PassDeletionRoleToCloudFormation']) {
      expect(policy).toContain(sid);
    }
  });

  test.each(LOCKS)('%s (with destroy where a sign-in allows it): clean under cdk-nag and CloudFormation Validate', (what, access) => {
    expect(formatFindings(validationFindings(sharedWithLock(what, access).app))).toEqual([]);
  });
});

describe('a claim the page never sees', () => {
  test('Cognito with cognito:groups warns (the groups are in the access token, not the signed user claims), naming the fix', () => {
    const { stack } = shared(() => ({ access: StagingAccess.cognito(), stagingsPage: { destroyClaim: 'cognito:groups', destroyClaimValues: ['admins'] } }));
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('cdk-multi-staging:stagings-page-cognito-groups'));
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings[0].entry.data)).toMatch(/custom:staging_role/);
  });

  test('a custom attribute, or OIDC groups, do not warn', () => {
    for (const [access, claim] of [[() => StagingAccess.cognito(), 'custom:staging_role'], [oidc, 'groups']] as const) {
      const { stack } = shared((s) => ({ access: access(s), stagingsPage: { destroyClaim: claim, destroyClaimValues: ['admins'] } }));
      expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('stagings-page-cognito-groups'))).toEqual([]);
    }
  });
});

describe('turned off', () => {
  test('nothing of the page is synthesized', () => {
    const { json, staging, template } = shared(() => ({ stagingsPage: { enabled: false, ...DESTROY } }));
    expect(staging.stagingsPageUrl).toBeUndefined();
    expect(resourcesOfType(json, 'AWS::Lambda::Function').filter(([, r]) => /stagings page/.test(r.Properties.Description ?? ''))).toEqual([]);
    expect(resourcesOfType(json, 'AWS::ElasticLoadBalancingV2::TargetGroup').filter(([, r]) => r.Properties.Name === 'staging-stagings')).toEqual([]);
    expect(hostRules(json)).toEqual([]);
    expect(JSON.stringify(json)).not.toContain(HOST);
    expect(Object.keys(template.findOutputs(SharedStackOutputs.STAGINGS_PAGE_URL))).toEqual([]);
  });
});

describe('bad input', () => {
  test.each<[string, (stack: Stack) => Partial<SharedStagingProps>, RegExp]>([
    ['destroyClaim without values', (stack) => ({ access: oidc(stack), stagingsPage: { destroyClaim: 'groups' } }), /stagingsPage.destroyClaim and stagingsPage.destroyClaimValues go together \(got destroyClaim "groups", destroyClaimValues undefined\); set both/],
    ['values without a claim', (stack) => ({ access: oidc(stack), stagingsPage: { destroyClaimValues: ['admins'] } }), /go together \(got destroyClaim undefined, destroyClaimValues \["admins"\]\)/],
    ['no values', (stack) => ({ access: oidc(stack), stagingsPage: { destroyClaim: 'groups', destroyClaimValues: [] } }), /stagingsPage.destroyClaimValues must be one or more values without commas or spaces.*\(got \[\]\)/],
    ['a value with a comma', (stack) => ({ access: oidc(stack), stagingsPage: { destroyClaim: 'groups', destroyClaimValues: ['a,b'] } }), /destroyClaimValues must be .*\(got \["a,b"\]\)/],
    ['a blank claim', (stack) => ({ access: oidc(stack), stagingsPage: { destroyClaim: ' ', destroyClaimValues: ['a'] } }), /stagingsPage.destroyClaim must be the name of a claim .*'custom:staging_role' \(got " "\)/],
    ['destroy without the sweeper', (stack) => ({ access: oidc(stack), sweeper: { enabled: false }, stagingsPage: DESTROY }), /stagingsPage.destroyClaim needs the sweeper/],
    ['destroy without a sign-in', () => ({ access: StagingAccess.allowNetworks(['203.0.113.0/24']), stagingsPage: DESTROY }), /stagingsPage.destroyClaim needs a sign-in \(access is networks/],
    ['a keep of 0 days', () => ({ stagingsPage: { maxKeepDays: 0 } }), /stagingsPage.maxKeepDays must be a whole number of days from 1 to 365 \(got 0\); e.g. maxKeepDays: 14/],
    ['a keep of half a day', () => ({ stagingsPage: { maxKeepDays: 0.5 } }), /maxKeepDays .*\(got 0.5\)/],
  ])('fails on %s, naming the prop, the value and the fix', (_what, overrides, message) => {
    expect(() => shared(overrides)).toThrow(message);
  });

  test('a page turned off is not checked', () => {
    expect(() => shared(() => ({ stagingsPage: { enabled: false, destroyClaim: 'groups' } }))).not.toThrow();
  });
});

function oidcProps(stack: Stack) {
  return {
    issuer: 'https://example.okta.com',
    authorizationEndpoint: 'https://example.okta.com/oauth2/v1/authorize',
    tokenEndpoint: 'https://example.okta.com/oauth2/v1/token',
    userInfoEndpoint: 'https://example.okta.com/oauth2/v1/userinfo',
    clientId: '0oa1b2c3d4e5f6g7h8i9',
    clientSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'OidcSecret', 'staging/oidc-client-secret'),
  };
}
