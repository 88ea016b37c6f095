import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { ProviderNames } from '../contract/staging';
import { ProviderDefinition } from './provider-definition';
import { InVpc } from './in-vpc';

/** Properties of `redisPrefixProvider`. */
export interface RedisPrefixProviderProps extends InVpc {
  /** The AUTH token of the shared Redis/Valkey. */
  readonly authSecret: secretsmanager.ISecret;
}

/** Branch key prefixes on the shared Redis: deleting one deletes its keys. Redis is only in the VPC. */
export function redisPrefixProvider(props: RedisPrefixProviderProps): ProviderDefinition {
  return {
    name: ProviderNames.REDIS_PREFIX,
    options: {
      handler: 'redis-prefix',
      timeout: Duration.minutes(10),
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: props.securityGroups,
      policies: [new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [props.authSecret.secretArn] })],
    },
  };
}
