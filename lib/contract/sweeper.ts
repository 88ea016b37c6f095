/**
 * The contract between the StagingSweeper construct (lib/staging-sweeper.ts) and its handler
 * (lambda/sweeper): the names of the function's environment variables and the keys of the event
 * it accepts. Both sides import these names, so renaming or adding one is a compile error on the
 * side that has not followed. No imports, so the handler bundle reads it without aws-cdk-lib
 * (like lib/contract/staging.ts). Internal: not exported from the package.
 */

/** Environment variables of the sweeper function. */
export const SweeperEnvironment = {
  /** Stack-name prefix: feature stacks are `<prefix>-<staging name>`. */
  STAGING_PREFIX: 'STAGING_PREFIX',
  /** SSM path of pins, keep-alives and the sweeper's state, e.g. `/staging`. */
  PARAMETER_PREFIX: 'PARAMETER_PREFIX',
  IDLE_TIMEOUT_SECONDS: 'IDLE_TIMEOUT_SECONDS',
  WARNING_PERIOD_SECONDS: 'WARNING_PERIOD_SECONDS',
  /**
   * The function's timeout: the longest a run can last. A warning claimed longer ago than this and
   * never marked delivered was left by a run that died; it is withdrawn and sent afresh.
   */
  RUN_TIMEOUT_SECONDS: 'RUN_TIMEOUT_SECONDS',
  /** `true` or `false`; required (unset or anything else: the function refuses to run). */
  DRY_RUN: 'DRY_RUN',
  /** `true` or `false` (default `false`). */
  RETAIN_RESOURCES_ON_DELETE_FAILED: 'RETAIN_RESOURCES_ON_DELETE_FAILED',
  TOPIC_ARN: 'TOPIC_ARN',
  DELETION_ROLE_ARN: 'DELETION_ROLE_ARN',
  ACCOUNT_ID: 'ACCOUNT_ID',
  METRIC_NAMESPACE: 'METRIC_NAMESPACE',
  /** Optional (default 8): stacks worked on at the same time. */
  CONCURRENCY: 'CONCURRENCY',
} as const;

type SweeperEnvironmentName = (typeof SweeperEnvironment)[keyof typeof SweeperEnvironment];
type OptionalName = typeof SweeperEnvironment.CONCURRENCY;

/** The variables the construct sets: every one of them, except the optional ones. */
export type SweeperEnvironmentVariables = { readonly [K in Exclude<SweeperEnvironmentName, OptionalName>]: string } & {
  readonly [K in OptionalName]?: string;
};

/** Keys of a manual invocation's event: `{"dryRun": true}`. Any other key is refused. */
export const SweeperEventKeys = {
  /** `true` (or `"true"`): preview only, no mutating call. `false` cannot override a dry-run deployment. */
  DRY_RUN: 'dryRun',
} as const;

/**
 * The event the schedule sends: an EventBridge rule target without an `input`, so the whole
 * EventBridge event (https://docs.aws.amazon.com/lambda/latest/dg/with-scheduled-events.html).
 * The handler recognises it by source and detail-type and refuses one carrying any other key.
 */
export const ScheduledEvent = {
  SOURCE: 'aws.events',
  DETAIL_TYPE: 'Scheduled Event',
  KEYS: ['version', 'id', 'detail-type', 'source', 'account', 'time', 'region', 'resources', 'detail'],
} as const;
