/**
 * Custom resource: a branch database on the shared Postgres, copied from the golden template
 * (`StagingDatabase.fromTemplate()`), with a login role of its own that may connect to it only.
 *
 * Create: under the template lock (held shared, so creates run side by side while a golden swap
 * waits), checks that the golden template exists, creates the role (password from the branch
 * secret), `CREATE DATABASE <branch> OWNER <role> TEMPLATE <golden>`, hands the copied objects to
 * the role, and lets only that role connect. A replayed Create finds its own database (by its
 * comment) and adopts it; a failed Create drops what it made. Update re-applies the password and
 * connection limit, and copies the template again when RefreshToken changed; new names are a new
 * physical id, so CloudFormation deletes the old database. Delete ends the branch's connections and
 * drops its database and role; a database already gone is success.
 *
 * Which databases may be touched comes from the provider's environment (the shared stack), never
 * from the branch's properties: only `<prefix>_br_*` names, never the golden template, its
 * neighbours, the shared app's database or a system database.
 */
import { Client } from 'pg';
import { OnEventRequest, OnEventResponse, log } from '../shared/provider';
import { readCredentials } from '../shared/secrets';
import { sleep } from '../shared/sleep';
import { entry } from '../shared/entry';
import {
  PHYSICAL_ID_PREFIX,
  TEMPLATE_LOCK,
  TemplateConfig,
  TemplateDatabaseAttributes,
  TemplateDatabaseRequest,
  branchNameProblem,
  ownershipComment,
  parseProperties,
  physicalIdFor,
  readConfig,
} from '../../lib/contract/providers/database-template';

/** Waits and retries; mutable so tests can shorten them. */
export const timing = { lockTimeoutMs: 120_000, busyRetries: 5, busyDelayMs: 1000, connectTimeoutMs: 10_000 };

async function handleEvent(event: OnEventRequest): Promise<OnEventResponse> {
  const config = readConfig(process.env);
  switch (event.RequestType) {
    case 'Create':
      return create(config, parseProperties(event.ResourceProperties, config), false);
    case 'Update': {
      const props = parseProperties(event.ResourceProperties, config);
      if (physicalIdFor(props.databaseName) !== event.PhysicalResourceId) {
        log('names changed: a new copy; CloudFormation then deletes the old one', { from: event.PhysicalResourceId, to: props.databaseName });
        return create(config, props, false);
      }
      const recopy = (event.OldResourceProperties?.RefreshToken ?? undefined) !== props.refreshToken;
      return create(config, props, recopy);
    }
    case 'Delete':
      return remove(config, event);
    default:
      throw new Error(`Unsupported RequestType '${String((event as OnEventRequest).RequestType)}'`);
  }
}
export const onEvent = entry('database-template.onEvent', handleEvent);

function response(config: TemplateConfig, props: TemplateDatabaseRequest): OnEventResponse {
  return {
    PhysicalResourceId: physicalIdFor(props.databaseName),
    Data: {
      [TemplateDatabaseAttributes.ENDPOINT]: config.host,
      [TemplateDatabaseAttributes.PORT]: String(config.port),
      [TemplateDatabaseAttributes.DATABASE_NAME]: props.databaseName,
      [TemplateDatabaseAttributes.USERNAME]: props.roleName,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Create and Update

async function create(config: TemplateConfig, props: TemplateDatabaseRequest, recopy: boolean): Promise<OnEventResponse> {
  const [admin, password] = await Promise.all([adminCredentials(config), secretPassword(props.passwordSecretArn, 'PasswordSecretArn')]);
  const made = { role: false, database: false };
  await withClient(config, admin, config.maintenanceDatabase, async (pg) => {
    await lockShared(pg);
    try {
      await requireGolden(pg, config);
      const comment = ownershipComment(props.stagingName);
      const role = await roleState(pg, props.roleName);
      if (role.exists && role.comment !== comment) {
        throw new Error(
          `Role '${props.roleName}' already exists and is not this branch's (its comment is ${JSON.stringify(role.comment)}): ` +
            'two stagings map to the same role, or it was made by hand. Drop or rename it, or use another prefix.',
        );
      }
      const db = await databaseState(pg, props.databaseName);
      if (db.exists && db.comment !== comment) {
        throw new Error(
          `Database '${props.databaseName}' already exists and is not this branch's (its comment is ${JSON.stringify(db.comment)}): ` +
            'two stagings map to the same database, or it was made by hand. Drop or rename it, or use another prefix.',
        );
      }
      try {
        const roleSql = `LOGIN PASSWORD ${pg.escapeLiteral(password)} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOINHERIT CONNECTION LIMIT ${props.connectionLimit}`;
        if (role.exists) {
          await pg.query(`ALTER ROLE ${ident(props.roleName)} WITH ${roleSql}`);
        } else {
          await pg.query(`CREATE ROLE ${ident(props.roleName)} WITH ${roleSql}`);
          made.role = true;
          await pg.query(`COMMENT ON ROLE ${ident(props.roleName)} IS ${pg.escapeLiteral(comment)}`);
        }
        // Membership lets a non-superuser admin (RDS) create the database OWNER the role and hand it objects.
        await pg.query(`GRANT ${ident(props.roleName)} TO CURRENT_USER`).catch(ignoreAlreadyMember);
        if (db.exists && recopy) {
          log('RefreshToken changed: copying the golden template again', { database: props.databaseName });
          await dropDatabase(pg, props.databaseName);
        }
        if (!db.exists || recopy) {
          await copyTemplate(pg, config, props);
          made.database = !db.exists;
          await pg.query(`COMMENT ON DATABASE ${ident(props.databaseName)} IS ${pg.escapeLiteral(comment)}`);
          await withClient(config, admin, props.databaseName, (branch) => handOver(branch, config, props.roleName));
        } else {
          log('database exists and is this branch\'s: adopted (a replayed create or an update)', { database: props.databaseName });
        }
        await pg.query(`REVOKE ALL ON DATABASE ${ident(props.databaseName)} FROM PUBLIC`);
        await pg.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${ident(props.databaseName)} TO ${ident(props.roleName)}`);
      } catch (error) {
        // CloudFormation sends no Delete for a failed Create: drop what this attempt made.
        if (made.database) await dropDatabase(pg, props.databaseName).catch(() => undefined);
        if (made.role) await pg.query(`DROP ROLE IF EXISTS ${ident(props.roleName)}`).catch(() => undefined);
        throw error;
      }
    } finally {
      await unlockShared(pg);
    }
  });
  log('branch database ready', { database: props.databaseName, role: props.roleName, template: config.templateDatabase, recopied: recopy });
  return response(config, props);
}

async function requireGolden(pg: Client, config: TemplateConfig): Promise<void> {
  const { rows } = await pg.query('SELECT datistemplate, datallowconn FROM pg_database WHERE datname = $1', [config.templateDatabase]);
  if (rows.length === 0) {
    throw new Error(
      `The golden template database '${config.templateDatabase}' does not exist yet on ${config.host}: run the refresh first, ` +
        `then deploy the branch again: ${config.refreshCommand}`,
    );
  }
}

/** CREATE DATABASE … TEMPLATE, retried while the template is briefly busy (a straggler being ended). */
async function copyTemplate(pg: Client, config: TemplateConfig, props: TemplateDatabaseRequest): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await pg.query(`CREATE DATABASE ${ident(props.databaseName)} OWNER ${ident(props.roleName)} TEMPLATE ${ident(config.templateDatabase)}`);
      return;
    } catch (error) {
      // 55006: "source database … is being accessed by other users".
      if ((error as { code?: string }).code !== '55006' || attempt >= timing.busyRetries) throw error;
      log('golden template busy; ending its connections and retrying', { attempt, template: config.templateDatabase });
      await pg.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [config.templateDatabase]);
      await sleep(timing.busyDelayMs * attempt);
    }
  }
}

/** In the new copy: what the golden template's owner owned now belongs to the branch role. */
async function handOver(branch: Client, config: TemplateConfig, roleName: string): Promise<void> {
  const { rows } = await branch.query(
    'SELECT r.oid, (SELECT count(*) FROM pg_database d WHERE d.datdba = r.oid)::int AS databases FROM pg_roles r WHERE r.rolname = $1',
    [config.templateOwner],
  );
  if (rows.length === 0) return; // a template made without the refresh: objects stay the admin's
  // REASSIGN OWNED also moves shared objects: refuse if the template owner owns any database.
  if (rows[0].databases > 0) {
    throw new Error(`The template owner '${config.templateOwner}' owns a database; refusing to hand its objects to '${roleName}', which would give that database away`);
  }
  await branch.query(`GRANT ${ident(config.templateOwner)} TO CURRENT_USER`).catch(ignoreAlreadyMember);
  await branch.query(`REASSIGN OWNED BY ${ident(config.templateOwner)} TO ${ident(roleName)}`);
}

// ---------------------------------------------------------------------------------------------
// Delete

async function remove(config: TemplateConfig, event: OnEventRequest): Promise<OnEventResponse> {
  const physicalId = event.PhysicalResourceId ?? '';
  if (!physicalId.startsWith(PHYSICAL_ID_PREFIX)) {
    log('physical id was not created by this handler; nothing to delete', { physicalResourceId: physicalId });
    return { PhysicalResourceId: physicalId };
  }
  const databaseName = physicalId.slice(PHYSICAL_ID_PREFIX.length);
  const roleName = String(event.ResourceProperties?.RoleName ?? databaseName);
  for (const problem of [branchNameProblem('database', databaseName, config), branchNameProblem('role', roleName, config)]) {
    if (problem) throw new Error(`Refusing to delete for resource '${event.LogicalResourceId}': ${problem}`);
  }
  const comment = ownershipComment(String(event.ResourceProperties?.StagingName ?? ''));
  const admin = await adminCredentials(config);
  await withClient(config, admin, config.maintenanceDatabase, async (pg) => {
    const db = await databaseState(pg, databaseName);
    if (db.exists && db.comment !== comment) {
      throw new Error(`Refusing to drop database '${databaseName}': it is not marked as this branch's copy (comment ${JSON.stringify(db.comment)})`);
    }
    if (db.exists) await dropDatabase(pg, databaseName);
    const role = await roleState(pg, roleName);
    if (role.exists && role.comment === comment) {
      await pg.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [roleName]);
      await pg.query(`DROP ROLE IF EXISTS ${ident(roleName)}`);
    } else if (role.exists) {
      log('role is not marked as this branch\'s; left in place', { role: roleName });
    }
    log('branch database dropped', { database: databaseName, existed: db.exists, role: roleName, roleExisted: role.exists });
  });
  return { PhysicalResourceId: physicalId };
}

/** Ends the branch's connections (no new ones first) and drops its database. */
async function dropDatabase(pg: Client, databaseName: string): Promise<void> {
  await pg.query(`ALTER DATABASE ${ident(databaseName)} WITH ALLOW_CONNECTIONS false`);
  await pg.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [databaseName]);
  await pg.query(`DROP DATABASE IF EXISTS ${ident(databaseName)} WITH (FORCE)`);
}

// ---------------------------------------------------------------------------------------------
// Shared

interface ObjectState {
  readonly exists: boolean;
  readonly comment: string | null;
}

async function databaseState(pg: Client, name: string): Promise<ObjectState> {
  const { rows } = await pg.query("SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1", [name]);
  return { exists: rows.length > 0, comment: rows[0]?.comment ?? null };
}

async function roleState(pg: Client, name: string): Promise<ObjectState> {
  const { rows } = await pg.query("SELECT shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = $1", [name]);
  return { exists: rows.length > 0, comment: rows[0]?.comment ?? null };
}

async function lockShared(pg: Client): Promise<void> {
  await pg.query(`SET statement_timeout = ${timing.lockTimeoutMs}`);
  await pg.query('SELECT pg_advisory_lock_shared($1, $2)', [TEMPLATE_LOCK.classId, TEMPLATE_LOCK.objectId]);
  await pg.query('SET statement_timeout = 0');
}

async function unlockShared(pg: Client): Promise<void> {
  await pg.query('SELECT pg_advisory_unlock_shared($1, $2)', [TEMPLATE_LOCK.classId, TEMPLATE_LOCK.objectId]).catch(() => undefined);
}

function ignoreAlreadyMember(error: unknown): void {
  // Already a member, or a superuser granting to itself: nothing to do.
  if (!/already (a )?member|is a member|ADMIN/i.test((error as Error).message ?? '')) throw error;
}

/** A double-quoted identifier; names are validated to [a-z0-9_] before they get here. */
function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

interface Credentials {
  readonly username: string;
  readonly password: string;
}

async function withClient<T>(config: TemplateConfig, who: Credentials, database: string, work: (pg: Client) => Promise<T>): Promise<T> {
  const pg = new Client({
    host: config.host,
    port: config.port,
    user: who.username,
    password: who.password,
    database,
    ssl: config.ssl ? { rejectUnauthorized: true } : false,
    connectionTimeoutMillis: timing.connectTimeoutMs,
    application_name: 'cdk-multi-staging database-template',
  });
  pg.on('error', () => undefined); // a terminated connection is reported by the query that fails
  try {
    await pg.connect();
  } catch (error) {
    const e = error as Error & { code?: string };
    throw new Error(
      `Cannot connect to Postgres at ${config.host}:${config.port} database '${database}' as '${who.username}': ${e.message}${e.code ? ` (${e.code})` : ''}. ` +
        "Check that the handler's security group may reach the shared Postgres and that the admin secret is current.",
    );
  }
  try {
    return await work(pg);
  } finally {
    await pg.end().catch(() => undefined);
  }
}

async function adminCredentials(config: TemplateConfig): Promise<Credentials> {
  const { username, password } = await readCredentials(config.adminSecretArn, 'the admin secret', 'required');
  return { username: username!, password };
}

async function secretPassword(arn: string, what: string): Promise<string> {
  return (await readCredentials(arn, what, 'optional')).password;
}
