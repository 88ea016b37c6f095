/**
 * The staging sweeper: deletes feature stagings that nobody has used for a while, after warning.
 *
 * Invoked by its schedule (an EventBridge event: a normal run) or by hand:
 *   aws lambda invoke --function-name <fn> --cli-binary-format raw-in-base64-out \
 *     --payload '{"dryRun": true}' report.json
 * returns the full report of what a run would do, making no mutating call at all. A manual
 * `{"dryRun": false}` cannot override a sweeper deployed with dryRun.
 *
 * Configuration (environment, set by the StagingSweeper construct):
 * - STAGING_PREFIX: stack-name prefix; feature stacks are `<prefix>-<staging name>`.
 * - PARAMETER_PREFIX: SSM path, e.g. `/staging` (pins, keep-alives and the sweeper's state below it).
 * - IDLE_TIMEOUT_SECONDS, WARNING_PERIOD_SECONDS.
 * - DRY_RUN, RETAIN_RESOURCES_ON_DELETE_FAILED: `true` or `false`.
 * - TOPIC_ARN, DELETION_ROLE_ARN, ACCOUNT_ID, METRIC_NAMESPACE; AWS_REGION comes from Lambda.
 * - CONCURRENCY (optional, default 8): stacks worked on at the same time.
 */
import { SweepReport, SweeperConfig } from './model';
import { sweep } from './sweep';

export interface SweepEvent {
  /** `true` (or `"true"`): preview only. */
  readonly dryRun?: boolean | string;
  readonly [key: string]: unknown;
}

export async function handler(event: SweepEvent | undefined): Promise<SweepReport> {
  const config = configFromEnvironment(process.env, event);
  return sweep(config, Date.now());
}

export function configFromEnvironment(env: Record<string, string | undefined>, event?: SweepEvent): SweeperConfig {
  const problems: string[] = [];
  const text = (name: string): string => {
    const v = env[name];
    if (v === undefined || v.trim() === '') problems.push(`environment variable ${name} is missing`);
    return (v ?? '').trim();
  };
  const seconds = (name: string): number => {
    const v = Number(text(name));
    if (!Number.isFinite(v) || v <= 0) problems.push(`environment variable ${name} must be a positive number of seconds (got ${JSON.stringify(env[name])})`);
    return v * 1000;
  };
  const flag = (name: string): boolean => {
    const v = (env[name] ?? 'false').trim();
    if (v !== 'true' && v !== 'false') problems.push(`environment variable ${name} must be "true" or "false" (got ${JSON.stringify(v)})`);
    return v === 'true';
  };
  let manualDryRun = false;
  const requested = event?.dryRun;
  if (requested !== undefined) {
    if (requested === true || requested === 'true') manualDryRun = true;
    else if (requested !== false && requested !== 'false') {
      problems.push(`the event's dryRun must be true or false (got ${JSON.stringify(requested)}); invoke with {"dryRun": true} to preview`);
    }
  }
  const config: SweeperConfig = {
    prefix: text('STAGING_PREFIX'),
    parameterPrefix: text('PARAMETER_PREFIX').replace(/\/+$/, ''),
    idleTimeoutMs: seconds('IDLE_TIMEOUT_SECONDS'),
    warningPeriodMs: seconds('WARNING_PERIOD_SECONDS'),
    dryRun: flag('DRY_RUN') || manualDryRun,
    retainResourcesOnDeleteFailed: flag('RETAIN_RESOURCES_ON_DELETE_FAILED'),
    topicArn: text('TOPIC_ARN'),
    deletionRoleArn: text('DELETION_ROLE_ARN'),
    account: text('ACCOUNT_ID'),
    region: text('AWS_REGION'),
    metricNamespace: text('METRIC_NAMESPACE'),
    concurrency: Number(env.CONCURRENCY ?? 8) || 8,
  };
  if (problems.length === 0 && config.warningPeriodMs >= config.idleTimeoutMs) {
    problems.push('WARNING_PERIOD_SECONDS must be shorter than IDLE_TIMEOUT_SECONDS');
  }
  if (problems.length) {
    throw new Error(`The sweeper is misconfigured and did nothing: ${problems.join('; ')}. Redeploy the StagingSweeper construct.`);
  }
  return config;
}
