import { Duration, RemovalPolicy, Size, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { generatedSecret } from './generated-secret';
import { isolatedOrPrivate } from './shared-network';
import { valkeyNode } from './valkey';
import type { SharedCacheOptions, SharedDatabaseOptions, SharedSolrOptions } from '../shared-staging';

/** Where the shared data stores live. */
export interface SharedDataPlacement {
  readonly vpc: ec2.IVpc;
  readonly dataSecurityGroup: ec2.ISecurityGroup;
}

/** The shared Postgres: retained, deletion-protected, backed up; branches restore its snapshots. */
export function sharedDatabase(
  scope: Construct,
  placement: SharedDataPlacement,
  options: SharedDatabaseOptions & { instanceIdentifier: string; logGroupName: string; databaseName: string },
): rds.DatabaseInstance {
  // RDS writes to this group; creating it here gives it a retention without a LogRetention function.
  const logGroup = new logs.LogGroup(scope, 'DatabaseLogs', {
    logGroupName: options.logGroupName,
    retention: logs.RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const database = new rds.DatabaseInstance(scope, 'Database', {
    engine: rds.DatabaseInstanceEngine.postgres({ version: options.engineVersion ?? rds.PostgresEngineVersion.VER_16 }),
    instanceType: options.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MEDIUM),
    vpc: placement.vpc,
    vpcSubnets: { subnetType: isolatedOrPrivate(placement.vpc) },
    securityGroups: [placement.dataSecurityGroup],
    databaseName: options.databaseName,
    credentials: rds.Credentials.fromGeneratedSecret('app_admin'),
    allocatedStorage: (options.allocatedStorage ?? Size.gibibytes(50)).toGibibytes(),
    storageType: rds.StorageType.GP3,
    storageEncrypted: true,
    multiAz: options.multiAz ?? false,
    backupRetention: options.backupRetention ?? Duration.days(7),
    deletionProtection: true,
    removalPolicy: RemovalPolicy.RETAIN,
    publiclyAccessible: false,
    autoMinorVersionUpgrade: true,
    iamAuthentication: true,
    instanceIdentifier: options.instanceIdentifier,
    cloudwatchLogsExports: ['postgresql'],
    parameters: { 'rds.force_ssl': '1' },
  });
  database.node.addDependency(logGroup);
  database.addRotationSingleUser({ automaticallyAfter: Duration.days(30) });
  if (!options.multiAz) {
    Validations.of(database).acknowledge({
      id: 'AwsSolutions-RDS3',
      reason: 'Staging, not production: a standby doubles the cost and staging can wait for a restart. Set database.multiAz to true to match production.',
    });
  }
  Validations.of(database).acknowledge({
    id: 'AwsSolutions-RDS11',
    reason: 'The default port is kept so apps need no special configuration; only staging app tasks reach it (security group).',
  });
  return database;
}

/** The subnet group RDS made for the shared database; branch databases are restored into it. */
export function databaseSubnetGroupName(database: rds.DatabaseInstance): string {
  return (database.node.findChild('SubnetGroup') as rds.SubnetGroup).subnetGroupName;
}

/** The shared Redis/Valkey, with its AUTH token and subnet group (which branch caches use). */
export function sharedCache(
  scope: Construct,
  placement: SharedDataPlacement,
  options: SharedCacheOptions,
): { secret: secretsmanager.Secret; group: elasticache.CfnReplicationGroup; subnetGroup: elasticache.CfnSubnetGroup } {
  const secret = generatedSecret(scope, 'CacheAuth', {
    description: 'AUTH token of the shared staging Redis/Valkey',
    passwordLength: 64,
    removalPolicy: RemovalPolicy.RETAIN,
    whyNotRotated: 'ElastiCache AUTH tokens cannot be rotated by Secrets Manager without a custom rotation function; rotate with ModifyReplicationGroup (AuthTokenUpdateStrategy ROTATE).',
  });
  const subnetGroup = new elasticache.CfnSubnetGroup(scope, 'CacheSubnets', {
    description: 'Staging caches',
    subnetIds: placement.vpc.selectSubnets({ subnetType: isolatedOrPrivate(placement.vpc) }).subnetIds,
  });
  const group = valkeyNode(scope, 'Cache', {
    description: 'Shared staging Redis/Valkey',
    engineVersion: options.engineVersion ?? '8.0',
    nodeType: options.nodeType ?? 'cache.t4g.small',
    subnetGroupName: subnetGroup.ref,
    securityGroupIds: [placement.dataSecurityGroup.securityGroupId],
    authSecret: secret,
    snapshotRetentionLimit: 3,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  Validations.of(group).acknowledge(
    {
      id: 'AwsSolutions-AEC4',
      reason: 'Staging cache: a replica in a second AZ doubles the cost for data that can be rebuilt.',
    },
    {
      id: 'AwsSolutions-AEC5',
      reason: 'The default port is kept so apps need no special configuration; only staging app tasks reach it (security group).',
    },
  );
  return { secret, group, subnetGroup };
}

/** The user's Solr credentials, or a generated secret to set in Solr. */
export function solrCredentials(scope: Construct, options: SharedSolrOptions): secretsmanager.ISecret {
  return (
    options.credentials ??
    generatedSecret(scope, 'SolrCredentials', {
      description: 'Basic-auth credentials of the staging Solr server',
      fields: { username: 'staging' },
      passwordLength: 32,
      removalPolicy: RemovalPolicy.RETAIN,
      whyNotRotated: 'Solr runs outside this stack, so Secrets Manager cannot rotate its password; rotate it in Solr and update this secret.',
    })
  );
}
