/**
 * The StagingSweeper construct gives its function exactly the environment the handler reads
 * (lib/contract/sweeper.ts), and the event the handler recognises.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { parseEvent } from '../lambda/sweeper/index';
import { StagingSweeper } from '../lib/staging-sweeper';
import { ScheduledEvent, SweeperEnvironment } from '../lib/contract/sweeper';
import { SCHEDULED_EVENT } from './lambda/sweeper-fixtures';
import { formatFindings, testApp, validationFindings } from './util/validate';

function synth() {
  const app = testApp();
  const stack = new Stack(app, 'Shared', { env: { account: '123456789012', region: 'eu-west-1' } });
  const sweeper = new StagingSweeper(stack, 'Sweeper', { idleTimeout: Duration.days(5), schedule: Duration.minutes(30) });
  return { app, sweeper, template: Template.fromStack(stack) };
}

describe('the sweeper contract', () => {
  const { app, template } = synth();
  const fn = Object.values(template.findResources('AWS::Lambda::Function')).find((f) => f.Properties.Environment?.Variables?.[SweeperEnvironment.STAGING_PREFIX])!;
  const variables: Record<string, unknown> = fn.Properties.Environment.Variables;

  test('the function gets every variable of the contract (CONCURRENCY is optional) and nothing else', () => {
    const expected = Object.values(SweeperEnvironment).filter((n) => n !== SweeperEnvironment.CONCURRENCY);
    expect(Object.keys(variables).sort()).toEqual([...expected].sort());
  });

  test('RUN_TIMEOUT_SECONDS is the function timeout: the longest a run can last', () => {
    expect(variables[SweeperEnvironment.RUN_TIMEOUT_SECONDS]).toBe(String(fn.Properties.Timeout));
    expect(fn.Properties.Timeout).toBe(900);
  });

  test('DRY_RUN is always set, to "true" or "false"', () => {
    expect(variables[SweeperEnvironment.DRY_RUN]).toBe('false');
  });

  test('the schedule sends the whole EventBridge event (no input), which the handler recognises', () => {
    const [rule] = Object.values(template.findResources('AWS::Events::Rule'));
    expect(rule.Properties.ScheduleExpression).toBe('rate(30 minutes)');
    expect(rule.Properties.Targets).toHaveLength(1);
    const target = rule.Properties.Targets[0];
    expect(target.Input ?? target.InputPath ?? target.InputTransformer).toBeUndefined();
    expect(SCHEDULED_EVENT).toMatchObject({ source: ScheduledEvent.SOURCE, 'detail-type': ScheduledEvent.DETAIL_TYPE });
    expect(parseEvent(SCHEDULED_EVENT)).toEqual({ dryRun: false });
  });

  test('no findings', () => {
    expect(formatFindings(validationFindings(app))).toEqual([]);
  });
});
