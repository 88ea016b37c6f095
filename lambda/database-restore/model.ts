/**
 * Pure decisions of the database-restore handler: identifiers, ownership,
 * snapshot choice and "what is left to change" on an instance. No AWS calls here, so every rule
 * can be tested without mocks.
 */
import { createHash } from 'node:crypto';
import type { DBInstance, DBSnapshot, ModifyDBInstanceMessage, Tag } from '@aws-sdk/client-rds';
import { MANAGED_BY_VALUE, TagKeys } from '../../lib/contract/staging';
import type { RestoreProps } from '../../lib/contract/providers/database-restore';

/** Tags this handler sets on the instances it restores (on top of the caller's Tags). */
export const RestoreTagKeys = {
  /** The snapshot the instance was restored from: what an Update returns while the copy is pinned. */
  SNAPSHOT: 'staging:snapshot',
  /** SnapshotCreateTime of that snapshot, ISO-8601. */
  SNAPSHOT_TIME: 'staging:snapshot-time',
  /** The instance whose snapshot was restored. */
  SOURCE: 'staging:source-instance',
  /** CloudFormation RequestId of the Create/Update that restored it: only that request may clean it up on failure. */
  RESTORE_REQUEST: 'staging:restore-request',
  /** ARN of the secret whose password is the master password; set after ModifyDBInstance accepted it. */
  PASSWORD_APPLIED: 'staging:password-applied',
} as const;

/** Statuses a restore or modification never leaves on its own: fail (and clean up a fresh copy). */
export const FAILED_STATUSES: ReadonlySet<string> = new Set([
  'failed',
  'incompatible-restore',
  'incompatible-parameters',
  'incompatible-network',
  'incompatible-option-group',
  'incompatible-create',
  'incompatible-credentials',
  'inaccessible-encryption-credentials',
  'inaccessible-encryption-credentials-recoverable',
  'insufficient-capacity',
  'restore-error',
  'storage-full',
]);

/** Statuses in which the database serves connections and nothing of ours is in flight. */
export const READY_STATUSES: ReadonlySet<string> = new Set(['available', 'backing-up', 'storage-optimization']);

/** Statuses an instance only leaves when a person starts it. */
export const STOPPED_STATUSES: ReadonlySet<string> = new Set(['stopped', 'stopping']);

/**
 * Pending modifications that change what the branch gets (size, network, credentials, backups).
 * Others (engine patches queued for the maintenance window, CA rotation, log exports) don't block.
 */
export const RELEVANT_PENDING = [
  'DBInstanceClass',
  'AllocatedStorage',
  'MasterUserPassword',
  'Port',
  'BackupRetentionPeriod',
  'MultiAZ',
  'Iops',
  'StorageThroughput',
  'StorageType',
  'DBSubnetGroupName',
  'DBInstanceIdentifier',
  'IAMDatabaseAuthenticationEnabled',
  'Engine',
] as const;

/** The 4-hex generation suffix: a new RefreshToken gives a new identifier. */
export function generationSuffix(refreshToken: string): string {
  return createHash('sha256')
    .update(refreshToken === '' ? 'initial' : refreshToken)
    .digest('hex')
    .slice(0, 4);
}

export function instanceIdentifier(props: Pick<RestoreProps, 'instanceIdentifierBase' | 'refreshToken'>): string {
  return `${props.instanceIdentifierBase}-${generationSuffix(props.refreshToken)}`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * True when an identifier is one this handler can have made from `base`: `<base>-<4 hex>`, and
 * never the source instance. The guard in front of every Modify/Delete.
 */
export function isOwnedIdentifier(id: string | undefined, base: string | undefined, source?: string): boolean {
  if (!id || !base) return false;
  const lower = id.toLowerCase();
  if (source && lower === source.toLowerCase()) return false;
  return new RegExp(`^${escapeRegExp(base.toLowerCase())}-[0-9a-f]{4}$`).test(lower);
}

export function tagValue(tags: Tag[] | undefined, key: string): string | undefined {
  return tags?.find((t) => t.Key === key)?.Value;
}

/** Identifier guard plus the managed-by tag the restore always sets. */
export function isOwnedInstance(instance: DBInstance, base: string, source?: string): boolean {
  return (
    isOwnedIdentifier(instance.DBInstanceIdentifier, base, source) &&
    tagValue(instance.TagList, TagKeys.MANAGED_BY) === MANAGED_BY_VALUE
  );
}

/** Caller tags first, then ours (ours win on a clash), at most one per key. */
export function restoreTags(props: RestoreProps, snapshot: DBSnapshot, requestId: string): Tag[] {
  const ours: Tag[] = [
    { Key: TagKeys.MANAGED_BY, Value: MANAGED_BY_VALUE },
    { Key: RestoreTagKeys.SOURCE, Value: props.sourceInstanceIdentifier },
    { Key: RestoreTagKeys.SNAPSHOT, Value: snapshot.DBSnapshotIdentifier ?? '' },
    { Key: RestoreTagKeys.SNAPSHOT_TIME, Value: snapshot.SnapshotCreateTime?.toISOString() ?? '' },
    { Key: RestoreTagKeys.RESTORE_REQUEST, Value: requestId },
  ];
  const byKey = new Map<string, Tag>();
  for (const t of [...props.tags, ...ours]) byKey.set(t.Key!, t);
  return [...byKey.values()];
}

/** Newest `available` snapshot (ties broken by identifier, so the choice is deterministic). */
export function newestAvailable(snapshots: DBSnapshot[]): DBSnapshot | undefined {
  let best: DBSnapshot | undefined;
  for (const s of snapshots) {
    if (s.Status !== 'available' || !s.SnapshotCreateTime || !s.DBSnapshotIdentifier) continue;
    if (!best) {
      best = s;
      continue;
    }
    const d = s.SnapshotCreateTime.getTime() - best.SnapshotCreateTime!.getTime();
    if (d > 0 || (d === 0 && s.DBSnapshotIdentifier > best.DBSnapshotIdentifier!)) best = s;
  }
  return best;
}

/** Storage is never below the snapshot's: RDS cannot shrink a volume. */
export function restoreStorage(snapshotGiB: number | undefined, minimumGiB: number | undefined): number | undefined {
  if (snapshotGiB === undefined) return minimumGiB;
  return Math.max(snapshotGiB, minimumGiB ?? 0);
}

export interface Convergence {
  /** ModifyDBInstance fields still to send (never includes the password). */
  readonly modify: Partial<ModifyDBInstanceMessage>;
  /** Whether the master password from the secret still has to be set. */
  readonly needsPassword: boolean;
  /** Relevant pending modifications RDS has accepted but not applied yet. */
  readonly pending: string[];
}

/**
 * What is left to do on an instance to match the desired staging shape, read from
 * DescribeDBInstances alone. A pending value counts as done (it is in flight).
 */
export function convergence(instance: DBInstance, props: RestoreProps): Convergence {
  const pendingValues = (instance.PendingModifiedValues ?? {}) as Record<string, unknown>;
  const pending = RELEVANT_PENDING.filter((k) => pendingValues[k] !== undefined && pendingValues[k] !== null);
  const pv = instance.PendingModifiedValues ?? {};
  const modify: Partial<ModifyDBInstanceMessage> = {};

  if ((pv.DBInstanceClass ?? instance.DBInstanceClass) !== props.instanceClass) {
    modify.DBInstanceClass = props.instanceClass;
  }
  if ((pv.BackupRetentionPeriod ?? instance.BackupRetentionPeriod ?? 0) !== 0) {
    modify.BackupRetentionPeriod = 0;
  }
  if (instance.PerformanceInsightsEnabled) modify.EnablePerformanceInsights = false;
  if ((instance.MonitoringInterval ?? 0) !== 0) modify.MonitoringInterval = 0;

  const currentSgs = new Set(
    (instance.VpcSecurityGroups ?? [])
      .filter((g) => g.Status !== 'removing' && g.VpcSecurityGroupId)
      .map((g) => g.VpcSecurityGroupId!),
  );
  const wantedSgs = new Set(props.vpcSecurityGroupIds);
  if (currentSgs.size !== wantedSgs.size || [...wantedSgs].some((g) => !currentSgs.has(g))) {
    modify.VpcSecurityGroupIds = [...props.vpcSecurityGroupIds];
  }

  const subnetGroup = pv.DBSubnetGroupName ?? instance.DBSubnetGroup?.DBSubnetGroupName;
  if (subnetGroup !== undefined && subnetGroup.toLowerCase() !== props.dbSubnetGroupName.toLowerCase()) {
    modify.DBSubnetGroupName = props.dbSubnetGroupName;
  }

  const storage = pv.AllocatedStorage ?? instance.AllocatedStorage;
  if (props.allocatedStorageGiB !== undefined && storage !== undefined && storage < props.allocatedStorageGiB) {
    modify.AllocatedStorage = props.allocatedStorageGiB;
  }

  const needsPassword =
    tagValue(instance.TagList, RestoreTagKeys.PASSWORD_APPLIED) !== props.masterUserSecretArn &&
    pv.MasterUserPassword === undefined;

  return { modify, needsPassword, pending };
}

/** A hint per failed status, so the message says what to do. */
export function failureHint(status: string, props: RestoreProps): string {
  switch (status) {
    case 'incompatible-parameters':
      return `The parameter group does not fit InstanceClass '${props.instanceClass}' (memory settings too large?); pick a larger InstanceClass.`;
    case 'incompatible-restore':
    case 'restore-error':
      return `RDS could not restore the snapshot onto '${props.instanceClass}'; try a larger InstanceClass or AllocatedStorageGiB, or take a fresh snapshot of the source.`;
    case 'storage-full':
      return 'The volume is full; raise AllocatedStorageGiB.';
    case 'incompatible-network':
      return `DB subnet group '${props.dbSubnetGroupName}' has no free IP addresses or too few Availability Zones; check it.`;
    case 'insufficient-capacity':
      return `AWS has no capacity for '${props.instanceClass}' in these Availability Zones; pick another InstanceClass.`;
    case 'inaccessible-encryption-credentials':
    case 'inaccessible-encryption-credentials-recoverable':
      return "RDS cannot use the snapshot's KMS key; check the key policy and that the handler may kms:CreateGrant/Decrypt/DescribeKey via RDS.";
    case 'incompatible-option-group':
      return "The snapshot's option group does not fit this instance; check the source's option group.";
    default:
      return 'See the RDS events of the instance (aws rds describe-events --source-type db-instance).';
  }
}
