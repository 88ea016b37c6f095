/**
 * The contract of the database-template provider (lib/providers/database-template.ts,
 * lambda/database-template/), imported by the construct and the handler alike:
 * `Custom::StagingTemplateDatabase`, its ResourceProperties and attributes, the provider's
 * environment and the advisory lock that the golden-template refresh (lib/private/golden-template.ts)
 * shares with branch creates. Conventions: ./index.ts.
 */

export const TemplateDatabaseResourceType = 'Custom::StagingTemplateDatabase';

/** ResourceProperties of `Custom::StagingTemplateDatabase` (CloudFormation sends strings). */
export interface TemplateDatabaseResourceProperties {
  /** The branch database: must start with the provider's branch prefix (`<prefix>_br_`). */
  readonly DatabaseName: string;
  /** The branch's login role: the same pattern. */
  readonly RoleName: string;
  /** JSON secret whose `password` the role logs in with. */
  readonly PasswordSecretArn: string;
  /** Most connections the role may hold. */
  readonly ConnectionLimit: string;
  /** The staging name, recorded on the database so that a replayed create adopts its own copy. */
  readonly StagingName: string;
  /** A new value copies the golden template again. */
  readonly RefreshToken?: string;
}

/** Attributes (`Data`) of `Custom::StagingTemplateDatabase`: where the branch's containers connect. */
export const TemplateDatabaseAttributes = {
  ENDPOINT: 'Endpoint',
  PORT: 'Port',
  DATABASE_NAME: 'DatabaseName',
  USERNAME: 'Username',
} as const;

/**
 * The provider's environment, set by the shared stack only. Everything that decides *which*
 * databases may be touched comes from here, never from a branch stack's properties.
 */
export const DatabaseTemplateEnvironment = {
  /** Host of the shared Postgres. */
  HOST: 'DB_HOST',
  PORT: 'DB_PORT',
  /** `true` (verify the server certificate) or `false`. */
  SSL: 'DB_SSL',
  /** JSON secret with the admin `username` and `password`. */
  ADMIN_SECRET_ARN: 'DB_ADMIN_SECRET_ARN',
  /** The database the handler connects to for CREATE/DROP DATABASE (`postgres`). */
  MAINTENANCE_DATABASE: 'DB_MAINTENANCE_DATABASE',
  /** The golden template. */
  TEMPLATE_DATABASE: 'DB_TEMPLATE_DATABASE',
  /** The NOLOGIN role that owns the golden template's objects; each copy hands them to the branch role. */
  TEMPLATE_OWNER: 'DB_TEMPLATE_OWNER',
  /** Comma-separated databases that are never created, changed or dropped (the shared app's). */
  PROTECTED_DATABASES: 'DB_PROTECTED_DATABASES',
  /** What every branch database and role name starts with (`<prefix>_br_`). */
  BRANCH_PREFIX: 'DB_BRANCH_PREFIX',
  /** The command that refreshes the golden template, quoted when it does not exist yet. */
  REFRESH_COMMAND: 'DB_REFRESH_COMMAND',
} as const;

/**
 * The advisory lock (two-key form) that orders golden swaps against branch creates: creates hold
 * it shared (they run side by side), the refresh takes it exclusively for the swap only.
 */
export const TEMPLATE_LOCK = { classId: 1_635_017_060, objectId: 1 } as const;

/** Suffixes of the golden template's neighbours during a refresh. */
export const NEXT_SUFFIX = '_next';
export const OLD_SUFFIX = '_old';

/** Databases no handler ever drops, whatever it is told. */
export const SYSTEM_DATABASES: readonly string[] = ['postgres', 'template0', 'template1', 'rdsadmin'];

/** Postgres's identifier limit, in bytes. */
export const MAX_IDENTIFIER_BYTES = 63;

/** The comment that marks a database (and role) as one branch's copy. */
export function ownershipComment(stagingName: string): string {
  return `cdk-multi-staging branch database of staging ${stagingName}`;
}

export const PHYSICAL_ID_PREFIX = 'database-template:';

export function physicalIdFor(databaseName: string): string {
  return `${PHYSICAL_ID_PREFIX}${databaseName}`;
}

/** Why `name` is not a safe plain identifier; undefined when it is. */
export function identifierProblem(what: string, name: unknown): string | undefined {
  if (typeof name !== 'string' || name === '') return `${what} is required`;
  if (Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES) {
    return `${what} '${name}' is ${Buffer.byteLength(name, 'utf8')} bytes; Postgres identifiers are at most ${MAX_IDENTIFIER_BYTES} bytes`;
  }
  if (!/^[a-z][a-z0-9_]*$/.test(name)) return `${what} '${name}' must be lower-case letters, digits and '_', starting with a letter`;
  return undefined;
}

export interface TemplateConfig {
  readonly host: string;
  readonly port: number;
  readonly ssl: boolean;
  readonly adminSecretArn: string;
  readonly maintenanceDatabase: string;
  readonly templateDatabase: string;
  readonly templateOwner: string;
  readonly protectedDatabases: readonly string[];
  readonly branchPrefix: string;
  readonly refreshCommand: string;
}

/** Reads the provider's environment; one error lists every problem. */
export function readConfig(env: Record<string, string | undefined>): TemplateConfig {
  const E = DatabaseTemplateEnvironment;
  const problems: string[] = [];
  const need = (key: string) => {
    const v = env[key];
    if (!v) problems.push(`environment variable ${key} is not set`);
    return v ?? '';
  };
  const config: TemplateConfig = {
    host: need(E.HOST),
    port: Number(env[E.PORT] ?? 5432),
    ssl: (env[E.SSL] ?? 'true') !== 'false',
    adminSecretArn: need(E.ADMIN_SECRET_ARN),
    maintenanceDatabase: env[E.MAINTENANCE_DATABASE] || 'postgres',
    templateDatabase: need(E.TEMPLATE_DATABASE),
    templateOwner: need(E.TEMPLATE_OWNER),
    protectedDatabases: (env[E.PROTECTED_DATABASES] ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    branchPrefix: need(E.BRANCH_PREFIX),
    refreshCommand: env[E.REFRESH_COMMAND] ?? '(see the shared stack output StagingDatabaseTemplateRefreshCommand)',
  };
  for (const [what, name] of [['the golden template', config.templateDatabase], ['the template owner', config.templateOwner]] as const) {
    const p = identifierProblem(what, name);
    if (p) problems.push(p);
  }
  if (Buffer.byteLength(config.templateDatabase) > MAX_IDENTIFIER_BYTES - NEXT_SUFFIX.length) {
    problems.push(`the golden template's name '${config.templateDatabase}' leaves no room for '${NEXT_SUFFIX}' within ${MAX_IDENTIFIER_BYTES} bytes`);
  }
  if (!/^[a-z][a-z0-9]*_[a-z0-9_]*_$/.test(config.branchPrefix)) problems.push(`the branch prefix '${config.branchPrefix}' must look like 'staging_br_'`);
  if (!Number.isInteger(config.port) || config.port < 1 || config.port > 65535) problems.push(`${E.PORT} must be a port, got '${env[E.PORT]}'`);
  if (problems.length > 0) throw new Error(`The database-template provider is misconfigured: ${problems.join('; ')}`);
  return config;
}

/** Every database a handler must never create over, change or drop. */
export function untouchableDatabases(config: TemplateConfig): string[] {
  const golden = config.templateDatabase;
  return [...SYSTEM_DATABASES, ...config.protectedDatabases, golden, `${golden}${NEXT_SUFFIX}`, `${golden}${OLD_SUFFIX}`];
}

/** Why `name` may not be a branch database or role; undefined when it may. */
export function branchNameProblem(what: string, name: unknown, config: TemplateConfig): string | undefined {
  const problem = identifierProblem(what, name);
  if (problem) return problem;
  const n = name as string;
  if (!n.startsWith(config.branchPrefix) || n.length === config.branchPrefix.length) {
    return `${what} '${n}' is outside the branch pattern '${config.branchPrefix}<name>'; this provider only touches branch databases`;
  }
  if (untouchableDatabases(config).includes(n)) return `${what} '${n}' is the golden template, the shared app's or a system database`;
  return undefined;
}

export interface TemplateDatabaseRequest {
  readonly databaseName: string;
  readonly roleName: string;
  readonly passwordSecretArn: string;
  readonly connectionLimit: number;
  readonly stagingName: string;
  readonly refreshToken?: string;
}

/** Parses and validates ResourceProperties; one error lists every problem. */
export function parseProperties(props: Record<string, unknown>, config: TemplateConfig): TemplateDatabaseRequest {
  const problems: string[] = [];
  const text = (v: unknown) => (v === undefined || v === null || v === '' ? undefined : String(v));
  const databaseName = text(props.DatabaseName) ?? '';
  const roleName = text(props.RoleName) ?? '';
  for (const p of [branchNameProblem('DatabaseName', databaseName, config), branchNameProblem('RoleName', roleName, config)]) if (p) problems.push(p);
  const passwordSecretArn = text(props.PasswordSecretArn) ?? '';
  if (!/^arn:aws[a-z-]*:secretsmanager:/.test(passwordSecretArn)) problems.push(`PasswordSecretArn must be a Secrets Manager ARN, got '${passwordSecretArn}'`);
  const rawLimit = text(props.ConnectionLimit) ?? '20';
  const connectionLimit = Number(rawLimit);
  if (!/^\d+$/.test(rawLimit) || connectionLimit < 1 || connectionLimit > 1000) problems.push(`ConnectionLimit must be a whole number from 1 to 1000, got '${rawLimit}'`);
  const stagingName = text(props.StagingName) ?? '';
  if (!/^[a-z0-9-]{1,63}$/.test(stagingName)) problems.push(`StagingName must be a staging name, got '${stagingName}'`);
  if (problems.length > 0) throw new Error(`Invalid properties: ${problems.join('; ')}`);
  return { databaseName, roleName, passwordSecretArn, connectionLimit, stagingName, refreshToken: text(props.RefreshToken) };
}
