import { App, Stack } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { ProviderNames } from '../../lib/contract/staging';
import { releaseTaskProvider } from '../../lib/providers';
import { acknowledgedOf, statementsOf, wildcardsOf } from './util';

describe('release-task provider', () => {
  const stack = new Stack(new App(), 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
  const cluster = ecs.Cluster.fromClusterAttributes(stack, 'C', { clusterName: 'staging-cluster', vpc: undefined as never });
  const definition = releaseTaskProvider({ stack, prefix: 'staging', cluster });
  const statements = statementsOf(stack, definition);
  const clusterArn = 'arn:aws:ecs:eu-west-1:123456789012:cluster/staging-cluster';

  test('runs the release-task handler, which waits in isComplete', () => {
    expect(definition.name).toBe(ProviderNames.RELEASE_TASK);
    expect(definition.options).toMatchObject({ handler: 'release-task', waits: true });
  });

  test('runs only <prefix>-* task definitions, on the shared cluster only', () => {
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: 'ecs:RunTask',
      Resource: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/staging-*:*',
      Condition: { ArnEquals: { 'ecs:cluster': clusterArn } },
    });
  });

  test('passes only feature-tagged roles, to ECS tasks only', () => {
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: 'iam:PassRole',
      Resource: 'arn:aws:iam::123456789012:role/*',
      Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com', 'aws:ResourceTag/staging:kind': 'feature' } },
    });
  });

  test('reads only staging log groups, and tags tasks only as it runs them', () => {
    expect(statements).toContainEqual({ Effect: 'Allow', Action: 'logs:GetLogEvents', Resource: 'arn:aws:logs:eu-west-1:123456789012:log-group:/staging/*:log-stream:*' });
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'ecs:TagResource', Condition: { StringEquals: { 'ecs:CreateAction': 'RunTask' } } }));
  });

  test('acknowledges exactly the wildcards of its statements, each with its reason', () => {
    const acknowledged = acknowledgedOf(stack, definition);
    expect(Object.keys(acknowledged).sort()).toEqual(wildcardsOf(stack, definition));
    expect(acknowledged['Resource::arn:<AWS::Partition>:ecs:eu-west-1:123456789012:task-definition/staging-*:*']).toMatch(/only branch task definitions.*golden template refresh/);
    expect(acknowledged['Resource::arn:<AWS::Partition>:iam::123456789012:role/*']).toMatch(/only roles tagged as feature-staging roles/);
  });
});
