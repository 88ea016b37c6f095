/**
 * `Custom::StagingCapacity` (lib/contract/providers/staging-quota.ts): refuses an update of the
 * shared stack that would delete a load balancer (shard) still holding branch stagings.
 *
 * - Update to fewer shards: reads the slots of every shard the update leaves out and fails,
 *   naming them and their branches, when any is held. CloudFormation deletes the removed load
 *   balancers only in its cleanup, after every update succeeded, so the failure rolls the shared
 *   stack back with nothing deleted.
 * - Create, Delete, and an Update that keeps or adds shards: nothing to check.
 * Physical id: `staging-capacity`, always.
 */
import { BranchStatePaths } from '../../lib/contract/branch-state';
import { readShardSlots } from '../../lib/contract/capacity';
import { CAPACITY_GUARD_PHYSICAL_ID, StagingQuotaEnvironment, shardCountOf } from '../../lib/contract/providers/staging-quota';
import { log, type OnEventRequest, type OnEventResponse } from '../shared/provider';
import { reader } from './slots';

/** How many branch names a refusal lists per shard. */
const NAMES_SHOWN = 10;

export async function guardEvent(event: OnEventRequest): Promise<OnEventResponse> {
  const response = { PhysicalResourceId: CAPACITY_GUARD_PHYSICAL_ID };
  if (event.RequestType !== 'Update') return response;
  const shards = shardCountOf(event.ResourceProperties);
  const before = shardCountOf(event.OldResourceProperties);
  if (shards >= before) return response;
  const parameterPrefix = process.env[StagingQuotaEnvironment.PARAMETER_PREFIX];
  if (!parameterPrefix) throw new Error(`${StagingQuotaEnvironment.PARAMETER_PREFIX} is not set on the staging-quota provider; deploy the shared stack with this version of cdk-multi-staging`);
  const removed = Array.from({ length: before - shards }, (_, i) => shards + i);
  const held = await Promise.all(removed.map(async (shard) => ({ shard, holders: [...(await readShardSlots(reader, parameterPrefix, shard)).values()] })));
  const inUse = held.filter((h) => h.holders.length > 0);
  log('capacity guard', { before, shards, inUse: inUse.map((h) => ({ shard: h.shard, stagings: h.holders.length })) });
  if (inUse.length === 0) return response;
  const maxBranches = event.ResourceProperties?.MaxBranches;
  const described = inUse.map(({ shard, holders }) => {
    const names = holders.map((h) => h.stagingName).sort();
    const shown = names.slice(0, NAMES_SHOWN).join(', ') + (names.length > NAMES_SHOWN ? `, and ${names.length - NAMES_SHOWN} more` : '');
    return `shard ${shard} holds ${names.length} (${shown})`;
  });
  throw new Error(
    `Refused: this update lowers the shared staging from ${before} to ${shards} load balancer(s)` +
      (maxBranches ? ` (maxBranches ${maxBranches})` : '') +
      `, which would delete load balancers that still serve branch stagings: ${described.join('; ')}. ` +
      `A branch never moves to another load balancer, so destroy those stagings first (staging destroy <branch>, or let the sweeper take them), ` +
      `or keep maxBranches where it was. Nothing was changed. The slots in use are below ${new BranchStatePaths(parameterPrefix).capacitySlots(inUse[0].shard).root}.`,
  );
}
