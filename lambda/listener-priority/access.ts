/**
 * The rules one branch host takes on the shared listener under the stagings' lock (AccessConfig,
 * lib/contract/access.ts). Pure: the handler reads the secrets and the rules, this decides.
 *
 * - The primary rule (the resource's physical id): the host, then the sign-in, then the weighted
 *   forward to the branch and the waker. Without a sign-in it carries the network condition
 *   instead; with `public()` it is the plain host rule of before.
 * - Companion rules, each the host plus one condition, at lower priorities than the primary so the
 *   load balancer tries them first: the allowed networks (weighted forward: the team wakes a
 *   sleeping staging), the automation token (weighted only when it may wake) and the public paths
 *   (a plain forward to the branch: while it sleeps they get the load balancer's 503 and wake
 *   nothing).
 */
import type { Action, Rule, RuleCondition } from '@aws-sdk/client-elastic-load-balancing-v2';
import { RuleRoles, type AccessConfig } from '../../lib/contract/access';
import { forwardActions } from './rules';

/** What the handler read for the lock: secret values and the host's Cognito app client. */
export interface AccessInputs {
  readonly oidcClientSecret?: string;
  readonly automationToken?: string;
  readonly cognitoClientId?: string;
}

/** One rule the host should have. */
export interface DesiredRule {
  /** RuleRoles: which rule of the host this is. */
  readonly role: string;
  readonly conditions: RuleCondition[];
  /** Builds the actions for a route: the primary and the waking companions follow the branch's sleep. */
  readonly actions: (route: 'branch' | 'waker') => Action[];
  /** The sleeper and the waker flip this rule's forward with the primary's. */
  readonly flips: boolean;
}

const hostCondition = (host: string): RuleCondition => ({ Field: 'host-header', HostHeaderConfig: { Values: [host] } });
const sourceIpCondition = (cidrs: string[]): RuleCondition => ({ Field: 'source-ip', SourceIpConfig: { Values: cidrs } });

/** The roles' second condition field, by which a rule of the host is recognised. */
const ROLE_FIELD: Record<string, string | undefined> = {
  [RuleRoles.MAIN]: undefined,
  [RuleRoles.NETWORK]: 'source-ip',
  [RuleRoles.AUTOMATION]: 'http-header',
  [RuleRoles.PUBLIC_PATHS]: 'path-pattern',
};

/** The rules the host should have, the primary first. */
export function desiredRules(config: AccessConfig, host: string, targetGroupArn: string, wakerTargetGroupArn: string | undefined, inputs: AccessInputs): DesiredRule[] {
  const weighted = (route: 'branch' | 'waker') => forwardActions(targetGroupArn, wakerTargetGroupArn, route);
  const plain = () => forwardActions(targetGroupArn, undefined, 'branch');
  if (config.public) return [{ role: RuleRoles.MAIN, conditions: [hostCondition(host)], actions: weighted, flips: true }];

  const rules: DesiredRule[] = [];
  if (config.signIn === 'none') {
    rules.push({ role: RuleRoles.NETWORK, conditions: [hostCondition(host), sourceIpCondition(config.networks)], actions: weighted, flips: true });
  } else {
    const signIn = signInAction(config, inputs);
    rules.push({
      role: RuleRoles.MAIN,
      conditions: [hostCondition(host)],
      actions: (route) => [signIn, ...weighted(route)].map((a, i) => ({ ...a, Order: i + 1 })),
      flips: true,
    });
    if (config.networks.length > 0) {
      rules.push({ role: RuleRoles.NETWORK, conditions: [hostCondition(host), sourceIpCondition(config.networks)], actions: weighted, flips: true });
    }
  }
  if (config.automation) {
    const token = required(inputs.automationToken, 'the automation token');
    const wakes = config.automation.wakes;
    rules.push({
      role: RuleRoles.AUTOMATION,
      conditions: [hostCondition(host), { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: config.automation.headerName, Values: [token] } }],
      actions: wakes ? weighted : plain,
      flips: wakes,
    });
  }
  if (config.publicPaths.length > 0) {
    rules.push({
      role: RuleRoles.PUBLIC_PATHS,
      conditions: [hostCondition(host), { Field: 'path-pattern', PathPatternConfig: { Values: config.publicPaths } }],
      actions: plain,
      flips: false,
    });
  }
  return rules;
}

function signInAction(config: AccessConfig, inputs: AccessInputs): Action {
  if (config.signIn === 'oidc') {
    const o = config.oidc!;
    return {
      Type: 'authenticate-oidc',
      AuthenticateOidcConfig: {
        Issuer: o.issuer,
        AuthorizationEndpoint: o.authorizationEndpoint,
        TokenEndpoint: o.tokenEndpoint,
        UserInfoEndpoint: o.userInfoEndpoint,
        ClientId: o.clientId,
        ClientSecret: required(inputs.oidcClientSecret, 'the OIDC client secret'),
        Scope: o.scope,
        SessionTimeout: config.sessionTimeoutSeconds,
        OnUnauthenticatedRequest: 'authenticate',
      },
    };
  }
  const c = config.cognito!;
  return {
    Type: 'authenticate-cognito',
    AuthenticateCognitoConfig: {
      UserPoolArn: c.userPoolArn,
      UserPoolClientId: required(inputs.cognitoClientId, "the host's Cognito app client"),
      UserPoolDomain: c.userPoolDomain,
      Scope: c.scopes.join(' '),
      SessionTimeout: config.sessionTimeoutSeconds,
      OnUnauthenticatedRequest: 'authenticate',
    },
  };
}

function required(value: string | undefined, what: string): string {
  if (!value) throw new Error(`${what} is missing, so no rule is written (the lock would be open)`);
  return value;
}

/**
 * The role of a rule of this host, or undefined when it is not shaped like one of ours: exactly
 * the host's host-header condition, plus at most one condition of a role's field.
 */
export function roleOf(rule: Rule, host: string): string | undefined {
  if (rule.IsDefault) return undefined;
  const conditions = rule.Conditions ?? [];
  const hosts = conditions.filter((c) => c.Field === 'host-header');
  if (hosts.length !== 1) return undefined;
  const values = hosts[0].HostHeaderConfig?.Values ?? hosts[0].Values ?? [];
  if (values.length !== 1 || values[0].toLowerCase() !== host.toLowerCase() || hosts[0].HostHeaderConfig?.RegexValues?.length) return undefined;
  const others = conditions.filter((c) => c.Field !== 'host-header');
  if (others.length === 0) return RuleRoles.MAIN;
  if (others.length > 1) return undefined;
  return Object.keys(ROLE_FIELD).find((role) => ROLE_FIELD[role] === others[0].Field);
}

/** True when the rule's conditions are exactly the desired ones. */
export function sameConditions(rule: Rule, desired: readonly RuleCondition[]): boolean {
  return JSON.stringify(normalConditions(rule.Conditions ?? [])) === JSON.stringify(normalConditions(desired));
}

function normalConditions(conditions: readonly RuleCondition[]): string[] {
  return conditions
    .map((c) => {
      const values =
        c.HostHeaderConfig?.Values ?? c.SourceIpConfig?.Values ?? c.PathPatternConfig?.Values ?? c.HttpHeaderConfig?.Values ?? c.Values ?? [];
      const name = c.HttpHeaderConfig?.HttpHeaderName?.toLowerCase() ?? '';
      const folded = c.Field === 'host-header' || c.Field === 'http-header' ? values.map((v) => (c.Field === 'host-header' ? v.toLowerCase() : v)) : values;
      return `${c.Field}:${name}:${[...folded].sort().join(',')}`;
    })
    .sort();
}

/**
 * True when the rule's actions are the desired ones: the same types in the same order, the same
 * forward weights, and the same sign-in settings (an OIDC client secret is never returned by
 * DescribeRules, so it is not compared: the handler sends it again on every Update).
 */
export function sameActions(rule: Rule, desired: readonly Action[]): boolean {
  const norm = (actions: readonly Action[]) =>
    [...actions]
      .sort((a, b) => (a.Order ?? 0) - (b.Order ?? 0))
      .map((a) => {
        if (a.Type === 'forward') {
          const groups = a.ForwardConfig?.TargetGroups?.length ? a.ForwardConfig.TargetGroups : a.TargetGroupArn ? [{ TargetGroupArn: a.TargetGroupArn, Weight: 1 }] : [];
          return `forward:${groups.map((g) => `${g.TargetGroupArn}=${g.Weight ?? 1}`).sort().join(',')}`;
        }
        if (a.Type === 'authenticate-oidc') return `oidc:${compared(a.AuthenticateOidcConfig, ['ClientSecret', 'UseExistingClientSecret'])}`;
        if (a.Type === 'authenticate-cognito') return `cognito:${compared(a.AuthenticateCognitoConfig, [])}`;
        return JSON.stringify(a);
      });
  return JSON.stringify(norm(rule.Actions ?? [])) === JSON.stringify(norm(desired));
}

/** A sign-in config as JSON with sorted keys, without `ignored` and the keys the handler never sets. */
function compared(config: object | undefined, ignored: string[]): string {
  const skip = new Set([...ignored, 'AuthenticationRequestExtraParams', 'SessionCookieName']);
  const entries = Object.entries(config ?? {}).filter(([k, v]) => !skip.has(k) && v !== undefined);
  return JSON.stringify(Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b))));
}
