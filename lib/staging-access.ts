import { Annotations, Aws, Duration, Fn, RemovalPolicy, SecretValue, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as elbv2actions from 'aws-cdk-lib/aws-elasticloadbalancingv2-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { AccessBindContext, BoundAccess } from './private/bound-access';
import {
  DEFAULT_AUTOMATION_HEADER,
  VALUES_AFTER_HOST,
  cidrProblem,
  headerNameProblem,
  httpsUrlProblem,
  pathPatternProblem,
  rulesPerHost,
  type AccessConfig,
  type SignInKind,
} from './contract/access';

/** The automation token: a header that opens every staging to CI and webhooks, without sign-in. */
export interface StagingAutomationOptions {
  /**
   * The token (the secret's SecretString is the token itself). Automation sends it in
   * `headerName`. Rotate it by putting a new value and deploying the shared stack and each branch
   * (README, "Access").
   */
  readonly tokenSecret: secretsmanager.ISecret;

  /**
   * The header automation sends the token in (lower case; not one the load balancer sets).
   * @default 'x-staging-automation'
   */
  readonly headerName?: string;

  /**
   * Whether a request with the token wakes a sleeping staging. Off, such a request to a sleeping
   * staging gets the load balancer's 503 and wakes nothing; wake it first with `staging wake`.
   * @default false
   */
  readonly wakesSleepingStagings?: boolean;
}

/** What every lock can add: automation and public paths. */
export interface StagingAccessOptions {
  /**
   * A way in for automation (CI end-to-end tests, webhooks) without sign-in.
   * @default - none
   */
  readonly automation?: StagingAutomationOptions;

  /**
   * Path patterns that pass without sign-in on every staging, e.g. `['/webhooks/*']`: at most 4 (a
   * listener rule holds 5 condition values, one of them the host). They never wake a sleeping
   * staging.
   * @default - none
   */
  readonly publicPaths?: string[];
}

/** Options of a sign-in. */
export interface StagingSignInOptions extends StagingAccessOptions {
  /**
   * Source CIDRs let in without sign-in (an office, a VPN), at most 4.
   * @default - none: everybody signs in
   */
  readonly allowNetworks?: string[];

  /**
   * How long a sign-in lasts before the load balancer asks the identity provider again.
   * @default Duration.days(7)
   */
  readonly sessionTimeout?: Duration;
}

/** An OpenID Connect provider: Okta, Entra ID, Google Workspace, Keycloak, Auth0, ... */
export interface StagingOidcAccessProps extends StagingSignInOptions {
  /** The issuer, an https URL (e.g. `https://example.okta.com`). */
  readonly issuer: string;
  /** The authorization endpoint, an https URL. */
  readonly authorizationEndpoint: string;
  /** The token endpoint, an https URL. */
  readonly tokenEndpoint: string;
  /** The user-info endpoint, an https URL. */
  readonly userInfoEndpoint: string;
  /** The OAuth client id registered at the provider. */
  readonly clientId: string;
  /** The client secret (the secret's SecretString is the client secret itself). It never appears in a template. */
  readonly clientSecret: secretsmanager.ISecret;
  /**
   * The scopes asked for.
   * @default 'openid email profile'
   */
  readonly scope?: string;
}

/** A Cognito user pool, brought or made here; it can federate to a corporate SAML or OIDC provider. */
export interface StagingCognitoAccessProps extends StagingSignInOptions {
  /**
   * The user pool. Each staging host gets an app client of its own (README, "Access").
   * @default - a new user pool: no self sign-up, e-mail sign-in, MFA required, retained
   */
  readonly userPool?: cognito.IUserPool;

  /**
   * The user pool's domain: required with `userPool`.
   * @default - a Cognito domain `<domainPrefix>.auth.<region>.amazoncognito.com` on the new pool
   */
  readonly userPoolDomain?: cognito.IUserPoolDomain;

  /**
   * The prefix of the new pool's Cognito domain (only without `userPool`).
   * @default - `<prefix>-` followed by the shared stack's id
   */
  readonly domainPrefix?: string;

  /**
   * The identity providers each host's app client offers: `COGNITO` (the pool's own users) or the
   * names of the pool's SAML/OIDC providers.
   * @default - `['COGNITO']`: the pool's own users
   */
  readonly identityProviders?: string[];
}

/** The lock's kinds (`StagingAccess.kind`). */
export class StagingAccessKinds {
  public static readonly OIDC = 'oidc';
  public static readonly COGNITO = 'cognito';
  public static readonly NETWORKS = 'networks';
  public static readonly PUBLIC = 'public';
}

/**
 * Who may reach the stagings: every branch host (full and lite), the shared app's host and the
 * waker. `SharedStagingProps.access` has no default: an open staging is a decision someone writes
 * down with `StagingAccess.publicAccess()`.
 *
 * - `oidc({...})`: any OpenID Connect provider, through the load balancer's `authenticate-oidc`.
 * - `cognito({...})`: a Cognito user pool (brought or made here), through `authenticate-cognito`.
 * - `allowNetworks([...])`: source CIDRs only (an office, a VPN); a sign-in takes them too.
 * - `public()`: no lock. Every synth warns.
 */
export class StagingAccess {
  /**
   * Sign in with an OpenID Connect provider.
   * @param props the provider's endpoints and client
   */
  public static oidc(props: StagingOidcAccessProps): StagingAccess {
    return new StagingAccess(StagingAccessKinds.OIDC, props, props);
  }

  /**
   * Sign in with a Cognito user pool.
   * @param props the pool (or none, for a new one)
   */
  public static cognito(props: StagingCognitoAccessProps = {}): StagingAccess {
    return new StagingAccess(StagingAccessKinds.COGNITO, props, undefined, props);
  }

  /**
   * Only these source CIDRs get in (at most 4), without a sign-in.
   * @param cidrs e.g. `['203.0.113.0/24']`
   * @param options automation and public paths
   */
  public static allowNetworks(cidrs: string[], options: StagingAccessOptions = {}): StagingAccess {
    return new StagingAccess(StagingAccessKinds.NETWORKS, { ...options, allowNetworks: cidrs });
  }

  /** No lock: anyone who learns a URL gets in. Every synth warns, naming what is exposed. */
  public static publicAccess(): StagingAccess {
    return new StagingAccess(StagingAccessKinds.PUBLIC, {});
  }

  /** `oidc`, `cognito`, `networks` or `public` (StagingAccessKinds). */
  public readonly kind: string;
  /** Source CIDRs let in without sign-in. */
  public readonly allowedNetworks: string[];
  /** Path patterns that pass without sign-in. */
  public readonly publicPaths: string[];

  private constructor(
    kind: string,
    private readonly options: StagingSignInOptions,
    private readonly oidcProps?: StagingOidcAccessProps,
    private readonly cognitoProps?: StagingCognitoAccessProps,
  ) {
    this.kind = kind;
    this.allowedNetworks = [...(options.allowNetworks ?? [])];
    this.publicPaths = [...(options.publicPaths ?? [])];
  }

  /**
   * What is wrong with this lock, each naming the prop, the value and the fix (empty when fine).
   * @param path where the lock sits, e.g. `access`
   */
  public problems(path: string = 'access'): string[] {
    const problems: string[] = [];
    const o = this.oidcProps;
    if (o) {
      for (const key of ['issuer', 'authorizationEndpoint', 'tokenEndpoint', 'userInfoEndpoint'] as const) {
        const value = o[key];
        if (typeof value !== 'string' || (!Token.isUnresolved(value) && httpsUrlProblem(value))) {
          problems.push(`${path}.oidc.${key} must be an https:// URL from your provider's /.well-known/openid-configuration (got ${JSON.stringify(value)})`);
        }
      }
      if (typeof o.clientId !== 'string' || o.clientId.trim() === '') problems.push(`${path}.oidc.clientId must be the client id registered at your provider (got ${JSON.stringify(o.clientId)})`);
      if (!o.clientSecret) problems.push(`${path}.oidc.clientSecret is missing: put the client secret in Secrets Manager and pass it (e.g. Secret.fromSecretNameV2(this, 'Oidc', 'staging/oidc-client-secret'))`);
    }
    const c = this.cognitoProps;
    if (c && c.userPool && !c.userPoolDomain) problems.push(`${path}.cognito.userPoolDomain is required with userPool: pass the pool's domain (UserPoolDomain.fromDomainName(...))`);
    if (c && c.domainPrefix !== undefined && (c.userPool || !/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(c.domainPrefix) || /aws|amazon|cognito/.test(c.domainPrefix))) {
      problems.push(`${path}.cognito.domainPrefix must be 1-63 lower-case letters, digits and hyphens without "aws", "amazon" or "cognito", and only without userPool (got ${JSON.stringify(c.domainPrefix)})`);
    }
    if (this.kind === StagingAccessKinds.NETWORKS && this.allowedNetworks.length === 0) {
      problems.push(`${path}.allowNetworks must name at least one CIDR such as "203.0.113.0/24" (got []); or choose StagingAccess.oidc(), .cognito() or .publicAccess()`);
    }
    if (this.allowedNetworks.length > VALUES_AFTER_HOST) {
      problems.push(`${path}.allowNetworks has ${this.allowedNetworks.length} CIDRs; a listener rule holds at most ${VALUES_AFTER_HOST} next to the host: merge them into wider ranges`);
    }
    for (const cidr of this.allowedNetworks) {
      if (!Token.isUnresolved(cidr) && cidrProblem(cidr)) problems.push(`${path}.allowNetworks: ${JSON.stringify(cidr)} ${cidrProblem(cidr)}`);
    }
    if (this.publicPaths.length > VALUES_AFTER_HOST) {
      problems.push(`${path}.publicPaths has ${this.publicPaths.length} patterns; a listener rule holds at most ${VALUES_AFTER_HOST} next to the host: use wildcards such as "/webhooks/*"`);
    }
    for (const p of this.publicPaths) {
      if (!Token.isUnresolved(p) && pathPatternProblem(p)) problems.push(`${path}.publicPaths: ${JSON.stringify(p)} ${pathPatternProblem(p)}`);
    }
    const header = this.options.automation?.headerName;
    if (header !== undefined && headerNameProblem(header)) problems.push(`${path}.automation.headerName ${JSON.stringify(header)} ${headerNameProblem(header)}`);
    if (this.options.automation && !this.options.automation.tokenSecret) problems.push(`${path}.automation.tokenSecret is missing: keep the token in Secrets Manager and pass the secret`);
    const timeout = this.options.sessionTimeout;
    if (timeout && !timeout.isUnresolved() && (timeout.toSeconds() < 1 || timeout.toSeconds() > 7 * 24 * 3600)) {
      problems.push(`${path}.sessionTimeout must be between 1 second and 7 days (got ${timeout.toHumanString()})`);
    }
    return problems;
  }

  /** @internal */
  public _bind(scope: Construct, context: AccessBindContext): BoundAccess {
    const stack = Stack.of(scope);
    const signIn: SignInKind = this.kind === StagingAccessKinds.OIDC ? 'oidc' : this.kind === StagingAccessKinds.COGNITO ? 'cognito' : 'none';
    const sessionTimeout = this.options.sessionTimeout ?? Duration.days(7);
    const automation = this.options.automation;
    const statements: iam.PolicyStatement[] = [];
    const secrets = [this.oidcProps?.clientSecret, automation?.tokenSecret].filter((s): s is secretsmanager.ISecret => Boolean(s));
    if (secrets.length > 0) {
      statements.push(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: secrets.map(secretArnPattern) }));
    }

    let pool: cognito.IUserPool | undefined;
    let domain: cognito.IUserPoolDomain | undefined;
    const identityProviders = this.cognitoProps?.identityProviders ?? ['COGNITO'];
    const scopes = ['openid', 'email', 'profile'];
    if (signIn === 'cognito') {
      ({ pool, domain } = this.cognitoPool(scope, context.prefix));
      statements.push(
        new iam.PolicyStatement({
          actions: ['cognito-idp:CreateUserPoolClient', 'cognito-idp:DeleteUserPoolClient', 'cognito-idp:ListUserPoolClients'],
          resources: [pool.userPoolArn],
        }),
      );
    }
    if (signIn !== 'none') {
      // The load balancer itself calls the identity provider's token and user-info endpoints.
      context.loadBalancer.connections.allowToAnyIpv4(ec2.Port.tcp(443), 'Sign-in: the identity provider token and user-info endpoints');
    }

    const config: AccessConfig = {
      signIn,
      oidc: this.oidcProps
        ? {
            issuer: this.oidcProps.issuer,
            authorizationEndpoint: this.oidcProps.authorizationEndpoint,
            tokenEndpoint: this.oidcProps.tokenEndpoint,
            userInfoEndpoint: this.oidcProps.userInfoEndpoint,
            clientId: this.oidcProps.clientId,
            clientSecretArn: secretId(this.oidcProps.clientSecret),
            scope: this.oidcProps.scope ?? 'openid email profile',
          }
        : undefined,
      cognito: pool && domain ? { userPoolArn: pool.userPoolArn, userPoolId: pool.userPoolId, userPoolDomain: domain.domainName, identityProviders, scopes } : undefined,
      networks: this.allowedNetworks,
      automation: automation
        ? { headerName: (automation.headerName ?? DEFAULT_AUTOMATION_HEADER).toLowerCase(), tokenSecretArn: secretId(automation.tokenSecret), wakes: automation.wakesSleepingStagings ?? false }
        : undefined,
      publicPaths: this.publicPaths,
      sessionTimeoutSeconds: sessionTimeout.toSeconds(),
      public: this.kind === StagingAccessKinds.PUBLIC,
    };
    if (config.public) {
      Annotations.of(scope).addWarningV2(
        'cdk-multi-staging:access-public',
        'access is StagingAccess.publicAccess(): every branch staging, the shared app and the waker are open to anyone who learns a URL, ' +
          'and anyone can wake a sleeping staging. Choose StagingAccess.oidc(), .cognito() or .allowNetworks() to lock them.',
      );
    }

    const lockSharedHost = this.lockSharedHost.bind(this);
    return {
      environment: stack.toJsonString(config),
      signIn,
      rulesPerHost: rulesPerHost(config).length,
      providerStatements: statements,
      lockHost(hostScope: Construct, id: string, host: string, targetGroup: elbv2.IApplicationTargetGroup, priority: number): void {
        lockSharedHost(hostScope, id, { context, config, host, targetGroup, priority, pool, domain, sessionTimeout });
      },
    };
  }

  private cognitoPool(scope: Construct, prefix: string): { pool: cognito.IUserPool; domain: cognito.IUserPoolDomain } {
    const props = this.cognitoProps!;
    if (props.userPool && props.userPoolDomain) return { pool: props.userPool, domain: props.userPoolDomain };
    const pool = new cognito.UserPool(scope, 'UserPool', {
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      passwordPolicy: { minLength: 12, requireDigits: true, requireLowercase: true, requireUppercase: true, requireSymbols: true },
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // The Plus feature plan (threat protection) is billed per monthly active user; this pool only
    // gates staging copies, its users are created by an administrator and must use MFA.
    const plus = 'Threat protection needs the Plus feature plan, billed per monthly active user; this pool only gates staging copies, users are created by an administrator (no self sign-up) and MFA is required.';
    Validations.of(pool).acknowledge({ id: 'AwsSolutions-COG3', reason: plus }, { id: 'AwsSolutions-COG8', reason: plus });
    const domainPrefix = props.domainPrefix ?? Fn.join('-', [prefix, Fn.select(2, Fn.split('/', Aws.STACK_ID))]);
    const domain = pool.addDomain('Domain', { cognitoDomain: { domainPrefix } });
    return { pool, domain };
  }

  private lockSharedHost(
    scope: Construct,
    id: string,
    p: {
      context: AccessBindContext;
      config: AccessConfig;
      host: string;
      targetGroup: elbv2.IApplicationTargetGroup;
      priority: number;
      pool?: cognito.IUserPool;
      domain?: cognito.IUserPoolDomain;
      sessionTimeout: Duration;
    },
  ): void {
    const { listener } = p.context;
    const hostCondition = elbv2.ListenerCondition.hostHeaders([p.host]);
    const forward = elbv2.ListenerAction.forward([p.targetGroup]);
    if (p.config.public) {
      listener.addTargetGroups(id, { targetGroups: [p.targetGroup], priority: p.priority, conditions: [hostCondition] });
      return;
    }
    // Companions first in priority (lower numbers), below the host's sign-in rule.
    let companion = p.priority - 1;
    const companionRule = (role: string, condition: elbv2.ListenerCondition) =>
      new elbv2.ApplicationListenerRule(scope, `${id}${role}Rule`, { listener, priority: companion--, conditions: [hostCondition, condition], action: forward });
    if (p.config.signIn !== 'none' && p.config.networks.length > 0) companionRule('Network', elbv2.ListenerCondition.sourceIps(p.config.networks));
    const automation = this.options.automation;
    if (automation) {
      // A dynamic reference: CloudFormation reads the token at deploy time; the template holds none.
      const token = SecretValue.secretsManager(secretId(automation.tokenSecret)).unsafeUnwrap();
      companionRule('Automation', elbv2.ListenerCondition.httpHeader(p.config.automation!.headerName, [token]));
    }
    if (p.config.publicPaths.length > 0) companionRule('PublicPaths', elbv2.ListenerCondition.pathPatterns(p.config.publicPaths));

    if (p.config.signIn === 'none') {
      listener.addAction(id, { priority: p.priority, conditions: [hostCondition, elbv2.ListenerCondition.sourceIps(p.config.networks)], action: forward });
      return;
    }
    let action: elbv2.ListenerAction;
    if (p.config.signIn === 'oidc') {
      const o = this.oidcProps!;
      action = elbv2.ListenerAction.authenticateOidc({
        issuer: o.issuer,
        authorizationEndpoint: o.authorizationEndpoint,
        tokenEndpoint: o.tokenEndpoint,
        userInfoEndpoint: o.userInfoEndpoint,
        clientId: o.clientId,
        clientSecret: SecretValue.secretsManager(secretId(o.clientSecret)),
        scope: p.config.oidc!.scope,
        sessionTimeout: p.sessionTimeout,
        next: forward,
      });
    } else {
      const client = new cognito.UserPoolClient(scope, `${id}Client`, {
        userPool: p.pool!,
        generateSecret: true,
        oAuth: {
          flows: { authorizationCodeGrant: true },
          scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
          callbackUrls: [`https://${p.host}/oauth2/idpresponse`],
        },
        supportedIdentityProviders: p.config.cognito!.identityProviders.map((name) =>
          name === 'COGNITO' ? cognito.UserPoolClientIdentityProvider.COGNITO : cognito.UserPoolClientIdentityProvider.custom(name),
        ),
        preventUserExistenceErrors: true,
      });
      action = new elbv2actions.AuthenticateCognitoAction({
        userPool: p.pool!,
        userPoolClient: client,
        userPoolDomain: p.domain!,
        scope: p.config.cognito!.scopes.join(' '),
        sessionTimeout: p.sessionTimeout,
        next: forward,
      });
    }
    listener.addAction(id, { priority: p.priority, conditions: [hostCondition], action });
  }
}

/**
 * How CloudFormation's dynamic references and GetSecretValue find a secret: its complete ARN, or
 * its name when it was imported by name (a partial ARN is not reliably resolved).
 */
function secretId(secret: secretsmanager.ISecret): string {
  return secret.secretFullArn ?? secret.secretName;
}

/** A secret's ARN as IAM matches it: a secret imported by name has only a partial ARN. */
function secretArnPattern(secret: secretsmanager.ISecret): string {
  return secret.secretFullArn ?? `${secret.secretArn}-??????`;
}
