/**
 * Custom resource: one Solr collection per branch on the shared Solr server.
 *
 * Mode `restore` (default): the branch's collection is restored from the newest backup point of
 * `BackupName` at `BackupLocation` (the shared-staging collection's backup). When no backup exists
 * yet, a fresh incremental BACKUP of `SourceCollection` is taken first. Mode `empty`: a new empty
 * collection from `ConfigSet` (default: the source collection's configset).
 *
 * BACKUP, RESTORE and CREATE run asynchronously in Solr (`async=<id>`); isComplete polls
 * REQUESTSTATUS. The async ids are derived from the collection name and the CloudFormation
 * RequestId, so every invocation can resume from the event and Solr's state alone.
 *
 * PhysicalResourceId is the collection name. An Update that keeps `Collection` is a no-op (the
 * branch's data stays pinned); a new `Collection` creates a new collection and CloudFormation
 * deletes the old one. Delete removes the collection; a missing collection is success; the
 * source collection is never deleted.
 */
import { createHash } from 'node:crypto';
import {
  IsCompleteRequest,
  IsCompleteResponse,
  OnEventRequest,
  OnEventResponse,
  log,
  logError,
} from '../shared/provider';
import { describeError } from '../shared/errors';
import { readCredentials } from '../shared/secrets';
import { entry } from '../shared/entry';
import {
  SolrCollectionProperties,
  SolrConnectionProperties,
  isSolrIdentifier,
  parseDeleteProperties,
  parseProperties,
} from '../../lib/contract/providers/solr-collection';
import { AsyncStatus, SolrBody, SolrClient, SolrError, field } from './solr-client';

/** Backup locations that hold no backup of that name yet answer LISTBACKUP with this error. */
const NO_BACKUP_PATTERN = /expected to hold a single directory\. Number found: 0|NoSuchFileException/;
const COLLECTION_NOT_FOUND_PATTERN = /Could not find collection/i;

interface AsyncIds {
  readonly backup: string;
  readonly restore: string;
  readonly create: string;
}

/**
 * Deterministic Solr async ids for one CloudFormation request. Solr allows any id without '/';
 * the collection prefix keeps them readable in REQUESTSTATUS, the hash keeps them unique per request.
 */
export function asyncIds(collection: string, requestId: string): AsyncIds {
  const hash = createHash('sha256').update(`${collection}\n${requestId}`).digest('hex').slice(0, 12);
  const prefix = collection.slice(0, 40);
  return {
    backup: `${prefix}-backup-${hash}`,
    restore: `${prefix}-restore-${hash}`,
    create: `${prefix}-create-${hash}`,
  };
}

async function handleEvent(event: OnEventRequest): Promise<OnEventResponse> {
  switch (event.RequestType) {
    case 'Create':
      return startCreate(event, parseProperties(event.ResourceProperties, event.LogicalResourceId));
    case 'Update': {
      const props = parseProperties(event.ResourceProperties, event.LogicalResourceId);
      if (props.collection === event.PhysicalResourceId) {
        log('collection unchanged: update is a no-op, the branch data stays pinned', { collection: props.collection });
        return { PhysicalResourceId: props.collection, Data: dataFor(props) };
      }
      log('collection renamed: creating the new collection, CloudFormation deletes the old one', {
        from: event.PhysicalResourceId,
        to: props.collection,
      });
      return startCreate(event, props);
    }
    case 'Delete':
      return deleteCollection(event);
    default:
      throw new Error(`Unsupported RequestType '${String((event as OnEventRequest).RequestType)}'`);
  }
}
export const onEvent = entry('solr-collection.onEvent', handleEvent);

async function checkComplete(event: IsCompleteRequest): Promise<IsCompleteResponse> {
  try {
    if (event.RequestType === 'Delete') return await pollDelete(event);
    const props = parseProperties(event.ResourceProperties, event.LogicalResourceId);
    if (event.RequestType === 'Update' && props.collection === event.OldResourceProperties?.Collection) {
      return { IsComplete: true, Data: dataFor(props) };
    }
    return await pollCreate(event, props);
  } catch (error) {
    if (error instanceof SolrError && error.transient) {
      // Solr restarting or briefly unreachable: the async work goes on in Solr; look again next poll.
      logError('Solr not reachable while polling; will retry on the next poll', { error: error.message });
      return { IsComplete: false };
    }
    throw error;
  }
}
export const isComplete = entry('solr-collection.isComplete', checkComplete);

// ---------------------------------------------------------------------------------------------
// Create (and Update with a new collection name)

async function startCreate(event: OnEventRequest, props: SolrCollectionProperties): Promise<OnEventResponse> {
  const solr = await clientFor(props);
  const response: OnEventResponse = { PhysicalResourceId: props.collection, Data: dataFor(props) };
  const ids = asyncIds(props.collection, event.RequestId);

  if (await collectionExists(solr, props.collection)) {
    // A replayed Create, or a restore this request already started: adopt it. isComplete then
    // follows this request's async work if there is any, otherwise completes at once.
    log('collection already exists: adopting it', { collection: props.collection });
    return response;
  }

  if (props.mode === 'empty') {
    const configName = props.configSet ?? (await sourceConfigName(solr, props.sourceCollection));
    await submitOnce(solr, 'CREATE', ids.create, {
      name: props.collection,
      'collection.configName': configName,
      numShards: props.numShards,
      replicationFactor: props.replicationFactor,
    });
    return response;
  }

  // Restore mode. A replayed onEvent for this very request may already have submitted work.
  const [restore, backup] = await Promise.all([solr.requestStatus(ids.restore), solr.requestStatus(ids.backup)]);
  if (restore.state !== 'notfound' || backup.state !== 'notfound') {
    log('this request already submitted its Solr work; isComplete follows it', {
      restoreState: restore.state,
      backupState: backup.state,
    });
    return response;
  }

  if (await backupExists(solr, props)) {
    await submitRestore(solr, props, ids);
  } else {
    log('no backup of the source collection yet: taking one before the restore', {
      sourceCollection: props.sourceCollection,
      backupName: props.backupName,
    });
    await submitOnce(solr, 'BACKUP', ids.backup, {
      name: props.backupName,
      collection: props.sourceCollection,
      location: props.backupLocation,
      repository: props.backupRepository,
      // Solr 9 defaults to incremental; Solr 8.9+ needs it said. LISTBACKUP reads only this format.
      incremental: true,
    });
  }
  return response;
}

async function pollCreate(event: IsCompleteRequest, props: SolrCollectionProperties): Promise<IsCompleteResponse> {
  const solr = await clientFor(props);
  const ids = asyncIds(props.collection, event.RequestId);

  if (props.mode === 'empty') {
    const create = await solr.requestStatus(ids.create);
    return followFinalStep(solr, props, ids, 'CREATE', create);
  }

  const restore = await solr.requestStatus(ids.restore);
  if (restore.state !== 'notfound') return followFinalStep(solr, props, ids, 'RESTORE', restore);

  const backup = await solr.requestStatus(ids.backup);
  switch (backup.state) {
    case 'submitted':
    case 'running':
      log('waiting for the backup of the source collection', { requestId: ids.backup, state: backup.state });
      return { IsComplete: false };
    case 'failed':
      await clearStatuses(solr, ids);
      throw new Error(
        `Solr BACKUP of source collection '${props.sourceCollection}' (backup '${props.backupName}' at ` +
          `'${props.backupLocation}') failed: ${backup.message}. No branch collection was created; check that ` +
          'BackupLocation exists and is writable on every Solr node, then redeploy',
      );
    case 'completed':
      log('backup completed: restoring into the branch collection', { requestId: ids.backup });
      await submitRestore(solr, props, ids);
      return { IsComplete: false };
    case 'notfound':
    default:
      // Nothing was submitted for this request: onEvent adopted an existing collection.
      return finishIfPresent(solr, props, ids, 'no RESTORE or BACKUP request of this deployment is known to Solr');
  }
}

/** Follows the step that creates the collection (RESTORE or CREATE) to its end. */
async function followFinalStep(
  solr: SolrClient,
  props: SolrCollectionProperties,
  ids: AsyncIds,
  action: 'RESTORE' | 'CREATE',
  status: AsyncStatus,
): Promise<IsCompleteResponse> {
  switch (status.state) {
    case 'submitted':
    case 'running':
      log(`waiting for ${action}`, { collection: props.collection, state: status.state });
      return { IsComplete: false };
    case 'completed':
      return finishIfPresent(solr, props, ids, `${action} reported completed`);
    case 'failed':
      return failAndCleanUp(solr, props, ids, action, status.message);
    case 'notfound':
    default:
      return finishIfPresent(solr, props, ids, `no ${action} request of this deployment is known to Solr`);
  }
}

async function finishIfPresent(
  solr: SolrClient,
  props: SolrCollectionProperties,
  ids: AsyncIds,
  what: string,
): Promise<IsCompleteResponse> {
  if (!(await collectionExists(solr, props.collection))) {
    await clearStatuses(solr, ids);
    throw new Error(
      `Solr collection '${props.collection}' does not exist although ${what}. Someone may have deleted it or ` +
        'cleared the async request statuses (DELETESTATUS flush); redeploy to try again',
    );
  }
  await clearStatuses(solr, ids);
  log('collection ready', { collection: props.collection });
  return { IsComplete: true, Data: dataFor(props) };
}

/**
 * A failed Create gets no Delete from CloudFormation, so the half-built collection goes here.
 * A transient error during cleanup propagates as transient: the next poll sees the same failed
 * status and tries the cleanup again.
 */
async function failAndCleanUp(
  solr: SolrClient,
  props: SolrCollectionProperties,
  ids: AsyncIds,
  action: string,
  solrMessage: string,
): Promise<never> {
  let cleanup = 'the partial collection was deleted';
  try {
    await deleteOwnCollection(solr, props.collection, props.sourceCollection);
  } catch (error) {
    if (error instanceof SolrError && error.transient) throw error;
    cleanup =
      `deleting the partial collection also failed (${describeError(error)}); ` +
      `delete collection '${props.collection}' by hand`;
  }
  await clearStatuses(solr, ids);
  const hint =
    action === 'RESTORE'
      ? `check the backup '${props.backupName}' at '${props.backupLocation}' and Solr's logs`
      : "check the configset and Solr's logs";
  throw new Error(
    `Solr ${action} of collection '${props.collection}' failed: ${solrMessage}. ${capitalize(cleanup)}; ${hint}, then redeploy`,
  );
}

async function submitRestore(solr: SolrClient, props: SolrCollectionProperties, ids: AsyncIds): Promise<void> {
  await submitOnce(solr, 'RESTORE', ids.restore, {
    name: props.backupName,
    collection: props.collection,
    location: props.backupLocation,
    repository: props.backupRepository,
    // Without backupId Solr restores the newest backup point.
    replicationFactor: props.replicationFactorGiven ? props.replicationFactor : undefined,
  });
}

// ---------------------------------------------------------------------------------------------
// Delete

async function deleteCollection(event: OnEventRequest): Promise<OnEventResponse> {
  const name = event.PhysicalResourceId ?? '';
  const props = parseDeleteProperties(event.ResourceProperties, event.LogicalResourceId);
  if (!isSolrIdentifier(name)) {
    // e.g. the RequestId-style id of a Create that failed before it had a collection name.
    log('physical id is not a collection name: nothing to delete', { physicalResourceId: name });
    return { PhysicalResourceId: name };
  }
  if (props.sourceCollection !== undefined && name === props.sourceCollection) {
    logError('refusing to delete the shared source collection; leaving it in place', { collection: name });
    return { PhysicalResourceId: name };
  }
  const solr = await clientFor(props);
  try {
    await deleteOwnCollection(solr, name, props.sourceCollection);
  } catch (error) {
    if (!(error instanceof SolrError && error.transient)) throw error;
    // Solr may still be deleting a large collection; isComplete checks and retries.
    logError('DELETE did not answer in time; isComplete will check', { collection: name, error: error.message });
  }
  return { PhysicalResourceId: name };
}

async function pollDelete(event: IsCompleteRequest): Promise<IsCompleteResponse> {
  const name = event.PhysicalResourceId ?? '';
  const props = parseDeleteProperties(event.ResourceProperties, event.LogicalResourceId);
  if (!isSolrIdentifier(name) || name === props.sourceCollection) return { IsComplete: true };
  const solr = await clientFor(props);
  if (!(await collectionExists(solr, name))) return { IsComplete: true };
  log('collection still listed: deleting again', { collection: name });
  await deleteOwnCollection(solr, name, props.sourceCollection);
  return { IsComplete: !(await collectionExists(solr, name)) };
}

/** DELETE with the source guard; a missing collection counts as deleted. */
async function deleteOwnCollection(solr: SolrClient, name: string, sourceCollection: string | undefined): Promise<void> {
  if (sourceCollection !== undefined && name === sourceCollection) {
    throw new Error(`Refusing to delete '${name}': it is the shared source collection`);
  }
  try {
    await solr.call('DELETE', { name });
    log('collection deleted', { collection: name });
  } catch (error) {
    if (error instanceof SolrError && COLLECTION_NOT_FOUND_PATTERN.test(error.solrMessage ?? error.message)) {
      log('collection already gone', { collection: name });
      return;
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Solr helpers

async function collectionExists(solr: SolrClient, name: string): Promise<boolean> {
  const body = await solr.call('LIST');
  return Array.isArray(body.collections) && body.collections.includes(name);
}

async function sourceConfigName(solr: SolrClient, sourceCollection: string): Promise<string> {
  let body: SolrBody;
  try {
    body = await solr.call('CLUSTERSTATUS', { collection: sourceCollection });
  } catch (error) {
    if (error instanceof SolrError && !error.transient) {
      throw new Error(
        `Could not read the configset of source collection '${sourceCollection}': ${error.solrMessage ?? error.message}. ` +
          'Pass ConfigSet explicitly or fix SourceCollection',
      );
    }
    throw error;
  }
  const configName = field(body, 'cluster', 'collections', sourceCollection, 'configName');
  if (typeof configName !== 'string' || !configName) {
    throw new Error(
      `Solr CLUSTERSTATUS did not report a configName for source collection '${sourceCollection}'; pass ConfigSet explicitly`,
    );
  }
  return configName;
}

async function backupExists(solr: SolrClient, props: SolrCollectionProperties): Promise<boolean> {
  try {
    const body = await solr.call('LISTBACKUP', {
      name: props.backupName,
      location: props.backupLocation,
      repository: props.backupRepository,
    });
    const count = Array.isArray(body.backups) ? body.backups.length : 0;
    log('backups found', { backupName: props.backupName, count });
    return count > 0;
  } catch (error) {
    if (!(error instanceof SolrError) || error.transient) throw error;
    if (NO_BACKUP_PATTERN.test(error.solrMessage ?? '')) return false;
    throw new Error(
      `Solr LISTBACKUP of backup '${props.backupName}' at '${props.backupLocation}' failed: ` +
        `${error.solrMessage ?? error.message}. BackupLocation must exist on every Solr node (or in the ` +
        'BackupRepository) and hold incremental backups (Solr 8.9+)',
    );
  }
}

/**
 * Submits an async action unless Solr already knows this request id (a replayed invocation),
 * which keeps Solr from answering "Task with the same requestid already exists".
 */
async function submitOnce(
  solr: SolrClient,
  action: string,
  requestId: string,
  params: Record<string, string | number | boolean | undefined>,
): Promise<void> {
  const existing = await solr.requestStatus(requestId);
  if (existing.state !== 'notfound') {
    log(`${action} already submitted`, { requestId, state: existing.state });
    return;
  }
  try {
    await solr.call(action, { ...params, async: requestId });
  } catch (error) {
    if (!(error instanceof SolrError && error.transient)) throw error;
    // Solr may have queued it anyway (and a RESTORE would then create the collection): don't fail
    // here and leave an orphan; isComplete reads REQUESTSTATUS and follows or reports it.
    logError(`${action} submission unanswered; isComplete will check whether Solr accepted it`, {
      requestId,
      error: error.message,
    });
    return;
  }
  log(`${action} submitted`, { requestId });
}

/** DELETESTATUS for this request's async ids, so they don't pile up (Solr keeps at most 10,000). */
async function clearStatuses(solr: SolrClient, ids: AsyncIds): Promise<void> {
  for (const requestId of [ids.backup, ids.restore, ids.create]) {
    try {
      await solr.call('DELETESTATUS', { requestid: requestId });
    } catch (error) {
      logError('DELETESTATUS failed; the stored status stays in Solr', {
        requestId,
        error: describeError(error),
      });
    }
  }
}

async function clientFor(props: SolrConnectionProperties): Promise<SolrClient> {
  const authorization = props.credentialsSecretArn ? await basicAuth(props.credentialsSecretArn) : undefined;
  return new SolrClient({ baseUrl: props.solrUrl, authorization, timeoutMs: props.requestTimeoutMs });
}

/** Basic auth from the secret's "username" and "password"; errors never include its content. */
async function basicAuth(secretArn: string): Promise<string> {
  const { username, password } = await readCredentials(secretArn, 'Solr credentials secret', 'required');
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

function dataFor(props: SolrCollectionProperties): Record<string, string> {
  return {
    Collection: props.collection,
    CollectionUrl: `${props.solrUrl}/${encodeURIComponent(props.collection)}`,
  };
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
