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
 * - MinPriority (default "1"), MaxPriority (default "49999"): range to pick priorities from.
 * - Tags (optional): [{ Key, Value }] put on the rule.
 *
 * PhysicalResourceId: the rule ARN. Data: { Priority: "<n>", RuleArn }.
 *
 * Environment: WAKER_TARGET_GROUP_ARN (optional), the shared waker's Lambda target group. With it,
 * every rule is a weighted forward to the branch and the waker (1/0 awake, 0/1 asleep; see
 * rules.ts forwardActions). The sleeper and the waker only change the weights. Create forwards to
 * the branch; Update and an adopting Create keep the rule's current route, so a deploy of a
 * sleeping branch never sends requests to services still at zero: the branch's
 * Custom::StagingSleep resource moves the rule back once a web target is healthy.
 */
import {
  AddTagsCommand,
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
import { SharedParameterNames } from '../../lib/contract/staging';
import { ListenerPriorityEnvironment, parseProperties, type ListenerRuleRequest } from '../../lib/contract/providers/listener-priority';
import { parseWireTags } from '../../lib/contract/providers/wire';
import { describeError } from '../shared/errors';
import { isAwsError, log, logError, type OnEventRequest, type OnEventResponse } from '../shared/provider';
import { entry } from '../shared/entry';
import {
  forwardActions,
  hasActions,
  isRuleArn,
  matchesHost,
  pickPriority,
  ruleBelongsToListener,
  routeOf,
  rulePriority,
  usedPriorities,
} from './rules';

/** The waker's target group, when the shared staging has one. */
function wakerTargetGroupArn(): string | undefined {
  return process.env[ListenerPriorityEnvironment.WAKER_TARGET_GROUP_ARN] || undefined;
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
    Data: { Priority: String(result.priority), RuleArn: result.ruleArn },
  };
}

// ---------------------------------------------------------------------------------------------
// Properties

// ---------------------------------------------------------------------------------------------
// Create

async function createOrAdopt(props: Props): Promise<Result> {
  const knownTaken = new Set<number>();
  let lastTried: number | undefined;
  for (let attempt = 1; attempt <= CONFLICT_ATTEMPTS; attempt++) {
    const rules = await listRules(props.listenerArn);

    const existing = findHostRule(rules, props.host);
    if (existing) return adopt(existing, props);

    const used = usedPriorities(rules, knownTaken);
    const priority = pickPriority(used, props.minPriority, props.maxPriority, PICK_WINDOW * attempt, () => randomness.next());
    if (priority === undefined) throw new Error(fullListenerMessage(props, rules, 'range'));
    lastTried = priority;

    try {
      const out = await call('CreateRule', props, () =>
        elbv2.send(
          new CreateRuleCommand({
            ListenerArn: props.listenerArn,
            Priority: priority,
            Conditions: desiredConditions(props.host),
            Actions: forwardActions(props.targetGroupArn, wakerTargetGroupArn(), 'branch'),
            Tags: props.tags.length > 0 ? props.tags : undefined,
          }),
        ),
      );
      const ruleArn = out.Rules?.[0]?.RuleArn;
      if (!ruleArn) throw new Error(`CreateRule on listener ${props.listenerArn} returned no rule ARN`);
      log('listener rule created', { listenerArn: props.listenerArn, host: props.host, priority, ruleArn, attempt });
      return { ruleArn, priority };
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
        throw new Error(fullListenerMessage(props, rules, 'quota'), { cause: error });
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

/** Jittered pause between conflict retries: 100 ms plus up to 300 ms per attempt, at most 3 s. */
function conflictDelay(attempt: number): Promise<void> {
  const ms = Math.min(3000, 100 + Math.floor(randomness.next() * 300 * attempt));
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A replayed Create (or a CreateRule whose response was lost) finds the rule it made before:
 * the rule with exactly this host-header. It is adopted, not duplicated.
 */
async function adopt(rule: Rule, props: Props): Promise<Result> {
  const ruleArn = rule.RuleArn!;
  const priority = rulePriority(rule)!;
  log('adopting the existing listener rule for this host', {
    listenerArn: props.listenerArn,
    host: props.host,
    ruleArn,
    priority,
  });
  const actions = keptRouteActions(rule, props.targetGroupArn);
  if (!hasActions(rule, actions)) {
    await call('ModifyRule', props, () => elbv2.send(new ModifyRuleCommand({ RuleArn: ruleArn, Actions: actions })));
    log('adopted rule now forwards to the target group', { ruleArn, targetGroupArn: props.targetGroupArn });
  }
  if (props.tags.length > 0) {
    await call('AddTags', props, () => elbv2.send(new AddTagsCommand({ ResourceArns: [ruleArn], Tags: props.tags })));
  }
  return { ruleArn, priority };
}

function findHostRule(rules: readonly Rule[], host: string): Rule | undefined {
  const matches = rules
    .filter((r) => r.RuleArn && rulePriority(r) !== undefined && matchesHost(r, host))
    .sort((a, b) => rulePriority(a)! - rulePriority(b)!);
  if (matches.length > 1) {
    logError('several rules route the same host; adopting the one with the lowest priority', {
      host,
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
// Update

async function update(event: OnEventRequest): Promise<Result> {
  const props = parseProperties(event.ResourceProperties);
  const oldListener = event.OldResourceProperties?.ListenerArn;
  const physicalId = event.PhysicalResourceId;

  if (!isRuleArn(physicalId)) {
    log('physical id is not a listener rule ARN; creating the rule', { physicalId });
    return createOrAdopt(props);
  }
  if ((oldListener !== undefined && String(oldListener).trim() !== props.listenerArn) || !ruleBelongsToListener(physicalId, props.listenerArn)) {
    // A new rule on the new listener: a new physical id, after which CloudFormation deletes the old rule.
    log('listener changed; creating a rule on the new listener', {
      oldListenerArn: oldListener,
      listenerArn: props.listenerArn,
      oldRuleArn: physicalId,
    });
    return createOrAdopt(props);
  }

  const rule = await describeRule(physicalId, props);
  if (!rule) {
    log('listener rule has vanished; creating a new one', { ruleArn: physicalId, host: props.host });
    return createOrAdopt(props);
  }

  const modify: { Conditions?: RuleCondition[]; Actions?: Action[] } = {};
  if (!matchesHost(rule, props.host)) modify.Conditions = desiredConditions(props.host);
  const actions = keptRouteActions(rule, props.targetGroupArn);
  if (!hasActions(rule, actions)) modify.Actions = actions;
  if (modify.Conditions || modify.Actions) {
    try {
      await call('ModifyRule', props, () => elbv2.send(new ModifyRuleCommand({ RuleArn: physicalId, ...modify })));
    } catch (error) {
      if (isAwsError(error, 'RuleNotFoundException', 'RuleNotFound')) {
        log('listener rule vanished while being modified; creating a new one', { ruleArn: physicalId });
        return createOrAdopt(props);
      }
      throw error;
    }
    log('listener rule modified', {
      ruleArn: physicalId,
      host: props.host,
      targetGroupArn: props.targetGroupArn,
      changed: Object.keys(modify),
    });
  }

  await syncTags(physicalId, parseOldTags(event.OldResourceProperties), props);

  const priority = rulePriority(rule)!;
  if (priority < props.minPriority || priority > props.maxPriority) {
    log('rule priority is outside the new range; keeping it (priorities never move on update)', {
      ruleArn: physicalId,
      priority,
      minPriority: props.minPriority,
      maxPriority: props.maxPriority,
    });
  }
  return { ruleArn: physicalId, priority };
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
  try {
    await call('DeleteRule', describeFor(event), () => elbv2.send(new DeleteRuleCommand({ RuleArn: physicalId })));
    log('listener rule deleted', { ruleArn: physicalId });
  } catch (error) {
    if (isAwsError(error, 'RuleNotFoundException', 'RuleNotFound', 'ListenerNotFoundException', 'ListenerNotFound')) {
      log('listener rule already gone', { ruleArn: physicalId, error: describeError(error) });
    } else {
      throw error;
    }
  }
  return { PhysicalResourceId: physicalId };
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
          `Listener ${listenerArn} does not exist. Check the SSM parameter '${SharedParameterNames.LISTENER_ARN}' ` +
            `of the shared staging, deploy the shared staging stack, then deploy this branch staging again.`,
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

function desiredConditions(host: string): RuleCondition[] {
  return [{ Field: 'host-header', HostHeaderConfig: { Values: [host] } }];
}

/** The actions for this target group that keep the rule's current route (branch or waker). */
function keptRouteActions(rule: Rule, targetGroupArn: string): Action[] {
  const waker = wakerTargetGroupArn();
  return forwardActions(targetGroupArn, waker, routeOf(rule, waker));
}
