import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ProviderNames, StagingKinds, TagKeys } from '../contract/staging';
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
  const branchDatabases = arns.branchDatabases;
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
        new iam.PolicyStatement({ actions: ['rds:DescribeDBSnapshots', 'rds:DescribeDBInstances'], resources: ['*'] }),
        new iam.PolicyStatement({
          actions: ['rds:RestoreDBInstanceFromDBSnapshot'],
          resources: [branchDatabases, arns.rds('snapshot', '*'), subnetGroup, arns.rds('og', '*'), arns.rds('pg', '*')],
        }),
        new iam.PolicyStatement({
          actions: ['rds:AddTagsToResource'],
          resources: [branchDatabases],
        }),
        new iam.PolicyStatement({
          actions: ['rds:ModifyDBInstance', 'rds:DeleteDBInstance'],
          resources: [branchDatabases],
          conditions: branchResource,
        }),
        // ModifyDBInstance with DBSubnetGroupName (moving a branch copy into the shared subnet
        // group) is also authorized against that subnet group, which is shared and untagged.
        new iam.PolicyStatement({
          actions: ['rds:ModifyDBInstance'],
          resources: [subnetGroup],
        }),
        new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [arns.branchDatabaseSecrets] }),
        new iam.PolicyStatement({
          actions: ['kms:CreateGrant', 'kms:DescribeKey', 'kms:Decrypt'],
          resources: ['*'],
          conditions: { StringEquals: { 'kms:ViaService': `rds.${stack.region}.amazonaws.com` } },
        }),
      ],
    },
    wildcards: {
      reason:
        'Describe calls have no resource-level permissions; restores may read any snapshot, option and parameter group but create only `<prefix>-*` instances; modify and delete need the feature tag as well; KMS use is only through RDS.',
      findings: /^Resource::(\*|arn:.*:rds:.*:(db:[a-z0-9]+-\*-\?\?\?\?|snapshot:\*|og:\*|pg:\*)|arn:.*:secretsmanager:.*:secret:[a-z0-9]+\/branches\/\*\/database-\?{6})$/,
    },
  };
}
