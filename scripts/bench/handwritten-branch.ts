/**
 * The baseline for the synth benchmark: a branch staging written by hand in plain CDK, with the
 * same resources as a FeatureStagingLite of the example configuration (web + worker + one job,
 * target group, host rule, alias record, log groups) and none of this library's code.
 */
import { App, CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as ssm from 'aws-cdk-lib/aws-ssm';

const app = new App();
const stack = new Stack(app, 'handwritten-branch', { env: { region: 'eu-west-1' } });
const p = (name: string) => ssm.StringParameter.valueForStringParameter(stack, `/staging/shared/${name}`);
const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', { vpcId: p('vpc-id'), availabilityZones: ['a'] });
const subnets = [0, 1].map((i) => ec2.Subnet.fromSubnetId(stack, `S${i}`, `subnet-0${i}23456789abcdef0`));
const cluster = ecs.Cluster.fromClusterAttributes(stack, 'Cluster', { clusterName: p('cluster-name'), vpc });
const sg = ec2.SecurityGroup.fromSecurityGroupId(stack, 'Sg', p('workload-security-group-id'));
const image = ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/nginx:1.27');

function task(name: string) {
  const logGroup = new logs.LogGroup(stack, `${name}Logs`, { logGroupName: `/staging/x/${name}`, retention: logs.RetentionDays.ONE_WEEK, removalPolicy: RemovalPolicy.DESTROY });
  const def = new ecs.FargateTaskDefinition(stack, `${name}Task`, { cpu: 256, memoryLimitMiB: 512 });
  def.addContainer('app', { image, environment: { STAGING_NAME: 'x', DATABASE_HOST: p('database/endpoint') }, logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: name }) });
  return def;
}
const web = task('web');
web.defaultContainer!.addPortMappings({ containerPort: 80 });
const webService = new ecs.FargateService(stack, 'Web', { cluster, taskDefinition: web, vpcSubnets: { subnets }, securityGroups: [sg], circuitBreaker: { rollback: true } });
new ecs.FargateService(stack, 'Worker', { cluster, taskDefinition: task('worker'), vpcSubnets: { subnets }, securityGroups: [sg], circuitBreaker: { rollback: true } });
new scheduler.Schedule(stack, 'Nightly', {
  schedule: scheduler.ScheduleExpression.expression('cron(0 3 * * ? *)'),
  target: new targets.EcsRunFargateTask(cluster, { taskDefinition: task('nightly'), vpcSubnets: { subnets }, securityGroups: [sg] }),
});
const tg = new elbv2.ApplicationTargetGroup(stack, 'Tg', { vpc, port: 80, targetType: elbv2.TargetType.IP, healthCheck: { path: '/', interval: Duration.seconds(15) } });
tg.addTarget(webService);
new elbv2.ApplicationListenerRule(stack, 'Rule', {
  listener: elbv2.ApplicationListener.fromApplicationListenerAttributes(stack, 'L', { listenerArn: p('listener-arn'), securityGroup: sg }),
  priority: 10,
  conditions: [elbv2.ListenerCondition.hostHeaders(['x.staging.example.com'])],
  action: elbv2.ListenerAction.forward([tg]),
});
new route53.ARecord(stack, 'Record', {
  zone: route53.HostedZone.fromHostedZoneId(stack, 'Zone', p('hosted-zone-id')),
  recordName: 'x.staging.example.com.',
  target: route53.RecordTarget.fromAlias({ bind: () => ({ dnsName: p('load-balancer-dns-name'), hostedZoneId: p('load-balancer-canonical-hosted-zone-id') }) }),
});
new CfnOutput(stack, 'Url', { value: 'https://x.staging.example.com' });
app.synth();
