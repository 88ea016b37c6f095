import * as iam from 'aws-cdk-lib/aws-iam';
import { FEATURE_KINDS, StagingKinds, TagKeys } from '../contract/staging';
import type { StagingArns } from './arns';

/**
 * Who may delete branch stagings (the sweeper, the stagings page): DeleteStack on `<prefix>-*`
 * stacks tagged as this prefix's feature stagings, only with the sweeper's deletion role, never on
 * the shared stack (by name and by tag), and iam:PassRole of that role to CloudFormation alone.
 */
export function deleteBranchStackStatements(arns: StagingArns, deletionRoleArn: string): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'DeleteTaggedFeatureStacksOnly',
      actions: ['cloudformation:DeleteStack'],
      resources: [arns.branchStacks],
      conditions: {
        StringEquals: {
          [`aws:ResourceTag/${TagKeys.KIND}`]: [...FEATURE_KINDS],
          [`aws:ResourceTag/${TagKeys.PREFIX}`]: arns.prefix,
        },
        ArnEquals: { 'cloudformation:RoleArn': deletionRoleArn },
      },
    }),
    // `<prefix>-*` matches the shared stack `<prefix>-shared` too: never, whatever its tags say.
    new iam.PolicyStatement({
      sid: 'NeverDeleteTheSharedStack',
      effect: iam.Effect.DENY,
      actions: ['cloudformation:DeleteStack'],
      resources: [arns.sharedStack],
    }),
    new iam.PolicyStatement({
      sid: 'NeverDeleteSharedStacks',
      effect: iam.Effect.DENY,
      actions: ['cloudformation:DeleteStack'],
      resources: ['*'],
      conditions: { StringEquals: { [`aws:ResourceTag/${TagKeys.KIND}`]: StagingKinds.SHARED } },
    }),
    new iam.PolicyStatement({
      sid: 'PassDeletionRoleToCloudFormation',
      actions: ['iam:PassRole'],
      resources: [deletionRoleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } },
    }),
  ];
}
