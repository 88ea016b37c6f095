/** lib/contract/access.ts: the lock's value rules and the waker's second barrier, as tables. */
import { cidrProblem, headerNameProblem, ipInCidr, mayWake, parseAccessConfig, pathPatternProblem, rulesPerHost } from '../lib/contract/access';

/** Each value rule of the lock, as one table: the rule, the value, and whether it passes. */
const RULES = { cidrProblem, pathPatternProblem, headerNameProblem };
test.each<[keyof typeof RULES, string, boolean]>([
  ['cidrProblem', '203.0.113.0/24', true],
  ['cidrProblem', '0.0.0.0/0', true],
  ['cidrProblem', '2001:db8::/32', true],
  ['cidrProblem', '::/0', true],
  ['cidrProblem', '203.0.113.0/33', false],
  ['cidrProblem', '203.0.113.256/24', false],
  ['cidrProblem', '203.0.113.01/24', false],
  ['cidrProblem', '203.0.113.0', false],
  ['cidrProblem', 'office.example.com/24', false],
  ['cidrProblem', '2001:db8:::/32', false],
  ['pathPatternProblem', '/webhooks/*', true],
  ['pathPatternProblem', '/api/v1/stripe', true],
  ['pathPatternProblem', 'webhooks/*', false],
  ['pathPatternProblem', '/with space', false],
  ['pathPatternProblem', `/${'a'.repeat(128)}`, false],
  ['headerNameProblem', 'x-staging-automation', true],
  ['headerNameProblem', 'X-Preview-Token', true],
  ['headerNameProblem', 'x token', false],
  ['headerNameProblem', 'x-amzn-oidc-data', false],
  ['headerNameProblem', 'Host', false],
  ['headerNameProblem', 'x'.repeat(41), false],
])('%s(%j) passes: %s', (rule, value, ok) => {
  expect(RULES[rule](value) === null).toBe(ok);
});

test.each<[string, string, boolean]>([
  ['203.0.113.40', '203.0.113.0/24', true],
  ['203.0.114.1', '203.0.113.0/24', false],
  ['10.1.2.3', '0.0.0.0/0', true],
  ['2001:db8::1', '2001:db8::/32', true],
  ['2001:db9::1', '2001:db8::/32', false],
  ['203.0.113.40', '2001:db8::/32', false],
  ['not an ip', '0.0.0.0/0', false],
])('ipInCidr(%s, %s) is %s', (ip, cidr, inside) => {
  expect(ipInCidr(ip, cidr)).toBe(inside);
});

describe('parseAccessConfig is fail-closed', () => {
  test.each([undefined, '', '{', '{"signIn":"saml"}', '{"signIn":"none","networks":[]}', '{"signIn":"oidc"}', '{"signIn":"none","networks":["10.0.0.0/33"]}'])('refuses %s', (raw) => {
    expect(() => parseAccessConfig(raw)).toThrow(/STAGING_ACCESS .*(not set|not JSON|invalid).*writes no rule/);
  });

  test('reads a lock, lower-casing the automation header', () => {
    const config = parseAccessConfig(
      JSON.stringify({ signIn: 'none', networks: ['10.0.0.0/8'], publicPaths: ['/hooks/*'], automation: { headerName: 'X-Token', tokenSecretArn: 'arn', wakes: true }, public: false }),
    );
    expect(config).toMatchObject({ signIn: 'none', networks: ['10.0.0.0/8'], automation: { headerName: 'x-token', wakes: true }, sessionTimeoutSeconds: 604800 });
    expect(rulesPerHost(config)).toEqual(['main', 'automation', 'public-paths']);
  });
});

describe('mayWake: the waker\'s second barrier', () => {
  const oidc = parseAccessConfig(
    JSON.stringify({ signIn: 'oidc', oidc: { clientId: 'c', clientSecretArn: 's' }, networks: ['203.0.113.0/24'], publicPaths: [], automation: { headerName: 'x-t', tokenSecretArn: 'a', wakes: false }, public: false }),
  );
  test.each<[string, Record<string, string>, boolean]>([
    ['signed in by the load balancer', { 'x-amzn-oidc-data': 'jwt' }, true],
    ['from an allowed network (last x-forwarded-for hop)', { 'x-forwarded-for': '198.51.100.1, 203.0.113.9' }, true],
    ['claiming a network in an earlier hop only', { 'x-forwarded-for': '203.0.113.9, 198.51.100.1' }, false],
    ['with the automation header, which may not wake here', { 'x-t': 'token' }, false],
    ['signed out', {}, false],
  ])('%s: %s', (_what, headers, wakes) => {
    expect(mayWake(oidc, { headers })).toBe(wakes);
  });

  test('an unreadable lock wakes nothing; public wakes for anyone', () => {
    expect(mayWake(undefined, { headers: { 'x-amzn-oidc-data': 'jwt' } })).toBe(false);
    expect(mayWake(parseAccessConfig('{"signIn":"none","networks":[],"publicPaths":[],"public":true}'), { headers: {} })).toBe(true);
  });
});
