import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { entry, REDACTED, sanitize, summarizeEvent } from '../../lambda/shared/entry';
import { describeError } from '../../lambda/shared/errors';
import { readCredentials, readJsonSecret } from '../../lambda/shared/secrets';
import type { OnEventRequest } from '../../lambda/shared/provider';

const secrets = mockClient(SecretsManagerClient);
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:staging-redis-AbCdEf';
const PASSWORD = 'hunter2-not-to-be-seen';

/** Every line the handler wrote to stdout and stderr while `run` ran, parsed. */
async function linesOf(run: () => Promise<unknown>): Promise<Array<Record<string, any>>> {
  const lines: string[] = [];
  const out = jest.spyOn(console, 'log').mockImplementation((l: string) => void lines.push(l));
  const err = jest.spyOn(console, 'error').mockImplementation((l: string) => void lines.push(l));
  try {
    await run().catch(() => undefined);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return lines.map((l) => JSON.parse(l));
}

beforeEach(() => secrets.reset());

describe('describeError', () => {
  test.each([
    ['an AWS error leads with its name', Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }), 'AccessDeniedException: User is not authorized'],
    ['a plain Error gives its message alone', new Error('boom'), 'boom'],
    ['a TypeError keeps its name', new TypeError('x is undefined'), 'TypeError: x is undefined'],
    ['a name without a message', { name: 'ThrottlingException' }, 'ThrottlingException'],
    ['a thrown string', 'gone', 'gone'],
    ['a thrown number', 42, '42'],
    ['undefined', undefined, 'undefined'],
  ])('%s', (_what, error, expected) => {
    expect(describeError(error)).toBe(expected);
  });
});

describe('readJsonSecret', () => {
  test('returns the JSON object', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: JSON.stringify({ password: PASSWORD, port: 1 }) });
    await expect(readJsonSecret(ARN, 'AuthSecretArn')).resolves.toEqual({ password: PASSWORD, port: 1 });
  });

  test.each([
    ['not JSON', `password=${PASSWORD}`],
    ['a JSON string', JSON.stringify(PASSWORD)],
    ['a JSON list', JSON.stringify([PASSWORD])],
  ])('fails when the secret is %s, without quoting it', async (_what, text) => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: text });
    const failure = readJsonSecret(ARN, 'AuthSecretArn');
    await expect(failure).rejects.toThrow(`AuthSecretArn '${ARN}' must be a JSON secret (an object of string fields); it is not JSON`);
    await failure.catch((e: Error) => expect(e.message).not.toContain(PASSWORD));
  });

  test('fails when the secret does not exist', async () => {
    secrets.on(GetSecretValueCommand).rejects(new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} }));
    await expect(readJsonSecret(ARN, 'the admin secret')).rejects.toThrow(/^the admin secret '.*' does not exist \(ResourceNotFoundException: /);
  });

  test('names the permission when the secret cannot be read', async () => {
    secrets.on(GetSecretValueCommand).rejects(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }));
    await expect(readJsonSecret(ARN, 'the admin secret')).rejects.toThrow(
      /Could not read the admin secret '.*': AccessDeniedException: User is not authorized\. The handler's role needs secretsmanager:GetSecretValue on this secret/,
    );
  });
});

describe('readCredentials', () => {
  const holds = (value: unknown) => secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(value) });

  test('a password alone, when the username is optional', async () => {
    holds({ password: PASSWORD, port: 5432 });
    await expect(readCredentials(ARN, 'AuthSecretArn', 'optional')).resolves.toEqual({ password: PASSWORD });
  });

  test('username and password', async () => {
    holds({ username: 'admin', password: PASSWORD });
    await expect(readCredentials(ARN, 'the admin secret', 'required')).resolves.toEqual({ username: 'admin', password: PASSWORD });
  });

  test.each([
    ['no password', { username: 'admin' }, 'optional', /non-empty "password" \(and optionally "username"\); "password" is missing/],
    ['an empty password', { password: '' }, 'optional', /"password" is missing/],
    ['no username where one is required', { password: PASSWORD }, 'required', /non-empty "username" and "password"; "username" is missing/],
    ['an empty username', { password: PASSWORD, username: '' }, 'optional', /"username" must be a non-empty string when present/],
    ['a username that is not a string', { password: PASSWORD, username: 7 }, 'required', /"username" must be a non-empty string when present/],
  ] as const)('fails on %s, without quoting the secret', async (_what, value, username, message) => {
    holds(value);
    const failure = readCredentials(ARN, 'AuthSecretArn', username);
    await expect(failure).rejects.toThrow(message);
    await failure.catch((e: Error) => expect(e.message).not.toContain(PASSWORD));
  });

  test('a secret that is not JSON says which shape it must have', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: PASSWORD });
    const failure = readCredentials(ARN, 'AuthSecretArn', 'optional');
    await expect(failure).rejects.toThrow(/must be a JSON secret with a non-empty "password" \(and optionally "username"\); it is not JSON/);
    await failure.catch((e: Error) => expect(e.message).not.toContain(PASSWORD));
  });
});

describe('sanitize', () => {
  test('hides the values of secret-looking keys at any depth, and keeps ARNs of secrets', () => {
    expect(
      sanitize({
        Host: 'redis.internal',
        Password: PASSWORD,
        AuthSecretArn: ARN,
        nested: { apiKey: PASSWORD, list: [{ token: PASSWORD, keep: 1 }] },
        Cookie: PASSWORD,
      }),
    ).toEqual({ Host: 'redis.internal', Password: REDACTED, AuthSecretArn: ARN, nested: { apiKey: REDACTED, list: [{ token: REDACTED, keep: 1 }] }, Cookie: REDACTED });
  });

  test('cuts long strings, long lists and deep objects', () => {
    const s = sanitize({ text: 'x'.repeat(1000), list: Array.from({ length: 30 }, (_, i) => i), a: { b: { c: { d: { e: 1 } } } } }) as any;
    expect(s.text).toBe(`${'x'.repeat(300)}…(1000 chars)`);
    expect(s.list).toHaveLength(26);
    expect(s.list[25]).toBe('…(5 more)');
    expect(s.a.b.c).toEqual({ d: '{…}' });
  });
});

describe('summarizeEvent', () => {
  const event: OnEventRequest & { ResponseURL: string } = {
    RequestType: 'Update',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/staging-feature-a/1',
    RequestId: 'r-1',
    LogicalResourceId: 'Cache',
    ResourceType: 'Custom::StagingRedisPrefix',
    PhysicalResourceId: 'redis-prefix:staging:feature-a:',
    ResponseURL: `https://bucket.s3.amazonaws.com/x?X-Amz-Signature=${PASSWORD}`,
    ResourceProperties: { ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:x', Host: 'redis.internal', KeyPrefix: 'b:', AuthPassword: PASSWORD },
    OldResourceProperties: { ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:x', Host: 'redis.internal', KeyPrefix: 'a:' },
  };

  test('a custom-resource event: ids, sanitized properties and the changed keys, no response URL or service token', () => {
    const summary = summarizeEvent(event);
    expect(summary).toEqual({
      requestType: 'Update',
      resourceType: 'Custom::StagingRedisPrefix',
      logicalResourceId: 'Cache',
      physicalResourceId: 'redis-prefix:staging:feature-a:',
      stackId: event.StackId,
      requestId: 'r-1',
      properties: { Host: 'redis.internal', KeyPrefix: 'b:', AuthPassword: REDACTED },
      changed: ['KeyPrefix', 'AuthPassword'],
    });
    expect(JSON.stringify(summary)).not.toContain(PASSWORD);
  });

  test('an ALB request: method, host and path, never headers', () => {
    const alb = {
      requestContext: { elb: { targetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/w/1' } },
      httpMethod: 'GET',
      path: '/checkout',
      headers: { Host: 'feature-a.staging.example.com', cookie: `session=${PASSWORD}`, authorization: `Bearer ${PASSWORD}` },
      body: PASSWORD,
      isBase64Encoded: false,
    };
    expect(summarizeEvent(alb)).toEqual({ method: 'GET', host: 'feature-a.staging.example.com', path: '/checkout' });
  });

  test('any other event, sanitized', () => {
    expect(summarizeEvent({ wake: 'feature-a', token: PASSWORD })).toEqual({ event: { wake: 'feature-a', token: REDACTED } });
    expect(summarizeEvent(undefined)).toEqual({ event: undefined });
  });
});

describe('entry', () => {
  const event: OnEventRequest = {
    RequestType: 'Create',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/staging-feature-a/1',
    RequestId: 'r-1',
    LogicalResourceId: 'Db',
    ResourceType: 'Custom::StagingTemplateDatabase',
    ResourceProperties: { DatabaseName: 'staging_br_a', Password: PASSWORD },
  };

  test('logs one sanitized line per event and returns what the handler returns', async () => {
    const handler = entry('database-template.onEvent', async (e: OnEventRequest) => ({ PhysicalResourceId: String(e.ResourceProperties.DatabaseName) }));
    let result: unknown;
    const lines = await linesOf(async () => (result = await handler(event)));
    expect(result).toEqual({ PhysicalResourceId: 'staging_br_a' });
    expect(lines).toEqual([
      expect.objectContaining({ level: 'info', message: 'database-template.onEvent event', handler: 'database-template.onEvent', requestType: 'Create', properties: { DatabaseName: 'staging_br_a', Password: REDACTED } }),
    ]);
  });

  test('logs one failure line with the described error and rethrows the same error', async () => {
    const boom = Object.assign(new Error(`could not log in with ${'*'.repeat(3)}`), { name: 'AccessDeniedException' });
    const handler = entry('database-template.onEvent', async (_e: OnEventRequest) => {
      throw boom;
    });
    await expect(linesOf(() => handler(event))).resolves.toHaveLength(2);
    const lines = await linesOf(() => handler(event));
    expect(lines[1]).toEqual({
      level: 'error',
      message: 'database-template.onEvent failed',
      handler: 'database-template.onEvent',
      requestType: 'Create',
      resourceType: 'Custom::StagingTemplateDatabase',
      logicalResourceId: 'Db',
      physicalResourceId: undefined,
      stackId: event.StackId,
      requestId: 'r-1',
      error: 'AccessDeniedException: could not log in with ***',
    });
    expect(JSON.stringify(lines)).not.toContain(PASSWORD);
    const quiet = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const quietErr = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    await expect(handler(event)).rejects.toBe(boom);
    quiet.mockRestore();
    quietErr.mockRestore();
  });
});
