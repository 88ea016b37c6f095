/**
 * The stagings page in a real headless Chromium (Debian's chromium, found or installed by
 * scripts/ensure-chromium.sh, as the waking-page test does). A local HTTP server plays the load
 * balancer: it turns each request into an ALB event for the real handler, over the fake AWS state
 * of the handler tests (test/lambda/stagings-page-fake.ts), and signs the person in as the ALB
 * does (an `x-amzn-oidc-data` token, ES256) unless the request already carries one (a forgery).
 * The browser believes it is on https://stagings.staging.example.com: Playwright routes that origin
 * (and an attacker's, https://evil.example.net) to the local server, so Origin, SameSite and the
 * `__Host-` cookie behave as on the real host. Screenshots are kept in test-artifacts/.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { forgetCache } from '../lambda/stagings-page/aws';
import { StagingsPageEnvironment } from '../lib/contract/stagings-page';
import { clock, handler } from '../lambda/stagings-page';
import { FakeAws, ORIGIN, PARAMETER_PREFIX, SHARD_0_LOAD_BALANCER, albEvent, keyPair, keyServer, oidcData, pageEnv } from './lambda/stagings-page-fake';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const ARTIFACTS = join(__dirname, '..', 'test-artifacts');
const EVIL = 'https://evil.example.net';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const KEY = keyPair('browser-test-key-0001');
const FORGER = keyPair('browser-test-key-0001');

let keys: Awaited<ReturnType<typeof keyServer>>;
let fake: FakeAws;
let server: Server;
let local: string;
let profile: string;
let context: BrowserContext;
const names: Record<string, string> = {};
const saved = { ...process.env };

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => resolve(text));
  });
}

/** The load balancer: the request as an ALB event, signed in unless it already carries a token. */
async function alb(req: IncomingMessage): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const url = new URL(req.url ?? '/', 'http://local');
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]));
  headers['x-amzn-oidc-data'] ??= oidcData({ key: KEY, nowMs: clock.now() });
  const text = await body(req);
  const event = { ...albEvent({ method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers }), ...(text ? { body: Buffer.from(text).toString('base64'), isBase64Encoded: true } : {}) };
  const r = await handler(event);
  return { status: r.statusCode, headers: (r.headers ?? {}) as Record<string, string>, body: r.body ?? '' };
}

const ATTACKER_PAGE = (target: string) => `<!doctype html><title>Win a prize</title>
<form method="post" action="${ORIGIN}/s/${target}"><input type="hidden" name="action" value="unkeep"><input type="hidden" name="csrf" value="guessed-token-guessed-token-0000"><button id="prize">Claim your prize</button></form>`;

beforeAll(async () => {
  const executablePath = execFileSync('bash', [join(__dirname, '..', 'scripts', 'ensure-chromium.sh')], { encoding: 'utf8' }).trim();
  keys = await keyServer([KEY]);
  // maxStagings within the one load balancer's 45 slots, as SharedStaging requires (the README's picture).
  Object.assign(process.env, pageEnv(keys.url, { [StagingsPageEnvironment.MAX_STAGINGS]: '40' }));
  clock.now = () => NOW;
  forgetCache();
  fake = new FakeAws({ nowMs: () => NOW }).install();
  const hour = 3600_000;
  names.login = fake.addStaging('feature/login', { pin: '2026-12-18', keepAlive: new Date(NOW - 2 * hour), updated: new Date(NOW - 5 * hour) });
  names.checkout = fake.addStaging('feature/checkout-redesign', { sleeping: true, updated: new Date(NOW - 30 * hour) });
  names.typo = fake.addStaging('fix/typo-in-footer', { kind: 'feature-lite', keepAlive: new Date(NOW - 20 * 60_000) });
  names.search = fake.addStaging('feature/search-v2', { status: 'UPDATE_IN_PROGRESS', updated: new Date(NOW - 4 * 60_000) });
  names.old = fake.addStaging('spike/old-idea', { sleeping: true, created: new Date(NOW - 9 * 24 * hour) });
  names.pay = fake.addStaging('feature/payments', { status: 'UPDATE_ROLLBACK_FAILED', updated: new Date(NOW - 26 * hour) });
  fake.put(`${PARAMETER_PREFIX}/capacity/shards`, JSON.stringify({
    rulesPerBranch: 2,
    rulesPerLoadBalancer: 100,
    shards: [{ index: 0, branchSlots: 45, loadBalancerArn: 'arn:lb/0', loadBalancerFullName: SHARD_0_LOAD_BALANCER, dnsName: 'lb-0.example.com', canonicalHostedZoneId: 'Z1', listenerArn: 'arn:listener/0', wakerTargetGroupArn: 'arn:waker/0' }],
  }));
  server = createServer((req, res) => {
    alb(req).then(
      (r) => res.writeHead(r.status, r.headers).end(r.body),
      (e) => res.writeHead(500).end(String(e)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  local = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  profile = mkdtempSync(join(tmpdir(), 'stagings-page-chromium-'));
  context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: FLAGS, viewport: { width: 1280, height: 720 } });
  await routeThroughLoadBalancer(context);
  mkdirSync(ARTIFACTS, { recursive: true });
});

/** The page's host and the attacker's, served without DNS or TLS: the page's via the local load balancer. */
async function routeThroughLoadBalancer(c: BrowserContext): Promise<void> {
  await c.route(`${ORIGIN}/**`, async (route) => {
    const request = route.request();
    const url = new URL(request.url());
    const response = await fetch(`${local}${url.pathname}${url.search}`, { method: request.method(), headers: await request.allHeaders(), body: request.postData() ?? undefined, redirect: 'manual' });
    const headers: Record<string, string> = {};
    response.headers.forEach((v, k) => (headers[k] = v));
    await route.fulfill({ status: response.status, headers, body: await response.text() });
  });
  await c.route(`${EVIL}/**`, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: ATTACKER_PAGE(names.login) }));
}

afterAll(async () => {
  await context?.close();
  await new Promise((resolve) => server?.close(resolve));
  await keys?.close();
  fake?.restore();
  process.env = { ...saved };
  if (profile) rmSync(profile, { recursive: true, force: true });
});

const branches = (page: Page) => page.locator('a.branch').allInnerTexts();

test('the list renders every staging with its state, pin, plan and cost; on a phone too', async () => {
  const page = await context.newPage();
  const response = await page.goto(`${ORIGIN}/`);
  expect(response?.status()).toBe(200);
  expect(await page.title()).toBe('Stagings of staging');
  expect(await page.locator('#count').innerText()).toBe('6');
  expect(await page.locator('#capacity').innerText()).toBe('6 of 45 branch slots in use (shard 0: 6 of 45)');
  expect((await branches(page)).sort()).toEqual(['feature/checkout-redesign', 'feature/login', 'feature/payments', 'feature/search-v2', 'fix/typo-in-footer', 'spike/old-idea']);
  const stateOf = (name: string) => page.locator(`tr[data-name="${name}"] .state`).innerText();
  expect(await stateOf(names.checkout)).toBe('sleeping');
  expect(await stateOf(names.search)).toBe('deploying');
  expect(await stateOf(names.pay)).toBe('failed');
  expect(await page.locator(`tr[data-name="${names.login}"] td[data-label="kept until"]`).innerText()).toBe('2026-12-18');
  expect(await page.locator(`tr[data-name="${names.old}"] td[data-label="sweeper"]`).innerText()).toMatch(/warning due: deleted in \d+ hours/);
  // The CSRF cookie was set, for this host only, out of the page's JavaScript's reach.
  const cookie = (await context.cookies(ORIGIN)).find((c) => c.name === '__Host-stagings-csrf');
  expect(cookie).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Strict', path: '/' });
  await page.screenshot({ path: join(ARTIFACTS, 'stagings-page.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  // On a phone each staging is a card: the branch cell spans the card.
  const cell = await page.locator(`tr[data-name="${names.login}"] td[data-label="branch"]`).boundingBox();
  expect(cell!.width).toBeGreaterThan(300);
  await page.screenshot({ path: join(ARTIFACTS, 'stagings-page-phone.png'), fullPage: true });
  await page.close();
});

test('filtering by part of a name and sorting work without JavaScript', async () => {
  const page = await context.newPage();
  await page.goto(`${ORIGIN}/`);
  await page.locator('#q').fill('FEATURE/');
  await page.locator('#q').press('Enter');
  await page.waitForURL(/q=FEATURE/);
  expect((await branches(page)).sort()).toEqual(['feature/checkout-redesign', 'feature/login', 'feature/payments', 'feature/search-v2']);
  await page.locator('#sort').selectOption('branch');
  await page.getByRole('button', { name: 'Show' }).click();
  await page.waitForURL(/sort=branch/);
  expect(await branches(page)).toEqual(['feature/checkout-redesign', 'feature/login', 'feature/payments', 'feature/search-v2']);
  await page.getByRole('link', { name: 'state' }).click();
  await page.waitForURL(/sort=state/);
  expect(await page.locator('.state').allInnerTexts()).toEqual(['awake', 'deploying', 'failed', 'sleeping']);
  expect(page.url()).toContain('q=FEATURE');
  await page.close();
});

test('waking a sleeping staging shows it waking', async () => {
  const page = await context.newPage();
  await page.goto(`${ORIGIN}/`);
  await page.locator(`a.branch[href="/s/${names.checkout}"]`).click();
  expect(await page.locator('#state .state').innerText()).toBe('sleeping');
  await page.locator('#wake').click();
  await page.locator('#message').waitFor();
  expect(await page.locator('#message').innerText()).toBe('feature/checkout-redesign is waking. It usually takes about 2 minutes. Its URL shows a waiting page until then.');
  expect(await page.locator('#state .state').innerText()).toBe('waking');
  expect(fake.invoked).toContainEqual({ functionName: 'staging-shared-sleeper', payload: { wake: names.checkout } });
  await page.goto(`${ORIGIN}/`);
  expect(await page.locator(`tr[data-name="${names.checkout}"] .state`).innerText()).toBe('waking');
  await page.close();
});

test('keeping until a date shows the pin and a history entry', async () => {
  const page = await context.newPage();
  await page.goto(`${ORIGIN}/s/${names.typo}`);
  expect(await page.locator('#pin').innerText()).toBe('not kept');
  await page.locator('#until').fill('2026-12-12');
  await page.locator('#keep').click();
  await page.locator('#message').waitFor();
  expect(await page.locator('#message').innerText()).toContain('is kept until the end of 2026-12-12 (UTC)');
  expect(await page.locator('#pin').innerText()).toBe('the end of 2026-12-12 (UTC)');
  expect(await page.locator('#history li').first().innerText()).toBe('less than a minute ago: qa@example.com kept it until 2026-12-12');
  expect(fake.parameters.get(`${PARAMETER_PREFIX}/pins/${names.typo}`)?.value).toBe('2026-12-12');
  await page.screenshot({ path: join(ARTIFACTS, 'stagings-page-kept.png'), fullPage: true });
  await page.close();
});

test('a form posted from another site is refused and changes nothing', async () => {
  const page = await context.newPage();
  await page.goto(`${EVIL}/`);
  const [response] = await Promise.all([page.waitForResponse(`${ORIGIN}/s/${names.login}`), page.locator('#prize').click()]);
  expect(response.status()).toBe(403);
  await page.locator('#message').waitFor();
  expect(await page.locator('#message').innerText()).toBe('Refused: this form was not sent from the stagings page itself.');
  expect(fake.parameters.get(`${PARAMETER_PREFIX}/pins/${names.login}`)?.value).toBe('2026-12-18');
  await page.screenshot({ path: join(ARTIFACTS, 'stagings-page-cross-site.png') });
  await page.close();
});

test('a forged identity is refused', async () => {
  const page = await context.newPage();
  await page.setExtraHTTPHeaders({ 'x-amzn-oidc-data': oidcData({ key: FORGER, nowMs: NOW, claims: { email: 'boss@example.com', groups: ['staging-admins'] } }) });
  const response = await page.goto(`${ORIGIN}/s/${names.login}`);
  expect(response?.status()).toBe(401);
  expect(await page.locator('#refused').innerText()).toBe('Refused: the sign-in token\'s signature is not the load balancer\'s. Nothing was changed.');
  expect(await page.locator('form[method="post"]').count()).toBe(0);
  await page.screenshot({ path: join(ARTIFACTS, 'stagings-page-forged.png') });
  await page.close();
});
