import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** The one load balancer of the staging system. */
export interface SharedLoadBalancer {
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly listener: elbv2.ApplicationListener;
  readonly certificate: acm.Certificate;
}

/** HTTPS with a wildcard certificate; HTTP only redirects. The load balancer reaches workloads. */
export function sharedLoadBalancer(
  scope: Construct,
  props: { vpc: ec2.IVpc; workloadSecurityGroup: ec2.SecurityGroup; domainName: string; hostedZone: route53.IHostedZone },
): SharedLoadBalancer {
  const logBucket = newLogBucket(scope);
  const loadBalancer = new elbv2.ApplicationLoadBalancer(scope, 'LoadBalancer', {
    vpc: props.vpc,
    internetFacing: true,
    vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
    dropInvalidHeaderFields: true,
  });
  loadBalancer.logAccessLogs(logBucket, 'alb');
  Validations.of(loadBalancer.node.findChild('SecurityGroup')).acknowledge({
    id: 'AwsSolutions-EC23',
    reason: 'The staging load balancer is the one public entry point: 443 for HTTPS and 80 only to redirect to HTTPS.',
  });
  props.workloadSecurityGroup.connections.allowFrom(loadBalancer, ec2.Port.allTcp(), 'Load balancer to app tasks');

  const certificate = new acm.Certificate(scope, 'WildcardCertificate', {
    domainName: `*.${props.domainName}`,
    validation: acm.CertificateValidation.fromDns(props.hostedZone),
  });
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
  return { loadBalancer, listener, certificate };
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
