/** lib/contract/access.ts: the lock's value rules and the waker's second barrier, as tables. */
import { cidrProblem, headerNameProblem, ipInCidr, mayWake, parseAccessConfig, pathPatternProblem, rulesPerHost } from '../lib/contract/access';

test.each([
  ['203.0.113.0/24', true],
  ['0.0.0.0/0', true],
  ['2001:db8::/32', true],
  ['::/0', true],
  ['203.0.113.0/33', false],
  ['203.0.113.256/24', false],
  ['203.0.113.01/24', false],
  ['203.0.113.0', false],
  ['office.example.com/24', false],
  ['2001:db8:::/32', false],
])('cidrProblem(%s) is null: %s', (cidr, ok) => {
  expect(cidrProblem(cidr) === null).toBe(ok);
});

test.each([
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

test.each([
  ['/webhooks/*', true],
  ['/api/v1/stripe', true],
  ['webhooks/*', false],
  ['/with space', false],
  [`/${'a'.repeat(128)}`, false],
])('pathPatternProblem(%s) is null: %s', (path, ok) => {
  expect(pathPatternProblem(path) === null).toBe(ok);
});

test.each([
  ['x-staging-automation', true],
  ['X-Preview-Token', true],
  ['x token', false],
  ['x-amzn-oidc-data', false],
  ['Host', false],
  ['x'.repeat(41), false],
])('headerNameProblem(%s) is null: %s', (name, ok) => {
  expect(headerNameProblem(name) === null).toBe(ok);
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
