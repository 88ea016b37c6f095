import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { asyncIds, isComplete, onEvent } from '../../lambda/solr-collection';
import { IsCompleteRequest, OnEventRequest, OnEventResponse, RequestType } from '../../lambda/shared/provider';
import { captureLogs, providerEvent } from '../util/handler-events';
import { FakeSolr } from './solr-collection-fake-server';
import { ResourceTypes } from '../../lib/contract/providers';

const secretsMock = mockClient(SecretsManagerClient);

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:staging/solr-AbCdEf';
const PASSWORD = 'pa55-w0rd-Never-Logged';
const LOCATION = '/var/solr/backups';

let solr: FakeSolr;
let solrUrl: string;
let logged: string[];

function props(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
    SolrUrl: solrUrl,
    Collection: 'products-feature-login',
    SourceCollection: 'products',
    BackupLocation: LOCATION,
    ...overrides,
  };
}

const event = (type: RequestType, resourceProperties: Record<string, unknown>, extra: Partial<OnEventRequest> = {}): OnEventRequest =>
  providerEvent({ resourceType: ResourceTypes.SOLR_COLLECTION, logicalResourceId: 'SearchCollection', stackName: 'staging-feature-login' }, type, resourceProperties, extra);

/** Runs onEvent, then isComplete until it reports completion, as the Provider framework does. */
async function deploy(
  request: OnEventRequest,
  maxPolls = 30,
): Promise<{ response: OnEventResponse; data?: Record<string, unknown>; polls: number }> {
  const response = await onEvent(request);
  const waiting: IsCompleteRequest = { ...request, ...response };
  for (let polls = 1; polls <= maxPolls; polls++) {
    const result = await isComplete(waiting);
    if (result.IsComplete) return { response, data: { ...response.Data, ...result.Data }, polls };
  }
  throw new Error(`isComplete did not finish within ${maxPolls} polls`);
}

beforeEach(async () => {
  secretsMock.reset();
  solr = new FakeSolr();
  solrUrl = await solr.start();
  solr.addCollection('products', 'products-config');
  logged = captureLogs();
});

afterEach(async () => {
  jest.restoreAllMocks();
  await solr.stop();
});

describe('Create, restore mode', () => {
  test('restores from the existing backup without taking a new one', async () => {
    solr.addBackup(LOCATION, 'products-staging', 'products', 'products-config');
    const request = event('Create', props({ BackupRepository: 'local' }));

    const { response, data, polls } = await deploy(request);

    expect(response.PhysicalResourceId).toBe('products-feature-login');
    expect(data).toEqual({
      Collection: 'products-feature-login',
      CollectionUrl: `${solrUrl}/products-feature-login`,
    });
    expect(polls).toBeGreaterThan(1); // it waited for the async RESTORE
    expect(solr.requestsOf('BACKUP')).toHaveLength(0);
    const restores = solr.requestsOf('RESTORE');
    expect(restores).toHaveLength(1);
    const ids = asyncIds('products-feature-login', request.RequestId);
    expect(restores[0].params).toEqual({
      action: 'RESTORE',
      name: 'products-staging',
      collection: 'products-feature-login',
      location: LOCATION,
      repository: 'local',
      async: ids.restore,
      wt: 'json',
    });
    expect(solr.requestsOf('LISTBACKUP')[0].params).toMatchObject({ name: 'products-staging', location: LOCATION });
    expect(solr.collections.get('products-feature-login')).toMatchObject({
      restoredFrom: 'products-staging',
      configName: 'products-config',
    });
    // Stored async statuses are cleaned up.
    expect(solr.requestsOf('DELETESTATUS').map((r) => r.params.requestid)).toEqual(
      expect.arrayContaining([ids.restore, ids.backup]),
    );
    expect(solr.tasks.size).toBe(0);
  });

  test('takes a fresh incremental backup of the source first when none exists, then restores', async () => {
    solr.locations.add(LOCATION);
    const request = event('Create', props({ BackupName: 'products-nightly' }));

    const { response } = await deploy(request);

    expect(response.PhysicalResourceId).toBe('products-feature-login');
    const actions = solr.actions().filter((a) => a === 'BACKUP' || a === 'RESTORE');
    expect(actions).toEqual(['BACKUP', 'RESTORE']);
    const ids = asyncIds('products-feature-login', request.RequestId);
    expect(solr.requestsOf('BACKUP')[0].params).toMatchObject({
      name: 'products-nightly',
      collection: 'products',
      location: LOCATION,
      incremental: 'true',
      async: ids.backup,
    });
    expect(solr.requestsOf('BACKUP')[0].params.repository).toBeUndefined();
    expect(solr.backups.get(`${LOCATION}|products-nightly`)?.points).toEqual([0]);
    expect(solr.collections.get('products-feature-login')?.restoredFrom).toBe('products-nightly');
    expect(solr.tasks.size).toBe(0);
  });

  test('submits RESTORE only once the backup has completed', async () => {
    solr.locations.add(LOCATION);
    const request = event('Create', props());
    const response = await onEvent(request);
    const waiting = { ...request, ...response };

    expect(solr.requestsOf('RESTORE')).toHaveLength(0);
    // submitted → running → running → finishes; RESTORE must not appear before "completed" was seen.
    for (let i = 0; i < 3; i++) {
      expect((await isComplete(waiting)).IsComplete).toBe(false);
      expect(solr.requestsOf('RESTORE')).toHaveLength(0);
    }
    expect((await isComplete(waiting)).IsComplete).toBe(false); // sees "completed", submits RESTORE
    expect(solr.requestsOf('RESTORE')).toHaveLength(1);
  });

  test('passes ReplicationFactor to RESTORE only when given', async () => {
    solr.addBackup(LOCATION, 'products-staging', 'products');
    await deploy(event('Create', props({ ReplicationFactor: '2' })));
    expect(solr.requestsOf('RESTORE')[0].params.replicationFactor).toBe('2');
    expect(solr.collections.get('products-feature-login')?.replicationFactor).toBe(2);
  });

  test('a RESTORE that fails throws with Solr message and deletes the half-restored collection', async () => {
    solr.addBackup(LOCATION, 'products-staging', 'products');
    solr.failNextTask.set('RESTORE', 'Error restoring shard1: index files corrupt (checksum failed)');
    const request = event('Create', props());

    const response = await onEvent(request);
    const waiting = { ...request, ...response };
    let error: Error | undefined;
    for (let i = 0; i < 10 && !error; i++) {
      try {
        await isComplete(waiting);
        // The collection exists while RESTORE runs, as in Solr.
      } catch (e) {
        error = e as Error;
      }
    }

    expect(error?.message).toMatch(
      /Solr RESTORE of collection 'products-feature-login' failed: Error restoring shard1: index files corrupt \(checksum failed\)/,
    );
    expect(error?.message).toMatch(/partial collection was deleted/);
    expect(solr.requestsOf('DELETE').map((r) => r.params.name)).toEqual(['products-feature-login']);
    expect(solr.collections.has('products-feature-login')).toBe(false);
    expect(solr.collections.has('products')).toBe(true);
    expect(solr.tasks.size).toBe(0);
  });

  test('a BACKUP that fails throws with Solr message and creates nothing', async () => {
    solr.locations.add(LOCATION);
    solr.failNextTask.set('BACKUP', 'Failed to write backup_0.properties: No space left on device');

    await expect(deploy(event('Create', props()))).rejects.toThrow(
      /Solr BACKUP of source collection 'products'.*No space left on device.*No branch collection was created/,
    );
    expect(solr.requestsOf('RESTORE')).toHaveLength(0);
    expect(solr.requestsOf('DELETE')).toHaveLength(0);
    expect(solr.collections.has('products-feature-login')).toBe(false);
  });

  test('surfaces the LISTBACKUP error when the backup location does not exist', async () => {
    await expect(onEvent(event('Create', props({ BackupLocation: '/mnt/missing' })))).rejects.toThrow(
      /LISTBACKUP of backup 'products-staging' at '\/mnt\/missing' failed: specified location file:\/\/\/mnt\/missing does not exist\./,
    );
    expect(solr.requestsOf('BACKUP')).toHaveLength(0);
    expect(solr.requestsOf('RESTORE')).toHaveLength(0);
  });

  test('a failed restore during an Update rename deletes only the new collection', async () => {
    solr.addBackup(LOCATION, 'products-staging', 'products');
    solr.addCollection('products-feature-old', 'products-config');
    solr.failNextTask.set('RESTORE', 'restore failed on node 127.0.0.1:8983_solr');
    const request = event('Update', props({ Collection: 'products-feature-new' }), {
      PhysicalResourceId: 'products-feature-old',
      OldResourceProperties: props({ Collection: 'products-feature-old' }),
    });

    await expect(deploy(request)).rejects.toThrow(/restore failed on node/);
    expect(solr.collections.has('products-feature-new')).toBe(false);
    expect(solr.collections.has('products-feature-old')).toBe(true);
  });
});

describe('Create, empty mode', () => {
  test('creates an empty collection from the given configset', async () => {
    solr.configSets.add('search-v2');
    const request = event('Create', props({ Mode: 'empty', ConfigSet: 'search-v2', NumShards: '2', ReplicationFactor: '2' }));

    const { response } = await deploy(request);

    expect(response.PhysicalResourceId).toBe('products-feature-login');
    expect(solr.requestsOf('CREATE')[0].params).toMatchObject({
      name: 'products-feature-login',
      'collection.configName': 'search-v2',
      numShards: '2',
      replicationFactor: '2',
      async: asyncIds('products-feature-login', request.RequestId).create,
    });
    expect(solr.collections.get('products-feature-login')).toEqual({
      configName: 'search-v2',
      numShards: 2,
      replicationFactor: 2,
    });
    expect(solr.requestsOf('CLUSTERSTATUS')).toHaveLength(0);
    expect(solr.requestsOf('LISTBACKUP')).toHaveLength(0);
  });

  test("defaults to the source collection's configset and 1 shard / 1 replica", async () => {
    await deploy(event('Create', props({ Mode: 'empty', BackupLocation: undefined })));

    expect(solr.requestsOf('CLUSTERSTATUS')[0].params.collection).toBe('products');
    expect(solr.requestsOf('CREATE')[0].params).toMatchObject({
      'collection.configName': 'products-config',
      numShards: '1',
      replicationFactor: '1',
    });
    expect(solr.collections.get('products-feature-login')?.configName).toBe('products-config');
  });

  test('a CREATE that fails in Solr surfaces its message', async () => {
    await expect(deploy(event('Create', props({ Mode: 'empty', ConfigSet: 'nope' })))).rejects.toThrow(
      /Solr CREATE of collection 'products-feature-login' failed: Can not find the specified config set: nope/,
    );
    expect(solr.collections.has('products-feature-login')).toBe(false);
  });

  test('a missing source collection gives an actionable error', async () => {
    await expect(onEvent(event('Create', props({ Mode: 'empty', SourceCollection: 'ghost' })))).rejects.toThrow(
      /configset of source collection 'ghost': Collection: ghost not found\. Pass ConfigSet explicitly/,
    );
  });
});

describe('replays', () => {
  test('a replayed Create adopts the existing collection without touching its data', async () => {
    solr.addBackup(LOCATION, 'products-staging', 'products');
    await deploy(event('Create', props()));
    const before = solr.requests.length;

    const replay = event('Create', props());
    const { response, data, polls } = await deploy(replay);

    expect(response.PhysicalResourceId).toBe('products-feature-login');
    expect(data?.Collection).toBe('products-feature-login');
    expect(polls).toBe(1);
    const after = solr.requests.slice(before).map((r) => r.action);
    expect(after).not.toContain('RESTORE');
    expect(after).not.toContain('BACKUP');
    expect(after).not.toContain('DELETE');
  });

  test('replaying onEvent with the same RequestId while work runs submits nothing twice', async () => {
    solr.locations.add(LOCATION);
    const request = event('Create', props());
    const first = await onEvent(request);
    await isComplete({ ...request, ...first }); // BACKUP now running

    const second = await onEvent(request); // e.g. the Lambda invocation retried
    expect(second.PhysicalResourceId).toBe(first.PhysicalResourceId);
    expect(solr.requestsOf('BACKUP')).toHaveLength(1);

    const waiting = { ...request, ...second };
    let done = false;
    for (let i = 0; i < 20 && !done; i++) done = (await isComplete(waiting)).IsComplete;
    expect(done).toBe(true);
    expect(solr.requestsOf('RESTORE')).toHaveLength(1);
    expect(solr.collections.get('products-feature-login')?.restoredFrom).toBe('products-staging');
  });

  test('an adopted replay while RESTORE runs waits for the RESTORE to finish', async () => {
    solr.addBackup(LOCATION, 'products-staging', 'products');
    const request = event('Create', props());
    const first = await onEvent(request);
    await isComplete({ ...request, ...first }); // RESTORE running, collection exists but is partial
    expect(solr.collections.get('products-feature-login')?.partial).toBe(true);

    const second = await onEvent(request);
    expect(solr.requestsOf('RESTORE')).toHaveLength(1);
    expect((await isComplete({ ...request, ...second })).IsComplete).toBe(false);
  });

  test('replaying an empty-mode onEvent while CREATE is queued does not resubmit it', async () => {
    const request = event('Create', props({ Mode: 'empty' }));
    const first = await onEvent(request);
    const second = await onEvent(request); // Solr would answer "Task with the same requestid already exists"

    expect(second).toEqual(first);
    expect(solr.requestsOf('CREATE')).toHaveLength(1);
    let done = false;
    for (let i = 0; i < 10 && !done; i++) done = (await isComplete({ ...request, ...second })).IsComplete;
    expect(done).toBe(true);
    expect(solr.collections.has('products-feature-login')).toBe(true);
  });

  test('an unanswered CREATE submission is followed up by isComplete instead of failing', async () => {
    solr.hangActions.add('CREATE');
    const request = event('Create', props({ Mode: 'empty', RequestTimeoutSeconds: '0.3' }));

    const response = await onEvent(request); // CREATE timed out; onEvent still returns
    expect(response.PhysicalResourceId).toBe('products-feature-login');
    // The fake never queued it, so isComplete reports that nothing exists.
    await expect(isComplete({ ...request, ...response })).rejects.toThrow(
      /collection 'products-feature-login' does not exist although no CREATE request of this deployment is known/,
    );
  });
});

describe('Update', () => {
  test('with the same Collection is a no-op and never re-restores', async () => {
    const request = event('Update', props({ BackupName: 'something-else', Mode: 'empty' }), {
      PhysicalResourceId: 'products-feature-login',
      OldResourceProperties: props(),
    });

    const { response, data } = await deploy(request);

    expect(response.PhysicalResourceId).toBe('products-feature-login');
    expect(data).toEqual({ Collection: 'products-feature-login', CollectionUrl: `${solrUrl}/products-feature-login` });
    expect(solr.requests).toHaveLength(0);
  });

  test('with a new Collection creates it under a new physical id and leaves the old one', async () => {
    solr.addBackup(LOCATION, 'products-staging', 'products');
    solr.addCollection('products-feature-login', 'products-config');
    const request = event('Update', props({ Collection: 'products-feature-login2' }), {
      PhysicalResourceId: 'products-feature-login',
      OldResourceProperties: props(),
    });

    const { response, data } = await deploy(request);

    expect(response.PhysicalResourceId).toBe('products-feature-login2');
    expect(data?.Collection).toBe('products-feature-login2');
    expect(solr.collections.get('products-feature-login2')?.restoredFrom).toBe('products-staging');
    expect(solr.collections.has('products-feature-login')).toBe(true); // CloudFormation deletes it later
    expect(solr.requestsOf('DELETE')).toHaveLength(0);
  });
});

describe('Delete', () => {
  test('deletes the collection', async () => {
    solr.addCollection('products-feature-login', 'products-config');
    const request = event('Delete', props(), { PhysicalResourceId: 'products-feature-login' });

    const { response } = await deploy(request);

    expect(response.PhysicalResourceId).toBe('products-feature-login');
    expect(solr.requestsOf('DELETE').map((r) => r.params.name)).toEqual(['products-feature-login']);
    expect(solr.collections.has('products-feature-login')).toBe(false);
    expect(solr.collections.has('products')).toBe(true);
  });

  test("treats Solr's \"Could not find collection\" as success", async () => {
    const request = event('Delete', props(), { PhysicalResourceId: 'products-feature-gone' });

    await expect(deploy(request)).resolves.toMatchObject({ response: { PhysicalResourceId: 'products-feature-gone' } });
    expect(solr.requestsOf('DELETE')).toHaveLength(1);
  });

  test('never deletes the source collection', async () => {
    const request = event('Delete', props(), { PhysicalResourceId: 'products' });

    await deploy(request);

    expect(solr.requestsOf('DELETE')).toHaveLength(0);
    expect(solr.collections.has('products')).toBe(true);
    expect(logged.join('\n')).toMatch(/refusing to delete the shared source collection/);
  });

  test('does nothing for a physical id that is not a collection name', async () => {
    const request = event('Delete', props(), { PhysicalResourceId: 'arn:aws:cloudformation:eu-west-1:1:stack/x/y' });
    await deploy(request);
    expect(solr.requests).toHaveLength(0);
  });

  test('does not fail on a minimal property set (only what Delete needs)', async () => {
    solr.addCollection('products-feature-login');
    const request = event('Delete', { SolrUrl: solrUrl, SourceCollection: 'products' }, {
      PhysicalResourceId: 'products-feature-login',
    });
    await deploy(request);
    expect(solr.collections.has('products-feature-login')).toBe(false);
  });

  test('a DELETE that times out is checked and retried by isComplete', async () => {
    solr.addCollection('products-feature-login');
    solr.hangActions.add('DELETE');
    const request = event('Delete', props({ RequestTimeoutSeconds: '0.3' }), {
      PhysicalResourceId: 'products-feature-login',
    });

    const response = await onEvent(request); // does not fail the stack deletion
    expect(solr.collections.has('products-feature-login')).toBe(true);
    solr.hangActions.delete('DELETE');

    expect(await isComplete({ ...request, ...response })).toEqual({ IsComplete: true });
    expect(solr.collections.has('products-feature-login')).toBe(false);
    expect(solr.requestsOf('DELETE')).toHaveLength(2);
  });

  test('fails on other Solr errors with the Solr message', async () => {
    solr.addCollection('products-feature-login');
    solr.httpFailures.set('DELETE', { status: 500, remaining: 1 });
    const request = event('Delete', props(), { PhysicalResourceId: 'products-feature-login' });
    await expect(onEvent(request)).rejects.toThrow(/Solr DELETE failed \(HTTP 500\)/);
  });
});

describe('guards and validation', () => {
  test('refuses to create the source collection itself', async () => {
    await expect(onEvent(event('Create', props({ Collection: 'products' })))).rejects.toThrow(
      /Collection must differ from SourceCollection \('products'\)/,
    );
    expect(solr.requests).toHaveLength(0);
  });

  test('collects every property problem into one message', async () => {
    const request = event('Create', {
      Collection: '-bad name',
      SourceCollection: 'products',
      Mode: 'copy',
      NumShards: '0',
    });
    await expect(onEvent(request)).rejects.toThrow(
      /Invalid properties on SolrCollection 'SearchCollection': SolrUrl is required.*Collection '-bad name' is not a valid Solr collection name.*Mode must be 'restore' or 'empty', got 'copy'.*NumShards must be a whole number/,
    );
  });

  test('requires BackupLocation in restore mode', async () => {
    await expect(onEvent(event('Create', props({ BackupLocation: undefined })))).rejects.toThrow(
      /BackupLocation is required when Mode is 'restore'/,
    );
  });

  test('rejects credentials in SolrUrl without echoing them', async () => {
    const promise = onEvent(event('Create', props({ SolrUrl: 'https://admin:hunter2@solr.internal:8983/solr' })));
    await expect(promise).rejects.toThrow(/SolrUrl must not contain credentials/);
    await expect(promise).rejects.not.toThrow(/hunter2/);
  });
});

describe('HTTP behaviour', () => {
  test('sends Basic auth from the secret and never logs the password', async () => {
    await solr.stop();
    solr = new FakeSolr({ auth: { username: 'staging-admin', password: PASSWORD } });
    solrUrl = await solr.start();
    solr.addCollection('products', 'products-config');
    solr.addBackup(LOCATION, 'products-staging', 'products');
    secretsMock
      .on(GetSecretValueCommand, { SecretId: SECRET_ARN })
      .resolves({ SecretString: JSON.stringify({ username: 'staging-admin', password: PASSWORD }) });

    await deploy(event('Create', props({ CredentialsSecretArn: SECRET_ARN })));

    const expected = `Basic ${Buffer.from(`staging-admin:${PASSWORD}`).toString('base64')}`;
    expect(solr.requests.length).toBeGreaterThan(3);
    expect(solr.requests.every((r) => r.authorization === expected)).toBe(true);
    expect(solr.collections.has('products-feature-login')).toBe(true);
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.join('\n')).not.toContain(PASSWORD);
    expect(logged.join('\n')).not.toContain(Buffer.from(`staging-admin:${PASSWORD}`).toString('base64'));
  });

  test('a rejected login says what to check, without the password', async () => {
    await solr.stop();
    solr = new FakeSolr({ auth: { username: 'staging-admin', password: PASSWORD } });
    solrUrl = await solr.start();
    secretsMock.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ username: 'staging-admin', password: 'wrong-password' }),
    });

    const promise = onEvent(event('Create', props({ CredentialsSecretArn: SECRET_ARN })));
    await expect(promise).rejects.toThrow(
      /Solr LIST failed \(HTTP 401\): Error 401 require authentication.*check that CredentialsSecretArn/,
    );
    await expect(promise).rejects.not.toThrow(/wrong-password/);
  });

  test('without a secret no Authorization header is sent', async () => {
    solr.addBackup(LOCATION, 'products-staging', 'products');
    await deploy(event('Create', props()));
    expect(solr.requests.every((r) => r.authorization === undefined)).toBe(true);
    expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });

  test('a malformed secret fails without echoing its content', async () => {
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: `password=${PASSWORD}` });
    const promise = onEvent(event('Create', props({ CredentialsSecretArn: SECRET_ARN })));
    await expect(promise).rejects.toThrow(/must be a JSON secret with non-empty "username" and "password"; it is not JSON/);
    await expect(promise).rejects.not.toThrow(new RegExp(PASSWORD));
  });

  test('an unreadable secret names the permission to grant', async () => {
    const denied = Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' });
    secretsMock.on(GetSecretValueCommand).rejects(denied);
    await expect(onEvent(event('Create', props({ CredentialsSecretArn: SECRET_ARN })))).rejects.toThrow(
      /Could not read Solr credentials secret .*AccessDeniedException.*secretsmanager:GetSecretValue/,
    );
  });

  test('times out a request that gets no answer', async () => {
    solr.hangActions.add('LIST');
    const started = Date.now();
    await expect(onEvent(event('Create', props({ RequestTimeoutSeconds: '0.3' })))).rejects.toThrow(
      /Solr LIST timed out after 300 ms at http:\/\/127\.0\.0\.1:\d+: check that Solr is up/,
    );
    expect(Date.now() - started).toBeLessThan(20000);
  });

  test('a closed port gives a connection error naming the host', async () => {
    const url = solrUrl;
    await solr.stop();
    await expect(onEvent(event('Create', props({ SolrUrl: url })))).rejects.toThrow(
      /Solr LIST could not reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/,
    );
    solr = new FakeSolr();
    await solr.start();
  });

  test('a transient 503 while polling waits for the next poll instead of failing', async () => {
    solr.addBackup(LOCATION, 'products-staging', 'products');
    const request = event('Create', props());
    const response = await onEvent(request);
    solr.httpFailures.set('REQUESTSTATUS', { status: 503, remaining: 1 });

    expect(await isComplete({ ...request, ...response })).toEqual({ IsComplete: false });
    let done = false;
    for (let i = 0; i < 10 && !done; i++) done = (await isComplete({ ...request, ...response })).IsComplete;
    expect(done).toBe(true);
  });

  test('a non-transient HTTP error while polling fails with the Solr message', async () => {
    solr.addBackup(LOCATION, 'products-staging', 'products');
    const request = event('Create', props());
    const response = await onEvent(request);
    solr.httpFailures.set('REQUESTSTATUS', { status: 500, remaining: 1 });
    await expect(isComplete({ ...request, ...response })).rejects.toThrow(/Solr REQUESTSTATUS failed \(HTTP 500\)/);
  });
});

describe('asyncIds', () => {
  test('are deterministic, per request and short', () => {
    const a = asyncIds('products-feature-login', 'req-1');
    expect(asyncIds('products-feature-login', 'req-1')).toEqual(a);
    expect(asyncIds('products-feature-login', 'req-2').restore).not.toBe(a.restore);
    expect(asyncIds('products-feature-other', 'req-1').restore).not.toBe(a.restore);
    expect(a.restore).toMatch(/^products-feature-login-restore-[0-9a-f]{12}$/);
    const long = asyncIds('x'.repeat(200), 'req-1');
    expect(long.backup.length).toBeLessThanOrEqual(40 + '-backup-'.length + 12);
    expect(new Set([a.backup, a.restore, a.create]).size).toBe(3);
  });
});
