import { Duration, Stack } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ProviderNames, StagingKinds, TagKeys } from '../contract/staging';
import { StagingNamePatterns } from '../contract/naming';
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
  const patterns = new StagingNamePatterns(props.prefix);
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
          resources: [`arn:${stack.partition}:ecs:${stack.region}:${stack.account}:task-definition/${patterns.taskDefinitionFamily}:*`],
          conditions: { ArnEquals: { 'ecs:cluster': cluster.clusterArn } },
        }),
        new iam.PolicyStatement({
          actions: ['ecs:ListTasks'],
          resources: ['*'],
          conditions: { ArnEquals: { 'ecs:cluster': cluster.clusterArn } },
        }),
        new iam.PolicyStatement({
          actions: ['ecs:DescribeTasks', 'ecs:StopTask'],
          resources: [`arn:${stack.partition}:ecs:${stack.region}:${stack.account}:task/${cluster.clusterName}/*`],
        }),
        new iam.PolicyStatement({
          actions: ['ecs:TagResource'],
          resources: [`arn:${stack.partition}:ecs:${stack.region}:${stack.account}:task/${cluster.clusterName}/*`],
          conditions: { StringEquals: { 'ecs:CreateAction': 'RunTask' } },
        }),
        new iam.PolicyStatement({
          actions: ['iam:PassRole'],
          resources: [`arn:${stack.partition}:iam::${stack.account}:role/*`],
          conditions: {
            StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com', [`aws:ResourceTag/${TagKeys.KIND}`]: StagingKinds.FEATURE },
          },
        }),
        new iam.PolicyStatement({
          actions: ['logs:GetLogEvents'],
          resources: [`arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:${patterns.logGroupName}:log-stream:*`],
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
