/**
 * The stagings page: a Lambda target on the shared listener, behind the same lock as every branch
 * host (lib/contract/stagings-page.ts). `GET /` lists the branch stagings (filter `?q=`, sort
 * `?sort=`), `GET /s/<staging name>` shows one with its history and actions, `POST /s/<staging name>`
 * acts (wake, sleep, keep, unkeep, destroy) on behalf of the verified identity.
 *
 * Refused without any change: a request that is not the ALB's (a direct invoke); a missing, forged,
 * expired or foreign-signed identity; a POST from another origin or without the CSRF token (the
 * double-submit `__Host-` cookie); an unknown or destroyed staging; a keep date in the past or beyond
 * MAX_KEEP_DAYS; a destroy without the claim or without the name typed. Every action of a verified
 * person, done or refused, is an audit record in AUDIT_LOG_GROUP.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { ALBEvent, ALBResult } from 'aws-lambda';
import { SleepStates, formatPin, parsePin } from '../../lib/contract/branch-state';
import { capacityInUse } from '../../lib/contract/capacity';
import type { AuditRecord, StagingsPageAction } from '../../lib/contract/stagings-page';
import { stagingRows, type StagingRow } from '../../lib/contract/stagings-view';
import { entry } from '../shared/entry';
import { describeError } from '../shared/errors';
import { log } from '../shared/provider';
import { audit, auditRecords, destroy, keep, readAll, readRegistry, refreshStacks, unkeep, wakeOrSleep, warnings } from './aws';
import { configFromEnv, destroyEnabled, type PageConfig } from './config';
import { IdentityRefused, hasClaim, verifyOidcData, type Identity } from './identity';
import { SORTS, auditEntries, detailPage, filterAndSort, layout, listPage, span, type HistoryEntry, type Sort } from './page';

/** The handler's clock; tests freeze it. */
export const clock = { now: (): number => Date.now() };

/** The double-submit cookie: `__Host-` (Secure, no Domain, Path=/), SameSite=Strict, HttpOnly. */
export const CSRF_COOKIE = '__Host-stagings-csrf';
const ACTIONS: readonly StagingsPageAction[] = ['wake', 'sleep', 'keep', 'unkeep', 'destroy'];

/** A refusal or failure shown to the person, with its status. */
class Refusal extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function lowerCase(headers: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).flatMap(([k, v]) => (v === undefined ? [] : [[k.toLowerCase(), v]])));
}

function cookies(header: string | undefined): Map<string, string> {
  return new Map((header ?? '').split(';').flatMap((c) => {
    const i = c.indexOf('=');
    return i > 0 ? [[c.slice(0, i).trim(), c.slice(i + 1).trim()] as [string, string]] : [];
  }));
}

function decode(value: string | undefined): string {
  try {
    return decodeURIComponent((value ?? '').replace(/\+/g, ' '));
  } catch {
    return '';
  }
}

const SECURITY_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};

function html(status: number, body: string, extra: Record<string, string> = {}): ALBResult {
  return { statusCode: status, statusDescription: `${status}`, headers: { ...SECURITY_HEADERS, ...extra }, body, isBase64Encoded: false };
}

/** Whether the event is one the ALB sends a Lambda target: anything else is a direct invoke. */
function isAlbEvent(event: unknown): event is ALBEvent {
  const e = event as Partial<ALBEvent> | null;
  return Boolean(e && typeof e.requestContext?.elb?.targetGroupArn === 'string' && typeof e.httpMethod === 'string' && typeof e.path === 'string' && e.headers && typeof e.headers === 'object');
}

interface Request {
  readonly config: PageConfig;
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly identity?: Identity;
  readonly nowMs: number;
  /** The CSRF token: the cookie's, or a new one this response sets. */
  readonly csrf: string;
  readonly setCookie?: string;
}

async function handle(event: unknown): Promise<ALBResult> {
  if (!isAlbEvent(event)) throw new Error('Refused: the stagings page answers only its load balancer (an ALB target-group event with headers); nothing was changed.');
  const config = configFromEnv(process.env);
  const headers = lowerCase(event.headers ?? {});
  const nowMs = clock.now();
  let identity: Identity | undefined;
  if (config.signIn !== 'none') {
    try {
      identity = await verifyOidcData(headers['x-amzn-oidc-data'], { loadBalancerArn: config.loadBalancerArn, keysUrl: config.keysUrl, nowMs });
    } catch (e) {
      if (!(e instanceof IdentityRefused)) throw e;
      log('stagings-page identity refused', { reason: e.message });
      return html(401, layout({ title: 'Not signed in' }, `<p id="refused">Refused: ${e.message}. Nothing was changed.</p>`));
    }
  }
  const existing = cookies(headers.cookie).get(CSRF_COOKIE);
  const csrf = existing && /^[A-Za-z0-9_-]{32}$/.test(existing) ? existing : randomBytes(24).toString('base64url');
  const query = Object.fromEntries(Object.entries(event.queryStringParameters ?? {}).map(([k, v]) => [decode(k), decode(v)]));
  const body = event.body ? (event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body) : '';
  const request: Request = {
    config, method: event.httpMethod.toUpperCase(), path: event.path, query, headers, body, identity, nowMs, csrf,
    setCookie: csrf === existing ? undefined : `${CSRF_COOKIE}=${csrf}; Path=/; Secure; HttpOnly; SameSite=Strict`,
  };
  const frame = { title: `Stagings of ${config.prefix}`, who: identity?.who, readOnlyReason: readOnlyReason(config) };
  const withCookie = (r: ALBResult): ALBResult => (request.setCookie ? { ...r, headers: { ...r.headers, 'set-cookie': request.setCookie } } : r);
  try {
    const detail = /^\/s\/([a-z0-9-]{1,63})\/?$/.exec(event.path);
    if (request.method === 'GET' || request.method === 'HEAD') {
      if (event.path === '/' || event.path === '') return withCookie(html(200, layout(frame, await list(request))));
      if (detail) return withCookie(html(200, layout({ ...frame, title: detail[1] }, await show(request, detail[1]))));
      return html(404, layout(frame, '<p>No such page. <a href="/">All stagings</a></p>'));
    }
    if (request.method === 'POST' && detail) {
      const message = await act(request, detail[1]);
      return withCookie(html(200, layout({ ...frame, title: detail[1], message: { ok: true, text: message } }, await show(request, detail[1]))));
    }
    return html(405, layout(frame, '<p>Only GET and form posts.</p>'), { allow: 'GET, HEAD, POST' });
  } catch (e) {
    if (!(e instanceof Refusal)) throw e;
    const back = detail(event.path);
    return withCookie(html(e.status, layout({ ...frame, message: { ok: false, text: e.message } }, `<p id="refused">Nothing was changed.</p><p>${back}<a href="/">All stagings</a></p>`)));
  }
}

function detail(path: string): string {
  const m = /^\/s\/([a-z0-9-]{1,63})\/?$/.exec(path);
  return m ? `<a href="/s/${m[1]}">Back to ${m[1]}</a> · ` : '';
}

function readOnlyReason(config: PageConfig): string | undefined {
  return config.signIn === 'none'
    ? 'This page is read-only: the stagings are not behind a sign-in (access is public or by network), so the page cannot tell who is asking. With a sign-in, people can wake, sleep, keep and destroy stagings here.'
    : undefined;
}

async function list(r: Request): Promise<string> {
  const [read, registry] = await Promise.all([readAll(r.config, r.nowMs), readRegistry(r.config, r.nowMs)]);
  const capacity = registry && capacityInUse(registry, read.stagings.map((s) => s.loadBalancerFullName));
  const rows = stagingRows(read);
  const sort: Sort = (SORTS as readonly string[]).includes(r.query.sort) ? (r.query.sort as Sort) : 'activity';
  const q = (r.query.q ?? '').slice(0, 100);
  return listPage({ rows: filterAndSort(rows, q, sort), q, sort, total: rows.length, maxStagings: r.config.maxStagings, capacity, planProblem: read.planProblem, nowMs: r.nowMs });
}

/**
 * The staging's row, or a Refusal saying what became of it. `acting`: the stacks are read afresh
 * and a staging being destroyed is refused too; a view shows it as it is.
 */
async function findRow(r: Request, name: string, acting: boolean): Promise<StagingRow> {
  const read = acting ? await refreshStacks(r.config, r.nowMs) : await readAll(r.config, r.nowMs);
  const row = stagingRows(read).find((x) => x.name === name);
  if (row && (!acting || row.state !== 'deleting')) return row;
  const destroyed = (await auditRecords(r.config, name, r.nowMs)).reverse().find((a) => a.action === 'destroy' && a.outcome === 'done');
  if (destroyed) throw new Refusal(409, `This staging was destroyed ${span(r.nowMs - Date.parse(destroyed.at))} ago by ${destroyed.who}.`);
  if (row) throw new Refusal(409, `This staging is being destroyed (its stack is ${row.status}).`);
  throw new Refusal(404, `There is no staging called ${name}: it was destroyed, or it never existed. See all stagings on the list.`);
}

async function show(r: Request, name: string): Promise<string> {
  const row = await findRow(r, name, false);
  const [records, warned] = await Promise.all([auditRecords(r.config, name, r.nowMs), warnings(r.config, name)]);
  const history: HistoryEntry[] = [
    ...auditEntries(records),
    ...warned.flatMap((w): HistoryEntry[] => {
      try {
        const v = JSON.parse(w.value) as { claimedAt?: string; deleteAt?: string; deliveredAt?: string };
        return v.claimedAt ? [{ at: v.deliveredAt ?? v.claimedAt, text: `the sweeper warned that it will be deleted at ${v.deleteAt} for lack of activity` }] : [];
      } catch {
        return [];
      }
    }),
    { at: row.createdAt, text: 'first deployed' },
    ...(row.deployedAt !== row.createdAt ? [{ at: row.deployedAt, text: 'last deployed' }] : []),
  ].sort((a, b) => b.at.localeCompare(a.at));
  const mayAct = r.identity !== undefined;
  return detailPage({
    row, history, nowMs: r.nowMs, csrf: mayAct ? r.csrf : undefined,
    canWake: Boolean(r.config.sleeperFunctionName), maxKeepDays: r.config.maxKeepDays,
    canDestroy: mayAct && destroyEnabled(r.config) && hasClaim(r.identity!, r.config.destroyClaim, r.config.destroyClaimValues),
    destroyNote: destroyEnabled(r.config)
      ? `Only members of ${r.config.destroyClaimValues.join(', ')} (claim ${r.config.destroyClaim}) may destroy a staging here.`
      : 'Destroying from this page is off; the sweeper deletes idle stagings, or a developer runs `staging destroy`.',
  });
}

function form(body: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(body));
}

function sameToken(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** Carries out one action, or throws a Refusal; returns what to tell the person. */
async function act(r: Request, name: string): Promise<string> {
  if (!r.identity) throw new Refusal(403, readOnlyReason(r.config) ?? 'Not signed in.');
  if (r.headers.origin !== r.config.origin) {
    log('stagings-page cross-site post refused', { origin: r.headers.origin ?? null, who: r.identity.who });
    throw new Refusal(403, 'Refused: this form was not sent from the stagings page itself.');
  }
  const fields = form(r.body);
  if (!sameToken(cookies(r.headers.cookie).get(CSRF_COOKIE), fields.csrf)) {
    throw new Refusal(403, 'Refused: the form has expired or was not sent from the stagings page. Reload the page and try again.');
  }
  const action = fields.action as StagingsPageAction;
  if (!ACTIONS.includes(action)) throw new Refusal(400, `There is no action ${JSON.stringify(fields.action ?? '')}.`);
  const who = r.identity.who;
  const record = (outcome: string, branch: string, until?: string): AuditRecord => ({ at: new Date(r.nowMs).toISOString(), who, action, stagingName: name, branch, ...(until ? { until } : {}), outcome });
  let row: StagingRow | undefined;
  try {
    row = await findRow(r, name, true);
    const { text, until } = await carryOut(r, action, row, fields);
    await audit(r.config, record('done', row.branch, until));
    log('stagings-page action', { who, action, stagingName: name, until });
    return text;
  } catch (e) {
    const refusal = e instanceof Refusal
      ? e
      : new Refusal(502, `This did not work (${describeError(e)}). Try again in a minute; if it keeps failing, tell whoever runs the stagings.`);
    await audit(r.config, record(refusal.message, row?.branch ?? name, fields.until || undefined));
    throw refusal;
  }
}

async function carryOut(r: Request, action: StagingsPageAction, row: StagingRow, fields: Record<string, string>): Promise<{ text: string; until?: string }> {
  const c = r.config;
  switch (action) {
    case 'wake':
    case 'sleep': {
      if (!c.sleeperFunctionName) throw new Refusal(409, 'Waking and sleeping are not set up for these stagings (no sleeper).');
      const result = await wakeOrSleep(c, action, row.name, r.nowMs).catch((e: Error) => {
        throw new Refusal(502, `The ${action === 'wake' ? 'wake' : 'sleep'} did not start: ${e.message}. Try again in a minute.`);
      });
      if (action === 'sleep') return { text: result.changed ? `${row.branch} is asleep. A visit to its URL wakes it.` : `${row.branch} was already asleep.` };
      if (result.state === SleepStates.AWAKE) return { text: `${row.branch} is awake.` };
      const eta = result.expectedSeconds ? ` It usually takes about ${span(result.expectedSeconds * 1000)}.` : '';
      return { text: `${row.branch} is waking.${eta} Its URL shows a waiting page until then.` };
    }
    case 'keep': {
      const until = (fields.until ?? '').trim();
      const pin = parsePin(until, r.nowMs);
      if (pin.kind === 'malformed' || until.length !== 10) throw new Refusal(400, `“${until}” is not a date: pick a day in the calendar.`);
      if (pin.kind === 'expired') throw new Refusal(400, `${until} is in the past: pick today or a later day.`);
      const last = formatPin(r.nowMs + c.maxKeepDays * 86400_000);
      if (until > last) throw new Refusal(400, `A staging can be kept for at most ${c.maxKeepDays} days: pick ${last} or earlier.`);
      await keep(c, row.name, until, r.nowMs);
      return { text: `${row.branch} is kept until the end of ${until} (UTC): the sweeper leaves it alone until then.`, until };
    }
    case 'unkeep': {
      const removed = await unkeep(c, row.name);
      return { text: removed ? `${row.branch} is no longer kept; the sweeper judges it by its activity again.` : `${row.branch} was not kept.` };
    }
    case 'destroy': {
      if (!destroyEnabled(c) || !hasClaim(r.identity!, c.destroyClaim, c.destroyClaimValues)) {
        throw new Refusal(403, destroyEnabled(c) ? `Only members of ${c.destroyClaimValues.join(', ')} may destroy a staging.` : 'Destroying from this page is off.');
      }
      if ((fields.confirm ?? '').trim() !== row.name) throw new Refusal(400, `To destroy it, type its name, ${row.name}, exactly.`);
      await destroy(c, row, r.identity!.who);
      return { text: `${row.branch} is being destroyed. This takes a few minutes; it then disappears from the list.` };
    }
  }
}

export const handler = entry('stagings-page', handle);
