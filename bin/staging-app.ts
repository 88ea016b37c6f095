import { App, Duration, Size, Stack, Tags } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import {
  FeatureStaging,
  FeatureStagingLite,
  StagingCache,
  StagingDatabase,
  StagingSearch,
  MANAGED_BY_VALUE,
  ServiceOptions,
  SharedStaging,
  SharedStagingRef,
  StagingKinds,
  StagingNames,
  TagKeys,
} from '../lib';
import { BranchContext, readBranchContext, readStagingConfig, ServiceConfig, StagingConfig } from './config';

/**
 * The ready-made app. Configuration is the `staging` block of cdk.json context (README,
 * "Configuration").
 * - `cdk synth`: the shared stack, `<prefix>-shared`.
 * - `cdk synth -c branch=NAME`: only that branch's FeatureStaging stack (own data).
 * - `cdk synth -c branch=NAME -c lite=true`: only that branch's FeatureStagingLite stack.
 */
export function buildStagingApp(app: App): Stack[] {
  const config = readStagingConfig(app.node.tryGetContext('staging'));
  const branch = readBranchContext((key) => app.node.tryGetContext(key));
  if (!branch) return [sharedStack(app, config)];
  return [featureStack(app, config, branch)];
}

function featureStack(app: App, config: StagingConfig, context: BranchContext): Stack {
  const names = StagingNames.fromBranch(context.branch, config.prefix);
  const stack = new Stack(app, names.stackName, {
    stackName: names.stackName,
    description: `Branch staging of ${JSON.stringify(names.branch)} at https://${names.hostName(config.domainName)}`,
    env: env(config),
  });
  const shared = SharedStagingRef.fromParameters(stack, 'Shared', { prefix: config.prefix, parameterPrefix: config.parameterPrefix });
  const sized = (s: ServiceConfig): ServiceOptions => {
    const size = config.feature.services[s.name] ?? {};
    return {
      name: s.name,
      command: s.command,
      environment: s.environment,
      cpu: size.cpu,
      memoryLimitMiB: size.memoryMiB,
      desiredCount: size.desiredCount,
    };
  };
  const common = {
    branch: context.branch,
    shared,
    image: appImage(stack, context.image ?? config.app.image),
    web: { ...sized(config.app.web), containerPort: config.app.containerPort, healthCheckPath: config.app.healthCheckPath },
    workers: config.app.workers.map(sized),
    scheduledJobs: config.app.scheduledJobs.map((job) => ({ ...sized(job), schedule: scheduler.ScheduleExpression.expression(job.schedule) })),
    environment: { ...config.app.environment, ...config.feature.environment, ...context.environment },
    capacityProviderStrategies: config.feature.spotOnly ? [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }] : undefined,
  };
  if (context.lite) {
    new FeatureStagingLite(stack, 'Staging', common);
    return stack;
  }
  const f = config.feature;
  new FeatureStaging(stack, 'Staging', {
    ...common,
    database:
      f.database.mode === 'shared'
        ? StagingDatabase.shared()
        : StagingDatabase.fromLatestSnapshot({
            sourceInstanceIdentifier: f.database.sourceInstanceIdentifier,
            instanceType: f.database.instanceClass ? new ec2.InstanceType(f.database.instanceClass.replace(/^db\./, '')) : undefined,
            minStorageGiB: f.database.minStorageGiB,
            // A new value on every deploy with -c refreshData=true restores a fresh copy; without it the data is kept.
            refreshToken: context.refreshData ? new Date().toISOString() : undefined,
          }),
    cache:
      f.cache.mode === 'dedicated'
        ? StagingCache.dedicated({ nodeType: f.cache.nodeType })
        : f.cache.mode === 'prefix'
          ? StagingCache.sharedPrefix()
          : StagingCache.shared(),
    search:
      f.solr.mode === 'restore'
        ? StagingSearch.restoredCollection({
            sourceCollection: f.solr.sourceCollection!,
            backupLocation: f.solr.backupLocation!,
            backupRepository: f.solr.backupRepository,
          })
        : f.solr.mode === 'empty'
          ? StagingSearch.emptyCollection({ sourceCollection: f.solr.sourceCollection!, configSet: f.solr.configSet })
          : StagingSearch.shared({ collection: f.solr.sourceCollection }),
    releaseCommand: f.releaseCommand,
  });
  return stack;
}

function env(config: StagingConfig) {
  const region = config.region ?? process.env.CDK_DEFAULT_REGION;
  if (!region) {
    throw new Error('staging.region is not set and the AWS CLI has no default region; add "region": "eu-west-1" (yours) to the "staging" block of cdk.json');
  }
  return { account: config.account ?? process.env.CDK_DEFAULT_ACCOUNT, region };
}

function sharedStack(app: App, config: StagingConfig): Stack {
  const stack = new Stack(app, 'SharedStaging', {
    stackName: `${config.prefix}-shared`,
    description: `Shared staging (${config.domainName}): network, cluster, load balancer, data sources and providers for branch stagings`,
    env: env(config),
    terminationProtection: true,
  });
  for (const [key, value] of Object.entries({
    [TagKeys.KIND]: StagingKinds.SHARED,
    [TagKeys.PREFIX]: config.prefix,
    [TagKeys.MANAGED_BY]: MANAGED_BY_VALUE,
  })) {
    stack.tags.setTag(key, value); // the stack itself
    Tags.of(stack).add(key, value); // and its resources
  }

  const hostedZone = route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', {
    hostedZoneId: config.hostedZoneId,
    zoneName: config.hostedZoneName,
  });
  const db = config.database;
  new SharedStaging(stack, 'Staging', {
    prefix: config.prefix,
    parameterPrefix: config.parameterPrefix,
    domainName: config.domainName,
    hostedZone,
    vpc: config.network.vpcId ? ec2.Vpc.fromLookup(stack, 'Vpc', { vpcId: config.network.vpcId }) : undefined,
    vpcCidr: config.network.cidr,
    maxAzs: config.network.maxAzs,
    natGateways: config.network.natGateways,
    containerInsights: config.cluster.containerInsights,
    ec2Capacity: config.cluster.ec2Capacity && {
      instanceType: config.cluster.ec2Capacity.instanceType ? new ec2.InstanceType(config.cluster.ec2Capacity.instanceType) : undefined,
      minCapacity: config.cluster.ec2Capacity.minCapacity,
      maxCapacity: config.cluster.ec2Capacity.maxCapacity,
    },
    database: {
      instanceType: db.instanceClass ? new ec2.InstanceType(db.instanceClass.replace(/^db\./, '')) : undefined,
      engineVersion: db.engineVersion ? rds.PostgresEngineVersion.of(db.engineVersion, db.engineVersion.split('.')[0]) : undefined,
      allocatedStorage: db.allocatedStorageGiB ? Size.gibibytes(db.allocatedStorageGiB) : undefined,
      databaseName: db.databaseName,
      multiAz: db.multiAz,
      backupRetention: db.backupRetentionDays ? Duration.days(db.backupRetentionDays) : undefined,
    },
    cache: { nodeType: config.cache.nodeType, engineVersion: config.cache.engineVersion },
    solr: {
      url: config.solr.url,
      credentials: config.solr.credentialsSecretArn
        ? secretsmanager.Secret.fromSecretCompleteArn(stack, 'SolrCredentials', config.solr.credentialsSecretArn)
        : undefined,
    },
    sweeper: {
      enabled: config.sweeper.enabled,
      idleTimeout: config.sweeper.idleDays !== undefined ? Duration.hours(config.sweeper.idleDays * 24) : undefined,
      warningPeriod: config.sweeper.warningHours !== undefined ? Duration.hours(config.sweeper.warningHours) : undefined,
      schedule: config.sweeper.scheduleMinutes !== undefined ? Duration.minutes(config.sweeper.scheduleMinutes) : undefined,
      dryRun: config.sweeper.dryRun,
      retainResourcesOnDeleteFailed: config.sweeper.retainResourcesOnDeleteFailed,
    },
    app: {
      image: appImage(stack, config.app.image),
      environment: config.app.environment,
      web: { ...serviceOptions(config.app.web), containerPort: config.app.containerPort, healthCheckPath: config.app.healthCheckPath },
      workers: config.app.workers.map(serviceOptions),
      scheduledJobs: config.app.scheduledJobs.map((job) => ({
        ...serviceOptions(job),
        schedule: scheduler.ScheduleExpression.expression(job.schedule),
      })),
    },
  });
  return stack;
}

function serviceOptions(s: ServiceConfig) {
  return {
    name: s.name,
    command: s.command,
    cpu: s.cpu,
    memoryLimitMiB: s.memoryMiB,
    desiredCount: s.desiredCount,
    environment: s.environment,
  };
}

const ECR_IMAGE = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\/([a-z0-9._\/-]+)(?::([\w.-]+)|@(sha256:[0-9a-f]{64}))?$/;

/** A private ECR image gets pull permissions on its repository; any other image is pulled as is. */
function appImage(scope: Stack, uri: string): ecs.ContainerImage {
  const ecrImage = ECR_IMAGE.exec(uri);
  if (!ecrImage) return ecs.ContainerImage.fromRegistry(uri);
  const [, account, region, china, name, tag, digest] = ecrImage;
  const repository = ecr.Repository.fromRepositoryAttributes(scope, 'AppRepository', {
    repositoryArn: `arn:${china ? 'aws-cn' : 'aws'}:ecr:${region}:${account}:repository/${name}`,
    repositoryName: name,
  });
  return ecs.ContainerImage.fromEcrRepository(repository, digest ?? tag ?? 'latest');
}
