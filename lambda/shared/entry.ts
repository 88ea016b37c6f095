/**
 * The one entry wrapper of every handler: one sanitized JSON line per event when it starts, and one
 * failure line (with the error described by describeError) when it throws, then the error is
 * rethrown unchanged. Handlers log what they decide on top of that, never the event itself.
 *
 * Sanitized means: a custom-resource event is logged by its ids and its properties, with the values
 * of secret-looking keys (password, secret, token, credential, auth, cookie, but not `...Arn`, which
 * names a secret and is safe) replaced by `***`, and the framework's `ResponseURL` (a presigned URL)
 * and `ServiceToken` left out; an ALB request by its method, host and path only (never its headers,
 * cookies or body); any other event (scheduled, manual) by its sanitized keys. Long strings and
 * lists are cut.
 */
import { describeError } from './errors';
import { log, logError } from './provider';

/** Keys whose values are never logged. */
const SECRET_KEY = /pass(word|phrase)?|secret|token|credential|auth|cookie|private.?key|api.?key/i;
/** ...unless the key names an ARN: `AuthSecretArn` says which secret, not what is in it. */
const ARN_KEY = /Arns?$/;
const MAX_STRING = 300;
const MAX_ITEMS = 25;
const MAX_DEPTH = 4;
export const REDACTED = '***';

/** `value` with every secret-looking key's value replaced and long strings and lists cut. */
export function sanitize(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…(${value.length} chars)` : value;
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return Array.isArray(value) ? `[${value.length} items]` : '{…}';
  if (Array.isArray(value)) {
    const shown = value.slice(0, MAX_ITEMS).map((v) => sanitize(v, depth + 1));
    return value.length > MAX_ITEMS ? [...shown, `…(${value.length - MAX_ITEMS} more)`] : shown;
  }
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, SECRET_KEY.test(k) && !ARN_KEY.test(k) ? REDACTED : sanitize(v, depth + 1)]),
  );
}

/** What the start line says about an event. */
export function summarizeEvent(event: unknown): Record<string, unknown> {
  if (!event || typeof event !== 'object') return { event: sanitize(event) };
  const e = event as Record<string, any>;
  if (typeof e.RequestType === 'string' && 'ResourceProperties' in e) {
    const properties = { ...((e.ResourceProperties ?? {}) as Record<string, unknown>) };
    delete properties.ServiceToken;
    const old = e.OldResourceProperties as Record<string, unknown> | undefined;
    const changed = old ? [...new Set([...Object.keys(properties), ...Object.keys(old)])].filter((k) => k !== 'ServiceToken' && JSON.stringify(properties[k]) !== JSON.stringify(old[k])) : undefined;
    return {
      requestType: e.RequestType,
      resourceType: e.ResourceType,
      logicalResourceId: e.LogicalResourceId,
      physicalResourceId: e.PhysicalResourceId,
      stackId: e.StackId,
      requestId: e.RequestId,
      properties: sanitize(properties),
      ...(changed ? { changed } : {}),
    };
  }
  if (e.requestContext?.elb) {
    const host = Object.entries((e.headers ?? {}) as Record<string, unknown>).find(([k]) => k.toLowerCase() === 'host')?.[1];
    return { method: e.httpMethod, host: sanitize(host), path: sanitize(e.path) };
  }
  return { event: sanitize(e) };
}

/** What the failure line names besides the error: the ids of the event, never its properties. */
function idsOf(event: unknown): Record<string, unknown> {
  const ids = summarizeEvent(event);
  for (const key of ['properties', 'changed', 'event']) delete ids[key];
  return ids;
}

/**
 * `fn`, logging one sanitized line per event (`<name> event`) and one line when it fails
 * (`<name> failed`). The wrapped function has `fn`'s type, overloads included.
 */
export function entry<F extends (event: any) => Promise<unknown>>(name: string, fn: F): F {
  const wrapped = async (event: unknown) => {
    log(`${name} event`, { handler: name, ...summarizeEvent(event) });
    try {
      return await fn(event);
    } catch (e) {
      logError(`${name} failed`, { handler: name, ...idsOf(event), error: describeError(e) });
      throw e;
    }
  };
  return wrapped as F;
}
