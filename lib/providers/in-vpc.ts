import * as ec2 from 'aws-cdk-lib/aws-ec2';

/** Where a provider whose handler talks to a server in the VPC runs. */
export interface InVpc {
  readonly vpc: ec2.IVpc;
  /** The security groups of the handler; they must reach the server. */
  readonly securityGroups: ec2.ISecurityGroup[];
}
