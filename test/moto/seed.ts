/**
 * Real resources in moto, made through the SDK as the stacks would make them: the shared VPC,
 * load balancer, HTTP listener, the waker's Lambda target group, the ECS cluster and the shared
 * stack with its outputs and SSM parameters; and per branch a target group, a weighted listener
 * rule, ECS services, a schedule, optionally an RDS instance, and a CloudFormation stack with the
 * staging tags and outputs.
 */
import { CloudFormationClient, CreateStackCommand, Tag } from '@aws-sdk/client-cloudformation';
import { CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateClusterCommand, CreateServiceCommand, ECSClient, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { CreateListenerCommand, CreateLoadBalancerCommand, CreateRuleCommand, CreateTargetGroupCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateDBInstanceCommand, RDSClient } from '@aws-sdk/client-rds';
import { CreateScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { PutParameterCommand, SSMClient, paginateGetParametersByPath } from '@aws-sdk/client-ssm';
import { StagingNames } from '../../lib/contract/naming';
import { MANAGED_BY_VALUE, SharedParameterNames, SharedStackOutputs, TagKeys } from '../../lib/contract/staging';
import { MOTO_ACCOUNT } from './moto-server';

export const PREFIX = 'staging';
export const PARAMETER_PREFIX = '/staging';
export const DOMAIN = 'staging.example.com';

/** Clients made after process.env points at moto (call inside a test or a hook). */
export function clients() {
  const config = { maxAttempts: 2 };
  return {
    cloudformation: new CloudFormationClient(config),
    ec2: new EC2Client(config),
    ecs: new ECSClient(config),
    elbv2: new ElasticLoadBalancingV2Client(config),
    rds: new RDSClient(config),
    scheduler: new SchedulerClient(config),
    ssm: new SSMClient(config),
  };
}

export interface SharedWorld {
  readonly vpcId: string;
  readonly subnetIds: string[];
  readonly securityGroupId: string;
  readonly loadBalancerArn: string;
  readonly loadBalancerFullName: string;
  readonly listenerArn: string;
  readonly wakerTargetGroupArn: string;
  readonly clusterArn: string;
  readonly sharedStackId: string;
}

/** A stack with one harmless resource (a parameter outside the staging prefix), these tags and outputs. */
export async function createStack(name: string, tags: Tag[], outputs: Record<string, string>): Promise<string> {
  const template = {
    Resources: { Marker: { Type: 'AWS::SSM::Parameter', Properties: { Name: `/moto-test/${name}`, Type: 'String', Value: name } } },
    Outputs: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, { Value: v }])),
  };
  const out = await clients().cloudformation.send(new CreateStackCommand({ StackName: name, TemplateBody: JSON.stringify(template), Tags: tags }));
  return out.StackId!;
}

/** The shared staging: network, load balancer, listener, waker target group, cluster, stack and parameters. */
export async function seedShared(opts: { libraryVersion?: string; sharedOutputs?: Record<string, string> } = {}): Promise<SharedWorld> {
  const c = clients();
  const vpcId = (await c.ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }))).Vpc!.VpcId!;
  const subnetIds: string[] = [];
  for (const [i, az] of ['eu-west-1a', 'eu-west-1b'].entries()) {
    subnetIds.push((await c.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.0.${i}.0/24`, AvailabilityZone: az }))).Subnet!.SubnetId!);
  }
  const securityGroupId = (await c.ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: 'staging-workloads', Description: 'staging workloads' }))).GroupId!;
  const lb = (await c.elbv2.send(new CreateLoadBalancerCommand({ Name: `${PREFIX}-shared`, Subnets: subnetIds, SecurityGroups: [securityGroupId], Type: 'application' }))).LoadBalancers![0];
  const loadBalancerArn = lb.LoadBalancerArn!;
  const listenerArn = (await c.elbv2.send(new CreateListenerCommand({
    LoadBalancerArn: loadBalancerArn, Protocol: 'HTTP', Port: 80,
    DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404', ContentType: 'text/plain', MessageBody: 'no staging here' } }],
  }))).Listeners![0].ListenerArn!;
  const wakerTargetGroupArn = (await c.elbv2.send(new CreateTargetGroupCommand({ Name: `${PREFIX}-waker`, TargetType: 'lambda' }))).TargetGroups![0].TargetGroupArn!;
  const clusterArn = (await c.ecs.send(new CreateClusterCommand({ clusterName: `${PREFIX}-cluster` }))).cluster!.clusterArn!;
  const loadBalancerFullName = loadBalancerArn.split(':loadbalancer/')[1];
  const parameters: Record<string, string> = {
    [SharedParameterNames.VPC_ID]: vpcId,
    [SharedParameterNames.CLUSTER_ARN]: clusterArn,
    [SharedParameterNames.CLUSTER_NAME]: `${PREFIX}-cluster`,
    [SharedParameterNames.LISTENER_ARN]: listenerArn,
    [SharedParameterNames.LOAD_BALANCER_ARN]: loadBalancerArn,
    [SharedParameterNames.LOAD_BALANCER_FULL_NAME]: loadBalancerFullName,
    [SharedParameterNames.DOMAIN_NAME]: DOMAIN,
    [SharedParameterNames.WAKER_TARGET_GROUP_ARN]: wakerTargetGroupArn,
  };
  for (const [name, value] of Object.entries(parameters)) {
    await c.ssm.send(new PutParameterCommand({ Name: `${PARAMETER_PREFIX}/${name}`, Value: value, Type: 'String' }));
  }
  const sharedStackId = await createStack(`${PREFIX}-shared`, [
    { Key: TagKeys.KIND, Value: 'shared' },
    { Key: TagKeys.PREFIX, Value: PREFIX },
    { Key: TagKeys.MANAGED_BY, Value: MANAGED_BY_VALUE },
  ], {
    SharedStagingParameterPrefix: PARAMETER_PREFIX,
    SharedStagingClusterName: `${PREFIX}-cluster`,
    ...(opts.libraryVersion ? { [SharedStackOutputs.LIBRARY_VERSION]: opts.libraryVersion } : {}),
    ...opts.sharedOutputs,
  });
  return { vpcId, subnetIds, securityGroupId, loadBalancerArn, loadBalancerFullName, listenerArn, wakerTargetGroupArn, clusterArn, sharedStackId };
}

export interface BranchWorld {
  readonly branch: string;
  readonly name: string;
  readonly stackName: string;
  readonly stackId: string;
  readonly url: string;
  readonly targetGroupArn: string;
  readonly targetGroupFullName: string;
  readonly ruleArn: string;
  /** ECS service names, web first. */
  readonly services: string[];
  readonly schedule: string;
  readonly databaseInstanceId?: string;
}

let priority = 10;

/** A branch staging: target group, weighted rule (to the branch), web and worker services, a schedule, its stack; a database if asked. */
export async function seedBranch(shared: SharedWorld, branch: string, opts: { kind?: string; database?: boolean } = {}): Promise<BranchWorld> {
  const c = clients();
  const n = StagingNames.fromBranch(branch, PREFIX);
  const name = n.name;
  const url = `https://${name}.${DOMAIN}`;
  const tg = (await c.elbv2.send(new CreateTargetGroupCommand({ Name: `tg-${name}`.slice(0, 32), TargetType: 'ip', Protocol: 'HTTP', Port: 80, VpcId: shared.vpcId }))).TargetGroups![0];
  const targetGroupArn = tg.TargetGroupArn!;
  const ruleArn = (await c.elbv2.send(new CreateRuleCommand({
    ListenerArn: shared.listenerArn,
    Priority: priority++,
    Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [`${name}.${DOMAIN}`] } }],
    Actions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: targetGroupArn, Weight: 1 }, { TargetGroupArn: shared.wakerTargetGroupArn, Weight: 0 }] } }],
  }))).Rules![0].RuleArn!;
  const services: string[] = [];
  for (const service of ['web', 'worker']) {
    const family = `${n.stackName}-${service}`;
    await c.ecs.send(new RegisterTaskDefinitionCommand({
      family, requiresCompatibilities: ['FARGATE'], networkMode: 'awsvpc', cpu: '256', memory: '512',
      containerDefinitions: [{ name: 'app', image: 'public.ecr.aws/nginx/nginx:stable', essential: true, portMappings: [{ containerPort: 80 }] }],
    }));
    const serviceName = `${n.stackName}-${service}`;
    await c.ecs.send(new CreateServiceCommand({
      cluster: shared.clusterArn, serviceName, taskDefinition: family, desiredCount: 1, launchType: 'FARGATE',
      ...(service === 'web' ? { loadBalancers: [{ targetGroupArn, containerName: 'app', containerPort: 80 }] } : {}),
      networkConfiguration: { awsvpcConfiguration: { subnets: shared.subnetIds, securityGroups: [shared.securityGroupId] } },
    }));
    services.push(serviceName);
  }
  const schedule = `${n.stackName}-nightly`.slice(0, 64);
  await c.scheduler.send(new CreateScheduleCommand({
    Name: schedule, ScheduleExpression: 'cron(0 3 * * ? *)', ScheduleExpressionTimezone: 'Europe/Berlin', FlexibleTimeWindow: { Mode: 'OFF' }, State: 'ENABLED',
    Target: { Arn: shared.clusterArn, RoleArn: `arn:aws:iam::${MOTO_ACCOUNT}:role/${PREFIX}-scheduler`, Input: '{}' },
  }));
  let databaseInstanceId: string | undefined;
  if (opts.database) {
    databaseInstanceId = n.stackName.slice(0, 63);
    await c.rds.send(new CreateDBInstanceCommand({
      DBInstanceIdentifier: databaseInstanceId, DBInstanceClass: 'db.t4g.micro', Engine: 'postgres', EngineVersion: '16.4', AllocatedStorage: 20,
      MasterUsername: 'app', MasterUserPassword: 'not-a-real-password-1',
    }));
  }
  const targetGroupFullName = targetGroupArn.split(':')[5];
  const stackId = await createStack(n.stackName, [
    { Key: TagKeys.KIND, Value: opts.kind ?? 'feature' },
    { Key: TagKeys.NAME, Value: name },
    { Key: TagKeys.PREFIX, Value: PREFIX },
    { Key: TagKeys.BRANCH, Value: n.branchTagValue },
    { Key: TagKeys.MANAGED_BY, Value: MANAGED_BY_VALUE },
  ], {
    StagingUrl: url,
    StagingTargetGroupFullName: targetGroupFullName,
    StagingLoadBalancerFullName: shared.loadBalancerFullName,
  });
  return { branch, name, stackName: n.stackName, stackId, url, targetGroupArn, targetGroupFullName, ruleArn, services, schedule, databaseInstanceId };
}

/** The Custom::StagingSleep properties a branch stack gives the waker provider (lib/private/branch-services.ts). */
export function sleepProperties(shared: SharedWorld, b: BranchWorld, opts: { sleepAfterMinutes?: number; stopDatabaseAfterMinutes?: number } = {}): Record<string, unknown> {
  return {
    StagingName: b.name,
    Branch: b.branch,
    StackName: b.stackName,
    ClusterArn: shared.clusterArn,
    WebServiceName: b.services[0],
    Services: b.services.map((s) => ({ Name: s, DesiredCount: '1' })),
    TargetGroupArn: b.targetGroupArn,
    TargetGroupFullName: b.targetGroupFullName,
    LoadBalancerFullName: shared.loadBalancerFullName,
    RuleArn: b.ruleArn,
    Schedules: [b.schedule],
    ...(b.databaseInstanceId ? { DatabaseInstanceId: b.databaseInstanceId } : {}),
    SleepAfterMinutes: String(opts.sleepAfterMinutes ?? 60),
    StopDatabaseAfterMinutes: String(opts.stopDatabaseAfterMinutes ?? 0),
  };
}

/** Every parameter below `path` (recursive, every page), name to value. */
export async function parameters(path: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const page of paginateGetParametersByPath({ client: clients().ssm }, { Path: path, Recursive: true })) {
    for (const p of page.Parameters ?? []) out.set(p.Name!, p.Value!);
  }
  return out;
}
