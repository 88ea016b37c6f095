/**
 * What the waker answers while a branch sleeps or wakes: a pure function from the request and the
 * branch's state to an HTTP response. The Lambda target (index.ts) and the browser test's local
 * server both serve exactly this.
 */

/** Who is asking. */
export type Client = 'browser' | 'previewer' | 'other';

/** How far the branch is; `unknown` when no staging is deployed at this host. */
export type Phase = 'sleeping' | 'waking' | 'awake' | 'unknown';

export interface WakerRequest {
  readonly method: string;
  /** Header names in lower case (the ALB passes them so when multi-value headers are off). */
  readonly headers: Record<string, string | undefined>;
}

export interface WakerResponse {
  readonly statusCode: number;
  readonly statusDescription: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly isBase64Encoded: false;
}

export interface PageInput {
  readonly request: WakerRequest;
  readonly phase: Phase;
  /** The staging name (the host's first label). */
  readonly stagingName: string;
  /** The git branch, as the deploy recorded it. */
  readonly branch?: string;
  /** About how long a wake takes in all, in seconds. */
  readonly expectedSeconds: number;
  /** Seconds since the wake began (0 when it has not begun). */
  readonly elapsedSeconds: number;
  /** True when the branch's own database is stopped or starting (a wake then takes minutes). */
  readonly databaseStarting?: boolean;
  /** Seconds between refreshes of the page (`REFRESH_SECONDS`, unless a test needs a faster page). */
  readonly refreshSeconds?: number;
}

/** Seconds between refreshes of the waking page. */
export const REFRESH_SECONDS = 5;

/**
 * Link unfurlers and uptime checkers: they get the page but never wake a branch, and their visits
 * are not activity (an uptime check every minute would otherwise keep a branch awake for ever).
 */
const PREVIEWERS =
  /(slackbot|slack-imgproxy|facebookexternalhit|facebot|twitterbot|linkedinbot|discordbot|telegrambot|whatsapp|skypeuripreview|microsoftpreview|teamsbot|googlebot|bingbot|embedly|iframely|redditbot|applebot|mattermost|uptimerobot|pingdom|statuscake|site24x7|betteruptime|better stack|freshping|newrelicpinger|datadog synthetics|checkly|elb-healthchecker)/i;

/** Who is asking: a previewer by its user agent, a browser by `Accept: text/html`, else a program. */
export function classifyClient(request: WakerRequest): Client {
  const agent = request.headers['user-agent'] ?? '';
  if (PREVIEWERS.test(agent)) return 'previewer';
  const accept = request.headers.accept ?? '';
  return /\btext\/html\b/i.test(accept) ? 'browser' : 'other';
}

/** The response for this request and state. */
export function wakerResponse(input: PageInput): WakerResponse {
  if (input.phase === 'unknown') {
    return respond(404, 'Not Found', 'text/plain; charset=utf-8', 'No staging is deployed at this address.\n');
  }
  const client = classifyClient(input.request);
  const remaining = remainingSeconds(input);
  if (client === 'other') {
    const retry = Math.max(REFRESH_SECONDS, Math.min(60, remaining));
    return respond(
      503,
      'Service Unavailable',
      'text/plain; charset=utf-8',
      `Staging ${input.stagingName} is ${input.phase === 'sleeping' ? 'asleep and is starting' : 'starting'}; retry in ${retry} seconds.\n`,
      { 'Retry-After': String(retry) },
    );
  }
  const body = input.request.method.toUpperCase() === 'HEAD' ? '' : page(input, client, remaining);
  return respond(200, 'OK', 'text/html; charset=utf-8', body);
}

function remainingSeconds(input: PageInput): number {
  return Math.max(REFRESH_SECONDS, Math.round(input.expectedSeconds - input.elapsedSeconds));
}

function respond(statusCode: number, statusDescription: string, contentType: string, body: string, extra: Record<string, string> = {}): WakerResponse {
  return {
    statusCode,
    statusDescription: `${statusCode} ${statusDescription}`,
    headers: {
      'Content-Type': contentType,
      'Cache-Control': 'no-store',
      'X-Robots-Tag': 'noindex',
      ...extra,
    },
    body,
    isBase64Encoded: false,
  };
}

/** "about 2 minutes", "about 40 seconds". */
export function humanDuration(seconds: number): string {
  if (seconds < 90) return `about ${Math.max(10, Math.round(seconds / 10) * 10)} seconds`;
  return `about ${Math.round(seconds / 60)} minutes`;
}

function page(input: PageInput, client: Client, remaining: number): string {
  const name = escapeHtml(input.stagingName);
  const branch = input.branch && input.branch !== input.stagingName ? ` <span class="branch">(${escapeHtml(input.branch)})</span>` : '';
  const what =
    client === 'previewer'
      ? 'is asleep. Opening this page in a browser starts it'
      : input.phase === 'awake'
        ? 'is up; taking you there'
        : 'is starting';
  const db = input.databaseStarting ? ' Its database is starting too, which takes several minutes.' : '';
  const eta = input.phase === 'awake' ? '' : ` This takes ${humanDuration(input.expectedSeconds)}${input.elapsedSeconds > 0 ? `; ${humanDuration(remaining)} to go` : ''}.`;
  // A meta refresh needs no script; the page reloads the same URL, which the branch answers once awake.
  const every = input.refreshSeconds ?? REFRESH_SECONDS;
  const refresh = client === 'previewer' ? '' : `<meta http-equiv="refresh" content="${every}">`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${refresh}
<meta name="robots" content="noindex">
<title>Starting ${name}</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#f6f7f9;color:#1f2328}
main{max-width:36rem;padding:2rem;text-align:center}
h1{font-size:1.4rem;margin:0 0 1rem}
.branch{color:#57606a;font-weight:normal}
.spinner{width:2.5rem;height:2.5rem;margin:0 auto 1.5rem;border:4px solid #d0d7de;border-top-color:#0969da;border-radius:50%;animation:spin 1s linear infinite}
@keyframes spin{to{transform:rotate(360deg)}}
p{line-height:1.5}
</style>
</head>
<body>
<main>
<div class="spinner" aria-hidden="true"></div>
<h1 id="staging" data-phase="${input.phase}">Staging <code>${name}</code>${branch} ${what}.</h1>
<p id="eta">It slept because nobody used it for a while.${eta}${db}</p>
<p>${client === 'previewer' ? '' : `This page refreshes every ${every} seconds and opens the staging as soon as it answers.`}</p>
</main>
</body>
</html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
