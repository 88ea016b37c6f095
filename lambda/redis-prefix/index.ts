/**
 * Custom resource: a branch staging's key prefix on the shared Redis/Valkey
 * (`StagingCache.sharedPrefix()`), instead of a cache of its own.
 *
 * Create checks that the server answers PING (and is not in cluster mode, where a SCAN sees one
 * shard only) and returns PhysicalResourceId `redis-prefix:<KeyPrefix>`; it writes nothing. An
 * Update that keeps KeyPrefix is a no-op; a new KeyPrefix is a new physical id, so CloudFormation
 * deletes the old resource and with it the old keys. Delete removes every key that starts with the
 * prefix (SCAN MATCH + UNLINK). A host that no longer resolves (the shared Redis is gone) is
 * success; any other connection failure is retried, then fails, so keys are never silently left.
 *
 * The prefix guard (KeyPrefix ends with ':', at least 5 characters, no glob characters) keeps a
 * Delete from ever matching another branch's keys or the whole cache.
 */
import { lookup } from 'node:dns/promises';
import { OnEventRequest, OnEventResponse, log, logError } from '../shared/provider';
import { describeError } from '../shared/errors';
import { readCredentials } from '../shared/secrets';
import { sleep } from '../shared/sleep';
import { entry } from '../shared/entry';
import { PHYSICAL_ID_PREFIX, RedisPrefixProperties, keyPrefixProblem, parseProperties, physicalIdFor } from '../../lib/contract/providers/redis-prefix';
import {
  CONNECT_TIMEOUT_MS,
  RedisConnection,
  RedisConnectionError,
  deleteKeysWithPrefix,
  errorCode,
  isClusterEnabled,
  isTransient,
  withRedis,
} from './redis';

/**
 * Attempts per operation for connection failures, with exponential backoff from `baseDelayMs`
 * (1 s, 2 s, 4 s), and the TCP/TLS connect timeout of each attempt. At most about 4 × 5 s + 7 s
 * before a Delete gives up on an unreachable server. Mutable so tests can shorten the waits.
 */
export const retryPolicy = { attempts: 4, baseDelayMs: 1000, connectTimeoutMs: CONNECT_TIMEOUT_MS };

/** An error whose message already says what to do: passed through unchanged. */
class ActionableError extends Error {}

async function handleEvent(event: OnEventRequest): Promise<OnEventResponse> {
  switch (event.RequestType) {
    case 'Create':
      return create(parseProperties(event.ResourceProperties, event.LogicalResourceId));
    case 'Update': {
      const props = parseProperties(event.ResourceProperties, event.LogicalResourceId);
      if (physicalIdFor(props.keyPrefix) === event.PhysicalResourceId) {
        log('KeyPrefix unchanged: update is a no-op', { keyPrefix: props.keyPrefix });
        return response(props.keyPrefix);
      }
      log('KeyPrefix changed: checking the server; CloudFormation then deletes the old prefix and its keys', {
        from: event.PhysicalResourceId,
        to: props.keyPrefix,
      });
      return create(props);
    }
    case 'Delete':
      return remove(event);
    default:
      throw new Error(`Unsupported RequestType '${String((event as OnEventRequest).RequestType)}'`);
  }
}
export const onEvent = entry('redis-prefix.onEvent', handleEvent);

function response(keyPrefix: string): OnEventResponse {
  return { PhysicalResourceId: physicalIdFor(keyPrefix), Data: { KeyPrefix: keyPrefix } };
}

// ---------------------------------------------------------------------------------------------
// Create (and Update with a new KeyPrefix)

async function create(props: RedisPrefixProperties): Promise<OnEventResponse> {
  const conn = await connectionFor(props);
  try {
    await withRetries('connectivity check', props, () =>
      withRedis(conn, async (redis) => {
        const pong = await redis.ping();
        if (pong !== 'PONG') throw new Error(`PING answered '${String(pong)}' instead of 'PONG'`);
        if (await isClusterEnabled(redis)) {
          throw new ActionableError(
            `Redis at ${where(props)} runs in cluster mode (cluster_enabled:1, e.g. ElastiCache Serverless or ` +
              'cluster mode enabled): a key prefix there spans shards that one SCAN cannot see, so its keys could ' +
              'not be removed on delete. Use a cluster-mode-disabled replication group for shared prefixes, or a ' +
              'cache per staging.',
          );
        }
      }),
    );
  } catch (error) {
    throw explain(error, props, `Cannot use KeyPrefix '${props.keyPrefix}' on Redis at ${where(props)}`);
  }
  log('Redis reachable; key prefix ready', { keyPrefix: props.keyPrefix, host: props.host, port: props.port });
  return response(props.keyPrefix);
}

// ---------------------------------------------------------------------------------------------
// Delete

async function remove(event: OnEventRequest): Promise<OnEventResponse> {
  const physicalId = event.PhysicalResourceId ?? '';
  if (!physicalId.startsWith(PHYSICAL_ID_PREFIX)) {
    // Not an id this handler returned (e.g. a Create that failed): there are no keys of ours.
    log('physical id was not created by this handler; nothing to delete', { physicalResourceId: physicalId });
    return { PhysicalResourceId: physicalId };
  }
  // The physical id names the prefix this resource owns; it is validated again before any delete.
  const keyPrefix = physicalId.slice(PHYSICAL_ID_PREFIX.length);
  const problem = keyPrefixProblem(keyPrefix);
  if (problem) {
    throw new Error(`Refusing to delete keys for resource '${event.LogicalResourceId}': ${problem}`);
  }
  const props = parseProperties({ ...event.ResourceProperties, KeyPrefix: keyPrefix }, event.LogicalResourceId);

  if (await hostIsGone(props.host)) {
    log('Redis host no longer resolves (ENOTFOUND): the shared Redis is gone, and its keys with it', {
      keyPrefix,
      host: props.host,
    });
    return { PhysicalResourceId: physicalId };
  }

  const conn = await connectionFor(props);
  try {
    const result = await withRetries('delete', props, () =>
      withRedis(conn, (redis) => deleteKeysWithPrefix(redis, keyPrefix)),
    );
    log('deleted keys with prefix', { keyPrefix, deleted: result.deleted, scans: result.scans, host: props.host });
  } catch (error) {
    if (errorCode(error) === 'ENOTFOUND') {
      log('Redis host no longer resolves (ENOTFOUND): the shared Redis is gone, and its keys with it', {
        keyPrefix,
        host: props.host,
      });
      return { PhysicalResourceId: physicalId };
    }
    throw explain(
      error,
      props,
      `Could not delete the keys with prefix '${keyPrefix}' from Redis at ${where(props)}; they are still there`,
      ' Fix that and retry the stack deletion; to leave the keys behind instead, delete the stack again and ' +
        'choose to retain this resource.',
    );
  }
  return { PhysicalResourceId: physicalId };
}

/** True only when DNS says the name does not exist; any other lookup problem is left to the connection. */
async function hostIsGone(host: string): Promise<boolean> {
  try {
    await lookup(host);
    return false;
  } catch (error) {
    return errorCode(error) === 'ENOTFOUND';
  }
}

// ---------------------------------------------------------------------------------------------
// Shared

async function withRetries<T>(what: string, props: RedisPrefixProperties, operation: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!isTransient(error) || attempt >= retryPolicy.attempts) {
        if (isTransient(error)) (error as { attempts?: number }).attempts = attempt;
        throw error;
      }
      const delayMs = retryPolicy.baseDelayMs * 2 ** (attempt - 1);
      logError(`Redis ${what} failed; retrying`, {
        attempt,
        delayMs,
        host: props.host,
        port: props.port,
        code: errorCode(error),
        error: describeError(error),
      });
      await sleep(delayMs);
    }
  }
}

async function connectionFor(props: RedisPrefixProperties): Promise<RedisConnection> {
  const base = { host: props.host, port: props.port, tls: props.tls, connectTimeoutMs: retryPolicy.connectTimeoutMs };
  if (!props.authSecretArn) return base;
  return { ...base, ...(await readCredentials(props.authSecretArn, 'AuthSecretArn', 'optional')) };
}

function where(props: RedisPrefixProperties): string {
  return `${props.host}:${props.port} (TLS ${props.tls ? 'on' : 'off'})`;
}

/** One actionable message: what failed, the cause, and what to check. Never includes credentials. */
function explain(error: unknown, props: RedisPrefixProperties, what: string, then = ''): Error {
  if (error instanceof ActionableError) return error;
  const message = ((error as Error)?.message ?? String(error)).replace(/\.+$/, '');
  const code = errorCode(error);
  const attempts = (error as { attempts?: number }).attempts;
  const cause = `${message}${code && !message.includes(code) ? ` (${code})` : ''}`;
  const tried = attempts ? ` after ${attempts} attempts` : '';
  return new Error(`${what}${tried}: ${cause}. ${hint(error, props)}${then}`);
}

function hint(error: unknown, props: RedisPrefixProperties): string {
  const message = (error as Error)?.message ?? '';
  const code = errorCode(error) ?? '';
  if (/^(WRONGPASS|NOAUTH|NOPERM)\b|invalid password|without any password/i.test(message)) {
    return props.authSecretArn
      ? `Redis rejected the credentials from AuthSecretArn '${props.authSecretArn}': check the secret's "password" (and "username") against the server's AUTH token or user.`
      : 'The server requires authentication: pass AuthSecretArn, a secret with {"password": "<AUTH token>"}.';
  }
  if (code === 'ENOTFOUND') return `Host '${props.host}' does not resolve: check Host.`;
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code) || /certificate/i.test(message)) {
    return "The server's TLS certificate did not verify against the public CAs for Host: connect by the endpoint name the certificate is issued to.";
  }
  if (/SSL|TLS/.test(code) || /wrong version number|packet length/i.test(message)) {
    return `The TLS handshake failed: is in-transit encryption really ${props.tls ? 'on' : 'off'}? Check Tls.`;
  }
  if (error instanceof RedisConnectionError || isTransient(error)) {
    return (
      `Check that the server is up, that Port ${props.port} is right, that the handler's security group may reach it, ` +
      `and that Tls '${props.tls}' matches the server's in-transit encryption.`
    );
  }
  return 'Check the server and the resource properties.';
}
