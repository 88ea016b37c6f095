/**
 * Reading a JSON secret from Secrets Manager, the one way every handler does it. Errors name the
 * secret by its ARN and by what it is for, and say which permission is missing; they never quote
 * the secret's text (JSON.parse's error would: it is never passed on).
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describeError } from './errors';
import { isAwsError } from './provider';

/** At module scope, so aws-sdk-client-mock's mockClient(SecretsManagerClient) catches it. */
const secrets = new SecretsManagerClient({ maxAttempts: 8, retryMode: 'adaptive' });

/**
 * The secret `arn` as a JSON object. `what` says what it is for in messages, e.g.
 * `AuthSecretArn` or `the admin secret`; `shape` what it must hold.
 */
export async function readJsonSecret(arn: string, what: string, shape = 'a JSON secret (an object of string fields)'): Promise<Record<string, unknown>> {
  let text: string | undefined;
  try {
    text = (await secrets.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString;
  } catch (e) {
    if (isAwsError(e, 'ResourceNotFoundException')) throw new Error(`${what} '${arn}' does not exist (${describeError(e)})`, { cause: e });
    throw new Error(
      `Could not read ${what} '${arn}': ${describeError(e)}. The handler's role needs secretsmanager:GetSecretValue on this secret ` +
        '(and kms:Decrypt if it is encrypted with a customer managed key).',
      { cause: e },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text ?? '');
  } catch {
    // Never pass the parse error on: it quotes the secret's text.
    parsed = undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`${what} '${arn}' must be ${shape}; it is not JSON`);
  }
  return parsed as Record<string, unknown>;
}

/** A login from a JSON secret. */
export interface Credentials {
  readonly username?: string;
  readonly password: string;
}

/**
 * `{ "password": "...", "username": "..." }` from the secret `arn`: a non-empty password always, a
 * username when `username` is `required`, and, when present at all, a non-empty string.
 */
export async function readCredentials(arn: string, what: string, username: 'required' | 'optional'): Promise<Credentials> {
  const fields = username === 'required' ? 'non-empty "username" and "password"' : 'a non-empty "password" (and optionally "username")';
  const shape = `a JSON secret with ${fields}`;
  const { password, username: user } = await readJsonSecret(arn, what, shape);
  const wrong = (why: string) => new Error(`${what} '${arn}' must be ${shape}; ${why}`);
  if (typeof password !== 'string' || password === '') throw wrong('"password" is missing');
  if (user === undefined && username === 'required') throw wrong('"username" is missing');
  if (user !== undefined && (typeof user !== 'string' || user === '')) throw wrong('"username" must be a non-empty string when present');
  return user === undefined ? { password } : { username: user as string, password };
}
