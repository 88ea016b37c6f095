import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { buildSync } from 'esbuild';
import Redis from 'ioredis';
import { onEvent, retryPolicy } from '../../lambda/redis-prefix';
import { parseProperties } from '../../lib/contract/providers/redis-prefix';
import { deleteKeysWithPrefix, escapeGlob, withRedis } from '../../lambda/redis-prefix/redis';
import { OnEventRequest, RequestType } from '../../lambda/shared/provider';
import { captureLogs, providerEvent } from '../util/handler-events';
import { RedisServer, TlsFiles, freePort, makeTlsFiles, requireRedisServer } from './redis-prefix-server';
import { ResourceTypes } from '../../lib/contract/providers';

const secretsMock = mockClient(SecretsManagerClient);

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:staging/redis-auth-AbCdEf';
const PASSWORD = 'Redis-AUTH-t0ken-Never-Logged';
const PREFIX = 'staging:feat:';

let plain: RedisServer;
let secured: RedisServer;
let seed: Redis;
let logged: string[];

beforeAll(async () => {
  requireRedisServer(); // fails (not skips) every test when redis-server is missing
  plain = await new RedisServer().start();
  secured = await new RedisServer({ password: PASSWORD }).start();
  seed = plain.client();
});

afterAll(async () => {
  seed?.disconnect();
  await plain?.stop();
  await secured?.stop();
});

beforeEach(async () => {
  secretsMock.reset();
  retryPolicy.attempts = 4;
  retryPolicy.baseDelayMs = 5;
  retryPolicy.connectTimeoutMs = 5000;
  await seed.flushall();
  logged = captureLogs();
});

afterEach(() => {
  jest.restoreAllMocks();
});

function props(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
    Host: '127.0.0.1',
    Port: String(plain.port),
    Tls: 'false',
    KeyPrefix: PREFIX,
    ...overrides,
  };
}

const event = (type: RequestType, resourceProperties: Record<string, unknown>, extra: Partial<OnEventRequest> = {}): OnEventRequest =>
  providerEvent({ resourceType: ResourceTypes.REDIS_PREFIX, logicalResourceId: 'CachePrefix', stackName: 'staging-feat' }, type, resourceProperties, extra);

function deleteEvent(resourceProperties: Record<string, unknown>, physicalId?: string): OnEventRequest {
  return event('Delete', resourceProperties, {
    PhysicalResourceId: physicalId ?? `redis-prefix:${String(resourceProperties.KeyPrefix)}`,
  });
}

function entries(): Array<Record<string, unknown>> {
  return logged.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

function retryLogs(): number {
  return entries().filter((e) => /retrying/.test(String(e.message))).length;
}

function deletedLog(): Record<string, unknown> | undefined {
  return entries().find((e) => e.message === 'deleted keys with prefix');
}

async function unusedPort(): Promise<number> {
  return freePort(); // nothing listens there: connections are refused
}

async function allKeys(client: Redis = seed): Promise<string[]> {
  return (await client.keys('*')).sort();
}

function mockSecret(secret: unknown) {
  secretsMock.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: JSON.stringify(secret) });
}

// ---------------------------------------------------------------------------------------------

describe('properties', () => {
  test('defaults Port to 6379 and Tls to true', () => {
    const p = parseProperties({ Host: 'shared.abc123.cache.amazonaws.com', KeyPrefix: PREFIX }, 'R');
    expect(p).toEqual({
      host: 'shared.abc123.cache.amazonaws.com',
      port: 6379,
      tls: true,
      authSecretArn: undefined,
      keyPrefix: PREFIX,
    });
  });

  test("parses Port and Tls 'false'", () => {
    const p = parseProperties({ Host: 'h', Port: '6380', Tls: 'false', AuthSecretArn: SECRET_ARN, KeyPrefix: PREFIX }, 'R');
    expect(p).toMatchObject({ port: 6380, tls: false, authSecretArn: SECRET_ARN });
  });

  test('fails with every problem in one message', () => {
    expect(() =>
      parseProperties({ Port: '70000', Tls: 'yes', AuthSecretArn: 'my-secret', KeyPrefix: 'x' }, 'CachePrefix'),
    ).toThrow(
      /Invalid properties on RedisPrefix resource 'CachePrefix': Host is required.*Port must be an integer in 1\.\.65535, got '70000'.*Tls must be 'true' or 'false', got 'yes'.*AuthSecretArn must be a Secrets Manager secret ARN.*KeyPrefix 'x' must end with ':'/,
    );
  });

  test('fails when Host is a URL', () => {
    expect(() => parseProperties({ Host: 'redis://shared:6379', KeyPrefix: PREFIX }, 'R')).toThrow(/not a URL/);
  });

  test.each([
    ['', /KeyPrefix is required/],
    ['staging', /must end with ':'/],
    ['*', /must not contain the glob characters/],
    ['a:*:', /must not contain the glob characters/],
    ['stag?ng:x:', /glob characters/],
    ['staging:[ab]:', /glob characters/],
    ['staging\\:x:', /glob characters/],
    ['abc:', /too short: at least 5 characters/],
    [':::::', /must contain more than ':'/],
    ['staging feat:', /whitespace or control characters/],
    ['staging:feat:\n', /whitespace or control characters/],
  ])('refuses the dangerous KeyPrefix %j', (keyPrefix, message) => {
    expect(() => parseProperties({ Host: 'h', KeyPrefix: keyPrefix }, 'R')).toThrow(message);
  });

  test('refuses a missing KeyPrefix', () => {
    expect(() => parseProperties({ Host: 'h' }, 'R')).toThrow(/KeyPrefix is required/);
  });
});

describe('escapeGlob', () => {
  test('escapes every Redis glob metacharacter and nothing else', () => {
    expect(escapeGlob('a*b?c[d]e\\f:g-h^i')).toBe('a\\*b\\?c\\[d\\]e\\\\f:g-h^i');
    expect(escapeGlob('staging:feature-login:')).toBe('staging:feature-login:');
  });
});

// ---------------------------------------------------------------------------------------------

describe('Create', () => {
  test('checks the server and returns the prefix as physical id and Data, writing nothing', async () => {
    await seed.set('unrelated', '1');
    const response = await onEvent(event('Create', props()));
    expect(response).toEqual({ PhysicalResourceId: 'redis-prefix:staging:feat:', Data: { KeyPrefix: 'staging:feat:' } });
    expect(await allKeys()).toEqual(['unrelated']);
    expect(secretsMock.calls()).toHaveLength(0);
  });

  test('a replayed Create returns the same physical id', async () => {
    const first = await onEvent(event('Create', props()));
    const second = await onEvent(event('Create', props()));
    expect(second).toEqual(first);
  });

  test.each(['', 'staging', '*', 'a:*:'])('refuses KeyPrefix %j before connecting', async (keyPrefix) => {
    await expect(onEvent(event('Create', props({ KeyPrefix: keyPrefix, Port: String(await unusedPort()) })))).rejects.toThrow(
      /Invalid properties on RedisPrefix resource 'CachePrefix': KeyPrefix/,
    );
    expect(retryLogs()).toBe(0);
  });

  test('fails after retries when nothing listens on the port, naming host, port and what to check', async () => {
    const port = await unusedPort();
    await expect(onEvent(event('Create', props({ Port: String(port) })))).rejects.toThrow(
      new RegExp(
        `Cannot use KeyPrefix 'staging:feat:' on Redis at 127\\.0\\.0\\.1:${port} \\(TLS off\\) after 4 attempts: .*ECONNREFUSED.*security group`,
      ),
    );
    expect(retryLogs()).toBe(3);
  });

  test('fails when the host does not resolve', async () => {
    await expect(onEvent(event('Create', props({ Host: 'shared-redis.gone.invalid' })))).rejects.toThrow(
      /Cannot use KeyPrefix 'staging:feat:' on Redis at shared-redis\.gone\.invalid:\d+ .*ENOTFOUND.*does not resolve: check Host/,
    );
  });

  test('fails clearly when the server requires a password and no AuthSecretArn is given', async () => {
    await expect(onEvent(event('Create', props({ Port: String(secured.port) })))).rejects.toThrow(
      /NOAUTH.*requires authentication: pass AuthSecretArn/,
    );
    expect(retryLogs()).toBe(0);
  });

  test('authenticates with the password from AuthSecretArn', async () => {
    mockSecret({ password: PASSWORD });
    const response = await onEvent(event('Create', props({ Port: String(secured.port), AuthSecretArn: SECRET_ARN })));
    expect(response.PhysicalResourceId).toBe('redis-prefix:staging:feat:');
    expect(secretsMock.commandCalls(GetSecretValueCommand, { SecretId: SECRET_ARN })).toHaveLength(1);
    expect(logged.join('\n')).not.toContain(PASSWORD);
  });

  test('refuses a server in cluster mode, where one SCAN cannot see every shard', async () => {
    const cluster = await new RedisServer({ clusterEnabled: true }).start();
    try {
      await expect(onEvent(event('Create', props({ Port: String(cluster.port) })))).rejects.toThrow(
        /runs in cluster mode \(cluster_enabled:1.*could not be removed on delete/,
      );
    } finally {
      await cluster.stop();
    }
  });
});

describe('Update', () => {
  test('with the same KeyPrefix is a no-op that does not connect', async () => {
    const port = await unusedPort(); // would fail if the handler connected
    const response = await onEvent(
      event('Update', props({ Port: String(port), Tls: 'true' }), {
        PhysicalResourceId: 'redis-prefix:staging:feat:',
        OldResourceProperties: props(),
      }),
    );
    expect(response).toEqual({ PhysicalResourceId: 'redis-prefix:staging:feat:', Data: { KeyPrefix: 'staging:feat:' } });
    expect(retryLogs()).toBe(0);
  });

  test('with a new KeyPrefix returns a new physical id; the Delete of the old one removes only the old keys', async () => {
    await seed.mset('staging:feat:a', '1', 'staging:feat:b', '2', 'staging:feat2:a', '3');
    const oldProps = props();
    const newProps = props({ KeyPrefix: 'staging:feat2:' });
    const response = await onEvent(
      event('Update', newProps, { PhysicalResourceId: 'redis-prefix:staging:feat:', OldResourceProperties: oldProps }),
    );
    expect(response).toEqual({ PhysicalResourceId: 'redis-prefix:staging:feat2:', Data: { KeyPrefix: 'staging:feat2:' } });
    expect(await allKeys()).toHaveLength(3); // the update itself deletes nothing

    // CloudFormation's cleanup phase: Delete with the old id and the old properties.
    await onEvent(deleteEvent(oldProps, 'redis-prefix:staging:feat:'));
    expect(await allKeys()).toEqual(['staging:feat2:a']);
  });

  test('with a new KeyPrefix fails when the server is unreachable', async () => {
    const port = await unusedPort();
    await expect(
      onEvent(
        event('Update', props({ Port: String(port), KeyPrefix: 'staging:feat2:' }), {
          PhysicalResourceId: 'redis-prefix:staging:feat:',
          OldResourceProperties: props(),
        }),
      ),
    ).rejects.toThrow(/ECONNREFUSED/);
  });

  test.each(['staging', 'a:*:'])('refuses a change to the dangerous KeyPrefix %j', async (keyPrefix) => {
    await expect(
      onEvent(
        event('Update', props({ KeyPrefix: keyPrefix }), {
          PhysicalResourceId: 'redis-prefix:staging:feat:',
          OldResourceProperties: props(),
        }),
      ),
    ).rejects.toThrow(/Invalid properties.*KeyPrefix/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('Delete', () => {
  /** 5,000 keys: 2,000 of the deleted prefix, 1,500 + 1,000 of two other branches, 500 not prefixed. */
  async function seedFiveThousand(): Promise<{ survivors: string[] }> {
    const pipeline = seed.pipeline();
    for (let i = 0; i < 1996; i++) pipeline.set(`staging:feat:key-${i}`, 'v');
    pipeline.hset('staging:feat:hash', 'f', 'v');
    pipeline.rpush('staging:feat:list', 'a', 'b');
    pipeline.sadd('staging:feat:set', 'a');
    pipeline.set(Buffer.concat([Buffer.from('staging:feat:'), Buffer.from([0xff, 0xfe, 0x00])]), 'binary key');
    const survivors: string[] = [];
    for (let i = 0; i < 1500; i++) survivors.push(`staging:feature:key-${i}`);
    for (let i = 0; i < 1000; i++) survivors.push(`staging:main:key-${i}`);
    const lookalikes = [
      'staging:feat', // no trailing ':'
      'staging:featx:1',
      'staging:feat-login:1',
      'xstaging:feat:1',
      ' staging:feat:1',
      'STAGING:FEAT:1',
      'feat:1',
      'staging:',
      'staging::feat:1',
      'staging:fea:1',
    ];
    survivors.push(...lookalikes);
    for (let i = survivors.length; i < 3000; i++) survivors.push(`session:${i}`);
    for (const key of survivors) pipeline.set(key, 'keep');
    await pipeline.exec();
    expect(await seed.dbsize()).toBe(5000);
    return { survivors: survivors.sort() };
  }

  test('removes exactly the keys of its prefix, across SCAN pages, and logs the count', async () => {
    const { survivors } = await seedFiveThousand();
    const response = await onEvent(deleteEvent(props()));
    expect(response).toEqual({ PhysicalResourceId: 'redis-prefix:staging:feat:' });
    expect(await allKeys()).toEqual(survivors);
    const log = deletedLog();
    expect(log).toMatchObject({ keyPrefix: 'staging:feat:', deleted: 2000 });
    expect(Number(log?.scans)).toBeGreaterThan(1); // COUNT 1000 over 5,000 keys: several pages
  });

  test('a prefix that is a string prefix of another branch leaves that branch alone', async () => {
    await seed.mset('staging:feat:x', '1', 'staging:feature:x', '2', 'staging:feat:y:z', '3');
    await onEvent(deleteEvent(props({ KeyPrefix: 'staging:feat:' })));
    expect(await allKeys()).toEqual(['staging:feature:x']);
  });

  test('is idempotent: a second Delete, or a Delete with no keys, succeeds and deletes nothing', async () => {
    await seed.mset('staging:feat:a', '1', 'other', '2');
    await onEvent(deleteEvent(props()));
    expect(deletedLog()).toMatchObject({ deleted: 1 });
    logged.length = 0;
    await expect(onEvent(deleteEvent(props()))).resolves.toEqual({ PhysicalResourceId: 'redis-prefix:staging:feat:' });
    expect(deletedLog()).toMatchObject({ deleted: 0 });
    expect(await allKeys()).toEqual(['other']);
  });

  test('authenticates with the password from AuthSecretArn and never logs it', async () => {
    mockSecret({ password: PASSWORD });
    const admin = secured.client();
    try {
      await admin.mset('staging:feat:a', '1', 'staging:feat:b', '2', 'staging:main:a', '3');
      await onEvent(deleteEvent(props({ Port: String(secured.port), AuthSecretArn: SECRET_ARN })));
      expect(await allKeys(admin)).toEqual(['staging:main:a']);
    } finally {
      admin.disconnect();
    }
    expect(secretsMock.commandCalls(GetSecretValueCommand, { SecretId: SECRET_ARN })).toHaveLength(1);
    expect(deletedLog()).toMatchObject({ deleted: 2 });
    expect(logged.join('\n')).not.toContain(PASSWORD);
  });

  test('fails clearly, without retrying or echoing it, when the password is wrong', async () => {
    mockSecret({ password: 'not-the-token' });
    const admin = secured.client();
    try {
      await admin.set('staging:feat:a', '1');
      const failure = onEvent(deleteEvent(props({ Port: String(secured.port), AuthSecretArn: SECRET_ARN })));
      await expect(failure).rejects.toThrow(
        /Could not delete the keys with prefix 'staging:feat:' .*WRONGPASS.*rejected the credentials from AuthSecretArn 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:staging\/redis-auth-AbCdEf'/,
      );
      await failure.catch((e: Error) => expect(e.message).not.toContain('not-the-token'));
      expect(await admin.exists('staging:feat:a')).toBe(1);
    } finally {
      admin.disconnect();
    }
    expect(retryLogs()).toBe(0);
    expect(logged.join('\n')).not.toContain('not-the-token');
  });

  test.each([
    ['not JSON', { SecretString: 'plain-token' }, /must be a JSON secret with a non-empty "password".*not JSON/],
    ['without password', { SecretString: JSON.stringify({ token: PASSWORD }) }, /"password" is missing/],
    ['with an empty username', { SecretString: JSON.stringify({ password: PASSWORD, username: '' }) }, /"username" must be/],
  ])('fails when the secret is %s, without echoing its value', async (_name, output, message) => {
    secretsMock.on(GetSecretValueCommand).resolves(output);
    const failure = onEvent(deleteEvent(props({ Port: String(secured.port), AuthSecretArn: SECRET_ARN })));
    await expect(failure).rejects.toThrow(message);
    await failure.catch((e: Error) => {
      expect(e.message).not.toContain(PASSWORD);
      expect(e.message).not.toContain('plain-token');
    });
  });

  test('fails with the IAM action to grant when the secret cannot be read', async () => {
    secretsMock
      .on(GetSecretValueCommand)
      .rejects(Object.assign(new Error('User is not authorized to perform secretsmanager:GetSecretValue'), { name: 'AccessDeniedException' }));
    await expect(onEvent(deleteEvent(props({ AuthSecretArn: SECRET_ARN })))).rejects.toThrow(
      /Could not read AuthSecretArn .*AccessDeniedException.*needs secretsmanager:GetSecretValue on this secret/,
    );
  });

  test('fails when the secret does not exist', async () => {
    secretsMock
      .on(GetSecretValueCommand)
      .rejects(Object.assign(new Error("Secrets Manager can't find the specified secret."), { name: 'ResourceNotFoundException' }));
    await expect(onEvent(deleteEvent(props({ AuthSecretArn: SECRET_ARN })))).rejects.toThrow(/AuthSecretArn .* does not exist/);
  });

  test.each([
    ['redis-prefix:', ''],
    ['redis-prefix:staging', 'staging'],
    ['redis-prefix:*', '*'],
    ['redis-prefix:a:*:', 'a:*:'],
  ])('refuses to delete by the dangerous physical id %j and leaves every key', async (physicalId, keyPrefix) => {
    await seed.mset('a:b:c', '1', 'staging:x', '2', 'staging:feat:a', '3');
    await expect(onEvent(deleteEvent(props({ KeyPrefix: keyPrefix }), physicalId))).rejects.toThrow(
      /Refusing to delete keys for resource 'CachePrefix': KeyPrefix/,
    );
    expect(await seed.dbsize()).toBe(3);
  });

  test('a physical id this handler never returned (a failed Create) is success without connecting', async () => {
    await seed.set('staging:feat:a', '1');
    const response = await onEvent(
      deleteEvent(props({ Port: String(await unusedPort()) }), 'AWSCDK::CustomResourceProviderFramework::CREATE_FAILED'),
    );
    expect(response.PhysicalResourceId).toBe('AWSCDK::CustomResourceProviderFramework::CREATE_FAILED');
    expect(await seed.exists('staging:feat:a')).toBe(1);
    expect(retryLogs()).toBe(0);
  });

  test('uses the prefix of the physical id when the properties disagree', async () => {
    await seed.mset('staging:feat:a', '1', 'staging:main:a', '2');
    await onEvent(deleteEvent(props({ KeyPrefix: 'staging:main:' }), 'redis-prefix:staging:feat:'));
    expect(await allKeys()).toEqual(['staging:main:a']);
  });

  test('succeeds with a log line when the host no longer resolves (ENOTFOUND), without reading the secret', async () => {
    const response = await onEvent(deleteEvent(props({ Host: 'shared-redis.gone.invalid', AuthSecretArn: SECRET_ARN })));
    expect(response).toEqual({ PhysicalResourceId: 'redis-prefix:staging:feat:' });
    expect(entries()).toContainEqual(
      expect.objectContaining({ message: expect.stringMatching(/ENOTFOUND.*shared Redis is gone/), host: 'shared-redis.gone.invalid' }),
    );
    expect(secretsMock.calls()).toHaveLength(0);
  });

  test('fails after retries when the connection is refused, saying the keys are still there', async () => {
    const port = await unusedPort();
    await expect(onEvent(deleteEvent(props({ Port: String(port) })))).rejects.toThrow(
      new RegExp(
        `Could not delete the keys with prefix 'staging:feat:' from Redis at 127\\.0\\.0\\.1:${port} \\(TLS off\\); they are still there after 4 attempts: .*ECONNREFUSED.*retry the stack deletion`,
      ),
    );
    expect(retryLogs()).toBe(3);
    expect(entries().filter((e) => /retrying/.test(String(e.message))).map((e) => e.delayMs)).toEqual([5, 10, 20]);
  });

  test('retries until a restarting server is back, then deletes', async () => {
    retryPolicy.baseDelayMs = 250; // attempts at about 0, 250, 750 and 1750 ms
    const port = await unusedPort();
    const restarted = new RedisServer({ port });
    const starting = new Promise<void>((resolve, reject) =>
      setTimeout(() => restarted.start().then(async () => {
        const c = restarted.client();
        await c.mset('staging:feat:a', '1', 'keep', '2');
        c.disconnect();
        resolve();
      }, reject), 100),
    );
    try {
      const deletion = onEvent(deleteEvent(props({ Port: String(port) })));
      await starting;
      await deletion;
      expect(retryLogs()).toBeGreaterThanOrEqual(1);
      const c = restarted.client();
      try {
        expect(await allKeys(c)).toEqual(['keep']);
      } finally {
        c.disconnect();
      }
    } finally {
      await restarted.stop();
    }
  });

  test('fails after retries when the server closes every connection', async () => {
    // A TCP server that accepts and hangs up at once, like a TLS-only endpoint hit with Tls 'false'.
    const { createServer } = await import('node:net');
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      await expect(onEvent(deleteEvent(props({ Port: String(port) })))).rejects.toThrow(
        /they are still there after 4 attempts: .*(Connection is closed|ECONNRESET).*Tls 'false' matches/,
      );
    } finally {
      server.close();
    }
  });
});

describe('deleteKeysWithPrefix (defence in depth)', () => {
  test('matches glob characters in a prefix literally', async () => {
    // The properties never allow such a prefix; the delete must still not treat it as a pattern.
    await seed.mset('odd:[ab]*?\\:x', '1', 'odd:a*?\\:x', '2', 'odd:b:x', '3', 'odd:[ab]*?\\:', '4', 'odd:', '5');
    const result = await withRedis({ host: '127.0.0.1', port: plain.port, tls: false }, (redis) =>
      deleteKeysWithPrefix(redis, 'odd:[ab]*?\\:'),
    );
    expect(result.deleted).toBe(2);
    expect(await allKeys()).toEqual(['odd:', 'odd:a*?\\:x', 'odd:b:x']);
  });
});

// ---------------------------------------------------------------------------------------------

describe('TLS', () => {
  let tlsFiles: TlsFiles;
  let tlsServer: RedisServer;

  beforeAll(async () => {
    tlsFiles = makeTlsFiles();
    tlsServer = await new RedisServer({ tls: tlsFiles }).start();
  });

  afterAll(async () => {
    await tlsServer?.stop();
    if (tlsFiles) rmSync(tlsFiles.dir, { recursive: true, force: true });
  });

  test('verifies the server certificate against the default trust store: an unknown CA fails at once', async () => {
    await expect(onEvent(event('Create', props({ Port: String(tlsServer.port), Tls: 'true' })))).rejects.toThrow(
      /certificate.*did not verify against the public CAs/i,
    );
    expect(retryLogs()).toBe(0);
  });

  test('fails after retries with a hint to check Tls when the server does not speak TLS', async () => {
    // A plain Redis never answers a TLS ClientHello: each attempt ends at the connect timeout.
    retryPolicy.connectTimeoutMs = 300;
    await expect(onEvent(event('Create', props({ Tls: 'true' })))).rejects.toThrow(
      /\(TLS on\) after 4 attempts: connect ETIMEDOUT.*Tls 'true' matches the server's in-transit encryption/,
    );
    expect(retryLogs()).toBe(3);
  });

  test('creates and deletes over TLS when the CA is trusted (bundled handler, NODE_EXTRA_CA_CERTS)', async () => {
    const c = tlsServer.client();
    try {
      await c.mset('staging:tls:a', '1', 'staging:tls:b', '2', 'staging:other:a', '3');
    } finally {
      c.disconnect();
    }
    const dir = mkdtempSync(join(tmpdir(), 'redis-prefix-bundle-'));
    try {
      const bundle = join(dir, 'index.js');
      buildSync({
        entryPoints: [join(__dirname, '..', '..', 'lambda', 'redis-prefix', 'index.ts')],
        outfile: bundle,
        bundle: true,
        platform: 'node',
        format: 'cjs',
        external: ['@aws-sdk/*'],
        logLevel: 'silent',
      });
      const runner = join(dir, 'run.js');
      writeFileSync(
        runner,
        `const h = require(${JSON.stringify(bundle)});
         h.retryPolicy.baseDelayMs = 5;
         (async () => {
           const out = [];
           for (const e of JSON.parse(process.argv[2])) out.push(await h.onEvent(e));
           process.stdout.write('RESULT ' + JSON.stringify(out) + '\\n');
         })().catch((e) => { process.stdout.write('FAILED ' + e.message + '\\n'); process.exitCode = 1; });`,
      );
      const tlsProps = props({ Port: String(tlsServer.port), Tls: 'true', KeyPrefix: 'staging:tls:' });
      const events = [event('Create', tlsProps), deleteEvent(tlsProps)];
      const stdout = await new Promise<string>((resolve) =>
        execFile(
          process.execPath,
          [runner, JSON.stringify(events)],
          {
            env: {
              ...process.env,
              NODE_EXTRA_CA_CERTS: tlsFiles.caCert,
              NODE_PATH: join(__dirname, '..', '..', 'node_modules'),
            },
          },
          (_error, out) => resolve(out),
        ),
      );
      const result = stdout.split('\n').find((l) => /^(RESULT|FAILED) /.test(l));
      expect(result).toBe(
        'RESULT ' +
          JSON.stringify([
            { PhysicalResourceId: 'redis-prefix:staging:tls:', Data: { KeyPrefix: 'staging:tls:' } },
            { PhysicalResourceId: 'redis-prefix:staging:tls:' },
          ]),
      );
      expect(stdout).toMatch(/"message":"deleted keys with prefix".*"deleted":2/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const after = tlsServer.client();
    try {
      expect(await allKeys(after)).toEqual(['staging:other:a']);
    } finally {
      after.disconnect();
    }
  });
});
