import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Shard 0, the load balancer of the shared app, the waker and the stagings page. */
export interface SharedLoadBalancer {
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly listener: elbv2.ApplicationListener;
  readonly certificate: acm.Certificate;
  /** Adds shards 1 to `count - 1` and answers every shard, shard 0 first. */
  withShards(count: number): LoadBalancerShard[];
}

/** One load balancer and its HTTPS listener. */
export interface LoadBalancerShard {
  readonly index: number;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly listener: elbv2.ApplicationListener;
}

/**
 * HTTPS with a wildcard certificate; HTTP only redirects. The load balancers reach workloads.
 * Shard 0 keeps the construct ids of the one load balancer before shards (no replacement on
 * upgrade); shard n > 0 lives in `Shard<n>` with the same security group (so the workloads'
 * ingress stays one rule), certificate, 404 default and access-log bucket (prefix `alb-shard<n>`).
 */
export function sharedLoadBalancer(
  scope: Construct,
  props: { vpc: ec2.IVpc; workloadSecurityGroup: ec2.SecurityGroup; domainName: string; hostedZone: route53.IHostedZone },
): SharedLoadBalancer {
  const logBucket = newLogBucket(scope);
  const loadBalancer = newLoadBalancer(scope, 0, props.vpc, logBucket);
  const securityGroup = loadBalancer.connections.securityGroups[0];
  Validations.of(securityGroup).acknowledge({
    id: 'AwsSolutions-EC23',
    reason: 'The staging load balancers are the one public entry point: 443 for HTTPS and 80 only to redirect to HTTPS.',
  });
  props.workloadSecurityGroup.connections.allowFrom(loadBalancer, ec2.Port.allTcp(), 'Load balancer to app tasks');

  const certificate = new acm.Certificate(scope, 'WildcardCertificate', {
    domainName: `*.${props.domainName}`,
    validation: acm.CertificateValidation.fromDns(props.hostedZone),
  });
  const listener = addListeners(loadBalancer, certificate);
  const withShards = (count: number): LoadBalancerShard[] => [
    { index: 0, loadBalancer, listener },
    ...Array.from({ length: count - 1 }, (_, i) => {
      const shard = newLoadBalancer(new Construct(scope, `Shard${i + 1}`), i + 1, props.vpc, logBucket, securityGroup);
      return { index: i + 1, loadBalancer: shard, listener: addListeners(shard, certificate) };
    }),
  ];
  return { loadBalancer, listener, certificate, withShards };
}

function newLoadBalancer(scope: Construct, index: number, vpc: ec2.IVpc, logBucket: s3.IBucket, securityGroup?: ec2.ISecurityGroup): elbv2.ApplicationLoadBalancer {
  const loadBalancer = new elbv2.ApplicationLoadBalancer(scope, 'LoadBalancer', {
    vpc,
    internetFacing: true,
    vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
    dropInvalidHeaderFields: true,
    securityGroup,
  });
  loadBalancer.logAccessLogs(logBucket, index === 0 ? 'alb' : `alb-shard${index}`);
  return loadBalancer;
}

function addListeners(loadBalancer: elbv2.ApplicationLoadBalancer, certificate: acm.ICertificate): elbv2.ApplicationListener {
  const listener = loadBalancer.addListener('Https', {
    port: 443,
    protocol: elbv2.ApplicationProtocol.HTTPS,
    certificates: [certificate],
    sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
    defaultAction: elbv2.ListenerAction.fixedResponse(404, {
      contentType: 'text/plain',
      messageBody: 'No staging is deployed at this address.',
    }),
  });
  loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443 });
  return listener;
}

function newLogBucket(scope: Construct): s3.Bucket {
  const bucket = new s3.Bucket(scope, 'AccessLogs', {
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    lifecycleRules: [{ expiration: Duration.days(30) }],
    removalPolicy: RemovalPolicy.RETAIN,
  });
  Validations.of(bucket).acknowledge({
    id: 'AwsSolutions-S1',
    reason: 'This bucket receives the load balancer access logs; logging its own access would log the logs.',
  });
  return bucket;
}
