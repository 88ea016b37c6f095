import { Annotations, App, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { ServiceOptions } from '../lib';
import { kindLockParameterName } from '../lib/contract/branch-state';
import { StagingKinds } from '../lib/contract/staging';
import { FeatureStaging } from '../lib/feature-staging';
import { FeatureStagingLite } from '../lib/feature-staging-lite';
import { StagingNames } from '../lib/contract/naming';
import { SharedStagingRef } from '../lib/shared-staging-ref';
import { StagingCache, StagingDatabase, StagingSearch } from '../lib/staging-data';
import { appImage, env } from './common';
import { BranchContext, ServiceConfig, StagingConfig } from './config';

/** The ready-made app's branch stack, `<prefix>-<staging name>`: FeatureStaging, or Lite with `-c lite=true`. */
export function featureStack(app: App, config: StagingConfig, context: BranchContext): Stack {
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
    sleepAfter: config.feature.sleepAfterMinutes !== undefined ? Duration.minutes(config.feature.sleepAfterMinutes) : undefined,
  };
  if (!context.allowKindSwitch) kindLock(stack, names, context.lite ? StagingKinds.FEATURE_LITE : StagingKinds.FEATURE);
  if (context.lite) {
    new FeatureStagingLite(stack, 'Staging', common);
    if (config.feature.releaseCommand) {
      Annotations.of(stack).addWarningV2(
        'cdk-multi-staging:liteSkipsReleaseCommand',
        `staging.feature.releaseCommand (${JSON.stringify(config.feature.releaseCommand)}) does not run in a lite staging: it uses the shared database, which shared staging's deploys migrate. Deploy the branch without -c lite=true to run it on a database of its own.`,
      );
    }
    return stack;
  }
  const f = config.feature;
  new FeatureStaging(stack, 'Staging', {
    ...common,
    database:
      f.database.mode === 'shared'
        ? StagingDatabase.shared()
        : f.database.mode === 'template'
          ? StagingDatabase.fromTemplate({ refreshToken: context.refreshData ? new Date().toISOString() : undefined })
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


/**
 * Makes a switch between lite and full explicit. Both kinds of a branch share one stack, and a
 * full-to-lite deploy would delete the branch's database, cache and collection. Each kind holds
 * an SSM parameter of the same name under a logical ID of its own, so a deploy of the other kind
 * must create it while the old one still exists (CloudFormation deletes removed resources only
 * after everything else succeeded): it fails with `AWS::SSM::Parameter
 * (KindIsLiteSwitchWithAllowKindSwitch): /<prefix>/branches/<name>/kind already exists in stack ...`
 * (early validation, or CREATE_FAILED and a rollback), deleting nothing. `-c allowKindSwitch=true` leaves the parameter out for one
 * deploy (the old one is then removed); the next deploy records the new kind.
 * This works at deploy time and needs no Lambda function and no lookup at synth.
 */
function kindLock(stack: Stack, names: StagingNames, kind: string): void {
  const id = kind === StagingKinds.FEATURE_LITE ? 'KindIsLiteSwitchWithAllowKindSwitch' : 'KindIsFullSwitchWithAllowKindSwitch';
  const other = kind === StagingKinds.FEATURE_LITE ? 'a full FeatureStaging (its database, cache and collection would be deleted)' : 'a lite FeatureStagingLite';
  new ssm.CfnParameter(stack, id, {
    name: kindLockParameterName(names),
    type: 'String',
    value: kind,
    description: `This branch staging is ${kind}. A deploy of the other kind fails on this parameter instead of replacing ${other}; deploy once with -c allowKindSwitch=true to switch.`,
  });
}
