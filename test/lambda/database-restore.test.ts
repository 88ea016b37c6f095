import {
  AddTagsToResourceCommand,
  DBInstance,
  DBInstanceAlreadyExistsFault,
  DBInstanceNotFoundFault,
  DBSnapshot,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  InvalidDBInstanceStateFault,
  ModifyDBInstanceCommand,
  RDSClient,
  RestoreDBInstanceFromDBSnapshotCommand,
  Tag,
} from '@aws-sdk/client-rds';
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { isComplete, onEvent } from '../../lambda/database-restore';
import { IsCompleteRequest, OnEventRequest } from '../../lambda/shared/provider';
import { captureLogs } from '../util/handler-events';
import { ResourceTypes } from '../../lib/contract/providers';

const rds = mockClient(RDSClient);
const sm = mockClient(SecretsManagerClient);

const SOURCE = 'myapp-staging';
const BASE = 'myapp-feature-x';
// sha256('initial').slice(0, 4) and sha256('r2').slice(0, 4), computed independently.
const ID = `${BASE}-ac1b`;
const ID_R2 = `${BASE}-db77`;
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:myapp/feature-x/db-AbCdEf';
const PASSWORD = 'Branch-Only-Passw0rd-7f3a';
const SG = 'sg-0123456789abcdef0';
const SUBNET_GROUP = 'staging-db-subnets';
const REQUEST_ID = 'b6f0b7a4-1111-4c7e-9a51-4a2d0c1e0001';
const OTHER_REQUEST_ID = 'b6f0b7a4-2222-4c7e-9a51-4a2d0c1e0002';

function props(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:provider',
    SourceInstanceIdentifier: SOURCE,
    InstanceIdentifierBase: BASE,
    DbSubnetGroupName: SUBNET_GROUP,
    VpcSecurityGroupIds: [SG],
    MasterUserSecretArn: SECRET_ARN,
    Tags: [
      { Key: 'staging:name', Value: 'feature-x' },
      { Key: 'staging:kind', Value: 'feature' },
    ],
    ...overrides,
  };
}

function event(
  requestType: 'Create' | 'Update' | 'Delete',
  extra: Partial<OnEventRequest> & { ResourceProperties?: Record<string, unknown> } = {},
): OnEventRequest {
  return {
    RequestType: requestType,
    StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/staging-feature-x/1',
    RequestId: REQUEST_ID,
    LogicalResourceId: 'Database',
    ResourceType: ResourceTypes.DATABASE,
    ResourceProperties: props(),
    ...extra,
  };
}

function completeEvent(
  requestType: 'Create' | 'Update' | 'Delete',
  physicalId: string,
  extra: Partial<IsCompleteRequest> = {},
): IsCompleteRequest {
  return { ...event(requestType, extra), PhysicalResourceId: physicalId, ...extra };
}

function ownedTags(extra: Tag[] = [], requestId = REQUEST_ID): Tag[] {
  return [
    { Key: 'staging:managed-by', Value: 'cdk-multi-staging' },
    { Key: 'staging:source-instance', Value: SOURCE },
    { Key: 'staging:snapshot', Value: 'rds:myapp-staging-2024-06-02-03-10' },
    { Key: 'staging:snapshot-time', Value: '2024-06-02T03:10:00.000Z' },
    { Key: 'staging:restore-request', Value: requestId },
    ...extra,
  ];
}

const PASSWORD_TAG: Tag = { Key: 'staging:password-applied', Value: SECRET_ARN };

function instance(overrides: Partial<DBInstance> = {}): DBInstance {
  const id = overrides.DBInstanceIdentifier ?? ID;
  return {
    DBInstanceIdentifier: id,
    DBInstanceArn: `arn:aws:rds:us-east-1:123456789012:db:${id}`,
    DBInstanceStatus: 'available',
    DBInstanceClass: 'db.t4g.micro',
    Engine: 'postgres',
    EngineVersion: '16.4',
    MasterUsername: 'app',
    DBName: 'myapp',
    AllocatedStorage: 20,
    BackupRetentionPeriod: 0,
    MonitoringInterval: 0,
    PerformanceInsightsEnabled: false,
    DeletionProtection: false,
    VpcSecurityGroups: [{ VpcSecurityGroupId: SG, Status: 'active' }],
    DBSubnetGroup: { DBSubnetGroupName: SUBNET_GROUP },
    Endpoint: { Address: `${id}.abc123.us-east-1.rds.amazonaws.com`, Port: 5432 },
    PendingModifiedValues: {},
    TagList: ownedTags([PASSWORD_TAG]),
    ...overrides,
  };
}

function snapshot(id: string, time: string, overrides: Partial<DBSnapshot> = {}): DBSnapshot {
  return {
    DBSnapshotIdentifier: id,
    DBInstanceIdentifier: SOURCE,
    SnapshotCreateTime: new Date(time),
    Status: 'available',
    SnapshotType: 'automated',
    AllocatedStorage: 50,
    StorageType: 'gp2',
    Engine: 'postgres',
    ...overrides,
  };
}

const notFound = () => new DBInstanceNotFoundFault({ message: 'DBInstance not found', $metadata: {} });

function instanceIs(id: string, ...states: (DBInstance | Error)[]): void {
  const behavior = rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: id });
  for (const s of states) {
    if (s instanceof Error) behavior.rejectsOnce(s);
    else behavior.resolvesOnce({ DBInstances: [s] });
  }
  const last = states[states.length - 1];
  if (last instanceof Error) behavior.rejects(last);
  else behavior.resolves({ DBInstances: [last] });
}

let logged: string[];

beforeEach(() => {
  rds.reset();
  sm.reset();
  logged = captureLogs();

  rds.on(DescribeDBInstancesCommand).rejects(notFound());
  rds.on(DescribeDBSnapshotsCommand).resolves({
    DBSnapshots: [snapshot('rds:myapp-staging-2024-06-02-03-10', '2024-06-02T03:10:00Z')],
  });
  rds.on(RestoreDBInstanceFromDBSnapshotCommand).resolves({ DBInstance: { DBInstanceIdentifier: ID } });
  rds.on(ModifyDBInstanceCommand).resolves({});
  rds.on(AddTagsToResourceCommand).resolves({});
  rds.on(DeleteDBInstanceCommand).resolves({});
  sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 'app', password: PASSWORD }) });
});

afterEach(() => {
  jest.restoreAllMocks();
  // No secret in any log line, whatever the test did.
  expect(logged.join('\n')).not.toContain(PASSWORD);
});

describe('Create', () => {
  test('restores the newest available snapshot, downsized for staging', async () => {
    const result = await onEvent(event('Create'));

    expect(result).toEqual({
      PhysicalResourceId: ID,
      Data: {
        InstanceIdentifier: ID,
        SnapshotIdentifier: 'rds:myapp-staging-2024-06-02-03-10',
        SnapshotCreateTime: '2024-06-02T03:10:00.000Z',
      },
    });
    const restores = rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand);
    expect(restores).toHaveLength(1);
    const input = restores[0].args[0].input;
    expect(input).toMatchObject({
      DBInstanceIdentifier: ID,
      DBSnapshotIdentifier: 'rds:myapp-staging-2024-06-02-03-10',
      DBInstanceClass: 'db.t4g.micro',
      DBSubnetGroupName: SUBNET_GROUP,
      VpcSecurityGroupIds: [SG],
      MultiAZ: false,
      PubliclyAccessible: false,
      StorageType: 'gp3',
      AllocatedStorage: 50,
      DeletionProtection: false,
      CopyTagsToSnapshot: false,
      BackupRetentionPeriod: 0,
    });
    // Restores keep the snapshot's encryption key: no key is passed.
    expect(input).not.toHaveProperty('KmsKeyId');
    expect(input.Iops).toBeUndefined();
    expect(input.StorageThroughput).toBeUndefined();
    expect(input.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'staging:name', Value: 'feature-x' },
        { Key: 'staging:kind', Value: 'feature' },
        { Key: 'staging:managed-by', Value: 'cdk-multi-staging' },
        { Key: 'staging:snapshot', Value: 'rds:myapp-staging-2024-06-02-03-10' },
        { Key: 'staging:source-instance', Value: SOURCE },
        { Key: 'staging:restore-request', Value: REQUEST_ID },
      ]),
    );
    // The secret is checked up front, but the password is only set once the instance is available.
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(rds.commandCalls(ModifyDBInstanceCommand)).toHaveLength(0);
  });

  test('uses InstanceClass when given', async () => {
    await onEvent(event('Create', { ResourceProperties: props({ InstanceClass: 'db.t4g.small' }) }));
    expect(rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)[0].args[0].input.DBInstanceClass).toBe('db.t4g.small');
  });

  test('a caller tag cannot override the ownership tag', async () => {
    await onEvent(
      event('Create', { ResourceProperties: props({ Tags: [{ Key: 'staging:managed-by', Value: 'someone-else' }] }) }),
    );
    const tags = rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)[0].args[0].input.Tags ?? [];
    expect(tags.filter((t) => t.Key === 'staging:managed-by')).toEqual([
      { Key: 'staging:managed-by', Value: 'cdk-multi-staging' },
    ]);
  });

  test('fails with every property problem at once, before any AWS call', async () => {
    const bad = event('Create', {
      ResourceProperties: { InstanceIdentifierBase: 'x'.repeat(59), AllocatedStorageGiB: 'lots' },
    });
    const error = await onEvent(bad).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/SourceInstanceIdentifier/);
    expect((error as Error).message).toMatch(/at most 58/);
    expect((error as Error).message).toMatch(/MasterUserSecretArn/);
    expect((error as Error).message).toMatch(/VpcSecurityGroupIds/);
    expect((error as Error).message).toMatch(/AllocatedStorageGiB/);
    expect(rds.calls()).toHaveLength(0);
  });

  test('fails when the secret has no password, naming the secret but never its content', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: 'not json ' + PASSWORD });
    const error = (await onEvent(event('Create')).catch((e: Error) => e)) as Error;
    expect(error.message).toContain(SECRET_ARN);
    expect(error.message).toMatch(/"password"/);
    expect(error.message).not.toContain(PASSWORD);
    expect(rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)).toHaveLength(0);
  });

  test('fails when the secret does not exist, before restoring', async () => {
    sm.on(GetSecretValueCommand).rejects(
      new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} }),
    );
    await expect(onEvent(event('Create'))).rejects.toThrow(/master password secret .*ResourceNotFoundException/);
    expect(rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)).toHaveLength(0);
  });

  test('surfaces throttling with context and restores nothing', async () => {
    rds
      .on(DescribeDBSnapshotsCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(onEvent(event('Create'))).rejects.toThrow(
      `Could not list the snapshots of source RDS instance '${SOURCE}': ThrottlingException: Rate exceeded`,
    );
    expect(rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)).toHaveLength(0);
  });

  test('surfaces a failed restore call with the instance and snapshot names', async () => {
    rds
      .on(RestoreDBInstanceFromDBSnapshotCommand)
      .rejects(Object.assign(new Error('quota'), { name: 'InstanceQuotaExceededFault' }));
    await expect(onEvent(event('Create'))).rejects.toThrow(
      new RegExp(`Could not restore RDS instance '${ID}' from snapshot 'rds:myapp-staging-2024-06-02-03-10'.*InstanceQuotaExceededFault`),
    );
  });
});

describe('snapshot selection', () => {
  test('takes the newest available across pages, automated and manual mixed, ignoring creating and failed', async () => {
    const pages: Record<string, { DBSnapshots: DBSnapshot[]; Marker?: string }> = {
      first: {
        DBSnapshots: [
          snapshot('rds:myapp-staging-2024-06-01-03-10', '2024-06-01T03:10:00Z'),
          snapshot('manual-newest-but-creating', '2024-06-05T00:00:00Z', { Status: 'creating', SnapshotType: 'manual' }),
        ],
        Marker: 'page-2',
      },
      'page-2': {
        DBSnapshots: [
          snapshot('manual-before-migration', '2024-06-03T12:00:00Z', { SnapshotType: 'manual', AllocatedStorage: 80 }),
          snapshot('manual-failed', '2024-06-04T00:00:00Z', { Status: 'failed', SnapshotType: 'manual' }),
        ],
        Marker: 'page-3',
      },
      'page-3': { DBSnapshots: [snapshot('rds:myapp-staging-2024-06-03-03-10', '2024-06-03T03:10:00Z')] },
    };
    // Markers as each call sent them (the SDK's paginator reuses its input object between pages).
    const markers: Array<string | undefined> = [];
    rds.on(DescribeDBSnapshotsCommand).callsFake((input) => {
      markers.push(input.Marker);
      return pages[input.Marker ?? 'first'];
    });

    const result = await onEvent(event('Create'));

    expect(result.Data?.SnapshotIdentifier).toBe('manual-before-migration');
    const calls = rds.commandCalls(DescribeDBSnapshotsCommand).map((c) => c.args[0].input);
    expect(markers).toEqual([undefined, 'page-2', 'page-3']);
    expect(calls.every((c) => c.DBInstanceIdentifier === SOURCE && c.SnapshotType === undefined)).toBe(true);
    const input = rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)[0].args[0].input;
    expect(input.DBSnapshotIdentifier).toBe('manual-before-migration');
    expect(input.AllocatedStorage).toBe(80);
  });

  test('an automated snapshot wins when it is the newest', async () => {
    rds.on(DescribeDBSnapshotsCommand).resolves({
      DBSnapshots: [
        snapshot('manual-old', '2024-05-01T00:00:00Z', { SnapshotType: 'manual' }),
        snapshot('rds:myapp-staging-2024-06-02-03-10', '2024-06-02T03:10:00Z'),
      ],
    });
    const result = await onEvent(event('Create'));
    expect(result.Data?.SnapshotIdentifier).toBe('rds:myapp-staging-2024-06-02-03-10');
  });

  test('fails naming the source and what to do when it has no snapshot', async () => {
    rds.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [] });
    const error = (await onEvent(event('Create')).catch((e: Error) => e)) as Error;
    expect(error.message).toContain(`'${SOURCE}' has no snapshots`);
    expect(error.message).toContain(`create-db-snapshot --db-instance-identifier ${SOURCE}`);
    expect(rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)).toHaveLength(0);
  });

  test('fails when no snapshot is available yet, listing the statuses', async () => {
    rds.on(DescribeDBSnapshotsCommand).resolves({
      DBSnapshots: [
        snapshot('a', '2024-06-01T00:00:00Z', { Status: 'creating' }),
        snapshot('b', '2024-06-02T00:00:00Z', { Status: 'failed' }),
      ],
    });
    await expect(onEvent(event('Create'))).rejects.toThrow(
      new RegExp(`'${SOURCE}' has 2 snapshot\\(s\\) but none is 'available' \\(statuses: creating, failed\\)`),
    );
    expect(rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)).toHaveLength(0);
  });

  test('fails naming the source when it does not exist', async () => {
    rds.on(DescribeDBSnapshotsCommand).rejects(notFound());
    await expect(onEvent(event('Create'))).rejects.toThrow(
      new RegExp(`Source RDS instance '${SOURCE}' was not found.*SourceInstanceIdentifier`),
    );
  });
});

describe('storage and IOPS', () => {
  test('storage is never set below the snapshot', async () => {
    rds.on(DescribeDBSnapshotsCommand).resolves({
      DBSnapshots: [snapshot('s', '2024-06-02T00:00:00Z', { AllocatedStorage: 200 })],
    });
    await onEvent(event('Create', { ResourceProperties: props({ AllocatedStorageGiB: '20' }) }));
    expect(rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)[0].args[0].input.AllocatedStorage).toBe(200);
  });

  test('AllocatedStorageGiB raises storage above the snapshot', async () => {
    await onEvent(event('Create', { ResourceProperties: props({ AllocatedStorageGiB: '100' }) }));
    expect(rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)[0].args[0].input.AllocatedStorage).toBe(100);
  });

  test('provisioned IOPS of an io1 snapshot are dropped for gp3', async () => {
    rds.on(DescribeDBSnapshotsCommand).resolves({
      DBSnapshots: [
        snapshot('prod-io1', '2024-06-02T00:00:00Z', { StorageType: 'io1', Iops: 12000, StorageThroughput: 500, AllocatedStorage: 400 }),
      ],
    });
    await onEvent(event('Create'));
    const input = rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)[0].args[0].input;
    expect(input.StorageType).toBe('gp3');
    expect(input).not.toHaveProperty('Iops');
    expect(input).not.toHaveProperty('StorageThroughput');
    expect(input.AllocatedStorage).toBe(400);
  });
});

describe('idempotent Create', () => {
  test('a replay adopts the instance it already restored instead of restoring twice', async () => {
    instanceIs(ID, instance({ DBInstanceStatus: 'creating' }));
    const result = await onEvent(event('Create'));
    expect(result).toEqual({
      PhysicalResourceId: ID,
      Data: {
        InstanceIdentifier: ID,
        SnapshotIdentifier: 'rds:myapp-staging-2024-06-02-03-10',
        SnapshotCreateTime: '2024-06-02T03:10:00.000Z',
      },
    });
    expect(rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)).toHaveLength(0);
    expect(rds.commandCalls(DescribeDBSnapshotsCommand)).toHaveLength(0);
  });

  test('a restore racing a replay adopts on DBInstanceAlreadyExists', async () => {
    instanceIs(ID, notFound(), instance({ DBInstanceStatus: 'creating' }));
    rds
      .on(RestoreDBInstanceFromDBSnapshotCommand)
      .rejects(new DBInstanceAlreadyExistsFault({ message: 'exists', $metadata: {} }));
    const result = await onEvent(event('Create'));
    expect(result.PhysicalResourceId).toBe(ID);
    expect(rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)).toHaveLength(1);
  });

  test('never adopts an instance this library did not restore', async () => {
    instanceIs(ID, instance({ TagList: [{ Key: 'team', Value: 'data' }] }));
    await expect(onEvent(event('Create'))).rejects.toThrow(/already exists but was not restored by this library/);
    expect(rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)).toHaveLength(0);
  });
});

describe('isComplete after Create', () => {
  test('waits while the restore is running, without modifying', async () => {
    instanceIs(ID, instance({ DBInstanceStatus: 'creating', TagList: ownedTags(), Endpoint: undefined }));
    await expect(isComplete(completeEvent('Create', ID))).resolves.toEqual({ IsComplete: false });
    expect(rds.commandCalls(ModifyDBInstanceCommand)).toHaveLength(0);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });

  test('once available, sets the password and the staging settings, then tags', async () => {
    instanceIs(
      ID,
      instance({ TagList: ownedTags(), BackupRetentionPeriod: 7, PerformanceInsightsEnabled: true, MonitoringInterval: 60 }),
    );
    await expect(isComplete(completeEvent('Create', ID))).resolves.toEqual({ IsComplete: false });

    const modifies = rds.commandCalls(ModifyDBInstanceCommand);
    expect(modifies).toHaveLength(1);
    expect(modifies[0].args[0].input).toEqual({
      DBInstanceIdentifier: ID,
      ApplyImmediately: true,
      MasterUserPassword: PASSWORD,
      BackupRetentionPeriod: 0,
      EnablePerformanceInsights: false,
      MonitoringInterval: 0,
    });
    expect(rds.commandCalls(AddTagsToResourceCommand)[0].args[0].input).toEqual({
      ResourceName: `arn:aws:rds:us-east-1:123456789012:db:${ID}`,
      Tags: [{ Key: 'staging:password-applied', Value: SECRET_ARN }],
    });
    expect(logged.join('\n')).toMatch(/MasterUserPassword/);
  });

  test('does not resend the password while RDS still has it pending', async () => {
    instanceIs(ID, instance({ TagList: ownedTags(), PendingModifiedValues: { MasterUserPassword: '****' } }));
    await expect(isComplete(completeEvent('Create', ID))).resolves.toEqual({ IsComplete: false });
    expect(rds.commandCalls(ModifyDBInstanceCommand)).toHaveLength(0);
  });

  test('retries the modification later when RDS says the state is wrong', async () => {
    instanceIs(ID, instance({ TagList: ownedTags() }));
    rds.on(ModifyDBInstanceCommand).rejects(new InvalidDBInstanceStateFault({ message: 'busy', $metadata: {} }));
    await expect(isComplete(completeEvent('Create', ID))).resolves.toEqual({ IsComplete: false });
    expect(rds.commandCalls(AddTagsToResourceCommand)).toHaveLength(0);
    expect(rds.commandCalls(DeleteDBInstanceCommand)).toHaveLength(0);
  });

  test('walks restoring -> modify -> modifying -> available, then returns the endpoint', async () => {
    instanceIs(
      ID,
      instance({ DBInstanceStatus: 'creating', TagList: ownedTags(), Endpoint: undefined, BackupRetentionPeriod: 1 }),
      instance({ DBInstanceStatus: 'available', TagList: ownedTags(), BackupRetentionPeriod: 1 }),
      instance({
        DBInstanceStatus: 'available',
        TagList: ownedTags([PASSWORD_TAG]),
        BackupRetentionPeriod: 1,
        PendingModifiedValues: { MasterUserPassword: '****', BackupRetentionPeriod: 0 },
      }),
      instance({ DBInstanceStatus: 'resetting-master-credentials', TagList: ownedTags([PASSWORD_TAG]) }),
      instance({ DBInstanceStatus: 'available', TagList: ownedTags([PASSWORD_TAG]) }),
    );
    const e = completeEvent('Create', ID);
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await isComplete(e));

    expect(results.map((r) => r.IsComplete)).toEqual([false, false, false, false, true]);
    expect(rds.commandCalls(ModifyDBInstanceCommand)).toHaveLength(1);
    expect(results[4].Data).toEqual({
      InstanceIdentifier: ID,
      InstanceArn: `arn:aws:rds:us-east-1:123456789012:db:${ID}`,
      SnapshotIdentifier: 'rds:myapp-staging-2024-06-02-03-10',
      SnapshotCreateTime: '2024-06-02T03:10:00.000Z',
      Endpoint: `${ID}.abc123.us-east-1.rds.amazonaws.com`,
      Port: '5432',
      Engine: 'postgres',
      EngineVersion: '16.4',
      MasterUsername: 'app',
      DatabaseName: 'myapp',
    });
    // Data is only returned with IsComplete: true (the framework rejects it otherwise).
    expect(results.slice(0, 4).every((r) => r.Data === undefined)).toBe(true);
  });

  test('a restore ending in a failed state throws and deletes the half-created instance', async () => {
    instanceIs(
      ID,
      instance({
        DBInstanceStatus: 'incompatible-restore',
        TagList: ownedTags(),
        StatusInfos: [{ StatusType: 'read replication', Message: 'not enough memory' }],
      }),
    );
    const error = (await isComplete(completeEvent('Create', ID)).catch((e: Error) => e)) as Error;
    expect(error.message).toContain(`RDS instance '${ID}'`);
    expect(error.message).toContain("ended in status 'incompatible-restore'");
    expect(error.message).toContain('not enough memory');
    expect(error.message).toMatch(/larger InstanceClass/);
    expect(error.message).toMatch(/half-created instance .* is being deleted/);
    expect(rds.commandCalls(DeleteDBInstanceCommand).map((c) => c.args[0].input)).toEqual([
      { DBInstanceIdentifier: ID, SkipFinalSnapshot: true, DeleteAutomatedBackups: true },
    ]);
  });

  test('any failure after the restore (e.g. the secret vanished) also cleans up', async () => {
    instanceIs(ID, instance({ TagList: ownedTags() }));
    sm.on(GetSecretValueCommand).rejects(
      Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }),
    );
    await expect(isComplete(completeEvent('Create', ID))).rejects.toThrow(/AccessDeniedException.*is being deleted/);
    expect(rds.commandCalls(DeleteDBInstanceCommand)).toHaveLength(1);
  });

  test('a failure on an instance another request restored throws but never deletes it', async () => {
    instanceIs(ID, instance({ DBInstanceStatus: 'storage-full', TagList: ownedTags([PASSWORD_TAG], OTHER_REQUEST_ID) }));
    await expect(isComplete(completeEvent('Update', ID))).rejects.toThrow(/storage-full.*AllocatedStorageGiB/);
    expect(rds.commandCalls(DeleteDBInstanceCommand)).toHaveLength(0);
  });

  test('reports a cleanup that fails too, with the command to finish it', async () => {
    instanceIs(ID, instance({ DBInstanceStatus: 'failed', TagList: ownedTags() }));
    rds.on(DeleteDBInstanceCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDenied' }));
    await expect(isComplete(completeEvent('Create', ID))).rejects.toThrow(
      new RegExp(`status 'failed'.*aws rds delete-db-instance --db-instance-identifier ${ID}`),
    );
  });

  test('refuses to act on an identifier that is not <base>-<4 hex>', async () => {
    await expect(isComplete(completeEvent('Create', SOURCE))).rejects.toThrow(/Refusing to manage/);
    expect(rds.calls()).toHaveLength(0);
  });
});

describe('Update', () => {
  const pinned = () => instance({ TagList: ownedTags([PASSWORD_TAG], OTHER_REQUEST_ID) });

  test('is pinned: no restore, same physical id, the original snapshot in Data', async () => {
    instanceIs(ID, pinned());
    rds.on(DescribeDBSnapshotsCommand).resolves({
      DBSnapshots: [snapshot('much-newer', '2030-01-01T00:00:00Z')],
    });
    const result = await onEvent(event('Update', { PhysicalResourceId: ID, OldResourceProperties: props() }));
    expect(result).toEqual({
      PhysicalResourceId: ID,
      Data: {
        InstanceIdentifier: ID,
        SnapshotIdentifier: 'rds:myapp-staging-2024-06-02-03-10',
        SnapshotCreateTime: '2024-06-02T03:10:00.000Z',
      },
    });
    expect(rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)).toHaveLength(0);
    expect(rds.commandCalls(DescribeDBSnapshotsCommand)).toHaveLength(0);

    await expect(isComplete(completeEvent('Update', ID, { OldResourceProperties: props() }))).resolves.toMatchObject({
      IsComplete: true,
    });
    expect(rds.commandCalls(ModifyDBInstanceCommand)).toHaveLength(0);
  });

  test('a changed source without a new RefreshToken keeps the pinned copy', async () => {
    instanceIs(ID, pinned());
    const result = await onEvent(
      event('Update', {
        PhysicalResourceId: ID,
        ResourceProperties: props({ SourceInstanceIdentifier: 'myapp-prod' }),
        OldResourceProperties: props(),
      }),
    );
    expect(result.PhysicalResourceId).toBe(ID);
    expect(rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)).toHaveLength(0);
  });

  test('fails clearly when the pinned instance was deleted out of band', async () => {
    const error = (await onEvent(event('Update', { PhysicalResourceId: ID, OldResourceProperties: props() })).catch(
      (e: Error) => e,
    )) as Error;
    expect(error.message).toContain(`'${ID}' no longer exists`);
    expect(error.message).toContain('-c refreshData=true');
    expect(rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)).toHaveLength(0);
  });

  test('an InstanceClass change is modified in place by isComplete', async () => {
    instanceIs(
      ID,
      pinned(),
      pinned(),
      instance({
        TagList: ownedTags([PASSWORD_TAG], OTHER_REQUEST_ID),
        PendingModifiedValues: { DBInstanceClass: 'db.t4g.small' },
      }),
      instance({ DBInstanceStatus: 'modifying', DBInstanceClass: 'db.t4g.small', TagList: ownedTags([PASSWORD_TAG], OTHER_REQUEST_ID) }),
      instance({ DBInstanceClass: 'db.t4g.small', TagList: ownedTags([PASSWORD_TAG], OTHER_REQUEST_ID) }),
    );
    const newProps = props({ InstanceClass: 'db.t4g.small' });
    const result = await onEvent(
      event('Update', { PhysicalResourceId: ID, ResourceProperties: newProps, OldResourceProperties: props() }),
    );
    expect(result.PhysicalResourceId).toBe(ID);
    expect(rds.commandCalls(ModifyDBInstanceCommand)).toHaveLength(0);

    const e = completeEvent('Update', ID, { ResourceProperties: newProps, OldResourceProperties: props() });
    const results = [];
    for (let i = 0; i < 4; i++) results.push((await isComplete(e)).IsComplete);
    expect(results).toEqual([false, false, false, true]);
    const modifies = rds.commandCalls(ModifyDBInstanceCommand).map((c) => c.args[0].input);
    expect(modifies).toEqual([{ DBInstanceIdentifier: ID, ApplyImmediately: true, DBInstanceClass: 'db.t4g.small' }]);
    expect(rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)).toHaveLength(0);
  });

  test('security groups and a larger storage minimum are applied in place; storage never shrinks', async () => {
    instanceIs(ID, instance({ AllocatedStorage: 50, TagList: ownedTags([PASSWORD_TAG], OTHER_REQUEST_ID) }));
    const grow = props({ VpcSecurityGroupIds: ['sg-0fedcba9876543210'], AllocatedStorageGiB: '80' });
    await isComplete(completeEvent('Update', ID, { ResourceProperties: grow, OldResourceProperties: props() }));
    expect(rds.commandCalls(ModifyDBInstanceCommand)[0].args[0].input).toEqual({
      DBInstanceIdentifier: ID,
      ApplyImmediately: true,
      VpcSecurityGroupIds: ['sg-0fedcba9876543210'],
      AllocatedStorage: 80,
    });

    rds.resetHistory();
    const smaller = props({ AllocatedStorageGiB: '20' });
    const done = await isComplete(completeEvent('Update', ID, { ResourceProperties: smaller, OldResourceProperties: props() }));
    expect(done.IsComplete).toBe(true);
    expect(rds.commandCalls(ModifyDBInstanceCommand)).toHaveLength(0);
  });

  test('a new MasterUserSecretArn re-applies the password', async () => {
    instanceIs(ID, pinned());
    const otherSecret = `${SECRET_ARN}-rotated`;
    const newProps = props({ MasterUserSecretArn: otherSecret });
    await isComplete(completeEvent('Update', ID, { ResourceProperties: newProps, OldResourceProperties: props() }));
    const input = rds.commandCalls(ModifyDBInstanceCommand)[0].args[0].input;
    expect(input.MasterUserPassword).toBe(PASSWORD);
    expect(sm.commandCalls(GetSecretValueCommand)[0].args[0].input).toEqual({ SecretId: otherSecret });
    expect(rds.commandCalls(AddTagsToResourceCommand)[0].args[0].input.Tags).toEqual([
      { Key: 'staging:password-applied', Value: otherSecret },
    ]);
  });

  test('a stopped pinned instance fails with how to start it, and is not deleted', async () => {
    instanceIs(ID, instance({ DBInstanceStatus: 'stopped', TagList: ownedTags([PASSWORD_TAG], OTHER_REQUEST_ID) }));
    await expect(isComplete(completeEvent('Update', ID, { OldResourceProperties: props() }))).rejects.toThrow(
      /is stopped; start it \(aws rds start-db-instance/,
    );
    expect(rds.commandCalls(DeleteDBInstanceCommand)).toHaveLength(0);
  });

  test('a new RefreshToken restores a fresh copy under a new identifier', async () => {
    instanceIs(ID, pinned());
    rds.on(DescribeDBSnapshotsCommand).resolves({
      DBSnapshots: [snapshot('rds:myapp-staging-2024-06-09-03-10', '2024-06-09T03:10:00Z')],
    });
    const result = await onEvent(
      event('Update', {
        PhysicalResourceId: ID,
        ResourceProperties: props({ RefreshToken: 'r2' }),
        OldResourceProperties: props(),
      }),
    );
    expect(result).toEqual({
      PhysicalResourceId: ID_R2,
      Data: {
        InstanceIdentifier: ID_R2,
        SnapshotIdentifier: 'rds:myapp-staging-2024-06-09-03-10',
        SnapshotCreateTime: '2024-06-09T03:10:00.000Z',
      },
    });
    const restores = rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand);
    expect(restores).toHaveLength(1);
    expect(restores[0].args[0].input.DBInstanceIdentifier).toBe(ID_R2);
    // The old copy is left for CloudFormation's Delete after the update succeeds.
    expect(rds.commandCalls(DeleteDBInstanceCommand)).toHaveLength(0);
  });

  test('a rollback to the token of the current instance keeps it (no restore)', async () => {
    instanceIs(ID_R2, instance({ DBInstanceIdentifier: ID_R2, TagList: ownedTags([PASSWORD_TAG], OTHER_REQUEST_ID) }));
    const result = await onEvent(
      event('Update', {
        PhysicalResourceId: ID_R2,
        ResourceProperties: props({ RefreshToken: 'r2' }),
        OldResourceProperties: props({ RefreshToken: 'r3' }),
      }),
    );
    expect(result.PhysicalResourceId).toBe(ID_R2);
    expect(rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)).toHaveLength(0);
  });

  test('dropping the RefreshToken after a refresh keeps the refreshed copy (no second restore)', async () => {
    instanceIs(ID_R2, instance({ DBInstanceIdentifier: ID_R2, TagList: ownedTags([PASSWORD_TAG], OTHER_REQUEST_ID) }));
    const result = await onEvent(
      event('Update', {
        PhysicalResourceId: ID_R2,
        ResourceProperties: props(),
        OldResourceProperties: props({ RefreshToken: 'r2' }),
      }),
    );
    expect(result.PhysicalResourceId).toBe(ID_R2);
    expect(rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)).toHaveLength(0);
  });

  test('a changed InstanceIdentifierBase without a new RefreshToken fails instead of replacing', async () => {
    await expect(
      onEvent(
        event('Update', {
          PhysicalResourceId: ID,
          ResourceProperties: props({ InstanceIdentifierBase: 'myapp-feature-y' }),
          OldResourceProperties: props(),
        }),
      ),
    ).rejects.toThrow(/cannot be renamed in place.*refreshData=true/);
    expect(rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)).toHaveLength(0);
  });
});

describe('Delete', () => {
  test('deletes without final snapshot and automated backups, then waits until gone', async () => {
    instanceIs(
      ID,
      instance(),
      instance({ DBInstanceStatus: 'deleting' }),
      notFound(),
    );
    const result = await onEvent(event('Delete', { PhysicalResourceId: ID }));
    expect(result).toEqual({ PhysicalResourceId: ID });
    expect(rds.commandCalls(DeleteDBInstanceCommand).map((c) => c.args[0].input)).toEqual([
      { DBInstanceIdentifier: ID, SkipFinalSnapshot: true, DeleteAutomatedBackups: true },
    ]);

    const e = completeEvent('Delete', ID);
    await expect(isComplete(e)).resolves.toEqual({ IsComplete: false });
    await expect(isComplete(e)).resolves.toEqual({ IsComplete: true });
    expect(rds.commandCalls(DeleteDBInstanceCommand)).toHaveLength(1);
  });

  test('an instance that is already gone is success', async () => {
    await expect(onEvent(event('Delete', { PhysicalResourceId: ID }))).resolves.toEqual({ PhysicalResourceId: ID });
    await expect(isComplete(completeEvent('Delete', ID))).resolves.toEqual({ IsComplete: true });
    expect(rds.commandCalls(DeleteDBInstanceCommand)).toHaveLength(0);
  });

  test('DBInstanceNotFound from DeleteDBInstance is success', async () => {
    instanceIs(ID, instance());
    rds.on(DeleteDBInstanceCommand).rejects(notFound());
    await expect(onEvent(event('Delete', { PhysicalResourceId: ID }))).resolves.toEqual({ PhysicalResourceId: ID });
  });

  test('a replay while the instance is deleting does not delete twice', async () => {
    instanceIs(ID, instance({ DBInstanceStatus: 'deleting' }));
    await onEvent(event('Delete', { PhysicalResourceId: ID }));
    await expect(isComplete(completeEvent('Delete', ID))).resolves.toEqual({ IsComplete: false });
    expect(rds.commandCalls(DeleteDBInstanceCommand)).toHaveLength(0);
  });

  test('when RDS refuses in the current state, isComplete asks again', async () => {
    instanceIs(ID, instance({ DBInstanceStatus: 'modifying' }), instance({ DBInstanceStatus: 'available' }));
    rds
      .on(DeleteDBInstanceCommand)
      .rejectsOnce(new InvalidDBInstanceStateFault({ message: 'modifying', $metadata: {} }))
      .resolves({});
    await expect(onEvent(event('Delete', { PhysicalResourceId: ID }))).resolves.toEqual({ PhysicalResourceId: ID });
    await expect(isComplete(completeEvent('Delete', ID))).resolves.toEqual({ IsComplete: false });
    expect(rds.commandCalls(DeleteDBInstanceCommand)).toHaveLength(2);
  });

  test('never calls DeleteDBInstance on the source instance', async () => {
    instanceIs(SOURCE, instance({ DBInstanceIdentifier: SOURCE }));
    await onEvent(event('Delete', { PhysicalResourceId: SOURCE }));
    await isComplete(completeEvent('Delete', SOURCE));
    // Even a source that happens to look like `<base>-<4 hex>` is refused.
    const lookalike = `${BASE}-beef`;
    instanceIs(lookalike, instance({ DBInstanceIdentifier: lookalike }));
    const lookalikeProps = props({ SourceInstanceIdentifier: lookalike });
    await onEvent(event('Delete', { PhysicalResourceId: lookalike, ResourceProperties: lookalikeProps }));
    await isComplete(completeEvent('Delete', lookalike, { ResourceProperties: lookalikeProps }));

    expect(rds.commandCalls(DeleteDBInstanceCommand)).toHaveLength(0);
  });

  test('never deletes an instance without the managed-by tag', async () => {
    instanceIs(ID, instance({ TagList: [{ Key: 'owner', Value: 'dba' }] }));
    await onEvent(event('Delete', { PhysicalResourceId: ID }));
    await expect(isComplete(completeEvent('Delete', ID))).resolves.toEqual({ IsComplete: true });
    expect(rds.commandCalls(DeleteDBInstanceCommand)).toHaveLength(0);
  });

  test('fails with the fix when someone enabled deletion protection', async () => {
    instanceIs(ID, instance({ DeletionProtection: true }));
    await expect(onEvent(event('Delete', { PhysicalResourceId: ID }))).rejects.toThrow(/--no-deletion-protection/);
    expect(rds.commandCalls(DeleteDBInstanceCommand)).toHaveLength(0);
  });

  test('surfaces throttling on delete', async () => {
    instanceIs(ID, instance());
    rds.on(DeleteDBInstanceCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }));
    await expect(onEvent(event('Delete', { PhysicalResourceId: ID }))).rejects.toThrow(
      `Could not delete RDS instance '${ID}': Throttling: Rate exceeded`,
    );
  });
});
