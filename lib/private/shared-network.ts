import { RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeWildcardPermissions } from './acknowledge';
import { BRANCH_SUBNET_COUNT } from '../shared-staging-ref';
import type { SharedEc2CapacityOptions, SharedStagingProps } from '../shared-staging';

/** The shared network: VPC, cluster and the two security groups. */
export interface SharedNetwork {
  readonly vpc: ec2.IVpc;
  readonly workloadSubnets: ec2.SelectedSubnets;
  readonly cluster: ecs.Cluster;
  readonly workloadSecurityGroup: ec2.SecurityGroup;
  readonly dataSecurityGroup: ec2.SecurityGroup;
}

/** Network and cluster; security groups: workloads reach data stores (the load balancer is added later). */
export function sharedNetwork(scope: Construct, props: SharedStagingProps): SharedNetwork {
  const vpc = props.vpc ?? newVpc(scope, props);
  const workloadSubnets = vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS });
  if (!Token.isUnresolved(workloadSubnets.subnetIds) && workloadSubnets.subnetIds.length < BRANCH_SUBNET_COUNT) {
    throw new Error(
      `vpc must have at least ${BRANCH_SUBNET_COUNT} private subnets with egress (got ${workloadSubnets.subnetIds.length}); pass a VPC with private subnets in two AZs`,
    );
  }
  const cluster = new ecs.Cluster(scope, 'Cluster', {
    vpc,
    enableFargateCapacityProviders: true,
    containerInsightsV2: props.containerInsights === false ? ecs.ContainerInsights.DISABLED : ecs.ContainerInsights.ENABLED,
  });
  if (props.ec2Capacity) addEc2Capacity(scope, vpc, cluster, props.ec2Capacity);

  const workloadSecurityGroup = new ec2.SecurityGroup(scope, 'WorkloadSecurityGroup', {
    vpc,
    description: 'Staging app tasks (shared and branches)',
    allowAllOutbound: true,
  });
  const dataSecurityGroup = new ec2.SecurityGroup(scope, 'DataSecurityGroup', {
    vpc,
    description: 'Staging data stores, reachable from staging app tasks',
    allowAllOutbound: false,
  });
  dataSecurityGroup.addIngressRule(workloadSecurityGroup, ec2.Port.tcp(5432), 'Postgres from staging apps');
  dataSecurityGroup.addIngressRule(workloadSecurityGroup, ec2.Port.tcp(6379), 'Redis from staging apps');
  return { vpc, workloadSubnets, cluster, workloadSecurityGroup, dataSecurityGroup };
}

/** Isolated subnets for data when the VPC has them, else the private ones. */
export function isolatedOrPrivate(vpc: ec2.IVpc): ec2.SubnetType {
  return vpc.isolatedSubnets.length > 0 ? ec2.SubnetType.PRIVATE_ISOLATED : ec2.SubnetType.PRIVATE_WITH_EGRESS;
}

function newVpc(scope: Construct, props: SharedStagingProps): ec2.Vpc {
  const vpc = new ec2.Vpc(scope, 'Vpc', {
    ipAddresses: ec2.IpAddresses.cidr(props.vpcCidr ?? '10.64.0.0/16'),
    maxAzs: props.maxAzs ?? 2,
    natGateways: props.natGateways ?? 1,
    subnetConfiguration: [
      { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
      { name: 'app', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
      { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
    ],
  });
  vpc.addFlowLog('FlowLog', {
    destination: ec2.FlowLogDestination.toCloudWatchLogs(
      new logs.LogGroup(scope, 'FlowLogs', {
        retention: logs.RetentionDays.TWO_WEEKS,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    ),
    trafficType: ec2.FlowLogTrafficType.REJECT,
  });
  return vpc;
}

function addEc2Capacity(scope: Construct, vpc: ec2.IVpc, cluster: ecs.Cluster, options: SharedEc2CapacityOptions): void {
  const group = new autoscaling.AutoScalingGroup(scope, 'Ec2Capacity', {
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    instanceType: options.instanceType ?? new ec2.InstanceType('t3.large'),
    machineImage: ecs.EcsOptimizedImage.amazonLinux2023(),
    minCapacity: options.minCapacity ?? 0,
    maxCapacity: options.maxCapacity ?? 10,
    requireImdsv2: true,
    blockDevices: [
      { deviceName: '/dev/xvda', volume: autoscaling.BlockDeviceVolume.ebs(30, { encrypted: true, volumeType: autoscaling.EbsDeviceVolumeType.GP3 }) },
    ],
  });
  Validations.of(group).acknowledge({
    id: 'AwsSolutions-AS3',
    reason: 'ECS managed scaling adds and removes instances as branches come and go; scaling notifications would only be noise.',
  });
  const capacityProvider = new ecs.AsgCapacityProvider(scope, 'Ec2CapacityProvider', {
    autoScalingGroup: group,
    enableManagedScaling: true,
    enableManagedTerminationProtection: false,
    // ECS drains instances itself, so no drain-hook Lambda is needed.
    enableManagedDraining: true,
    targetCapacityPercent: 100,
  });
  cluster.addAsgCapacityProvider(capacityProvider);
  acknowledgeWildcardPermissions(
    group,
    'The ECS container agent\'s standard instance permissions (ecs:Submit*, discovery, image pulls, logs), limited to this cluster where ECS allows it.',
    /^(Action::ecs:Submit\*|Resource::\*)$/,
  );
}
