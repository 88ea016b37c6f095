/**
 * Test-only: runs the shared staging's golden-template refresh once, and waits for it, between the
 * shared stack and a template-database branch. A branch on `StagingDatabase.fromTemplate()` fails
 * until the refresh has run once (README, "Template databases"); a person runs the shared stack's
 * output `StagingDatabaseTemplateRefreshCommand`, the integ test does it in this stack.
 *
 * It reads the cluster, subnets and security group from the shared staging's SSM parameters at
 * deploy time, as feature stacks do, so the shared stack under test is exactly what users deploy
 * (no exports, nothing added to it).
 */
import { CustomResource, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { SharedParameterNames } from '../../lib/contract/staging';

export interface GoldenRefreshProps {
  /** The shared staging's prefix: the refresh task family is `<prefix>-database-template-refresh`. */
  readonly prefix: string;
  /** The shared staging's parameter prefix, e.g. `/staging`. */
  readonly parameterPrefix: string;
}

// RunTask on Create (and Update), then DescribeTasks until the task stops; a non-zero exit fails
// the deploy with the task's reason. The Node.js runtime provides the AWS SDK v3.
const ON_EVENT = `
const { ECSClient, RunTaskCommand } = require('@aws-sdk/client-ecs');
exports.handler = async (event) => {
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };
  const p = event.ResourceProperties;
  const out = await new ECSClient({}).send(new RunTaskCommand({
    cluster: p.Cluster,
    taskDefinition: p.TaskFamily,
    capacityProviderStrategy: [{ capacityProvider: 'FARGATE', weight: 1 }],
    networkConfiguration: { awsvpcConfiguration: { subnets: p.Subnets.split(','), securityGroups: [p.SecurityGroup], assignPublicIp: 'DISABLED' } },
  }));
  if (!out.tasks || out.tasks.length !== 1) throw new Error('RunTask started no task: ' + JSON.stringify(out.failures));
  return { PhysicalResourceId: out.tasks[0].taskArn };
};`;
const IS_COMPLETE = `
const { ECSClient, DescribeTasksCommand } = require('@aws-sdk/client-ecs');
exports.handler = async (event) => {
  if (event.RequestType === 'Delete') return { IsComplete: true };
  const out = await new ECSClient({}).send(new DescribeTasksCommand({ cluster: event.ResourceProperties.Cluster, tasks: [event.PhysicalResourceId] }));
  const task = (out.tasks || [])[0];
  if (!task) throw new Error('refresh task ' + event.PhysicalResourceId + ' not found');
  if (task.lastStatus !== 'STOPPED') return { IsComplete: false };
  const exit = (task.containers || [])[0]?.exitCode;
  if (exit !== 0) throw new Error('the golden-template refresh failed: exit ' + exit + ', ' + task.stoppedReason + '; its logs are in /<prefix>/shared/database-template-refresh');
  return { IsComplete: true };
};`;

export class GoldenRefresh extends Construct {
  public readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: GoldenRefreshProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const param = (name: string) => ssm.StringParameter.valueForStringParameter(this, `${props.parameterPrefix}/${name}`);
    const family = `${props.prefix}-database-template-refresh`;

    const role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['ecs:RunTask'],
        resources: [stack.formatArn({ service: 'ecs', resource: 'task-definition', resourceName: `${family}:*` })],
      }),
    );
    role.addToPolicy(new iam.PolicyStatement({ actions: ['ecs:DescribeTasks'], resources: ['*'] }));
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: ['*'],
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
    );
    role.addToPolicy(new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: ['*'] }));

    const fn = (name: string, code: string) =>
      new lambda.Function(this, name, {
        runtime: lambda.Runtime.NODEJS_24_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline(code),
        timeout: Duration.seconds(30),
        role,
        logGroup: new logs.LogGroup(this, `${name}Logs`, { retention: logs.RetentionDays.ONE_WEEK }),
      });
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: fn('OnEvent', ON_EVENT),
      isCompleteHandler: fn('IsComplete', IS_COMPLETE),
      queryInterval: Duration.seconds(15),
      totalTimeout: Duration.minutes(30),
    });
    this.resource = new CustomResource(this, 'Refresh', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::IntegGoldenRefresh',
      properties: {
        Cluster: param(SharedParameterNames.CLUSTER_NAME),
        Subnets: param(SharedParameterNames.PRIVATE_SUBNET_IDS),
        SecurityGroup: param(SharedParameterNames.WORKLOAD_SECURITY_GROUP_ID),
        TaskFamily: family,
      },
    });
  }
}
