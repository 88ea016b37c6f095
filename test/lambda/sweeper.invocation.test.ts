/**
 * How the sweeper is invoked and configured: both fail closed. An event key the handler does not
 * know, or an environment it cannot read, refuses the run instead of running it for real.
 */
import { configFromEnvironment, parseEvent } from '../../lambda/sweeper/index';
import { ScheduledEvent, SweeperEnvironment, SweeperEventKeys } from '../../lib/contract/sweeper';
import { SCHEDULED_EVENT, SWEEPER_ENV } from './sweeper-fixtures';

const DAY = 24 * 3600_000;

const env: Record<string, string | undefined> = { ...SWEEPER_ENV };

const scheduled = SCHEDULED_EVENT;

describe('parseEvent', () => {
  test.each([
    ['the schedule\'s EventBridge event', scheduled, false],
    ['no event', undefined, false],
    ['null', null, false],
    ['{}', {}, false],
    ['{"dryRun": true}', { dryRun: true }, true],
    ['{"dryRun": "true"}', { dryRun: 'true' }, true],
    ['{"dryRun": false}', { dryRun: false }, false],
    ['{"dryRun": "false"}', { dryRun: 'false' }, false],
  ])('%s is understood', (_, event, dryRun) => {
    expect(parseEvent(event)).toEqual({ dryRun });
  });

  test.each([
    [{ DryRun: true }, /unknown key "DryRun" \(did you mean "dryRun"\?\)/],
    [{ dry_run: true }, /unknown key "dry_run" \(did you mean "dryRun"\?\)/],
    [{ dryrun: true }, /unknown key "dryrun" \(did you mean "dryRun"\?\)/],
    [{ 'dry-run': 'true' }, /unknown key "dry-run" \(did you mean "dryRun"\?\)/],
    [{ dyrRun: true }, /unknown key "dyrRun" \(did you mean "dryRun"\?\)/],
    [{ dryRun: true, force: true }, /unknown key "force" \(the only key is "dryRun"\)/],
    [{ preview: true }, /unknown key "preview" \(the only key is "dryRun"\)/],
    [{ source: 'manual' }, /unknown key "source"/],
    [{ ...scheduled, dryRun: true }, /a scheduled event carries no key "dryRun"/],
    [{ dryRun: 'yes' }, /"dryRun" must be true or false \(got "yes"\)/],
    [{ dryRun: 1 }, /"dryRun" must be true or false \(got 1\)/],
    ['dryRun', /the event must be a JSON object \(got "dryRun"\)/],
    [[{ dryRun: true }], /the event must be a JSON object/],
    [true, /the event must be a JSON object \(got true\)/],
  ])('fails closed on %j', (event, message) => {
    expect(() => parseEvent(event)).toThrow(message);
    expect(() => parseEvent(event)).toThrow(/^The sweeper refused the event and did nothing: .* Invoke it with \{"dryRun": true\} to preview a run/);
  });

  test('the known keys are the contract\'s', () => {
    expect(Object.values(SweeperEventKeys)).toEqual(['dryRun']);
    expect(Object.keys(scheduled).sort()).toEqual([...ScheduledEvent.KEYS].sort());
  });
});

describe('configFromEnvironment', () => {
  test('reads the construct-provided environment', () => {
    expect(configFromEnvironment(env)).toMatchObject({
      prefix: 'staging',
      idleTimeoutMs: 3 * DAY,
      warningPeriodMs: DAY,
      runTimeoutMs: 15 * 60_000,
      dryRun: false,
      retainResourcesOnDeleteFailed: false,
      concurrency: 8,
    });
    expect(configFromEnvironment({ ...env, DRY_RUN: 'true' }).dryRun).toBe(true);
  });

  test('RETAIN_RESOURCES_ON_DELETE_FAILED unset means false', () => {
    expect(configFromEnvironment({ ...env, RETAIN_RESOURCES_ON_DELETE_FAILED: undefined }).retainResourcesOnDeleteFailed).toBe(false);
  });

  test.each([
    ['unset', undefined],
    ['empty', ''],
    ['"TRUE"', 'TRUE'],
    ['"yes"', 'yes'],
    ['"0"', '0'],
  ])('fails when DRY_RUN is %s: not knowing whether it is a dry run, it does not run', (_, value) => {
    expect(() => configFromEnvironment({ ...env, DRY_RUN: value })).toThrow(
      new RegExp(`misconfigured and did nothing: environment variable DRY_RUN must be "true" or "false" \\(got ${value === undefined ? 'undefined' : JSON.stringify(value)}\\)`),
    );
  });

  test('fails when misconfigured, naming every problem', () => {
    expect(() => configFromEnvironment({ ...env, TOPIC_ARN: undefined, IDLE_TIMEOUT_SECONDS: 'three days', RUN_TIMEOUT_SECONDS: undefined })).toThrow(
      /IDLE_TIMEOUT_SECONDS must be a positive number.*RUN_TIMEOUT_SECONDS is missing.*TOPIC_ARN is missing/,
    );
    expect(() => configFromEnvironment({ ...env, WARNING_PERIOD_SECONDS: String(4 * 86400) })).toThrow(/shorter than IDLE_TIMEOUT_SECONDS/);
  });

  test('every variable of the contract is read, and this fixture sets each the construct sets', () => {
    const required = Object.values(SweeperEnvironment).filter((n) => n !== SweeperEnvironment.CONCURRENCY);
    expect(Object.keys(env).filter((k) => k !== 'AWS_REGION').sort()).toEqual([...required].sort());
    for (const name of required.filter((n) => n !== SweeperEnvironment.RETAIN_RESOURCES_ON_DELETE_FAILED)) {
      expect(() => configFromEnvironment({ ...env, [name]: undefined })).toThrow(new RegExp(name));
    }
  });
});
