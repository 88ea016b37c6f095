/**
 * The contract of the waker provider (lib/providers/waker.ts, lambda/waker/): the environment of
 * the waker bundle (the provider, the waker target and the sleeper, lib/staging-sleeper.ts, all
 * run it), and `Custom::StagingSleep`, each branch's entry for the sleeper and the waker
 * (lib/private/branch-services.ts): its properties, its attribute, and the one parse and
 * validation of the properties into the config a deploy records. Conventions: ./index.ts.
 */
import { requiredProperty, type Wire } from './wire';

/** Environment of the waker bundle's functions. */
export const WakerEnvironment = {
  /** The SSM parameter prefix, e.g. `/staging`. */
  PARAMETER_PREFIX: 'PARAMETER_PREFIX',
  /** The shared waker target group; not set on the waker target itself, which reads it from the ALB event. */
  WAKER_TARGET_GROUP_ARN: 'WAKER_TARGET_GROUP_ARN',
} as const;

export const SleepResourceType = 'Custom::StagingSleep';

/** One ECS service of a branch, as `Custom::StagingSleep` passes it. */
export interface SleepServiceProperties {
  readonly Name: string;
  /** The count in the template, as a string. */
  readonly DesiredCount: string;
}

/** ResourceProperties of `Custom::StagingSleep` (CloudFormation sends strings). */
export interface SleepResourceProperties {
  readonly StagingName: string;
  readonly Branch?: string;
  readonly StackName: string;
  readonly ClusterArn: string;
  readonly WebServiceName: string;
  /** The web service first. */
  readonly Services: SleepServiceProperties[];
  readonly TargetGroupArn: string;
  readonly TargetGroupFullName?: string;
  readonly LoadBalancerFullName?: string;
  /** The waker's target group on the branch's shard; absent (branches deployed before shards): shard 0's, the provider's `WAKER_TARGET_GROUP_ARN`. */
  readonly WakerTargetGroupArn?: string;
  readonly RuleArn: string;
  /** Every rule of the host that follows its sleep, comma-separated (listener-priority's FlipRuleArns). */
  readonly FlipRuleArns?: string;
  /** EventBridge Scheduler schedule names (default group). */
  readonly Schedules?: string[];
  /** The branch's own RDS instance, when it has one. */
  readonly DatabaseInstanceId?: string;
  /** Whole minutes; 0 = never sleeps. */
  readonly SleepAfterMinutes?: string;
  /** Whole minutes; 0 = the database keeps running while the branch sleeps. */
  readonly StopDatabaseAfterMinutes?: string;
  /** Changes with every new image or configuration, so each such deploy wakes the branch. Not read by the handler. */
  readonly TaskDefinitions?: string[];
}

/** Attributes (`Data`) of `Custom::StagingSleep`. */
export const SleepAttributes = {
  /** The SSM parameter that holds the branch's sleep state. */
  STATE_PARAMETER: 'StateParameter',
} as const;

/** One ECS service of a branch, as its deploy recorded it. */
export interface ServiceConfig {
  /** The ECS service name. */
  readonly name: string;
  /** The count in the template: what a deploy means. */
  readonly desiredCount: number;
}

/**
 * What a branch's deploy records at `<prefix>/sleep-config/<name>` for the sleeper and the waker:
 * its `Custom::StagingSleep` properties, parsed.
 */
export interface SleepConfig {
  readonly stagingName: string;
  readonly branch: string;
  readonly stackName: string;
  readonly clusterArn: string;
  /** The web service first. */
  readonly services: ServiceConfig[];
  readonly webServiceName: string;
  readonly targetGroupArn: string;
  readonly targetGroupFullName: string;
  readonly loadBalancerFullName: string;
  /** The waker's target group on the branch's shard. Configs of branches deployed before shards have none: shard 0's. */
  readonly wakerTargetGroupArn?: string;
  readonly ruleArn: string;
  /**
   * Every rule of the host whose forward follows the branch's sleep (the primary first, then the
   * allowed-network and waking automation rules of the lock). Older configs have only `ruleArn`.
   */
  readonly flipRuleArns?: string[];
  /** EventBridge Scheduler schedule names (default group). */
  readonly schedules: string[];
  /** The branch's own RDS instance, when it has one. */
  readonly databaseInstanceId?: string;
  /** 0 = never sleeps. */
  readonly sleepAfterMinutes: number;
  /** 0 = the database keeps running while the branch sleeps. */
  readonly stopDatabaseAfterMinutes: number;
}

/** Parses the properties; a missing required one or a bad number of minutes throws, naming it. */
export function parseProperties(p: Wire<SleepResourceProperties>): SleepConfig {
  const services = (Array.isArray(p.Services) ? p.Services : []).map((s: Record<string, unknown>) => ({
    name: String(s.Name),
    desiredCount: Number(s.DesiredCount ?? 1),
  }));
  const minutes = (key: 'SleepAfterMinutes' | 'StopDatabaseAfterMinutes') => {
    const n = Number(p[key] ?? 0);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${key} must be a whole number of minutes >= 0, got '${p[key]}'`);
    return n;
  };
  return {
    stagingName: requiredProperty(p, 'StagingName'),
    branch: String(p.Branch ?? p.StagingName),
    stackName: requiredProperty(p, 'StackName'),
    clusterArn: requiredProperty(p, 'ClusterArn'),
    services,
    webServiceName: requiredProperty(p, 'WebServiceName'),
    targetGroupArn: requiredProperty(p, 'TargetGroupArn'),
    targetGroupFullName: String(p.TargetGroupFullName ?? ''),
    loadBalancerFullName: String(p.LoadBalancerFullName ?? ''),
    wakerTargetGroupArn: p.WakerTargetGroupArn ? String(p.WakerTargetGroupArn) : undefined,
    ruleArn: requiredProperty(p, 'RuleArn'),
    flipRuleArns: p.FlipRuleArns ? String(p.FlipRuleArns).split(',').map((a) => a.trim()).filter(Boolean) : undefined,
    schedules: (Array.isArray(p.Schedules) ? p.Schedules : []).map(String),
    databaseInstanceId: p.DatabaseInstanceId ? String(p.DatabaseInstanceId) : undefined,
    sleepAfterMinutes: minutes('SleepAfterMinutes'),
    stopDatabaseAfterMinutes: minutes('StopDatabaseAfterMinutes'),
  };
}
