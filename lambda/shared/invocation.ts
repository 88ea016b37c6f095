import { suggestion } from '../../lib/contract/suggest';
import { ScheduledEvent } from '../../lib/contract/sweeper';

/**
 * The event of a handler that runs on a schedule and by hand (the sweeper, the sleeper), read
 * fail-closed: undefined for no event or the schedule's own EventBridge "Scheduled Event" (a normal
 * run); otherwise the object of manual keys, every one of them in `known`. Anything else (not an
 * object, a scheduled event with extra keys, an unknown key) goes to `refuse` before any AWS call,
 * an unknown key with "did you mean".
 */
export function manualInvocation(event: unknown, known: readonly string[], refuse: (why: string) => never): Record<string, unknown> | undefined {
  if (event === undefined || event === null) return undefined;
  if (typeof event !== 'object' || Array.isArray(event)) refuse(`the event must be a JSON object (got ${JSON.stringify(event)?.slice(0, 80)})`);
  const e = event as Record<string, unknown>;
  if (e.source === ScheduledEvent.SOURCE && e['detail-type'] === ScheduledEvent.DETAIL_TYPE) {
    const extra = Object.keys(e).filter((k) => !(ScheduledEvent.KEYS as readonly string[]).includes(k));
    if (extra.length) refuse(`a scheduled event carries no key ${extra.map((k) => JSON.stringify(k)).join(', ')}`);
    return undefined;
  }
  const unknown = Object.keys(e).filter((k) => !known.includes(k));
  if (unknown.length) refuse(unknown.map((k) => `unknown key ${JSON.stringify(k)}${suggestion(k, known)}`).join('; '));
  return e;
}
