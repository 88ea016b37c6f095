/**
 * Custom resource `listener-priority`: owns the host-based listener rule of one branch staging on
 * the shared ALB listener, and gives it a priority no other rule on that listener has.
 *
 * The handler creates the rule itself (rather than returning a number for an
 * AWS::ElasticLoadBalancingV2::ListenerRule), so that CreateRule is the atomic check: two
 * deployments that read the listener at the same moment and pick the same priority cannot both
 * win; the loser gets PriorityInUseException, reads the listener again and picks another number.
 *
 * ResourceProperties (strings, as CloudFormation passes them):
 * - ListenerArn (required): ARN of the shared HTTPS listener.
 * - HostHeader (required): `<staging name>.<staging domain>`.
 * - TargetGroupArn (required): the rule forwards to it.
 * - MinPriority (default "1"), MaxPriority (default "49989"; 49990-49999 are the shared stack's): range to pick priorities from.
 * - WakerTargetGroupArn (optional): the waker's target group on the branch's shard (see below).
 * - Tags (optional): [{ Key, Value }] put on the rule.
 *
 * PhysicalResourceId: the rule ARN. Data: { Priority: "<n>", RuleArn }.
 *
 * Environment: WAKER_TARGET_GROUP_ARN (optional), shard 0's waker target group, for resources
 * without WakerTargetGroupArn (branches deployed before shards). With either,
 * every rule is a weighted forward to the branch and the waker (1/0 awake, 0/1 asleep; see
 * rules.ts forwardActions). The sleeper and the waker only change the weights. Create forwards to
 * the branch; Update and an adopting Create keep the rule's current route, so a deploy of a
 * sleeping branch never sends requests to services still at zero: the branch's
 * Custom::StagingSleep resource moves the rule back once a web target is healthy.
 *
 * Environment: STAGING_ACCESS (required), the stagings' lock (lib/contract/access.ts). The rule
 * above is the host's primary rule: with a sign-in its actions are the sign-in, then the forward.
 * The lock may add companion rules (allowed networks, the automation token, public paths; see
 * access.ts), each at a lower priority than the primary so the load balancer tries it first. With
 * companions, the primary takes its priority from the upper half of the range and companions from
 * the lower half; an older primary below that is moved up (SetRulePriorities) before any
 * companion is created, so no companion is ever shadowed. Data also has FlipRuleArns (the rules
 * the sleeper and the waker flip, the primary first, comma-separated) and RuleCount. Every rule
 * is written with its lock: the handler refuses to write a rule when the lock is unreadable.
 */
import {
  AddTagsCommand,
  SetRulePrioritiesCommand,
  CreateRuleCommand,
  DeleteRuleCommand,
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
  RemoveTagsCommand,
  paginateDescribeRules,
  type Action,
  type Rule,
  type RuleCondition,
  type Tag,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { AccessEnvironment, RULE_ROLE_TAG, RuleRoles, parseAccessConfig, type AccessConfig } from '../../lib/contract/access';
import { SharedParameterNames } from '../../lib/contract/staging';
import { shardRegistryParameterName } from '../../lib/contract/capacity';
import { ListenerPriorityEnvironment, parseProperties, type ListenerRuleRequest } from '../../lib/contract/providers/listener-priority';
import { parseWireTags } from '../../lib/contract/providers/wire';
import { describeError } from '../shared/errors';
import { isAwsError, log, logError, type OnEventRequest, type OnEventResponse } from '../shared/provider';
import { entry } from '../shared/entry';
import { desiredRules, roleOf, sameActions, sameConditions, type DesiredRule } from './access';
import { deleteCognitoClient, lockInputs } from './lock';
import {
  forwardsTo,
  isListenerArn,
  isRuleArn,
  pickPriority,
  ruleBelongsToListener,
  routeOf,
  rulePriority,
  usedPriorities,
} from './rules';

/**
 * The waker's target group on the branch's shard: the resource's own, else (branches deployed
 * before shards) the provider's, which is shard 0's; undefined when the shared staging has none.
 */
function wakerTargetGroupArn(props: Props): string | undefined {
  return props.wakerTargetGroupArn || process.env[ListenerPriorityEnvironment.WAKER_TARGET_GROUP_ARN] || undefined;
}

/** The handler's source of randomness (priority spread and retry jitter); tests replace `next`. */
export const randomness = { next: (): number => Math.random() };

/** Throttling and transient errors are retried by the SDK itself; no hand-written loop for them. */
export const elbv2 = new ElasticLoadBalancingV2Client({ maxAttempts: 8, retryMode: 'adaptive' });

/** How many times Create reads the listener and tries CreateRule when priorities conflict. */
export const CONFLICT_ATTEMPTS = 10;
/** DescribeRules allows at most 400 rules per page. */
const PAGE_SIZE = 400;
/** Priorities are picked at random among this many lowest free ones (times the attempt number). */
const PICK_WINDOW = 5;

const THROTTLING_ERRORS = ['Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException'];

type Props = ListenerRuleRequest;

interface Result {
  readonly ruleArn: string;
  readonly priority: number;
  /** The rules the sleeper flips, the primary first. */
  readonly flipRuleArns: string[];
  readonly ruleCount: number;
}

/** The lock from the environment; fail-closed (parseAccessConfig throws). */
function accessConfig(): AccessConfig {
  return parseAccessConfig(process.env[AccessEnvironment.CONFIG]);
}

/** The host's rules as the lock wants them, with the secrets and the Cognito client read. */
async function plan(props: Props): Promise<DesiredRule[]> {
  const config = accessConfig();
  return desiredRules(config, props.host, props.targetGroupArn, wakerTargetGroupArn(props), await lockInputs(config, props.host));
}

async function handleEvent(event: OnEventRequest): Promise<OnEventResponse> {
  try {
    switch (event.RequestType) {
      case 'Create':
        return respond(await createOrAdopt(parseProperties(event.ResourceProperties)));
      case 'Update':
        return respond(await update(event));
      case 'Delete':
        return await remove(event);
      default:
        throw new Error(`Unknown RequestType '${(event as { RequestType: string }).RequestType}'`);
    }
  } catch (error) {
    throw withContext(error, event);
  }
}
export const onEvent = entry('listener-priority.onEvent', handleEvent);

/**
 * Errors of our own already say what and what to do. An AWS error that reaches here as is (access
 * denied, validation, ...) gets the request type, the host and the listener put in front of it.
 */
function withContext(error: unknown, event: OnEventRequest): unknown {
  if (!(error instanceof Error) || !('$metadata' in error)) return error;
  const p = event.ResourceProperties ?? {};
  return new Error(
    `${event.RequestType} of the listener rule for host '${p.HostHeader ?? '?'}' on listener ${p.ListenerArn ?? '?'}` +
      (event.PhysicalResourceId ? ` (rule ${event.PhysicalResourceId})` : '') +
      ` failed: ${describeError(error)}`,
    { cause: error },
  );
}

function respond(result: Result): OnEventResponse {
  return {
    PhysicalResourceId: result.ruleArn,
    Data: { Priority: String(result.priority), RuleArn: result.ruleArn, FlipRuleArns: result.flipRuleArns.join(','), RuleCount: String(result.ruleCount) },
  };
}

// ---------------------------------------------------------------------------------------------
// Properties

// ---------------------------------------------------------------------------------------------
// Create

/** Priorities of the primary and of the companions: companions always below the primary. */
interface Ranges {
  readonly primary: readonly [number, number];
  readonly companions?: readonly [number, number];
}

function ranges(props: Props, desired: readonly DesiredRule[]): Ranges {
  if (desired.length === 1) return { primary: [props.minPriority, props.maxPriority] };
  const split = Math.floor((props.minPriority + props.maxPriority + 1) / 2);
  return { primary: [split, props.maxPriority], companions: [props.minPriority, split - 1] };
}

async function createOrAdopt(props: Props, desired?: DesiredRule[]): Promise<Result> {
  const rules = desired ?? (await plan(props));
  const range = ranges(props, rules);
  const primary = await createOrAdoptPrimary(props, rules[0], range.primary);
  return withCompanions(props, rules, range, primary, undefined, primary.listed);
}

/** The primary rule, and the listener's rules as last read (with the primary in them). */
interface Primary {
  readonly rule: Rule;
  readonly priority: number;
  readonly listed?: Rule[];
}

async function createOrAdoptPrimary(props: Props, desired: DesiredRule, range: readonly [number, number]): Promise<Primary> {
  const knownTaken = new Set<number>();
  let lastTried: number | undefined;
  const scoped = { ...props, minPriority: range[0], maxPriority: range[1] };
  for (let attempt = 1; attempt <= CONFLICT_ATTEMPTS; attempt++) {
    const rules = await listRules(props.listenerArn);

    const existing = findOwnRule(rules, props, desired.role);
    if (existing) return { rule: await adopt(existing, props, desired), priority: rulePriority(existing)!, listed: rules };

    const used = usedPriorities(rules, knownTaken);
    const priority = pickPriority(used, range[0], range[1], PICK_WINDOW * attempt, () => randomness.next());
    if (priority === undefined) throw new Error(fullListenerMessage(scoped, rules, 'range'));
    lastTried = priority;

    try {
      const rule = await createRule(props, priority, desired.conditions, desired.actions('branch'), props.tags);
      log('listener rule created', { listenerArn: props.listenerArn, host: props.host, role: desired.role, priority, ruleArn: rule.RuleArn, attempt });
      return { rule, priority, listed: [...rules, rule] };
    } catch (error) {
      if (isAwsError(error, 'PriorityInUseException', 'PriorityInUse')) {
        knownTaken.add(priority);
        log('priority taken by a concurrent deployment, retrying', {
          listenerArn: props.listenerArn,
          host: props.host,
          priority,
          attempt,
        });
        if (attempt < CONFLICT_ATTEMPTS) await conflictDelay(attempt);
        continue;
      }
      if (isAwsError(error, 'TooManyRulesException', 'TooManyRules')) {
        throw new Error(fullListenerMessage(scoped, rules, 'quota'), { cause: error });
      }
      if (isAwsError(error, 'TargetGroupNotFoundException', 'TargetGroupNotFound')) {
        throw new Error(
          `Target group ${props.targetGroupArn} does not exist, so no listener rule for ${props.host} can forward to it. ` +
            `Deploy the branch staging again so its target group is created first.`,
          { cause: error },
        );
      }
      throw error;
    }
  }
  throw new Error(
    `Could not claim a free rule priority on listener ${props.listenerArn} for ${props.host} after ` +
      `${CONFLICT_ATTEMPTS} attempts: other deployments took each priority first (last tried ${lastTried}). ` +
      `Retry the deployment; if this keeps happening, deploy fewer branch stagings at the same time.`,
  );
}

/** One CreateRule on the listener; the new rule as it was created. */
async function createRule(props: Props, priority: number, conditions: RuleCondition[], actions: Action[], tags: readonly Tag[]): Promise<Rule> {
  const out = await call('CreateRule', props, () =>
    elbv2.send(new CreateRuleCommand({ ListenerArn: props.listenerArn, Priority: priority, Conditions: conditions, Actions: actions, Tags: tags.length > 0 ? [...tags] : undefined })),
  );
  const rule = out.Rules?.[0];
  if (!rule?.RuleArn) throw new Error(`CreateRule on listener ${props.listenerArn} returned no rule ARN`);
  return rule;
}

/** Jittered pause between conflict retries: 100 ms plus up to 300 ms per attempt, at most 3 s. */
function conflictDelay(attempt: number): Promise<void> {
  const ms = Math.min(3000, 100 + Math.floor(randomness.next() * 300 * attempt));
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A replayed Create (or a CreateRule whose response was lost) finds the rule it made before:
 * the rule with exactly this host-header (and the role's one other condition). It is adopted, not
 * duplicated, and brought to the lock's actions on its current route.
 */
async function adopt(rule: Rule, props: Props, desired: DesiredRule): Promise<Rule> {
  const ruleArn = rule.RuleArn!;
  log('adopting the existing listener rule for this host', {
    listenerArn: props.listenerArn,
    host: props.host,
    role: desired.role,
    ruleArn,
    priority: rulePriority(rule),
  });
  await bringToLock(rule, props, desired, routeOf(rule, wakerTargetGroupArn(props)));
  if (props.tags.length > 0) {
    await call('AddTags', props, () => elbv2.send(new AddTagsCommand({ ResourceArns: [ruleArn], Tags: props.tags })));
  }
  return rule;
}

/**
 * Rewrites a rule's conditions and actions to the lock's, on the given route. An OIDC sign-in is
 * always written again with the secret's current value (DescribeRules does not show the one the
 * rule has), so a rotated client secret reaches every rule on its branch's next deploy.
 */
async function bringToLock(rule: Rule, props: Props, desired: DesiredRule, route: 'branch' | 'waker'): Promise<boolean> {
  const actions = desired.actions(route);
  const modify: { Conditions?: RuleCondition[]; Actions?: Action[] } = {};
  if (!sameConditions(rule, desired.conditions)) modify.Conditions = desired.conditions;
  if (!sameActions(rule, actions) || actions.some((a) => a.Type === 'authenticate-oidc')) modify.Actions = actions;
  if (!modify.Conditions && !modify.Actions) return false;
  await call('ModifyRule', props, () => elbv2.send(new ModifyRuleCommand({ RuleArn: rule.RuleArn!, ...modify })));
  log('listener rule brought to the lock', { ruleArn: rule.RuleArn, host: props.host, role: desired.role, changed: Object.keys(modify) });
  return true;
}

/** The host's rule of this role that is ours: for a companion, one that forwards to our target group. */
function findOwnRule(rules: readonly Rule[], props: Props, role: string, oldTargetGroupArn?: string): Rule | undefined {
  const matches = rules
    .filter((r) => r.RuleArn && rulePriority(r) !== undefined && roleOf(r, props.host) === role)
    .filter((r) => role === RuleRoles.MAIN || forwardsTo(r, props.targetGroupArn) || (oldTargetGroupArn !== undefined && forwardsTo(r, oldTargetGroupArn)))
    .sort((a, b) => rulePriority(a)! - rulePriority(b)!);
  if (matches.length > 1) {
    logError('several rules route the same host; adopting the one with the lowest priority', {
      host: props.host,
      role,
      rules: matches.map((r) => ({ ruleArn: r.RuleArn, priority: r.Priority })),
    });
  }
  return matches[0];
}

function fullListenerMessage(props: Props, rules: readonly Rule[], reason: 'range' | 'quota'): string {
  const priorities = rules.map(rulePriority).filter((p): p is number => p !== undefined);
  const inRange = priorities.filter((p) => p >= props.minPriority && p <= props.maxPriority).length;
  log('listener is full', {
    listenerArn: props.listenerArn,
    reason,
    hosts: rules.filter((r) => !r.IsDefault).map((r) => r.Conditions?.[0]?.HostHeaderConfig?.Values ?? r.Conditions?.[0]?.Values),
  });
  const what =
    reason === 'quota'
      ? `The load balancer of listener ${props.listenerArn} has reached its quota of listener rules ` +
        `(default: 100 per Application Load Balancer across all its listeners, default rules excluded)`
      : `Listener ${props.listenerArn} has no free rule priority between ${props.minPriority} and ${props.maxPriority}`;
  return (
    `${what}, so no rule can be added for ${props.host}. ` +
    `This listener has ${priorities.length} rules besides its default rule, ${inRange} of them branch stagings ` +
    `(priorities ${props.minPriority}-${props.maxPriority}). ` +
    `Destroy idle branch stagings with 'cdk destroy -c branch=<name>', or ask AWS for a higher ` +
    `'Rules per Application Load Balancer' quota (Service Quotas > Elastic Load Balancing) and deploy again.`
  );
}

// ---------------------------------------------------------------------------------------------
// Companions

/**
 * Brings the host's companion rules to the lock: the primary moves up into its range first when
 * it sits below it, then each desired companion is adopted and rewritten, or created below the
 * primary; companions the lock no longer wants are deleted.
 */
async function withCompanions(props: Props, desired: readonly DesiredRule[], range: Ranges, primary: Primary, oldTargetGroupArn?: string, listed?: Rule[]): Promise<Result> {
  let primaryPriority = primary.priority;
  const route = routeOf(primary.rule, wakerTargetGroupArn(props));
  const companions = desired.slice(1);
  let rules = listed ?? (await listRules(props.listenerArn));
  if (companions.length > 0 && primaryPriority < range.primary[0]) {
    primaryPriority = await movePrimaryUp(props, primary.rule.RuleArn!, range.primary, rules);
    rules = await listRules(props.listenerArn);
  }
  const flips = [primary.rule.RuleArn!];
  const kept = new Set<string>([primary.rule.RuleArn!]);
  for (const companion of companions) {
    const existing = findOwnRule(rules, props, companion.role, oldTargetGroupArn);
    let ruleArn: string;
    if (existing && rulePriority(existing)! < primaryPriority) {
      await bringToLock(existing, props, companion, companion.flips ? route : 'branch');
      ruleArn = existing.RuleArn!;
    } else {
      if (existing) await deleteRule(existing.RuleArn!, props); // above the primary: it would never match
      const created = await createCompanion(props, companion, [range.companions![0], Math.min(range.companions![1], primaryPriority - 1)], route, rules);
      rules = [...rules, created]; // the next companion picks around it
      ruleArn = created.RuleArn!;
    }
    kept.add(ruleArn);
    if (companion.flips) flips.push(ruleArn);
  }
  // Companions of this host that the lock no longer has (e.g. public paths removed).
  for (const rule of rules) {
    if (kept.has(rule.RuleArn!) || rulePriority(rule) === undefined) continue;
    const role = roleOf(rule, props.host);
    if (role === undefined || role === desired[0].role) continue;
    if (!forwardsTo(rule, props.targetGroupArn) && !(oldTargetGroupArn && forwardsTo(rule, oldTargetGroupArn))) continue;
    await deleteRule(rule.RuleArn!, props);
    log('companion rule the lock no longer has deleted', { ruleArn: rule.RuleArn, host: props.host, role });
  }
  return { ruleArn: primary.rule.RuleArn!, priority: primaryPriority, flipRuleArns: flips, ruleCount: kept.size };
}

async function movePrimaryUp(props: Props, ruleArn: string, range: readonly [number, number], rules: Rule[]): Promise<number> {
  const knownTaken = new Set<number>();
  for (let attempt = 1; attempt <= CONFLICT_ATTEMPTS; attempt++) {
    const current = attempt === 1 ? rules : await listRules(props.listenerArn);
    const priority = pickPriority(usedPriorities(current, knownTaken), range[0], range[1], PICK_WINDOW * attempt, () => randomness.next());
    if (priority === undefined) throw new Error(fullListenerMessage({ ...props, minPriority: range[0], maxPriority: range[1] }, current, 'range'));
    try {
      await call('SetRulePriorities', props, () => elbv2.send(new SetRulePrioritiesCommand({ RulePriorities: [{ RuleArn: ruleArn, Priority: priority }] })));
      log('primary rule moved above its companions', { ruleArn, host: props.host, priority });
      return priority;
    } catch (error) {
      if (!isAwsError(error, 'PriorityInUseException', 'PriorityInUse')) throw error;
      knownTaken.add(priority);
      if (attempt < CONFLICT_ATTEMPTS) await conflictDelay(attempt);
    }
  }
  throw new Error(`Could not move the rule of ${props.host} above its companion rules after ${CONFLICT_ATTEMPTS} attempts; deploy again.`);
}

/** Creates a companion below the primary; the first attempt picks from `listed`, a retry reads the listener again. */
async function createCompanion(props: Props, desired: DesiredRule, range: readonly [number, number], route: 'branch' | 'waker', listed: Rule[]): Promise<Rule> {
  const knownTaken = new Set<number>();
  const scoped = { ...props, minPriority: range[0], maxPriority: range[1] };
  for (let attempt = 1; attempt <= CONFLICT_ATTEMPTS; attempt++) {
    const rules = attempt === 1 ? listed : await listRules(props.listenerArn);
    const priority = pickPriority(usedPriorities(rules, knownTaken), range[0], range[1], PICK_WINDOW * attempt, () => randomness.next());
    if (priority === undefined) throw new Error(fullListenerMessage(scoped, rules, 'range'));
    try {
      const tags = [...props.tags, { Key: RULE_ROLE_TAG, Value: desired.role }];
      const rule = await createRule(props, priority, desired.conditions, desired.actions(desired.flips ? route : 'branch'), tags);
      log('companion rule created', { host: props.host, role: desired.role, priority, ruleArn: rule.RuleArn });
      return rule;
    } catch (error) {
      if (isAwsError(error, 'PriorityInUseException', 'PriorityInUse')) {
        knownTaken.add(priority);
        if (attempt < CONFLICT_ATTEMPTS) await conflictDelay(attempt);
        continue;
      }
      if (isAwsError(error, 'TooManyRulesException', 'TooManyRules')) throw new Error(fullListenerMessage(scoped, rules, 'quota'), { cause: error });
      throw error;
    }
  }
  throw new Error(`Could not claim a free rule priority for the ${desired.role} rule of ${props.host} after ${CONFLICT_ATTEMPTS} attempts; deploy again.`);
}

// ---------------------------------------------------------------------------------------------
// Update

async function update(event: OnEventRequest): Promise<Result> {
  const props = parseProperties(event.ResourceProperties);
  const oldListener = event.OldResourceProperties?.ListenerArn;
  const oldTargetGroupArn = event.OldResourceProperties?.TargetGroupArn ? String(event.OldResourceProperties.TargetGroupArn).trim() : undefined;
  const physicalId = event.PhysicalResourceId;
  const desired = await plan(props);

  if (!isRuleArn(physicalId)) {
    log('physical id is not a listener rule ARN; creating the rule', { physicalId });
    return createOrAdopt(props, desired);
  }
  if ((oldListener !== undefined && String(oldListener).trim() !== props.listenerArn) || !ruleBelongsToListener(physicalId, props.listenerArn)) {
    // A new rule on the new listener: a new physical id, after which CloudFormation deletes the old rule.
    log('listener changed; creating a rule on the new listener', {
      oldListenerArn: oldListener,
      listenerArn: props.listenerArn,
      oldRuleArn: physicalId,
    });
    return createOrAdopt(props, desired);
  }

  const rule = await describeRule(physicalId, props);
  if (!rule) {
    log('listener rule has vanished; creating a new one', { ruleArn: physicalId, host: props.host });
    return createOrAdopt(props, desired);
  }

  try {
    await bringToLock(rule, props, desired[0], routeOf(rule, wakerTargetGroupArn(props)));
  } catch (error) {
    if (isAwsError(error, 'RuleNotFoundException', 'RuleNotFound')) {
      log('listener rule vanished while being modified; creating a new one', { ruleArn: physicalId });
      return createOrAdopt(props, desired);
    }
    throw error;
  }

  await syncTags(physicalId, parseOldTags(event.OldResourceProperties), props);

  const priority = rulePriority(rule)!;
  const range = ranges(props, desired);
  if (desired.length === 1 && (priority < props.minPriority || priority > props.maxPriority)) {
    log('rule priority is outside the new range; keeping it (priorities never move on update)', {
      ruleArn: physicalId,
      priority,
      minPriority: props.minPriority,
      maxPriority: props.maxPriority,
    });
  }
  return withCompanions(props, desired, range, { rule, priority }, oldTargetGroupArn !== props.targetGroupArn ? oldTargetGroupArn : undefined);
}

function parseOldTags(old: Record<string, unknown> | undefined): Tag[] {
  if (!old) return [];
  return parseWireTags(old.Tags, []);
}

async function syncTags(ruleArn: string, oldTags: readonly Tag[], props: Props): Promise<void> {
  const desired = new Map(props.tags.map((t) => [t.Key!, t.Value ?? '']));
  const previous = new Map(oldTags.map((t) => [t.Key!, t.Value ?? '']));
  const removed = [...previous.keys()].filter((k) => !desired.has(k));
  const changed = props.tags.filter((t) => previous.get(t.Key!) !== (t.Value ?? ''));
  if (removed.length > 0) {
    await call('RemoveTags', props, () => elbv2.send(new RemoveTagsCommand({ ResourceArns: [ruleArn], TagKeys: removed })));
  }
  if (changed.length > 0) {
    await call('AddTags', props, () => elbv2.send(new AddTagsCommand({ ResourceArns: [ruleArn], Tags: changed })));
  }
  if (removed.length > 0 || changed.length > 0) {
    log('listener rule tags updated', { ruleArn, removed, changed: changed.map((t) => t.Key) });
  }
}

// ---------------------------------------------------------------------------------------------
// Delete

async function remove(event: OnEventRequest): Promise<OnEventResponse> {
  const physicalId = event.PhysicalResourceId;
  if (!isRuleArn(physicalId)) {
    log('physical id is not a listener rule ARN; nothing of ours to delete', { physicalId });
    return { PhysicalResourceId: physicalId };
  }
  const ctx = describeFor(event);
  // Companions first (they forward to the branch without the sign-in), then the primary.
  const host = event.ResourceProperties?.HostHeader ? String(event.ResourceProperties.HostHeader).trim() : undefined;
  const targetGroupArn = event.ResourceProperties?.TargetGroupArn ? String(event.ResourceProperties.TargetGroupArn).trim() : undefined;
  const listenerArn = event.ResourceProperties?.ListenerArn ? String(event.ResourceProperties.ListenerArn).trim() : undefined;
  if (host && targetGroupArn && listenerArn && isListenerArn(listenerArn) && ruleBelongsToListener(physicalId, listenerArn)) {
    let rules: Rule[] = [];
    try {
      rules = await listRules(listenerArn);
    } catch (error) {
      if (!(error instanceof Error && /does not exist/.test(error.message))) throw error;
    }
    for (const rule of rules) {
      if (rule.RuleArn === physicalId || rulePriority(rule) === undefined) continue;
      const role = roleOf(rule, host);
      if (role === undefined || role === RuleRoles.MAIN || !forwardsTo(rule, targetGroupArn)) continue;
      await deleteRule(rule.RuleArn!, ctx);
    }
  }
  await deleteRule(physicalId, ctx);
  if (host) await deleteCognitoClient(lockForDelete(), host);
  return { PhysicalResourceId: physicalId };
}

/** The lock, when readable: a Delete still deletes the rules without it, and keeps the Cognito client. */
function lockForDelete(): AccessConfig | undefined {
  try {
    return accessConfig();
  } catch (error) {
    logError('the lock is unreadable; the rules are deleted, a Cognito app client of this host is left', { error: (error as Error).message });
    return undefined;
  }
}

async function deleteRule(ruleArn: string, ctx: Pick<Props, 'host' | 'listenerArn'>): Promise<void> {
  try {
    await call('DeleteRule', ctx, () => elbv2.send(new DeleteRuleCommand({ RuleArn: ruleArn })));
    log('listener rule deleted', { ruleArn });
  } catch (error) {
    if (isAwsError(error, 'RuleNotFoundException', 'RuleNotFound', 'ListenerNotFoundException', 'ListenerNotFound')) {
      log('listener rule already gone', { ruleArn, error: describeError(error) });
    } else {
      throw error;
    }
  }
}

/** Context for error messages on Delete, where properties may be incomplete. */
function describeFor(event: OnEventRequest): Pick<Props, 'host' | 'listenerArn'> {
  return {
    host: String(event.ResourceProperties?.HostHeader ?? '(unknown host)'),
    listenerArn: String(event.ResourceProperties?.ListenerArn ?? event.PhysicalResourceId),
  };
}

// ---------------------------------------------------------------------------------------------
// AWS calls

/** Every rule of the listener, all pages. A partial list is never used to pick a priority. */
async function listRules(listenerArn: string): Promise<Rule[]> {
  const rules: Rule[] = [];
  let pages = 0;
  await call('DescribeRules', { listenerArn, host: '' }, async () => {
    try {
      for await (const page of paginateDescribeRules({ client: elbv2 }, { ListenerArn: listenerArn, PageSize: PAGE_SIZE })) {
        rules.push(...(page.Rules ?? []));
        pages++;
      }
    } catch (error) {
      if (isAwsError(error, 'ListenerNotFoundException', 'ListenerNotFound')) {
        throw new Error(
          `Listener ${listenerArn} does not exist. It is the listener of the branch's shard (its Custom::StagingQuota's ` +
            `ListenerArn; the shards are in '${shardRegistryParameterName('<parameter prefix>')}', shard 0's also at '${SharedParameterNames.LISTENER_ARN}'): ` +
            `a shard removed by lowering maxBranches takes its listener with it. Deploy the shared staging stack, then deploy this branch staging again.`,
          { cause: error },
        );
      }
      throw error;
    }
  });
  log('listener rules read', { listenerArn, rules: rules.length, pages });
  return rules;
}

/** The rule with this ARN, or undefined when it no longer exists. */
async function describeRule(ruleArn: string, props: Props): Promise<Rule | undefined> {
  try {
    const out = await call('DescribeRules', props, () => elbv2.send(new DescribeRulesCommand({ RuleArns: [ruleArn] })));
    return out.Rules?.find((r) => r.RuleArn === ruleArn);
  } catch (error) {
    if (isAwsError(error, 'RuleNotFoundException', 'RuleNotFound', 'ListenerNotFoundException', 'ListenerNotFound')) {
      return undefined;
    }
    throw error;
  }
}

/**
 * Runs one ELB call. The SDK has already retried throttling (adaptive mode, 8 attempts); a
 * throttling error that gets here is turned into a message that says what was being done.
 */
async function call<T>(operation: string, ctx: Pick<Props, 'listenerArn' | 'host'>, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (isAwsError(error, ...THROTTLING_ERRORS)) {
      logError('ELB API throttled after SDK retries', { operation, listenerArn: ctx.listenerArn, host: ctx.host });
      throw new Error(
        `Elastic Load Balancing throttled ${operation} for listener ${ctx.listenerArn}` +
          (ctx.host ? ` (host ${ctx.host})` : '') +
          ` even after the SDK's retries: too many ELB API calls in this account and Region right now. ` +
          `Deploy again in a few minutes, or deploy fewer branch stagings at the same time.`,
        { cause: error },
      );
    }
    throw error;
  }
}
