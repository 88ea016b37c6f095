/**
 * The waking page in a real headless Chromium. A local HTTP server plays one branch: asleep on
 * the first visit, waking for the next refreshes, then awake (its own page). Every waker answer
 * is the handler's own response function, fed the headers Chromium really sends, so this also
 * proves a real browser is recognised as one. A screenshot is kept in test-artifacts/.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { REFRESH_SECONDS, wakerResponse, type Phase } from '../lambda/waker/page';

const NAME = 'feature-new-cool-page-1a2b3c4d';
const BRANCH = 'feature/new_cool_page';
const ARTIFACTS = join(__dirname, '..', 'test-artifacts');
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** What the server answered, in order: `sleeping`/`waking` (the waker) or `branch`. */
const served: Array<{ as: string; accept?: string; agent?: string; status: number }> = [];
/** How many waker answers come before the branch answers. */
const WAKER_ANSWERS = 3;
/** How often the page under test refreshes itself. */
const PAGE_REFRESH_SECONDS = 1;

function headersOf(h: IncomingHttpHeaders): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]));
}

let server: Server;
let base: string;
let context: BrowserContext;
let profile: string;

beforeAll(async () => {
  const executablePath = execFileSync('bash', [join(__dirname, '..', 'scripts', 'ensure-chromium.sh')], { encoding: 'utf8' }).trim();
  server = createServer((req, res) => {
    if (req.url !== '/') {
      res.writeHead(404).end();
      return;
    }
    const index = served.filter((s) => s.as !== 'branch').length;
    if (index >= WAKER_ANSWERS) {
      served.push({ as: 'branch', status: 200 });
      res.writeHead(200, { 'Content-Type': 'text/html' }).end(`<!doctype html><title>Cool page</title><h1 id="branch-home">Hello from ${BRANCH}</h1>`);
      return;
    }
    const phase: Phase = index === 0 ? 'sleeping' : 'waking';
    const response = wakerResponse({
      request: { method: req.method ?? 'GET', headers: headersOf(req.headers) },
      phase,
      stagingName: NAME,
      branch: BRANCH,
      expectedSeconds: 130,
      elapsedSeconds: index * REFRESH_SECONDS,
      // The same page, refreshing every second rather than every 5, so the test waits 3 s, not 15.
      refreshSeconds: PAGE_REFRESH_SECONDS,
    });
    served.push({ as: phase, accept: req.headers.accept, agent: req.headers['user-agent'], status: response.statusCode });
    res.writeHead(response.statusCode, response.headers).end(response.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  profile = mkdtempSync(join(tmpdir(), 'waking-page-chromium-'));
  context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: FLAGS });
});

afterAll(async () => {
  await context?.close();
  await new Promise((resolve) => server?.close(resolve));
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test('renders, names the branch, refreshes itself and lands on the branch once it answers', async () => {
  const page = await context.newPage();
  const response = await page.goto(`${base}/`);
  expect(response?.status()).toBe(200);
  expect(response?.headers()['cache-control']).toBe('no-store');

  // Rendered: the heading names the staging and the branch, and says how long it takes.
  await expect(page.title()).resolves.toBe(`Starting ${NAME}`);
  const heading = await page.locator('#staging').innerText();
  expect(heading).toContain(NAME);
  expect(heading).toContain(BRANCH);
  expect(await page.locator('#eta').innerText()).toMatch(/about 2 minutes/);
  const box = await page.locator('#staging').boundingBox();
  expect(box!.width).toBeGreaterThan(100);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'waking-page.png') });

  // It refreshes by itself until the branch answers, then shows the branch's own page.
  await page.locator('#branch-home').waitFor({ timeout: (WAKER_ANSWERS + 3) * PAGE_REFRESH_SECONDS * 1000 });
  expect(await page.locator('#branch-home').innerText()).toBe(`Hello from ${BRANCH}`);
  expect(page.url()).toBe(`${base}/`);
  expect(served.map((s) => s.as)).toEqual(['sleeping', 'waking', 'waking', 'branch']);
  await page.screenshot({ path: join(ARTIFACTS, 'waking-page-awake.png') });

  // Chromium was taken for a browser (Accept: text/html), not for a previewer or a program.
  expect(served[0].accept).toMatch(/text\/html/);
  expect(served.filter((s) => s.as !== 'branch').every((s) => s.status === 200)).toBe(true);
});
