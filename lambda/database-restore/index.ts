/**
 * Custom resource that OWNS a branch's RDS instance, restored from the newest available snapshot
 * of a source instance and downsized for staging.
 *
 * - Create: restore `<InstanceIdentifierBase>-<4 hex of RefreshToken>` from the newest available
 *   snapshot (single-AZ, gp3, no provisioned IOPS, InstanceClass, storage >= the snapshot's).
 * - isComplete (Create/Update): converge on the staging shape, one step per call, decided from
 *   DescribeDBInstances alone: wait for `available`, then ModifyDBInstance (master password from
 *   MasterUserSecretArn, no backups, no Performance Insights, no enhanced monitoring, InstanceClass),
 *   then wait until nothing relevant is pending.
 * - Update: the copy is pinned. Only a new, non-empty RefreshToken restores a new copy (new
 *   physical id; CloudFormation then deletes the old one). Other changes are applied in place.
 * - Delete: DeleteDBInstance without final snapshot; isComplete waits until it is gone.
 *
 * Every Modify/Delete is guarded: the identifier must be `<base>-<4 hex>`, must not be the source,
 * and the instance must carry the managed-by tag this handler sets at restore.
 */
import {
  AddTagsToResourceCommand,
  DBInstance,
  DBSnapshot,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  ModifyDBInstanceCommand,
  ModifyDBInstanceMessage,
  RDSClient,
  RestoreDBInstanceFromDBSnapshotCommand,
  paginateDescribeDBSnapshots,
} from '@aws-sdk/client-rds';
import { isAwsError, log, logError, type IsCompleteRequest, type IsCompleteResponse, type OnEventRequest, type OnEventResponse } from '../shared/provider';
import { describeError } from '../shared/errors';
import { readCredentials, type Credentials } from '../shared/secrets';
import { entry } from '../shared/entry';
import {
  FAILED_STATUSES,
  READY_STATUSES,
  RestoreTagKeys,
  STOPPED_STATUSES,
  convergence,
  failureHint,
  instanceIdentifier,
  isOwnedIdentifier,
  isOwnedInstance,
  newestAvailable,
  restoreStorage,
  restoreTags,
  tagValue,
} from './model';
import { parseProperties, type RestoreProps } from '../../lib/contract/providers/database-restore';

const rds = new RDSClient({ maxAttempts: 8, retryMode: 'adaptive' });

const NOT_FOUND = ['DBInstanceNotFoundFault', 'DBInstanceNotFound'];
const INVALID_STATE = ['InvalidDBInstanceStateFault', 'InvalidDBInstanceState'];
const ALREADY_EXISTS = ['DBInstanceAlreadyExistsFault', 'DBInstanceAlreadyExists'];
/** Safety net against a pagination marker that never ends (100 records a page). */
const MAX_SNAPSHOT_PAGES = 200;

/** Rethrows an AWS failure with what was being done, so the stack event says where it broke. */
function fail(what: string, e: unknown): never {
  throw new Error(`${what}: ${describeError(e)}`, { cause: e });
}

async function handleEvent(event: OnEventRequest): Promise<OnEventResponse> {
  switch (event.RequestType) {
    case 'Create': {
      const props = parseProperties(event.ResourceProperties);
      return restoreOrAdopt(event, props, checkedIdentifier(props));
    }
    case 'Update':
      return onUpdate(event);
    case 'Delete':
      return onDelete(event);
    default:
      throw new Error(`Unknown RequestType '${String((event as { RequestType?: unknown }).RequestType)}'`);
  }
}
export const onEvent = entry('database-restore.onEvent', handleEvent);

async function checkComplete(event: IsCompleteRequest): Promise<IsCompleteResponse> {
  if (event.RequestType === 'Delete') return deleteIsComplete(event);

  const props = parseProperties(event.ResourceProperties);
  const id = event.PhysicalResourceId ?? '';
  if (!isOwnedIdentifier(id, props.instanceIdentifierBase, props.sourceInstanceIdentifier)) {
    throw new Error(
      `Refusing to manage RDS instance '${id}': its identifier is not '${props.instanceIdentifierBase}-<4 hex>' ` +
        `(or it is the source instance '${props.sourceInstanceIdentifier}').`,
    );
  }
  const instance = await describeInstance(id);
  if (!instance) {
    throw new Error(
      `RDS instance '${id}' disappeared while waiting for it (deleted outside CloudFormation?). ` +
        `Deploy again with -c refreshData=true to restore a new copy from the newest snapshot of '${props.sourceInstanceIdentifier}'.`,
    );
  }
  // Only the request that restored this instance may delete it on failure: an adopted instance
  // (e.g. the previous copy during an update rollback) is never removed here.
  const createdHere = tagValue(instance.TagList, RestoreTagKeys.RESTORE_REQUEST) === event.RequestId;
  try {
    return await converge(instance, props);
  } catch (e) {
    if (!createdHere) throw e;
    const cleanup = await deleteHalfCreated(instance, props);
    throw new Error(`${describeError(e)} ${cleanup}`, { cause: e });
  }
}
export const isComplete = entry('database-restore.isComplete', checkComplete);

// ---------------------------------------------------------------------------------------------
// Create / refresh

function checkedIdentifier(props: RestoreProps): string {
  const id = instanceIdentifier(props);
  if (!isOwnedIdentifier(id, props.instanceIdentifierBase, props.sourceInstanceIdentifier)) {
    throw new Error(
      `The branch instance identifier '${id}' equals the source instance '${props.sourceInstanceIdentifier}'; ` +
        'change InstanceIdentifierBase or RefreshToken.',
    );
  }
  return id;
}

async function restoreOrAdopt(event: OnEventRequest, props: RestoreProps, id: string): Promise<OnEventResponse> {
  const existing = await describeInstance(id);
  if (existing) return adopt(existing, props);

  const snapshot = await selectSnapshot(props.sourceInstanceIdentifier);
  // Fail before a restore that takes many minutes if the password cannot be read.
  await readMasterPassword(props.masterUserSecretArn);

  const allocatedStorage = restoreStorage(snapshot.AllocatedStorage, props.allocatedStorageGiB);
  log('restoring instance', {
    instanceIdentifier: id,
    snapshotIdentifier: snapshot.DBSnapshotIdentifier,
    snapshotType: snapshot.SnapshotType,
    snapshotCreateTime: snapshot.SnapshotCreateTime?.toISOString(),
    instanceClass: props.instanceClass,
    allocatedStorage,
    snapshotStorageType: snapshot.StorageType,
    snapshotIops: snapshot.Iops,
  });
  try {
    await rds.send(
      new RestoreDBInstanceFromDBSnapshotCommand({
        DBInstanceIdentifier: id,
        DBSnapshotIdentifier: snapshot.DBSnapshotIdentifier,
        DBInstanceClass: props.instanceClass,
        DBSubnetGroupName: props.dbSubnetGroupName,
        VpcSecurityGroupIds: props.vpcSecurityGroupIds,
        MultiAZ: false,
        PubliclyAccessible: false,
        // gp3 without Iops/StorageThroughput: provisioned IOPS of the source are dropped.
        StorageType: 'gp3',
        AllocatedStorage: allocatedStorage,
        DeletionProtection: false,
        CopyTagsToSnapshot: false,
        // The branch authenticates with the password from its own secret.
        EnableIAMDatabaseAuthentication: false,
        // No automated backups for a disposable copy (also enforced by isComplete).
        BackupRetentionPeriod: 0,
        // No KmsKeyId: the copy keeps the snapshot's encryption and key.
        Tags: restoreTags(props, snapshot, event.RequestId),
      }),
    );
  } catch (e) {
    if (isAwsError(e, ...ALREADY_EXISTS)) {
      // A replayed request raced us: the instance exists now, take it over.
      const raced = await describeInstance(id);
      if (raced) return adopt(raced, props);
    }
    fail(
      `Could not restore RDS instance '${id}' from snapshot '${snapshot.DBSnapshotIdentifier}' of '${props.sourceInstanceIdentifier}'`,
      e,
    );
  }
  return {
    PhysicalResourceId: id,
    Data: {
      InstanceIdentifier: id,
      SnapshotIdentifier: snapshot.DBSnapshotIdentifier,
      SnapshotCreateTime: snapshot.SnapshotCreateTime?.toISOString() ?? '',
    },
  };
}

/** Takes over an instance a previous attempt of this request (or of this token) restored. */
function adopt(instance: DBInstance, props: RestoreProps): OnEventResponse {
  const id = instance.DBInstanceIdentifier!;
  if (!isOwnedInstance(instance, props.instanceIdentifierBase, props.sourceInstanceIdentifier)) {
    throw new Error(
      `RDS instance '${id}' already exists but was not restored by this library (no staging:managed-by tag). ` +
        'Delete or rename it, or deploy with -c refreshData=true to use another identifier.',
    );
  }
  if (instance.DBInstanceStatus === 'deleting') {
    throw new Error(`RDS instance '${id}' is being deleted; wait until it is gone, then deploy again.`);
  }
  log('adopting existing instance', { instanceIdentifier: id, status: instance.DBInstanceStatus });
  return { PhysicalResourceId: id, Data: pinnedData(instance) };
}

function pinnedData(instance: DBInstance): Record<string, string> {
  return {
    InstanceIdentifier: instance.DBInstanceIdentifier ?? '',
    SnapshotIdentifier: tagValue(instance.TagList, RestoreTagKeys.SNAPSHOT) ?? '',
    SnapshotCreateTime: tagValue(instance.TagList, RestoreTagKeys.SNAPSHOT_TIME) ?? '',
  };
}

async function selectSnapshot(source: string): Promise<DBSnapshot> {
  const all: DBSnapshot[] = [];
  let pages = 0;
  try {
    // No SnapshotType: automated and manual snapshots of the instance, both count.
    for await (const page of paginateDescribeDBSnapshots({ client: rds, pageSize: 100 }, { DBInstanceIdentifier: source })) {
      all.push(...(page.DBSnapshots ?? []));
      if (++pages >= MAX_SNAPSHOT_PAGES) break;
    }
  } catch (e) {
    if (isAwsError(e, ...NOT_FOUND)) {
      throw new Error(
        `Source RDS instance '${source}' was not found, so it has no snapshots to restore. ` +
          'Check SourceInstanceIdentifier (the instance whose snapshots branches start from).',
      );
    }
    fail(`Could not list the snapshots of source RDS instance '${source}'`, e);
  }

  const best = newestAvailable(all);
  if (best) return best;
  if (all.length === 0) {
    throw new Error(
      `Source RDS instance '${source}' has no snapshots to restore. Enable automated backups on it or take one ` +
        `(aws rds create-db-snapshot --db-instance-identifier ${source} --db-snapshot-identifier ${source}-staging-seed), ` +
        'then deploy again. Check SourceInstanceIdentifier if this is the wrong instance.',
    );
  }
  const statuses = [...new Set(all.map((s) => s.Status ?? 'unknown'))].join(', ');
  throw new Error(
    `Source RDS instance '${source}' has ${all.length} snapshot(s) but none is 'available' (statuses: ${statuses}). ` +
      'Wait for the snapshot in progress to finish (aws rds wait db-snapshot-available) or take a new one, then deploy again.',
  );
}

/** The master user's `{ "password", "username"? }`; the password is set on the copy, never logged. */
function readMasterPassword(secretArn: string): Promise<Credentials> {
  return readCredentials(secretArn, 'the master password secret (MasterUserSecretArn)', 'optional');
}

// ---------------------------------------------------------------------------------------------
// Update

async function onUpdate(event: OnEventRequest): Promise<OnEventResponse> {
  const props = parseProperties(event.ResourceProperties);
  const old = event.OldResourceProperties ?? {};
  const oldToken = old.RefreshToken === undefined || old.RefreshToken === null ? '' : String(old.RefreshToken);
  const current = event.PhysicalResourceId ?? '';

  // Only a new, non-empty token refreshes. An empty/absent token never does: a deploy without
  // -c refreshData=true after a refresh keeps the refreshed copy instead of restoring yet again.
  if (props.refreshToken !== '' && oldToken !== props.refreshToken) {
    const next = checkedIdentifier(props);
    if (next !== current) {
      log('refresh requested: restoring a new copy', { from: current, to: next });
      return restoreOrAdopt(event, props, next);
    }
    // Either a rollback to the token of the current instance, or a 1-in-65536 suffix collision.
    log('RefreshToken maps to the current instance; keeping it', { instanceIdentifier: current });
  } else if (old.InstanceIdentifierBase !== undefined && String(old.InstanceIdentifierBase) !== props.instanceIdentifierBase) {
    throw new Error(
      `InstanceIdentifierBase changed from '${String(old.InstanceIdentifierBase)}' to '${props.instanceIdentifierBase}', ` +
        `but the branch database '${current}' is pinned and cannot be renamed in place. ` +
        'Keep the old base, or deploy with -c refreshData=true to restore a new copy under the new name.',
    );
  }

  if (!isOwnedIdentifier(current, props.instanceIdentifierBase, props.sourceInstanceIdentifier)) {
    throw new Error(
      `Refusing to manage RDS instance '${current}': its identifier is not '${props.instanceIdentifierBase}-<4 hex>'. ` +
        'Deploy with -c refreshData=true to restore a new copy.',
    );
  }
  const instance = await describeInstance(current);
  if (!instance) {
    throw new Error(
      `The branch database '${current}' no longer exists (deleted outside CloudFormation?). It is not restored ` +
        `silently from a different snapshot. Deploy with -c refreshData=true to restore a new copy from the newest ` +
        `snapshot of '${props.sourceInstanceIdentifier}'.`,
    );
  }
  if (!isOwnedInstance(instance, props.instanceIdentifierBase, props.sourceInstanceIdentifier)) {
    throw new Error(`Refusing to manage RDS instance '${current}': it lacks the staging:managed-by tag this library sets.`);
  }
  const restoredFrom = tagValue(instance.TagList, RestoreTagKeys.SOURCE);
  if (restoredFrom && restoredFrom !== props.sourceInstanceIdentifier) {
    log('SourceInstanceIdentifier changed; the pinned copy is kept until the next refresh', {
      restoredFrom,
      source: props.sourceInstanceIdentifier,
    });
  }
  // In-place changes (InstanceClass, security groups, storage, password) are applied by isComplete.
  return { PhysicalResourceId: current, Data: pinnedData(instance) };
}

// ---------------------------------------------------------------------------------------------
// isComplete for Create/Update: one step towards the staging shape per call

async function converge(instance: DBInstance, props: RestoreProps): Promise<IsCompleteResponse> {
  const id = instance.DBInstanceIdentifier!;
  const status = instance.DBInstanceStatus ?? 'unknown';

  if (FAILED_STATUSES.has(status)) {
    const infos = (instance.StatusInfos ?? [])
      .map((i) => i.Message)
      .filter((m): m is string => !!m)
      .join('; ');
    throw new Error(
      `RDS instance '${id}' (from snapshot '${tagValue(instance.TagList, RestoreTagKeys.SNAPSHOT) ?? 'unknown'}') ` +
        `ended in status '${status}'${infos ? ` (${infos})` : ''}. ${failureHint(status, props)}`,
    );
  }
  if (STOPPED_STATUSES.has(status)) {
    throw new Error(
      `RDS instance '${id}' is ${status}; start it (aws rds start-db-instance --db-instance-identifier ${id}) and deploy again.`,
    );
  }
  if (status === 'deleting') {
    throw new Error(`RDS instance '${id}' is being deleted; deploy with -c refreshData=true to restore a new copy.`);
  }

  const todo = convergence(instance, props);
  const fields = Object.keys(todo.modify);
  if (fields.length > 0 || todo.needsPassword) {
    if (status !== 'available') {
      log('waiting for instance to become available before modifying it', { instanceIdentifier: id, status });
      return { IsComplete: false };
    }
    const input: ModifyDBInstanceMessage = { DBInstanceIdentifier: id, ApplyImmediately: true, ...todo.modify };
    if (todo.needsPassword) {
      const secret = await readMasterPassword(props.masterUserSecretArn);
      if (secret.username && instance.MasterUsername && secret.username !== instance.MasterUsername) {
        log('secret username differs from the restored master username; RDS cannot rename it', {
          instanceIdentifier: id,
          masterUsername: instance.MasterUsername,
        });
      }
      input.MasterUserPassword = secret.password;
    }
    const changed = todo.needsPassword ? [...fields, 'MasterUserPassword'] : fields;
    try {
      await rds.send(new ModifyDBInstanceCommand(input));
    } catch (e) {
      if (isAwsError(e, ...INVALID_STATE)) {
        log('instance not ready for modification yet', { instanceIdentifier: id, status });
        return { IsComplete: false };
      }
      // The input holds the password: report only the field names.
      fail(`Could not modify RDS instance '${id}' (${changed.join(', ')})`, e);
    }
    if (todo.needsPassword) {
      try {
        await rds.send(
          new AddTagsToResourceCommand({
            ResourceName: instance.DBInstanceArn,
            Tags: [{ Key: RestoreTagKeys.PASSWORD_APPLIED, Value: props.masterUserSecretArn }],
          }),
        );
      } catch (e) {
        fail(`Could not tag RDS instance '${id}' after setting its master password`, e);
      }
    }
    log('modification requested', { instanceIdentifier: id, fields: changed });
    return { IsComplete: false };
  }

  if (todo.pending.length > 0 || !READY_STATUSES.has(status) || !instance.Endpoint?.Address) {
    log('waiting for instance', { instanceIdentifier: id, status, pending: todo.pending });
    return { IsComplete: false };
  }
  log('instance ready', { instanceIdentifier: id, status });
  return {
    IsComplete: true,
    Data: {
      ...pinnedData(instance),
      InstanceArn: instance.DBInstanceArn ?? '',
      Endpoint: instance.Endpoint.Address,
      Port: String(instance.Endpoint.Port ?? ''),
      Engine: instance.Engine ?? '',
      EngineVersion: instance.EngineVersion ?? '',
      MasterUsername: instance.MasterUsername ?? '',
      // The copy keeps the source's database; a restore from production may not name it like staging.
      DatabaseName: instance.DBName ?? '',
    },
  };
}

/** Deletes an instance the failing request restored itself; returns a sentence for the error. */
async function deleteHalfCreated(instance: DBInstance, props: RestoreProps): Promise<string> {
  const id = instance.DBInstanceIdentifier!;
  if (!isOwnedInstance(instance, props.instanceIdentifierBase, props.sourceInstanceIdentifier)) {
    return `RDS instance '${id}' was left alone (not owned by this resource).`;
  }
  try {
    await requestDelete(instance);
    return `The half-created instance '${id}' is being deleted.`;
  } catch (e) {
    logError('could not delete the half-created instance', { instanceIdentifier: id, error: describeError(e) });
    return (
      `Deleting the half-created instance '${id}' failed too (${describeError(e)}); ` +
      `delete it with: aws rds delete-db-instance --db-instance-identifier ${id} --skip-final-snapshot --delete-automated-backups`
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Delete

/** The instance a Delete may act on, or undefined when there is nothing of ours to delete. */
async function deletable(event: OnEventRequest): Promise<DBInstance | undefined> {
  const props = event.ResourceProperties ?? {};
  const id = event.PhysicalResourceId ?? '';
  const base = props.InstanceIdentifierBase === undefined ? undefined : String(props.InstanceIdentifierBase);
  const source = props.SourceInstanceIdentifier === undefined ? undefined : String(props.SourceInstanceIdentifier);
  if (!isOwnedIdentifier(id, base, source)) {
    log('not deleting: identifier is not one this resource restores', { physicalResourceId: id, base, source });
    return undefined;
  }
  const instance = await describeInstance(id);
  if (!instance) {
    log('instance already gone', { instanceIdentifier: id });
    return undefined;
  }
  if (!isOwnedInstance(instance, base!, source)) {
    log('not deleting: instance lacks the staging:managed-by tag', { instanceIdentifier: id });
    return undefined;
  }
  return instance;
}

async function onDelete(event: OnEventRequest): Promise<OnEventResponse> {
  const instance = await deletable(event);
  if (instance && instance.DBInstanceStatus !== 'deleting') await requestDelete(instance);
  return { PhysicalResourceId: event.PhysicalResourceId };
}

async function deleteIsComplete(event: IsCompleteRequest): Promise<IsCompleteResponse> {
  const instance = await deletable(event);
  if (!instance) return { IsComplete: true };
  if (instance.DBInstanceStatus !== 'deleting') {
    // RDS refused earlier (e.g. the instance was modifying): ask again.
    await requestDelete(instance);
  }
  log('waiting for instance deletion', { instanceIdentifier: instance.DBInstanceIdentifier, status: instance.DBInstanceStatus });
  return { IsComplete: false };
}

async function requestDelete(instance: DBInstance): Promise<void> {
  const id = instance.DBInstanceIdentifier!;
  if (instance.DeletionProtection) {
    throw new Error(
      `RDS instance '${id}' has deletion protection enabled (set outside this library). Disable it ` +
        `(aws rds modify-db-instance --db-instance-identifier ${id} --no-deletion-protection --apply-immediately) and retry.`,
    );
  }
  try {
    await rds.send(
      new DeleteDBInstanceCommand({ DBInstanceIdentifier: id, SkipFinalSnapshot: true, DeleteAutomatedBackups: true }),
    );
    log('deletion requested', { instanceIdentifier: id });
  } catch (e) {
    if (isAwsError(e, ...NOT_FOUND)) return;
    if (isAwsError(e, ...INVALID_STATE)) {
      log('RDS cannot delete the instance in its current state yet; will retry', {
        instanceIdentifier: id,
        status: instance.DBInstanceStatus,
        error: describeError(e),
      });
      return;
    }
    fail(`Could not delete RDS instance '${id}'`, e);
  }
}

// ---------------------------------------------------------------------------------------------

async function describeInstance(id: string): Promise<DBInstance | undefined> {
  try {
    const out = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
    return out.DBInstances?.[0];
  } catch (e) {
    if (isAwsError(e, ...NOT_FOUND)) return undefined;
    fail(`Could not describe RDS instance '${id}'`, e);
  }
}
