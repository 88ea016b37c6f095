/**
 * The contract of the staging-quota provider (lib/providers/staging-quota.ts,
 * lambda/staging-quota/): `Custom::StagingQuota`, the cap check and capacity claim of a branch
 * stack, which every other resource of the stack depends on. Its properties, the provider's
 * environment (the cap and the parameter prefix live there, so changing them is a deploy of the
 * shared stack only), and the parse of both. Its attributes are `ShardAttributes` (../capacity.ts).
 * Conventions: ./index.ts.
 */
import { requiredProperty, type Wire } from './wire';

export const StagingQuotaResourceType = 'Custom::StagingQuota';

/** ResourceProperties of `Custom::StagingQuota`. */
export interface StagingQuotaResourceProperties {
  /** The staging name, for the physical ID and the logs. */
  readonly StagingName: string;
  /** The git branch, for the message. */
  readonly Branch?: string;
}

/** Environment of the staging-quota provider, set by SharedStaging. */
export const StagingQuotaEnvironment = {
  /** `SharedStagingProps.maxStagings` as a string; absent when there is no cap. */
  MAX_STAGINGS: 'MAX_STAGINGS',
  /** The staging system's prefix: only branch stagings tagged with it count. */
  PREFIX: 'QUOTA_PREFIX',
  /** The SSM parameter prefix (e.g. `/staging`): the shard registry, slots and claims are below `<it>/capacity/`. */
  PARAMETER_PREFIX: 'QUOTA_PARAMETER_PREFIX',
} as const;

/** What a `Custom::StagingQuota` asks. */
export interface StagingQuotaRequest {
  readonly stagingName: string;
  readonly branch?: string;
}

export function parseProperties(props: Wire<StagingQuotaResourceProperties>): StagingQuotaRequest {
  const branch = props.Branch === undefined || props.Branch === null ? undefined : String(props.Branch);
  return { stagingName: requiredProperty(props, 'StagingName'), branch };
}

/** The physical id of a staging's quota check; an Update never changes it. */
export function physicalIdFor(stagingName: string): string {
  return `staging-quota:${stagingName}`;
}

/** The cap from `MAX_STAGINGS`: undefined when unset (no cap), else a whole number >= 1. */
export function capOf(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const cap = Number(value);
  if (!Number.isInteger(cap) || cap < 1) {
    throw new Error(`${StagingQuotaEnvironment.MAX_STAGINGS} of the staging-quota provider must be a whole number >= 1 (got ${JSON.stringify(value)}); set maxStagings on SharedStaging and deploy the shared stack`);
  }
  return cap;
}

/**
 * `Custom::StagingCapacity`: the shared stack's guard against shrinking the capacity under
 * branches. Served by the staging-quota provider. Its Update fails when the new shard count leaves
 * out a shard that still holds branch stagings, so the deploy rolls back before CloudFormation's
 * cleanup would delete that load balancer (and with it the branches' rules). The shard registry
 * depends on it, so no branch is pointed at a shard the update removes before the guard has run.
 */
export const CapacityGuardResourceType = 'Custom::StagingCapacity';

/** ResourceProperties of `Custom::StagingCapacity`. */
export interface CapacityGuardResourceProperties {
  /** The number of load balancers (shards) the shared stack builds. */
  readonly ShardCount: string;
  /** `SharedStagingProps.maxBranches` as given, for the message (absent: the default). */
  readonly MaxBranches?: string;
}

/** The one physical id of the shared stack's capacity guard. */
export const CAPACITY_GUARD_PHYSICAL_ID = 'staging-capacity';

/** The shard count of a `Custom::StagingCapacity`'s properties: a whole number >= 1. */
export function shardCountOf(props: Wire<CapacityGuardResourceProperties> | undefined): number {
  const raw = props?.ShardCount;
  const count = Number(raw);
  if (!Number.isInteger(count) || count < 1) {
    throw new Error(`ShardCount of ${CapacityGuardResourceType} must be a whole number >= 1 (got ${JSON.stringify(raw)})`);
  }
  return count;
}
