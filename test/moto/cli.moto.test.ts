/**
 * The `staging` CLI (cli/program.ts `run`, its real SDK clients) against moto's server:
 * `list`, `url`, `keep`, `unkeep`, `destroy` and `doctor`, over stacks, parameters, a load
 * balancer and roles made in moto through the SDK. test/cli/*.test.ts run the same commands
 * against aws-sdk-client-mock and a wire-protocol fake.
 *
 * Where moto differs from AWS:
 * - Lambda Invoke needs Docker in moto: the shared stack's SweeperFunctionName names a function
 *   that does not exist, and `staging list` shows its warning and no sweeper plan.
 * - DeleteStack finishes at once; `staging destroy`'s waiter sees DELETE_COMPLETE on its first look.
 * - Service Quotas: GetServiceQuota knows only the `vpc` service's quotas (NoSuchResourceException
 *   for elasticloadbalancing, fargate, ec2 and rds), and GetAWSDefaultServiceQuota is not
 *   implemented (HTTP 500 with an HTML page, which the SDK cannot parse). doctor then takes AWS's
 *   documented defaults and says why, as it would when a user may not call Service Quotas.
 * - ELBv2 enforces no quotas (RESEARCH.md §9: 203 rules on one listener were accepted).
 * - Every region has a default VPC, as in a real account.
 * - CreateServiceLinkedRole names roles after the lower-case service (`AWSServiceRoleForecs`,
 *   `AWSServiceRoleForrds`); AWS names them `AWSServiceRoleForECS`, `AWSServiceRoleForRDS`, ...
 *   The seed creates them with AWS's names and path through CreateRole.
 */
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import { ListServicesCommand } from '@aws-sdk/client-ecs';
import { DescribeRulesCommand, DescribeTargetGroupsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateRoleCommand, IAMClient, ListRolesCommand } from '@aws-sdk/client-iam';
import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { CreateHostedZoneCommand, ListHostedZonesCommand, Route53Client } from '@aws-sdk/client-route-53';
import { GetParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import type { DoctorReport } from '../../cli/commands/doctor';
import { run } from '../../cli/program';
import type { System } from '../../cli/system';
import { libraryVersion } from '../../lib/contract/version';
import { fakeIo } from '../cli/fake-io';
import { describeWithMoto } from './moto-server';
import { DOMAIN, PARAMETER_PREFIX, PREFIX, SharedWorld, clients, createStack, parameters, seedBranch, seedShared } from './seed';

const noPlugin: System = { which: () => undefined, spawn: async () => 0, httpStatus: async () => 200 };

async function cli(args: string[], opts: { isTTY?: boolean } = {}) {
  // AWS_REGION and the endpoint come from process.env (moto-server.ts motoEnv), as a user's would.
  const io = fakeIo({ isTTY: opts.isTTY, system: noPlugin, env: { AWS_REGION: 'eu-west-1' } });
  const code = await run(args, io);
  return { code, out: io.out(), err: io.err() };
}

describeWithMoto('the staging CLI against moto', () => {
  describe('list, url, keep, unkeep, destroy', () => {
    let shared: SharedWorld;
    beforeEach(async () => {
      shared = await seedShared({ libraryVersion: libraryVersion(), sharedOutputs: { SweeperFunctionName: `${PREFIX}-shared-sweeper` } });
    });

    test('list shows each branch staging with its URL, kind and sleep state; url prints one URL', async () => {
      const login = await seedBranch(shared, 'feature/login');
      const typo = await seedBranch(shared, 'fix/typo', { kind: 'feature-lite' });
      await createStack(`${PREFIX}-tools`, [], {});
      await clients().ssm.send(new PutParameterCommand({ Name: `${PARAMETER_PREFIX}/sleep/${typo.name}`, Type: 'String', Value: JSON.stringify({ state: 'sleeping', since: '2026-11-30T13:00:00Z' }) }));
      const r = await cli(['list']);
      expect(r.code).toBe(0);
      expect(r.out.split('\n').filter(Boolean).sort()).toEqual([
        ['feature/login', login.name, 'full', login.url, 'awake'].join('\t'),
        ['fix/typo', typo.name, 'lite', typo.url, 'sleeping'].join('\t'),
      ]);
      // moto runs no Lambda: the sweeper's plan is missing, with a warning naming the call.
      expect(r.err).toMatch(/warning: no sweeper plan \(.*staging-shared-sweeper/);
      const json = JSON.parse((await cli(['list', '--json'])).out);
      expect(json.map((s: any) => [s.branch, s.stackName, s.status])).toEqual(expect.arrayContaining([
        ['feature/login', login.stackName, 'CREATE_COMPLETE'],
        ['fix/typo', typo.stackName, 'CREATE_COMPLETE'],
      ]));
      expect(await cli(['url', 'feature/login'])).toEqual({ code: 0, out: `${login.url}\n`, err: '' });
      const unknown = await cli(['url', 'feature/logn']);
      expect(unknown.code).toBe(1);
      expect(unknown.err).toContain('Did you mean: feature/login?');
    });

    test('keep writes the pin the sweeper reads; unkeep removes it; a second unkeep says it was not pinned', async () => {
      const login = await seedBranch(shared, 'feature/login');
      const pin = `${PARAMETER_PREFIX}/pins/${login.name}`;
      const kept = await cli(['keep', 'feature/login', '--until', '2026-12-24']);
      expect(kept).toMatchObject({ code: 0, out: 'feature/login is kept until the end of 2026-12-24 (UTC). Undo with: staging unkeep feature/login\n' });
      expect((await clients().ssm.send(new GetParameterCommand({ Name: pin }))).Parameter!.Value).toBe('2026-12-24');
      expect(JSON.parse((await cli(['list', '--json'])).out)[0].pinnedUntil).toBe('2026-12-24');
      expect((await cli(['unkeep', 'feature/login'])).out).toBe('feature/login is no longer pinned; the sweeper judges it by its activity again.\n');
      await expect(clients().ssm.send(new GetParameterCommand({ Name: pin }))).rejects.toMatchObject({ name: 'ParameterNotFound' });
      expect((await cli(['unkeep', 'feature/login'])).out).toBe('feature/login was not pinned.\n');
    });

    test('destroy --yes deletes the branch stack by its id and waits; the shared stack is refused', async () => {
      const login = await seedBranch(shared, 'feature/login');
      const other = await seedBranch(shared, 'feature/other');
      const r = await cli(['destroy', 'feature/login', '--yes']);
      expect(r).toMatchObject({ code: 0, out: `Deleted ${login.stackName} (branch feature/login).\n` });
      const status = async (id: string) => (await clients().cloudformation.send(new DescribeStacksCommand({ StackName: id }))).Stacks![0].StackStatus;
      expect(await status(login.stackId)).toBe('DELETE_COMPLETE');
      expect(await status(other.stackId)).toBe('CREATE_COMPLETE');
      expect((await cli(['list'])).out).not.toContain('feature/login');
      const refused = await cli(['destroy', 'shared', '--yes']);
      expect(refused.code).toBe(1);
      expect(await status(shared.sharedStackId)).toBe('CREATE_COMPLETE');
    });
  });

  describe('doctor', () => {
    /** A bootstrapped account with a hosted zone, three of the four service-linked roles and a deployed shared stack with one branch. */
    async function account(): Promise<{ zoneId: string; shared: SharedWorld }> {
      await createStack('CDKToolkit', [], { BootstrapVersion: '28' });
      await clients().ssm.send(new PutParameterCommand({ Name: '/cdk-bootstrap/hnb659fds/version', Value: '28', Type: 'String' }));
      const zone = await new Route53Client({}).send(new CreateHostedZoneCommand({ Name: 'example.com', CallerReference: `doctor-${Date.now()}` }));
      const zoneId = zone.HostedZone!.Id!.replace('/hostedzone/', '');
      const iam = new IAMClient({});
      // As AWS names them (moto's CreateServiceLinkedRole would name them AWSServiceRoleForecs, ...).
      for (const [role, service] of [['AWSServiceRoleForECS', 'ecs'], ['AWSServiceRoleForElasticLoadBalancing', 'elasticloadbalancing'], ['AWSServiceRoleForRDS', 'rds']]) {
        await iam.send(new CreateRoleCommand({
          RoleName: role, Path: `/aws-service-role/${service}.amazonaws.com/`,
          AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: `${service}.amazonaws.com` } }] }),
        }));
      }
      const shared = await seedShared({ libraryVersion: libraryVersion() });
      await clients().ssm.send(new PutParameterCommand({ Name: `${PARAMETER_PREFIX}/shared/hosted-zone-id`, Value: zoneId, Type: 'String' }));
      await seedBranch(shared, 'feature/login', { database: true });
      return { zoneId, shared };
    }

    /**
     * What doctor could change, read back through the SDK: stacks, parameters, roles, zones, the
     * load balancer's rules and target groups, services and databases. (moto's own dump,
     * GET /moto-api/data.json, answers HTTP 500 once these services hold resources.)
     */
    async function readBack(shared: SharedWorld): Promise<unknown> {
      const c = clients();
      const ssm: Record<string, string> = {};
      for (const path of ['/cdk-bootstrap', PARAMETER_PREFIX]) for (const [k, v] of await parameters(path)) ssm[k] = v;
      return {
        stacks: (await c.cloudformation.send(new DescribeStacksCommand({}))).Stacks!.map((s) => [s.StackName, s.StackStatus, s.LastUpdatedTime]),
        ssm,
        roles: (await new IAMClient({}).send(new ListRolesCommand({}))).Roles!.map((r) => r.RoleName).sort(),
        zones: (await new Route53Client({}).send(new ListHostedZonesCommand({}))).HostedZones!.map((z) => [z.Id, z.Name, z.ResourceRecordSetCount]),
        targetGroups: (await c.elbv2.send(new DescribeTargetGroupsCommand({}))).TargetGroups!.map((t) => t.TargetGroupArn),
        rules: (await c.elbv2.send(new DescribeRulesCommand({ ListenerArn: shared.listenerArn }))).Rules,
        services: (await c.ecs.send(new ListServicesCommand({ cluster: shared.clusterArn }))).serviceArns!.sort(),
        databases: (await c.rds.send(new DescribeDBInstancesCommand({}))).DBInstances!.map((d) => [d.DBInstanceIdentifier, d.DBInstanceStatus]),
        vpcs: (await c.ec2.send(new DescribeVpcsCommand({}))).Vpcs!.map((v) => v.VpcId).sort(),
      };
    }

    test('checks a prepared account and changes nothing in it: every call is a Get, List or Describe, and moto\'s state is the same after', async () => {
      const { zoneId, shared } = await account();
      const before = await readBack(shared);
      // Every SDK client's send, whichever service: they share the smithy Client base class.
      const send = jest.spyOn(Object.getPrototypeOf(STSClient.prototype), 'send');
      let r;
      let sent: string[];
      try {
        r = await cli(['doctor']);
      } finally {
        sent = send.mock.calls.map(([command]) => (command as object).constructor.name);
        send.mockRestore();
      }
      expect(sent.length).toBeGreaterThan(15);
      expect(sent.filter((name) => !/^(Get|List|Describe)[A-Za-z]*Command$/.test(name))).toEqual([]);
      expect(await readBack(shared)).toEqual(before);

      expect(r.code).toBe(0);
      const lines = r.out.split('\n');
      const documented = (n: number) => `${n} \\(AWS documented default: [A-Za-z]+ from Service Quotas\\)`;
      for (const line of [
        `✓ target groups per load balancer: 2 of ${documented(100)} used on the shared load balancer; one more branch brings it to 3`,
        `✓ rules per load balancer: 1 of ${documented(100)} used on the shared load balancer \\(default rules not counted\\); one more branch brings it to 2`,
        `✓ RDS DB instances: 1 of ${documented(40)} used in this region; one more branch brings it to 2`,
      ]) expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^${line}$`))]));
      expect(lines).toEqual(expect.arrayContaining([
        `✓ credentials: account 123456789012 as arn:aws:sts::123456789012:user/moto`,
        '✓ CDK bootstrap: CDKToolkit CREATE_COMPLETE, version 28 (SSM /cdk-bootstrap/hnb659fds/version; needs 6 or later)',
        `✓ shared stack: ${PREFIX}-shared CREATE_COMPLETE, cdk-multi-staging ${libraryVersion()} (installed ${libraryVersion()})`,
        `✓ hosted zone: ${DOMAIN} lies in example.com (${zoneId}, public; SSM ${PARAMETER_PREFIX}/shared/*)`,
        '✓ service-linked role AWSServiceRoleForECS: exists',
        '✓ service-linked role AWSServiceRoleForElasticLoadBalancing: exists',
        '✓ service-linked role AWSServiceRoleForRDS: exists',
        '! service-linked role AWSServiceRoleForElastiCache: missing; ElastiCache creates it on first use if the deploy role may iam:CreateServiceLinkedRole',
        '✓ VPCs: 2 of 5 used in this region; one more branch brings it to 2',
      ]));
    });

    test('a fresh account: not bootstrapped (exit code 1, the bootstrap command), no shared stack, the domain checked from the flags', async () => {
      const zone = await new Route53Client({}).send(new CreateHostedZoneCommand({ Name: 'example.org', CallerReference: `doctor-${Date.now()}` }));
      const zoneId = zone.HostedZone!.Id!.replace('/hostedzone/', '');
      const r = await cli(['doctor', '--json', '--domain', 'staging.example.com', '--hosted-zone-id', zoneId]);
      expect(r.code).toBe(1);
      const report: DoctorReport = JSON.parse(r.out);
      const check = (id: string) => report.checks.find((c) => c.id === id)!;
      expect(check('bootstrap')).toMatchObject({ status: 'fail', fix: 'Run: npx cdk bootstrap aws://123456789012/eu-west-1' });
      expect(check('shared-stack')).toMatchObject({ status: 'warn', detail: `${PREFIX}-shared is not deployed in this region (expected before the first deploy)` });
      expect(check('hosted-zone')).toMatchObject({ status: 'fail', detail: `staging.example.com does not lie in ${zoneId} (example.org) (flags)` });
      expect(check('service-linked-role:AWSServiceRoleForECS').status).toBe('warn');
      expect(check('quota:vpcs')).toMatchObject({ status: 'ok', quota: { usage: 1, needed: 2, limit: 5, limitSource: 'applied' } });
      expect(r.err).toBe('staging: doctor: 2 check(s) failed (bootstrap, hosted-zone); each says its fix.\n');
    });
  });
});
