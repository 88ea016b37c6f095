import {
  AddTagsCommand,
  CreateRuleCommand,
  type CreateRuleCommandInput,
  DeleteRuleCommand,
  DescribeRulesCommand,
  type DescribeRulesCommandInput,
  ElasticLoadBalancingV2Client,
  ListenerNotFoundException,
  ModifyRuleCommand,
  type ModifyRuleCommandInput,
  OperationNotPermittedException,
  PriorityInUseException,
  RemoveTagsCommand,
  type Rule,
  RuleNotFoundException,
  SetRulePrioritiesCommand,
  TargetGroupNotFoundException,
  TooManyRulesException,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  CognitoIdentityProviderClient,
  CreateUserPoolClientCommand,
  DeleteUserPoolClientCommand,
  ListUserPoolClientsCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import * as fc from 'fast-check';
import { CONFLICT_ATTEMPTS, elbv2, onEvent, randomness } from '../../lambda/listener-priority';
import { reweightedActions } from '../../lambda/listener-priority/rules';
import type { OnEventRequest } from '../../lambda/shared/provider';
import { ResourceTypes } from '../../lib/contract/providers';

const elbMock = mockClient(ElasticLoadBalancingV2Client);

const ACCOUNT = '123456789012';
const LB = `app/staging-alb/50dc6c495c0c9188`;
const LISTENER = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:listener/${LB}/f2f7dc8efc522ab2`;
const OTHER_LISTENER = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:listener/${LB}/0123456789abcdef`;
const TG = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:targetgroup/feature-x-1a2b3c4d/73e2d6bc24d8a067`;
const OTHER_TG = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:targetgroup/feature-x-new/0123456789abcdef`;
const HOST = 'feature-x-1a2b3c4d.staging.example.com';

type ErrorClass = new (o: { message: string; $metadata: object }) => Error;

function err(Cls: ErrorClass, message = Cls.name): Error {
  return new Cls({ message, $metadata: {} });
}

function throttling(): Error {
  return Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } });
}

// ---------------------------------------------------------------------------------------------
// An in-memory ALB behind the mock: unique priorities per listener, a rule quota per load
// balancer, pagination with Marker/PageSize, and rules shaped like DescribeRules returns them.

class FakeAlb {
  readonly listeners = new Map<string, Rule[]>();
  quota = 100;
  private nextId = 1;
  /** When set, the first `n` listing reads wait for each other: all see the same snapshot. */
  private gate?: { n: number; waiting: Array<() => void> };
  /** Called before each CreateRule takes effect (to simulate a rival deployment). */
  beforeCreate?: (input: CreateRuleCommandInput) => void;

  constructor(...listenerArns: string[]) {
    for (const arn of listenerArns) {
      this.listeners.set(arn, [
        { RuleArn: this.ruleArn(arn), Priority: 'default', IsDefault: true, Conditions: [], Actions: [{ Type: 'fixed-response' }] },
      ]);
    }
  }

  ruleArn(listenerArn: string): string {
    return `${listenerArn.replace(':listener/', ':listener-rule/')}/${(this.nextId++).toString(16).padStart(16, '0')}`;
  }

  add(listenerArn: string, priority: number, host: string, tg = OTHER_TG, extra: Partial<Rule> = {}): Rule {
    const rule: Rule = {
      RuleArn: this.ruleArn(listenerArn),
      Priority: String(priority),
      IsDefault: false,
      Conditions: [{ Field: 'host-header', Values: [host], HostHeaderConfig: { Values: [host] } }],
      Actions: [
        {
          Type: 'forward',
          TargetGroupArn: tg,
          ForwardConfig: { TargetGroups: [{ TargetGroupArn: tg, Weight: 1 }], TargetGroupStickinessConfig: { Enabled: false } },
        },
      ],
      ...extra,
    };
    this.listeners.get(listenerArn)!.push(rule);
    return rule;
  }

  rules(listenerArn = LISTENER): Rule[] {
    return this.listeners.get(listenerArn)!;
  }

  find(ruleArn: string): { listener: string; rule: Rule } | undefined {
    for (const [listener, rules] of this.listeners) {
      const rule = rules.find((r) => r.RuleArn === ruleArn);
      if (rule) return { listener, rule };
    }
    return undefined;
  }

  gateFirstReads(n: number): void {
    this.gate = { n, waiting: [] };
  }

  async describe(input: DescribeRulesCommandInput) {
    if (input.RuleArns) {
      const found = input.RuleArns.map((arn) => this.find(arn));
      if (found.some((f) => !f)) throw err(RuleNotFoundException);
      return { Rules: found.map((f) => structuredClone(f!.rule)) };
    }
    const rules = this.listeners.get(input.ListenerArn!);
    if (!rules) throw err(ListenerNotFoundException);
    if (input.Marker === undefined && this.gate && this.gate.n > 0) {
      const gate = this.gate;
      gate.n--;
      await new Promise<void>((resolve) => {
        gate.waiting.push(resolve);
        if (gate.n === 0) gate.waiting.forEach((r) => r());
      });
    }
    const size = input.PageSize ?? 400;
    if (size > 400) throw new Error('PageSize must be at most 400');
    const start = input.Marker ? Number(input.Marker) : 0;
    const page = rules.slice(start, start + size).map((r) => structuredClone(r));
    const next = start + size < rules.length ? String(start + size) : undefined;
    return { Rules: page, NextMarker: next };
  }

  create(input: CreateRuleCommandInput) {
    this.beforeCreate?.(input);
    const rules = this.listeners.get(input.ListenerArn!);
    if (!rules) throw err(ListenerNotFoundException);
    if (rules.some((r) => r.Priority === String(input.Priority))) throw err(PriorityInUseException, 'Priority is in use');
    const total = [...this.listeners.values()].reduce((n, rs) => n + rs.filter((r) => !r.IsDefault).length, 0);
    if (total >= this.quota) throw err(TooManyRulesException);
    const host = input.Conditions![0].HostHeaderConfig!.Values![0];
    const rule = this.add(input.ListenerArn!, input.Priority!, host, input.Actions![0].TargetGroupArn);
    return { Rules: [structuredClone(rule)] };
  }

  modify(input: ModifyRuleCommandInput) {
    const found = this.find(input.RuleArn!);
    if (!found) throw err(RuleNotFoundException);
    if (input.Conditions) found.rule.Conditions = input.Conditions;
    if (input.Actions) found.rule.Actions = input.Actions;
    return { Rules: [structuredClone(found.rule)] };
  }

  remove(ruleArn: string) {
    const found = this.find(ruleArn);
    if (!found) throw err(RuleNotFoundException);
    const rules = this.listeners.get(found.listener)!;
    rules.splice(rules.indexOf(found.rule), 1);
    return {};
  }

  install(): this {
    elbMock.on(DescribeRulesCommand).callsFake((input) => this.describe(input));
    elbMock.on(CreateRuleCommand).callsFake(async (input) => this.create(input));
    elbMock.on(ModifyRuleCommand).callsFake(async (input) => this.modify(input));
    elbMock.on(DeleteRuleCommand).callsFake(async (input) => this.remove(input.RuleArn!));
    elbMock.on(AddTagsCommand).resolves({});
    elbMock.on(RemoveTagsCommand).resolves({});
    return this;
  }
}

// ---------------------------------------------------------------------------------------------
// Events and helpers

const baseProps = { ListenerArn: LISTENER, HostHeader: HOST, TargetGroupArn: TG };

function event(
  requestType: OnEventRequest['RequestType'],
  props: Record<string, unknown> = baseProps,
  extra: Partial<OnEventRequest> = {},
): OnEventRequest {
  return {
    RequestType: requestType,
    StackId: `arn:aws:cloudformation:eu-west-1:${ACCOUNT}:stack/staging-feature-x/abc`,
    RequestId: 'req-1',
    LogicalResourceId: 'ListenerRule',
    ResourceType: ResourceTypes.LISTENER_RULE,
    ResourceProperties: { ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider', ...props },
    ...extra,
  };
}

/** Runs a handler call to completion under fake timers (the conflict retries sleep). */
async function settle<T>(promise: Promise<T>): Promise<T> {
  let done = false;
  const outcome = promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  void outcome.then(() => (done = true));
  while (!done) await jest.advanceTimersByTimeAsync(250);
  const result = await outcome;
  if (!result.ok) throw result.error;
  return result.value;
}

const run = (e: OnEventRequest) => settle(onEvent(e));

function createdPriorities(): number[] {
  return elbMock.commandCalls(CreateRuleCommand).map((c) => c.args[0].input.Priority!);
}

let random: jest.SpyInstance<number, []>;

/** The lock of StagingAccess.publicAccess(): the plain host rule of before. */
const PUBLIC_LOCK = JSON.stringify({ signIn: 'none', networks: [], publicPaths: [], public: true });

beforeEach(() => {
  process.env.STAGING_ACCESS = PUBLIC_LOCK;
  elbMock.reset();
  // Delete reads the listener for companion rules; tests that care install a FakeAlb.
  elbMock.on(DescribeRulesCommand).resolves({ Rules: [] });
  jest.useFakeTimers({ now: new Date('2025-03-01T12:00:00Z') });
  // The handler's own random source, not Math.random: Jest's source maps sort with Math.random.
  random = jest.spyOn(randomness, 'next').mockReturnValue(0);
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  jest.spyOn(console, 'error').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

// ---------------------------------------------------------------------------------------------

describe('client', () => {
  test('uses the SDK adaptive retries for throttling', async () => {
    expect(await elbv2.config.maxAttempts()).toBe(8);
    expect(((await elbv2.config.retryStrategy()) as { mode?: string }).mode).toBe('adaptive');
  });
});

describe('Create', () => {
  test('creates a host-header rule forwarding to the target group, with tags, at the lowest free priority', async () => {
    const alb = new FakeAlb(LISTENER).install();
    alb.add(LISTENER, 50000, 'shared.staging.example.com');
    const tags = [
      { Key: 'staging:name', Value: 'feature-x-1a2b3c4d' },
      { Key: 'staging:kind', Value: 'feature' },
    ];

    const out = await run(event('Create', { ...baseProps, Tags: tags }));

    const created = alb.rules().find((r) => r.Priority === '1')!;
    expect(out).toEqual({ PhysicalResourceId: created.RuleArn, Data: { Priority: '1', RuleArn: created.RuleArn, FlipRuleArns: created.RuleArn, RuleCount: '1' } });
    expect(elbMock.commandCalls(CreateRuleCommand)[0].args[0].input).toEqual({
      ListenerArn: LISTENER,
      Priority: 1,
      Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [HOST] } }],
      Actions: [{ Type: 'forward', TargetGroupArn: TG }],
      Tags: tags,
    });
  });

  test('fills the gap between used priorities', async () => {
    const alb = new FakeAlb(LISTENER).install();
    for (const p of [1, 2, 4, 5, 50000]) alb.add(LISTENER, p, `s${p}.staging.example.com`);

    const out = await run(event('Create'));

    expect(out.Data).toMatchObject({ Priority: '3' });
    expect(elbMock.commandCalls(CreateRuleCommand)[0].args[0].input.Tags).toBeUndefined();
  });

  test('spreads callers over the first few free priorities, never beyond them', async () => {
    const alb = new FakeAlb(LISTENER).install();
    for (const p of [1, 2, 4]) alb.add(LISTENER, p, `s${p}.staging.example.com`);
    random.mockReturnValue(0.999);

    const out = await run(event('Create'));

    // Free: 3, 5, 6, 7, 8, ... The window is the first five free ones.
    expect(out.Data).toMatchObject({ Priority: '8' });
  });

  test('keeps to MinPriority and MaxPriority', async () => {
    const alb = new FakeAlb(LISTENER).install();
    for (const p of [1, 2, 10, 11]) alb.add(LISTENER, p, `s${p}.staging.example.com`);
    random.mockReturnValue(0.999);

    const out = await run(event('Create', { ...baseProps, MinPriority: '10', MaxPriority: '12' }));

    expect(out.Data).toMatchObject({ Priority: '12' });
  });

  test('reads every page of DescribeRules before picking a priority', async () => {
    const rule = (p: number): Rule => ({
      RuleArn: `${LISTENER.replace(':listener/', ':listener-rule/')}/r${p}`,
      Priority: String(p),
      Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [`s${p}.staging.example.com`] } }],
      Actions: [{ Type: 'forward', TargetGroupArn: OTHER_TG }],
    });
    const pages: Record<string, { Rules: Rule[]; NextMarker?: string }> = {
      first: { Rules: [{ RuleArn: 'd', Priority: 'default', IsDefault: true }, rule(1), rule(2), rule(3)], NextMarker: 'p2' },
      p2: { Rules: [rule(4), rule(5), rule(6)], NextMarker: 'p3' },
      p3: { Rules: [rule(7), rule(9)] },
    };
    // Each read as it was sent (the SDK's paginator reuses its input object between pages).
    const reads: DescribeRulesCommandInput[] = [];
    elbMock.on(DescribeRulesCommand).callsFake(async (input: DescribeRulesCommandInput) => {
      reads.push({ ...input });
      return pages[input.Marker ?? 'first'];
    });
    elbMock.on(CreateRuleCommand).resolves({ Rules: [{ RuleArn: `${LISTENER.replace(':listener/', ':listener-rule/')}/new` }] });

    const out = await run(event('Create'));

    expect(out.Data).toMatchObject({ Priority: '8' });
    expect(reads).toEqual([
      { ListenerArn: LISTENER, Marker: undefined, PageSize: 400 },
      { ListenerArn: LISTENER, Marker: 'p2', PageSize: 400 },
      { ListenerArn: LISTENER, Marker: 'p3', PageSize: 400 },
    ]);
  });

  test('pagination against a listener with more rules than one page holds', async () => {
    const alb = new FakeAlb(LISTENER).install();
    alb.quota = 1000;
    for (let p = 1; p <= 450; p++) if (p !== 433) alb.add(LISTENER, p, `s${p}.staging.example.com`);

    const out = await run(event('Create'));

    expect(out.Data).toMatchObject({ Priority: '433' });
    expect(elbMock.commandCalls(DescribeRulesCommand)).toHaveLength(2);
  });

  test('finds its own rule on a later page and adopts it', async () => {
    const alb = new FakeAlb(LISTENER).install();
    alb.quota = 1000;
    for (let p = 1; p <= 420; p++) alb.add(LISTENER, p, `s${p}.staging.example.com`);
    const mine = alb.add(LISTENER, 421, HOST, TG);

    const out = await run(event('Create'));

    expect(out).toEqual({ PhysicalResourceId: mine.RuleArn, Data: { Priority: '421', RuleArn: mine.RuleArn, FlipRuleArns: mine.RuleArn, RuleCount: '1' } });
    expect(elbMock.commandCalls(CreateRuleCommand)).toHaveLength(0);
  });

  test('on PriorityInUse reads the listener again and takes another priority', async () => {
    const alb = new FakeAlb(LISTENER).install();
    let rivals = 0;
    alb.beforeCreate = (input) => {
      // A concurrent deployment takes the chosen priority between our read and our CreateRule.
      if (rivals++ === 0) alb.add(LISTENER, input.Priority!, 'rival.staging.example.com');
    };

    const out = await run(event('Create'));

    expect(createdPriorities()).toEqual([1, 2]);
    expect(out.Data).toMatchObject({ Priority: '2' });
    expect(elbMock.commandCalls(DescribeRulesCommand)).toHaveLength(2);
    expect(alb.rules().filter((r) => r.Priority === '1' || r.Priority === '2')).toHaveLength(2);
  });

  test('waits a short jittered delay before reading the listener again after a conflict', async () => {
    new FakeAlb(LISTENER).install();
    elbMock.on(CreateRuleCommand).rejectsOnce(err(PriorityInUseException)).resolves({ Rules: [{ RuleArn: 'x' }] });
    random.mockReturnValue(0.5); // delay = 100 + floor(0.5 * 300 * 1) = 250 ms

    const pending = onEvent(event('Create'));
    await jest.advanceTimersByTimeAsync(249);
    expect(elbMock.commandCalls(DescribeRulesCommand)).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    await expect(pending).resolves.toMatchObject({ PhysicalResourceId: 'x' });
    expect(elbMock.commandCalls(DescribeRulesCommand)).toHaveLength(2);
  });

  test('does not pick a conflicting priority again even when DescribeRules does not show it yet', async () => {
    const alb = new FakeAlb(LISTENER).install();
    let conflicts = 0;
    elbMock.on(CreateRuleCommand).callsFake(async (input: CreateRuleCommandInput) => {
      if (input.Priority === 1) {
        conflicts++;
        throw err(PriorityInUseException);
      }
      return alb.create(input);
    });

    const out = await run(event('Create'));

    expect(conflicts).toBe(1);
    expect(out.Data).toMatchObject({ Priority: '2' });
  });

  test('two concurrent creates that read the same snapshot end with distinct priorities', async () => {
    const alb = new FakeAlb(LISTENER).install();
    alb.add(LISTENER, 1, 's1.staging.example.com');
    alb.gateFirstReads(2);
    const hostB = 'feature-y-9f8e7d6c.staging.example.com';

    const [a, b] = await settle(
      Promise.all([onEvent(event('Create')), onEvent(event('Create', { ...baseProps, HostHeader: hostB, TargetGroupArn: OTHER_TG }))]),
    );

    expect(new Set([a.Data!.Priority, b.Data!.Priority])).toEqual(new Set(['2', '3']));
    // Both picked 2 from the same snapshot; exactly one lost and retried.
    expect(createdPriorities().sort()).toEqual([2, 2, 3]);
    expect(alb.find(a.PhysicalResourceId!)!.rule.Conditions![0].HostHeaderConfig!.Values).toEqual([HOST]);
    expect(alb.find(b.PhysicalResourceId!)!.rule.Conditions![0].HostHeaderConfig!.Values).toEqual([hostB]);
  });

  test('many concurrent creates always end with distinct priorities inside the range (property)', async () => {
    random.mockRestore();
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 1, max: 30 }), { maxLength: 20 }),
        fc.integer({ min: 2, max: 8 }),
        fc.boolean(),
        async (existing, callers, gated) => {
          elbMock.reset();
          const alb = new FakeAlb(LISTENER).install();
          for (const p of existing) alb.add(LISTENER, p, `old${p}.staging.example.com`);
          if (gated) alb.gateFirstReads(callers);
          const max = 30 + callers;
          const hosts = Array.from({ length: callers }, (_, i) => `b${i}.staging.example.com`);

          const results = await settle(
            Promise.all(hosts.map((h) => onEvent(event('Create', { ...baseProps, HostHeader: h, MaxPriority: String(max) })))),
          );

          const priorities = results.map((r) => Number(r.Data!.Priority));
          expect(new Set(priorities).size).toBe(callers);
          for (const p of priorities) {
            expect(p).toBeGreaterThanOrEqual(1);
            expect(p).toBeLessThanOrEqual(max);
            expect(existing).not.toContain(p);
          }
          const all = alb.rules().filter((r) => !r.IsDefault).map((r) => r.Priority);
          expect(new Set(all).size).toBe(all.length);
        },
      ),
      { numRuns: 40 },
    );
  });

  test('gives up after a bounded number of conflicts with a clear message', async () => {
    new FakeAlb(LISTENER).install();
    elbMock.on(CreateRuleCommand).rejects(err(PriorityInUseException));

    await expect(run(event('Create'))).rejects.toThrow(
      new RegExp(`Could not claim a free rule priority on listener .* after ${CONFLICT_ATTEMPTS} attempts.*Retry the deployment`),
    );
    const tried = createdPriorities();
    expect(tried).toHaveLength(CONFLICT_ATTEMPTS);
    expect(new Set(tried).size).toBe(CONFLICT_ATTEMPTS);
  });

  test('fails with a clear message when no priority in the range is free', async () => {
    const alb = new FakeAlb(LISTENER).install();
    for (const p of [1, 2, 3, 50000]) alb.add(LISTENER, p, `s${p}.staging.example.com`);

    await expect(run(event('Create', { ...baseProps, MaxPriority: '3' }))).rejects.toThrow(
      /has no free rule priority between 1 and 3.*This listener has 4 rules besides its default rule, 3 of them branch stagings.*cdk destroy -c branch=<name>.*Rules per Application Load Balancer/,
    );
    expect(elbMock.commandCalls(CreateRuleCommand)).toHaveLength(0);
  });

  test('fails with a clear message when the load balancer rule quota is reached', async () => {
    const alb = new FakeAlb(LISTENER).install();
    for (let p = 1; p <= 99; p++) alb.add(LISTENER, p, `s${p}.staging.example.com`);
    alb.add(LISTENER, 50000, 'shared.staging.example.com');

    const failure = run(event('Create'));

    await expect(failure).rejects.toThrow(
      /reached its quota of listener rules.*This listener has 100 rules besides its default rule, 99 of them branch stagings.*cdk destroy -c branch=<name>.*Rules per Application Load Balancer/,
    );
    expect(elbMock.commandCalls(CreateRuleCommand)).toHaveLength(1);
  });

  test('replay adopts the rule that already routes this host instead of creating a second one', async () => {
    const alb = new FakeAlb(LISTENER).install();
    alb.add(LISTENER, 1, 's1.staging.example.com');
    const mine = alb.add(LISTENER, 7, HOST.toUpperCase(), TG);

    const out = await run(event('Create'));

    expect(out).toEqual({ PhysicalResourceId: mine.RuleArn, Data: { Priority: '7', RuleArn: mine.RuleArn, FlipRuleArns: mine.RuleArn, RuleCount: '1' } });
    expect(elbMock.commandCalls(CreateRuleCommand)).toHaveLength(0);
    expect(elbMock.commandCalls(ModifyRuleCommand)).toHaveLength(0);
    expect(elbMock.commandCalls(AddTagsCommand)).toHaveLength(0);
  });

  test('replay points an adopted rule at the target group and tags it', async () => {
    const alb = new FakeAlb(LISTENER).install();
    const mine = alb.add(LISTENER, 7, HOST, OTHER_TG);
    const tags = [{ Key: 'staging:name', Value: 'feature-x-1a2b3c4d' }];

    const out = await run(event('Create', { ...baseProps, Tags: tags }));

    expect(out.PhysicalResourceId).toBe(mine.RuleArn);
    expect(elbMock.commandCalls(ModifyRuleCommand)[0].args[0].input).toEqual({
      RuleArn: mine.RuleArn,
      Actions: [{ Type: 'forward', TargetGroupArn: TG }],
    });
    expect(elbMock.commandCalls(AddTagsCommand)[0].args[0].input).toEqual({ ResourceArns: [mine.RuleArn], Tags: tags });
    expect(alb.find(mine.RuleArn!)!.rule.Actions![0].TargetGroupArn).toBe(TG);
  });

  test('a rule with the same host plus other conditions is not ours and is left alone', async () => {
    const alb = new FakeAlb(LISTENER).install();
    const other = alb.add(LISTENER, 1, HOST, OTHER_TG, {
      Conditions: [
        { Field: 'host-header', HostHeaderConfig: { Values: [HOST] } },
        { Field: 'path-pattern', PathPatternConfig: { Values: ['/admin/*'] } },
      ],
    });

    const out = await run(event('Create'));

    expect(out.PhysicalResourceId).not.toBe(other.RuleArn);
    expect(out.Data).toMatchObject({ Priority: '2' });
    expect(elbMock.commandCalls(ModifyRuleCommand)).toHaveLength(0);
  });

  test('a CreateRule that succeeded but reported PriorityInUse (lost response, SDK retry) is adopted', async () => {
    const alb = new FakeAlb(LISTENER).install();
    let first = true;
    elbMock.on(CreateRuleCommand).callsFake(async (input: CreateRuleCommandInput) => {
      alb.create(input);
      if (first) {
        first = false;
        throw err(PriorityInUseException); // the retried request found the rule its first try created
      }
      throw new Error('should not create twice');
    });

    const out = await run(event('Create'));

    const ours = alb.rules().filter((r) => r.Conditions?.[0]?.HostHeaderConfig?.Values?.[0] === HOST);
    expect(ours).toHaveLength(1);
    expect(out).toEqual({ PhysicalResourceId: ours[0].RuleArn, Data: { Priority: '1', RuleArn: ours[0].RuleArn, FlipRuleArns: ours[0].RuleArn, RuleCount: '1' } });
  });

  test('fails with a clear message when the listener does not exist', async () => {
    new FakeAlb().install();

    await expect(run(event('Create'))).rejects.toThrow(/Listener .* does not exist.*shared\/listener-arn/);
  });

  test('fails with a clear message when the target group does not exist', async () => {
    new FakeAlb(LISTENER).install();
    elbMock.on(CreateRuleCommand).rejects(err(TargetGroupNotFoundException));

    await expect(run(event('Create'))).rejects.toThrow(/Target group .*feature-x-1a2b3c4d.* does not exist/);
  });

  test('puts the host and listener in front of an unexpected AWS error', async () => {
    new FakeAlb(LISTENER).install();
    const denied = Object.assign(new Error('User is not authorized to perform: elasticloadbalancing:CreateRule'), {
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
    });
    elbMock.on(CreateRuleCommand).rejects(denied);

    await expect(run(event('Create'))).rejects.toThrow(
      /^Create of the listener rule for host 'feature-x-1a2b3c4d\.staging\.example\.com' on listener arn:.*listener\/app\/.* failed: AccessDenied: User is not authorized to perform: elasticloadbalancing:CreateRule$/,
    );
  });

  test.each([
    [{ HostHeader: undefined }, /Missing required property 'HostHeader'/],
    [{ ListenerArn: '' }, /Missing required property 'ListenerArn'/],
    [{ TargetGroupArn: undefined }, /Missing required property 'TargetGroupArn'/],
    [{ ListenerArn: 'listener-1' }, /ListenerArn 'listener-1' is not the ARN of an Application Load Balancer listener/],
    [{ HostHeader: 'bad host/x' }, /HostHeader 'bad host\/x' is not a valid host-header/],
    [{ MinPriority: 'abc' }, /MinPriority must be a whole number from 1 to 50000, got 'abc'/],
    [{ MaxPriority: '50001' }, /MaxPriority must be a whole number/],
    [{ MinPriority: '20', MaxPriority: '10' }, /MinPriority \(20\) must not be greater than MaxPriority \(10\)/],
    [{ Tags: 'a=b' }, /Tags must be a list/],
    [{ Tags: [{ Value: 'x' }] }, /each tag needs a non-empty string Key/],
  ])('fails before any AWS call on invalid properties %#', async (override, message) => {
    new FakeAlb(LISTENER).install();

    await expect(run(event('Create', { ...baseProps, ...override }))).rejects.toThrow(message);
    expect(elbMock.calls()).toHaveLength(0);
  });
});

describe('Update', () => {
  function setup(priority = 5, host = HOST, tg = TG) {
    const alb = new FakeAlb(LISTENER, OTHER_LISTENER).install();
    const rule = alb.add(LISTENER, priority, host, tg);
    return { alb, rule };
  }

  test('keeps the rule and its priority, and points it at the new target group', async () => {
    const { alb, rule } = setup();

    const out = await run(
      event('Update', { ...baseProps, TargetGroupArn: OTHER_TG }, { PhysicalResourceId: rule.RuleArn, OldResourceProperties: baseProps }),
    );

    expect(out).toEqual({ PhysicalResourceId: rule.RuleArn, Data: { Priority: '5', RuleArn: rule.RuleArn, FlipRuleArns: rule.RuleArn, RuleCount: '1' } });
    expect(elbMock.commandCalls(ModifyRuleCommand).map((c) => c.args[0].input)).toEqual([
      { RuleArn: rule.RuleArn, Actions: [{ Type: 'forward', TargetGroupArn: OTHER_TG }] },
    ]);
    expect(elbMock.commandCalls(CreateRuleCommand)).toHaveLength(0);
    expect(alb.find(rule.RuleArn!)!.rule.Priority).toBe('5');
  });

  test('changes the host-header condition in place when HostHeader changes', async () => {
    const { rule } = setup();
    const newHost = 'feature-x-renamed.staging.example.com';

    const out = await run(
      event('Update', { ...baseProps, HostHeader: newHost }, { PhysicalResourceId: rule.RuleArn, OldResourceProperties: baseProps }),
    );

    expect(out.PhysicalResourceId).toBe(rule.RuleArn);
    expect(elbMock.commandCalls(ModifyRuleCommand).map((c) => c.args[0].input)).toEqual([
      { RuleArn: rule.RuleArn, Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [newHost] } }] },
    ]);
  });

  test('changes nothing when the rule already matches, even if the priority range moved', async () => {
    const { rule } = setup(5);

    const out = await run(
      event(
        'Update',
        { ...baseProps, MinPriority: '100', MaxPriority: '200' },
        { PhysicalResourceId: rule.RuleArn, OldResourceProperties: baseProps },
      ),
    );

    expect(out.Data).toEqual({ Priority: '5', RuleArn: rule.RuleArn, FlipRuleArns: rule.RuleArn, RuleCount: '1' });
    expect(elbMock.commandCalls(ModifyRuleCommand)).toHaveLength(0);
    expect(elbMock.commandCalls(CreateRuleCommand)).toHaveLength(0);
  });

  test('keeps tags in sync: removes dropped keys, adds new and changed ones', async () => {
    const { rule } = setup();
    const oldTags = [
      { Key: 'a', Value: '1' },
      { Key: 'b', Value: '2' },
    ];
    const newTags = [
      { Key: 'b', Value: '3' },
      { Key: 'c', Value: '4' },
    ];

    await run(
      event(
        'Update',
        { ...baseProps, Tags: newTags },
        { PhysicalResourceId: rule.RuleArn, OldResourceProperties: { ...baseProps, Tags: oldTags } },
      ),
    );

    expect(elbMock.commandCalls(RemoveTagsCommand)[0].args[0].input).toEqual({ ResourceArns: [rule.RuleArn], TagKeys: ['a'] });
    expect(elbMock.commandCalls(AddTagsCommand)[0].args[0].input).toEqual({ ResourceArns: [rule.RuleArn], Tags: newTags });
  });

  test('creates a new rule when the old one has vanished', async () => {
    const { alb, rule } = setup(5);
    alb.remove(rule.RuleArn!);
    alb.add(LISTENER, 1, 's1.staging.example.com');

    const out = await run(event('Update', baseProps, { PhysicalResourceId: rule.RuleArn, OldResourceProperties: baseProps }));

    expect(out.PhysicalResourceId).not.toBe(rule.RuleArn);
    expect(out.Data).toMatchObject({ Priority: '2' });
    expect(alb.find(out.PhysicalResourceId!)!.listener).toBe(LISTENER);
  });

  test('creates a new rule when the rule vanishes between DescribeRules and ModifyRule', async () => {
    const { alb, rule } = setup(5);
    elbMock.on(ModifyRuleCommand).callsFake(async (input: ModifyRuleCommandInput) => {
      alb.remove(input.RuleArn!);
      throw err(RuleNotFoundException);
    });

    const out = await run(
      event('Update', { ...baseProps, TargetGroupArn: OTHER_TG }, { PhysicalResourceId: rule.RuleArn, OldResourceProperties: baseProps }),
    );

    expect(out.PhysicalResourceId).not.toBe(rule.RuleArn);
    expect(alb.find(out.PhysicalResourceId!)!.rule.Actions![0].TargetGroupArn).toBe(OTHER_TG);
  });

  test('creates a rule on the new listener when ListenerArn changes, and leaves the old one for the Delete', async () => {
    const { alb, rule } = setup(5);

    const out = await run(
      event('Update', { ...baseProps, ListenerArn: OTHER_LISTENER }, { PhysicalResourceId: rule.RuleArn, OldResourceProperties: baseProps }),
    );

    expect(out.PhysicalResourceId).not.toBe(rule.RuleArn);
    expect(alb.find(out.PhysicalResourceId!)!.listener).toBe(OTHER_LISTENER);
    expect(elbMock.commandCalls(CreateRuleCommand)[0].args[0].input.ListenerArn).toBe(OTHER_LISTENER);
    expect(elbMock.commandCalls(DeleteRuleCommand)).toHaveLength(0);
    expect(elbMock.commandCalls(ModifyRuleCommand)).toHaveLength(0);
    expect(alb.find(rule.RuleArn!)).toBeDefined();
  });

  test('creates a rule when the physical id is not a rule ARN', async () => {
    new FakeAlb(LISTENER).install();

    const out = await run(event('Update', baseProps, { PhysicalResourceId: 'req-1', OldResourceProperties: baseProps }));

    expect(out.PhysicalResourceId).toMatch(/:listener-rule\/app\//);
    expect(elbMock.commandCalls(CreateRuleCommand)).toHaveLength(1);
  });
});

describe('Delete', () => {
  test('deletes the rule', async () => {
    const alb = new FakeAlb(LISTENER).install();
    const rule = alb.add(LISTENER, 5, HOST, TG);

    const out = await run(event('Delete', baseProps, { PhysicalResourceId: rule.RuleArn }));

    expect(out).toEqual({ PhysicalResourceId: rule.RuleArn });
    expect(elbMock.commandCalls(DeleteRuleCommand).map((c) => c.args[0].input)).toEqual([{ RuleArn: rule.RuleArn }]);
    expect(alb.find(rule.RuleArn!)).toBeUndefined();
  });

  test.each([
    ['rule', RuleNotFoundException],
    ['listener', ListenerNotFoundException],
  ] as const)('succeeds when the %s is already gone', async (_what, Cls) => {
    elbMock.on(DeleteRuleCommand).rejects(err(Cls));
    const arn = `${LISTENER.replace(':listener/', ':listener-rule/')}/9683b2d02a6cabee`;

    await expect(run(event('Delete', baseProps, { PhysicalResourceId: arn }))).resolves.toEqual({ PhysicalResourceId: arn });
  });

  test.each(['AWSCDK::CustomResourceProviderFramework::CREATE_FAILED', 'req-1', LISTENER, TG])(
    'never deletes anything when the physical id is not a listener rule ARN (%s)',
    async (physicalId) => {
      await expect(run(event('Delete', baseProps, { PhysicalResourceId: physicalId }))).resolves.toEqual({
        PhysicalResourceId: physicalId,
      });
      expect(elbMock.calls()).toHaveLength(0);
    },
  );

  test('fails on other errors', async () => {
    elbMock.on(DeleteRuleCommand).rejects(err(OperationNotPermittedException, 'default rule'));
    const arn = `${LISTENER.replace(':listener/', ':listener-rule/')}/9683b2d02a6cabee`;

    await expect(run(event('Delete', baseProps, { PhysicalResourceId: arn }))).rejects.toThrow(/default rule/);
  });
});

describe('throttling that survives the SDK retries', () => {
  test('on CreateRule fails with a clear message and is not mistaken for a priority conflict', async () => {
    new FakeAlb(LISTENER).install();
    elbMock.on(CreateRuleCommand).rejects(throttling());

    await expect(run(event('Create'))).rejects.toThrow(
      /Elastic Load Balancing throttled CreateRule for listener .* \(host feature-x-1a2b3c4d\.staging\.example\.com\) even after the SDK's retries.*Deploy again/,
    );
    expect(elbMock.commandCalls(CreateRuleCommand)).toHaveLength(1);
  });

  test('on the first DescribeRules page fails without creating anything', async () => {
    elbMock.on(DescribeRulesCommand).rejects(throttling());

    await expect(run(event('Create'))).rejects.toThrow(/throttled DescribeRules/);
    expect(elbMock.commandCalls(CreateRuleCommand)).toHaveLength(0);
  });

  test('on a later DescribeRules page fails rather than picking a priority from a partial list', async () => {
    elbMock
      .on(DescribeRulesCommand)
      .resolvesOnce({ Rules: [{ RuleArn: 'd', Priority: 'default', IsDefault: true }], NextMarker: 'p2' })
      .rejects(throttling());

    await expect(run(event('Create'))).rejects.toThrow(/throttled DescribeRules/);
    expect(elbMock.commandCalls(DescribeRulesCommand)).toHaveLength(2);
    expect(elbMock.commandCalls(CreateRuleCommand)).toHaveLength(0);
  });

  test('on DeleteRule fails instead of reporting success', async () => {
    elbMock.on(DeleteRuleCommand).rejects(throttling());
    const arn = `${LISTENER.replace(':listener/', ':listener-rule/')}/9683b2d02a6cabee`;

    await expect(run(event('Delete', baseProps, { PhysicalResourceId: arn }))).rejects.toThrow(/throttled DeleteRule/);
  });

  test('on ModifyRule during Update fails with a clear message', async () => {
    const alb = new FakeAlb(LISTENER).install();
    const rule = alb.add(LISTENER, 5, HOST, TG);
    elbMock.on(ModifyRuleCommand).rejects(throttling());

    await expect(
      run(event('Update', { ...baseProps, TargetGroupArn: OTHER_TG }, { PhysicalResourceId: rule.RuleArn, OldResourceProperties: baseProps })),
    ).rejects.toThrow(/throttled ModifyRule/);
  });
});

describe('with the shared waker (sleep)', () => {
  const WAKER = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:targetgroup/staging-waker/fedcba9876543210`;
  const weighted = (tg: string, to: 'branch' | 'waker') => [
    {
      Type: 'forward',
      ForwardConfig: {
        TargetGroups: [
          { TargetGroupArn: tg, Weight: to === 'branch' ? 1 : 0 },
          { TargetGroupArn: WAKER, Weight: to === 'waker' ? 1 : 0 },
        ],
      },
    },
  ];
  beforeEach(() => (process.env.WAKER_TARGET_GROUP_ARN = WAKER));
  afterEach(() => delete process.env.WAKER_TARGET_GROUP_ARN);

  function sleepingRule(alb: FakeAlb, tg = TG): Rule {
    return alb.add(LISTENER, 5, HOST, tg, { Actions: weighted(tg, 'waker') as Rule['Actions'] });
  }

  test('Create forwards to the branch with weight 1 and to the waker with weight 0', async () => {
    new FakeAlb(LISTENER).install();
    await run(event('Create'));
    expect(elbMock.commandCalls(CreateRuleCommand)[0].args[0].input.Actions).toEqual(weighted(TG, 'branch'));
  });

  test('Update of a sleeping branch keeps the rule on the waker (the wake moves it once a target is healthy)', async () => {
    const alb = new FakeAlb(LISTENER).install();
    const rule = sleepingRule(alb);
    await run(event('Update', baseProps, { PhysicalResourceId: rule.RuleArn, OldResourceProperties: baseProps }));
    expect(elbMock.commandCalls(ModifyRuleCommand)).toHaveLength(0);
    expect(alb.find(rule.RuleArn!)!.rule.Actions).toEqual(weighted(TG, 'waker'));
  });

  test('Update with a new target group while asleep swaps the group and keeps the route on the waker', async () => {
    const alb = new FakeAlb(LISTENER).install();
    const rule = sleepingRule(alb);
    await run(event('Update', { ...baseProps, TargetGroupArn: OTHER_TG }, { PhysicalResourceId: rule.RuleArn, OldResourceProperties: baseProps }));
    expect(alb.find(rule.RuleArn!)!.rule.Actions).toEqual(weighted(OTHER_TG, 'waker'));
  });

  test('Update of an awake branch with a plain forward (deployed before the waker existed) becomes the weighted forward to the branch', async () => {
    const alb = new FakeAlb(LISTENER).install();
    const rule = alb.add(LISTENER, 5, HOST, TG);
    await run(event('Update', baseProps, { PhysicalResourceId: rule.RuleArn, OldResourceProperties: baseProps }));
    expect(alb.find(rule.RuleArn!)!.rule.Actions).toEqual(weighted(TG, 'branch'));
  });

  test('an adopting Create keeps a sleeping route too', async () => {
    const alb = new FakeAlb(LISTENER).install();
    const rule = sleepingRule(alb);
    await run(event('Create'));
    expect(elbMock.commandCalls(CreateRuleCommand)).toHaveLength(0);
    expect(alb.find(rule.RuleArn!)!.rule.Actions).toEqual(weighted(TG, 'waker'));
  });

  describe('a branch on another shard (WakerTargetGroupArn names its shard\'s waker)', () => {
    const SHARD_LISTENER = LISTENER.replace('/app/staging/', '/app/staging-shard2/');
    const SHARD_WAKER = WAKER.replace('staging-waker/', 'staging-waker-2/');
    const onShard = { ...baseProps, ListenerArn: SHARD_LISTENER, WakerTargetGroupArn: SHARD_WAKER };
    const toShardWaker = (tg: string, to: 'branch' | 'waker') => [
      { Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: tg, Weight: to === 'branch' ? 1 : 0 }, { TargetGroupArn: SHARD_WAKER, Weight: to === 'waker' ? 1 : 0 }] } },
    ];

    test('Create writes the rule on the shard\'s listener, forwarding to the shard\'s waker, never to shard 0\'s', async () => {
      new FakeAlb(SHARD_LISTENER).install();
      await run(event('Create', onShard));
      const input = elbMock.commandCalls(CreateRuleCommand)[0].args[0].input;
      expect([input.ListenerArn, input.Actions]).toEqual([SHARD_LISTENER, toShardWaker(TG, 'branch')]);
    });

    test('Update of a sleeping branch on the shard sees it on its waker and keeps it there', async () => {
      const alb = new FakeAlb(SHARD_LISTENER).install();
      const rule = alb.add(SHARD_LISTENER, 5, HOST, TG, { Actions: toShardWaker(TG, 'waker') as Rule['Actions'] });
      await run(event('Update', { ...onShard, TargetGroupArn: OTHER_TG }, { PhysicalResourceId: rule.RuleArn, OldResourceProperties: onShard }));
      expect(alb.find(rule.RuleArn!)!.rule.Actions).toEqual(toShardWaker(OTHER_TG, 'waker'));
    });

    test('fails on a WakerTargetGroupArn that is not a target group, naming it', async () => {
      new FakeAlb(SHARD_LISTENER).install();
      await expect(run(event('Create', { ...onShard, WakerTargetGroupArn: 'staging-waker-2' }))).rejects.toThrow(/WakerTargetGroupArn 'staging-waker-2' is not the ARN of a target group/);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// The stagings' lock (STAGING_ACCESS): every rule the handler writes or rewrites keeps it.

describe('with the stagings\' lock', () => {
  const WAKER = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:targetgroup/staging-waker/fedcba9876543210`;
  const OIDC_SECRET = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:staging/oidc-AbCdEf`;
  const TOKEN_SECRET = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:staging/token-AbCdEf`;
  const POOL_ID = 'eu-west-1_AbCdEfGhI';
  const oidc = {
    issuer: 'https://example.okta.com',
    authorizationEndpoint: 'https://example.okta.com/oauth2/v1/authorize',
    tokenEndpoint: 'https://example.okta.com/oauth2/v1/token',
    userInfoEndpoint: 'https://example.okta.com/oauth2/v1/userinfo',
    clientId: 'client-1',
    clientSecretArn: OIDC_SECRET,
    scope: 'openid email profile',
  };
  const lock = (extra: Record<string, unknown> = {}) =>
    JSON.stringify({ signIn: 'oidc', oidc, networks: [], publicPaths: [], sessionTimeoutSeconds: 3600, public: false, ...extra });
  const smMock = mockClient(SecretsManagerClient);
  const cognitoMock = mockClient(CognitoIdentityProviderClient);

  beforeEach(() => {
    process.env.WAKER_TARGET_GROUP_ARN = WAKER;
    smMock.reset();
    cognitoMock.reset();
    smMock.on(GetSecretValueCommand, { SecretId: OIDC_SECRET }).resolves({ SecretString: 'the-client-secret' });
    smMock.on(GetSecretValueCommand, { SecretId: TOKEN_SECRET }).resolves({ SecretString: 'the-token' });
  });
  afterEach(() => delete process.env.WAKER_TARGET_GROUP_ARN);

  /** The FakeAlb keeps what CreateRule sent (its own create() forgets all but the host and the first target group). */
  function faithful(alb: FakeAlb): FakeAlb {
    elbMock.on(CreateRuleCommand).callsFake(async (input: CreateRuleCommandInput) => {
      const rules = alb.rules(input.ListenerArn);
      if (rules.some((r) => r.Priority === String(input.Priority))) throw err(PriorityInUseException, 'Priority is in use');
      const rule: Rule = { RuleArn: alb.ruleArn(input.ListenerArn!), Priority: String(input.Priority), IsDefault: false, Conditions: input.Conditions, Actions: input.Actions };
      rules.push(rule);
      return { Rules: [structuredClone(rule)] };
    });
    elbMock.on(SetRulePrioritiesCommand).callsFake(async (input) => {
      for (const p of input.RulePriorities ?? []) {
        const found = alb.find(p.RuleArn!)!;
        if (alb.rules(found.listener).some((r) => r.Priority === String(p.Priority))) throw err(PriorityInUseException, 'Priority is in use');
        found.rule.Priority = String(p.Priority);
      }
      return {};
    });
    return alb;
  }

  const hostRules = (alb: FakeAlb) =>
    alb.rules().filter((r) => !r.IsDefault && (r.Conditions ?? []).some((c) => c.HostHeaderConfig?.Values?.[0] === HOST));
  const signInFirst = (rule: Rule) => [...(rule.Actions ?? [])].sort((a, b) => (a.Order ?? 0) - (b.Order ?? 0))[0]?.Type;
  const secondField = (rule: Rule) => (rule.Conditions ?? []).find((c) => c.Field !== 'host-header')?.Field;
  const weightTo = (rule: Rule, tg: string) =>
    rule.Actions?.find((a) => a.Type === 'forward')?.ForwardConfig?.TargetGroups?.find((g) => g.TargetGroupArn === tg)?.Weight;

  /**
   * The property the issue asks of every rule: one that forwards to the branch or the waker carries
   * the sign-in first, or is the network, automation or public-path rule of the host.
   */
  function expectLocked(rules: Rule[]): void {
    for (const rule of rules) {
      const field = secondField(rule);
      if (field === undefined) expect(signInFirst(rule)).toMatch(/^authenticate-(oidc|cognito)$/);
      else expect(['source-ip', 'http-header', 'path-pattern']).toContain(field);
    }
  }

  test('Create: the primary signs in before it forwards; its secret comes from Secrets Manager', async () => {
    process.env.STAGING_ACCESS = lock();
    const alb = faithful(new FakeAlb(LISTENER).install());
    const out = await run(event('Create'));
    const [rule] = hostRules(alb);
    expect(rule.Actions).toEqual([
      {
        Type: 'authenticate-oidc',
        Order: 1,
        AuthenticateOidcConfig: {
          Issuer: oidc.issuer,
          AuthorizationEndpoint: oidc.authorizationEndpoint,
          TokenEndpoint: oidc.tokenEndpoint,
          UserInfoEndpoint: oidc.userInfoEndpoint,
          ClientId: 'client-1',
          ClientSecret: 'the-client-secret',
          Scope: 'openid email profile',
          SessionTimeout: 3600,
          OnUnauthenticatedRequest: 'authenticate',
        },
      },
      { Type: 'forward', Order: 2, ForwardConfig: { TargetGroups: [{ TargetGroupArn: TG, Weight: 1 }, { TargetGroupArn: WAKER, Weight: 0 }] } },
    ]);
    expect(out.Data).toMatchObject({ RuleCount: '1', FlipRuleArns: rule.RuleArn });
  });

  test('Create with networks, automation and public paths: companions below the primary, each of its own kind', async () => {
    process.env.STAGING_ACCESS = lock({
      networks: ['203.0.113.0/24'],
      automation: { headerName: 'x-staging-automation', tokenSecretArn: TOKEN_SECRET, wakes: false },
      publicPaths: ['/webhooks/*'],
    });
    const alb = faithful(new FakeAlb(LISTENER).install());
    const out = await run(event('Create'));
    const rules = hostRules(alb);
    expect(rules).toHaveLength(4);
    expectLocked(rules);
    const primary = rules.find((r) => r.RuleArn === out.PhysicalResourceId)!;
    for (const companion of rules.filter((r) => r !== primary)) expect(Number(companion.Priority)).toBeLessThan(Number(primary.Priority));
    const byField = Object.fromEntries(rules.map((r) => [secondField(r) ?? 'primary', r]));
    expect(byField['http-header'].Conditions![1].HttpHeaderConfig).toEqual({ HttpHeaderName: 'x-staging-automation', Values: ['the-token'] });
    // Automation and public paths never wake: a plain forward to the branch (the load balancer's 503 while it sleeps).
    expect(byField['http-header'].Actions).toEqual([{ Type: 'forward', TargetGroupArn: TG }]);
    expect(byField['path-pattern'].Actions).toEqual([{ Type: 'forward', TargetGroupArn: TG }]);
    // The allowed networks wake it like a signed-in visit: flipped with the primary.
    expect(weightTo(byField['source-ip'], WAKER)).toBe(0);
    expect(out.Data!.FlipRuleArns.split(',')).toEqual([primary.RuleArn, byField['source-ip'].RuleArn]);
    expect(out.Data!.RuleCount).toBe('4');
  });

  test('Create refuses to write a rule when the lock is unreadable or its secret is empty (fail-closed)', async () => {
    const alb = faithful(new FakeAlb(LISTENER).install());
    delete process.env.STAGING_ACCESS;
    await expect(run(event('Create'))).rejects.toThrow(/STAGING_ACCESS is not set.*writes no rule/);
    process.env.STAGING_ACCESS = lock();
    smMock.on(GetSecretValueCommand, { SecretId: OIDC_SECRET }).resolves({ SecretString: '' });
    await expect(run(event('Create'))).rejects.toThrow(/the OIDC client secret .* is empty/);
    expect(hostRules(alb)).toEqual([]);
  });

  test('Update of an old public rule at a low priority: the primary moves above its new companions, then gets the sign-in', async () => {
    process.env.STAGING_ACCESS = lock({ automation: { headerName: 'x-staging-automation', tokenSecretArn: TOKEN_SECRET, wakes: true } });
    const alb = faithful(new FakeAlb(LISTENER).install());
    const old = alb.add(LISTENER, 1, HOST, TG);
    const out = await run(event('Update', baseProps, { PhysicalResourceId: old.RuleArn, OldResourceProperties: baseProps }));
    const rules = hostRules(alb);
    expectLocked(rules);
    const primary = alb.find(old.RuleArn!)!.rule;
    expect(out.PhysicalResourceId).toBe(old.RuleArn);
    expect(signInFirst(primary)).toBe('authenticate-oidc');
    const automation = rules.find((r) => secondField(r) === 'http-header')!;
    expect(Number(automation.Priority)).toBeLessThan(Number(primary.Priority));
    // This lock lets the token wake a sleeping staging: its rule flips with the primary.
    expect(out.Data!.FlipRuleArns.split(',')).toEqual([primary.RuleArn, automation.RuleArn]);
  });

  test('Update sends the OIDC secret again (a rotated secret reaches the rule) and keeps a sleeping route', async () => {
    process.env.STAGING_ACCESS = lock();
    const alb = faithful(new FakeAlb(LISTENER).install());
    await run(event('Create'));
    const [rule] = hostRules(alb);
    rule.Actions = reweightedActions(rule.Actions, TG, WAKER, 'waker'); // the sleeper put it to sleep
    smMock.on(GetSecretValueCommand, { SecretId: OIDC_SECRET }).resolves({ SecretString: 'rotated' });
    elbMock.resetHistory();
    await run(event('Update', baseProps, { PhysicalResourceId: rule.RuleArn, OldResourceProperties: baseProps }));
    const modified = elbMock.commandCalls(ModifyRuleCommand).map((c) => c.args[0].input);
    expect(modified).toHaveLength(1);
    expect(modified[0].Actions![0].AuthenticateOidcConfig!.ClientSecret).toBe('rotated');
    expect(weightTo(alb.find(rule.RuleArn!)!.rule, WAKER)).toBe(1);
    expectLocked(hostRules(alb));
  });

  test('sleep and wake flips keep the sign-in in front of the forward (and fail the test if they drop it)', async () => {
    process.env.STAGING_ACCESS = lock({ networks: ['203.0.113.0/24'] });
    const alb = faithful(new FakeAlb(LISTENER).install());
    await run(event('Create'));
    for (const to of ['waker', 'branch'] as const) {
      for (const rule of hostRules(alb)) rule.Actions = reweightedActions(rule.Actions, TG, WAKER, to);
      expectLocked(hostRules(alb));
      const primary = hostRules(alb).find((r) => secondField(r) === undefined)!;
      expect(primary.Actions![0].AuthenticateOidcConfig).toMatchObject({ ClientId: 'client-1', UseExistingClientSecret: true });
      expect(primary.Actions![0].AuthenticateOidcConfig!.ClientSecret).toBeUndefined();
      expect(weightTo(primary, WAKER)).toBe(to === 'waker' ? 1 : 0);
    }
    // The property itself bites: a plain forward on the host rule is refused.
    expect(() => expectLocked([{ ...hostRules(alb)[0], Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [HOST] } }], Actions: [{ Type: 'forward', TargetGroupArn: TG }] }])).toThrow();
  });

  test('replay: a second Create adopts the host\'s rules and adds none', async () => {
    process.env.STAGING_ACCESS = lock({ publicPaths: ['/webhooks/*'] });
    const alb = faithful(new FakeAlb(LISTENER).install());
    const first = await run(event('Create'));
    const second = await run(event('Create'));
    expect(second.PhysicalResourceId).toBe(first.PhysicalResourceId);
    expect(hostRules(alb)).toHaveLength(2);
    expectLocked(hostRules(alb));
  });

  test('Delete removes the companions and the primary; another host\'s rules stay', async () => {
    process.env.STAGING_ACCESS = lock({ publicPaths: ['/webhooks/*'], networks: ['203.0.113.0/24'] });
    const alb = faithful(new FakeAlb(LISTENER).install());
    const other = alb.add(LISTENER, 7, 'other.staging.example.com', OTHER_TG);
    const out = await run(event('Create'));
    await run(event('Delete', baseProps, { PhysicalResourceId: out.PhysicalResourceId }));
    expect(hostRules(alb)).toEqual([]);
    expect(alb.find(other.RuleArn!)).toBeDefined();
  });

  describe('Cognito: one app client per host', () => {
    const cognitoLock = () =>
      JSON.stringify({
        signIn: 'cognito',
        cognito: { userPoolArn: `arn:aws:cognito-idp:eu-west-1:${ACCOUNT}:userpool/${POOL_ID}`, userPoolId: POOL_ID, userPoolDomain: 'staging-login', identityProviders: ['COGNITO'], scopes: ['openid', 'email', 'profile'] },
        networks: [],
        publicPaths: [],
        public: false,
      });
    let clients: Array<{ ClientId: string; ClientName: string; CallbackURLs: string[] }>;
    beforeEach(() => {
      process.env.STAGING_ACCESS = cognitoLock();
      clients = [];
      let next = 1;
      cognitoMock.on(ListUserPoolClientsCommand).callsFake(async () => ({ UserPoolClients: clients.map(({ ClientId, ClientName }) => ({ ClientId, ClientName, UserPoolId: POOL_ID })) }));
      cognitoMock.on(CreateUserPoolClientCommand).callsFake(async (input) => {
        const client = { ClientId: `client${next++}`, ClientName: input.ClientName!, CallbackURLs: input.CallbackURLs! };
        clients.push(client);
        return { UserPoolClient: client };
      });
      cognitoMock.on(DeleteUserPoolClientCommand).callsFake(async (input) => {
        clients = clients.filter((c) => c.ClientId !== input.ClientId);
        return {};
      });
    });

    test('concurrent deploys of two branches each get their own client and callback URL; neither is lost', async () => {
      const alb = faithful(new FakeAlb(LISTENER).install());
      const OTHER_HOST = 'feature-y-5e6f7a8b.staging.example.com';
      await Promise.all([run(event('Create')), run(event('Create', { ...baseProps, HostHeader: OTHER_HOST, TargetGroupArn: OTHER_TG }))]);
      expect(clients.map((c) => c.CallbackURLs)).toEqual(expect.arrayContaining([[`https://${HOST}/oauth2/idpresponse`], [`https://${OTHER_HOST}/oauth2/idpresponse`]]));
      const [rule] = hostRules(alb);
      expect(rule.Actions![0]).toMatchObject({
        Type: 'authenticate-cognito',
        AuthenticateCognitoConfig: { UserPoolClientId: clients.find((c) => c.ClientName === HOST)!.ClientId, UserPoolDomain: 'staging-login' },
      });
    });

    test('a replay adopts the host\'s client; destroy removes only its own', async () => {
      faithful(new FakeAlb(LISTENER).install());
      clients.push({ ClientId: 'other', ClientName: 'feature-y-5e6f7a8b.staging.example.com', CallbackURLs: [] });
      const out = await run(event('Create'));
      await run(event('Create'));
      expect(cognitoMock.commandCalls(CreateUserPoolClientCommand)).toHaveLength(1);
      await run(event('Delete', baseProps, { PhysicalResourceId: out.PhysicalResourceId }));
      expect(clients.map((c) => c.ClientId)).toEqual(['other']);
    });

    test('a pool out of app clients fails with what to do', async () => {
      faithful(new FakeAlb(LISTENER).install());
      cognitoMock.on(CreateUserPoolClientCommand).rejects(Object.assign(new Error('too many clients'), { name: 'LimitExceededException', $metadata: {} }));
      await expect(run(event('Create'))).rejects.toThrow(/app clients.*quota.*Service Quotas/);
    });
  });
});
