/**
 * `staging doctor`: a read-only preflight of an account and region, for before the first deploy
 * and whenever something is odd. Each check says ✓ (fine), ! (works, but read this) or ✗ (fix it
 * before deploying), with the fix; `--json` prints the same. Any ✗ makes the exit code 1.
 *
 * It only reads: every AWS call it makes is a Get*, List* or Describe* (test/cli/doctor.test.ts
 * fails on any other). Checks:
 * - Node.js and session-manager-plugin (for `staging console`), on this machine;
 * - credentials (sts:GetCallerIdentity) and the region;
 * - the CDK bootstrap stack and its version (SSM `/cdk-bootstrap/<qualifier>/version`, else the
 *   stack's `BootstrapVersion` output), against the version aws-cdk-lib's templates require;
 * - the shared stack: present, its status, and the library version it records against this one;
 * - the hosted zone: it exists, is public, and the staging domain lies inside it;
 * - the service-linked roles ECS, Elastic Load Balancing, RDS and ElastiCache need;
 * - the quotas that bind this library (Service Quotas, with the AWS default when no value is
 *   applied), each with its current usage and what the next deploy needs.
 */
import { DescribeStacksCommand, Stack } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeAddressesCommand, EC2Client, paginateDescribeVpcs } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client, paginateDescribeListeners, paginateDescribeRules, paginateDescribeTargetGroups } from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { RDSClient, paginateDescribeDBInstances } from '@aws-sdk/client-rds';
import { GetHostedZoneCommand, ListHostedZonesByNameCommand, Route53Client } from '@aws-sdk/client-route-53';
import { GetAWSDefaultServiceQuotaCommand, GetServiceQuotaCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { GetParameterCommand, GetParametersCommand } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { SharedStagingNames } from '../../lib/contract/naming';
import { SharedParameterNames, SharedStackOutputs } from '../../lib/contract/staging';
import { libraryVersion } from '../../lib/contract/version';
import { ClientFactory, Clients, GlobalOptions, regionOf } from '../aws';
import { CliError, Io, UsageError, explainAwsError } from '../io';
import { colors, writeJson } from '../render';
import { realSystem } from '../system';
import { PLUGIN } from './console';

export interface DoctorOptions extends GlobalOptions {
  /** The staging domain (e.g. `staging.example.com`), before the shared stack records it. */
  readonly domain?: string;
  /** The Route 53 hosted zone id, before the shared stack records it. */
  readonly hostedZoneId?: string;
  /** The CDK bootstrap qualifier. */
  readonly qualifier?: string;
  /** The CDK bootstrap stack's name. */
  readonly toolkitStackName?: string;
}

/** ok ✓, warn ! (works; read it), fail ✗ (fix before deploying), skip - (could not be checked because an earlier check failed). */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** Stable id, e.g. `bootstrap`, `quota:rules-per-alb`. */
  readonly id: string;
  readonly title: string;
  readonly status: CheckStatus;
  /** What was found. */
  readonly detail: string;
  /** What to do (for warn and fail). */
  readonly fix?: string;
  /** For quotas: what is used, the limit, what the next deploy needs, and where the limit came from. */
  readonly quota?: QuotaFigures;
}

export interface QuotaFigures {
  readonly serviceCode: string;
  readonly quotaCode: string;
  readonly usage: number;
  readonly limit: number;
  readonly needed: number;
  /** `applied` (Service Quotas, this account), `aws-default` (Service Quotas' default) or `documented` (AWS's documented default: Service Quotas did not answer). */
  readonly limitSource: 'applied' | 'aws-default' | 'documented';
  /** Why the documented default stands in. */
  readonly limitNote?: string;
  readonly adjustable: boolean;
}

export interface DoctorReport {
  readonly region: string;
  readonly account?: string;
  readonly libraryVersion: string;
  readonly ok: boolean;
  readonly checks: CheckResult[];
}

/** The bootstrap version aws-cdk-lib's DefaultStackSynthesizer requires to deploy (MIN_BOOTSTRAP_STACK_VERSION). */
export const MIN_BOOTSTRAP_VERSION = 6;
/** The oldest Node.js this package supports (package.json engines). */
export const MIN_NODE_MAJOR = 20;
/** The AWS SDK for JavaScript v3 needs Node.js 22 for its releases after the first week of January 2027. */
export const SDK_NODE_MAJOR = 22;

/**
 * The quotas that bind this library. `perBranch` is what one more branch staging adds at the
 * defaults (its target group and listener rule, a web service of 0.25 vCPU, its own database for
 * a full branch); `firstDeploy` is what the shared stack needs at the ready-made app's defaults
 * (one VPC, one NAT gateway with its Elastic IP, the shared Postgres, the shared app's target
 * group and the waker's, one host rule, two services of 0.25 vCPU). Services with more vCPU or
 * more workers need more: the check says how far the account is from the limit.
 */
export const QUOTAS = {
  targetGroupsPerAlb: { id: 'quota:target-groups-per-alb', title: 'target groups per load balancer', serviceCode: 'elasticloadbalancing', quotaCode: 'L-822D1B1B', documented: 100, adjustable: false, perBranch: 1, firstDeploy: 2, free: 'destroy unused stagings (staging sweep, staging destroy)' },
  rulesPerAlb: { id: 'quota:rules-per-alb', title: 'rules per load balancer', serviceCode: 'elasticloadbalancing', quotaCode: 'L-7EED9B64', documented: 100, adjustable: true, perBranch: 1, firstDeploy: 1, free: 'destroy unused stagings (staging sweep, staging destroy)' },
  fargateVcpu: { id: 'quota:fargate-vcpu', title: 'Fargate On-Demand vCPU', serviceCode: 'fargate', quotaCode: 'L-3032A538', documented: 6, adjustable: true, perBranch: 0.25, firstDeploy: 0.5, free: 'put idle stagings to sleep (staging sleep) or destroy them' },
  elasticIps: { id: 'quota:elastic-ips', title: 'Elastic IPs', serviceCode: 'ec2', quotaCode: 'L-0263D0A3', documented: 5, adjustable: true, perBranch: 0, firstDeploy: 1, free: 'release unused Elastic IPs (aws ec2 describe-addresses)' },
  vpcs: { id: 'quota:vpcs', title: 'VPCs', serviceCode: 'vpc', quotaCode: 'L-F678F1CE', documented: 5, adjustable: true, perBranch: 0, firstDeploy: 1, free: 'delete unused VPCs' },
  rdsInstances: { id: 'quota:rds-instances', title: 'RDS DB instances', serviceCode: 'rds', quotaCode: 'L-7B6409FD', documented: 40, adjustable: true, perBranch: 1, firstDeploy: 1, free: 'delete unused DB instances or destroy unused stagings' },
} as const;

type QuotaSpec = (typeof QUOTAS)[keyof typeof QUOTAS];

/** The service-linked roles the shared and branch stacks need, by the service that creates them. */
export const SERVICE_LINKED_ROLES = [
  { role: 'AWSServiceRoleForECS', service: 'ecs.amazonaws.com', name: 'ECS' },
  { role: 'AWSServiceRoleForElasticLoadBalancing', service: 'elasticloadbalancing.amazonaws.com', name: 'Elastic Load Balancing' },
  { role: 'AWSServiceRoleForRDS', service: 'rds.amazonaws.com', name: 'RDS' },
  { role: 'AWSServiceRoleForElastiCache', service: 'elasticache.amazonaws.com', name: 'ElastiCache' },
] as const;

/** The clients doctor reads with besides the CLI's own (Clients), with the same retries. */
export interface DoctorClients extends Clients {
  readonly sts: STSClient;
  readonly iam: IAMClient;
  readonly route53: Route53Client;
  readonly quotas: ServiceQuotasClient;
  readonly ec2: EC2Client;
  readonly elbv2: ElasticLoadBalancingV2Client;
  readonly rds: RDSClient;
  readonly cloudwatch: CloudWatchClient;
}

function doctorClients(clients: Clients): DoctorClients {
  // Fewer attempts than the other commands: a check that cannot get an answer says so quickly.
  const config = { region: clients.region, maxAttempts: 3, retryMode: 'adaptive' as const };
  return {
    ...clients,
    sts: new STSClient(config),
    iam: new IAMClient(config),
    route53: new Route53Client(config),
    quotas: new ServiceQuotasClient(config),
    ec2: new EC2Client(config),
    elbv2: new ElasticLoadBalancingV2Client(config),
    rds: new RDSClient(config),
    cloudwatch: new CloudWatchClient(config),
  };
}

/** Checks the flags; bad values are UsageErrors naming the flag, the value and the fix. */
export function validateDoctorOptions(options: DoctorOptions): void {
  if (options.domain !== undefined && !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]\.?$/i.test(options.domain)) {
    throw new UsageError(`--domain must be a DNS name like staging.example.com (got ${JSON.stringify(options.domain)}); pass the domainName the shared stack uses`);
  }
  if (options.hostedZoneId !== undefined && !/^(\/hostedzone\/)?[A-Z0-9]{1,32}$/.test(options.hostedZoneId)) {
    throw new UsageError(`--hosted-zone-id must be a Route 53 hosted zone id like Z0123456789ABCDEFGHIJ (got ${JSON.stringify(options.hostedZoneId)}); see aws route53 list-hosted-zones`);
  }
  if (options.toolkitStackName !== undefined && !/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(options.toolkitStackName)) {
    throw new UsageError(`--toolkit-stack-name must be a CloudFormation stack name (letters, digits, hyphens; got ${JSON.stringify(options.toolkitStackName)}); the default is CDKToolkit`);
  }
  if (options.qualifier !== undefined && !/^[A-Za-z0-9_-]{1,10}$/.test(options.qualifier)) {
    throw new UsageError(`--qualifier must be the CDK bootstrap qualifier, up to 10 letters or digits (got ${JSON.stringify(options.qualifier)}); the default is hnb659fds`);
  }
}

/** Node.js: below the package's engines fails; below what the AWS SDK will need warns. */
export function nodeCheck(version: string): CheckResult {
  const major = Number(/^v?(\d+)/.exec(version)?.[1] ?? 0);
  const title = 'Node.js';
  if (major < MIN_NODE_MAJOR) {
    return { id: 'node', title, status: 'fail', detail: `Node.js ${version}; cdk-multi-staging needs ${MIN_NODE_MAJOR} or later`, fix: `Install Node.js ${SDK_NODE_MAJOR} LTS (https://nodejs.org), then run again.` };
  }
  if (major < SDK_NODE_MAJOR) {
    return {
      id: 'node', title, status: 'warn', detail: `Node.js ${version} works today`,
      fix: `The AWS SDK for JavaScript v3 needs Node.js ${SDK_NODE_MAJOR} or later for its releases after the first week of January 2027: move to Node.js ${SDK_NODE_MAJOR} LTS.`,
    };
  }
  return { id: 'node', title, status: 'ok', detail: `Node.js ${version}` };
}

/** A region name as AWS spells them (eu-west-1, us-gov-west-1, cn-north-1). */
export function regionCheck(region: string, source: string): CheckResult {
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) {
    return { id: 'region', title: 'region', status: 'fail', detail: `${JSON.stringify(region)} (${source}) is not an AWS region name`, fix: 'Pass --region <region> (e.g. --region eu-west-1) or set AWS_REGION.' };
  }
  return { id: 'region', title: 'region', status: 'ok', detail: `${region} (${source})` };
}

/** A quota's verdict: over the limit fails; within 80% of it warns. */
export function quotaCheck(spec: QuotaSpec, figures: Omit<QuotaFigures, 'serviceCode' | 'quotaCode' | 'adjustable'>, where: string, next: string): CheckResult {
  const quota: QuotaFigures = { serviceCode: spec.serviceCode, quotaCode: spec.quotaCode, adjustable: spec.adjustable, ...figures };
  const limitText = `${fmt(quota.limit)}${quota.limitSource === 'applied' ? '' : quota.limitSource === 'aws-default' ? ' (AWS default)' : ` (AWS documented default: ${quota.limitNote ?? 'Service Quotas did not answer'})`}`;
  const detail = `${fmt(quota.usage)} of ${limitText} used ${where}; ${next} brings it to ${fmt(quota.needed)}`;
  const raise = spec.adjustable
    ? `aws service-quotas request-service-quota-increase --service-code ${spec.serviceCode} --quota-code ${spec.quotaCode} --desired-value ${Math.ceil(Math.max(quota.needed * 2, quota.limit * 2))}`
    : undefined;
  if (quota.needed > quota.limit) {
    return {
      id: spec.id, title: spec.title, status: 'fail', detail, quota,
      fix: raise
        ? `Raise the quota (${spec.serviceCode} ${spec.quotaCode}): ${raise}, or ${spec.free}.`
        : `This quota (${spec.serviceCode} ${spec.quotaCode}) cannot be raised: ${spec.free}, or give more branches a second shared stack (another --prefix).`,
    };
  }
  if (quota.needed > quota.limit * 0.8) {
    return {
      id: spec.id, title: spec.title, status: 'warn', detail, quota,
      fix: raise ? `Close to the limit: raise it before it binds: ${raise}` : `Close to a limit that cannot be raised: ${spec.free}.`,
    };
  }
  return { id: spec.id, title: spec.title, status: 'ok', detail, quota };
}

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));

export async function doctorCommand(options: DoctorOptions, io: Io, factory: ClientFactory): Promise<void> {
  validateDoctorOptions(options);
  const report = await runDoctor(options, io, factory);
  if (options.json) {
    writeJson(io, report);
  } else {
    const c = colors(io);
    const mark: Record<CheckStatus, string> = { ok: c.green('✓'), warn: c.yellow('!'), fail: c.red('✗'), skip: c.dim('-') };
    for (const check of report.checks) {
      io.stdout.write(`${mark[check.status]} ${check.title}: ${check.detail}\n`);
      if (check.fix && check.status !== 'ok') io.stdout.write(`    ${check.status === 'fail' ? 'fix' : 'note'}: ${check.fix}\n`);
    }
    const count = (s: CheckStatus) => report.checks.filter((x) => x.status === s).length;
    io.stdout.write(`\n${count('ok')} ok, ${count('warn')} to note, ${count('fail')} failed${count('skip') ? `, ${count('skip')} not checked` : ''} (${report.account ? `account ${report.account}, ` : ''}${report.region})\n`);
  }
  const failed = report.checks.filter((x) => x.status === 'fail');
  if (failed.length) throw new CliError(`doctor: ${failed.length} check(s) failed (${failed.map((f) => f.id).join(', ')}); each says its fix.`);
}

/** Runs every check; never throws for what a check finds (only for bad flags). */
export async function runDoctor(options: DoctorOptions, io: Io, factory: ClientFactory): Promise<DoctorReport> {
  const system = io.system ?? realSystem;
  const checks: CheckResult[] = [nodeCheck(process.versions.node)];
  const plugin = system.which(PLUGIN);
  checks.push(plugin
    ? { id: 'session-manager-plugin', title: PLUGIN, status: 'ok', detail: plugin }
    : {
      id: 'session-manager-plugin', title: PLUGIN, status: 'warn', detail: 'not on PATH; only `staging console` needs it (without it, it prints the `aws ecs execute-command` line)',
      fix: 'Install it: https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html',
    });

  const region = regionOf(options, io.env);
  const source = options.region ? '--region' : io.env.AWS_REGION ? 'AWS_REGION' : 'AWS_DEFAULT_REGION';
  const regionResult = regionCheck(region, source);
  if (regionResult.status === 'fail') return finish(region, undefined, [...checks, regionResult]);
  const clients = doctorClients(factory(region));

  let account: string | undefined;
  try {
    const me = await clients.sts.send(new GetCallerIdentityCommand({}));
    account = me.Account;
    checks.push({ id: 'credentials', title: 'credentials', status: 'ok', detail: `account ${me.Account} as ${me.Arn}` });
  } catch (e) {
    checks.push({ id: 'credentials', title: 'credentials', status: 'fail', detail: 'sts:GetCallerIdentity failed', fix: explain(e, 'sts:GetCallerIdentity') });
    checks.push(regionResult);
    const rest = ['bootstrap', 'shared-stack', 'hosted-zone', 'service-linked-roles', ...Object.values(QUOTAS).map((q) => q.id)];
    for (const id of rest) checks.push({ id, title: id.replace(/^quota:/, ''), status: 'skip', detail: 'not checked: no working credentials' });
    return finish(region, undefined, checks);
  }
  checks.push(regionResult);

  checks.push(await guarded('bootstrap', 'CDK bootstrap', () => bootstrapCheck(clients, account!, options)));
  const shared = await readShared(clients, options.prefix);
  checks.push(sharedStackCheck(shared, options.prefix));
  checks.push(await guarded('hosted-zone', 'hosted zone', () => hostedZoneCheck(clients, shared, options)));
  checks.push(...(await Promise.all(SERVICE_LINKED_ROLES.map((r) => guarded(`service-linked-role:${r.role}`, `service-linked role ${r.role}`, () => serviceLinkedRoleCheck(clients, r))))));
  checks.push(...(await quotaChecks(clients, shared)));
  return finish(region, account, checks);
}

function finish(region: string, account: string | undefined, checks: CheckResult[]): DoctorReport {
  return { region, account, libraryVersion: libraryVersion(), ok: !checks.some((c) => c.status === 'fail'), checks };
}

/** What an AWS error means for the user, in one sentence with its fix. */
function explain(e: unknown, action: string): string {
  return explainAwsError(e, action)?.message ?? `${action} failed: ${(e as Error)?.name ?? 'Error'}: ${(e as Error)?.message ?? String(e)}`;
}

/** A check whose AWS calls may fail: a missing permission warns (not checked), anything else fails. */
async function guarded(id: string, title: string, check: () => Promise<CheckResult>): Promise<CheckResult> {
  try {
    return await check();
  } catch (e) {
    const name = String((e as any)?.name ?? '');
    if (/AccessDenied|UnauthorizedOperation|NotAuthorized/i.test(name)) {
      return { id, title, status: 'warn', detail: 'not checked: missing permission', fix: explain(e, title) };
    }
    return { id, title, status: 'fail', detail: `could not be checked (${name || 'error'})`, fix: explain(e, title) };
  }
}

const isNotFound = (e: unknown) => /does not exist|not found/i.test(String((e as any)?.message)) || /NotFound|NoSuch/.test(String((e as any)?.name));

async function describeStack(clients: Clients, stackName: string): Promise<Stack | undefined> {
  try {
    const out = await clients.cloudformation.send(new DescribeStacksCommand({ StackName: stackName }));
    return out.Stacks?.[0];
  } catch (e) {
    if ((e as any)?.name === 'ValidationError' && isNotFound(e)) return undefined;
    throw e;
  }
}

const outputOf = (s: Stack | undefined, key: string) => s?.Outputs?.find((o) => o.OutputKey === key)?.OutputValue;

async function bootstrapCheck(clients: DoctorClients, account: string, options: DoctorOptions): Promise<CheckResult> {
  const qualifier = options.qualifier ?? 'hnb659fds';
  const stackName = options.toolkitStackName ?? 'CDKToolkit';
  const bootstrap = `npx cdk bootstrap aws://${account}/${clients.region}${options.qualifier ? ` --qualifier ${qualifier}` : ''}${options.toolkitStackName ? ` --toolkit-stack-name ${stackName}` : ''}`;
  const title = 'CDK bootstrap';
  const stack = await describeStack(clients, stackName);
  if (!stack) {
    return { id: 'bootstrap', title, status: 'fail', detail: `no ${stackName} stack in ${clients.region}: this account and region are not bootstrapped`, fix: `Run: ${bootstrap}` };
  }
  const status = stack.StackStatus ?? 'UNKNOWN';
  if (!/_COMPLETE$/.test(status) || /ROLLBACK_COMPLETE$/.test(status) && status !== 'UPDATE_ROLLBACK_COMPLETE' || status.startsWith('DELETE')) {
    return { id: 'bootstrap', title, status: 'fail', detail: `${stackName} is ${status}`, fix: `See its events (aws cloudformation describe-stack-events --stack-name ${stackName}), then run: ${bootstrap}` };
  }
  const parameterName = `/cdk-bootstrap/${qualifier}/version`;
  let version: number | undefined;
  const from = `SSM ${parameterName}`;
  try {
    const p = await clients.ssm.send(new GetParameterCommand({ Name: parameterName }));
    version = Number(p.Parameter?.Value);
  } catch (e) {
    if ((e as any)?.name !== 'ParameterNotFound') throw e;
  }
  if (version === undefined || Number.isNaN(version)) {
    const out = outputOf(stack, 'BootstrapVersion');
    if (out !== undefined) {
      // Deploys read the SSM parameter: without it they fail even with a bootstrapped stack.
      return {
        id: 'bootstrap', title, status: 'fail', detail: `${stackName} (${status}) is version ${out}, but SSM ${parameterName} is missing (qualifier ${qualifier})`,
        fix: `cdk deploy reads ${parameterName}: pass the qualifier the stack was bootstrapped with (--qualifier), or run: ${bootstrap}`,
      };
    }
    return { id: 'bootstrap', title, status: 'fail', detail: `${stackName} (${status}) records no bootstrap version (no ${parameterName})`, fix: `Run: ${bootstrap}` };
  }
  if (version < MIN_BOOTSTRAP_VERSION) {
    return { id: 'bootstrap', title, status: 'fail', detail: `version ${version} (${from}); aws-cdk-lib needs ${MIN_BOOTSTRAP_VERSION} or later`, fix: `Update it: ${bootstrap}` };
  }
  return { id: 'bootstrap', title, status: 'ok', detail: `${stackName} ${status}, version ${version} (${from}; needs ${MIN_BOOTSTRAP_VERSION} or later)` };
}

interface SharedFound {
  readonly stackName: string;
  readonly stack?: Stack;
  readonly error?: unknown;
  readonly parameterPrefix: string;
  /** The parameters the shared stack publishes, by SharedParameterNames value. */
  readonly parameters: Map<string, string>;
}

async function readShared(clients: DoctorClients, prefix: string): Promise<SharedFound> {
  const stackName = new SharedStagingNames(prefix).stackName;
  let stack: Stack | undefined;
  try {
    stack = await describeStack(clients, stackName);
  } catch (error) {
    return { stackName, error, parameterPrefix: `/${prefix}`, parameters: new Map() };
  }
  const parameterPrefix = outputOf(stack, 'SharedStagingParameterPrefix') ?? `/${prefix}`;
  const wanted = [SharedParameterNames.DOMAIN_NAME, SharedParameterNames.HOSTED_ZONE_ID, SharedParameterNames.LOAD_BALANCER_ARN];
  const parameters = new Map<string, string>();
  if (stack) {
    try {
      const out = await clients.ssm.send(new GetParametersCommand({ Names: wanted.map((w) => `${parameterPrefix}/${w}`) }));
      for (const p of out.Parameters ?? []) if (p.Name && p.Value) parameters.set(p.Name.slice(parameterPrefix.length + 1), p.Value);
    } catch {
      // The checks that need them say what is missing.
    }
  }
  return { stackName, stack, parameterPrefix, parameters };
}

function sharedStackCheck(shared: SharedFound, prefix: string): CheckResult {
  const title = 'shared stack';
  const installed = libraryVersion();
  const deploy = `npx cdk deploy ${shared.stackName}`;
  if (shared.error) return { id: 'shared-stack', title, status: 'fail', detail: `could not be read`, fix: explain(shared.error, `cloudformation:DescribeStacks on ${shared.stackName}`) };
  if (!shared.stack) {
    return {
      id: 'shared-stack', title, status: 'warn', detail: `${shared.stackName} is not deployed in this region (expected before the first deploy)`,
      fix: `Deploy it first: ${deploy}. If it exists, check --prefix (now ${prefix}) and --region.`,
    };
  }
  const status = shared.stack.StackStatus ?? 'UNKNOWN';
  if (/FAILED$/.test(status) || status === 'ROLLBACK_COMPLETE' || status.startsWith('DELETE')) {
    return { id: 'shared-stack', title, status: 'fail', detail: `${shared.stackName} is ${status}`, fix: `See why: aws cloudformation describe-stack-events --stack-name ${shared.stackName}; then fix it and run ${deploy}.` };
  }
  if (status.endsWith('_IN_PROGRESS')) {
    return { id: 'shared-stack', title, status: 'warn', detail: `${shared.stackName} is ${status}`, fix: 'A deploy is under way: wait for it to finish, then run staging doctor again.' };
  }
  const deployed = outputOf(shared.stack, SharedStackOutputs.LIBRARY_VERSION);
  if (!deployed) {
    return {
      id: 'shared-stack', title, status: 'warn', detail: `${shared.stackName} ${status}; it records no library version (deployed by a cdk-multi-staging before the ${SharedStackOutputs.LIBRARY_VERSION} output); installed ${installed}`,
      fix: `Deploy it with the installed library (${deploy}) so that it records its version.`,
    };
  }
  if (deployed !== installed) {
    return {
      id: 'shared-stack', title, status: 'warn', detail: `${shared.stackName} ${status}, deployed by cdk-multi-staging ${deployed}; installed ${installed}: drift`,
      fix: `Deploy the shared stack with the installed library (${deploy}) before deploying branches with it, or install ${deployed} (npm install cdk-multi-staging@${deployed}).`,
    };
  }
  return { id: 'shared-stack', title, status: 'ok', detail: `${shared.stackName} ${status}, cdk-multi-staging ${deployed} (installed ${installed})` };
}

async function hostedZoneCheck(clients: DoctorClients, shared: SharedFound, options: DoctorOptions): Promise<CheckResult> {
  const title = 'hosted zone';
  const domain = (options.domain ?? shared.parameters.get(SharedParameterNames.DOMAIN_NAME))?.replace(/\.$/, '').toLowerCase();
  const zoneId = (options.hostedZoneId ?? shared.parameters.get(SharedParameterNames.HOSTED_ZONE_ID))?.replace(/^\/hostedzone\//, '');
  const from = options.domain || options.hostedZoneId ? 'flags' : `SSM ${shared.parameterPrefix}/shared/*`;
  if (!domain && !zoneId) {
    return {
      id: 'hosted-zone', title, status: 'warn', detail: `not checked: no domain known (${shared.stack ? `${shared.parameterPrefix}/${SharedParameterNames.DOMAIN_NAME} is missing` : 'no shared stack yet'})`,
      fix: 'Pass the domain and zone the shared stack will use: staging doctor --domain staging.example.com --hosted-zone-id Z0123456789ABCDEFGHIJ',
    };
  }
  if (!zoneId) {
    const zones = await clients.route53.send(new ListHostedZonesByNameCommand({ DNSName: domain }));
    const candidates = (zones.HostedZones ?? []).filter((z) => !z.Config?.PrivateZone && inside(domain!, zoneName(z.Name)));
    const best = candidates.sort((a, b) => zoneName(b.Name).length - zoneName(a.Name).length)[0];
    if (!best) {
      return {
        id: 'hosted-zone', title, status: 'fail', detail: `no public hosted zone holds ${domain} in this account`,
        fix: `Create one (aws route53 create-hosted-zone --name ${domain} --caller-reference doctor-$(date +%s)) and delegate it from its parent, or pass --hosted-zone-id of the zone that holds ${domain}.`,
      };
    }
    const id = String(best.Id).replace(/^\/hostedzone\//, '');
    return { id: 'hosted-zone', title, status: 'warn', detail: `${domain} lies in ${zoneName(best.Name)} (${id}), found by name`, fix: `Pass it to be sure it is the zone the shared stack uses: --hosted-zone-id ${id}` };
  }
  let zone;
  try {
    zone = (await clients.route53.send(new GetHostedZoneCommand({ Id: zoneId }))).HostedZone;
  } catch (e) {
    if ((e as any)?.name === 'NoSuchHostedZone') {
      return { id: 'hosted-zone', title, status: 'fail', detail: `hosted zone ${zoneId} (${from}) does not exist in this account`, fix: 'Pass the id of an existing public zone (aws route53 list-hosted-zones) as --hosted-zone-id.' };
    }
    throw e;
  }
  const name = zoneName(zone?.Name);
  if (zone?.Config?.PrivateZone) {
    return { id: 'hosted-zone', title, status: 'fail', detail: `${zoneId} (${name}) is a private zone`, fix: 'Branch URLs and the certificate\'s DNS validation need a public zone: pass a public zone\'s id.' };
  }
  if (!domain) {
    return { id: 'hosted-zone', title, status: 'warn', detail: `${zoneId} is ${name}; no domain to check against it`, fix: `Pass the staging domain: --domain staging.${name}` };
  }
  if (!inside(domain, name)) {
    return {
      id: 'hosted-zone', title, status: 'fail', detail: `${domain} does not lie in ${zoneId} (${name}) (${from})`,
      fix: `Use a domainName ending in .${name} (e.g. staging.${name}), or the zone that holds ${domain}.`,
    };
  }
  return { id: 'hosted-zone', title, status: 'ok', detail: `${domain} lies in ${name} (${zoneId}, public; ${from})` };
}

const zoneName = (name: string | undefined) => String(name ?? '').replace(/\.$/, '').toLowerCase();
const inside = (domain: string, zone: string) => domain === zone || domain.endsWith(`.${zone}`);

async function serviceLinkedRoleCheck(clients: DoctorClients, r: (typeof SERVICE_LINKED_ROLES)[number]): Promise<CheckResult> {
  const title = `service-linked role ${r.role}`;
  const id = `service-linked-role:${r.role}`;
  try {
    await clients.iam.send(new GetRoleCommand({ RoleName: r.role }));
    return { id, title, status: 'ok', detail: 'exists' };
  } catch (e) {
    if ((e as any)?.name !== 'NoSuchEntity' && (e as any)?.name !== 'NoSuchEntityException') throw e;
  }
  // Each service creates its role on first use when the deploying role may iam:CreateServiceLinkedRole
  // (the CDK bootstrap's execution role may). ECS is the known exception: a stack that creates
  // the account's first cluster can fail before the role exists.
  const create = `aws iam create-service-linked-role --aws-service-name ${r.service}`;
  return {
    id, title, status: 'warn', detail: `missing; ${r.name} creates it on first use if the deploy role may iam:CreateServiceLinkedRole`,
    fix: r.role === 'AWSServiceRoleForECS'
      ? `Create it now (the account's first ECS cluster can fail in CloudFormation before ECS has made it): ${create}`
      : `Nothing to do with the CDK bootstrap's default execution role; otherwise create it now: ${create}`,
  };
}

/**
 * The applied value, else the AWS default (Service Quotas), else AWS's documented default. A
 * lookup that fails (no permission for servicequotas:*, the API unavailable) does not hide the
 * usage: the documented default stands in, and the detail says why.
 */
async function quotaLimit(clients: DoctorClients, spec: QuotaSpec): Promise<{ limit: number; limitSource: QuotaFigures['limitSource']; limitNote?: string }> {
  const ids = { ServiceCode: spec.serviceCode, QuotaCode: spec.quotaCode };
  const noSuch = (e: unknown) => /NoSuchResource/.test(String((e as any)?.name));
  const why = (e: unknown) => `${(e as any)?.name ?? 'Error'} from Service Quotas`;
  try {
    const out = await clients.quotas.send(new GetServiceQuotaCommand(ids));
    if (out.Quota?.Value !== undefined) return { limit: out.Quota.Value, limitSource: 'applied' };
  } catch (e) {
    if (!noSuch(e)) return { limit: spec.documented, limitSource: 'documented', limitNote: why(e) };
  }
  try {
    const out = await clients.quotas.send(new GetAWSDefaultServiceQuotaCommand(ids));
    if (out.Quota?.Value !== undefined) return { limit: out.Quota.Value, limitSource: 'aws-default' };
  } catch (e) {
    if (!noSuch(e)) return { limit: spec.documented, limitSource: 'documented', limitNote: why(e) };
  }
  return { limit: spec.documented, limitSource: 'documented', limitNote: 'Service Quotas does not know it' };
}

async function quotaChecks(clients: DoctorClients, shared: SharedFound): Promise<CheckResult[]> {
  const first = !shared.stack;
  const step = (spec: QuotaSpec) => (first ? spec.firstDeploy : spec.perBranch);
  const next = first ? 'the shared stack' : 'one more branch';
  const alb = shared.parameters.get(SharedParameterNames.LOAD_BALANCER_ARN);
  const one = (spec: QuotaSpec, usage: () => Promise<{ usage: number; where: string }>) =>
    guarded(spec.id, spec.title, async () => {
      const [{ limit, limitSource, limitNote }, used] = await Promise.all([quotaLimit(clients, spec), usage()]);
      return quotaCheck(spec, { usage: used.usage, limit, limitSource, limitNote, needed: used.usage + step(spec) }, used.where, next);
    });
  return Promise.all([
    one(QUOTAS.targetGroupsPerAlb, async () => ({ usage: alb ? await targetGroupsOf(clients, alb) : 0, where: alb ? 'on the shared load balancer' : '(no shared load balancer yet)' })),
    one(QUOTAS.rulesPerAlb, async () => ({ usage: alb ? await rulesOf(clients, alb) : 0, where: alb ? 'on the shared load balancer (default rules not counted)' : '(no shared load balancer yet)' })),
    one(QUOTAS.fargateVcpu, async () => ({ usage: await fargateVcpus(clients), where: 'at the most in the last hour (AWS/Usage)' })),
    one(QUOTAS.elasticIps, async () => ({ usage: (await clients.ec2.send(new DescribeAddressesCommand({}))).Addresses?.length ?? 0, where: 'in this region' })),
    one(QUOTAS.vpcs, async () => ({ usage: await count(paginateDescribeVpcs({ client: clients.ec2 }, {}), (p) => p.Vpcs), where: 'in this region' })),
    one(QUOTAS.rdsInstances, async () => ({ usage: await count(paginateDescribeDBInstances({ client: clients.rds }, {}), (p) => p.DBInstances), where: 'in this region' })),
  ]);
}

async function count<P>(pages: AsyncIterable<P>, items: (page: P) => unknown[] | undefined): Promise<number> {
  let n = 0;
  for await (const page of pages) n += items(page)?.length ?? 0;
  return n;
}

async function targetGroupsOf(clients: DoctorClients, loadBalancerArn: string): Promise<number> {
  return count(paginateDescribeTargetGroups({ client: clients.elbv2 }, { LoadBalancerArn: loadBalancerArn }), (p) => p.TargetGroups);
}

async function rulesOf(clients: DoctorClients, loadBalancerArn: string): Promise<number> {
  let n = 0;
  for await (const page of paginateDescribeListeners({ client: clients.elbv2 }, { LoadBalancerArn: loadBalancerArn })) {
    for (const listener of page.Listeners ?? []) {
      for await (const rules of paginateDescribeRules({ client: clients.elbv2 }, { ListenerArn: listener.ListenerArn })) {
        n += (rules.Rules ?? []).filter((r) => !r.IsDefault).length;
      }
    }
  }
  return n;
}

/** The highest Fargate On-Demand vCPU count in the last hour, from the AWS/Usage metric Service Quotas reads. */
async function fargateVcpus(clients: DoctorClients): Promise<number> {
  const end = new Date();
  const out = await clients.cloudwatch.send(new GetMetricDataCommand({
    StartTime: new Date(end.getTime() - 3600_000),
    EndTime: end,
    MetricDataQueries: [{
      Id: 'vcpu',
      MetricStat: {
        Metric: {
          Namespace: 'AWS/Usage',
          MetricName: 'ResourceCount',
          Dimensions: [
            { Name: 'Service', Value: 'Fargate' },
            { Name: 'Type', Value: 'Resource' },
            { Name: 'Resource', Value: 'vCPU' },
            { Name: 'Class', Value: 'Standard/OnDemand' },
          ],
        },
        Period: 300,
        Stat: 'Maximum',
      },
    }],
  }));
  return Math.max(0, ...(out.MetricDataResults?.[0]?.Values ?? []));
}
