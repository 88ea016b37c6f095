import { Duration, Stack } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ProviderNames, StagingKinds, TagKeys } from '../contract/staging';
import { StagingArns } from '../private/arns';
import { ProviderDefinition } from './provider-definition';

/** Properties of `releaseTaskProvider`. */
export interface ReleaseTaskProviderProps {
  readonly stack: Stack;
  readonly prefix: string;
  /** The one shared cluster release tasks run on. */
  readonly cluster: ecs.ICluster;
}

/** One-off release tasks (e.g. migrations) of a branch, run before its services roll out. */
export function releaseTaskProvider(props: ReleaseTaskProviderProps): ProviderDefinition {
  const { stack, cluster } = props;
  const arns = new StagingArns(stack, props.prefix);
  return {
    name: ProviderNames.RELEASE_TASK,
    options: {
      handler: 'release-task',
      waits: true,
      queryInterval: Duration.seconds(15),
      timeout: Duration.minutes(1),
      policies: [
        new iam.PolicyStatement({
          actions: ['ecs:RunTask'],
          // Branch families only: the shared staging's own (the golden template refresh) are outside `<prefix>-*`.
          resources: [arns.branchTaskDefinitions],
          conditions: { ArnEquals: { 'ecs:cluster': cluster.clusterArn } },
        }),
        new iam.PolicyStatement({
          actions: ['ecs:ListTasks'],
          resources: ['*'],
          conditions: { ArnEquals: { 'ecs:cluster': cluster.clusterArn } },
        }),
        new iam.PolicyStatement({
          actions: ['ecs:DescribeTasks', 'ecs:StopTask'],
          resources: [arns.tasksOn(cluster.clusterName)],
        }),
        new iam.PolicyStatement({
          actions: ['ecs:TagResource'],
          resources: [arns.tasksOn(cluster.clusterName)],
          conditions: { StringEquals: { 'ecs:CreateAction': 'RunTask' } },
        }),
        new iam.PolicyStatement({
          actions: ['iam:PassRole'],
          resources: [arns.roles('*')],
          conditions: {
            StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com', [`aws:ResourceTag/${TagKeys.KIND}`]: StagingKinds.FEATURE },
          },
        }),
        new iam.PolicyStatement({
          actions: ['logs:GetLogEvents'],
          resources: [arns.logStreams(arns.patterns.logGroupName)],
        }),
      ],
    },
    wildcards: {
      reason:
        'Release tasks run only task definitions named `<prefix>-*` on the one shared cluster, pass only roles tagged as feature-staging roles to ECS tasks, and read only staging log groups; task ids are not known in advance.',
      findings:
        /^Resource::(\*|arn:.*:ecs:.*:(task-definition\/[a-z0-9]+-\*:\*|task\/.*\/\*)|arn:.*:iam::.*:role\/\*|arn:.*:logs:.*:log-group:\/[a-z0-9]+\/\*:log-stream:\*)$/,
    },
  };
}
