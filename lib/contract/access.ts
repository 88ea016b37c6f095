/**
 * The lock on the stagings' front door, as the shared stack hands it to the code that writes and
 * rewrites listener rules (the listener-priority provider) and to the waker. One JSON value, in the
 * environment variable `AccessEnvironment.CONFIG` of both functions, set by SharedStaging from its
 * `access` prop (lib/staging-access.ts). It names secrets by ARN, never by value.
 *
 * The same validation serves the construct (at synth), the ready-made app's schema and the
 * handlers (at run time, fail-closed: an unreadable lock refuses to write an open rule).
 */

/** Environment variables of the listener-priority provider and the waker. */
export const AccessEnvironment = {
  /** JSON `AccessConfig`; required: a function without it refuses to create or rewrite a rule. */
  CONFIG: 'STAGING_ACCESS',
} as const;

/** How people sign in: an OpenID Connect provider, a Cognito user pool, or not at all. */
export type SignInKind = 'oidc' | 'cognito' | 'none';
const SIGN_IN_KINDS: readonly string[] = ['oidc', 'cognito', 'none'] satisfies SignInKind[];

/** The header automation sends its token in, unless configured otherwise. */
export const DEFAULT_AUTOMATION_HEADER = 'x-staging-automation';

/**
 * At most 5 condition values per listener rule (host, path, source-ip and header values together).
 * A branch rule spends one on its host, so a rule has room for 4 more.
 */
export const MAX_CONDITION_VALUES_PER_RULE = 5;
/** Values left for paths or networks in one rule, after the host. */
export const VALUES_AFTER_HOST = MAX_CONDITION_VALUES_PER_RULE - 1;

/** An OpenID Connect provider, as the ALB's `authenticate-oidc` action takes it. */
export interface OidcConfig {
  readonly issuer: string;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly userInfoEndpoint: string;
  readonly clientId: string;
  /** Secrets Manager ARN of the client secret (SecretString, the secret itself). */
  readonly clientSecretArn: string;
  /** e.g. `openid email profile`. */
  readonly scope: string;
}

/** A Cognito user pool; each host gets an app client of its own (README "Access"). */
export interface CognitoConfig {
  readonly userPoolArn: string;
  readonly userPoolId: string;
  /** The pool's domain: the prefix of `<prefix>.auth.<region>.amazoncognito.com`, or a custom domain. */
  readonly userPoolDomain: string;
  /** `COGNITO`, or the names of the pool's federated identity providers. */
  readonly identityProviders: string[];
  /** OAuth scopes of each host's app client, e.g. `openid email profile`. */
  readonly scopes: string[];
}

/** The automation token. */
export interface AutomationConfig {
  /** Lower-case header name. */
  readonly headerName: string;
  /** Secrets Manager ARN of the token (SecretString, the token itself). */
  readonly tokenSecretArn: string;
  /** Whether a request with the token wakes a sleeping staging. */
  readonly wakes: boolean;
}

/** The whole lock. */
export interface AccessConfig {
  readonly signIn: SignInKind;
  readonly oidc?: OidcConfig;
  readonly cognito?: CognitoConfig;
  /** Source CIDRs let in without sign-in (with `signIn: none`, the only way in). */
  readonly networks: string[];
  readonly automation?: AutomationConfig;
  /** Path patterns that pass without sign-in (e.g. `/webhooks/*`); they never wake a staging. */
  readonly publicPaths: string[];
  /** Seconds an ALB sign-in session lasts. */
  readonly sessionTimeoutSeconds: number;
  /** True only for `StagingAccess.publicAccess()`: no lock at all. */
  readonly public: boolean;
}

/** What each rule of a host is for. */
export const RuleRoles = {
  /** The host rule: sign-in then forward (or, without sign-in, the network condition then forward). */
  MAIN: 'main',
  /** Host + source-ip: the allowed networks pass without sign-in. */
  NETWORK: 'network',
  /** Host + the automation header's value. */
  AUTOMATION: 'automation',
  /** Host + path patterns that pass without sign-in. */
  PUBLIC_PATHS: 'public-paths',
} as const;

/** Tag on each rule of a host: which of RuleRoles it is. */
export const RULE_ROLE_TAG = 'staging:rule';

// ---------------------------------------------------------------------------------------------
// Validation, shared by the construct, the app's schema and the handlers

const HTTPS_URL = /^https:\/\/[^\s/?#]+(\/[^\s?#]*)?$/;
/** The characters an ALB http-header condition's name may have (an RFC 7230 token), at most 40. */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,40}$/;
/** An ALB path-pattern: starts with `/`, at most 128 characters of A-Z a-z 0-9 _ - . $ / ~ " ' @ : + & ( ) ! , ; = * ?. */
const PATH_PATTERN = /^\/[A-Za-z0-9_\-.$/~"'@:+&()!,;=*?]{0,127}$/;

/** `null` when `value` is an https URL, else what is wrong. */
export function httpsUrlProblem(value: string): string | null {
  return HTTPS_URL.test(value) ? null : 'must be an https:// URL';
}

/** `null` when `value` is an IPv4 or IPv6 CIDR such as `203.0.113.0/24`, else what is wrong. */
export function cidrProblem(value: string): string | null {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
  if (v4) {
    const octets = v4.slice(1, 5).map(Number);
    const bits = Number(v4[5]);
    if (octets.every((o) => o <= 255) && bits <= 32 && !v4.slice(1, 5).some((o) => o.length > 1 && o.startsWith('0'))) return null;
    return 'is not an IPv4 CIDR (four numbers 0-255, then /0-32)';
  }
  const v6 = /^([0-9a-fA-F:]+)\/(\d{1,3})$/.exec(value);
  if (v6 && Number(v6[2]) <= 128 && isIpv6(v6[1])) return null;
  return 'is not a CIDR such as 203.0.113.0/24 or 2001:db8::/32';
}

function isIpv6(address: string): boolean {
  const halves = address.split('::');
  if (halves.length > 2) return false;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const parts = halves.flatMap(groups);
  if (!parts.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  return halves.length === 2 ? parts.length < 8 : parts.length === 8;
}

/** `null` when `value` is a path pattern the ALB matches, else what is wrong. */
export function pathPatternProblem(value: string): string | null {
  return PATH_PATTERN.test(value)
    ? null
    : 'is not a path pattern: it starts with "/", has at most 128 characters, and uses only A-Z a-z 0-9 _ - . $ / ~ " \' @ : + & ( ) ! , ; = and the wildcards * and ?';
}

/** `null` when `value` is a header name an ALB http-header condition can match, else what is wrong. */
export function headerNameProblem(value: string): string | null {
  if (!HEADER_NAME.test(value)) return 'is not a header name the load balancer can match (1-40 characters, letters, digits and !#$%&\'*+.^_`|~-)';
  if (/^(host|x-amzn-.*|x-forwarded-.*)$/i.test(value)) return 'is a header the load balancer sets or reads itself; choose another, such as x-staging-automation';
  return null;
}

/**
 * Parses the lock from the environment. Fail-closed: a missing or unreadable value throws, so a
 * function never writes a rule without the lock it was given.
 */
export function parseAccessConfig(raw: string | undefined): AccessConfig {
  if (raw === undefined || raw.trim() === '') {
    throw new Error(`${AccessEnvironment.CONFIG} is not set: this function does not know the stagings' lock, so it writes no rule (deploy the shared stack again)`);
  }
  let value: any;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new Error(`${AccessEnvironment.CONFIG} is not JSON: this function does not know the stagings' lock, so it writes no rule (deploy the shared stack again)`);
  }
  const problems: string[] = [];
  const strings = (v: unknown, what: string): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
      problems.push(`${what} must be a list of strings`);
      return [];
    }
    return v;
  };
  const signIn = value?.signIn;
  if (!SIGN_IN_KINDS.includes(signIn)) problems.push(`signIn must be one of ${SIGN_IN_KINDS.join(', ')} (got ${JSON.stringify(signIn)})`);
  if (signIn === 'oidc' && !(value.oidc && typeof value.oidc.clientSecretArn === 'string' && typeof value.oidc.clientId === 'string')) problems.push('oidc needs clientId and clientSecretArn');
  if (signIn === 'cognito' && !(value.cognito && typeof value.cognito.userPoolId === 'string' && typeof value.cognito.userPoolDomain === 'string')) problems.push('cognito needs userPoolId and userPoolDomain');
  const networks = strings(value?.networks, 'networks');
  for (const n of networks) if (cidrProblem(n)) problems.push(`network ${JSON.stringify(n)} ${cidrProblem(n)}`);
  const publicPaths = strings(value?.publicPaths, 'publicPaths');
  for (const p of publicPaths) if (pathPatternProblem(p)) problems.push(`public path ${JSON.stringify(p)} ${pathPatternProblem(p)}`);
  const automation = value?.automation;
  if (automation !== undefined && (typeof automation?.tokenSecretArn !== 'string' || typeof automation?.headerName !== 'string' || headerNameProblem(automation.headerName))) {
    problems.push('automation needs a valid headerName and tokenSecretArn');
  }
  const isPublic = value?.public === true;
  if (!isPublic && signIn === 'none' && networks.length === 0) problems.push('without a sign-in, networks must name at least one CIDR (or the lock must be public)');
  if (problems.length > 0) throw new Error(`${AccessEnvironment.CONFIG} is invalid, so this function writes no rule: ${problems.join('; ')}`);
  return {
    signIn,
    oidc: value.oidc,
    cognito: value.cognito,
    networks,
    automation: automation ? { headerName: String(automation.headerName).toLowerCase(), tokenSecretArn: automation.tokenSecretArn, wakes: automation.wakes === true } : undefined,
    publicPaths,
    sessionTimeoutSeconds: Number.isInteger(value.sessionTimeoutSeconds) ? value.sessionTimeoutSeconds : 7 * 24 * 3600,
    public: isPublic,
  };
}

/** The rules one host takes on the listener under this lock, by role. */
export function rulesPerHost(config: AccessConfig): string[] {
  const roles: string[] = [RuleRoles.MAIN];
  const signIn = config.signIn !== 'none';
  if (config.public) return roles;
  if (signIn && config.networks.length > 0) roles.push(RuleRoles.NETWORK);
  if (config.automation) roles.push(RuleRoles.AUTOMATION);
  if (config.publicPaths.length > 0) roles.push(RuleRoles.PUBLIC_PATHS);
  return roles;
}

/** True when `ip` (IPv4 or IPv6) lies in `cidr`; false for anything unparsable. */
export function ipInCidr(ip: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const a = ipToBigInt(ip.trim());
  const b = ipToBigInt(base);
  if (a === undefined || b === undefined || a.width !== b.width) return false;
  const bits = BigInt(Number(bitsText));
  const width = BigInt(a.width);
  if (bits > width) return false;
  const shift = width - bits;
  return a.value >> shift === b.value >> shift;
}

function ipToBigInt(ip: string): { value: bigint; width: number } | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (v4) {
    const octets = v4.slice(1).map(Number);
    if (octets.some((o) => o > 255)) return undefined;
    return { value: octets.reduce((acc, o) => (acc << 8n) + BigInt(o), 0n), width: 32 };
  }
  if (!isIpv6(ip)) return undefined;
  const [head, tail] = ip.split('::');
  const groups = (s: string | undefined) => (s ? s.split(':') : []);
  const missing = 8 - groups(head).length - groups(tail).length;
  const all = ip.includes('::') ? [...groups(head), ...Array(missing).fill('0'), ...groups(tail)] : groups(head);
  return { value: all.reduce((acc, g) => (acc << 16n) + BigInt(parseInt(g, 16)), 0n), width: 128 };
}

/** What the waker knows of a request, for `mayWake`. */
export interface WakeRequest {
  /** Lower-case header names. */
  readonly headers: Record<string, string | undefined>;
}

/**
 * Whether a request that reached the waker may wake its staging. The rules already keep a
 * signed-out visitor away (the sign-in runs before the forward); this is the second barrier: with a
 * sign-in, only a request the load balancer signed (`x-amzn-oidc-data`), one from an allowed network
 * (the client address the load balancer appends last to `x-forwarded-for`) or, when configured, one
 * with the automation header wakes. Without a readable lock, nothing wakes.
 */
export function mayWake(config: AccessConfig | undefined, request: WakeRequest): boolean {
  if (!config) return false;
  if (config.public) return true;
  const h = request.headers;
  const client = (h['x-forwarded-for'] ?? '').split(',').map((s) => s.trim()).filter(Boolean).pop();
  const fromNetwork = client !== undefined && config.networks.some((cidr) => ipInCidr(client, cidr));
  if (config.signIn === 'none') return fromNetwork;
  if (h['x-amzn-oidc-data']) return true;
  if (fromNetwork) return true;
  return Boolean(config.automation?.wakes && h[config.automation.headerName]);
}
