import { Duration, Stack } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ProviderNames, StagingKinds, TagKeys } from '../contract/staging';
import { ReasonedResources } from '../private/acknowledge';
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
  const reasons = new ReasonedResources();
  const tasks = 'Task ids are not known in advance; only tasks of the one shared cluster.';
  return {
    name: ProviderNames.RELEASE_TASK,
    options: {
      handler: 'release-task',
      waits: true,
      // Polled every 5 s: the services wait for it on every deploy, and a poll costs one Lambda call.
      queryInterval: Duration.seconds(5),
      timeout: Duration.minutes(1),
      policies: [
        new iam.PolicyStatement({
          actions: ['ecs:RunTask'],
          resources: reasons.scope([
            arns.branchTaskDefinitions,
            'Release tasks run only branch task definitions (families `<prefix>-*`; the shared staging\'s own, such as the golden template refresh, are outside it), on the one shared cluster.',
          ]),
          conditions: { ArnEquals: { 'ecs:cluster': cluster.clusterArn } },
        }),
        new iam.PolicyStatement({
          actions: ['ecs:ListTasks'],
          resources: reasons.scope(['*', 'ListTasks is authorized on container instances; the ecs:cluster condition limits it to the one shared cluster.']),
          conditions: { ArnEquals: { 'ecs:cluster': cluster.clusterArn } },
        }),
        new iam.PolicyStatement({
          actions: ['ecs:DescribeTasks', 'ecs:StopTask'],
          resources: reasons.scope([arns.tasksOn(cluster.clusterName), tasks]),
        }),
        new iam.PolicyStatement({
          actions: ['ecs:TagResource'],
          resources: reasons.scope([arns.tasksOn(cluster.clusterName), tasks]),
          conditions: { StringEquals: { 'ecs:CreateAction': 'RunTask' } },
        }),
        new iam.PolicyStatement({
          actions: ['iam:PassRole'],
          resources: reasons.scope([arns.roles('*'), 'Passes only roles tagged as feature-staging roles, and only to ECS tasks (the task definition names them).']),
          conditions: {
            StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com', [`aws:ResourceTag/${TagKeys.KIND}`]: StagingKinds.FEATURE },
          },
        }),
        new iam.PolicyStatement({
          actions: ['logs:GetLogEvents'],
          resources: reasons.scope([arns.logStreams(arns.patterns.logGroupName), 'Reads only the staging log groups `/<prefix>/*`, whose streams are per task.']),
        }),
      ],
    },
    acknowledgements: reasons.all,
  };
}
