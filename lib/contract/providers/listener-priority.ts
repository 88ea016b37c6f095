/**
 * The contract of the listener-priority provider (lib/providers/listener-priority.ts,
 * lambda/listener-priority/): `Custom::StagingListenerRule`, a branch's host rule on the shared
 * listener with a priority allocated without collisions. Its properties, its attributes, the
 * provider's environment, and the one parse and validation of the properties. Conventions:
 * ./index.ts.
 */
import { AccessEnvironment } from '../access';
import { SharedParameterNames } from '../staging';
import { parseWireTags, requiredProperty, type Wire, type WireTag } from './wire';

export const ListenerRuleResourceType = 'Custom::StagingListenerRule';

/** ResourceProperties of `Custom::StagingListenerRule`. */
export interface ListenerRuleResourceProperties {
  readonly ListenerArn: string;
  readonly HostHeader: string;
  readonly TargetGroupArn: string;
  /**
   * The waker's target group on the branch's shard (`ShardAttributes.WAKER_TARGET_GROUP_ARN`): the
   * rule forwards to it with weight 0 while awake. Absent (branches deployed before shards): the
   * provider's `WAKER_TARGET_GROUP_ARN`, shard 0's.
   */
  readonly WakerTargetGroupArn?: string;
  readonly MinPriority?: number | string;
  readonly MaxPriority?: number | string;
  readonly Tags?: WireTag[];
}

/** Attributes (`Data`) of `Custom::StagingListenerRule`; its physical id is the rule's ARN. */
export const ListenerRuleAttributes = {
  PRIORITY: 'Priority',
  RULE_ARN: 'RuleArn',
  /** The rules of the host the sleeper and the waker flip, the primary first, comma-separated. */
  FLIP_RULE_ARNS: 'FlipRuleArns',
  /** How many rules the host takes under the stagings' lock (1 to 4). */
  RULE_COUNT: 'RuleCount',
} as const;

/** Environment of the listener-priority provider, set by SharedStaging. */
export const ListenerPriorityEnvironment = {
  /** The shared waker's Lambda target group: branch rules forward to it with weight 0 while awake. Optional. */
  WAKER_TARGET_GROUP_ARN: 'WAKER_TARGET_GROUP_ARN',
  /** The stagings' lock (lib/contract/access.ts), required: without it no rule is written. */
  STAGING_ACCESS: AccessEnvironment.CONFIG,
} as const;

/** Highest priority an ALB listener rule may have. */
export const MAX_RULE_PRIORITY = 50000;

/**
 * The highest priority a branch rule takes by default. The priorities above it, up to the shared
 * app's 50000, are the shared stack's own (its hosts' companion rules, lib/staging-access.ts).
 */
export const MAX_BRANCH_PRIORITY = 49989;

const LISTENER_ARN = /^arn:[a-z-]+:elasticloadbalancing:[a-z0-9-]+:\d{12}:listener\/app\/[^/]+\/[^/]+\/[^/]+$/;

/** True for the ARN of an Application Load Balancer listener. */
export function isListenerArn(arn: string): boolean {
  return LISTENER_ARN.test(arn);
}

/** The listener rule a `Custom::StagingListenerRule` asks for. */
export interface ListenerRuleRequest {
  readonly listenerArn: string;
  readonly host: string;
  readonly targetGroupArn: string;
  /** The waker's target group on the branch's shard, when the resource names it. */
  readonly wakerTargetGroupArn?: string;
  readonly minPriority: number;
  readonly maxPriority: number;
  readonly tags: WireTag[];
}

/** Parses and validates ResourceProperties; throws one message that lists every problem. */
export function parseProperties(p: Wire<ListenerRuleResourceProperties>): ListenerRuleRequest {
  const listenerArn = requiredProperty(p, 'ListenerArn').trim();
  const host = requiredProperty(p, 'HostHeader').trim();
  const targetGroupArn = requiredProperty(p, 'TargetGroupArn').trim();
  const problems: string[] = [];
  if (!isListenerArn(listenerArn)) {
    problems.push(
      `ListenerArn '${listenerArn}' is not the ARN of an Application Load Balancer listener ` +
        `(arn:aws:elasticloadbalancing:<region>:<account>:listener/app/<name>/<id>/<id>); ` +
        `it is the listener of the branch's shard, the ListenerArn of its Custom::StagingQuota (shard 0's is the SSM parameter '${SharedParameterNames.LISTENER_ARN}' of the shared staging)`,
    );
  }
  if (host.length > 128 || !/^[A-Za-z0-9.*?-]+$/.test(host)) {
    problems.push(
      `HostHeader '${host}' is not a valid host-header condition value (at most 128 characters of A-Z, a-z, 0-9, '-', '.', '*', '?')`,
    );
  }
  if (!targetGroupArn.includes(':targetgroup/')) {
    problems.push(`TargetGroupArn '${targetGroupArn}' is not the ARN of a target group`);
  }
  const wakerTargetGroupArn = p.WakerTargetGroupArn ? String(p.WakerTargetGroupArn).trim() : undefined;
  if (wakerTargetGroupArn && !wakerTargetGroupArn.includes(':targetgroup/')) {
    problems.push(`WakerTargetGroupArn '${wakerTargetGroupArn}' is not the ARN of a target group`);
  }
  const minPriority = parsePriority(p, 'MinPriority', 1, problems);
  const maxPriority = parsePriority(p, 'MaxPriority', MAX_BRANCH_PRIORITY, problems);
  if (minPriority > maxPriority) {
    problems.push(`MinPriority (${minPriority}) must not be greater than MaxPriority (${maxPriority})`);
  }
  const tags = parseWireTags(p.Tags, problems);
  if (problems.length > 0) {
    throw new Error(`Invalid properties of the listener-priority custom resource: ${problems.join('; ')}`);
  }
  return { listenerArn, host, targetGroupArn, wakerTargetGroupArn, minPriority, maxPriority, tags };
}

function parsePriority(p: Wire<ListenerRuleResourceProperties>, name: 'MinPriority' | 'MaxPriority', fallback: number, problems: string[]): number {
  const raw = p[name];
  if (raw === undefined || raw === null || String(raw).trim() === '') return fallback;
  const n = Number(String(raw).trim());
  if (!Number.isInteger(n) || n < 1 || n > MAX_RULE_PRIORITY) {
    problems.push(`${name} must be a whole number from 1 to ${MAX_RULE_PRIORITY}, got '${raw}'`);
    return fallback;
  }
  return n;
}
