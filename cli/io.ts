import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { nearMiss } from '../lib/contract/suggest';
import { AWS_REGIONS } from './regions';
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
export function explainAwsError(e: any, action: string, env: Record<string, string | undefined> = process.env): CliError | undefined {
  const name = String(e?.name ?? e?.Code ?? '');
  const message = String(e?.message ?? '');
  const network = explainNetworkError(e, action);
  if (network) return network;
  if (name === 'CredentialsProviderError' || /Could not load credentials|credential/i.test(message) && !/AccessDenied/.test(name)) {
    const profile = missingProfile(env);
    if (profile) return profile;
    if (env.AWS_PROFILE) {
      return new CliError(
        `No AWS credentials from profile ${env.AWS_PROFILE} (AWS_PROFILE) for ${action}. For an SSO profile run \`aws sso login --profile ${env.AWS_PROFILE}\`; ` +
          'otherwise give the profile keys (aws configure), and run again.',
      );
    }
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
  if (name === 'ResourceNotFoundException') {
    // e.g. the sweeper or sleeper function the shared stack's outputs name is not there.
    return new CliError(
      `${oneLine(message) || name} (${action}). The shared stack may be older than this CLI or not fully deployed: deploy it (npx cdk deploy <prefix>-shared), then run this again.`,
    );
  }
  if (name === 'ResourceConflictException' || name === 'ResourceInUseException') {
    return new CliError(`${oneLine(message) || name} (${action}). The shared stack is probably being deployed and is updating it: wait until that deploy finishes, then run this again.`);
  }
  return undefined;
}

/** A message on one line: its lines joined, as every CLI error is printed. */
export function oneLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
}

/** A host that does not resolve or answer: a misspelt region (`eu-wset-1`), or no network. */
function explainNetworkError(e: any, action: string): CliError | undefined {
  const code = String(e?.code ?? e?.errno ?? '');
  if (!/^(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH)$/.test(code)) return undefined;
  const host = String(e?.hostname ?? /\b[a-z0-9.-]+\.amazonaws\.com(\.cn)?\b/.exec(String(e?.message ?? ''))?.[0] ?? '');
  const region = /^[a-z0-9-]+\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(host)?.[1];
  if (code === 'ENOTFOUND' && region && !AWS_REGIONS.includes(region)) {
    const guess = nearMiss(region, AWS_REGIONS);
    return new CliError(
      `Region ${region} is not an AWS region${guess ? `; did you mean ${guess}?` : '.'} Pass --region with a region such as ${guess ?? 'eu-west-1'} (or correct AWS_REGION / the profile's region) and run again.`,
    );
  }
  return new CliError(
    `Cannot reach AWS for ${action}: ${host || 'the endpoint'} gives ${code}. Check the network connection, VPN or proxy (HTTPS_PROXY), and run again.`,
  );
}

/** AWS_PROFILE names a profile that neither ~/.aws/config nor ~/.aws/credentials has. */
function missingProfile(env: Record<string, string | undefined>): CliError | undefined {
  const profile = env.AWS_PROFILE;
  if (!profile) return undefined;
  const configFile = env.AWS_CONFIG_FILE ?? join(homedir(), '.aws', 'config');
  const credentialsFile = env.AWS_SHARED_CREDENTIALS_FILE ?? join(homedir(), '.aws', 'credentials');
  const known = [...new Set([...profilesIn(configFile, true), ...profilesIn(credentialsFile, false)])];
  if (known.includes(profile)) return undefined;
  const tilde = (f: string) => f.replace(homedir(), '~');
  const guess = nearMiss(profile, known);
  const others = known.length > 0 ? ` The profiles there: ${known.join(', ')}.` : '';
  return new CliError(
    `Profile ${profile} (AWS_PROFILE) is not in ${tilde(configFile)} or ${tilde(credentialsFile)}.${guess ? ` Did you mean ${guess}?` : ''}${others} ` +
      `Set AWS_PROFILE to one of them, or create it (aws configure --profile ${profile}, or aws configure sso for SSO).`,
  );
}

/** The profile names of an AWS config (`[profile x]`, `[default]`) or credentials (`[x]`) file. */
function profilesIn(file: string, config: boolean): string[] {
  if (!existsSync(file)) return [];
  const names: string[] = [];
  for (const m of readFileSync(file, 'utf8').matchAll(/^\s*\[\s*([^\]]+?)\s*\]/gm)) {
    const section = m[1];
    if (!config) names.push(section);
    else if (section === 'default') names.push(section);
    else if (/^profile\s+/.test(section)) names.push(section.replace(/^profile\s+/, ''));
  }
  return names;
}

/** Runs an AWS call, explaining the errors users can fix. */
export async function aws<T>(action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw explainAwsError(e, action) ?? e;
  }
}
