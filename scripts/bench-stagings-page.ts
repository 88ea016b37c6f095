/**
 * Benchmark of the stagings page: one signed-in view of the list with 10, 100 and 500 branch
 * stagings, the real handler over the fake AWS state of its tests (test/lambda/stagings-page-fake.ts)
 * with LATENCY_MS (default 50) per call. Every call counts, the sweeper's dry run included: the
 * fake runs the real sweeper in-process, over the same fake. The key server is local and fetched
 * once per kid (not an AWS call; the first view pays it). The sweeper's plan is decided in-process
 * from the view's own reads (lambda/stagings-page/aws.ts), so there is no dry run to count.
 *
 *   npx tsx scripts/bench-stagings-page.ts     # or: npm run bench (last section)
 *
 * - cold: a new function instance (empty cache);
 * - warm: the next view within the cache's life (READ_TTL_MS);
 * - after 31 s: the rows read again (READ_TTL_MS), the sweeper's settings and the last requests
 *   still cached (REQUESTS_TTL_MS).
 * Half the stagings are asleep, one in ten pinned, every one with a keep-alive (the dense case).
 */
import { READ_TTL_MS, forgetCache } from '../lambda/stagings-page/aws';
import { clock, handler } from '../lambda/stagings-page/index';
import { FakeAws, albEvent, keyPair, keyServer, oidcData, pageEnv } from '../test/lambda/stagings-page-fake';

const LATENCY_MS = Number(process.env.LATENCY_MS ?? 50);
const GOAL = { calls: 20, ms: 1500 };

async function main(): Promise<void> {
  const key = keyPair('bench-key-0001');
  const keys = await keyServer([key]);
  let now = Date.parse('2026-12-07T12:00:00Z');
  clock.now = () => now;
  Object.assign(process.env, pageEnv(keys.url));
  // The handler and the sweeper log one line per event and per staging: not part of the figures.
  console.log = () => undefined;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`stagings page: one list view, ${LATENCY_MS} ms per AWS call (goal at 500: <= ${GOAL.calls} calls, <= ${GOAL.ms} ms)`);
  out('stagings  view                 calls  ms     calls by operation');
  for (const n of [10, 100, 500]) {
    const fake = new FakeAws({ nowMs: () => now, delayMs: LATENCY_MS }).install();
    for (let i = 0; i < n; i++) {
      fake.addStaging(`feature/bench-${i}`, { sleeping: i % 2 === 1, pin: i % 10 === 0 ? '2026-12-20' : undefined, keepAlive: new Date(now - (i % 72) * 3600_000) });
    }
    forgetCache();
    const view = async (label: string) => {
      fake.calls.length = 0;
      const event = albEvent({ headers: { 'x-amzn-oidc-data': oidcData({ key, nowMs: now }) } });
      const started = process.hrtime.bigint();
      const r = await handler(event);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (r.statusCode !== 200) throw new Error(`the view answered ${r.statusCode}`);
      const by = new Map<string, number>();
      for (const c of fake.calls) by.set(c, (by.get(c) ?? 0) + 1);
      const ops = [...by].map(([op, count]) => `${op} ${count}`).join(', ');
      out(`${String(n).padStart(8)}  ${label.padEnd(19)} ${String(fake.calls.length).padStart(5)}  ${ms.toFixed(0).padStart(5)}  ${ops || '-'}`);
    };
    await view('cold');
    await view('warm');
    now += READ_TTL_MS + 1000;
    await view('after 31 s');
    fake.restore();
  }
  await keys.close();
}

main().catch((e) => {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exit(1);
});
