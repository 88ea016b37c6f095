/**
 * `staging doctor` against aws-sdk-client-mock: each check's verdict and fix, the exit code,
 * `--json`, bad flags, and that it never calls anything but Get*, List* and Describe*.
 * test/moto/cli.moto.test.ts runs it against moto's server as well.
 */
import { CloudFormationClient, DescribeStacksCommand, Stack } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeAddressesCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeListenersCommand, DescribeRulesCommand, DescribeTargetGroupsCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { GetHostedZoneCommand, ListHostedZonesByNameCommand, Route53Client } from '@aws-sdk/client-route-53';
import { GetAWSDefaultServiceQuotaCommand, GetServiceQuotaCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { GetParameterCommand, GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { AwsStub, mockClient } from 'aws-sdk-client-mock';
import { DoctorReport, QUOTAS, nodeCheck, quotaCheck, regionCheck } from '../../cli/commands/doctor';
import { run } from '../../cli/program';
import type { System } from '../../cli/system';
import { libraryVersion } from '../../lib/contract/version';
import { fakeIo } from './fake-io';
import { ACCOUNT, SHARED } from './fixtures';

const mocks = {
  cf: mockClient(CloudFormationClient),
  ssm: mockClient(SSMClient),
  sts: mockClient(STSClient),
  iam: mockClient(IAMClient),
  route53: mockClient(Route53Client),
  quotas: mockClient(ServiceQuotasClient),
  ec2: mockClient(EC2Client),
  elbv2: mockClient(ElasticLoadBalancingV2Client),
  rds: mockClient(RDSClient),
  cloudwatch: mockClient(CloudWatchClient),
};

const ZONE = 'Z0123456789ABCDEFGHIJ';
const ALB = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:loadbalancer/app/staging-shared/0123456789abcdef`;
const LISTENER = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:listener/app/staging-shared/0123456789abcdef/fedcba9876543210`;
const TOOLKIT: Stack = { StackName: 'CDKToolkit', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date('2026-01-01T00:00:00Z'), Outputs: [{ OutputKey: 'BootstrapVersion', OutputValue: '28' }] };
const SHARED_NOW: Stack = { ...SHARED, Outputs: [...SHARED.Outputs!, { OutputKey: 'SharedStagingLibraryVersion', OutputValue: libraryVersion() }] };
const notFound = (name: string, message: string) => Object.assign(new Error(message), { name });
const rules = (n: number) => [{ RuleArn: 'default', IsDefault: true }, ...Array.from({ length: n }, (_, i) => ({ RuleArn: `rule-${i}`, IsDefault: false }))];
const targetGroups = (n: number) => Array.from({ length: n }, (_, i) => ({ TargetGroupArn: `tg-${i}` }));

/** A bootstrapped account with a deployed shared stack, 10 branches and nothing near a limit. */
function healthyAccount(): void {
  for (const m of Object.values(mocks)) m.reset();
  mocks.sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/dev`, UserId: 'AIDAEXAMPLE' });
  mocks.cf.on(DescribeStacksCommand, { StackName: 'CDKToolkit' }).resolves({ Stacks: [TOOLKIT] });
  mocks.cf.on(DescribeStacksCommand, { StackName: 'staging-shared' }).resolves({ Stacks: [SHARED_NOW] });
  mocks.ssm.on(GetParameterCommand, { Name: '/cdk-bootstrap/hnb659fds/version' }).resolves({ Parameter: { Name: '/cdk-bootstrap/hnb659fds/version', Value: '28' } });
  mocks.ssm.on(GetParametersCommand).resolves({
    Parameters: [
      { Name: '/staging/shared/domain-name', Value: 'staging.example.com' },
      { Name: '/staging/shared/hosted-zone-id', Value: ZONE },
      { Name: '/staging/shared/load-balancer-arn', Value: ALB },
    ],
  });
  mocks.route53.on(GetHostedZoneCommand, { Id: ZONE }).resolves({ HostedZone: { Id: `/hostedzone/${ZONE}`, Name: 'example.com.', CallerReference: 'x', Config: { PrivateZone: false } } });
  mocks.iam.on(GetRoleCommand).callsFake((input) => ({ Role: { RoleName: input.RoleName, Arn: `arn:aws:iam::${ACCOUNT}:role/aws-service-role/x/${input.RoleName}`, Path: '/aws-service-role/', RoleId: 'AROAEXAMPLE', CreateDate: new Date(0) } }));
  mocks.quotas.on(GetServiceQuotaCommand).callsFake((input) => ({ Quota: { ServiceCode: input.ServiceCode, QuotaCode: input.QuotaCode, Value: input.QuotaCode === QUOTAS.fargateVcpu.quotaCode ? 100 : Object.values(QUOTAS).find((q) => q.quotaCode === input.QuotaCode)!.documented } }));
  mocks.elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: targetGroups(12) });
  mocks.elbv2.on(DescribeListenersCommand).resolves({ Listeners: [{ ListenerArn: LISTENER }] });
  mocks.elbv2.on(DescribeRulesCommand).resolves({ Rules: rules(10) });
  mocks.ec2.on(DescribeAddressesCommand).resolves({ Addresses: [{ AllocationId: 'eipalloc-0123456789abcdef0' }] });
  mocks.ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-0123456789abcdef0' }, { VpcId: 'vpc-0123456789abcdef1' }] });
  mocks.rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: Array.from({ length: 6 }, (_, i) => ({ DBInstanceIdentifier: `db-${i}` })) });
  mocks.cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'vcpu', Values: [3.5, 2.75], Timestamps: [new Date(), new Date()] }] });
}

/** A fresh account: not bootstrapped, no shared stack, no ECS service-linked role. */
function freshAccount(): void {
  healthyAccount();
  mocks.cf.on(DescribeStacksCommand, { StackName: 'CDKToolkit' }).rejects(notFound('ValidationError', 'Stack with id CDKToolkit does not exist'));
  mocks.cf.on(DescribeStacksCommand, { StackName: 'staging-shared' }).rejects(notFound('ValidationError', 'Stack with id staging-shared does not exist'));
  mocks.ssm.on(GetParameterCommand).rejects(notFound('ParameterNotFound', 'not found'));
  mocks.iam.on(GetRoleCommand, { RoleName: 'AWSServiceRoleForECS' }).rejects(notFound('NoSuchEntity', 'The role with name AWSServiceRoleForECS cannot be found.'));
}

const withPlugin: System = { which: (c) => `/usr/local/bin/${c}`, spawn: async () => 0, httpStatus: async () => 200 };

async function doctor(args: string[] = [], system: System = withPlugin) {
  const io = fakeIo({ system });
  const code = await run(['doctor', ...args], io);
  return { code, out: io.out(), err: io.err() };
}

async function doctorJson(args: string[] = []): Promise<{ code: number; report: DoctorReport }> {
  const r = await doctor(['--json', ...args]);
  return { code: r.code, report: JSON.parse(r.out) };
}

const byId = (report: DoctorReport, id: string) => report.checks.find((c) => c.id === id)!;

/** Every command any mocked client was sent. */
function commandsSent(): string[] {
  return Object.values(mocks).flatMap((m: AwsStub<any, any, any>) => m.calls().map((c) => (c.args[0] as any).constructor.name as string));
}

beforeEach(healthyAccount);

describe('staging doctor', () => {
  test('a healthy account: every AWS check passes, exit code 0, one line per check', async () => {
    const r = await doctor();
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines).toEqual(expect.arrayContaining([
      `✓ session-manager-plugin: /usr/local/bin/session-manager-plugin`,
      `✓ credentials: account ${ACCOUNT} as arn:aws:iam::${ACCOUNT}:user/dev`,
      '✓ region: eu-west-1 (AWS_REGION)',
      '✓ CDK bootstrap: CDKToolkit UPDATE_COMPLETE, version 28 (SSM /cdk-bootstrap/hnb659fds/version; needs 6 or later)',
      `✓ shared stack: staging-shared UPDATE_COMPLETE, cdk-multi-staging ${libraryVersion()} (installed ${libraryVersion()})`,
      `✓ hosted zone: staging.example.com lies in example.com (${ZONE}, public; SSM /staging/shared/*)`,
      '✓ service-linked role AWSServiceRoleForECS: exists',
      '✓ target groups per load balancer: 12 of 100 used on the shared load balancer; one more branch brings it to 13',
      '✓ rules per load balancer: 10 of 100 used on the shared load balancer (default rules not counted); one more branch brings it to 11',
      '✓ Fargate On-Demand vCPU: 3.50 of 100 used at the most in the last hour (AWS/Usage); one more branch brings it to 3.75',
      '✓ Elastic IPs: 1 of 5 used in this region; one more branch brings it to 1',
      '✓ VPCs: 2 of 5 used in this region; one more branch brings it to 2',
      '✓ RDS DB instances: 6 of 40 used in this region; one more branch brings it to 7',
    ]));
    expect(lines.filter((l) => /^[✓!✗-] /.test(l))).toHaveLength(17);
    expect(r.out).toMatch(new RegExp(`\\n\\n1[67] ok, [01] to note, 0 failed \\(account ${ACCOUNT}, eu-west-1\\)\\n$`));
  });

  test('never changes anything: every call it makes is a Get, List or Describe (healthy and fresh accounts, text and JSON)', async () => {
    await doctor();
    await doctor(['--json', '--domain', 'staging.example.com']);
    const sent = commandsSent();
    freshAccount();
    await doctor(['--domain', 'staging.example.com', '--hosted-zone-id', ZONE]);
    sent.push(...commandsSent());
    expect(sent.length).toBeGreaterThan(40);
    expect(sent.filter((name) => !/^(Get|List|Describe)[A-Za-z]*Command$/.test(name))).toEqual([]);
  });

  test('a fresh account: bootstrap fails with the bootstrap command; the missing shared stack and ECS role are notes; exit code 1', async () => {
    freshAccount();
    const r = await doctor(['--domain', 'staging.example.com', '--hosted-zone-id', ZONE], { ...withPlugin, which: () => undefined });
    expect(r.code).toBe(1);
    expect(r.err).toBe('staging: doctor: 1 check(s) failed (bootstrap); each says its fix.\n');
    expect(r.out).toContain(`✗ CDK bootstrap: no CDKToolkit stack in eu-west-1: this account and region are not bootstrapped\n    fix: Run: npx cdk bootstrap aws://${ACCOUNT}/eu-west-1\n`);
    expect(r.out).toContain('! shared stack: staging-shared is not deployed in this region (expected before the first deploy)\n    note: Deploy it first: npx cdk deploy staging-shared. If it exists, check --prefix (now staging) and --region.\n');
    expect(r.out).toContain(`✓ hosted zone: staging.example.com lies in example.com (${ZONE}, public; flags)\n`);
    expect(r.out).toContain('! service-linked role AWSServiceRoleForECS: missing; ECS creates it on first use if the deploy role may iam:CreateServiceLinkedRole\n    note: Create it now (the account\'s first ECS cluster can fail in CloudFormation before ECS has made it): aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com\n');
    expect(r.out).toContain('! session-manager-plugin: not on PATH; only `staging console` needs it');
    // Before the shared stack, the quotas are checked for what it needs.
    expect(r.out).toContain('✓ VPCs: 2 of 5 used in this region; the shared stack brings it to 3\n');
    expect(r.out).toContain('✓ target groups per load balancer: 0 of 100 used (no shared load balancer yet); the shared stack brings it to 2\n');
  });

  test('a bootstrap older than aws-cdk-lib needs fails; a missing version parameter with the stack names the qualifier', async () => {
    mocks.ssm.on(GetParameterCommand).resolves({ Parameter: { Value: '5' } });
    expect(byId((await doctorJson()).report, 'bootstrap')).toMatchObject({ status: 'fail', detail: 'version 5 (SSM /cdk-bootstrap/hnb659fds/version); aws-cdk-lib needs 6 or later', fix: `Update it: npx cdk bootstrap aws://${ACCOUNT}/eu-west-1` });
    mocks.ssm.on(GetParameterCommand).rejects(notFound('ParameterNotFound', 'not found'));
    const check = byId((await doctorJson(['--qualifier', 'custom1'])).report, 'bootstrap');
    expect(check.status).toBe('fail');
    expect(check.detail).toBe('CDKToolkit (UPDATE_COMPLETE) is version 28, but SSM /cdk-bootstrap/custom1/version is missing (qualifier custom1)');
    expect(check.fix).toContain(`npx cdk bootstrap aws://${ACCOUNT}/eu-west-1 --qualifier custom1`);
  });

  test('a domain outside the hosted zone fails, naming both; a private zone fails; an unknown zone fails', async () => {
    const check = byId((await doctorJson(['--domain', 'staging.example.org'])).report, 'hosted-zone');
    expect(check).toMatchObject({ status: 'fail', detail: `staging.example.org does not lie in ${ZONE} (example.com) (flags)` });
    expect(check.fix).toBe('Use a domainName ending in .example.com (e.g. staging.example.com), or the zone that holds staging.example.org.');
    // `notexample.com` ends with `example.com` but is not inside it.
    expect(byId((await doctorJson(['--domain', 'notexample.com'])).report, 'hosted-zone').status).toBe('fail');
    mocks.route53.on(GetHostedZoneCommand).resolves({ HostedZone: { Id: ZONE, Name: 'example.com.', CallerReference: 'x', Config: { PrivateZone: true } } });
    expect(byId((await doctorJson()).report, 'hosted-zone')).toMatchObject({ status: 'fail', detail: `${ZONE} (example.com) is a private zone` });
    mocks.route53.on(GetHostedZoneCommand).rejects(notFound('NoSuchHostedZone', 'No hosted zone found with ID'));
    expect(byId((await doctorJson()).report, 'hosted-zone')).toMatchObject({ status: 'fail', detail: `hosted zone ${ZONE} (SSM /staging/shared/*) does not exist in this account` });
  });

  test('without a zone id, finds the zone that holds --domain by name, and says to pass it', async () => {
    freshAccount();
    mocks.route53.on(ListHostedZonesByNameCommand).resolves({
      HostedZones: [
        { Id: '/hostedzone/ZPRIVATE0000000000000', Name: 'staging.example.com.', CallerReference: 'a', Config: { PrivateZone: true } },
        { Id: `/hostedzone/${ZONE}`, Name: 'example.com.', CallerReference: 'b', Config: { PrivateZone: false } },
        { Id: '/hostedzone/ZOTHER000000000000000', Name: 'example.net.', CallerReference: 'c', Config: { PrivateZone: false } },
      ],
    });
    expect(byId((await doctorJson(['--domain', 'staging.example.com'])).report, 'hosted-zone')).toMatchObject({
      status: 'warn', detail: `staging.example.com lies in example.com (${ZONE}), found by name`, fix: `Pass it to be sure it is the zone the shared stack uses: --hosted-zone-id ${ZONE}`,
    });
    mocks.route53.on(ListHostedZonesByNameCommand).resolves({ HostedZones: [] });
    expect(byId((await doctorJson(['--domain', 'staging.example.com'])).report, 'hosted-zone').status).toBe('fail');
    expect(byId((await doctorJson()).report, 'hosted-zone')).toMatchObject({ status: 'warn', detail: 'not checked: no domain known (no shared stack yet)' });
  });

  test('quotas: a full load balancer fails (target groups cannot be raised; rules can, with the command)', async () => {
    mocks.elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: targetGroups(100) });
    mocks.elbv2.on(DescribeRulesCommand).resolves({ Rules: rules(100) });
    const { code, report } = await doctorJson();
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(byId(report, 'quota:target-groups-per-alb')).toMatchObject({
      status: 'fail',
      quota: { serviceCode: 'elasticloadbalancing', quotaCode: 'L-822D1B1B', usage: 100, limit: 100, needed: 101, limitSource: 'applied', adjustable: false },
    });
    expect(byId(report, 'quota:target-groups-per-alb').fix).toMatch(/cannot be raised: destroy unused stagings/);
    expect(byId(report, 'quota:rules-per-alb')).toMatchObject({ status: 'fail', quota: { usage: 100, needed: 101, quotaCode: 'L-7EED9B64' } });
    expect(byId(report, 'quota:rules-per-alb').fix).toContain('aws service-quotas request-service-quota-increase --service-code elasticloadbalancing --quota-code L-7EED9B64 --desired-value 202');
  });

  test('quotas: the limit is the applied value, else Service Quotas\' AWS default, else the documented default, and says which', async () => {
    const noSuch = notFound('NoSuchResourceException', 'The request failed because the specified service does not exist.');
    mocks.quotas.on(GetServiceQuotaCommand).rejects(noSuch);
    mocks.quotas.on(GetAWSDefaultServiceQuotaCommand).resolves({ Quota: { Value: 40 } });
    mocks.quotas.on(GetAWSDefaultServiceQuotaCommand, { QuotaCode: QUOTAS.vpcs.quotaCode }).rejects(noSuch);
    const { report } = await doctorJson();
    expect(byId(report, 'quota:rds-instances').quota).toMatchObject({ limit: 40, limitSource: 'aws-default' });
    expect(byId(report, 'quota:rds-instances').detail).toContain('6 of 40 (AWS default) used');
    expect(byId(report, 'quota:vpcs').quota).toMatchObject({ limit: 5, limitSource: 'documented', limitNote: 'Service Quotas does not know it' });
    // No permission for Service Quotas: the usage is still checked, against the documented default.
    mocks.quotas.on(GetServiceQuotaCommand, { QuotaCode: QUOTAS.fargateVcpu.quotaCode }).rejects(notFound('AccessDeniedException', 'not authorized to perform: servicequotas:GetServiceQuota'));
    const denied = byId((await doctorJson()).report, 'quota:fargate-vcpu');
    expect(denied).toMatchObject({ status: 'ok', quota: { usage: 3.5, limit: 6, limitSource: 'documented' } });
    expect(denied.detail).toBe('3.50 of 6 (AWS documented default: AccessDeniedException from Service Quotas) used at the most in the last hour (AWS/Usage); one more branch brings it to 3.75');
    // Fargate at 40 vCPU with 3.5 used is fine; a real error is a failed check, not a crash.
    mocks.ec2.on(DescribeVpcsCommand).rejects(notFound('InternalError', 'boom'));
    const again = await doctorJson();
    expect(byId(again.report, 'quota:vpcs')).toMatchObject({ status: 'fail', detail: 'could not be checked (InternalError)' });
  });

  test('a missing permission is a note (not checked), not a failure', async () => {
    mocks.iam.on(GetRoleCommand).rejects(notFound('AccessDenied', `User: arn:aws:iam::${ACCOUNT}:user/dev is not authorized to perform: iam:GetRole`));
    const { code, report } = await doctorJson();
    expect(code).toBe(0);
    expect(byId(report, 'service-linked-role:AWSServiceRoleForRDS')).toMatchObject({ status: 'warn', detail: 'not checked: missing permission' });
    expect(byId(report, 'service-linked-role:AWSServiceRoleForRDS').fix).toMatch(/^Missing permission for service-linked role AWSServiceRoleForRDS: User: .* iam:GetRole\. Ask for the permission/);
  });

  test('the shared stack: drift from the installed version, no recorded version, a failed stack', async () => {
    mocks.cf.on(DescribeStacksCommand, { StackName: 'staging-shared' }).resolves({ Stacks: [{ ...SHARED, Outputs: [...SHARED.Outputs!, { OutputKey: 'SharedStagingLibraryVersion', OutputValue: '0.0.9' }] }] });
    expect(byId((await doctorJson()).report, 'shared-stack')).toMatchObject({
      status: 'warn', detail: `staging-shared UPDATE_COMPLETE, deployed by cdk-multi-staging 0.0.9; installed ${libraryVersion()}: drift`,
      fix: 'Deploy the shared stack with the installed library (npx cdk deploy staging-shared) before deploying branches with it, or install 0.0.9 (npm install cdk-multi-staging@0.0.9).',
    });
    mocks.cf.on(DescribeStacksCommand, { StackName: 'staging-shared' }).resolves({ Stacks: [SHARED] });
    expect(byId((await doctorJson()).report, 'shared-stack').detail).toMatch(/records no library version/);
    mocks.cf.on(DescribeStacksCommand, { StackName: 'staging-shared' }).resolves({ Stacks: [{ ...SHARED_NOW, StackStatus: 'UPDATE_ROLLBACK_FAILED' }] });
    const failed = await doctorJson();
    expect(failed.code).toBe(1);
    expect(byId(failed.report, 'shared-stack')).toMatchObject({ status: 'fail', detail: 'staging-shared is UPDATE_ROLLBACK_FAILED' });
  });

  test('no credentials: the credentials check fails with what to set, the AWS checks are not run', async () => {
    mocks.sts.on(GetCallerIdentityCommand).rejects(notFound('CredentialsProviderError', 'Could not load credentials from any providers'));
    const r = await doctor();
    expect(r.code).toBe(1);
    expect(r.out).toContain('✗ credentials: sts:GetCallerIdentity failed\n    fix: No AWS credentials for sts:GetCallerIdentity. Set AWS_PROFILE');
    expect(r.out).toContain('- bootstrap: not checked: no working credentials\n');
    expect(r.out).toContain('- rds-instances: not checked: no working credentials\n');
    expect(commandsSent()).toEqual(['GetCallerIdentityCommand']);
  });

  test('--json prints the report: region, account, library version, ok, and every check', async () => {
    const { code, report } = await doctorJson();
    expect(code).toBe(0);
    expect(report).toMatchObject({ region: 'eu-west-1', account: ACCOUNT, libraryVersion: libraryVersion(), ok: true });
    expect(report.checks.map((c) => c.id)).toEqual([
      'node', 'session-manager-plugin', 'credentials', 'region', 'bootstrap', 'shared-stack', 'hosted-zone',
      'service-linked-role:AWSServiceRoleForECS', 'service-linked-role:AWSServiceRoleForElasticLoadBalancing', 'service-linked-role:AWSServiceRoleForRDS', 'service-linked-role:AWSServiceRoleForElastiCache',
      'quota:target-groups-per-alb', 'quota:rules-per-alb', 'quota:fargate-vcpu', 'quota:elastic-ips', 'quota:vpcs', 'quota:rds-instances',
    ]);
  });

  test.each([
    [['--domain', 'not a domain'], '--domain must be a DNS name like staging.example.com (got "not a domain")'],
    [['--hosted-zone-id', 'example.com'], '--hosted-zone-id must be a Route 53 hosted zone id like Z0123456789ABCDEFGHIJ (got "example.com")'],
    [['--toolkit-stack-name', 'cdk toolkit'], '--toolkit-stack-name must be a CloudFormation stack name (letters, digits, hyphens; got "cdk toolkit"); the default is CDKToolkit'],
    [['--qualifier', 'much-too-long-qualifier'], '--qualifier must be the CDK bootstrap qualifier, up to 10 letters or digits (got "much-too-long-qualifier")'],
  ])('fails on bad flags before any AWS call: %j', async (args, message) => {
    const r = await doctor(args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`staging: ${message}`);
    expect(commandsSent()).toEqual([]);
  });
});

describe('the checks as pure functions', () => {
  test.each([
    ['18.20.4', 'fail'],
    ['20.20.0', 'warn'],
    ['22.12.0', 'ok'],
    ['24.1.0', 'ok'],
  ])('Node.js %s: %s', (version, status) => {
    expect(nodeCheck(version).status).toBe(status);
  });

  test.each([
    ['eu-west-1', 'ok'],
    ['us-gov-west-1', 'ok'],
    ['cn-north-1', 'ok'],
    ['europe', 'fail'],
    ['eu-west', 'fail'],
  ])('region %s: %s', (region, status) => {
    expect(regionCheck(region, '--region').status).toBe(status);
  });

  test.each([
    [79, 100, 'ok'],
    [81, 100, 'warn'],
    [100, 100, 'warn'],
    [101, 100, 'fail'],
  ])('a quota needing %d of %d: %s', (needed, limit, status) => {
    expect(quotaCheck(QUOTAS.rulesPerAlb, { usage: needed - 1, needed, limit, limitSource: 'applied' }, 'here', 'one more branch').status).toBe(status);
  });
});
