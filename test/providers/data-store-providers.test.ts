import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { ProviderNames } from '../../lib/contract/staging';
import { redisPrefixProvider, solrCollectionProvider } from '../../lib/providers';
import { statementsOf } from './util';

/** solr-collection and redis-prefix: handlers in the VPC that read one shared secret. */
describe.each([
  ['solr-collection', ProviderNames.SOLR_COLLECTION, (vpc: ec2.IVpc, sg: ec2.ISecurityGroup, secret: secretsmanager.ISecret) => solrCollectionProvider({ vpc, securityGroups: [sg], credentials: secret })],
  ['redis-prefix', ProviderNames.REDIS_PREFIX, (vpc: ec2.IVpc, sg: ec2.ISecurityGroup, secret: secretsmanager.ISecret) => redisPrefixProvider({ vpc, securityGroups: [sg], authSecret: secret })],
])('%s provider', (handler, name, define) => {
  const stack = new Stack(new App(), 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
  const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', { vpcId: 'vpc-0123456789abcdef0', availabilityZones: ['eu-west-1a'], privateSubnetIds: ['subnet-0123456789abcdef0'] });
  const sg = ec2.SecurityGroup.fromSecurityGroupId(stack, 'Sg', 'sg-0123456789abcdef0');
  const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shared-AbCdEf';
  const definition = define(vpc, sg, secretsmanager.Secret.fromSecretCompleteArn(stack, 'Secret', secretArn));

  test('runs its handler in the private subnets, with the given security groups', () => {
    expect(definition.name).toBe(name);
    expect(definition.options).toMatchObject({ handler, vpc, securityGroups: [sg], vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } });
  });

  test('may read that one secret and nothing else; no wildcard to acknowledge', () => {
    expect(statementsOf(stack, definition)).toEqual([{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: secretArn }]);
    expect(definition.wildcards).toBeUndefined();
  });
});
