/**
 * The staging sweeper: deletes feature stagings that nobody has used for a while, after warning.
 *
 * Invoked by its schedule (the EventBridge "Scheduled Event": a normal run) or by hand:
 *   aws lambda invoke --function-name <fn> --cli-binary-format raw-in-base64-out \
 *     --payload '{"dryRun": true}' report.json
 * returns the full report of what a run would do, making no mutating call at all. A manual
 * `{"dryRun": false}` cannot override a sweeper deployed with dryRun. An event with any other key
 * (`{"DryRun": true}`, `{"dry_run": true}`, ...) is refused: the run does nothing and fails,
 * naming the key it knows.
 *
 * Configuration: the environment variables of lib/contract/sweeper.ts, set by the StagingSweeper
 * construct; AWS_REGION comes from Lambda. Missing or unreadable values (DRY_RUN included) refuse
 * to run.
 */
import { ScheduledEvent, SweeperEnvironment as Env, SweeperEventKeys } from '../../lib/contract/sweeper';
import { manualInvocation } from '../shared/invocation';
import { entry } from '../shared/entry';
import { SweepReport, SweeperConfig } from './model';
import { sweep } from './sweep';

async function handleSweep(event: unknown): Promise<SweepReport> {
  const { dryRun } = parseEvent(event);
  const config = configFromEnvironment(process.env);
  return sweep(dryRun ? { ...config, dryRun: true } : config, Date.now());
}
export const handler = entry('sweeper.handler', handleSweep);

/**
 * What the event asks for. Fails closed: anything the handler does not know is refused rather
 * than ignored, so a mistyped `dryRun` can never turn a preview into a real run.
 */
export function parseEvent(event: unknown): { readonly dryRun: boolean } {
  const refuse = (why: string): never => {
    throw new Error(
      `The sweeper refused the event and did nothing: ${why}. Invoke it with {"${SweeperEventKeys.DRY_RUN}": true} to preview a run, ` +
        `or {} (or {"${SweeperEventKeys.DRY_RUN}": false}) to run it now; its schedule sends an EventBridge "${ScheduledEvent.DETAIL_TYPE}".`,
    );
  };
  const e = manualInvocation(event, Object.values(SweeperEventKeys), refuse);
  if (!e) return { dryRun: false };
  const requested = e[SweeperEventKeys.DRY_RUN];
  if (requested === undefined || requested === false || requested === 'false') return { dryRun: false };
  if (requested === true || requested === 'true') return { dryRun: true };
  return refuse(`"${SweeperEventKeys.DRY_RUN}" must be true or false (got ${JSON.stringify(requested)})`);
}

export function configFromEnvironment(env: Record<string, string | undefined>): SweeperConfig {
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
  const flag = (name: string, unset?: 'false'): boolean => {
    const v = (env[name] ?? unset ?? '').trim();
    if (v !== 'true' && v !== 'false') problems.push(`environment variable ${name} must be "true" or "false" (got ${JSON.stringify(env[name])})`);
    return v === 'true';
  };
  const config: SweeperConfig = {
    prefix: text(Env.STAGING_PREFIX),
    parameterPrefix: text(Env.PARAMETER_PREFIX).replace(/\/+$/, ''),
    idleTimeoutMs: seconds(Env.IDLE_TIMEOUT_SECONDS),
    warningPeriodMs: seconds(Env.WARNING_PERIOD_SECONDS),
    runTimeoutMs: seconds(Env.RUN_TIMEOUT_SECONDS),
    // No default: a sweeper that cannot tell whether it is a dry run does not run.
    dryRun: flag(Env.DRY_RUN),
    retainResourcesOnDeleteFailed: flag(Env.RETAIN_RESOURCES_ON_DELETE_FAILED, 'false'),
    topicArn: text(Env.TOPIC_ARN),
    deletionRoleArn: text(Env.DELETION_ROLE_ARN),
    account: text(Env.ACCOUNT_ID),
    region: text('AWS_REGION'),
    metricNamespace: text(Env.METRIC_NAMESPACE),
    concurrency: Number(env[Env.CONCURRENCY] ?? 8) || 8,
  };
  if (problems.length === 0 && config.warningPeriodMs >= config.idleTimeoutMs) {
    problems.push(`${Env.WARNING_PERIOD_SECONDS} must be shorter than ${Env.IDLE_TIMEOUT_SECONDS}`);
  }
  if (problems.length) {
    throw new Error(`The sweeper is misconfigured and did nothing: ${problems.join('; ')}. Redeploy the StagingSweeper construct.`);
  }
  return config;
}
