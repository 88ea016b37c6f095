import { App, Stack, StackProps, Tags } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import {
  BranchStagingStack,
  FeatureStaging,
  SharedStaging,
  SharedStagingStack,
  StagingCache,
  StagingDatabase,
  StagingAccess,
  StagingSearch,
} from 'cdk-multi-staging';

/**
 * The constructs inside an existing platform app: Acme's own VPC, hosted zone, Solr credentials
 * and alert topic, Acme's stack classes and names.
 * - `cdk synth`                  → `acme-platform-staging`, the shared staging;
 * - `cdk synth -c branch=NAME`   → `acme-<name>`, that branch's FeatureStaging with its own
 *   database (from production's newest snapshot), the shared Redis under a key prefix and the
 *   shared Solr.
 */

/** Acme's environment: an existing account and VPC, so the account is explicit (no lookups). */
const ACME_ENV = { account: '123456789012', region: 'eu-west-1' };

/**
 * The staging system's prefix. Branch stacks are named `acme-<staging name>`, and the sweeper
 * only ever deletes stacks named `<prefix>-<staging name>` that carry the matching tags.
 */
const PREFIX = 'acme';
/** Acme keeps all its SSM parameters below /acme/<system>. */
const PARAMETER_PREFIX = '/acme/staging';
const DOMAIN = 'staging.acme.example.com';
/** Acme's name for the shared stack. It starts with `acme-`, so no branch may take it (see `AcmeBranchStagingStack`). */
export const SHARED_STACK_NAME = 'acme-platform-staging';

/** Builds the example's stacks into `app`: the shared staging, or only the branch given with `-c branch`. */
export function build(app: App): Stack[] {
  Tags.of(app).add('acme:cost-center', 'platform');
  const branch: unknown = app.node.tryGetContext('branch');
  if (branch === undefined) return [new AcmePlatformStagingStack(app, 'PlatformStaging', { env: ACME_ENV })];
  return [new AcmeBranchStagingStack(app, String(branch), { env: ACME_ENV })];
}

/**
 * Acme's shared staging: the library's SharedStaging in Acme's network and DNS, in a
 * SharedStagingStack (tagged as the shared staging, with its outputs and termination protection)
 * under Acme's own stack name.
 */
export class AcmePlatformStagingStack extends SharedStagingStack {
  public readonly staging: SharedStaging;

  constructor(scope: Construct, id: string, props: StackProps) {
    super(scope, id, {
      ...props,
      prefix: PREFIX,
      parameterPrefix: PARAMETER_PREFIX,
      stackName: SHARED_STACK_NAME,
      description: 'Acme platform: shared staging (cluster, load balancer, Postgres, Redis, providers, sweeper)',
    });

    // The VPC the platform team runs, imported as it is: no lookup, so synth needs no credentials.
    const vpc = ec2.Vpc.fromVpcAttributes(this, 'AcmeVpc', {
      vpcId: 'vpc-0123456789abcdef0',
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
      publicSubnetIds: ['subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002'],
      publicSubnetRouteTableIds: ['rtb-0a1b2c3d4e5f60001', 'rtb-0a1b2c3d4e5f60001'],
      privateSubnetIds: ['subnet-0a1b2c3d4e5f60011', 'subnet-0a1b2c3d4e5f60012'],
      privateSubnetRouteTableIds: ['rtb-0a1b2c3d4e5f60011', 'rtb-0a1b2c3d4e5f60012'],
    });
    // The zone Acme already has; branches live at <name>.staging.acme.example.com.
    const hostedZone = route53.HostedZone.fromHostedZoneAttributes(this, 'AcmeZone', {
      hostedZoneId: 'Z0123456789ABCDEFGHIJ',
      zoneName: 'acme.example.com',
    });

    this.staging = new SharedStaging(this, 'Staging', {
      // Acme's staff sign in through a Cognito user pool made here (it can federate to Acme's SAML
      // provider); the office network gets in without signing in.
      access: StagingAccess.cognito({ allowNetworks: ['203.0.113.0/24'] }),
      domainName: DOMAIN,
      hostedZone,
      vpc,
      // Named like production's, so a branch restored from production's snapshot finds its data.
      database: { databaseName: 'acme' },
      solr: {
        url: 'https://search.internal.acme.example.com/solr',
        credentials: secretsmanager.Secret.fromSecretCompleteArn(
          this,
          'SolrCredentials',
          'arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme/solr/staging-AbCdEf',
        ),
      },
      app: {
        image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/nginx:1.27'),
        web: { name: 'web', cpu: 512, memoryLimitMiB: 1024, desiredCount: 2 },
      },
      // Warnings and deletion notices go to the platform team's existing topic.
      sweeper: { topic: sns.Topic.fromTopicArn(this, 'AlertsTopic', 'arn:aws:sns:eu-west-1:123456789012:acme-platform-alerts') },
    });
  }
}

/**
 * One branch of Acme's app: its own database, the shared Redis (own key prefix) and Solr. A
 * BranchStagingStack: named exactly `<prefix>-<staging name>` (the sweeper ignores any other name,
 * and branch resources are named after the stack), tagged, with the outputs and the kind lock.
 */
export class AcmeBranchStagingStack extends BranchStagingStack {
  public readonly staging: FeatureStaging;

  constructor(scope: Construct, branch: string, props: StackProps) {
    super(scope, { ...props, branch, prefix: PREFIX, parameterPrefix: PARAMETER_PREFIX });
    // Acme's shared stack name starts with `acme-` too: no branch may take it.
    if (this.names.stackName === SHARED_STACK_NAME) {
      throw new Error(
        `branch ${JSON.stringify(branch)} would name its stack ${this.names.stackName}, which is the shared staging's; rename the branch`,
      );
    }
    this.templateOptions.description = `Acme branch staging of ${JSON.stringify(branch)} at https://${this.names.hostName(DOMAIN)}`;

    this.staging = new FeatureStaging(this, 'Staging', {
      branch: this.names.branch,
      shared: this.shared,
      image: ecs.ContainerImage.fromRegistry(this.node.tryGetContext('image') ?? 'public.ecr.aws/docker/library/nginx:1.27'),
      // Mixed data: an own Postgres from production's newest snapshot, the shared Redis under a key
      // prefix of the branch's own (REDIS_KEY_PREFIX; removed on destroy), the shared Solr as it is.
      database: StagingDatabase.fromLatestSnapshot({ sourceInstanceIdentifier: 'acme-production' }),
      cache: StagingCache.sharedPrefix(),
      search: StagingSearch.shared({ collection: 'catalog' }),
    });
  }
}
