import { App, Duration, Stack } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import {
  BranchStagingStack,
  FeatureStaging,
  ScheduledJobOptions,
  ServiceOptions,
  SharedStaging,
  SharedStagingStack,
  StagingCache,
  StagingDatabase,
  StagingAccess,
  StagingSearch,
  WebServiceOptions,
} from 'cdk-multi-staging';

/**
 * A Rails app (Puma, Sidekiq, a nightly rake task) with a staging per branch:
 * - `cdk synth`                  → `staging-shared`, the shared staging (run it once);
 * - `cdk synth -c branch=NAME`   → `staging-<name>`, that branch's full FeatureStaging.
 * Optional: `-c imageTag=<tag>` (the image CI just pushed; default `staging`).
 */

const PREFIX = 'staging';
const DOMAIN = 'staging.example.com';
const env = { region: 'eu-west-1' };

/** The processes of the app, as in a Procfile. Sizes are set per staging below. */
const web: WebServiceOptions = {
  name: 'web',
  command: ['bin/rails', 'server', '--binding', '0.0.0.0', '--port', '3000'],
  containerPort: 3000,
  healthCheckPath: '/up', // Rails' built-in health check
};
const worker: ServiceOptions = { name: 'worker', command: ['bundle', 'exec', 'sidekiq'] };
const nightly: ScheduledJobOptions = {
  name: 'nightly-report',
  command: ['bin/rails', 'reports:nightly'],
  schedule: scheduler.ScheduleExpression.cron({ minute: '0', hour: '3' }),
};
const environment = { RAILS_ENV: 'staging', RAILS_LOG_TO_STDOUT: 'true', RAILS_SERVE_STATIC_FILES: 'true' };

/** Builds the example's stacks into `app`: the shared staging, or only the branch given with `-c branch`. */
export function build(app: App): Stack[] {
  const branch: unknown = app.node.tryGetContext('branch');
  if (branch === undefined) return [sharedStack(app)];
  return [branchStack(app, String(branch))];
}

/** The app's image from its ECR repository in this account; the tag is the one CI pushed. */
function railsImage(stack: Stack): ecs.ContainerImage {
  const repository = ecr.Repository.fromRepositoryName(stack, 'Repository', 'rails-app');
  const tag: unknown = stack.node.tryGetContext('imageTag') ?? 'staging';
  // An empty -c imageTag=$GIT_SHA would pull `latest`, which CI never pushes.
  if (typeof tag !== 'string' || !/^[\w][\w.-]{0,127}$/.test(tag)) {
    throw new Error(`imageTag must be a Docker tag, e.g. a commit SHA (got ${JSON.stringify(tag)}); is the variable in -c imageTag=$GIT_SHA set? Leave -c imageTag out for "staging"`);
  }
  return ecs.ContainerImage.fromEcrRepository(repository, tag);
}

function sharedStack(app: App): Stack {
  // Named `<prefix>-shared`, tagged as the shared staging, with termination protection.
  const stack = new SharedStagingStack(app, 'SharedStaging', {
    prefix: PREFIX,
    description: 'Shared staging of the Rails app: network, cluster, load balancer, data, providers and the sweeper',
    env,
  });
  new SharedStaging(stack, 'Staging', {
    // The team signs in with the company's Okta; Stripe's webhooks reach /webhooks/* without it.
    access: StagingAccess.oidc({
      issuer: 'https://example.okta.com',
      authorizationEndpoint: 'https://example.okta.com/oauth2/v1/authorize',
      tokenEndpoint: 'https://example.okta.com/oauth2/v1/token',
      userInfoEndpoint: 'https://example.okta.com/oauth2/v1/userinfo',
      clientId: '0oa1b2c3d4e5f6g7h8i9',
      clientSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'OktaClientSecret', 'rails-staging/okta-client-secret'),
      publicPaths: ['/webhooks/*'],
    }),
    domainName: DOMAIN,
    hostedZone: route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', {
      hostedZoneId: 'Z0123456789ABCDEFGHIJ',
      zoneName: 'example.com',
    }),
    solr: { url: 'https://solr.internal.example.com:8983/solr' },
    app: {
      image: railsImage(stack),
      environment,
      // Production-like sizes: shared staging is where the next release is checked.
      web: { ...web, cpu: 1024, memoryLimitMiB: 2048, desiredCount: 2 },
      workers: [{ ...worker, cpu: 512, memoryLimitMiB: 1024 }],
      scheduledJobs: [{ ...nightly, cpu: 512, memoryLimitMiB: 1024 }],
    },
    // The default, spelled out: a branch with no deploy, request or keep-alive for 3 days is
    // destroyed, after a warning 24 hours before.
    sweeper: { idleTimeout: Duration.days(3), warningPeriod: Duration.hours(24) },
  });
  return stack;
}

function branchStack(app: App, branch: string): Stack {
  // Named `<prefix>-<staging name>` (what the sweeper matches), tagged, with the outputs and the kind lock.
  const stack = new BranchStagingStack(app, { branch, prefix: PREFIX, env });
  stack.templateOptions.description = `Branch staging of ${JSON.stringify(branch)} at https://${stack.names.hostName(DOMAIN)}`;
  new FeatureStaging(stack, 'Staging', {
    branch: stack.names.branch,
    shared: stack.shared,
    image: railsImage(stack),
    environment,
    // Staging-sized: one small task each (the defaults, 256 CPU units and 512 MiB, are too small for Rails).
    web: { ...web, cpu: 512, memoryLimitMiB: 1024 },
    workers: [{ ...worker, cpu: 256, memoryLimitMiB: 1024 }],
    scheduledJobs: [{ ...nightly, cpu: 256, memoryLimitMiB: 1024 }],
    // Runs before the services roll: the migrations since the snapshot, on top of its data.
    releaseCommand: ['bin/rails', 'db:migrate'],
    // Postgres restored from the newest snapshot of the shared staging's database.
    database: StagingDatabase.fromLatestSnapshot(),
    // Sidekiq queues and the Rails cache of this branch only.
    cache: StagingCache.dedicated(),
    // The branch's own copy of the `products` collection, from the newest backup.
    search: StagingSearch.restoredCollection({ sourceCollection: 'products', backupLocation: '/var/solr/backups' }),
  });
  return stack;
}
