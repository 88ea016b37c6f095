/**
 * A minimal client for Solr's v1 Collections API (`/admin/collections?action=...&wt=json`), built
 * on Node's global fetch. It knows how Solr reports errors (HTTP status, `responseHeader.status`,
 * `error.msg`, `exception.msg`, the legacy string `error`) and turns them into one SolrError with
 * Solr's own message. It never logs or echoes the Authorization header.
 */

export type AsyncState = 'submitted' | 'running' | 'completed' | 'failed' | 'notfound';

export interface AsyncStatus {
  readonly state: AsyncState;
  /** Solr's message for a failed request (from the stored response), or its status message. */
  readonly message: string;
}

export class SolrError extends Error {
  constructor(
    message: string,
    /** The action that failed, e.g. `RESTORE`. */
    readonly action: string,
    /** Solr's own error message, when it sent one. */
    readonly solrMessage: string | undefined,
    /** HTTP status, when an answer arrived. */
    readonly httpStatus: number | undefined,
    /** True for timeouts, network errors and 502/503/504: worth trying again on the next poll. */
    readonly transient: boolean,
  ) {
    super(message);
    this.name = 'SolrError';
  }
}

export type SolrParams = Record<string, string | number | boolean | undefined>;

/** A parsed Solr JSON response. */
export type SolrBody = Record<string, unknown>;

/** Reads a nested field of a parsed JSON body, e.g. `field(body, 'status', 'state')`. */
export function field(body: unknown, ...path: string[]): unknown {
  let current: unknown = body;
  for (const key of path) {
    if (!current || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

export interface SolrClientOptions {
  /** Base URL ending in the Solr context, e.g. `https://solr.internal:8983/solr` (no trailing slash). */
  readonly baseUrl: string;
  /** A ready `Authorization` header value, or undefined for no auth. */
  readonly authorization?: string;
  readonly timeoutMs: number;
}

const TRANSIENT_HTTP = new Set([502, 503, 504]);
const ASYNC_STATES: readonly string[] = ['submitted', 'running', 'completed', 'failed', 'notfound'];

function isAsyncState(value: unknown): value is AsyncState {
  return typeof value === 'string' && ASYNC_STATES.includes(value);
}

export class SolrClient {
  constructor(private readonly options: SolrClientOptions) {}

  /** Calls one Collections API action and returns the parsed JSON body; throws SolrError otherwise. */
  async call(action: string, params: SolrParams = {}): Promise<SolrBody> {
    const query = new URLSearchParams({ action });
    for (const [key, value] of Object.entries(params)) {
      if (value !== undefined) query.set(key, String(value));
    }
    query.set('wt', 'json');
    const url = `${this.options.baseUrl}/admin/collections?${query.toString()}`;
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (this.options.authorization) headers.Authorization = this.options.authorization;

    let response: Response;
    let text: string;
    try {
      response = await fetch(url, { method: 'GET', headers, signal: AbortSignal.timeout(this.options.timeoutMs) });
      text = await response.text();
    } catch (error) {
      throw this.networkError(action, error);
    }

    let body: SolrBody | undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      body = parsed && typeof parsed === 'object' ? (parsed as SolrBody) : undefined;
    } catch {
      body = undefined;
    }

    const headerStatus = field(body, 'responseHeader', 'status');
    const legacyError = typeof body?.error === 'string';
    if (response.ok && body && (headerStatus === undefined || headerStatus === 0) && !legacyError) {
      return body;
    }

    const solrMessage = body ? extractSolrMessage(body) : undefined;
    const detail = solrMessage ?? summarizeText(text) ?? response.statusText;
    let message = `Solr ${action} failed (HTTP ${response.status}): ${detail}`;
    if (response.status === 401 || response.status === 403) {
      message +=
        '. Solr rejected the request: check that CredentialsSecretArn names a secret holding ' +
        '{"username","password"} of a Solr user allowed to administer collections';
    }
    throw new SolrError(message, action, solrMessage, response.status, TRANSIENT_HTTP.has(response.status));
  }

  /** REQUESTSTATUS of one async request id. */
  async requestStatus(requestId: string): Promise<AsyncStatus> {
    const body = await this.call('REQUESTSTATUS', { requestid: requestId });
    const state = field(body, 'status', 'state');
    if (!isAsyncState(state)) {
      throw new SolrError(
        `Solr REQUESTSTATUS for '${requestId}' returned an unknown state '${String(state)}'`,
        'REQUESTSTATUS',
        undefined,
        200,
        false,
      );
    }
    const message = state === 'failed' ? extractSolrMessage(body, true) : undefined;
    return { state, message: message ?? String(field(body, 'status', 'msg') ?? state) };
  }

  private networkError(action: string, error: unknown): SolrError {
    const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    const host = safeHost(this.options.baseUrl);
    if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
      return new SolrError(
        `Solr ${action} timed out after ${this.options.timeoutMs} ms at ${host}: check that Solr is up and that ` +
          "the handler's security group may reach the Solr port",
        action,
        undefined,
        undefined,
        true,
      );
    }
    const cause = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(error);
    return new SolrError(
      `Solr ${action} could not reach ${host} (${cause}): check SolrUrl, DNS and that the handler's security group ` +
        'may reach the Solr port',
      action,
      undefined,
      undefined,
      true,
    );
  }
}

/**
 * Finds Solr's human message in a response body. Solr puts it in `error.msg` (HTTP errors),
 * `exception.msg` (stored async responses), `Operation <op> caused exception:` and per-node
 * `failure` entries; very old versions send `error` as a plain string.
 */
export function extractSolrMessage(body: SolrBody, includeFailures = true): string | undefined {
  const errorMsg = field(body, 'error', 'msg');
  if (typeof errorMsg === 'string') return errorMsg;
  if (typeof body.error === 'string') return body.error;
  const exceptionMsg = field(body, 'exception', 'msg');
  if (typeof exceptionMsg === 'string') return exceptionMsg;
  for (const [key, value] of Object.entries(body)) {
    if (key.endsWith('caused exception:') && value !== undefined && value !== null) {
      return stripExceptionPrefix(typeof value === 'string' ? value : JSON.stringify(value));
    }
  }
  if (includeFailures && body.failure && typeof body.failure === 'object') {
    const parts = Object.entries(body.failure).map(([node, value]) => `${node}: ${stringifyFailure(value)}`);
    if (parts.length > 0) return parts.join('; ');
  }
  return undefined;
}

function stringifyFailure(value: unknown): string {
  if (typeof value === 'string') return stripExceptionPrefix(value);
  if (value && typeof value === 'object') {
    const inner = extractSolrMessage(value as SolrBody, false);
    if (inner) return inner;
  }
  return JSON.stringify(value);
}

/** `org.apache.solr.common.SolrException:org.apache.solr.common.SolrException: msg` → `msg` */
function stripExceptionPrefix(text: string): string {
  return text.replace(/^(?:[\w$.]+(?:Exception|Error):\s*)+/, '');
}

/** A short, tag-free excerpt of a non-JSON body (Jetty error pages are HTML). */
function summarizeText(text: string): string | undefined {
  const plain = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (!plain) return undefined;
  return plain.length > 200 ? `${plain.slice(0, 200)}…` : plain;
}

function safeHost(baseUrl: string): string {
  try {
    const url = new URL(baseUrl);
    return `${url.protocol}//${url.host}`;
  } catch {
    return 'the Solr URL';
  }
}
