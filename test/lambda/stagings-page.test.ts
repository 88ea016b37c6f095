/**
 * The stagings page's handler over a fake of the AWS state (test/lambda/stagings-page-fake.ts):
 * the list and a staging's page, the identity (a real ES256 key pair made here, tokens signed as the
 * ALB signs them), every refusal (each with no change made), every action with its audit record,
 * and replays.
 */
import type { ALBResult } from 'aws-lambda';
import { StagingsPageEnvironment as E, type AuditRecord } from '../../lib/contract/stagings-page';
import { READ_TTL_MS, REQUESTS_TTL_MS, forgetCache, forgetStreams } from '../../lambda/stagings-page/aws';
import { forgetKeys, verifyOidcData } from '../../lambda/stagings-page/identity';
import { CSRF_COOKIE, clock, handler } from '../../lambda/stagings-page';
import {
  AUDIT_LOG_GROUP, DELETION_ROLE_ARN, FakeAws, LOAD_BALANCER_ARN, ORIGIN, PARAMETER_PREFIX, SHARD_0_LOAD_BALANCER, SLEEPER, albEvent, keyPair, keyServer, oidcData, pageEnv,
  type RequestOptions,
} from './stagings-page-fake';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const KEY = keyPair('4f3e2d1c-0000-4000-8000-000000000001');
const OTHER = keyPair('4f3e2d1c-0000-4000-8000-000000000002');
const TOKEN = 'A'.repeat(32);
let keys: Awaited<ReturnType<typeof keyServer>>;
let fake: FakeAws;
let login: string;
let typo: string;
const saved = { ...process.env };

beforeAll(async () => {
  keys = await keyServer([KEY]);
});
afterAll(() => keys.close());

beforeEach(() => {
  clock.now = () => NOW;
  forgetCache();
  forgetStreams();
  forgetKeys();
  keys.fetched.length = 0;
  Object.assign(process.env, pageEnv(keys.url, { [E.DESTROY_CLAIM]: 'groups', [E.DESTROY_CLAIM_VALUES]: 'staging-admins, leads' }));
  fake = new FakeAws({ nowMs: () => NOW }).install();
  login = fake.addStaging('feature/login', { pin: '2026-12-10', keepAlive: new Date(NOW - 3600_000) });
  typo = fake.addStaging('fix/typo', { kind: 'feature-lite', sleeping: true });
  fake.calls.length = 0;
});

afterEach(() => {
  fake.restore();
  process.env = { ...saved };
});

const signedIn = (claims: Record<string, unknown> = {}) => ({ 'x-amzn-oidc-data': oidcData({ key: KEY, nowMs: clock.now(), claims }) });

async function request(o: RequestOptions & { token?: string | null; claims?: Record<string, unknown> }): Promise<ALBResult & { body: string }> {
  const identity: Record<string, string> = o.token === null ? {} : { 'x-amzn-oidc-data': o.token ?? signedIn(o.claims)['x-amzn-oidc-data'] };
  return handler(albEvent({ ...o, headers: { ...identity, ...o.headers } })) as Promise<ALBResult & { body: string }>;
}

/** A form post from the page itself: its origin, its cookie and the same token in the form. */
function post(name: string, form: Record<string, string>, o: { claims?: Record<string, unknown>; headers?: Record<string, string> } = {}) {
  return request({ method: 'POST', path: `/s/${name}`, form: { csrf: TOKEN, ...form }, claims: o.claims, headers: { origin: ORIGIN, cookie: `${CSRF_COOKIE}=${TOKEN}`, ...o.headers } });
}

const audits = (): AuditRecord[] => fake.logEvents.map((e) => JSON.parse(e.message));
const mutating = () => fake.calls.filter((c) => !/Describe|Get|Filter/.test(c) && c !== 'lambda:Invoke');

describe('the list', () => {
  test('one row per staging with state, pin, sweeper plan and cost; the count against maxStagings; a CSRF cookie', async () => {
    const r = await request({});
    expect(r.statusCode).toBe(200);
    expect(r.headers!['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers!['set-cookie']).toMatch(new RegExp(`^${CSRF_COOKIE}=[A-Za-z0-9_-]{32}; Path=/; Secure; HttpOnly; SameSite=Strict$`));
    expect(r.body).toContain('<b id="count">2</b> stagings of <span id="max-stagings">maxStagings 600</span>');
    expect(r.body).toContain('Signed in as <b id="who">qa@example.com</b>');
    expect(r.body).toContain(`href="/s/${login}">feature/login</a>`);
    expect(r.body).toContain(`href="https://${login}.staging.example.com"`);
    expect(r.body).toMatch(/<span class="state sleeping">sleeping<\/span> <span class="muted">since <time[^>]*>3 hours ago/);
    expect(r.body).toContain('2026-12-10');
    // Cost at the current state: $1.57 awake + $0.95 asleep.
    expect(r.body).toContain('<b id="total-cost">$2.52</b>');
    // The sweeper's own decision, over the page's reads and the sweeper's settings: the pinned one
    // is kept, the idle one is warned next. Nothing invoked.
    expect(fake.calls).toContain('lambda:GetFunctionConfiguration');
    expect(fake.invoked).toEqual([]);
    expect(r.body).toContain('pinned until the end of 2026-12-10 (UTC)">keep</span>');
    expect(r.body).toMatch(/warning due: deleted <time datetime="2026-12-08T12:00:00.000Z"[^>]*>in 24 hours/);
    expect(mutating()).toEqual([]);
  });

  test('the load balancers\' capacity in use when the shards are published, counted from the stacks as staging list counts them; none for an unreadable registry', async () => {
    const shard = (index: number, branchSlots: number, loadBalancerFullName: string) => ({
      index, branchSlots, loadBalancerArn: `arn:lb/${index}`, loadBalancerFullName, dnsName: `lb-${index}.example.com`,
      canonicalHostedZoneId: 'Z1', listenerArn: `arn:listener/${index}`, wakerTargetGroupArn: `arn:waker/${index}`,
    });
    fake.addStaging('feature/search', { loadBalancer: 'app/staging-shard1/0' });
    const byPath = () => fake.calls.filter((c) => c === 'ssm:GetParametersByPath').length;
    await request({});
    const withoutRegistry = byPath();
    forgetCache();
    fake.calls.length = 0;
    fake.put(`${PARAMETER_PREFIX}/capacity/shards`, JSON.stringify({ rulesPerBranch: 2, rulesPerLoadBalancer: 100, shards: [shard(0, 45, SHARD_0_LOAD_BALANCER), shard(1, 49, 'app/staging-shard1/0')] }));
    expect((await request({})).body).toContain('<span id="capacity">3 of 94 branch slots in use (shard 0: 2 of 45, shard 1: 1 of 49)</span>');
    // The registry is one more read; no shard's slots are read.
    expect(byPath()).toBe(withoutRegistry);
    forgetCache();
    fake.put(`${PARAMETER_PREFIX}/capacity/shards`, '{"shards":[{"branchSlots":45}]}');
    const body = (await request({})).body;
    expect(body).toContain('<b id="count">');
    expect(body).not.toContain('id="capacity"');
  });

  test('filters by part of the branch, sorts by branch, state or cost; a bad sort is last activity', async () => {
    fake.addStaging('feature/logout');
    const names = (body: string) => [...body.matchAll(/<a class="branch" href="[^"]+">([^<]+)<\/a>/g)].map((m) => m[1]);
    expect(names((await request({ query: { q: 'LOG' } })).body).sort()).toEqual(['feature/login', 'feature/logout']);
    expect(names((await request({ query: { sort: 'branch' } })).body)).toEqual(['feature/login', 'feature/logout', 'fix/typo']);
    expect(names((await request({ query: { sort: 'state' } })).body)).toEqual(['feature/login', 'feature/logout', 'fix/typo']);
    expect(names((await request({ query: { sort: 'cost' } })).body)[2]).toBe('fix/typo');
    expect((await request({ query: { q: 'nothing-like-it' } })).body).toContain('No staging matches “nothing-like-it”.');
    expect((await request({ query: { sort: '<script>' } })).statusCode).toBe(200);
  });

  test('a second view within the cache\'s life makes no AWS call; the key is fetched once per kid', async () => {
    await request({});
    const first = fake.calls.length;
    await request({ query: { q: 'login' } });
    expect(fake.calls.length).toBe(first);
    expect(keys.fetched).toEqual([`/${KEY.kid}`]);
  });

  test('after READ_TTL_MS the stagings are read again, the sweeper\'s settings and the last requests (REQUESTS_TTL_MS) are not', async () => {
    await request({});
    expect(fake.calls).toEqual(expect.arrayContaining(['lambda:GetFunctionConfiguration', 'cloudwatch:GetMetricData']));
    fake.calls.length = 0;
    clock.now = () => NOW + READ_TTL_MS + 1000;
    await request({});
    expect(fake.calls).toContain('cloudformation:DescribeStacks');
    expect(fake.calls).not.toContain('lambda:GetFunctionConfiguration');
    expect(fake.calls).not.toContain('cloudwatch:GetMetricData');
    fake.calls.length = 0;
    clock.now = () => NOW + REQUESTS_TTL_MS + 1000;
    await request({});
    expect(fake.calls).toContain('cloudwatch:GetMetricData');
  });

  test('the last deploy: its time, the short commit (else the image\'s name) and the pull request, #12 or a link to its URL; only the time without them', async () => {
    const image = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:3f2a1bc0d9e8';
    const updated = new Date(NOW - 2 * 3600_000);
    fake.addStaging('feature/search', { updated, deploy: { commit: '3f2a1bc0d9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4', pullRequest: '12', image } });
    fake.addStaging('feature/cart', { updated, deploy: { pullRequest: 'https://github.com/acme/app/pull/34', image } });
    const cells = (body: string) => Object.fromEntries([...body.matchAll(/<tr data-name="([^"]+)">[^]*?<td data-label="last deploy">(.*?)<\/td><\/tr>/g)].map((m) => [m[1], m[2]]));
    const list = cells((await request({})).body);
    const at = `<time datetime="${updated.toISOString()}" title="${updated.toISOString()}">2 hours ago</time>`;
    const name = (branch: string) => fake.stacks.find((st) => st.Tags!.some((t) => t.Key === 'staging:branch' && t.Value === branch))!.Tags!.find((t) => t.Key === 'staging:name')!.Value!;
    expect(list[name('feature/search')]).toBe(`${at} <code class="commit" title="3f2a1bc0d9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4">3f2a1bc</code> <span class="pr">#12</span>`);
    expect(list[name('feature/cart')]).toBe(`${at} <code class="image" title="${image}">app:3f2a1bc0d9e8</code> <a class="pr" href="https://github.com/acme/app/pull/34" rel="noopener">#34</a>`);
    expect(list[login]).toMatch(/^<time [^>]*>[^<]*<\/time>$/);
    const detail = (await request({ path: `/s/${name('feature/search')}` })).body;
    expect(detail).toMatch(/<dd id="deploy"><time [^>]*>2 hours ago<\/time> <code class="commit" [^>]*>3f2a1bc<\/code> <span class="pr">#12<\/span> <span class="muted">\(stack [^)]*\)<\/span><br><span class="muted">image<\/span> <code>123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com\/app:3f2a1bc0d9e8<\/code><\/dd>/);
  });

  test('markup in the last deploy\'s outputs stays text, and a pull request that is no https URL is no link', async () => {
    fake.addStaging('feature/odd', { deploy: { commit: '<b>x</b>', pullRequest: 'javascript:alert(1)', image: 'app"><img src=x>' } });
    const body = (await request({})).body;
    expect(body).not.toContain('<b>x');
    expect(body).not.toContain('<img src=x');
    expect(body).not.toContain('href="javascript');
    expect(body).toContain('<span class="pr">#javascript:alert(1)</span>');
    expect(body).toContain('title="&lt;b&gt;x&lt;/b&gt;">&lt;b&gt;x&lt;/b</code>');
    const detail = (await request({ path: `/s/${fake.stacks.at(-1)!.Tags!.find((t) => t.Key === 'staging:name')!.Value}` })).body;
    expect(detail).not.toContain('<img src=x');
    expect(detail).toContain('<code>app&quot;&gt;&lt;img src=x&gt;</code>');
  });

  test('markup in a branch name stays text', async () => {
    fake.addStaging('fix/<img src=x onerror=alert(1)>');
    const r = await request({});
    expect(r.body).not.toContain('<img src=x');
    expect(r.body).toContain('fix/&lt;img src=x onerror=alert(1)&gt;');
  });

  test('without a sign-in (SIGN_IN=none) the page is read-only and says why; a post changes nothing', async () => {
    process.env[E.SIGN_IN] = 'none';
    const list = await request({ token: null });
    expect(list.body).toContain('id="read-only"');
    expect(list.body).toContain('not behind a sign-in');
    expect((await request({ token: null, path: `/s/${login}` })).body).not.toContain('<form method="post"');
    const r = await request({ token: null, method: 'POST', path: `/s/${login}`, form: { csrf: TOKEN, action: 'unkeep' }, headers: { origin: ORIGIN, cookie: `${CSRF_COOKIE}=${TOKEN}` } });
    expect(r.statusCode).toBe(403);
    expect(mutating()).toEqual([]);
  });
});

describe('the identity', () => {
  test.each([
    ['no token', null],
    ['garbage', 'not-a-token'],
    ['signed by another key under the same kid (forged)', oidcData({ key: { ...OTHER, kid: KEY.kid }, nowMs: NOW })],
    ['a key the ALB does not have', oidcData({ key: OTHER, nowMs: NOW })],
    ['expired', oidcData({ key: KEY, nowMs: NOW, expiresInSeconds: -1 })],
    ['signed by another load balancer', oidcData({ key: KEY, nowMs: NOW, signer: LOAD_BALANCER_ARN.replace('0123456789abcdef', 'fedcba9876543210') })],
    ['another algorithm', oidcData({ key: KEY, nowMs: NOW, alg: 'HS256' })],
    ['its claims changed after signing', ((t: string) => { const [h, , s] = t.split('.'); return `${h}.${Buffer.from(JSON.stringify({ sub: 'admin', email: 'boss@example.com', exp: NOW / 1000 + 60 })).toString('base64url')}.${s}`; })(oidcData({ key: KEY, nowMs: NOW }))],
  ])('refuses %s, with no AWS call', async (_what, token) => {
    const r = await request({ token: token as string | null });
    expect(r.statusCode).toBe(401);
    expect(r.body).toContain('Refused:');
    expect(fake.calls).toEqual([]);
    const p = await request({ token: token as string | null, method: 'POST', path: `/s/${login}`, form: { csrf: TOKEN, action: 'unkeep' }, headers: { origin: ORIGIN, cookie: `${CSRF_COOKIE}=${TOKEN}` } });
    expect(p.statusCode).toBe(401);
    expect(fake.calls).toEqual([]);
  });

  test('accepts the ALB\'s padded base64url, and names the person by email, else sub', async () => {
    const token = oidcData({ key: KEY, nowMs: NOW, claims: { email: undefined, sub: 'a1b2' } });
    expect(token.split('.').some((p) => p.endsWith('='))).toBe(true);
    const id = await verifyOidcData(token, { loadBalancerArn: LOAD_BALANCER_ARN, keysUrl: keys.url, nowMs: NOW });
    expect(id.who).toBe('a1b2');
  });

  test('a direct invoke without the ALB\'s event is refused before anything is read', async () => {
    await expect(handler({ wake: login } as any)).rejects.toThrow(/answers only its load balancer/);
    await expect(handler({ httpMethod: 'POST', path: `/s/${login}`, body: 'action=unkeep' } as any)).rejects.toThrow(/answers only its load balancer/);
    expect(fake.calls).toEqual([]);
  });
});

describe('actions', () => {
  test('keep: the pin, an audit record, and the history shows it', async () => {
    const r = await post(typo, { action: 'keep', until: '2026-12-18' });
    expect(r.statusCode).toBe(200);
    expect(r.body).toContain('fix/typo is kept until the end of 2026-12-18 (UTC)');
    expect(fake.parameters.get(`/staging/pins/${typo}`)?.value).toBe('2026-12-18');
    expect(audits()).toEqual([{ at: '2026-12-07T12:00:00.000Z', who: 'qa@example.com', action: 'keep', stagingName: typo, branch: 'fix/typo', until: '2026-12-18', outcome: 'done' }]);
    expect(fake.logEvents[0]).toMatchObject({ group: AUDIT_LOG_GROUP, stream: 'stagings-page/2026-12-07' });
    expect(r.body).toMatch(/<ol class="history" id="history"><li><time[^>]*>less than a minute ago<\/time>: qa@example.com kept it until 2026-12-18<\/li>/);
    expect(r.body).toContain('<dd id="pin">the end of 2026-12-18 (UTC)</dd>');
  });

  test('a replayed keep is the same pin, one more record; the day\'s stream is created once', async () => {
    await post(typo, { action: 'keep', until: '2026-12-18' });
    forgetStreams();
    await post(typo, { action: 'keep', until: '2026-12-18' });
    expect(fake.parameters.get(`/staging/pins/${typo}`)?.value).toBe('2026-12-18');
    expect(audits()).toHaveLength(2);
    expect(fake.logStreams.size).toBe(1);
  });

  test.each([
    ['2026-12-06', /2026-12-06 is in the past/],
    ['2026-12-22', /at most 14 days: pick 2026-12-21 or earlier/],
    ['2026-02-31', /is not a date/],
    ['tomorrow', /is not a date/],
  ])('keep until %s is refused, recorded, and changes nothing', async (until, message) => {
    const r = await post(typo, { action: 'keep', until });
    expect(r.statusCode).toBe(400);
    expect(r.body).toMatch(message);
    expect(fake.parameters.has(`/staging/pins/${typo}`)).toBe(false);
    expect(audits()).toEqual([expect.objectContaining({ action: 'keep', outcome: expect.stringMatching(message) })]);
  });

  test('a failing AWS call is a message to the person and an audit record, not an error page', async () => {
    fake.failures.set('ssm:PutParameter', Object.assign(new Error('User: arn:aws:sts::123456789012:assumed-role/page is not authorized to perform: ssm:PutParameter'), { name: 'AccessDeniedException' }));
    const r = await post(typo, { action: 'keep', until: '2026-12-10' });
    expect(r.statusCode).toBe(502);
    expect(r.body).toMatch(/This did not work \(AccessDeniedException: .*not authorized to perform: ssm:PutParameter\)\. Try again in a minute/);
    expect(audits()).toEqual([expect.objectContaining({ action: 'keep', until: '2026-12-10', outcome: expect.stringContaining('This did not work') })]);
  });

  test('a sleeping or waking staging offers a wake, an awake one a sleep', async () => {
    expect((await request({ path: `/s/${typo}` })).body).toContain('id="wake"');
    await post(typo, { action: 'wake' });
    const waking = (await request({ path: `/s/${typo}` })).body;
    expect(waking).toContain('<span class="state waking">waking</span>');
    expect(waking).toContain('id="wake"');
    expect((await request({ path: `/s/${login}` })).body).toContain('id="sleep"');
  });

  test('unkeep deletes the pin; a replay says it was not kept', async () => {
    expect((await post(login, { action: 'unkeep' })).body).toContain('is no longer kept');
    expect(fake.parameters.has(`/staging/pins/${login}`)).toBe(false);
    expect((await post(login, { action: 'unkeep' })).body).toContain('feature/login was not kept.');
  });

  test('wake invokes the sleeper as `staging wake` does and shows the staging waking', async () => {
    const r = await post(typo, { action: 'wake' });
    expect(fake.invoked.filter((i) => i.functionName === SLEEPER)).toEqual([{ functionName: SLEEPER, payload: { wake: typo } }]);
    expect(r.body).toContain('fix/typo is waking. It usually takes about 2 minutes.');
    expect(r.body).toContain('<span class="state waking">waking</span>');
    expect(audits()[0]).toMatchObject({ action: 'wake', outcome: 'done' });
    // The cache took the new state: the list shows it without reading again.
    expect((await request({})).body).toMatch(new RegExp(`data-name="${typo}">[\\s\\S]*?state waking`));
  });

  test('sleep', async () => {
    const r = await post(login, { action: 'sleep' });
    expect(fake.invoked.filter((i) => i.functionName === SLEEPER)).toEqual([{ functionName: SLEEPER, payload: { sleep: login } }]);
    expect(r.body).toContain('feature/login is asleep.');
  });

  test('a cross-site post, a post without the token or with another one, and an unknown action change nothing', async () => {
    for (const [headers, form, status] of [
      [{ origin: 'https://evil.example.net' }, {}, 403],
      [{ origin: `${ORIGIN}.evil.example.net` }, {}, 403],
      [{ origin: '' }, {}, 403],
      [{}, { csrf: '' }, 403],
      [{}, { csrf: 'B'.repeat(32) }, 403],
      [{ cookie: '' }, {}, 403],
      [{}, { action: 'format-disk' }, 400],
    ] as Array<[Record<string, string>, Record<string, string>, number]>) {
      const r = await post(login, { action: 'unkeep', ...form }, { headers });
      expect([r.statusCode, r.body]).toEqual([status, expect.stringContaining('Nothing was changed.')]);
    }
    expect(fake.parameters.has(`/staging/pins/${login}`)).toBe(true);
    expect(mutating().filter((c) => c !== 'logs:CreateLogStream' && c !== 'logs:PutLogEvents')).toEqual([]);
  });

  test('an unknown staging is refused', async () => {
    const r = await post('feature-nope-0badc0de', { action: 'keep', until: '2026-12-10' });
    expect(r.statusCode).toBe(404);
    expect(r.body).toContain('There is no staging called feature-nope-0badc0de');
    expect(fake.parameters.has('/staging/pins/feature-nope-0badc0de')).toBe(false);
  });

  describe('destroy', () => {
    const admin = { groups: ['staging-admins'] };

    test('without the claim: refused and not offered', async () => {
      const r = await post(login, { action: 'destroy', confirm: login });
      expect(r.statusCode).toBe(403);
      expect(r.body).toContain('Only members of staging-admins, leads may destroy a staging.');
      expect(fake.deleted).toEqual([]);
      expect((await request({ path: `/s/${login}` })).body).not.toContain('id="destroy"');
      expect(audits()[0]).toMatchObject({ action: 'destroy', who: 'qa@example.com', outcome: expect.stringContaining('Only members') });
    });

    test('off without DESTROY_CLAIM, whatever the claims', async () => {
      delete process.env[E.DESTROY_CLAIM];
      expect((await post(login, { action: 'destroy', confirm: login }, { claims: admin })).body).toContain('Destroying from this page is off.');
      expect(fake.deleted).toEqual([]);
    });

    test('the name must be typed', async () => {
      const r = await post(login, { action: 'destroy', confirm: 'feature-login' }, { claims: admin });
      expect(r.statusCode).toBe(400);
      expect(fake.deleted).toEqual([]);
    });

    test('with the claim and the name: DeleteStack with the deletion role, the topic told, recorded; a replay says when and who', async () => {
      expect((await request({ path: `/s/${login}`, claims: admin })).body).toContain('id="destroy"');
      const r = await post(login, { action: 'destroy', confirm: login }, { claims: { groups: 'leads' } });
      expect(r.statusCode).toBe(200);
      expect(r.body).toContain('feature/login is being destroyed.');
      expect(fake.deleted).toEqual([{ stackName: expect.stringMatching(/^arn:aws:cloudformation:.*:stack\/staging-feature-login/), roleArn: DELETION_ROLE_ARN }]);
      expect(fake.published).toEqual([expect.objectContaining({ subject: `Staging ${login} destroyed from the stagings page`, message: expect.stringContaining('qa@example.com destroyed') })]);
      expect(audits()).toEqual([expect.objectContaining({ action: 'destroy', outcome: 'done' })]);
      clock.now = () => NOW + 5 * 60_000;
      const replay = await post(login, { action: 'destroy', confirm: login }, { claims: admin });
      expect(replay.statusCode).toBe(409);
      expect(replay.body).toContain('This staging was destroyed 5 minutes ago by qa@example.com.');
      expect(fake.deleted).toHaveLength(1);
      // Gone from the stacks: the same answer for a keep.
      fake.stacks.splice(0, 1);
      expect((await post(login, { action: 'keep', until: '2026-12-10' })).body).toContain('This staging was destroyed 5 minutes ago');
    });
  });
});
