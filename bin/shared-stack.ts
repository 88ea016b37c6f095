import { App, Duration, Size } from 'aws-cdk-lib';
import type { MissingContext } from 'aws-cdk-lib/cloud-assembly-schema';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { SharedStagingNames } from '../lib/contract/naming';
import { SharedStaging } from '../lib/shared-staging';
import { SharedStagingStack } from '../lib/shared-staging-stack';
import { StagingAccess } from '../lib/staging-access';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { appImage, env, serviceOptions } from './common';
import { StagingConfig } from './config';

/** `staging.access` as a StagingAccess (the schema has checked that exactly one way in is given). */
function stagingAccess(scope: Construct, access: NonNullable<StagingConfig['access']>): StagingAccess {
  const secret = (id: string, nameOrArn: string) =>
    nameOrArn.startsWith('arn:')
      ? secretsmanager.Secret.fromSecretCompleteArn(scope, id, nameOrArn)
      : secretsmanager.Secret.fromSecretNameV2(scope, id, nameOrArn);
  if (access.public) return StagingAccess.publicAccess();
  const options = {
    automation: access.automation && {
      tokenSecret: secret('AutomationToken', access.automation.tokenSecretName),
      headerName: access.automation.headerName,
      wakesSleepingStagings: access.automation.wakesSleepingStagings,
    },
    publicPaths: access.publicPaths,
  };
  const signIn = { ...options, allowNetworks: access.allowNetworks, sessionTimeout: access.sessionTimeoutHours ? Duration.hours(access.sessionTimeoutHours) : undefined };
  if (access.oidc) {
    const { clientSecretName, ...oidc } = access.oidc;
    return StagingAccess.oidc({ ...signIn, ...oidc, clientSecret: secret('OidcClientSecret', clientSecretName) });
  }
  if (access.cognito) {
    const c = access.cognito;
    return StagingAccess.cognito({
      ...signIn,
      userPool: c.userPoolId ? cognito.UserPool.fromUserPoolId(scope, 'UserPool', c.userPoolId) : undefined,
      userPoolDomain: c.userPoolDomain ? cognito.UserPoolDomain.fromDomainName(scope, 'UserPoolDomain', c.userPoolDomain) : undefined,
      domainPrefix: c.domainPrefix,
      identityProviders: c.identityProviders,
    });
  }
  return StagingAccess.allowNetworks(access.allowNetworks ?? [], options);
}

/** A shared stack that remembers its context lookups still to be made (`Vpc.fromLookup` without cached context). */
export class LookupStack extends SharedStagingStack {
  public readonly pendingLookups: MissingContext[] = [];

  public reportMissingContextKey(report: MissingContext): void {
    this.pendingLookups.push(report);
    super.reportMissingContextKey(report);
  }
}

/**
 * The ready-made app's shared stack, `<prefix>-shared`, a SharedStagingStack (which owns the
 * tags and outputs). Its construct id is its name, so `cdk deploy staging-shared` selects it.
 * This only maps the config to props.
 */
export function sharedStack(app: App, config: StagingConfig): LookupStack {
  const stack = new LookupStack(app, new SharedStagingNames(config.prefix).stackName, {
    prefix: config.prefix,
    parameterPrefix: config.parameterPrefix,
    description: `Shared staging (${config.domainName}): network, cluster, load balancer, data sources and providers for branch stagings`,
    env: env(config),
  });

  const hostedZone = route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', {
    hostedZoneId: config.hostedZoneId,
    zoneName: config.hostedZoneName,
  });
  const db = config.database;
  new SharedStaging(stack, 'Staging', {
    access: stagingAccess(stack, config.access!),
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
    // Branches with feature.database.mode "template" are copied from a golden template on the shared Postgres.
    databaseTemplate: config.feature.database.mode === 'template' ? {} : undefined,
    cache: { nodeType: config.cache.nodeType, engineVersion: config.cache.engineVersion },
    solr: {
      url: config.solr.url,
      credentials: config.solr.credentialsSecretArn
        ? secretsmanager.Secret.fromSecretCompleteArn(stack, 'SolrCredentials', config.solr.credentialsSecretArn)
        : undefined,
    },
    maxStagings: config.maxStagings,
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

