/**
 * Types for handlers run by aws-cdk-lib's custom-resource Provider framework, and small helpers
 * every handler uses. Kept free of aws-cdk-lib imports so bundles stay small.
 */

export type RequestType = 'Create' | 'Update' | 'Delete';

export interface OnEventRequest {
  readonly RequestType: RequestType;
  readonly ServiceToken?: string;
  readonly ResponseURL?: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly ResourceType: string;
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: Record<string, any>;
  readonly OldResourceProperties?: Record<string, any>;
}

export interface OnEventResponse {
  readonly PhysicalResourceId?: string;
  readonly Data?: Record<string, any>;
  readonly NoEcho?: boolean;
}

/** What isComplete receives: the original event plus what onEvent returned. */
export type IsCompleteRequest = OnEventRequest & OnEventResponse;

export interface IsCompleteResponse {
  readonly IsComplete: boolean;
  readonly Data?: Record<string, any>;
}

/** One JSON line per log entry. Never pass secrets. */
export function log(message: string, fields: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ level: 'info', message, ...fields }));
}

export function logError(message: string, fields: Record<string, unknown> = {}): void {
  console.error(JSON.stringify({ level: 'error', message, ...fields }));
}

/** True when an AWS SDK v3 error has one of the given names (or codes). */
export function isAwsError(error: unknown, ...names: string[]): boolean {
  if (!error || typeof error !== 'object') return false;
  const e = error as { name?: string; Code?: string; code?: string };
  return names.some((n) => e.name === n || e.Code === n || e.code === n);
}
