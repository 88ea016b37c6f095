import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ProviderNames, StagingKinds, TagKeys } from '../contract/staging';
import { ReasonedResources } from '../private/acknowledge';
import { StagingArns } from '../private/arns';
import { ProviderDefinition } from './provider-definition';

/** Properties of `databaseRestoreProvider`. */
export interface DatabaseRestoreProviderProps {
  /** The stack of the provider: the account and region of the databases. */
  readonly stack: Stack;
  readonly prefix: string;
  /** The shared database's subnet group, which branch databases are restored into. */
  readonly subnetGroupName: string;
}

/**
 * Branch databases restored from the newest snapshot of the shared (or another) instance. It may
 * create only `<prefix>-*` instances, and modify or delete only those tagged as feature resources.
 */
export function databaseRestoreProvider(props: DatabaseRestoreProviderProps): ProviderDefinition {
  const { stack } = props;
  const arns = new StagingArns(stack, props.prefix);
  const reasons = new ReasonedResources();
  const branchDatabases: [string, string] = [
    arns.branchDatabases,
    'Branch databases are named `<prefix>-<branch>-<generation>` (`<prefix>-*-????`, which the shared database does not match); modify and delete need the feature tag as well.',
  ];
  const subnetGroup = arns.rds('subgrp', props.subnetGroupName);
  const branchResource = { StringEquals: { [`aws:ResourceTag/${TagKeys.KIND}`]: StagingKinds.FEATURE } };
  return {
    name: ProviderNames.DATABASE_RESTORE,
    options: {
      handler: 'database-restore',
      waits: true,
      queryInterval: Duration.seconds(30),
      timeout: Duration.minutes(2),
      policies: [
        new iam.PolicyStatement({
          actions: ['rds:DescribeDBSnapshots', 'rds:DescribeDBInstances'],
          resources: reasons.scope(['*', 'Describe calls have no resource-level permissions; KMS use is only through RDS (kms:ViaService).']),
        }),
        new iam.PolicyStatement({
          actions: ['rds:RestoreDBInstanceFromDBSnapshot'],
          resources: [
            ...reasons.scope(branchDatabases, [
              arns.rds('snapshot', '*'),
              'A restore may read any snapshot (the newest of the source instance is chosen at deploy time) but creates only branch databases.',
            ]),
            subnetGroup,
            ...reasons.scope(
              [arns.rds('og', '*'), 'A restore may use any option group (the snapshot\'s own).'],
              [arns.rds('pg', '*'), 'A restore may use any parameter group (the snapshot\'s own).'],
            ),
          ],
        }),
        new iam.PolicyStatement({
          actions: ['rds:AddTagsToResource'],
          resources: reasons.scope(branchDatabases),
        }),
        new iam.PolicyStatement({
          actions: ['rds:ModifyDBInstance', 'rds:DeleteDBInstance'],
          resources: reasons.scope(branchDatabases),
          conditions: branchResource,
        }),
        // ModifyDBInstance with DBSubnetGroupName (moving a branch copy into the shared subnet
        // group) is also authorized against that subnet group, which is shared and untagged.
        new iam.PolicyStatement({
          actions: ['rds:ModifyDBInstance'],
          resources: [subnetGroup],
        }),
        new iam.PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: reasons.scope([
            arns.branchDatabaseSecrets,
            'Only the branch database secrets `<prefix>/branches/<name>/database` (their ARNs add a random suffix), never the branch cache tokens.',
          ]),
        }),
        new iam.PolicyStatement({
          actions: ['kms:CreateGrant', 'kms:DescribeKey', 'kms:Decrypt'],
          resources: reasons.scope(['*', 'Describe calls have no resource-level permissions; KMS use is only through RDS (kms:ViaService).']),
          conditions: { StringEquals: { 'kms:ViaService': `rds.${stack.region}.amazonaws.com` } },
        }),
      ],
    },
    acknowledgements: reasons.all,
  };
}
