import { RemovalPolicy } from 'aws-cdk-lib';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** Where a single-node Valkey lives and what sets it apart (the shared one, or a branch's own). */
export interface ValkeyProps {
  /** The replication group id; CloudFormation generates one when absent. */
  readonly replicationGroupId?: string;
  readonly description: string;
  readonly engineVersion: string;
  readonly nodeType: string;
  readonly subnetGroupName: string;
  readonly securityGroupIds: string[];
  /** JSON secret whose `password` is the AUTH token. */
  readonly authSecret: secretsmanager.ISecret;
  readonly snapshotRetentionLimit: number;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * One Valkey node on the default port, encrypted at rest and in transit (TLS required) with an
 * AUTH token from Secrets Manager: the shared staging's cache and a branch's own use the same.
 */
export function valkeyNode(scope: Construct, id: string, props: ValkeyProps): elasticache.CfnReplicationGroup {
  const group = new elasticache.CfnReplicationGroup(scope, id, {
    replicationGroupId: props.replicationGroupId,
    replicationGroupDescription: props.description,
    engine: 'valkey',
    engineVersion: props.engineVersion,
    cacheNodeType: props.nodeType,
    numCacheClusters: 1,
    automaticFailoverEnabled: false,
    multiAzEnabled: false,
    cacheSubnetGroupName: props.subnetGroupName,
    securityGroupIds: props.securityGroupIds,
    atRestEncryptionEnabled: true,
    transitEncryptionEnabled: true,
    transitEncryptionMode: 'required',
    authToken: props.authSecret.secretValueFromJson('password').unsafeUnwrap(),
    snapshotRetentionLimit: props.snapshotRetentionLimit,
    port: 6379,
  });
  group.applyRemovalPolicy(props.removalPolicy);
  return group;
}
