/** The page's configuration, from its environment (lib/contract/stagings-page.ts StagingsPageEnvironment). */
import type { SignInKind } from '../../lib/contract/access';
import { DEFAULT_MAX_KEEP_DAYS, StagingsPageEnvironment as E, stagingsPageUrl } from '../../lib/contract/stagings-page';

export interface PageConfig {
  readonly prefix: string;
  readonly parameterPrefix: string;
  readonly domainName: string;
  /** `https://<stagingsPageHost(domain)>`: the only accepted Origin of a POST. */
  readonly origin: string;
  readonly loadBalancerArn: string;
  readonly keysUrl: string;
  readonly signIn: SignInKind;
  readonly sleeperFunctionName?: string;
  readonly sweeperFunctionName?: string;
  readonly deletionRoleArn?: string;
  readonly topicArn?: string;
  readonly auditLogGroup: string;
  readonly maxKeepDays: number;
  readonly destroyClaim?: string;
  readonly destroyClaimValues: readonly string[];
  readonly maxStagings?: number;
}

/** The configuration, or an error naming each variable that is missing or wrong. */
export function configFromEnv(env: Record<string, string | undefined>): PageConfig {
  const problems: string[] = [];
  const required = (name: string): string => {
    const value = env[name];
    if (!value) problems.push(`${name} is not set`);
    return value ?? '';
  };
  const positive = (name: string, fallback?: number): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) problems.push(`${name} must be a whole number above 0 (got ${JSON.stringify(raw)})`);
    return n;
  };
  const signIn = env[E.SIGN_IN] ?? '';
  if (!['oidc', 'cognito', 'none'].includes(signIn)) problems.push(`${E.SIGN_IN} must be oidc, cognito or none (got ${JSON.stringify(signIn)})`);
  const region = env.AWS_REGION ?? 'us-east-1';
  const domainName = required(E.DOMAIN_NAME);
  const config: PageConfig = {
    prefix: required(E.PREFIX),
    parameterPrefix: required(E.PARAMETER_PREFIX),
    domainName,
    origin: stagingsPageUrl(domainName),
    loadBalancerArn: required(E.LOAD_BALANCER_ARN),
    keysUrl: env[E.PUBLIC_KEYS_URL] || `https://public-keys.auth.elb.${region}.amazonaws.com`,
    signIn: signIn as SignInKind,
    sleeperFunctionName: env[E.SLEEPER_FUNCTION_NAME] || undefined,
    sweeperFunctionName: env[E.SWEEPER_FUNCTION_NAME] || undefined,
    deletionRoleArn: env[E.DELETION_ROLE_ARN] || undefined,
    topicArn: env[E.NOTIFICATION_TOPIC_ARN] || undefined,
    auditLogGroup: required(E.AUDIT_LOG_GROUP),
    maxKeepDays: positive(E.MAX_KEEP_DAYS, DEFAULT_MAX_KEEP_DAYS)!,
    destroyClaim: env[E.DESTROY_CLAIM] || undefined,
    destroyClaimValues: (env[E.DESTROY_CLAIM_VALUES] ?? '').split(',').map((v) => v.trim()).filter(Boolean),
    maxStagings: positive(E.MAX_STAGINGS),
  };
  if (problems.length) throw new Error(`The stagings page is misconfigured: ${problems.join('; ')}. SharedStaging sets these; deploy the shared stack again.`);
  return config;
}

/** Whether destroy is offered at all: a claim, its values, the deletion role and the topic. */
export function destroyEnabled(config: PageConfig): boolean {
  return Boolean(config.destroyClaim && config.destroyClaimValues.length && config.deletionRoleArn && config.topicArn);
}
