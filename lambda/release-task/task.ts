/**
 * A release task's names: its startedBy, its task definition's family and its id. The properties
 * and their parsing are the provider's contract, lib/contract/providers/release-task.ts.
 */
import { createHash } from 'node:crypto';

/** RunTask's startedBy allows letters, digits, '-', '/' and '_'; we keep to 36 characters. */
export const STARTED_BY_MAX = 36;
const STARTED_BY_PREFIX = 'release/';

/**
 * The task's startedBy, derived from the staging name: `release/<name>` when that fits and
 * needs no character replacement; otherwise a readable prefix plus 8 hex characters of the
 * name's SHA-256, so two different staging names never share a startedBy.
 */
export function startedByFor(stagingName: string): string {
  const plain = `${STARTED_BY_PREFIX}${stagingName}`;
  if (plain.length <= STARTED_BY_MAX && /^[A-Za-z0-9_/-]+$/.test(plain)) return plain;
  const hash = createHash('sha256').update(stagingName, 'utf8').digest('hex').slice(0, 8);
  const room = STARTED_BY_MAX - STARTED_BY_PREFIX.length - 1 - hash.length;
  const readable = stagingName.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, room);
  return `${STARTED_BY_PREFIX}${readable}-${hash}`;
}

/** `family` of a task definition given as an ARN (`.../task-definition/family:3`) or `family:3`. */
export function taskDefinitionFamily(taskDefinition: string): string {
  const afterSlash = taskDefinition.includes('task-definition/')
    ? taskDefinition.slice(taskDefinition.indexOf('task-definition/') + 'task-definition/'.length)
    : taskDefinition;
  const colon = afterSlash.lastIndexOf(':');
  return colon > 0 ? afterSlash.slice(0, colon) : afterSlash;
}

/** The task ID is the last path segment of the task ARN (old and new ARN formats). */
export function taskIdOf(taskArn: string): string {
  return taskArn.slice(taskArn.lastIndexOf('/') + 1);
}
