/**
 * Pure helpers of the listener-priority handler: reading rule priorities and conditions, choosing
 * a free priority, and recognising the rule that belongs to a host. No AWS calls here.
 */
import type { Action, Rule } from '@aws-sdk/client-elastic-load-balancing-v2';

import { MAX_RULE_PRIORITY, isListenerArn } from '../../lib/contract/providers/listener-priority';

export { MAX_RULE_PRIORITY, isListenerArn };


/** The numeric priority of a rule, or undefined for the default rule. */
export function rulePriority(rule: Rule): number | undefined {
  if (rule.IsDefault) return undefined;
  const n = Number(rule.Priority);
  return Number.isInteger(n) ? n : undefined;
}

/** All priorities taken on a listener, including the ones we were told are taken. */
export function usedPriorities(rules: readonly Rule[], alsoTaken: Iterable<number> = []): Set<number> {
  const used = new Set<number>(alsoTaken);
  for (const rule of rules) {
    const p = rulePriority(rule);
    if (p !== undefined) used.add(p);
  }
  return used;
}

/** The first `limit` free priorities in [min, max], lowest first. */
export function firstFreePriorities(used: ReadonlySet<number>, min: number, max: number, limit: number): number[] {
  const free: number[] = [];
  for (let p = min; p <= max && free.length < limit; p++) {
    if (!used.has(p)) free.push(p);
  }
  return free;
}

/**
 * Picks a free priority in [min, max], or undefined when the range is full.
 *
 * Lowest-free keeps priorities compact, but every deployment that reads the listener at the same
 * moment would then pick the same number, and all but one would conflict on each round. So we
 * pick at random among the first `window` free priorities: concurrent callers rarely collide,
 * and the numbers stay near the bottom of the range. `random` returns a number in [0, 1).
 */
export function pickPriority(
  used: ReadonlySet<number>,
  min: number,
  max: number,
  window: number,
  random: () => number,
): number | undefined {
  const candidates = firstFreePriorities(used, min, max, Math.max(1, window));
  if (candidates.length === 0) return undefined;
  const index = Math.min(candidates.length - 1, Math.floor(random() * candidates.length));
  return candidates[index];
}

/** True when a forward of the rule names this target group, at any weight (the host's own rules). */
export function forwardsTo(rule: Rule, targetGroupArn: string): boolean {
  return (rule.Actions ?? []).some(
    (a) => a.Type === 'forward' && (a.TargetGroupArn === targetGroupArn || (a.ForwardConfig?.TargetGroups ?? []).some((g) => g.TargetGroupArn === targetGroupArn)),
  );
}

const RULE_ARN = /^arn:[a-z-]+:elasticloadbalancing:[a-z0-9-]+:\d{12}:listener-rule\/app\/[^/]+\/[^/]+\/[^/]+\/[^/]+$/;

/** True for the ARN of an Application Load Balancer listener rule. */
export function isRuleArn(arn: string | undefined): arn is string {
  return arn !== undefined && RULE_ARN.test(arn);
}

/** True when the rule ARN names a rule of this listener (rule ARNs embed their listener's id). */
export function ruleBelongsToListener(ruleArn: string, listenerArn: string): boolean {
  return ruleArn.startsWith(listenerArn.replace(':listener/', ':listener-rule/') + '/');
}

/**
 * The rule's actions for a branch that can sleep: a weighted forward that always names both the
 * branch's target group and the waker's, so the branch's stays attached to a listener rule (ECS
 * refuses a service whose target group is attached to none). Weights 1/0 send everything to the
 * branch, 0/1 everything to the waker. Without a waker, a plain forward to the branch.
 */
export function forwardActions(targetGroupArn: string, wakerTargetGroupArn: string | undefined, to: 'branch' | 'waker'): Action[] {
  if (!wakerTargetGroupArn) return [{ Type: 'forward', TargetGroupArn: targetGroupArn }];
  return [
    {
      Type: 'forward',
      ForwardConfig: {
        TargetGroups: [
          { TargetGroupArn: targetGroupArn, Weight: to === 'branch' ? 1 : 0 },
          { TargetGroupArn: wakerTargetGroupArn, Weight: to === 'waker' ? 1 : 0 },
        ],
      },
    },
  ];
}

/** Where the rule sends requests: to the waker when its target group has a weight above 0. */
export function routeOf(rule: Rule, wakerTargetGroupArn: string | undefined): 'branch' | 'waker' {
  if (!wakerTargetGroupArn) return 'branch';
  for (const a of rule.Actions ?? []) {
    if (a.Type !== 'forward') continue;
    if (a.TargetGroupArn === wakerTargetGroupArn) return 'waker';
    for (const g of a.ForwardConfig?.TargetGroups ?? []) {
      if (g.TargetGroupArn === wakerTargetGroupArn && (g.Weight ?? 1) > 0) return 'waker';
    }
  }
  return 'branch';
}

/**
 * The same actions with the forward re-weighted to `to`, everything else kept: an
 * `authenticate-oidc` or `authenticate-cognito` action in front of the forward stays where it is,
 * so a sleep or wake flip never unlocks a rule. DescribeRules does not return an OIDC client
 * secret, so a kept OIDC action says `UseExistingClientSecret` (ModifyRule then keeps the secret
 * the rule has). A rule without a forward to `targetGroupArn` gets `forwardActions` for it.
 */
export function reweightedActions(current: readonly Action[] | undefined, targetGroupArn: string, wakerTargetGroupArn: string | undefined, to: 'branch' | 'waker'): Action[] {
  const actions = [...(current ?? [])].sort((a, b) => (a.Order ?? 0) - (b.Order ?? 0));
  const forward = forwardActions(targetGroupArn, wakerTargetGroupArn, to)[0];
  const kept = actions.filter((a) => a.Type !== 'forward').map(keptAction);
  if (kept.length === 0) return [forward];
  return [...kept, forward].map((a, i) => ({ ...a, Order: i + 1 }));
}

/** An authenticate action as ModifyRule accepts it back. */
function keptAction(action: Action): Action {
  if (action.Type !== 'authenticate-oidc' || !action.AuthenticateOidcConfig) return { ...action };
  const config = { ...action.AuthenticateOidcConfig, UseExistingClientSecret: true };
  delete config.ClientSecret;
  return { ...action, AuthenticateOidcConfig: config };
}

