/**
 * The contract of the stagings page (lambda/stagings-page/, wired by SharedStaging): the page every
 * signed-in member of the team opens at `https://<STAGINGS_PAGE_LABEL>.<domain>` to find, open,
 * wake, sleep, keep and (when allowed) destroy branch stagings. A Lambda target on the shared
 * listener, behind the same lock as every branch host; branch stacks have no part in it.
 */

/** The first label of the page's host. A branch never gets it (`StagingNames.RESERVED_NAMES`). */
export const STAGINGS_PAGE_LABEL = 'stagings';

/** The page's host name under the staging domain. */
export function stagingsPageHost(domainName: string): string {
  return `${STAGINGS_PAGE_LABEL}.${domainName}`;
}

/** The page's URL under the staging domain, e.g. `https://stagings.staging.example.com`. */
export function stagingsPageUrl(domainName: string): string {
  return `https://${stagingsPageHost(domainName)}`;
}

/** The longest keep the page offers when SharedStaging does not say. */
export const DEFAULT_MAX_KEEP_DAYS = 14;

/** Environment of the page's function, set by SharedStaging. */
export const StagingsPageEnvironment = {
  /** The staging system's prefix: the branch stagings tagged with it are listed. */
  PREFIX: 'STAGING_PREFIX',
  /** The SSM parameter prefix, e.g. `/staging` (lib/contract/branch-state.ts paths). */
  PARAMETER_PREFIX: 'PARAMETER_PREFIX',
  /** The staging domain; the page's host is `stagingsPageHost(domain)`, the only accepted Origin. */
  DOMAIN_NAME: 'DOMAIN_NAME',
  /**
   * The ARN of the load balancer in front of the page: the only accepted `signer` of the
   * `x-amzn-oidc-data` token.
   */
  LOAD_BALANCER_ARN: 'LOAD_BALANCER_ARN',
  /**
   * Where the load balancer's public keys are fetched by `kid`; absent means
   * `https://public-keys.auth.elb.<AWS_REGION>.amazonaws.com`. Tests point it at a local server.
   */
  PUBLIC_KEYS_URL: 'ELB_PUBLIC_KEYS_URL',
  /** The lock's kind (lib/contract/access.ts `SignInKind`): without a sign-in the page is read-only. */
  SIGN_IN: 'SIGN_IN',
  /** The sleeper function (manual wake and sleep, as `staging wake` invokes it). */
  SLEEPER_FUNCTION_NAME: 'SLEEPER_FUNCTION_NAME',
  /**
   * The sweeper function: its settings (GetFunctionConfiguration: idle timeout, warning period) let
   * the page decide each staging's plan with the sweeper's own decision over the page's reads, as
   * the dry run `staging list` invokes would, without reading everything again.
   */
  SWEEPER_FUNCTION_NAME: 'SWEEPER_FUNCTION_NAME',
  /** The CloudFormation service role the page's DeleteStack runs with (the sweeper's deletion role). */
  DELETION_ROLE_ARN: 'DELETION_ROLE_ARN',
  /** The sweeper's SNS topic: every destroy from the page is announced there too. */
  NOTIFICATION_TOPIC_ARN: 'NOTIFICATION_TOPIC_ARN',
  /** The log group that keeps the audit records (who did what, when); the history is read from it. */
  AUDIT_LOG_GROUP: 'AUDIT_LOG_GROUP',
  /** The longest keep, in whole days. */
  MAX_KEEP_DAYS: 'MAX_KEEP_DAYS',
  /**
   * The claim of the verified identity that may allow a destroy (e.g. `groups`, `cognito:groups`);
   * absent: nobody may destroy from the page.
   */
  DESTROY_CLAIM: 'DESTROY_CLAIM',
  /** Comma-separated values of DESTROY_CLAIM that allow a destroy (any one of them). */
  DESTROY_CLAIM_VALUES: 'DESTROY_CLAIM_VALUES',
  /** `SharedStagingProps.maxStagings`, when set. */
  MAX_STAGINGS: 'MAX_STAGINGS',
} as const;

/** What a person did on the page (or the sweeper, for its own records in the history). */
export type StagingsPageAction = 'wake' | 'sleep' | 'keep' | 'unkeep' | 'destroy';

/** One audit record, written as one JSON log event in AUDIT_LOG_GROUP. */
export interface AuditRecord {
  /** ISO 8601. */
  readonly at: string;
  /** The verified identity: `email` when the token has one, else `sub`. */
  readonly who: string;
  readonly action: StagingsPageAction;
  readonly stagingName: string;
  readonly branch: string;
  /** The keep date (YYYY-MM-DD) for `keep`. */
  readonly until?: string;
  /** `done`, or the refusal or failure shown to the person. */
  readonly outcome: string;
}
