/** What the sweeper's tests share: the account, and the environment the StagingSweeper construct sets. */
import type { SweeperConfig } from '../../lambda/sweeper/model';
import type { SweeperEnvironmentVariables } from '../../lib/contract/sweeper';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
export const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/staging-sweeper-deletion`;
export const TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT}:staging-sweeper`;

/** The sweeper's environment as deployed with the defaults: 3 days idle, 24 hours warning, 15-minute runs. */
export const SWEEPER_ENV: SweeperEnvironmentVariables & { readonly AWS_REGION: string } = {
  STAGING_PREFIX: 'staging',
  PARAMETER_PREFIX: '/staging',
  IDLE_TIMEOUT_SECONDS: String(3 * 86400),
  WARNING_PERIOD_SECONDS: '86400',
  RUN_TIMEOUT_SECONDS: '900',
  DRY_RUN: 'false',
  RETAIN_RESOURCES_ON_DELETE_FAILED: 'false',
  TOPIC_ARN,
  DELETION_ROLE_ARN: ROLE_ARN,
  ACCOUNT_ID: ACCOUNT,
  AWS_REGION: REGION,
  METRIC_NAMESPACE: 'CdkMultiStaging/StagingSweeper',
};

/** The configuration the handler reads from SWEEPER_ENV (concurrency 4). */
export const SWEEPER_CONFIG: SweeperConfig = {
  prefix: 'staging',
  parameterPrefix: '/staging',
  idleTimeoutMs: 3 * 24 * 3600_000,
  warningPeriodMs: 24 * 3600_000,
  runTimeoutMs: 15 * 60_000,
  dryRun: false,
  retainResourcesOnDeleteFailed: false,
  topicArn: TOPIC_ARN,
  deletionRoleArn: ROLE_ARN,
  account: ACCOUNT,
  region: REGION,
  metricNamespace: 'CdkMultiStaging/StagingSweeper',
  concurrency: 4,
};

/** What the StagingSweeper's EventBridge rule delivers (a target without `input`). */
export const SCHEDULED_EVENT = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: ACCOUNT,
  time: '2026-05-10T12:00:00Z',
  region: REGION,
  resources: [`arn:aws:events:${REGION}:${ACCOUNT}:rule/SharedStack-SweeperSchedule0123ABCD-0123456789AB`],
  detail: {},
};
