/**
 * A fake of the AWS state behind the stagings page, for its handler tests, its browser test and its
 * benchmark (scripts/bench-stagings-page.ts): stacks, SSM parameters, the audit log group, the
 * sleeper and the sweeper (the real sweeper's dry run, run in-process over this same fake, so its
 * calls count too), each call answered after `delayMs` and counted. Also the identity: an ES256 key
 * pair made here, tokens signed as the ALB signs them, and ALB events.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { CloudFormationClient, DeleteStackCommand, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, CreateLogStreamCommand, FilterLogEventsCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetFunctionConfigurationCommand, InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DeleteParameterCommand, GetParameterCommand, GetParametersByPathCommand, GetParametersCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { ALBEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { BranchStatePaths } from '../../lib/contract/branch-state';
import { StagingNames } from '../../lib/contract/naming';
import { SleeperEventKeys } from '../../lib/contract/sleeper';
import { StagingsPageEnvironment as E } from '../../lib/contract/stagings-page';
import { SweeperEnvironment as S } from '../../lib/contract/sweeper';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
export const PREFIX = 'staging';
export const PARAMETER_PREFIX = '/staging';
export const DOMAIN = 'staging.example.com';
export const ORIGIN = `https://stagings.${DOMAIN}`;
export const LOAD_BALANCER_ARN = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:loadbalancer/app/staging-shared/0123456789abcdef`;
export const SLEEPER = 'staging-shared-sleeper';
export const SWEEPER = 'staging-shared-sweeper';
export const AUDIT_LOG_GROUP = '/staging/stagings-page/audit';
export const TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT}:staging-sweeper`;
export const DELETION_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/staging-sweeper-deletion`;
/** The sweeper's environment (its settings: idle 3 days, warned 1 day before). */
export const SWEEPER_ENV: Record<string, string> = {
  [S.STAGING_PREFIX]: PREFIX,
  [S.PARAMETER_PREFIX]: PARAMETER_PREFIX,
  [S.IDLE_TIMEOUT_SECONDS]: String(3 * 86400),
  [S.WARNING_PERIOD_SECONDS]: String(86400),
  [S.RUN_TIMEOUT_SECONDS]: '900',
  [S.DRY_RUN]: 'false',
  [S.TOPIC_ARN]: `arn:aws:sns:${REGION}:${ACCOUNT}:staging-sweeper`,
  [S.DELETION_ROLE_ARN]: `arn:aws:iam::${ACCOUNT}:role/staging-sweeper-deletion`,
  [S.ACCOUNT_ID]: ACCOUNT,
  [S.METRIC_NAMESPACE]: 'Staging',
};

// ---------------------------------------------------------------------------------------------
// Identity: the ALB's key pair, its tokens, its key server

export interface KeyPair {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly pem: string;
}

export function keyPair(kid: string): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid, privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** base64url with the padding the ALB leaves on. */
const b64 = (s: Buffer | string) => {
  const text = Buffer.from(s).toString('base64url');
  return text + '='.repeat((4 - (text.length % 4)) % 4);
};

export interface TokenOptions {
  readonly key: KeyPair;
  readonly nowMs: number;
  readonly claims?: Record<string, unknown>;
  readonly signer?: string;
  readonly expiresInSeconds?: number;
  readonly alg?: string;
}

/** An `x-amzn-oidc-data` token as the ALB signs it (ES256, `kid`, `signer`, `exp` in the header). */
export function oidcData(o: TokenOptions): string {
  const exp = Math.floor(o.nowMs / 1000) + (o.expiresInSeconds ?? 120);
  const header = { typ: 'JWT', kid: o.key.kid, alg: o.alg ?? 'ES256', iss: 'https://idp.example.com', client: 'client-1', signer: o.signer ?? LOAD_BALANCER_ARN, exp };
  const claims = { sub: 'user-1', email: 'qa@example.com', exp, iss: 'https://idp.example.com', ...o.claims };
  const signed = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(claims))}`;
  return `${signed}.${b64(sign('sha256', Buffer.from(signed), { key: o.key.privateKey, dsaEncoding: 'ieee-p1363' }))}`;
}

/** Serves each key's PEM at `/<kid>`, as public-keys.auth.elb.<region>.amazonaws.com does. */
export async function keyServer(keys: readonly KeyPair[]): Promise<{ url: string; fetched: string[]; close: () => Promise<void> }> {
  const fetched: string[] = [];
  const server: Server = createServer((req, res) => {
    const key = keys.find((k) => req.url === `/${k.kid}`);
    fetched.push(req.url ?? '');
    if (!key) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/plain' }).end(key.pem);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, fetched, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** The page's environment, as SharedStaging sets it. */
export function pageEnv(keysUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    AWS_REGION: REGION,
    [E.PREFIX]: PREFIX,
    [E.PARAMETER_PREFIX]: PARAMETER_PREFIX,
    [E.DOMAIN_NAME]: DOMAIN,
    [E.LOAD_BALANCER_ARN]: LOAD_BALANCER_ARN,
    [E.PUBLIC_KEYS_URL]: keysUrl,
    [E.SIGN_IN]: 'oidc',
    [E.SLEEPER_FUNCTION_NAME]: SLEEPER,
    [E.SWEEPER_FUNCTION_NAME]: SWEEPER,
    [E.DELETION_ROLE_ARN]: DELETION_ROLE_ARN,
    [E.NOTIFICATION_TOPIC_ARN]: TOPIC_ARN,
    [E.AUDIT_LOG_GROUP]: AUDIT_LOG_GROUP,
    [E.MAX_KEEP_DAYS]: '14',
    [E.MAX_STAGINGS]: '600',
    ...extra,
  };
}

export interface RequestOptions {
  readonly method?: string;
  readonly path?: string;
  readonly query?: Record<string, string>;
  readonly headers?: Record<string, string>;
  readonly form?: Record<string, string>;
}

/** An ALB event for the page's target group (query values URL-encoded, as the ALB sends them). */
export function albEvent(o: RequestOptions): ALBEvent {
  const body = o.form ? new URLSearchParams(o.form).toString() : null;
  return {
    requestContext: { elb: { targetGroupArn: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/staging-stagings-page/0123456789abcdef` } },
    httpMethod: o.method ?? 'GET',
    path: o.path ?? '/',
    queryStringParameters: Object.fromEntries(Object.entries(o.query ?? {}).map(([k, v]) => [encodeURIComponent(k), encodeURIComponent(v)])),
    headers: { host: `stagings.${DOMAIN}`, ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...o.headers },
    body: body === null ? null : Buffer.from(body).toString('base64'),
    isBase64Encoded: body !== null,
  };
}

// ---------------------------------------------------------------------------------------------
// The AWS state

export interface Parameter {
  value: string;
  modified: Date;
}

export interface LogEvent {
  readonly group: string;
  readonly stream: string;
  readonly timestamp: number;
  readonly message: string;
}

/** A branch staging's stack as DescribeStacks lists it. */
/** The load balancer of a staging added without one: shard 0's. */
export const SHARD_0_LOAD_BALANCER = 'app/staging-shared/0123456789abcdef';

/** The last deploy's outputs (StagingCommit, StagingPullRequest, StagingImage), when the deploy gave them. */
export interface DeployInfo {
  readonly commit?: string;
  readonly pullRequest?: string;
  readonly image?: string;
}

export function stagingStack(branch: string, o: { kind?: string; status?: string; created?: Date; updated?: Date; cost?: string; loadBalancer?: string; deploy?: DeployInfo } = {}): Stack {
  const n = StagingNames.fromBranch(branch, PREFIX);
  return {
    StackName: n.stackName,
    StackId: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${n.stackName}/0a1b2c3d-0000-1111-2222-${n.name.slice(-8).padStart(12, '0')}`,
    StackStatus: (o.status ?? 'UPDATE_COMPLETE') as any,
    CreationTime: o.created ?? new Date('2026-11-28T12:00:00Z'),
    LastUpdatedTime: o.updated,
    Tags: [
      { Key: 'staging:kind', Value: o.kind ?? 'feature' },
      { Key: 'staging:name', Value: n.name },
      { Key: 'staging:prefix', Value: PREFIX },
      { Key: 'staging:branch', Value: n.branchTagValue },
    ],
    Outputs: [
      { OutputKey: 'StagingUrl', OutputValue: `https://${n.name}.${DOMAIN}` },
      { OutputKey: 'StagingCostPerDay', OutputValue: o.cost ?? '$1.57/day awake, $0.95/day asleep (eu-west-1, prices as of 2026-09-29)' },
      { OutputKey: 'StagingTargetGroupFullName', OutputValue: `targetgroup/${n.name.slice(0, 32).replace(/-+$/, '')}/0123456789abcdef` },
      { OutputKey: 'StagingLoadBalancerFullName', OutputValue: o.loadBalancer ?? SHARD_0_LOAD_BALANCER },
      ...(o.deploy?.commit ? [{ OutputKey: 'StagingCommit', OutputValue: o.deploy.commit }] : []),
      ...(o.deploy?.pullRequest ? [{ OutputKey: 'StagingPullRequest', OutputValue: o.deploy.pullRequest }] : []),
      ...(o.deploy?.image ? [{ OutputKey: 'StagingImage', OutputValue: o.deploy.image }] : []),
    ],
  };
}

export interface FakeOptions {
  /** Every call answers after this long (the benchmark's 50 ms). */
  readonly delayMs?: number;
  readonly nowMs: () => number;
}

/** The fake AWS: its state, the calls it answered, and the mocks that serve them. */
export class FakeAws {
  public readonly stacks: Stack[] = [];
  public readonly parameters = new Map<string, Parameter>();
  public readonly logEvents: LogEvent[] = [];
  public readonly logStreams = new Set<string>();
  public readonly published: Array<{ subject?: string; message?: string }> = [];
  public readonly deleted: Array<{ stackName?: string; roleArn?: string }> = [];
  public readonly invoked: Array<{ functionName?: string; payload: any }> = [];
  /** `service:Action` of every call, in order. */
  public readonly calls: string[] = [];
  /** Calls that fail, by `service:Action`. */
  public readonly failures = new Map<string, Error>();
  private readonly mocks: Array<{ restore(): void; reset(): unknown }> = [];
  private readonly paths = new BranchStatePaths(PARAMETER_PREFIX);

  constructor(private readonly options: FakeOptions) {}

  /** Adds a staging, its sleep state and pin. */
  public addStaging(branch: string, o: { kind?: string; status?: string; sleeping?: boolean; pin?: string; keepAlive?: Date; created?: Date; updated?: Date; loadBalancer?: string; deploy?: DeployInfo } = {}): string {
    const stack = stagingStack(branch, o);
    this.stacks.push(stack);
    const name = StagingNames.fromBranch(branch, PREFIX).name;
    const since = new Date(this.options.nowMs() - 3 * 3600_000).toISOString();
    this.put(this.paths.sleepStates.of(name), JSON.stringify({ state: o.sleeping ? 'sleeping' : 'awake', since }));
    if (o.pin) this.put(this.paths.pins.of(name), o.pin);
    if (o.keepAlive) this.put(this.paths.keepAlives.of(name), o.keepAlive.toISOString());
    return name;
  }

  public put(name: string, value: string): void {
    this.parameters.set(name, { value, modified: new Date(this.options.nowMs()) });
  }

  /** Serves every client of the page and of the sweeper from this state. */
  public install(): this {
    const answer = <I, O>(service: string, fn: (input: I) => O | Promise<O>) => async (input: I): Promise<O> => {
      this.calls.push(service);
      if (this.options.delayMs) await new Promise((resolve) => setTimeout(resolve, this.options.delayMs));
      const failure = this.failures.get(service);
      if (failure) throw failure;
      return fn(input);
    };
    const cf = mockClient(CloudFormationClient);
    cf.on(DescribeStacksCommand).callsFake(answer('cloudformation:DescribeStacks', (input: any) => {
      if (input.StackName) {
        const s = this.stacks.find((x) => x.StackName === input.StackName || x.StackId === input.StackName);
        if (!s) throw Object.assign(new Error(`Stack with id ${input.StackName} does not exist`), { name: 'ValidationError' });
        return { Stacks: [s] };
      }
      const start = Number(input.NextToken ?? 0);
      const page = this.stacks.slice(start, start + 100);
      return { Stacks: page, NextToken: start + 100 < this.stacks.length ? String(start + 100) : undefined };
    }));
    cf.on(DeleteStackCommand).callsFake(answer('cloudformation:DeleteStack', (input: any) => {
      this.deleted.push({ stackName: input.StackName, roleArn: input.RoleARN });
      const s = this.stacks.find((x) => x.StackId === input.StackName);
      if (s) s.StackStatus = 'DELETE_IN_PROGRESS';
      return {};
    }));
    const ssm = mockClient(SSMClient);
    ssm.on(GetParametersByPathCommand).callsFake(answer('ssm:GetParametersByPath', (input: any) => {
      const root = String(input.Path).replace(/\/+$/, '');
      const names = [...this.parameters.keys()].sort().filter((n) => n.startsWith(`${root}/`) && (input.Recursive || !n.slice(root.length + 1).includes('/')));
      const start = Number(input.NextToken ?? 0);
      const size = Math.min(input.MaxResults ?? 10, 10);
      const page = names.slice(start, start + size);
      return {
        Parameters: page.map((n) => ({ Name: n, Value: this.parameters.get(n)!.value, LastModifiedDate: this.parameters.get(n)!.modified })),
        NextToken: start + size < names.length ? String(start + size) : undefined,
      };
    }));
    ssm.on(GetParametersCommand).callsFake(answer('ssm:GetParameters', (input: any) => {
      if (input.Names.length > 10) throw Object.assign(new Error('at most 10 names'), { name: 'ValidationException' });
      const found = input.Names.filter((n: string) => this.parameters.has(n));
      return {
        Parameters: found.map((n: string) => ({ Name: n, Value: this.parameters.get(n)!.value, LastModifiedDate: this.parameters.get(n)!.modified })),
        InvalidParameters: input.Names.filter((n: string) => !this.parameters.has(n)),
      };
    }));
    ssm.on(GetParameterCommand).callsFake(answer('ssm:GetParameter', (input: any) => {
      const p = this.parameters.get(input.Name);
      if (!p) throw Object.assign(new Error('parameter not found'), { name: 'ParameterNotFound' });
      return { Parameter: { Name: input.Name, Value: p.value, LastModifiedDate: p.modified } };
    }));
    ssm.on(PutParameterCommand).callsFake(answer('ssm:PutParameter', (input: any) => {
      if (!input.Overwrite && this.parameters.has(input.Name)) throw Object.assign(new Error('exists'), { name: 'ParameterAlreadyExists' });
      this.put(input.Name, input.Value);
      return { Version: 1 };
    }));
    ssm.on(DeleteParameterCommand).callsFake(answer('ssm:DeleteParameter', (input: any) => {
      if (!this.parameters.delete(input.Name)) throw Object.assign(new Error('parameter not found'), { name: 'ParameterNotFound' });
      return {};
    }));
    const logs = mockClient(CloudWatchLogsClient);
    logs.on(CreateLogStreamCommand).callsFake(answer('logs:CreateLogStream', (input: any) => {
      const key = `${input.logGroupName}|${input.logStreamName}`;
      if (this.logStreams.has(key)) throw Object.assign(new Error('exists'), { name: 'ResourceAlreadyExistsException' });
      this.logStreams.add(key);
      return {};
    }));
    logs.on(PutLogEventsCommand).callsFake(answer('logs:PutLogEvents', (input: any) => {
      if (!this.logStreams.has(`${input.logGroupName}|${input.logStreamName}`)) throw Object.assign(new Error('no stream'), { name: 'ResourceNotFoundException' });
      for (const e of input.logEvents) this.logEvents.push({ group: input.logGroupName, stream: input.logStreamName, timestamp: e.timestamp, message: e.message });
      return {};
    }));
    logs.on(FilterLogEventsCommand).callsFake(answer('logs:FilterLogEvents', (input: any) => {
      const name = /\$\.stagingName = "([^"]+)"/.exec(input.filterPattern ?? '')?.[1];
      const events = this.logEvents.filter((e) => e.group === input.logGroupName && e.timestamp >= (input.startTime ?? 0) && (!name || JSON.parse(e.message).stagingName === name));
      return { events: events.map((e) => ({ timestamp: e.timestamp, message: e.message, logStreamName: e.stream })) };
    }));
    const sns = mockClient(SNSClient);
    sns.on(PublishCommand).callsFake(answer('sns:Publish', (input: any) => {
      this.published.push({ subject: input.Subject, message: input.Message });
      return { MessageId: 'm-1' };
    }));
    const cw = mockClient(CloudWatchClient);
    cw.on(GetMetricDataCommand).callsFake(answer('cloudwatch:GetMetricData', (input: any) => ({
      MetricDataResults: (input.MetricDataQueries ?? []).map((q: any) => ({ Id: q.Id, Timestamps: [], Values: [], StatusCode: 'Complete' })),
    })));
    const lambda = mockClient(LambdaClient);
    lambda.on(InvokeCommand).callsFake(answer('lambda:Invoke', (input: any) => {
      const payload = JSON.parse(new TextDecoder().decode(input.Payload));
      this.invoked.push({ functionName: input.FunctionName, payload });
      if (input.FunctionName !== SLEEPER) throw Object.assign(new Error(`Function not found: ${input.FunctionName}`), { name: 'ResourceNotFoundException' });
      return { StatusCode: 200, Payload: new TextEncoder().encode(JSON.stringify(this.sleeper(payload))) };
    }));
    lambda.on(GetFunctionConfigurationCommand).callsFake(answer('lambda:GetFunctionConfiguration', (input: any) => {
      if (input.FunctionName !== SWEEPER) throw Object.assign(new Error(`Function not found: ${input.FunctionName}`), { name: 'ResourceNotFoundException' });
      return { FunctionName: SWEEPER, Environment: { Variables: SWEEPER_ENV } };
    }));
    this.mocks.push(cf, ssm, logs, sns, cw, lambda);
    return this;
  }

  public restore(): void {
    for (const m of this.mocks) m.restore();
  }

  private sleeper(payload: Record<string, string>): unknown {
    const action = payload[SleeperEventKeys.WAKE] ? 'wake' : 'sleep';
    const name = payload[action];
    const parameter = this.paths.sleepStates.of(name);
    const current = JSON.parse(this.parameters.get(parameter)?.value ?? '{"state":"awake"}').state;
    const target = action === 'wake' ? (current === 'awake' ? 'awake' : 'waking') : 'sleeping';
    const changed = target !== current;
    if (changed) this.put(parameter, JSON.stringify({ state: target, since: new Date(this.options.nowMs()).toISOString(), reason: 'manual' }));
    return { action, stagingName: name, branch: name, state: target, changed, reason: changed ? `${action} started` : `already ${current}`, ...(action === 'wake' ? { expectedSeconds: 130 } : {}) };
  }

}
