/**
 * A real, throw-away PostgreSQL cluster for the database-template handler tests: initdb in a temp
 * dir, started with pg_ctl on a free loopback port, password (SCRAM) authentication, stopped and
 * removed at the end. CI installs Debian's `postgresql` (scripts/ensure-test-services.sh). As
 * root, the server runs as the `postgres` system user, since Postgres refuses to run as root.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from './redis-prefix-server';

/** The directory of initdb, pg_ctl, pg_dump and pg_restore: the newest installed major version. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb'))) : [];
  if (versions.length === 0) {
    throw new Error(
      'PostgreSQL server binaries are not installed: the database-template tests need a real Postgres. Install them with ' +
        '`apt-get update -qq && apt-get install -y -qq postgresql` (npm test does so on a bare Debian machine as root).',
    );
  }
  return join(root, versions.sort((a, b) => Number(b) - Number(a))[0], 'bin');
}

const ADMIN = 'app_admin';
const PASSWORD = 'admin-password-for-tests';

export interface PostgresServerOptions {
  /** fsync on, as a real server runs (slower); the tests turn it off. */
  readonly durable?: boolean;
}

export class PostgresServer {
  public port = 0;
  public readonly admin = { username: ADMIN, password: PASSWORD };
  public readonly bin = postgresBinDir();
  private dir = '';
  private runAs?: { uid: number; gid: number };

  constructor(private readonly options: PostgresServerOptions = {}) {}

  async start(): Promise<this> {
    this.dir = mkdtempSync(join(tmpdir(), 'database-template-pg-'));
    chmodSync(this.dir, 0o755);
    if (process.getuid?.() === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      this.runAs = { uid, gid };
      chownSync(this.dir, uid, gid);
    }
    const data = join(this.dir, 'data');
    const pwfile = join(this.dir, 'pw');
    writeFileSync(pwfile, PASSWORD);
    if (this.runAs) chownSync(pwfile, this.runAs.uid, this.runAs.gid);
    this.run('initdb', ['-D', data, '-U', ADMIN, '--pwfile', pwfile, '--auth', 'scram-sha-256', '-E', 'UTF8', '--locale', 'C.UTF-8', '--no-sync']);
    for (let attempt = 1; attempt <= 5; attempt++) {
      this.port = await freePort();
      const options = `-c listen_addresses=127.0.0.1 -p ${this.port} -c unix_socket_directories=${this.dir} -c fsync=${this.options.durable ? 'on' : 'off'} -c max_connections=60`;
      const started = this.run('pg_ctl', ['-D', data, '-l', join(this.dir, 'log'), '-o', options, '-w', '-t', '30', 'start'], false);
      if (started) return this;
    }
    throw new Error(`postgres did not start (see ${join(this.dir, 'log')})`);
  }

  /** A client as the admin (a superuser here; RDS's master user is rds_superuser). */
  async client(database = 'postgres', user = ADMIN, password = PASSWORD): Promise<Client> {
    const pg = new Client({ host: '127.0.0.1', port: this.port, user, password, database });
    pg.on('error', () => undefined);
    await pg.connect();
    return pg;
  }

  /** Runs SQL on `database` as the admin. */
  async sql<T = any>(text: string, params: unknown[] = [], database = 'postgres'): Promise<T[]> {
    const pg = await this.client(database);
    try {
      return (await pg.query(text, params)).rows as T[];
    } finally {
      await pg.end();
    }
  }

  async databases(): Promise<string[]> {
    return (await this.sql<{ datname: string }>('SELECT datname FROM pg_database ORDER BY datname')).map((r) => r.datname);
  }

  /** The environment of libpq tools (psql, pg_dump) for the admin. */
  get libpqEnv(): Record<string, string> {
    return { PGHOST: '127.0.0.1', PGPORT: String(this.port), PGUSER: ADMIN, PGPASSWORD: PASSWORD, PGSSLMODE: 'disable' };
  }

  async stop(): Promise<void> {
    if (this.dir && existsSync(join(this.dir, 'data'))) this.run('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop'], false);
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  private run(tool: string, args: string[], required = true): boolean {
    const result = spawnSync(join(this.bin, tool), args, { encoding: 'utf8', cwd: this.dir, ...(this.runAs ?? {}) });
    if (result.status !== 0 && required) throw new Error(`${tool} failed: ${result.stderr || result.stdout}`);
    return result.status === 0;
  }
}
