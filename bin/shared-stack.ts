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
import { appImage, cpuArchitecture, env, serviceOptions } from './common';
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
/**
 * `staging.profile: "lean"`: the shared base at its smallest that still serves a few branches.
 * The NAT gateway stays: without it every task needs a public IPv4 address ($0.12 a day each) or
 * the VPC interface endpoints for ECR, Secrets Manager, Logs and SSM ($0.24 a day each per AZ),
 * both dearer than one NAT gateway ($1.15) once a few branches run.
 */
const LEAN_DEFAULTS = { webDesiredCount: 1, databaseInstanceClass: 'db.t4g.micro', cacheNodeType: 'cache.t4g.micro' } as const;

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
  // The lean profile's sizes, where the configuration leaves them out (README, "The shared base").
  const lean = config.profile === 'lean' ? LEAN_DEFAULTS : undefined;
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
      instanceType: (db.instanceClass ?? lean?.databaseInstanceClass) ? new ec2.InstanceType((db.instanceClass ?? lean!.databaseInstanceClass).replace(/^db\./, '')) : undefined,
      engineVersion: db.engineVersion ? rds.PostgresEngineVersion.of(db.engineVersion, db.engineVersion.split('.')[0]) : undefined,
      allocatedStorage: db.allocatedStorageGiB ? Size.gibibytes(db.allocatedStorageGiB) : undefined,
      databaseName: db.databaseName,
      multiAz: db.multiAz,
      backupRetention: db.backupRetentionDays ? Duration.days(db.backupRetentionDays) : undefined,
    },
    // Branches with feature.database.mode "template" are copied from a golden template on the shared Postgres.
    databaseTemplate: config.feature.database.mode === 'template' ? {} : undefined,
    cache: { nodeType: config.cache.nodeType ?? lean?.cacheNodeType, engineVersion: config.cache.engineVersion },
    solr: {
      url: config.solr.url,
      credentials: config.solr.credentialsSecretArn
        ? secretsmanager.Secret.fromSecretCompleteArn(stack, 'SolrCredentials', config.solr.credentialsSecretArn)
        : undefined,
    },
    maxStagings: config.maxStagings,
    maxBranches: config.maxBranches,
    rulesPerLoadBalancer: config.rulesPerLoadBalancer,
    sweeper: {
      enabled: config.sweeper.enabled,
      idleTimeout: config.sweeper.idleDays !== undefined ? Duration.hours(config.sweeper.idleDays * 24) : undefined,
      warningPeriod: config.sweeper.warningHours !== undefined ? Duration.hours(config.sweeper.warningHours) : undefined,
      schedule: config.sweeper.scheduleMinutes !== undefined ? Duration.minutes(config.sweeper.scheduleMinutes) : undefined,
      dryRun: config.sweeper.dryRun,
      retainResourcesOnDeleteFailed: config.sweeper.retainResourcesOnDeleteFailed,
    },
    stagingsPage: config.stagingsPage,
    app: {
      image: appImage(stack, config.app.image),
      cpuArchitecture: cpuArchitecture(config),
      environment: config.app.environment,
      web: {
        ...serviceOptions(config.app.web),
        desiredCount: config.app.web.desiredCount ?? lean?.webDesiredCount,
        containerPort: config.app.containerPort,
        healthCheckPath: config.app.healthCheckPath,
      },
      workers: config.app.workers.map(serviceOptions),
      scheduledJobs: config.app.scheduledJobs.map((job) => ({
        ...serviceOptions(job),
        schedule: scheduler.ScheduleExpression.expression(job.schedule),
      })),
    },
  });
  return stack;
}

