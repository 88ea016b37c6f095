import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { ProviderNames } from '../contract/staging';
import { ProviderDefinition } from './provider-definition';
import { InVpc } from './in-vpc';

/** Properties of `solrCollectionProvider`. */
export interface SolrCollectionProviderProps extends InVpc {
  /** Solr's basic-auth credentials. */
  readonly credentials: secretsmanager.ISecret;
}

/** Branch Solr collections, empty or restored from a backup. Solr is reachable only in the VPC. */
export function solrCollectionProvider(props: SolrCollectionProviderProps): ProviderDefinition {
  return {
    name: ProviderNames.SOLR_COLLECTION,
    options: {
      handler: 'solr-collection',
      waits: true,
      queryInterval: Duration.seconds(20),
      timeout: Duration.minutes(3),
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: props.securityGroups,
      policies: [new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [props.credentials.secretArn] })],
    },
  };
}
