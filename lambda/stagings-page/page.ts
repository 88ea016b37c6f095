/**
 * The stagings page's HTML: server-rendered, readable without JavaScript, one table that turns into
 * cards on a phone. Every value from outside (branch names, identities, reasons) is escaped.
 */
import { capacitySummary, type CapacityInUse } from '../../lib/contract/capacity';
import { pullRequestLabel, shortCommit } from '../../lib/contract/deploy-info';
import type { AuditRecord } from '../../lib/contract/stagings-page';
import type { StagingRow } from '../../lib/contract/stagings-view';

/** The columns the list sorts by (`?sort=`). */
export const SORTS = ['activity', 'branch', 'state', 'cost'] as const;
export type Sort = (typeof SORTS)[number];

export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** `5 minutes`, `3 hours`, `2 days`: how long between two times, in words. */
export function span(ms: number): string {
  const m = Math.round(Math.abs(ms) / 60000);
  if (m < 1) return 'less than a minute';
  if (m < 60) return `${m} minute${m === 1 ? '' : 's'}`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} hour${h === 1 ? '' : 's'}`;
  return `${Math.round(h / 24)} days`;
}

/** `5 minutes ago` or `in 3 hours`, with the exact time as a tooltip. */
function when(iso: string | undefined, nowMs: number): string {
  if (!iso) return '–';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return esc(iso);
  const text = ms <= nowMs ? `${span(nowMs - ms)} ago` : `in ${span(ms - nowMs)}`;
  return `<time datetime="${esc(iso)}" title="${esc(iso)}">${text}</time>`;
}

/**
 * The last deploy: when, then what it was of, when the deploy said so (the stack outputs
 * StagingCommit, StagingPullRequest, StagingImage): the short commit, else the image's name, and
 * the pull request (`#12`, a link when it is a URL).
 */
function deployText(r: StagingRow, nowMs: number): string {
  const pr = r.pullRequest === undefined ? undefined : pullRequestLabel(r.pullRequest);
  const what = [
    r.commit
      ? `<code class="commit" title="${esc(r.commit)}">${esc(shortCommit(r.commit))}</code>`
      : r.image
        ? `<code class="image" title="${esc(r.image)}">${esc(r.image.slice(r.image.lastIndexOf('/') + 1))}</code>`
        : '',
    pr ? (pr.href ? `<a class="pr" href="${esc(pr.href)}" rel="noopener">${esc(pr.text)}</a>` : `<span class="pr">${esc(pr.text)}</span>`) : '',
  ].filter(Boolean);
  return `${when(r.deployedAt, nowMs)}${what.length ? ` ${what.join(' ')}` : ''}`;
}

const usd = (n: number | undefined) => (n === undefined ? '–' : `$${n.toFixed(2)}`);

/** The rows matching `q` (part of the branch or staging name, any case), in `sort` order. */
export function filterAndSort(rows: readonly StagingRow[], q: string, sort: Sort): StagingRow[] {
  const needle = q.trim().toLowerCase();
  const hits = needle ? rows.filter((r) => r.branch.toLowerCase().includes(needle) || r.name.includes(needle)) : [...rows];
  const by: Record<Sort, (a: StagingRow, b: StagingRow) => number> = {
    // stagingRows' own order: the most recently active first.
    activity: () => 0,
    branch: (a, b) => a.branch.localeCompare(b.branch),
    state: (a, b) => a.state.localeCompare(b.state) || a.branch.localeCompare(b.branch),
    cost: (a, b) => (b.costPerDay ?? -1) - (a.costPerDay ?? -1) || a.branch.localeCompare(b.branch),
  };
  return hits.sort(by[sort]);
}

const STYLE = `
*{box-sizing:border-box}body{font:15px/1.4 system-ui,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header,main{padding:12px 16px;max-width:1400px;margin:auto}h1{font-size:1.4em;margin:.2em 0}a{color:#0b5cad}
.summary{display:flex;flex-wrap:wrap;gap:8px 24px;margin:.4em 0}.summary b{font-size:1.15em}
.note{background:#fff7d6;border:1px solid #e8d48a;padding:8px 12px;border-radius:6px;margin:8px 0}
.msg{padding:10px 14px;border-radius:6px;margin:10px 0;border:1px solid}.ok{background:#e6f6ea;border-color:#8cc99a}.err{background:#fde8e8;border-color:#e09a9a}
form.filter{display:flex;flex-wrap:wrap;gap:8px;margin:10px 0}input,select,button{font:inherit;padding:6px 10px;border:1px solid #b9c0cc;border-radius:6px}
button{background:#0b5cad;color:#fff;border-color:#0b5cad;cursor:pointer}button.danger{background:#b3261e;border-color:#b3261e}
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e3e6eb;vertical-align:top}
th a{color:inherit}.state{font-weight:600;border-radius:10px;padding:1px 8px;white-space:nowrap}
.awake{background:#dff3e4;color:#17692d}.sleeping{background:#e6e8ee;color:#4a5160}.waking,.deploying{background:#fff0c2;color:#7a5a00}.failed,.deleting{background:#fde0dd;color:#9b1c12}
.muted{color:#5f6877;font-size:.9em}.actions form{display:inline-block;margin:4px 8px 4px 0}.actions label{display:block;margin:4px 0}
ol.history{padding-left:1.2em}ol.history li{margin:4px 0}
@media (max-width:760px){thead{display:none}table,tbody,tr,td{display:block}tr{border:1px solid #d5d9e0;border-radius:8px;margin:10px 0;padding:6px}
td{border:0;padding:3px 6px}td[data-label]::before{content:attr(data-label) ": ";color:#5f6877;font-size:.9em}}
`;

export interface Frame {
  readonly title: string;
  readonly who?: string;
  readonly readOnlyReason?: string;
  readonly message?: { readonly ok: boolean; readonly text: string };
}

export function layout(frame: Frame, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(frame.title)}</title><style>${STYLE}</style></head><body><header><h1>${esc(frame.title)}</h1>
<div class="muted">${frame.who ? `Signed in as <b id="who">${esc(frame.who)}</b>` : 'Not signed in'} · <a href="/">All stagings</a></div>
${frame.readOnlyReason ? `<p class="note" id="read-only">${esc(frame.readOnlyReason)}</p>` : ''}
${frame.message ? `<p class="msg ${frame.message.ok ? 'ok' : 'err'}" id="message" role="status">${esc(frame.message.text)}</p>` : ''}
</header><main>${body}</main></body></html>`;
}

export interface ListView {
  readonly rows: readonly StagingRow[];
  readonly q: string;
  readonly sort: Sort;
  readonly total: number;
  readonly maxStagings?: number;
  readonly capacity?: CapacityInUse;
  readonly planProblem?: string;
  readonly nowMs: number;
}

function sweeperText(r: StagingRow, nowMs: number): string {
  const s = r.sweeper;
  if (!s) return '–';
  // A dry run's plan: `warn` is the warning the next run sends, `keep` with a date an earlier one.
  const stage: Record<string, string> = { keep: 'warned', warn: 'warning due', delete: 'due for deletion' };
  if (s.deleteAt) return `<span title="${esc(s.reason)}">${stage[s.action] ?? esc(s.action)}: deleted ${when(s.deleteAt, nowMs)}</span>`;
  if (s.idleAt) return `<span title="${esc(s.reason)}">idle ${when(s.idleAt, nowMs)}</span>`;
  return `<span title="${esc(s.reason)}">${esc(s.action)}</span>`;
}

function stateCell(r: StagingRow, nowMs: number): string {
  return `<span class="state ${esc(r.state)}">${esc(r.state)}</span>${r.stateSince ? ` <span class="muted">since ${when(r.stateSince, nowMs)}</span>` : ''}`;
}

export function listPage(v: ListView): string {
  const link = (sort: Sort, label: string) => `<a href="/?${new URLSearchParams({ ...(v.q ? { q: v.q } : {}), sort })}">${label}${v.sort === sort ? ' ▾' : ''}</a>`;
  const limits = [
    v.maxStagings !== undefined ? `<span id="max-stagings">maxStagings ${v.maxStagings}</span>` : '',
    v.capacity ? `<span id="capacity">${esc(capacitySummary(v.capacity))}</span>` : '',
  ].filter(Boolean).join(', ');
  const totalCost = v.rows.reduce((sum, r) => sum + (r.costPerDay ?? 0), 0);
  const rows = v.rows.map((r) => `<tr data-name="${esc(r.name)}">
<td data-label="branch"><a class="branch" href="/s/${esc(r.name)}">${esc(r.branch)}</a>${r.url ? ` <a class="open" href="${esc(r.url)}" rel="noopener">open ↗</a>` : ''}</td>
<td data-label="kind">${esc(r.kind)}</td>
<td data-label="state">${stateCell(r, v.nowMs)}</td>
<td data-label="last activity">${when(r.lastActivity, v.nowMs)}</td>
<td data-label="sweeper">${sweeperText(r, v.nowMs)}</td>
<td data-label="kept until">${r.pinnedUntil ? esc(r.pinnedUntil) : r.problems?.length ? '<span title="unreadable pin">kept (unreadable pin)</span>' : '–'}</td>
<td data-label="cost/day" class="cost">${usd(r.costPerDay)}${r.cost ? ` <span class="muted">(${usd(r.cost.awake)} awake, ${usd(r.cost.asleep)} asleep)</span>` : ''}</td>
<td data-label="last deploy">${deployText(r, v.nowMs)}</td></tr>`).join('\n');
  return `<div class="summary"><span><b id="count">${v.total}</b> staging${v.total === 1 ? '' : 's'}${limits ? ` of ${limits}` : ''}</span>
<span>total <b id="total-cost">${usd(totalCost)}</b> per day${v.q ? ' (shown)' : ''}</span></div>
${v.planProblem ? `<p class="note">The sweeper's plan could not be read (${esc(v.planProblem)}); its column is empty.</p>` : ''}
<form class="filter" method="get" action="/"><input type="search" name="q" value="${esc(v.q)}" placeholder="Find a branch" aria-label="Find a branch" id="q">
<select name="sort" aria-label="Sort by" id="sort">${SORTS.map((s) => `<option value="${s}"${s === v.sort ? ' selected' : ''}>${s === 'activity' ? 'last activity' : s}</option>`).join('')}</select>
<button type="submit">Show</button></form>
${v.rows.length === 0 ? `<p id="empty">${v.total === 0 ? 'There are no branch stagings.' : `No staging matches “${esc(v.q)}”.`}</p>` : `<table id="stagings"><thead><tr>
<th>${link('branch', 'branch')}</th><th>kind</th><th>${link('state', 'state')}</th><th>${link('activity', 'last activity')}</th><th>sweeper</th><th>kept until</th><th>${link('cost', 'cost/day')}</th><th>last deploy</th>
</tr></thead><tbody>
${rows}
</tbody></table>`}`;
}

/** One entry of a staging's history. */
export interface HistoryEntry {
  readonly at: string;
  readonly text: string;
}

/** The history's entries from the audit records, newest first. */
export function auditEntries(records: readonly AuditRecord[]): HistoryEntry[] {
  const verb: Record<string, string> = { wake: 'woke it', sleep: 'put it to sleep', keep: 'kept it', unkeep: 'stopped keeping it', destroy: 'destroyed it' };
  return records.map((r) => ({
    at: r.at,
    text: r.outcome === 'done'
      ? `${r.who} ${verb[r.action] ?? r.action}${r.until ? ` until ${r.until}` : ''}`
      : `${r.who} tried to ${r.action} it${r.until ? ` until ${r.until}` : ''}: ${r.outcome}`,
  }));
}

export interface DetailView {
  readonly row: StagingRow;
  readonly history: readonly HistoryEntry[];
  readonly nowMs: number;
  /** The CSRF token of the forms; undefined: no actions (read-only). */
  readonly csrf?: string;
  readonly canWake: boolean;
  readonly maxKeepDays: number;
  readonly canDestroy: boolean;
  /** Why destroy is not offered, when it is not. */
  readonly destroyNote: string;
}

export function detailPage(v: DetailView): string {
  const r = v.row;
  const today = new Date(v.nowMs).toISOString().slice(0, 10);
  const max = new Date(v.nowMs + v.maxKeepDays * 86400_000).toISOString().slice(0, 10);
  const form = (action: string, inner: string, button: string, cls = '') =>
    `<form method="post" action="/s/${esc(r.name)}" id="${action}-form"><input type="hidden" name="csrf" value="${esc(v.csrf)}"><input type="hidden" name="action" value="${action}">${inner}<button type="submit" class="${cls}" id="${action}">${button}</button></form>`;
  const actions = v.csrf === undefined ? '' : `<section class="actions"><h2>Actions</h2>
${v.canWake && (r.state === 'sleeping' || r.state === 'waking') ? form('wake', '', 'Wake it') : ''}
${v.canWake && r.state === 'awake' ? form('sleep', '', 'Put it to sleep') : ''}
${form('keep', `<label>Keep until (at most ${v.maxKeepDays} days) <input type="date" name="until" id="until" min="${today}" max="${max}" value="${r.pinnedUntil ?? max}" required></label>`, 'Keep')}
${r.pinnedUntil ? form('unkeep', '', 'Stop keeping it') : ''}
${v.canDestroy ? form('destroy', `<label>Type <b>${esc(r.name)}</b> to confirm <input name="confirm" id="confirm" autocomplete="off" required></label>`, 'Destroy', 'danger') : `<p class="muted" id="destroy-note">${esc(v.destroyNote)}</p>`}
</section>`;
  const history = v.history.length
    ? `<ol class="history" id="history">${v.history.map((h) => `<li>${when(h.at, v.nowMs)}: ${esc(h.text)}</li>`).join('')}</ol>`
    : '<p id="history">Nothing recorded yet.</p>';
  return `<dl>
<dt>Branch</dt><dd id="branch">${esc(r.branch)} (${esc(r.kind)})${r.url ? ` · <a href="${esc(r.url)}" rel="noopener" id="open">open ${esc(r.url)}</a>` : ''}</dd>
<dt>State</dt><dd id="state">${stateCell(r, v.nowMs)}</dd>
<dt>Last activity</dt><dd>${when(r.lastActivity, v.nowMs)}</dd>
<dt>Sweeper</dt><dd>${sweeperText(r, v.nowMs)}${r.sweeper ? ` <span class="muted">${esc(r.sweeper.reason)}</span>` : ''}</dd>
<dt>Kept until</dt><dd id="pin">${r.pinnedUntil ? `the end of ${esc(r.pinnedUntil)} (UTC)` : 'not kept'}</dd>
<dt>Cost per day</dt><dd>${usd(r.costPerDay)}${r.cost ? ` (${usd(r.cost.awake)} awake, ${usd(r.cost.asleep)} asleep)` : ''}</dd>
<dt>Last deploy</dt><dd id="deploy">${deployText(r, v.nowMs)} <span class="muted">(stack ${esc(r.stackName)}, ${esc(r.status)})</span>${r.image ? `<br><span class="muted">image</span> <code>${esc(r.image)}</code>` : ''}</dd>
</dl>${actions}<section><h2>History</h2>${history}</section>`;
}
