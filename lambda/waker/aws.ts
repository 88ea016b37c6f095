/**
 * Every AWS call of sleep and wake: reading a branch's parameters and what runs, and carrying out
 * the steps model.ts decides. Clients live at module scope (aws-sdk-client-mock catches them) and
 * retry throttling themselves.
 */
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DescribeRulesCommand, DescribeTargetHealthCommand, ElasticLoadBalancingV2Client, ModifyRuleCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeDBInstancesCommand, RDSClient, StartDBInstanceCommand, StopDBInstanceCommand } from '@aws-sdk/client-rds';
import { GetScheduleCommand, SchedulerClient, UpdateScheduleCommand } from '@aws-sdk/client-scheduler';
import { DeleteParametersCommand, GetParametersCommand, PutParameterCommand, SSMClient, paginateGetParametersByPath } from '@aws-sdk/client-ssm';
import { BranchStatePaths, byStagingName, formatKeepAlive, formatSleepState, type BranchParameter } from '../../lib/contract/branch-state';
import { reweightedActions, routeOf } from '../listener-priority/rules';
import { isAwsError, log } from '../shared/provider';
import { flipRules, type Observed, type SleepConfig, type State, type Step } from './model';

const SDK = { maxAttempts: 6, retryMode: 'adaptive' } as const;
export const ssm = new SSMClient(SDK);
export const ecs = new ECSClient(SDK);
export const elbv2 = new ElasticLoadBalancingV2Client(SDK);
export const rds = new RDSClient(SDK);
export const scheduler = new SchedulerClient(SDK);

/** DescribeServices takes at most 10 services per call. */
const SERVICES_PER_CALL = 10;

export interface BranchParameters {
  readonly config?: string;
  readonly state?: string;
  readonly keepAlive?: string;
  readonly keepAliveModifiedMs?: number;
}

/** A branch's config, state and keep-alive in one GetParameters call. */
export async function readBranch(paths: BranchStatePaths, name: string): Promise<BranchParameters> {
  const names = { config: paths.sleepConfigs.of(name), state: paths.sleepStates.of(name), keepAlive: paths.keepAlives.of(name) };
  const out = await ssm.send(new GetParametersCommand({ Names: Object.values(names) }));
  const byName = new Map((out.Parameters ?? []).map((p) => [p.Name, p]));
  return {
    config: byName.get(names.config)?.Value,
    state: byName.get(names.state)?.Value,
    keepAlive: byName.get(names.keepAlive)?.Value,
    keepAliveModifiedMs: byName.get(names.keepAlive)?.LastModifiedDate?.getTime(),
  };
}

/** What runs now: desired counts, healthy web targets, the rule's route, the database's status. */
export async function observe(config: SleepConfig, wakerTargetGroupArn: string): Promise<Observed> {
  const desired: Record<string, number> = {};
  const names = config.services.map((s) => s.name);
  for (let i = 0; i < names.length; i += SERVICES_PER_CALL) {
    const out = await ecs.send(new DescribeServicesCommand({ cluster: config.clusterArn, services: names.slice(i, i + SERVICES_PER_CALL) }));
    for (const s of out.services ?? []) {
      if (s.serviceName && s.status !== 'INACTIVE') desired[s.serviceName] = s.desiredCount ?? 0;
    }
  }
  const [health, rules, database] = await Promise.all([
    elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: config.targetGroupArn })),
    elbv2.send(new DescribeRulesCommand({ RuleArns: [config.ruleArn] })),
    config.databaseInstanceId ? databaseStatus(config.databaseInstanceId) : Promise.resolve(undefined),
  ]);
  const rule = rules.Rules?.find((r) => r.RuleArn === config.ruleArn);
  return {
    desired,
    healthyTargets: (health.TargetHealthDescriptions ?? []).filter((t) => t.TargetHealth?.State === 'healthy').length,
    route: rule ? routeOf(rule, wakerTargetGroupArn) : 'branch',
    databaseStatus: database,
  };
}

async function databaseStatus(id: string): Promise<string | undefined> {
  try {
    const out = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
    return out.DBInstances?.[0]?.DBInstanceStatus;
  } catch (e) {
    if (isAwsError(e, 'DBInstanceNotFound', 'DBInstanceNotFoundFault')) return undefined;
    throw e;
  }
}

/** Carries out the steps in order. Each is idempotent: a repeated or racing step changes nothing. */
export async function apply(config: SleepConfig, steps: readonly Step[], paths: BranchStatePaths, wakerTargetGroupArn: string): Promise<void> {
  for (const step of steps) {
    switch (step.kind) {
      case 'state':
        await putState(paths, config.stagingName, step.value);
        break;
      case 'route':
        await flip(config, wakerTargetGroupArn, step.to);
        break;
      case 'scale':
        await ecs.send(new UpdateServiceCommand({ cluster: config.clusterArn, service: step.service, desiredCount: step.count }));
        break;
      case 'schedules':
        for (const name of config.schedules) await setScheduleEnabled(name, step.enabled);
        break;
      case 'start-database':
        await rdsAction(() => rds.send(new StartDBInstanceCommand({ DBInstanceIdentifier: config.databaseInstanceId })), 'InvalidDBInstanceState');
        break;
      case 'stop-database':
        await rdsAction(() => rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: config.databaseInstanceId })), 'InvalidDBInstanceState');
        break;
    }
    log('step done', { stagingName: config.stagingName, step });
  }
}

/**
 * Moves the host's flipping rules to `to`, each with its own actions re-weighted: the sign-in in
 * front of a forward stays, so a sleep or a wake never leaves a rule unlocked. The primary moves
 * last on a wake (the companions are ready when the host answers) and first on a sleep.
 */
async function flip(config: SleepConfig, wakerTargetGroupArn: string, to: 'branch' | 'waker'): Promise<void> {
  const arns = flipRules(config);
  const out = await elbv2.send(new DescribeRulesCommand({ RuleArns: arns }));
  const byArn = new Map((out.Rules ?? []).map((r) => [r.RuleArn, r]));
  const order = to === 'branch' ? [...arns.slice(1), arns[0]] : arns;
  for (const arn of order) {
    const rule = byArn.get(arn);
    if (!rule) throw new Error(`listener rule ${arn} of ${config.stagingName} is gone; deploy the branch again to recreate it`);
    await elbv2.send(new ModifyRuleCommand({ RuleArn: arn, Actions: reweightedActions(rule.Actions, config.targetGroupArn, wakerTargetGroupArn, to) }));
  }
}

/** A start of a starting or a stop of a stopping instance is InvalidDBInstanceState: already under way. */
async function rdsAction(fn: () => Promise<unknown>, ...benign: string[]): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (isAwsError(e, ...benign, 'InvalidDBInstanceStateFault')) return;
    throw e;
  }
}

/** Turns one schedule on or off (UpdateSchedule replaces the whole schedule, so it is read first). */
async function setScheduleEnabled(name: string, enabled: boolean): Promise<void> {
  let current;
  try {
    current = await scheduler.send(new GetScheduleCommand({ Name: name }));
  } catch (e) {
    if (isAwsError(e, 'ResourceNotFoundException')) return;
    throw e;
  }
  const state = enabled ? 'ENABLED' : 'DISABLED';
  if (current.State === state) return;
  await scheduler.send(
    new UpdateScheduleCommand({
      Name: current.Name ?? name,
      GroupName: current.GroupName,
      ScheduleExpression: current.ScheduleExpression,
      ScheduleExpressionTimezone: current.ScheduleExpressionTimezone,
      StartDate: current.StartDate,
      EndDate: current.EndDate,
      Description: current.Description,
      FlexibleTimeWindow: current.FlexibleTimeWindow,
      Target: current.Target,
      KmsKeyArn: current.KmsKeyArn,
      ActionAfterCompletion: current.ActionAfterCompletion,
      State: state,
    }),
  );
}

export async function putState(paths: BranchStatePaths, name: string, value: State): Promise<void> {
  await ssm.send(
    new PutParameterCommand({
      Name: paths.sleepStates.of(name),
      Value: formatSleepState(value),
      Type: 'String',
      Overwrite: true,
    }),
  );
}

export async function putConfig(paths: BranchStatePaths, config: SleepConfig): Promise<void> {
  await ssm.send(
    new PutParameterCommand({
      Name: paths.sleepConfigs.of(config.stagingName),
      Value: JSON.stringify(config),
      Type: 'String',
      // Long service and schedule lists may pass the standard tier's 4 KB.
      Tier: JSON.stringify(config).length > 4000 ? 'Advanced' : 'Standard',
      Overwrite: true,
    }),
  );
}

/** The keep-alive the sweeper reads: a visit that only saw the waking page is still activity. */
export async function putKeepAlive(paths: BranchStatePaths, name: string, nowMs: number): Promise<void> {
  await ssm.send(new PutParameterCommand({ Name: paths.keepAlives.of(name), Value: formatKeepAlive(nowMs), Type: 'String', Overwrite: true }));
}

/**
 * The one wake of one sleep: `sleep-claims/<name>/<sleeping since>`, created with Overwrite=false.
 * Of many requests that find the branch asleep at once, exactly one gets true and starts it.
 */
export async function claimWake(paths: BranchStatePaths, name: string, sleepingSince: string, nowMs: number): Promise<boolean> {
  try {
    await ssm.send(
      new PutParameterCommand({ Name: paths.wakeClaim(name, sleepingSince), Value: new Date(nowMs).toISOString(), Type: 'String', Overwrite: false }),
    );
    return true;
  } catch (e) {
    if (isAwsError(e, 'ParameterAlreadyExists')) return false;
    throw e;
  }
}

/** Every config below `sleep-config/`, by staging name. */
export async function allConfigs(paths: BranchStatePaths): Promise<Map<string, string>> {
  return new Map([...(await byStagingNameIn(paths.sleepConfigs.root))].map(([name, p]) => [name, p.value]));
}

export async function parametersByPath(path: string, recursive: boolean): Promise<BranchParameter[]> {
  const out: BranchParameter[] = [];
  for await (const page of paginateGetParametersByPath({ client: ssm, pageSize: 10 }, { Path: path, Recursive: recursive })) {
    for (const p of page.Parameters ?? []) if (p.Name) out.push({ name: p.Name, value: p.Value ?? '', lastModifiedMs: p.LastModifiedDate?.getTime() });
  }
  return out;
}

/** The parameters directly below `root` (a folder of lib/contract/branch-state.ts), by staging name. */
export async function byStagingNameIn(root: string): Promise<Map<string, BranchParameter>> {
  return byStagingName(root, await parametersByPath(root, false));
}

/**
 * Removes a branch's parameters that the waker writes (config, state, claims, and the keep-alive
 * its visits write), so that `cdk destroy` leaves none behind; names already gone are fine.
 */
export async function deleteBranchParameters(paths: BranchStatePaths, name: string): Promise<void> {
  const claims = (await parametersByPath(paths.wakeClaims.of(name), true)).map((p) => p.name);
  const names = [paths.sleepConfigs.of(name), paths.sleepStates.of(name), paths.keepAlives.of(name), ...claims];
  for (let i = 0; i < names.length; i += 10) {
    await ssm.send(new DeleteParametersCommand({ Names: names.slice(i, i + 10) }));
  }
}
