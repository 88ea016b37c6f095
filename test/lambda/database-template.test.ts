/**
 * The database-template handler against a real PostgreSQL server (started here, on a free
 * loopback port), with the golden template made by the real refresh script.
 */
import { spawn } from 'node:child_process';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { Client } from 'pg';
import { onEvent, timing } from '../../lambda/database-template';
import { DatabaseTemplateEnvironment as E, TEMPLATE_LOCK, ownershipComment } from '../../lib/contract/providers/database-template';
import { OnEventRequest } from '../../lambda/shared/provider';
import { GOLDEN_REFRESH_SCRIPT } from '../../lib/private/golden-refresh-script';
import { PostgresServer } from './database-template-server';

jest.setTimeout(60_000);

const secrets = mockClient(SecretsManagerClient);
const ADMIN_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:staging-shared-db-AbCdEf';
const arnOf = (name: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:staging/branches/${name}/database-AbCdEf`;
const GOLDEN = 'staging_template';
const OWNER = 'staging_template_owner';
const REFRESH_COMMAND = 'aws ecs run-task --cluster staging (the shared stack output)';
const passwords = new Map<string, string>();

let server: PostgresServer;

/** Runs the real refresh script with the tools of the installed Postgres. */
function refresh(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', GOLDEN_REFRESH_SCRIPT], {
      env: {
        ...process.env,
        ...server.libpqEnv,
        PATH: `${server.bin}:${process.env.PATH}`,
        SOURCE_DATABASE: 'app',
        TEMPLATE_DATABASE: GOLDEN,
        TEMPLATE_OWNER: OWNER,
        LOCK_CLASS: String(TEMPLATE_LOCK.classId),
        LOCK_OBJECT: String(TEMPLATE_LOCK.objectId),
      },
    });
    let output = '';
    child.stdout.on('data', (c) => (output += String(c)));
    child.stderr.on('data', (c) => (output += String(c)));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

async function refreshOk(): Promise<void> {
  const { code, output } = await refresh();
  if (code !== 0) throw new Error(`refresh failed:\n${output}`);
}

/** A create event for the branch `name` (the staging name; database and role `staging_br_<name>`). */
function event(type: 'Create' | 'Update' | 'Delete', name: string, extra: Partial<OnEventRequest> & { props?: Record<string, unknown> } = {}): OnEventRequest {
  const db = `staging_br_${name.replace(/-/g, '_')}`;
  if (!passwords.has(arnOf(name))) passwords.set(arnOf(name), `pw-${name}-1`);
  return {
    RequestType: type,
    StackId: `arn:aws:cloudformation:eu-west-1:123456789012:stack/staging-${name}/1`,
    RequestId: 'r',
    LogicalResourceId: 'StagingDatabase',
    ResourceType: 'Custom::StagingTemplateDatabase',
    PhysicalResourceId: type === 'Create' ? undefined : `database-template:${db}`,
    ResourceProperties: { DatabaseName: db, RoleName: db, PasswordSecretArn: arnOf(name), ConnectionLimit: '5', StagingName: name, ...extra.props },
    ...extra,
  };
}

const dbName = (name: string) => `staging_br_${name.replace(/-/g, '_')}`;

async function connectAs(name: string, database = dbName(name), password = passwords.get(arnOf(name))!): Promise<Client> {
  return server.client(database, dbName(name), password);
}

async function itemCount(name: string): Promise<number> {
  const rows = await server.sql<{ n: number }>('SELECT count(*)::int AS n FROM items', [], dbName(name));
  return rows[0].n;
}

beforeAll(async () => {
  server = await new PostgresServer().start();
  await server.sql('CREATE DATABASE app');
  await server.sql(
    "CREATE EXTENSION pgcrypto; CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL); INSERT INTO items (name) SELECT 'item ' || g FROM generate_series(1, 1000) g",
    [],
    'app',
  );
  await refreshOk();
});

afterAll(async () => {
  await server?.stop();
});

beforeEach(() => {
  secrets.reset();
  secrets.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => {
    if (input.SecretId === ADMIN_ARN) return { SecretString: JSON.stringify(server.admin) };
    const password = passwords.get(input.SecretId);
    if (!password) throw Object.assign(new Error('no such secret'), { name: 'ResourceNotFoundException' });
    return { SecretString: JSON.stringify({ username: 'ignored', password }) };
  });
  Object.assign(process.env, {
    [E.HOST]: '127.0.0.1',
    [E.PORT]: String(server.port),
    [E.SSL]: 'false',
    [E.ADMIN_SECRET_ARN]: ADMIN_ARN,
    [E.TEMPLATE_DATABASE]: GOLDEN,
    [E.TEMPLATE_OWNER]: OWNER,
    [E.PROTECTED_DATABASES]: 'app',
    [E.BRANCH_PREFIX]: 'staging_br_',
    [E.REFRESH_COMMAND]: REFRESH_COMMAND,
  });
  timing.busyDelayMs = 10;
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  jest.spyOn(console, 'error').mockImplementation(() => undefined);
});

afterEach(() => jest.restoreAllMocks());

describe('the golden template made by the refresh script', () => {
  test('is a template nobody may connect to, owned by the admin, with its objects owned by the template owner', async () => {
    const [golden] = await server.sql("SELECT datistemplate, datallowconn, pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1", [GOLDEN]);
    expect(golden).toEqual({ datistemplate: true, datallowconn: false, owner: server.admin.username });
    await expect(server.client(GOLDEN)).rejects.toThrow(/not currently accepting connections/);
    expect(await server.databases()).not.toContain(`${GOLDEN}_next`);
  });

  test('a second refresh swaps a new copy in and leaves no neighbour behind', async () => {
    await server.sql("INSERT INTO items (name) VALUES ('added before the second refresh')", [], 'app');
    await refreshOk();
    await onEvent(event('Create', 'second-refresh'));
    expect(await itemCount('second-refresh')).toBe(1001);
    expect((await server.databases()).filter((d) => d.startsWith(GOLDEN))).toEqual([GOLDEN]);
    await onEvent(event('Delete', 'second-refresh'));
  });
});

test('a refresh that finds another one running stops at once and changes nothing', async () => {
  // Hold the first refresh inside its pg_dump (which waits for this lock on the app's table), so
  // that it is certainly still running when the second starts, however fast or loaded the machine.
  const blocker = await server.client('app');
  await blocker.query('BEGIN');
  await blocker.query('LOCK TABLE items IN ACCESS EXCLUSIVE MODE');
  const first = refresh();
  const dumping = () =>
    server.sql<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'cdk-multi-staging golden refresh%' AND wait_event_type = 'Lock'");
  for (let i = 0; i < 3000 && (await dumping())[0].n === 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect(await server.databases()).toContain(`${GOLDEN}_next`);
  const second = await refresh();
  await blocker.query('COMMIT');
  await blocker.end();
  expect(second.code).toBe(3);
  expect(second.output).toContain('another refresh of staging_template is running');
  expect((await first).code).toBe(0);
  expect((await server.databases()).filter((d) => d.startsWith(GOLDEN))).toEqual([GOLDEN]);
  // Neither leaves a session behind that would stop the next refresh.
  const sessions = () => server.sql<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'cdk-multi-staging golden refresh%'");
  for (let i = 0; i < 200 && (await sessions())[0].n > 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect((await sessions())[0].n).toBe(0);
});

describe('Create', () => {
  test('copies the golden template into the branch database and returns where it is', async () => {
    const response = await onEvent(event('Create', 'feature-a'));
    expect(response).toEqual({
      PhysicalResourceId: 'database-template:staging_br_feature_a',
      Data: { Endpoint: '127.0.0.1', Port: String(server.port), DatabaseName: 'staging_br_feature_a', Username: 'staging_br_feature_a' },
    });
    expect(await itemCount('feature-a')).toBeGreaterThanOrEqual(1000);
    const [db] = await server.sql("SELECT pg_get_userbyid(datdba) AS owner, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1", ['staging_br_feature_a']);
    expect(db).toEqual({ owner: 'staging_br_feature_a', comment: ownershipComment('feature-a') });
  });

  test('the branch role logs in with its secret\'s password, owns the copied tables and can migrate them', async () => {
    const pg = await connectAs('feature-a');
    try {
      await pg.query('ALTER TABLE items ADD COLUMN migrated boolean DEFAULT true');
      await pg.query("INSERT INTO items (name) VALUES ('from the branch')");
      expect((await pg.query("SELECT encode(digest('x', 'sha256'), 'hex') AS h")).rows[0].h).toHaveLength(64);
      const { rows } = await pg.query("SELECT rolsuper, rolcreatedb, rolcreaterole, rolconnlimit FROM pg_roles WHERE rolname = current_user");
      expect(rows[0]).toEqual({ rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolconnlimit: 5 });
    } finally {
      await pg.end();
    }
    // The source is untouched.
    const [source] = await server.sql("SELECT count(*)::int AS columns FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'migrated'", [], 'app');
    expect(source.columns).toBe(0);
  });

  test('the branch role may connect to its own database only', async () => {
    await onEvent(event('Create', 'feature-b'));
    for (const other of ['app', 'postgres', 'staging_br_feature_b', GOLDEN]) {
      await expect(connectAs('feature-a', other)).rejects.toThrow(/permission denied|not currently accepting connections/);
    }
    await expect(connectAs('feature-a', 'staging_br_feature_a', 'wrong password')).rejects.toThrow(/password authentication failed/);
  });

  test('a replayed Create adopts its own database and keeps its data', async () => {
    const before = await itemCount('feature-a');
    const again = await onEvent(event('Create', 'feature-a'));
    expect(again.PhysicalResourceId).toBe('database-template:staging_br_feature_a');
    expect(await itemCount('feature-a')).toBe(before);
  });

  test('two Creates at the same moment from the same template both succeed', async () => {
    const results = await Promise.all([onEvent(event('Create', 'twin-one')), onEvent(event('Create', 'twin-two'))]);
    expect(results.map((r) => r.PhysicalResourceId)).toEqual(['database-template:staging_br_twin_one', 'database-template:staging_br_twin_two']);
    expect(await itemCount('twin-one')).toBe(await itemCount('twin-two'));
    await Promise.all([onEvent(event('Delete', 'twin-one')), onEvent(event('Delete', 'twin-two'))]);
  });

  test('Creates during a golden refresh succeed, each with a whole copy of the old or the new template', async () => {
    const old = await itemCount('feature-a'); // feature-a was copied from the current golden template... plus its own row
    const [{ n: goldenCount }] = await server.sql<{ n: number }>('SELECT count(*)::int AS n FROM items', [], 'app');
    // A bigger source makes the refresh take long enough to create branches while it runs.
    await server.sql("INSERT INTO items (name) SELECT repeat('x', 200) FROM generate_series(1, 200000)", [], 'app');
    const running = refresh();
    let sawNext = false;
    const names: string[] = [];
    let finished = false;
    void running.then(() => (finished = true));
    for (let i = 0; !finished && i < 200; i++) {
      if (!sawNext) sawNext = (await server.databases()).includes(`${GOLDEN}_next`);
      if (sawNext) {
        const name = `during-${i}`;
        names.push(name);
        await onEvent(event('Create', name));
      } else {
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    const { code, output } = await running;
    expect({ code, output: code === 0 ? '' : output }).toEqual({ code: 0, output: '' });
    expect(sawNext).toBe(true);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      expect([goldenCount, goldenCount + 200000]).toContain(await itemCount(name));
    }
    // The first one was made while the new template was still being built: the old, whole.
    expect(await itemCount(names[0])).toBe(goldenCount);
    await onEvent(event('Create', 'after-refresh'));
    expect(await itemCount('after-refresh')).toBe(goldenCount + 200000);
    expect(old).toBeGreaterThan(0);
    for (const name of [...names, 'after-refresh']) await onEvent(event('Delete', name));
  });

  test('fails with "run the refresh first" and the command when the golden template does not exist yet; nothing is made', async () => {
    process.env[E.TEMPLATE_DATABASE] = 'staging_golden_never_made';
    await expect(onEvent(event('Create', 'too-early'))).rejects.toThrow(
      `The golden template database 'staging_golden_never_made' does not exist yet on 127.0.0.1: run the refresh first, then deploy the branch again: ${REFRESH_COMMAND}`,
    );
    expect(await server.databases()).not.toContain('staging_br_too_early');
    expect(await server.sql("SELECT 1 FROM pg_roles WHERE rolname = 'staging_br_too_early'")).toEqual([]);
  });

  test('a Create that fails half-way drops the database and role it made', async () => {
    // A template owner that owns a database must never have its objects handed over (REASSIGN
    // OWNED would give the database away too): the create fails after CREATE DATABASE.
    await server.sql('CREATE ROLE owner_of_a_database NOLOGIN');
    await server.sql('CREATE DATABASE owned_elsewhere OWNER owner_of_a_database');
    process.env[E.TEMPLATE_OWNER] = 'owner_of_a_database';
    await expect(onEvent(event('Create', 'half-way'))).rejects.toThrow(/owns a database; refusing/);
    expect(await server.databases()).not.toContain('staging_br_half_way');
    expect(await server.sql("SELECT 1 FROM pg_roles WHERE rolname = 'staging_br_half_way'")).toEqual([]);
    expect(await server.databases()).toContain('owned_elsewhere');
  });

  test('a database of the same name that is not this branch\'s is a collision: it fails and leaves it as it was', async () => {
    await server.sql('CREATE DATABASE staging_br_taken');
    await expect(onEvent(event('Create', 'taken'))).rejects.toThrow(/Database 'staging_br_taken' already exists and is not this branch's/);
    expect(await server.databases()).toContain('staging_br_taken');
    expect(await server.sql("SELECT 1 FROM pg_roles WHERE rolname = 'staging_br_taken'")).toEqual([]);
  });

  test.each([
    ['app', /outside the branch pattern/],
    [GOLDEN, /outside the branch pattern/],
    ['staging_br_', /outside the branch pattern/],
    ['staging_br_Upper', /lower-case/],
    [`staging_br_${'x'.repeat(60)}`, /at most 63 bytes/],
  ])('refuses DatabaseName %s', async (name, message) => {
    await expect(onEvent(event('Create', 'refused', { props: { DatabaseName: name } }))).rejects.toThrow(message);
  });
});

describe('Update', () => {
  test('same names: the role takes the new password and connection limit, the data stays', async () => {
    const before = await itemCount('feature-a');
    passwords.set(arnOf('feature-a'), 'pw-feature-a-2');
    const old = event('Create', 'feature-a').ResourceProperties;
    const response = await onEvent(event('Update', 'feature-a', { OldResourceProperties: old, props: { ConnectionLimit: '7' } }));
    expect(response.PhysicalResourceId).toBe('database-template:staging_br_feature_a');
    const pg = await connectAs('feature-a');
    expect((await pg.query('SELECT rolconnlimit FROM pg_roles WHERE rolname = current_user')).rows[0].rolconnlimit).toBe(7);
    await pg.end();
    expect(await itemCount('feature-a')).toBe(before);
  });

  test('a new RefreshToken copies the golden template again', async () => {
    const [{ n: golden }] = await server.sql<{ n: number }>('SELECT count(*)::int AS n FROM items', [], 'app');
    await server.sql("INSERT INTO items (name) VALUES ('branch only')", [], 'staging_br_feature_a');
    const old = event('Create', 'feature-a').ResourceProperties;
    await onEvent(event('Update', 'feature-a', { OldResourceProperties: old, props: { RefreshToken: '2026-12-01' } }));
    expect(await itemCount('feature-a')).toBe(golden);
  });

  test('new names make a new copy; the old one is left for CloudFormation\'s Delete', async () => {
    const e = event('Update', 'feature-a', { props: { DatabaseName: 'staging_br_feature_a2', RoleName: 'staging_br_feature_a2' } });
    const response = await onEvent(e);
    expect(response.PhysicalResourceId).toBe('database-template:staging_br_feature_a2');
    expect(await server.databases()).toEqual(expect.arrayContaining(['staging_br_feature_a', 'staging_br_feature_a2']));
    await onEvent({ ...event('Delete', 'feature-a'), PhysicalResourceId: 'database-template:staging_br_feature_a2', ResourceProperties: e.ResourceProperties });
    expect(await server.databases()).not.toContain('staging_br_feature_a2');
  });
});

describe('Delete', () => {
  test('ends the connections of a branch app that is still connected, then drops its database and role', async () => {
    const app = await connectAs('feature-b');
    await app.query('SELECT 1');
    const closed = new Promise<void>((resolve) => app.on('end', () => resolve()));
    await onEvent(event('Delete', 'feature-b'));
    await closed;
    expect(await server.databases()).not.toContain('staging_br_feature_b');
    expect(await server.sql("SELECT 1 FROM pg_roles WHERE rolname = 'staging_br_feature_b'")).toEqual([]);
  });

  test('is idempotent: a database that is already gone is success', async () => {
    await expect(onEvent(event('Delete', 'feature-b'))).resolves.toEqual({ PhysicalResourceId: 'database-template:staging_br_feature_b' });
  });

  test('a physical id this handler did not make (a failed Create) is success and touches nothing', async () => {
    const before = await server.databases();
    await expect(onEvent({ ...event('Delete', 'x'), PhysicalResourceId: 'some-failed-create' })).resolves.toEqual({ PhysicalResourceId: 'some-failed-create' });
    expect(await server.databases()).toEqual(before);
  });

  test.each(['app', GOLDEN, `${GOLDEN}_next`, 'postgres', 'template1', 'owned_elsewhere', 'staging_br_'])(
    'refuses to drop %s, which is not a branch database',
    async (name) => {
      await expect(onEvent({ ...event('Delete', 'x'), PhysicalResourceId: `database-template:${name}`, ResourceProperties: { RoleName: name } })).rejects.toThrow(
        /Refusing to delete/,
      );
    },
  );

  test('refuses to drop a branch-pattern database that is not marked as this branch\'s copy', async () => {
    await expect(onEvent(event('Delete', 'taken'))).rejects.toThrow(/Refusing to drop database 'staging_br_taken': it is not marked/);
    expect(await server.databases()).toContain('staging_br_taken');
  });
});

describe('no other database is ever dropped', () => {
  test('after every test above, the source, the golden template, the system databases and the foreign ones are all still there', async () => {
    const databases = await server.databases();
    expect(databases).toEqual(expect.arrayContaining(['app', GOLDEN, 'postgres', 'template0', 'template1', 'owned_elsewhere', 'staging_br_taken']));
    const [{ n }] = await server.sql<{ n: number }>('SELECT count(*)::int AS n FROM items', [], 'app');
    expect(n).toBe(201001);
    // Delete the last branch: only it goes.
    await onEvent(event('Delete', 'feature-a'));
    expect(await server.databases()).toEqual(databases.filter((d) => d !== 'staging_br_feature_a'));
  });
});
