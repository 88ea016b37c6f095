import { DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { decide, NOT_COUNTED_STATUSES, onEvent } from '../../lambda/staging-quota';
import { ORPHAN_GRACE_MS } from '../../lambda/staging-quota/slots';
import { capOf } from '../../lib/contract/providers/staging-quota';
import type { OnEventRequest, RequestType } from '../../lambda/shared/provider';
import { StagingKinds, TagKeys } from '../../lib/contract/staging';
import { StagingNames } from '../../lib/contract/naming';
import { ResourceTypes, StagingQuotaEnvironment } from '../../lib/contract/providers';
import { ShardAttributes, ShardInfo, ShardRegistry, shardRegistryParameterName } from '../../lib/contract/capacity';
import { BranchStatePaths } from '../../lib/contract/branch-state';
import { FakeAws } from './staging-quota-fake';

const ACCOUNT = '123456789012';
const PREFIX = 'staging';
const PARAMETER_PREFIX = '/staging';
const paths = new BranchStatePaths(PARAMETER_PREFIX);
const stackId = (name: string, n = 1) => `arn:aws:cloudformation:eu-west-1:${ACCOUNT}:stack/${name}/0a1b2c3d-0000-0000-0000-${String(n).padStart(12, '0')}`;

const aws = new FakeAws();
/** The time of the fake's writes and of the handler's clock. */
let clock = Date.parse('2026-12-07T12:00:00Z');
const NOW = clock;

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
/** The stack being deployed, as DescribeStacks shows it during its first deploy (created a minute ago). */
const self = (status = 'CREATE_IN_PROGRESS') => staging('feature/new', { StackStatus: status, CreationTime: new Date(NOW - 60_000) });

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
  aws.stacks = stacks;
}

const EXISTING = [staging('feature/a'), staging('fix/b_c', { kind: StagingKinds.FEATURE_LITE })];

function shard(index: number, branchSlots: number): ShardInfo {
  const lb = `app/staging-shard-${index}/0123456789abcdef`;
  return {
    index,
    loadBalancerArn: `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:loadbalancer/${lb}`,
    loadBalancerFullName: lb,
    dnsName: `staging-shard-${index}-1234.eu-west-1.elb.amazonaws.com`,
    canonicalHostedZoneId: 'Z32O12XQLNTSW2',
    listenerArn: `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:listener/${lb}/fedcba9876543210`,
    wakerTargetGroupArn: `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:targetgroup/staging-waker-${index}/0011223344556677`,
    branchSlots,
  };
}

/** Two shards of 3 slots: small enough to fill in a test. */
const REGISTRY: ShardRegistry = { rulesPerBranch: 1, rulesPerLoadBalancer: 100, shards: [shard(0, 3), shard(1, 3)] };

function registryIs(registry: ShardRegistry): void {
  aws.put(shardRegistryParameterName(PARAMETER_PREFIX), JSON.stringify(registry), true);
}

/** Slot `slot` of `shardIndex` held by `holder`, written `ageMs` ago. */
function slotHeld(shardIndex: number, slot: number, holder: string, ageMs = 0): void {
  const at = clock;
  clock -= ageMs;
  aws.put(paths.capacitySlot({ shard: shardIndex, slot }), holder);
  clock = at;
}

/** Every slot in use: `<shard>/<slot>` → holder. */
function slotsInUse(): Record<string, string> {
  const root = `${PARAMETER_PREFIX}/capacity/slots/`;
  return Object.fromEntries([...aws.valuesBelow(`${PARAMETER_PREFIX}/capacity/slots`)].map(([n, v]) => [n.slice(root.length), v]));
}

const claimOf = (name: string) => aws.parameters.get(paths.capacityClaims.of(name))?.value;

/** What Create and Update answer for a branch on `index`. */
function answer(index: number) {
  const s = REGISTRY.shards[index];
  return {
    PhysicalResourceId: `staging-quota:${SELF.name}`,
    Data: {
      [ShardAttributes.SHARD]: String(index),
      [ShardAttributes.LISTENER_ARN]: s.listenerArn,
      [ShardAttributes.LOAD_BALANCER_FULL_NAME]: s.loadBalancerFullName,
      [ShardAttributes.LOAD_BALANCER_DNS_NAME]: s.dnsName,
      [ShardAttributes.CANONICAL_HOSTED_ZONE_ID]: s.canonicalHostedZoneId,
      [ShardAttributes.WAKER_TARGET_GROUP_ARN]: s.wakerTargetGroupArn,
    },
  };
}

async function failure(p: Promise<unknown>): Promise<Error> {
  return p.then(() => new Error('passed'), (e: Error) => e);
}

beforeEach(() => {
  aws.clear();
  clock = NOW;
  aws.now = () => clock;
  jest.spyOn(Date, 'now').mockImplementation(() => clock);
  process.env[StagingQuotaEnvironment.PREFIX] = PREFIX;
  process.env[StagingQuotaEnvironment.PARAMETER_PREFIX] = PARAMETER_PREFIX;
  process.env[StagingQuotaEnvironment.MAX_STAGINGS] = '3';
  registryIs(REGISTRY);
});

afterEach(() => jest.restoreAllMocks());

afterAll(() => {
  aws.restore();
  delete process.env[StagingQuotaEnvironment.PREFIX];
  delete process.env[StagingQuotaEnvironment.PARAMETER_PREFIX];
  delete process.env[StagingQuotaEnvironment.MAX_STAGINGS];
});

describe('Create: the cap', () => {
  test('under the cap: claims a slot and answers its shard, with a physical ID from the staging name', async () => {
    stacksAre(self(), ...EXISTING);
    await expect(onEvent(event('Create'))).resolves.toEqual(answer(0));
    const [[slot, holder]] = Object.entries(slotsInUse());
    expect(holder).toBe(SELF.name);
    expect(claimOf(SELF.name)).toBe(slot);
    expect(aws.calls.DescribeStacks).toBe(1);
  });

  test('at the cap: fails, naming the cap, every staging there is and how to free one; nothing is claimed', async () => {
    const third = staging('feature/c', { StackStatus: 'UPDATE_COMPLETE' });
    stacksAre(self(), ...EXISTING, third);
    const error = await failure(onEvent(event('Create')));
    expect(error.message).toMatch(/^The staging cap is reached: maxStagings is 3 and 3 branch staging\(s\) of prefix "staging" exist: /);
    for (const [s, branch] of [[EXISTING[0], 'feature/a'], [EXISTING[1], 'fix/b_c'], [third, 'feature/c']] as const) {
      const name = s.Tags!.find((t) => t.Key === TagKeys.NAME)!.Value!;
      expect(error.message).toContain(`${StagingNames.fromBranch(branch).branch} (${PREFIX}-${name}, ${s.StackStatus})`);
    }
    expect(error.message).toContain('Free one with `npx staging list` and `npx staging destroy <branch>`');
    expect(error.message).toContain('Nothing of this branch was created');
    expect(error.message).not.toContain(SELF.stackName);
    expect(aws.valuesBelow(`${PARAMETER_PREFIX}/capacity/slots`).size + aws.valuesBelow(paths.capacityClaims.root).size).toBe(0);
  });

  test('above the cap (lowered since): fails too', async () => {
    process.env[StagingQuotaEnvironment.MAX_STAGINGS] = '1';
    stacksAre(self(), ...EXISTING);
    await expect(onEvent(event('Create'))).rejects.toThrow(/maxStagings is 1 and 2 branch staging\(s\)/);
  });

  test('without a cap: claims after reading only its own stack', async () => {
    stacksAre(self(), ...EXISTING);
    for (const unset of [undefined, '']) {
      aws.clear();
      registryIs(REGISTRY);
      stacksAre(self(), ...EXISTING);
      if (unset === undefined) delete process.env[StagingQuotaEnvironment.MAX_STAGINGS];
      else process.env[StagingQuotaEnvironment.MAX_STAGINGS] = unset;
      await expect(onEvent(event('Create'))).resolves.toEqual(answer(0));
      expect(aws.calls.DescribeStacks).toBe(1);
    }
    expect(aws.cloudformation.commandCalls(DescribeStacksCommand).at(-1)!.args[0].input).toEqual({ StackName: stackId(SELF.stackName) });
  });

  test('reads every page of DescribeStacks', async () => {
    const others = Array.from({ length: 250 }, (_, i) => staging(`other/${i}`, { prefix: 'qa' }));
    stacksAre(...others, self(), ...EXISTING, staging('feature/c'));
    await expect(onEvent(event('Create'))).rejects.toThrow(/3 branch staging\(s\).*feature\/c/);
    expect(aws.calls.DescribeStacks).toBe(3);
  });

  test('a failed DescribeStacks fails the Create with what failed and that nothing was created', async () => {
    stacksAre(self());
    aws.failing.set('DescribeStacks', Object.assign(new Error('User is not authorized to perform: cloudformation:DescribeStacks'), { name: 'AccessDenied' }));
    await expect(onEvent(event('Create'))).rejects.toThrow(
      /Could not count the branch stagings \(cloudformation:DescribeStacks failed: AccessDenied: User is not authorized.*\); nothing of this branch was created, deploy again/,
    );
    delete process.env[StagingQuotaEnvironment.MAX_STAGINGS];
    await expect(onEvent(event('Create'))).rejects.toThrow(/Could not read the stack being deployed \(cloudformation:DescribeStacks failed: AccessDenied.*nothing of this branch was created/);
  });

  test('a bad MAX_STAGINGS or a missing prefix fails with the fix', async () => {
    stacksAre(self());
    process.env[StagingQuotaEnvironment.MAX_STAGINGS] = '0';
    await expect(onEvent(event('Create'))).rejects.toThrow(/MAX_STAGINGS of the staging-quota provider must be a whole number >= 1 \(got "0"\); set maxStagings on SharedStaging/);
    process.env[StagingQuotaEnvironment.MAX_STAGINGS] = '3';
    delete process.env[StagingQuotaEnvironment.PARAMETER_PREFIX];
    await expect(onEvent(event('Create'))).rejects.toThrow(/QUOTA_PARAMETER_PREFIX is not set on the staging-quota provider; deploy the shared stack again/);
    delete process.env[StagingQuotaEnvironment.PREFIX];
    await expect(onEvent(event('Create'))).rejects.toThrow(/QUOTA_PREFIX is not set/);
  });

  test('fails without StagingName', async () => {
    await expect(onEvent(event('Create', { ResourceProperties: {} }))).rejects.toThrow(/Missing required property 'StagingName'/);
  });
});

describe('Create: the claim', () => {
  beforeEach(() => stacksAre(self(), ...EXISTING));

  test('a replay or retry answers the claim: same shard, same physical ID, no second slot, even at the cap', async () => {
    slotHeld(0, 0, 'x');
    slotHeld(0, 1, 'y');
    slotHeld(0, 2, 'z');
    const first = await onEvent(event('Create'));
    expect(first).toEqual(answer(1));
    const before = slotsInUse();
    stacksAre(self(), ...EXISTING, staging('feature/c'));
    expect(await onEvent(event('Create', { RequestId: 'r-2' }))).toEqual(first);
    expect(slotsInUse()).toEqual(before);
  });

  test('fills the shards in order: the lowest with a free slot, at random among its free slots', async () => {
    slotHeld(0, 0, 'x');
    slotHeld(0, 2, 'z');
    await expect(onEvent(event('Create'))).resolves.toEqual(answer(0));
    expect(claimOf(SELF.name)).toBe('0/1');
    expect(slotsInUse()['0/1']).toBe(SELF.name);
    expect(aws.calls.GetParametersByPath).toBe(1); // shard 1 is not even read
  });

  test('a slot taken between the read and the write (ParameterAlreadyExists) is skipped for another', async () => {
    const free = [0, 1, 2];
    aws.beforeEachCall = async () => {
      // Just before the first slot write, a concurrent deploy takes two of the three free slots.
      if (aws.calls.PutParameter === 1) for (const slot of free.slice(0, 2)) if (!slotsInUse()[`0/${slot}`]) slotHeld(0, slot, `other-${slot}`);
    };
    await expect(onEvent(event('Create'))).resolves.toEqual(answer(0));
    aws.beforeEachCall = async () => {};
    expect(slotsInUse()).toEqual({ '0/0': 'other-0', '0/1': 'other-1', '0/2': SELF.name });
    expect(claimOf(SELF.name)).toBe('0/2');
  });

  test('a shard whose free slots are all taken meanwhile: the next shard; every shard so: refused, counting them full', async () => {
    const takeAll = (index: number) => {
      for (const slot of [0, 1, 2]) if (!slotsInUse()[`${index}/${slot}`]) slotHeld(index, slot, `other-${index}-${slot}`);
    };
    aws.beforeEachCall = async () => {
      if (aws.calls.PutParameter === 1) takeAll(0);
    };
    await expect(onEvent(event('Create'))).resolves.toEqual(answer(1));
    aws.clear();
    registryIs(REGISTRY);
    stacksAre(self(), ...EXISTING);
    aws.beforeEachCall = async () => {
      if (aws.calls.PutParameter === 1) takeAll(0);
      if (aws.calls.GetParametersByPath === 2) takeAll(1);
    };
    await expect(onEvent(event('Create'))).rejects.toThrow(/hold 6 branch stagings \(shard 0: 3 of 3, shard 1: 3 of 3\) and 6 slots are in use/);
    aws.beforeEachCall = async () => {};
  });

  test('a deploy of the same staging at once won the claim: the slot is released and theirs answered', async () => {
    slotHeld(1, 2, SELF.name);
    aws.beforeEachCall = async () => {
      // The second write is the claim: the other deploy's claim is there first.
      if (aws.calls.PutParameter === 2 && !claimOf(SELF.name)) aws.put(paths.capacityClaims.of(SELF.name), '1/2');
    };
    await expect(onEvent(event('Create'))).resolves.toEqual(answer(1));
    aws.beforeEachCall = async () => {};
    expect(slotsInUse()).toEqual({ '1/2': SELF.name });
    expect(claimOf(SELF.name)).toBe('1/2');
    expect(aws.valuesBelow(`${PARAMETER_PREFIX}/capacity/releases`).size).toBe(0);
  });

  test('a claim from a former stack of this name (written before this stack): released, and a new claim made', async () => {
    slotHeld(1, 0, SELF.name, 10 * 60_000);
    clock -= 10 * 60_000;
    aws.put(paths.capacityClaims.of(SELF.name), '1/0');
    clock = NOW;
    await expect(onEvent(event('Create'))).resolves.toEqual(answer(0));
    expect(Object.values(slotsInUse())).toEqual([SELF.name]);
    expect(claimOf(SELF.name)).toMatch(/^0\/[012]$/);
  });

  test('a full shard: orphans (a holder whose stack is gone, the slot older than the margin) are freed and reused', async () => {
    slotHeld(0, 0, 'gone', ORPHAN_GRACE_MS + 1000);
    slotHeld(0, 1, 'rolled-back', ORPHAN_GRACE_MS + 1000);
    slotHeld(0, 2, EXISTING[0].Tags!.find((t) => t.Key === TagKeys.NAME)!.Value!, ORPHAN_GRACE_MS + 1000);
    stacksAre(self(), ...EXISTING, withStatus(staging('rolled-back'), 'ROLLBACK_COMPLETE'));
    await expect(onEvent(event('Create'))).resolves.toEqual(answer(0));
    const slot = claimOf(SELF.name)!;
    expect(['0/0', '0/1']).toContain(slot);
    // Both orphans are freed, one is taken: a freed slot is reused before shard 1 is opened.
    expect(Object.keys(slotsInUse()).sort()).toEqual([slot, '0/2'].sort());
    expect(slotsInUse()[slot]).toBe(SELF.name);
    expect(aws.valuesBelow(`${PARAMETER_PREFIX}/capacity/releases`).size).toBe(0);
  });

  test('not orphans: a live stack\'s slot, one written within the margin, one of a stack still going away', async () => {
    slotHeld(0, 0, 'recent', ORPHAN_GRACE_MS - 1000);
    slotHeld(0, 1, 'leaving', ORPHAN_GRACE_MS + 1000);
    slotHeld(0, 2, EXISTING[0].Tags!.find((t) => t.Key === TagKeys.NAME)!.Value!, ORPHAN_GRACE_MS + 1000);
    stacksAre(self(), ...EXISTING, withStatus(staging('leaving'), 'DELETE_IN_PROGRESS'));
    await expect(onEvent(event('Create'))).resolves.toEqual(answer(1));
    expect(slotsInUse()['0/0']).toBe('recent');
  });

  test('a live stack the listing missed is found by its name: its slot is no orphan', async () => {
    for (const slot of [0, 1, 2]) slotHeld(0, slot, `held-${slot}`, ORPHAN_GRACE_MS + 1000);
    stacksAre(self(), ...[0, 1, 2].map((slot) => staging(`held-${slot}`)));
    expect(aws.stacks.map((s) => s.StackName)).toContain(`${PREFIX}-held-0`);
    for (const slot of [0, 1, 2]) aws.missedByListing.add(`${PREFIX}-held-${slot}`);
    await expect(onEvent(event('Create'))).resolves.toEqual(answer(1));
    expect(slotsInUse()).toMatchObject({ '0/0': 'held-0', '0/1': 'held-1', '0/2': 'held-2' });
    expect(aws.cloudformation.commandCalls(DescribeStacksCommand).map((c) => c.args[0].input.StackName)).toEqual(
      expect.arrayContaining([0, 1, 2].map((slot) => `${PREFIX}-held-${slot}`)),
    );
  });

  test('past the capacity: fails naming the capacity, the slots in use and how to raise it; nothing is claimed', async () => {
    process.env[StagingQuotaEnvironment.MAX_STAGINGS] = '100';
    for (const s of [0, 1]) for (const slot of [0, 1, 2]) slotHeld(s, slot, `held-${s}-${slot}`);
    stacksAre(self(), ...[0, 1].flatMap((s) => [0, 1, 2].map((slot) => staging(`held-${s}-${slot}`))));
    const error = await failure(onEvent(event('Create')));
    expect(error.message).toBe(
      'The staging capacity is reached: its 2 load balancer(s) hold 6 branch stagings (shard 0: 3 of 3, shard 1: 3 of 3) and 6 slots are in use. ' +
      'Nothing of this branch was created. Raise maxBranches on SharedStaging (staging.maxBranches in the ready-made app) and deploy the shared stack: each more load balancer holds up to 3 branches ' +
      '(1 listener rules each, of 100 rules per load balancer) and costs about $24 a month. ' +
      'With a higher quota of "Rules per Application Load Balancer" (Service Quotas), set rulesPerLoadBalancer to it and each holds more, up to its 100 target groups. ' +
      'Or free one with `npx staging list` and `npx staging destroy <branch>`.',
    );
    expect(claimOf(SELF.name)).toBeUndefined();
    expect(Object.values(slotsInUse())).not.toContain(SELF.name);
  });

  test('a missing or unreadable registry fails saying to deploy the shared stack', async () => {
    aws.parameters.delete(shardRegistryParameterName(PARAMETER_PREFIX));
    await expect(onEvent(event('Create'))).rejects.toThrow(
      'The shard registry /staging/capacity/shards does not exist, so no load balancer can be chosen for this branch: deploy the shared stack (npx cdk deploy staging-shared), then this branch again; nothing of this branch was created',
    );
    aws.put(shardRegistryParameterName(PARAMETER_PREFIX), '{"shards":[]}');
    await expect(onEvent(event('Create'))).rejects.toThrow(/^The shard registry \/staging\/capacity\/shards is unreadable: it needs rulesPerBranch.*; deploy the shared stack \(npx cdk deploy staging-shared\)/);
    aws.failing.set('GetParameter', Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    await expect(onEvent(event('Create'))).rejects.toThrow(/denied/);
    expect(claimOf(SELF.name)).toBeUndefined();
  });
});

describe('branches deployed before the capacity', () => {
  test('Create in a stack that exists already: claims on shard 0, past the cap and past its branchSlots', async () => {
    process.env[StagingQuotaEnvironment.MAX_STAGINGS] = '1';
    for (const slot of [0, 1, 2]) slotHeld(0, slot, `held-${slot}`);
    for (const status of ['UPDATE_IN_PROGRESS', 'IMPORT_IN_PROGRESS']) {
      aws.parameters.delete(paths.capacityClaims.of(SELF.name));
      aws.parameters.delete(paths.capacitySlot({ shard: 0, slot: 3 }));
      stacksAre(self(status), ...EXISTING);
      await expect(onEvent(event('Create'))).resolves.toEqual(answer(0));
      expect(claimOf(SELF.name)).toBe('0/3');
    }
  });

  test('Update without a claim: claims on shard 0; with one: answers it, listing no stack', async () => {
    stacksAre(self('UPDATE_IN_PROGRESS'));
    await expect(onEvent(event('Update'))).resolves.toEqual(answer(0));
    expect(claimOf(SELF.name)).toMatch(/^0\/[012]$/);
    aws.put(paths.capacityClaims.of(SELF.name), '1/2', true);
    await expect(onEvent(event('Update', { PhysicalResourceId: 'staging-quota:older-id' }))).resolves.toEqual({ ...answer(1), PhysicalResourceId: 'staging-quota:older-id' });
    expect(aws.calls.DescribeStacks).toBeUndefined();
  });

  test('a claim on a shard the registry no longer lists fails with the fix', async () => {
    aws.put(paths.capacityClaims.of(SELF.name), '5/0');
    await expect(onEvent(event('Update'))).rejects.toThrow(
      /holds slot 5\/0, on shard 5, which the shard registry no longer lists \(it has 2\).*Raise maxBranches on SharedStaging again/,
    );
  });
});

describe('Delete', () => {
  test('releases the slot and the claim; a replay, and a staging that never claimed, succeed too', async () => {
    stacksAre(self('DELETE_IN_PROGRESS'));
    slotHeld(1, 1, SELF.name);
    slotHeld(1, 2, 'other');
    aws.put(paths.capacityClaims.of(SELF.name), '1/1');
    for (let i = 0; i < 2; i++) await expect(onEvent(event('Delete'))).resolves.toEqual({ PhysicalResourceId: `staging-quota:${SELF.name}` });
    expect(slotsInUse()).toEqual({ '1/2': 'other' });
    expect(claimOf(SELF.name)).toBeUndefined();
    expect(aws.valuesBelow(`${PARAMETER_PREFIX}/capacity/releases`).size).toBe(0);
    expect(aws.calls.DescribeStacks).toBeUndefined();
  });

  test('a slot someone else holds now is left alone (only the claim goes)', async () => {
    slotHeld(0, 0, 'other');
    aws.put(paths.capacityClaims.of(SELF.name), '0/0');
    await onEvent(event('Delete'));
    expect(slotsInUse()).toEqual({ '0/0': 'other' });
    expect(claimOf(SELF.name)).toBeUndefined();
  });

  test('a slot another deploy is releasing (its release record exists) is left to it', async () => {
    slotHeld(0, 0, SELF.name);
    aws.put(paths.capacityClaims.of(SELF.name), '0/0');
    aws.put(paths.capacityRelease({ shard: 0, slot: 0 }, clock), 'other');
    await onEvent(event('Delete'));
    expect(slotsInUse()).toEqual({ '0/0': SELF.name });
  });

  test('a failed SSM call fails the Delete (the stack can retry it)', async () => {
    aws.put(paths.capacityClaims.of(SELF.name), '0/0');
    aws.failing.set('DeleteParameter', Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
    await expect(onEvent(event('Delete'))).rejects.toThrow(/slow down/);
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

describe('Custom::StagingCapacity: the guard against removing a shard that holds branches', () => {
  const guard = (type: RequestType, shards: number, before?: number): OnEventRequest => ({
    RequestType: type,
    StackId: stackId('staging-shared'),
    RequestId: 'r-guard',
    LogicalResourceId: 'StagingCapacityGuard',
    ResourceType: ResourceTypes.CAPACITY_GUARD,
    ResourceProperties: { ShardCount: String(shards), MaxBranches: String(shards * 97) },
    ...(type === 'Create' ? {} : { PhysicalResourceId: 'staging-capacity' }),
    ...(before !== undefined ? { OldResourceProperties: { ShardCount: String(before) } } : {}),
  });

  test('an update to fewer shards is refused while a removed shard holds a branch, naming it; nothing is changed', async () => {
    slotHeld(0, 0, 'feature-a');
    slotHeld(2, 1, 'feature-b');
    slotHeld(2, 4, 'feature-c');
    const before = [...aws.parameters.keys()].sort();
    const e = await failure(onEvent(guard('Update', 2, 4)));
    expect(e.message).toContain('from 4 to 2 load balancer(s) (maxBranches 194)');
    expect(e.message).toContain('shard 2 holds 2 (feature-b, feature-c)');
    expect(e.message).not.toContain('shard 3');
    expect(e.message).toContain('staging destroy <branch>');
    expect([...aws.parameters.keys()].sort()).toEqual(before);
  });

  test('a long list of holders is cut after ten names', async () => {
    for (let slot = 0; slot < 12; slot++) slotHeld(1, slot, `branch-${String(slot).padStart(2, '0')}`);
    const e = await failure(onEvent(guard('Update', 1, 2)));
    expect(e.message).toContain('shard 1 holds 12 (branch-00, branch-01, branch-02, branch-03, branch-04, branch-05, branch-06, branch-07, branch-08, branch-09, and 2 more)');
  });

  test('an update to fewer shards passes when the removed shards are empty; only their slots are read', async () => {
    slotHeld(0, 0, 'feature-a');
    slotHeld(1, 2, 'feature-b');
    await expect(onEvent(guard('Update', 2, 3))).resolves.toEqual({ PhysicalResourceId: 'staging-capacity' });
    expect(aws.calls.GetParametersByPath).toBe(1);
  });

  test.each([
    ['Create', 2, undefined],
    ['Update', 3, 2],
    ['Update', 2, 2],
    ['Delete', 2, undefined],
  ] as const)('%s to %s shard(s) (before: %s) reads nothing and passes', async (type, shards, before) => {
    slotHeld(1, 0, 'feature-b');
    await expect(onEvent(guard(type, shards, before))).resolves.toEqual({ PhysicalResourceId: 'staging-capacity' });
    expect(aws.calls.GetParametersByPath ?? 0).toBe(0);
  });

  test('a shard count that is not a whole number fails the event', async () => {
    const bad = { ...guard('Update', 1, 2), ResourceProperties: { ShardCount: 'two' } };
    expect((await failure(onEvent(bad))).message).toContain('ShardCount of Custom::StagingCapacity must be a whole number >= 1 (got "two")');
  });
});
