/**
 * The one reader of `staging list` and the stagings page (lib/contract/stagings-view.ts): the rows
 * from raw inputs, the cost from the StagingCostPerDay output (as costSummary writes it), and the
 * reader over its sources.
 */
import { costSummary, priceTemplate } from '../lib/contract/cost/model';
import { BranchStatePaths } from '../lib/contract/branch-state';
import { StagingNames } from '../lib/contract/naming';
import {
  branchStateOf, invocationAnswer, parseCostSummary, readStagings, stagingRows, stagingsOf, stateOf, type StackDescription, type SweepReportView,
} from '../lib/contract/stagings-view';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const paths = new BranchStatePaths('/staging');

function stack(branch: string, o: { status?: string; kind?: string; cost?: string; updated?: Date; outputs?: Record<string, string> } = {}): StackDescription {
  const n = StagingNames.fromBranch(branch, 'staging');
  return {
    StackName: n.stackName,
    StackId: `arn:aws:cloudformation:eu-west-1:123456789012:stack/${n.stackName}/uuid`,
    StackStatus: o.status ?? 'UPDATE_COMPLETE',
    CreationTime: new Date('2026-11-28T12:00:00Z'),
    LastUpdatedTime: o.updated,
    Tags: [
      { Key: 'staging:kind', Value: o.kind ?? 'feature' },
      { Key: 'staging:name', Value: n.name },
      { Key: 'staging:prefix', Value: 'staging' },
      { Key: 'staging:branch', Value: n.branchTagValue },
    ],
    Outputs: [
      ...(o.cost ? [{ OutputKey: 'StagingCostPerDay', OutputValue: o.cost }] : []),
      ...Object.entries(o.outputs ?? {}).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
    ],
  };
}
const name = (branch: string) => StagingNames.fromBranch(branch, 'staging').name;

describe('parseCostSummary', () => {
  test('reads what costSummary writes, with or without what has no price', () => {
    const template = { Resources: { Task: { Type: 'AWS::ECS::TaskDefinition', Properties: { Cpu: '256', Memory: '512' } }, Web: { Type: 'AWS::ECS::Service', Properties: { TaskDefinition: { Ref: 'Task' }, DesiredCount: 1 } } } };
    const cost = priceTemplate(template, 'eu-west-1');
    expect(parseCostSummary(costSummary(cost))).toEqual({ awake: Number(cost.awakePerDay.toFixed(2)), asleep: Number(cost.asleepPerDay.toFixed(2)) });
    expect(parseCostSummary('$1.57/day awake, $0.95/day asleep (eu-west-1, prices as of 2026-09-29); no price for AWS::X in mars-1')).toEqual({ awake: 1.57, asleep: 0.95 });
    expect(parseCostSummary(undefined)).toBeUndefined();
    expect(parseCostSummary('soon')).toBeUndefined();
  });
});

describe('stagingRows', () => {
  const stacks = [
    stack('feature/login', { cost: '$1.57/day awake, $0.95/day asleep (eu-west-1, prices as of 2026-09-29)', updated: new Date('2026-12-06T12:00:00Z') }),
    stack('fix/typo', { kind: 'feature-lite', cost: '$0.40/day awake, $0.10/day asleep (eu-west-1, prices as of 2026-09-29)' }),
    stack('feature/gone', { status: 'DELETE_COMPLETE' }),
    { StackName: 'staging-shared', Tags: [{ Key: 'staging:kind', Value: 'shared' }, { Key: 'staging:prefix', Value: 'staging' }] },
  ];
  const state = branchStateOf(paths, {
    pins: [{ name: paths.pins.of(name('feature/login')), value: '2026-12-10' }, { name: paths.pins.of(name('fix/typo')), value: 'soon' }],
    keepAlives: [{ name: paths.keepAlives.of(name('feature/login')), value: '2026-12-07T11:00:00Z' }],
    sleep: [{ name: paths.sleepStates.of(name('fix/typo')), value: JSON.stringify({ state: 'sleeping', since: '2026-12-07T09:00:00Z' }) }],
  }, NOW);
  const plan: SweepReportView = {
    dryRun: true,
    stagings: [{ stagingName: name('fix/typo'), branch: 'fix/typo', action: 'warn', reason: 'idle', lastActivity: '2026-12-01T00:00:00.000Z', lastActivitySource: 'request', deleteAt: '2026-12-08T12:00:00.000Z' }],
  };

  test('one row per live branch staging, the most recently active first, with state, pin, plan and cost at the state', () => {
    const rows = stagingRows({ stagings: stagingsOf(stacks, 'staging'), state, plan, parameterPrefix: '/staging' });
    expect(rows.map((r) => [r.branch, r.kind, r.state, r.stateSince, r.pinnedUntil, r.costPerDay, r.lastActivity, r.deployedAt])).toEqual([
      ['feature/login', 'full', 'awake', undefined, '2026-12-10', 1.57, '2026-12-07T11:00:00.000Z', '2026-12-06T12:00:00.000Z'],
      ['fix/typo', 'lite', 'sleeping', '2026-12-07T09:00:00Z', undefined, 0.1, '2026-12-01T00:00:00.000Z', '2026-11-28T12:00:00.000Z'],
    ]);
    expect(rows[1].sweeper).toEqual({ action: 'warn', reason: 'idle', deleteAt: '2026-12-08T12:00:00.000Z', idleAt: undefined });
    expect(rows[1].problems).toEqual([`the pin /staging/pins/${name('fix/typo')} has the value "soon", which is not a date (YYYY-MM-DD): kept (fail closed)`]);
    expect(rows[1].cost).toEqual({ awake: 0.4, asleep: 0.1 });
  });

  test('the last deploy\'s commit, pull request and image come from the stack\'s outputs; a stack without them has none', () => {
    const image = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:3f2a1bc0d9e8';
    const informed = stack('feature/login', { outputs: { StagingCommit: '3f2a1bc0d9e8', StagingPullRequest: '12', StagingImage: image } });
    const rows = stagingRows({ stagings: stagingsOf([informed, stack('fix/typo')], 'staging'), state, parameterPrefix: '/staging' });
    const byBranch = Object.fromEntries(rows.map((r) => [r.branch, r]));
    expect(byBranch['feature/login']).toMatchObject({ commit: '3f2a1bc0d9e8', pullRequest: '12', image });
    expect(Object.keys(byBranch['fix/typo'])).not.toEqual(expect.arrayContaining(['commit']));
    expect([byBranch['fix/typo'].commit, byBranch['fix/typo'].pullRequest, byBranch['fix/typo'].image]).toEqual([undefined, undefined, undefined]);
    // `staging list --json` prints the rows as they are.
    expect(JSON.parse(JSON.stringify(byBranch['feature/login']))).toMatchObject({ commit: '3f2a1bc0d9e8', pullRequest: '12', image });
  });

  test('the stack status wins over the sleep state', () => {
    expect(stateOf('UPDATE_IN_PROGRESS', 'sleeping')).toBe('deploying');
    expect(stateOf('DELETE_IN_PROGRESS', 'awake')).toBe('deleting');
    expect(stateOf('UPDATE_ROLLBACK_COMPLETE', 'sleeping')).toBe('sleeping');
    expect(stateOf('ROLLBACK_COMPLETE', undefined)).toBe('failed');
  });
});

describe('readStagings', () => {
  test('reads the three folders and the plan at once; a failed plan is a problem, not a failure', async () => {
    const read: string[] = [];
    const result = await readStagings({
      stacks: async () => [stack('feature/login')],
      parametersBelow: async (root) => (read.push(root), []),
      sweeperPlan: async () => {
        throw new Error('AccessDenied');
      },
    }, { prefix: 'staging', parameterPrefix: '/staging/', nowMs: NOW });
    expect(read.sort()).toEqual(['/staging/keep-alive', '/staging/pins', '/staging/sleep']);
    expect(result.planProblem).toBe('AccessDenied');
    expect(stagingRows(result)[0].state).toBe('awake');
  });

  test('no branch staging: nothing more is read', async () => {
    const result = await readStagings({ stacks: async () => [], parametersBelow: async () => fail('read') }, { prefix: 'staging', parameterPrefix: '/staging', nowMs: NOW });
    expect(result.stagings).toEqual([]);
  });
});

test('invocationAnswer: the result, or the handler\'s own message', () => {
  const bytes = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
  expect(invocationAnswer(bytes({ ok: 1 }), undefined)).toMatchObject({ result: { ok: 1 } });
  expect(invocationAnswer(bytes({ errorMessage: 'refused: bad key' }), 'Unhandled')).toMatchObject({ error: 'refused: bad key' });
  expect(invocationAnswer(bytes('Task timed out'), 'Unhandled')).toMatchObject({ error: 'Task timed out' });
  expect(invocationAnswer(bytes('not json'), undefined).result).toBeUndefined();
});
