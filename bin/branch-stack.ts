import { Annotations, App, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type { ServiceOptions } from '../lib';
import { BranchStagingStack } from '../lib/branch-staging-stack';
import { FeatureStaging } from '../lib/feature-staging';
import { FeatureStagingLite } from '../lib/feature-staging-lite';
import { StagingCache, StagingDatabase, StagingSearch } from '../lib/staging-data';
import { appImage, cpuArchitecture, env } from './common';
import { BranchContext, ServiceConfig, StagingConfig } from './config';

/**
 * The ready-made app's branch stack, `<prefix>-<staging name>`: FeatureStaging, or Lite with
 * `-c lite=true`, in a BranchStagingStack (which owns the tags, outputs, quota ordering and kind
 * lock; `-c allowKindSwitch=true` is its allowKindSwitch, `-c commit`, `-c pullRequest` and the image
 * its last-deploy outputs). This only maps the config to props.
 */
export function featureStack(app: App, config: StagingConfig, context: BranchContext): Stack {
  const image = context.image ?? config.app.image;
  const stack = new BranchStagingStack(app, {
    branch: context.branch,
    prefix: config.prefix,
    parameterPrefix: config.parameterPrefix,
    allowKindSwitch: context.allowKindSwitch,
    commit: context.commit,
    pullRequest: context.pullRequest,
    image,
    env: env(config),
  });
  const { names, shared } = stack;
  stack.templateOptions.description = `Branch staging of ${JSON.stringify(names.branch)} at https://${names.hostName(config.domainName)}`;
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
    branch: names.branch,
    shared,
    image: appImage(stack, image),
    web: { ...sized(config.app.web), containerPort: config.app.containerPort, healthCheckPath: config.app.healthCheckPath },
    workers: config.app.workers.map(sized),
    scheduledJobs: config.app.scheduledJobs.map((job) => ({ ...sized(job), schedule: scheduler.ScheduleExpression.expression(job.schedule) })),
    environment: { ...config.app.environment, ...config.feature.environment, ...context.environment },
    capacityProviderStrategies: config.feature.spotOnly ? [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }] : undefined,
    sleepAfter: config.feature.sleepAfterMinutes !== undefined ? Duration.minutes(config.feature.sleepAfterMinutes) : undefined,
    cpuArchitecture: cpuArchitecture(config),
  };
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
    stopDatabaseAfter: f.stopDatabaseAfterMinutes ? Duration.minutes(f.stopDatabaseAfterMinutes) : undefined,
  });
  return stack;
}
