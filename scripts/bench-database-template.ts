/**
 * `npm run bench` (part of): how long the database-template handler's Create takes against a
 * real Postgres (the Debian server binaries, fsync on), for golden templates of about 10 MB and
 * 500 MB, and how long the refresh script takes to build them. Prints figures; asserts nothing.
 * The server is local: on RDS (gp3, network storage) copies are slower; see the README.
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { onEvent } from '../lambda/database-template';
import { DatabaseTemplateEnvironment as E, TEMPLATE_LOCK } from '../lib/contract/providers/database-template';
import { OnEventRequest } from '../lambda/shared/provider';
import { GOLDEN_REFRESH_SCRIPT } from '../lib/private/golden-refresh-script';
import { PostgresServer } from '../test/lambda/database-template-server';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SIZES_MB = [10, 500];
const ADMIN_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:admin';
const BRANCH_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:staging/branches/x/database';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

function event(type: 'Create' | 'Delete', name: string): OnEventRequest {
  const db = `staging_br_${name}`;
  return {
    RequestType: type,
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/staging-x/1',
    RequestId: 'r',
    LogicalResourceId: 'Database',
    ResourceType: 'Custom::StagingTemplateDatabase',
    PhysicalResourceId: type === 'Delete' ? `database-template:${db}` : undefined,
    ResourceProperties: { DatabaseName: db, RoleName: db, PasswordSecretArn: BRANCH_ARN, ConnectionLimit: '20', StagingName: name.replace(/_/g, '-') },
  };
}

async function main(): Promise<void> {
  const server = await new PostgresServer({ durable: true }).start();
  const secrets = mockClient(SecretsManagerClient);
  secrets.on(GetSecretValueCommand, { SecretId: ADMIN_ARN }).resolves({ SecretString: JSON.stringify(server.admin) });
  secrets.on(GetSecretValueCommand, { SecretId: BRANCH_ARN }).resolves({ SecretString: JSON.stringify({ password: 'bench-password' }) });
  Object.assign(process.env, {
    [E.HOST]: '127.0.0.1', [E.PORT]: String(server.port), [E.SSL]: 'false', [E.ADMIN_SECRET_ARN]: ADMIN_ARN,
    [E.TEMPLATE_DATABASE]: 'staging_template', [E.TEMPLATE_OWNER]: 'staging_template_owner', [E.PROTECTED_DATABASES]: 'app', [E.BRANCH_PREFIX]: 'staging_br_',
  });
  const log = console.log;
  console.log = () => undefined; // the handler's JSON logs
  const rows: string[] = [];
  try {
    await server.sql('CREATE DATABASE app');
    await server.sql('CREATE TABLE items (id bigserial PRIMARY KEY, body text NOT NULL, n int NOT NULL); CREATE INDEX ON items (n)', [], 'app');
    let loadedMb = 0;
    for (const target of SIZES_MB) {
      // About 0.55 kB per row (heap + index); filled until the database is about `target` MB.
      const rowsToAdd = Math.round(((target - loadedMb) * 1024 * 1024) / 560);
      await server.sql("INSERT INTO items (body, n) SELECT md5(g::text) || repeat(md5((g * 7)::text), 13), g % 1000 FROM generate_series(1, $1) g", [rowsToAdd], 'app');
      await server.sql('VACUUM ANALYZE items', [], 'app');
      const [{ size }] = await server.sql<{ size: string }>("SELECT pg_database_size('app')::bigint AS size");
      loadedMb = Number(size) / 1024 / 1024;

      const refreshStart = process.hrtime.bigint();
      const refresh = spawnSync('bash', ['-c', GOLDEN_REFRESH_SCRIPT], {
        encoding: 'utf8',
        env: {
          ...process.env, ...server.libpqEnv, PATH: `${server.bin}:${process.env.PATH}`, SOURCE_DATABASE: 'app', TEMPLATE_DATABASE: 'staging_template',
          TEMPLATE_OWNER: 'staging_template_owner', LOCK_CLASS: String(TEMPLATE_LOCK.classId), LOCK_OBJECT: String(TEMPLATE_LOCK.objectId),
        },
      });
      const refreshMs = ms(refreshStart);
      if (refresh.status !== 0) throw new Error(`refresh failed: ${refresh.stderr}`);
      const [{ size: goldenSize }] = await server.sql<{ size: string }>("SELECT pg_database_size('staging_template')::bigint AS size");

      const creates: number[] = [];
      const deletes: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const name = `bench_${target}_${i}`;
        let start = process.hrtime.bigint();
        await onEvent(event('Create', name));
        creates.push(ms(start));
        start = process.hrtime.bigint();
        await onEvent(event('Delete', name));
        deletes.push(ms(start));
      }
      rows.push(
        `  ${`${(Number(goldenSize) / 1024 / 1024).toFixed(0)} MB`.padStart(7)}   create ${median(creates).toFixed(0).padStart(6)} ms (runs ${creates.map((x) => x.toFixed(0)).join(', ')})` +
          `   delete ${median(deletes).toFixed(0).padStart(5)} ms   refresh (dump | restore + swap) ${(refreshMs / 1000).toFixed(1)} s`,
      );
    }
  } finally {
    console.log = log;
    await server.stop();
  }
  console.log(`database-template handler against a real Postgres (${server.bin}, fsync on, local disk), median of ${RUNS}; node ${process.version}, ${cpus().length} cores`);
  console.log('  golden    Create (CREATE ROLE + CREATE DATABASE ... TEMPLATE + hand-over)    Delete');
  for (const row of rows) console.log(row);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
