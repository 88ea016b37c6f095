import { App, Stack } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { BranchStagingStack, FeatureStagingLite, SharedStaging, SharedStagingStack, StagingAccess } from 'cdk-multi-staging';

/**
 * Front-end changes: every branch runs only its own code, on the shared staging's Postgres, Redis
 * and Solr. Cheap and quick to create: nothing is restored.
 * - `cdk synth`                  → `staging-shared`, the shared staging (run it once);
 * - `cdk synth -c branch=NAME`   → `staging-<name>`, that branch's FeatureStagingLite.
 * Optional: `-c image=<image>` (the image CI just built for the branch).
 */

const PREFIX = 'staging';
const DOMAIN = 'staging.example.com';
const env = { region: 'eu-west-1' };
const DEFAULT_IMAGE = 'public.ecr.aws/docker/library/nginx:1.27';

/** Builds the example's stacks into `app`: the shared staging, or only the branch given with `-c branch`. */
export function build(app: App): Stack[] {
  const branch: unknown = app.node.tryGetContext('branch');
  if (branch === undefined) return [sharedStack(app)];
  return [branchStack(app, String(branch))];
}

function image(app: App): ecs.ContainerImage {
  const given: unknown = app.node.tryGetContext('image');
  if (given === undefined) return ecs.ContainerImage.fromRegistry(DEFAULT_IMAGE);
  // An empty -c image=$IMAGE is an unset variable: deploying the default instead would hide it.
  if (typeof given !== 'string' || given === '') {
    throw new Error(`image must be an image reference when given (got ${JSON.stringify(given)}); is the variable in -c image=$IMAGE set? Leave -c image out for ${DEFAULT_IMAGE}`);
  }
  return ecs.ContainerImage.fromRegistry(given);
}

function sharedStack(app: App): Stack {
  // Named `<prefix>-shared`, tagged as the shared staging, with termination protection.
  const stack = new SharedStagingStack(app, 'SharedStaging', {
    prefix: PREFIX,
    description: 'Shared staging: network, cluster, load balancer, data and the shared app',
    env,
  });
  new SharedStaging(stack, 'Staging', {
    // Only the office and the VPN reach the previews; CI's end-to-end tests send the automation token.
    access: StagingAccess.allowNetworks(['203.0.113.0/24', '198.51.100.0/24'], {
      automation: { tokenSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'AutomationToken', 'previews/automation-token') },
    }),
    domainName: DOMAIN,
    hostedZone: route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', {
      hostedZoneId: 'Z0123456789ABCDEFGHIJ',
      zoneName: 'example.com',
    }),
    solr: { url: 'https://solr.internal.example.com:8983/solr' },
    app: {
      image: image(app),
      web: { name: 'web', cpu: 512, memoryLimitMiB: 1024, desiredCount: 2 },
    },
  });
  return stack;
}

function branchStack(app: App, branch: string): Stack {
  // Named `<prefix>-<staging name>` (what the sweeper matches), tagged, with the outputs and the kind lock.
  const stack = new BranchStagingStack(app, { branch, prefix: PREFIX, env });
  stack.templateOptions.description = `Front-end staging of ${JSON.stringify(branch)} at https://${stack.names.hostName(DOMAIN)}`;
  new FeatureStagingLite(stack, 'Staging', {
    branch: stack.names.branch,
    shared: stack.shared,
    image: image(app),
    // Per-branch environment wins over every default, including the data-source variables: here
    // the branch's front end calls the shared staging's API and shows the new checkout.
    environment: {
      API_BASE_URL: `https://shared.${DOMAIN}/api`,
      FEATURE_FLAGS: 'new-checkout',
      LOG_LEVEL: 'debug',
    },
  });
  return stack;
}
