/**
 * The contract of the redis-prefix provider (lib/providers/redis-prefix.ts, lambda/redis-prefix/):
 * `Custom::StagingRedisPrefix`, a branch's key prefix on the shared Redis/Valkey. Its properties,
 * its attribute, and the one parse and validation of the properties (the prefix guard that keeps a
 * Delete from matching another branch's keys). Conventions: ./index.ts.
 */
import { optionalText, type Wire } from './wire';

export const RedisPrefixResourceType = 'Custom::StagingRedisPrefix';

/** ResourceProperties of `Custom::StagingRedisPrefix` (CloudFormation sends strings). */
export interface RedisPrefixResourceProperties {
  readonly Host: string;
  readonly Port?: number | string;
  /** `true` (default) or `false`. */
  readonly Tls?: string;
  /** JSON secret with the AUTH `password` (and optionally `username`). */
  readonly AuthSecretArn?: string;
  /** What every key of the branch starts with; ends with ':'. */
  readonly KeyPrefix: string;
}

/** Attributes (`getAtt`) of `Custom::StagingRedisPrefix`. */
export const RedisPrefixAttributes = {
  KEY_PREFIX: 'KeyPrefix',
} as const;

export interface RedisPrefixProperties {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly authSecretArn?: string;
  readonly keyPrefix: string;
}

export const DEFAULT_PORT = 6379;
export const MIN_PREFIX_LENGTH = 5;
export const MAX_PREFIX_LENGTH = 512;

/** The PhysicalResourceId of the resource that owns `keyPrefix`. */
export function physicalIdFor(keyPrefix: string): string {
  return `${PHYSICAL_ID_PREFIX}${keyPrefix}`;
}
export const PHYSICAL_ID_PREFIX = 'redis-prefix:';

/**
 * Why a key prefix is unsafe to delete by, or undefined when it is safe. The prefix ends the MATCH
 * pattern of the Delete, so anything short, open-ended or glob-like could delete other branches'
 * keys or the whole shared cache.
 */
export function keyPrefixProblem(keyPrefix: unknown): string | undefined {
  if (typeof keyPrefix !== 'string' || keyPrefix === '') {
    return "KeyPrefix is required, e.g. 'staging:feature-login:'";
  }
  // The prefix is echoed only after the checks that it holds no control characters.
  if (/[\u0000-\u0020\u007f]/.test(keyPrefix)) {
    return 'KeyPrefix must not contain whitespace or control characters';
  }
  if (/[*?[\]\\]/.test(keyPrefix)) {
    return `KeyPrefix '${keyPrefix}' must not contain the glob characters * ? [ ] or \\`;
  }
  if (!keyPrefix.endsWith(':')) {
    return `KeyPrefix '${keyPrefix}' must end with ':' so that it cannot match another prefix's keys`;
  }
  if (keyPrefix.length < MIN_PREFIX_LENGTH) {
    return `KeyPrefix '${keyPrefix}' is too short: at least ${MIN_PREFIX_LENGTH} characters, e.g. 'staging:feature-login:'`;
  }
  if (keyPrefix.length > MAX_PREFIX_LENGTH) {
    return `KeyPrefix is too long: at most ${MAX_PREFIX_LENGTH} characters`;
  }
  if (/^:+$/.test(keyPrefix)) {
    return `KeyPrefix '${keyPrefix}' must contain more than ':'`;
  }
  return undefined;
}

/** Parses and validates ResourceProperties; throws one message that lists every problem. */
export function parseProperties(props: Wire<RedisPrefixResourceProperties>, logicalId: string): RedisPrefixProperties {
  const problems: string[] = [];

  const host = optionalText(props.Host);
  if (!host) problems.push("Host is required: the shared Redis/Valkey endpoint's address");
  else if (/[\s/]/.test(host)) problems.push(`Host '${host}' must be a host name or IP address, not a URL`);

  let port = DEFAULT_PORT;
  const rawPort = optionalText(props.Port);
  if (rawPort !== undefined) {
    port = Number(rawPort);
    if (!/^\d+$/.test(rawPort) || port < 1 || port > 65535) {
      problems.push(`Port must be an integer in 1..65535, got '${rawPort}'`);
    }
  }

  let tls = true;
  const rawTls = optionalText(props.Tls);
  if (rawTls !== undefined) {
    if (rawTls === 'true') tls = true;
    else if (rawTls === 'false') tls = false;
    else problems.push(`Tls must be 'true' or 'false', got '${rawTls}'`);
  }

  const authSecretArn = optionalText(props.AuthSecretArn);
  if (authSecretArn !== undefined && !/^arn:[\w-]+:secretsmanager:/.test(authSecretArn)) {
    problems.push(`AuthSecretArn must be a Secrets Manager secret ARN, got '${authSecretArn}'`);
  }

  const keyPrefix = typeof props.KeyPrefix === 'string' ? props.KeyPrefix : undefined;
  const prefixProblem = keyPrefixProblem(keyPrefix);
  if (prefixProblem) problems.push(prefixProblem);

  if (problems.length > 0) {
    throw new Error(`Invalid properties on RedisPrefix resource '${logicalId}': ${problems.join('; ')}`);
  }
  return { host: host!, port, tls, authSecretArn, keyPrefix: keyPrefix! };
}
