/**
 * Connections to the shared Redis/Valkey and the prefix delete. ioredis is used with its own
 * reconnection turned off: each operation gets one connection, and the handler decides what to
 * retry.
 */
import Redis from 'ioredis';

export interface RedisConnection {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly username?: string;
  readonly password?: string;
  /** Default CONNECT_TIMEOUT_MS. */
  readonly connectTimeoutMs?: number;
}

export const CONNECT_TIMEOUT_MS = 5_000;
export const COMMAND_TIMEOUT_MS = 15_000;
export const SCAN_COUNT = 1000;
/** Keys per UNLINK command; each SCAN page's keys go out as one pipeline of such commands. */
export const UNLINK_BATCH = 250;

/** A connection-level failure, with the Node.js error code when there is one (ECONNREFUSED, ENOTFOUND…). */
export class RedisConnectionError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'RedisConnectionError';
  }
}

/** Codes (and messages) of failures worth another attempt: the server may be back in a moment. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'EAI_AGAIN',
]);
const TRANSIENT_MESSAGES = [
  /Connection is closed/i,
  /Command timed out/i,
  /Reached the max retries per request limit/i,
  /Stream isn't writeable/i,
  /^LOADING\b/,
  /^BUSY\b/,
  /^TRYAGAIN\b/,
  /^MASTERDOWN\b/,
];

export function isTransient(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  if (typeof e?.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return TRANSIENT_MESSAGES.some((pattern) => pattern.test(message));
}

export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Opens a connection, runs `work`, and always closes the connection. A failure to connect rejects
 * with the underlying socket/TLS/auth error (ioredis itself only reports "Connection is closed").
 */
export async function withRedis<T>(conn: RedisConnection, work: (redis: Redis) => Promise<T>): Promise<T> {
  let lastError: Error | undefined;
  const redis = new Redis({
    host: conn.host,
    port: conn.port,
    // ElastiCache in-transit encryption presents certificates from a public CA: the default trust
    // store verifies them, and the SNI/host check uses `host`.
    tls: conn.tls ? {} : undefined,
    username: conn.username,
    password: conn.password,
    lazyConnect: true,
    connectTimeout: conn.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null, // no silent reconnects; the handler retries whole operations
    reconnectOnError: null,
    // RESP2 works on every Redis/Valkey version (HELLO needs Redis 6); replies here are plain arrays.
    protocol: 2,
    disableClientInfo: true,
    enableReadyCheck: true,
  });
  // Without a listener ioredis prints errors itself; keep the last one to report the real cause.
  redis.on('error', (error: Error) => {
    lastError = error;
  });
  try {
    try {
      await redis.connect();
    } catch (error) {
      throw describeConnectFailure(lastError ?? (error as Error));
    }
    if (lastError && isAuthError(lastError)) throw describeConnectFailure(lastError);
    try {
      return await work(redis);
    } catch (error) {
      // A command failing because authentication failed during the handshake: report the cause.
      if (lastError && isAuthError(lastError)) throw describeConnectFailure(lastError);
      throw error;
    }
  } finally {
    await close(redis);
  }
}

async function close(redis: Redis): Promise<void> {
  // Already closed (e.g. a failed connect): disconnect() would only arm ioredis' 2 s destroy timer.
  if (redis.status === 'end') return;
  if (redis.status === 'ready') {
    try {
      await redis.quit();
      return;
    } catch {
      // fall through to a hard close
    }
  }
  redis.disconnect();
}

function isAuthError(error: Error): boolean {
  return /^(WRONGPASS|NOAUTH|NOPERM)\b|invalid password|AUTH.*called without any password/i.test(error.message);
}

/** Keeps the code; never includes credentials (ioredis errors do not carry them). */
function describeConnectFailure(error: Error): Error {
  if (error instanceof RedisConnectionError) return error;
  return new RedisConnectionError(error.message, errorCode(error));
}

/** Escapes Redis glob metacharacters so that `value` matches only itself in a MATCH pattern. */
export function escapeGlob(value: string): string {
  return value.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** True when the server runs cluster mode (SCAN would then see one shard only). Unknown → false. */
export async function isClusterEnabled(redis: Redis): Promise<boolean> {
  try {
    const info = await redis.info('cluster');
    return /^cluster_enabled:1\s*$/m.test(info);
  } catch (error) {
    if (isTransient(error)) throw error;
    return false; // INFO restricted by the provider: assume a plain instance
  }
}

export interface DeleteResult {
  /** Keys UNLINK removed. */
  readonly deleted: number;
  /** SCAN calls made. */
  readonly scans: number;
}

/**
 * Removes every key that starts with `prefix`: SCAN with MATCH `<escaped prefix>*`, then UNLINK
 * each page's keys in one pipeline, until SCAN returns cursor 0. Keys are handled as bytes, so
 * keys that are not valid UTF-8 are deleted too, and every key is checked to start with the prefix
 * before it is unlinked.
 */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<DeleteResult> {
  const prefixBytes = Buffer.from(prefix, 'utf8');
  const pattern = `${escapeGlob(prefix)}*`;
  let cursor = '0';
  let deleted = 0;
  let scans = 0;
  // Redis's SCAN cursor, not an AWS API, so no SDK paginator applies; the loop keeps each page's unlink in step with the scan.
  do {
    const [next, keys] = await redis.scanBuffer(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
    scans++;
    cursor = next.toString();
    const mine = keys.filter((key) => key.length >= prefixBytes.length && prefixBytes.equals(key.subarray(0, prefixBytes.length)));
    if (mine.length > 0) deleted += await unlinkAll(redis, mine);
  } while (cursor !== '0');
  return { deleted, scans };
}

async function unlinkAll(redis: Redis, keys: Buffer[]): Promise<number> {
  const pipeline = redis.pipeline();
  for (let i = 0; i < keys.length; i += UNLINK_BATCH) {
    pipeline.unlink(...keys.slice(i, i + UNLINK_BATCH));
  }
  const results = await pipeline.exec();
  if (!results) throw new RedisConnectionError('UNLINK pipeline got no reply: Connection is closed.', undefined);
  let removed = 0;
  for (const [error, count] of results) {
    if (error) throw error;
    removed += Number(count);
  }
  return removed;
}
