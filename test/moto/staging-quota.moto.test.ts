/**
 * The staging-quota handler's capacity against moto's server: what its in-memory fake
 * (test/lambda/staging-quota-fake.ts) assumes of SSM, checked against an implementation written by
 * others, then the real handler claiming slots for deploys at once.
 *
 * - PutParameter with Overwrite=false: of many at once on one name, exactly one succeeds; the rest
 *   fail with ParameterAlreadyExists (the atomic step of a slot and a claim).
 * - GetParameter and DeleteParameter of a missing name fail with ParameterNotFound; GetParameter
 *   gives LastModifiedDate (what a release record names).
 * - GetParametersByPath: only the parameters directly below the path without Recursive, at most 10
 *   a page with a NextToken; MaxResults above 10 is refused.
 */
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { DeleteParameterCommand, GetParameterCommand, GetParametersByPathCommand, PutParameterCommand, SSMClient, paginateGetParametersByPath } from '@aws-sdk/client-ssm';
import type { OnEventRequest, OnEventResponse } from '../../lambda/shared/provider';
import { BranchStatePaths } from '../../lib/contract/branch-state';
import { ShardAttributes, shardRegistryParameterName } from '../../lib/contract/capacity';
import { ResourceTypes, StagingQuotaEnvironment } from '../../lib/contract/providers';
import { StagingKinds, TagKeys } from '../../lib/contract/staging';
import { describeWithMoto } from './moto-server';

type Quota = typeof import('../../lambda/staging-quota/index');

const PARAMETER_PREFIX = '/staging';
const paths = new BranchStatePaths(PARAMETER_PREFIX);

async function errorName(p: Promise<unknown>): Promise<string> {
  return p.then(() => 'succeeded', (e: Error) => e.name);
}

describeWithMoto('the capacity\'s SSM semantics and the quota handler against moto', () => {
  let ssm: SSMClient;
  let quota: Quota;
  const saved = { ...process.env };

  beforeAll(async () => {
    ssm = new SSMClient({});
    // The handler's clients are made when its module loads: after process.env points at moto.
    quota = await import('../../lambda/staging-quota/index');
  });
  afterAll(() => {
    process.env = saved;
    jest.restoreAllMocks();
  });

  test('PutParameter Overwrite=false: of 40 writes at once to one name, exactly one wins', async () => {
    const name = paths.capacitySlot({ shard: 0, slot: 7 });
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) => errorName(ssm.send(new PutParameterCommand({ Name: name, Value: `staging-${i}`, Type: 'String', Overwrite: false })))),
    );
    expect(outcomes.filter((o) => o === 'succeeded')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'ParameterAlreadyExists')).toHaveLength(39);
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: name }));
    expect(Parameter?.Value).toBe(`staging-${outcomes.indexOf('succeeded')}`);
    expect(Parameter?.LastModifiedDate).toBeInstanceOf(Date);
  });

  test('missing names: ParameterNotFound on GetParameter and DeleteParameter', async () => {
    expect(await errorName(ssm.send(new GetParameterCommand({ Name: paths.capacityClaims.of('nobody') })))).toBe('ParameterNotFound');
    expect(await errorName(ssm.send(new DeleteParameterCommand({ Name: paths.capacityClaims.of('nobody') })))).toBe('ParameterNotFound');
  });

  test('GetParametersByPath: direct children only, 10 a page, no more than 10 asked', async () => {
    const folder = paths.capacitySlots(1);
    for (let slot = 0; slot < 23; slot++) await ssm.send(new PutParameterCommand({ Name: `${folder.root}/${slot}`, Value: `s-${slot}`, Type: 'String' }));
    await ssm.send(new PutParameterCommand({ Name: `${folder.root}/3/deeper`, Value: 'not a slot', Type: 'String' }));
    const pages: number[] = [];
    const names: string[] = [];
    for await (const page of paginateGetParametersByPath({ client: ssm, pageSize: 10 }, { Path: folder.root, Recursive: false })) {
      pages.push(page.Parameters?.length ?? 0);
      names.push(...(page.Parameters ?? []).map((p) => p.Name!));
    }
    expect(pages.every((n) => n <= 10)).toBe(true);
    expect(names.sort()).toEqual(Array.from({ length: 23 }, (_, slot) => `${folder.root}/${slot}`).sort());
    expect(await errorName(ssm.send(new GetParametersByPathCommand({ Path: folder.root, MaxResults: 11 })))).toBe('ValidationException');
  });

  test('the handler: 20 first deploys at once on 2 shards of 8 slots: 16 claimed, no slot twice, 4 refused naming the capacity', async () => {
    const cloudformation = new CloudFormationClient({});
    const shard = (index: number) => ({
      index, branchSlots: 8, loadBalancerArn: `arn:lb/${index}`, loadBalancerFullName: `app/lb-${index}/0`, dnsName: `lb-${index}.example.com`,
      canonicalHostedZoneId: 'Z1', listenerArn: `arn:listener/${index}`, wakerTargetGroupArn: `arn:waker/${index}`,
    });
    await ssm.send(new PutParameterCommand({
      Name: shardRegistryParameterName(PARAMETER_PREFIX), Type: 'String',
      Value: JSON.stringify({ rulesPerBranch: 1, rulesPerLoadBalancer: 100, shards: [shard(0), shard(1)] }),
    }));
    // The handler logs a line per event and per refusal: kept out of the test output.
    jest.spyOn(console, 'log').mockImplementation(() => {});
    jest.spyOn(console, 'error').mockImplementation(() => {});
    process.env[StagingQuotaEnvironment.PREFIX] = 'staging';
    process.env[StagingQuotaEnvironment.PARAMETER_PREFIX] = PARAMETER_PREFIX;
    delete process.env[StagingQuotaEnvironment.MAX_STAGINGS];
    const names = Array.from({ length: 20 }, (_, i) => `branch-${i}`);
    const stackIds = await Promise.all(names.map(async (name) => {
      const out = await cloudformation.send(new CreateStackCommand({
        StackName: `staging-${name}`,
        TemplateBody: JSON.stringify({ Resources: { Handle: { Type: 'AWS::CloudFormation::WaitConditionHandle' } } }),
        Tags: [{ Key: TagKeys.KIND, Value: StagingKinds.FEATURE }, { Key: TagKeys.NAME, Value: name }, { Key: TagKeys.PREFIX, Value: 'staging' }],
      }));
      return out.StackId!;
    }));
    const event = (name: string, i: number): OnEventRequest => ({
      RequestType: 'Create', StackId: stackIds[i], RequestId: `r-${i}`, LogicalResourceId: 'Quota', ResourceType: ResourceTypes.STAGING_QUOTA, ResourceProperties: { StagingName: name },
    });
    const results = await Promise.all(names.map((name, i) => quota.onEvent(event(name, i)).then((r: OnEventResponse) => r, (e: Error) => e)));
    const answered = results.filter((r): r is OnEventResponse => !(r instanceof Error));
    const refused = results.filter((r): r is Error => r instanceof Error);
    expect(answered).toHaveLength(16);
    expect(refused.map((e) => e.message)).toEqual(Array(4).fill(expect.stringMatching(/^The staging capacity is reached: its 2 load balancer\(s\) hold 16 branch stagings \(shard 0: 8 of 8, shard 1: 8 of 8\)/)));
    const slots = new Map<string, string>();
    for await (const page of paginateGetParametersByPath({ client: ssm, pageSize: 10 }, { Path: `${PARAMETER_PREFIX}/capacity/slots`, Recursive: true })) {
      for (const p of page.Parameters ?? []) slots.set(p.Name!, p.Value!);
    }
    expect(slots.size).toBe(16);
    expect(new Set(slots.values()).size).toBe(16);
    for (const [i, r] of results.entries()) {
      if (r instanceof Error) continue;
      const claim = (await ssm.send(new GetParameterCommand({ Name: paths.capacityClaims.of(names[i]) }))).Parameter!.Value!;
      expect(slots.get(`${PARAMETER_PREFIX}/capacity/slots/${claim}`)).toBe(names[i]);
      expect((r.Data as Record<string, string>)[ShardAttributes.SHARD]).toBe(claim.split('/')[0]);
    }
  });
});
