import { CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { decide, NOT_COUNTED_STATUSES, onEvent } from '../../lambda/staging-quota';
import { capOf } from '../../lib/contract/providers/staging-quota';
import type { OnEventRequest, RequestType } from '../../lambda/shared/provider';
import { StagingKinds, TagKeys } from '../../lib/contract/staging';
import { StagingNames } from '../../lib/contract/naming';
import { ResourceTypes, StagingQuotaEnvironment } from '../../lib/contract/providers';

const cfnMock = mockClient(CloudFormationClient);
const ACCOUNT = '123456789012';
const PREFIX = 'staging';
const stackId = (name: string, n = 1) => `arn:aws:cloudformation:eu-west-1:${ACCOUNT}:stack/${name}/0a1b2c3d-0000-0000-0000-${String(n).padStart(12, '0')}`;

/** A branch staging's stack as DescribeStacks returns it (tagged as the constructs tag it). */
function staging(branch: string, overrides: Omit<Partial<Stack>, 'StackStatus'> & { StackStatus?: string; kind?: string; prefix?: string } = {}): Stack {
  const { kind = StagingKinds.FEATURE, prefix = PREFIX, ...rest } = overrides;
  const names = StagingNames.fromBranch(branch, prefix);
  return {
    StackName: names.stackName,
    StackId: stackId(names.stackName),
    StackStatus: 'CREATE_COMPLETE',
    CreationTime: new Date('2026-12-01T10:00:00Z'),
    Tags: [
      { Key: TagKeys.KIND, Value: kind },
      { Key: TagKeys.NAME, Value: names.name },
      { Key: TagKeys.BRANCH, Value: names.branchTagValue },
      { Key: TagKeys.PREFIX, Value: prefix },
    ],
    ...rest,
  } as Stack;
}

/** `s` in another status (DescribeStacks' StackStatus is a string union; tests use plain strings). */
const withStatus = (s: Stack, status: string): Stack => ({ ...s, StackStatus: status }) as Stack;

const SELF = StagingNames.fromBranch('feature/new', PREFIX);
/** The stack being deployed, as DescribeStacks shows it during its first deploy. */
const self = (status = 'CREATE_IN_PROGRESS') => staging('feature/new', { StackStatus: status });

function event(type: RequestType, extra: Partial<OnEventRequest> = {}): OnEventRequest {
  return {
    RequestType: type,
    StackId: stackId(SELF.stackName),
    RequestId: 'r-1',
    LogicalResourceId: 'StagingBranchQuota',
    ResourceType: ResourceTypes.STAGING_QUOTA,
    ResourceProperties: { StagingName: SELF.name, Branch: SELF.branch },
    ...(type === 'Create' ? {} : { PhysicalResourceId: `staging-quota:${SELF.name}` }),
    ...extra,
  };
}

function stacksAre(...stacks: Stack[]): void {
  cfnMock.on(DescribeStacksCommand).resolves({ Stacks: stacks });
}

const EXISTING = [staging('feature/a'), staging('fix/b_c', { kind: StagingKinds.FEATURE_LITE })];

beforeEach(() => {
  cfnMock.reset();
  process.env[StagingQuotaEnvironment.PREFIX] = PREFIX;
  process.env[StagingQuotaEnvironment.MAX_STAGINGS] = '3';
});

afterAll(() => {
  delete process.env[StagingQuotaEnvironment.PREFIX];
  delete process.env[StagingQuotaEnvironment.MAX_STAGINGS];
});

describe('Create', () => {
  test('under the cap: passes, with a physical ID from the staging name', async () => {
    stacksAre(self(), ...EXISTING);
    await expect(onEvent(event('Create'))).resolves.toEqual({ PhysicalResourceId: `staging-quota:${SELF.name}` });
    expect(cfnMock.commandCalls(DescribeStacksCommand)).toHaveLength(1);
  });

  test('at the cap: fails, naming the cap, every staging there is and how to free one', async () => {
    const third = staging('feature/c', { StackStatus: 'UPDATE_COMPLETE' });
    stacksAre(self(), ...EXISTING, third);
    const error: Error = await onEvent(event('Create')).then(() => new Error('passed'), (e) => e);
    expect(error.message).toMatch(/^The staging cap is reached: maxStagings is 3 and 3 branch staging\(s\) of prefix "staging" exist: /);
    for (const s of [...EXISTING, third]) {
      const name = s.Tags!.find((t) => t.Key === TagKeys.NAME)!.Value!;
      const branch = StagingNames.fromBranch(s === third ? 'feature/c' : s === EXISTING[0] ? 'feature/a' : 'fix/b_c').branch;
      expect(error.message).toContain(`${branch} (${PREFIX}-${name}, ${s.StackStatus})`);
    }
    expect(error.message).toContain('Free one with `npx staging list` and `npx staging destroy <branch>`');
    expect(error.message).toContain('Nothing of this branch was created');
    expect(error.message).not.toContain(SELF.stackName);
  });

  test('above the cap (lowered since): fails too', async () => {
    process.env[StagingQuotaEnvironment.MAX_STAGINGS] = '1';
    stacksAre(self(), ...EXISTING);
    await expect(onEvent(event('Create'))).rejects.toThrow(/maxStagings is 1 and 2 branch staging\(s\)/);
  });

  test('without a cap: passes without listing a single stack', async () => {
    delete process.env[StagingQuotaEnvironment.MAX_STAGINGS];
    await expect(onEvent(event('Create'))).resolves.toEqual({ PhysicalResourceId: `staging-quota:${SELF.name}` });
    process.env[StagingQuotaEnvironment.MAX_STAGINGS] = '';
    await expect(onEvent(event('Create'))).resolves.toEqual({ PhysicalResourceId: `staging-quota:${SELF.name}` });
    expect(cfnMock.commandCalls(DescribeStacksCommand)).toHaveLength(0);
  });

  test('in a stack that exists already (a branch deployed before the cap): passes even far above the cap', async () => {
    process.env[StagingQuotaEnvironment.MAX_STAGINGS] = '1';
    for (const status of ['UPDATE_IN_PROGRESS', 'IMPORT_IN_PROGRESS']) {
      stacksAre(self(status), ...EXISTING);
      await expect(onEvent(event('Create'))).resolves.toEqual({ PhysicalResourceId: `staging-quota:${SELF.name}` });
    }
  });

  test('a replayed Create gives the same answer and the same physical ID', async () => {
    stacksAre(self(), ...EXISTING);
    const first = await onEvent(event('Create'));
    expect(await onEvent(event('Create', { RequestId: 'r-2' }))).toEqual(first);
    stacksAre(self(), ...EXISTING, staging('feature/c'));
    await expect(onEvent(event('Create'))).rejects.toThrow(/cap is reached/);
    await expect(onEvent(event('Create', { RequestId: 'r-2' }))).rejects.toThrow(/cap is reached/);
  });

  test('reads every page of DescribeStacks', async () => {
    const pages: Record<string, { Stacks: Stack[]; NextToken?: string }> = {
      first: { Stacks: [self(), EXISTING[0]], NextToken: 'page-2' },
      'page-2': { Stacks: [EXISTING[1]], NextToken: 'page-3' },
      'page-3': { Stacks: [staging('feature/c')] },
    };
    // The paginator reuses its input object, so the tokens are recorded as each call is made.
    const tokens: Array<string | undefined> = [];
    cfnMock.on(DescribeStacksCommand).callsFake((input) => {
      tokens.push(input.NextToken);
      return pages[input.NextToken ?? 'first'];
    });
    await expect(onEvent(event('Create'))).rejects.toThrow(/3 branch staging\(s\).*feature\/c/);
    expect(tokens).toEqual([undefined, 'page-2', 'page-3']);
  });

  test('a failed DescribeStacks fails the Create with what failed and that nothing was created', async () => {
    cfnMock.on(DescribeStacksCommand).rejects(Object.assign(new Error('User is not authorized to perform: cloudformation:DescribeStacks'), { name: 'AccessDenied' }));
    await expect(onEvent(event('Create'))).rejects.toThrow(
      /Could not count the branch stagings \(cloudformation:DescribeStacks failed: AccessDenied: User is not authorized.*\); nothing of this branch was created, deploy again/,
    );
  });

  test('a bad MAX_STAGINGS or a missing prefix fails with the fix', async () => {
    process.env[StagingQuotaEnvironment.MAX_STAGINGS] = '0';
    await expect(onEvent(event('Create'))).rejects.toThrow(/MAX_STAGINGS of the staging-quota provider must be a whole number >= 1 \(got "0"\); set maxStagings on SharedStaging/);
    process.env[StagingQuotaEnvironment.MAX_STAGINGS] = '3';
    delete process.env[StagingQuotaEnvironment.PREFIX];
    await expect(onEvent(event('Create'))).rejects.toThrow(/QUOTA_PREFIX is not set/);
  });

  test('fails without StagingName', async () => {
    await expect(onEvent(event('Create', { ResourceProperties: {} }))).rejects.toThrow(/Missing required property 'StagingName'/);
  });
});

describe('Update and Delete', () => {
  test('Update never fails on the cap and keeps the physical ID, without listing stacks', async () => {
    process.env[StagingQuotaEnvironment.MAX_STAGINGS] = '1';
    stacksAre(self('UPDATE_IN_PROGRESS'), ...EXISTING, staging('feature/c'));
    await expect(onEvent(event('Update', { PhysicalResourceId: 'staging-quota:older-id' }))).resolves.toEqual({ PhysicalResourceId: 'staging-quota:older-id' });
    expect(cfnMock.commandCalls(DescribeStacksCommand)).toHaveLength(0);
  });

  test('Delete is a no-op success, also replayed', async () => {
    cfnMock.on(DescribeStacksCommand).rejects(new Error('must not be called'));
    for (let i = 0; i < 2; i++) {
      await expect(onEvent(event('Delete'))).resolves.toEqual({ PhysicalResourceId: `staging-quota:${SELF.name}` });
    }
    expect(cfnMock.commandCalls(DescribeStacksCommand)).toHaveLength(0);
  });
});

describe('decide: what counts', () => {
  const input = { prefix: PREFIX, cap: 10, stackId: stackId(SELF.stackName) };
  const counted = (...stacks: Stack[]) => decide(stacks, input).counted.map((c) => c.stackName);

  test('the stack being deployed never counts, whatever its status', () => {
    expect(counted(self(), ...EXISTING)).toEqual(EXISTING.map((s) => s.StackName).sort());
    expect(counted(self('UPDATE_IN_PROGRESS'), ...EXISTING)).toEqual(EXISTING.map((s) => s.StackName).sort());
  });

  test('a new stack (CREATE_IN_PROGRESS, or not listed at all) is checked; only an existing one (UPDATE_/IMPORT_) passes regardless', () => {
    for (const own of [[self()], [self('REVIEW_IN_PROGRESS')], []]) {
      expect(decide([...own, ...EXISTING], { ...input, cap: 2 }).allowed).toBe(false);
    }
    expect(decide([self('UPDATE_IN_PROGRESS'), ...EXISTING], { ...input, cap: 2 }).allowed).toBe(true);
  });

  test('a former stack of the same name (another stack ID) counts like any other', () => {
    const former = { ...self('DELETE_FAILED'), StackId: stackId(SELF.stackName, 2) };
    expect(counted(self(), former)).toEqual([SELF.stackName]);
  });

  test('stacks of another prefix, the shared stack, untagged and misnamed stacks are ignored', () => {
    const other = staging('feature/a', { prefix: 'qa' });
    const shared: Stack = { StackName: `${PREFIX}-shared`, StackId: stackId(`${PREFIX}-shared`), StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Tags: [{ Key: TagKeys.KIND, Value: StagingKinds.SHARED }, { Key: TagKeys.PREFIX, Value: PREFIX }] };
    const untagged: Stack = { StackName: 'staging-feature-x', StackId: stackId('staging-feature-x'), StackStatus: 'CREATE_COMPLETE', CreationTime: new Date() };
    const misnamed = { ...staging('feature/m'), StackName: 'my-own-name' };
    expect(counted(self(), other, shared, untagged, misnamed, EXISTING[0])).toEqual([EXISTING[0].StackName]);
  });

  test('stacks going away or holding nothing do not count (DELETE_*, rolled-back first deploys); DELETE_FAILED, ROLLBACK_FAILED and in-progress ones do', () => {
    expect(NOT_COUNTED_STATUSES).toEqual(['DELETE_IN_PROGRESS', 'DELETE_COMPLETE', 'ROLLBACK_IN_PROGRESS', 'ROLLBACK_COMPLETE']);
    const gone = NOT_COUNTED_STATUSES.map((status, i) => staging(`gone/${i}`, { StackStatus: status }));
    const held = ['DELETE_FAILED', 'ROLLBACK_FAILED', 'CREATE_IN_PROGRESS', 'REVIEW_IN_PROGRESS', 'UPDATE_ROLLBACK_COMPLETE'].map((status, i) => staging(`held/${i}`, { StackStatus: status }));
    expect(counted(self(), ...gone, ...held)).toEqual(held.map((s) => s.StackName).sort());
  });

  test('branches are shown decoded from their tag, sorted by stack name', () => {
    const decision = decide([staging('Fix/Über+Case'), staging('feature/a')], { ...input, cap: 1 });
    expect(decision.allowed).toBe(false);
    expect(decision.counted.map((c) => c.branch).sort()).toEqual(['Fix/Über+Case', 'feature/a'].sort());
    expect(decision.counted.map((c) => c.stackName)).toEqual([...decision.counted.map((c) => c.stackName)].sort());
  });

  test('two first deploys at once, one slot left: each sees the other in progress, so they cannot both pass', () => {
    // Each check runs while its own stack is CREATE_IN_PROGRESS; the other's change set may not be executed yet.
    const a = staging('feature/a-new', { StackStatus: 'CREATE_IN_PROGRESS' });
    const b = staging('feature/b-new', { StackStatus: 'CREATE_IN_PROGRESS' });
    const existing = [staging('feature/old')];
    for (const otherStatus of ['REVIEW_IN_PROGRESS', 'CREATE_IN_PROGRESS']) {
      expect(decide([...existing, a, withStatus(b, otherStatus)], { prefix: PREFIX, cap: 2, stackId: a.StackId! }).allowed).toBe(false);
      expect(decide([...existing, withStatus(a, otherStatus), b], { prefix: PREFIX, cap: 2, stackId: b.StackId! }).allowed).toBe(false);
    }
    // Once one of them is refused and rolled back, the other (or its retry) gets the slot.
    const afterRollback = [...existing, a, withStatus(b, 'ROLLBACK_COMPLETE')];
    expect(decide(afterRollback, { prefix: PREFIX, cap: 2, stackId: a.StackId! }).allowed).toBe(true);
  });

  test('no cap: always allowed', () => {
    expect(decide([self(), ...EXISTING], { ...input, cap: undefined }).allowed).toBe(true);
  });
});

describe('capOf', () => {
  test.each([
    [undefined, undefined],
    ['', undefined],
    ['1', 1],
    ['25', 25],
  ])('%j is %j', (value, cap) => expect(capOf(value)).toBe(cap));

  test.each(['0', '-1', '2.5', 'ten'])('%j fails', (value) => expect(() => capOf(value)).toThrow(/must be a whole number >= 1/));
});
