import type { System } from './system';

/** What every command writes to and reads from; tests pass their own. */
export interface Io {
  /** The command's result: tables, URLs, JSON. */
  readonly stdout: { write(text: string): unknown };
  /** Progress, warnings and errors: never mixed into piped output. */
  readonly stderr: { write(text: string): unknown };
  /** Whether stdout is a terminal (tables and colour) or a pipe (plain, composable output). */
  readonly isTTY: boolean;
  readonly env: Record<string, string | undefined>;
  readonly now: () => Date;
  /** Asks a yes/no question on the terminal; false when there is none to ask on. */
  readonly confirm: (question: string) => Promise<boolean>;
  /** Programs on PATH and plain HTTP (default: the real ones, cli/system.ts). */
  readonly system?: System;
}

/** An error the user can act on; its message says what to do. Exit code 1. */
export class CliError extends Error {
  constructor(message: string, public readonly exitCode = 1) {
    super(message);
    this.name = 'CliError';
  }
}

/** A usage error (bad flag or argument value). Exit code 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
  }
}

/**
 * Turns an AWS SDK error into a CliError that says what to do, or returns undefined when the
 * error is not one the CLI knows how to explain.
 */
export function explainAwsError(e: any, action: string): CliError | undefined {
  const name = String(e?.name ?? e?.Code ?? '');
  const message = String(e?.message ?? '');
  if (name === 'CredentialsProviderError' || /Could not load credentials|credential/i.test(message) && !/AccessDenied/.test(name)) {
    return new CliError(
      `No AWS credentials for ${action}. Set AWS_PROFILE (then \`aws sso login --profile <profile>\` for SSO profiles), ` +
        'or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones), and run again.',
    );
  }
  if (/AccessDenied|UnauthorizedOperation|NotAuthorized/i.test(name)) {
    return new CliError(`Missing permission for ${action}: ${message || name}. Ask for the permission named above, or use a profile that has it (AWS_PROFILE).`);
  }
  if (/Throttl|TooManyRequests|RequestLimitExceeded/i.test(name)) {
    return new CliError(`AWS throttled ${action} (${name}) after the SDK's retries. Wait a minute and run the command again.`);
  }
  if (/ExpiredToken|InvalidClientTokenId|UnrecognizedClient/i.test(name)) {
    return new CliError(`The AWS credentials were refused for ${action} (${name}). Refresh them (\`aws sso login\`, or new AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and run again.`);
  }
  return undefined;
}

/** Runs an AWS call, explaining the errors users can fix. */
export async function aws<T>(action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw explainAwsError(e, action) ?? e;
  }
}
