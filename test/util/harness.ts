/**
 * The one harness of the construct tests: a branch staging (FeatureStaging or FeatureStagingLite)
 * in a BranchStagingStack, or in a plain Stack of the user's own, and the props of a SharedStaging.
 */
import { Annotations as CdkAnnotations, App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { BranchStagingProps } from '../../lib/feature-staging-lite';
import { BranchStagingStack } from '../../lib/branch-staging-stack';
import { ISharedStaging, SharedStagingRef } from '../../lib/shared-staging-ref';
import { SharedStagingProps } from '../../lib/shared-staging';
import { StagingAccess } from '../../lib/staging-access';
import { StagingNames } from '../../lib/contract/naming';
import { FEATURE_FLAGS, formatFindings, testApp, validationFindings } from './validate';

export const ENV = { account: '123456789012', region: 'eu-west-1' };
export const BRANCH = 'feature/new_cool_page';
export const NAMES = StagingNames.fromBranch(BRANCH);
export const IMAGE = 'public.ecr.aws/docker/library/nginx:1.27';

/** What every branch-staging test builds on: a web service, one worker and one nightly job. */
export function branchProps(branch: string, shared: ISharedStaging): BranchStagingProps {
  return {
    branch,
    shared,
    image: ecs.ContainerImage.fromRegistry(IMAGE),
    workers: [{ name: 'worker', command: ['bin/worker'] }],
    scheduledJobs: [{ name: 'nightly', command: ['bin/nightly'], schedule: scheduler.ScheduleExpression.expression('cron(0 3 * * ? *)') }],
  };
}

export interface BuiltBranch<T> {
  readonly app: App;
  readonly stack: Stack;
  readonly staging: T;
  readonly template: Template;
  readonly json: any;
  /** cdk-nag and CloudFormation Validate findings, when asked for (`validate`). */
  readonly findings: string[];
}

export interface BranchHarnessOptions {
  /** The staging system's prefix. */
  readonly prefix?: string;
  /** Run cdk-nag and CloudFormation Validate on the same synthesis (the slow part). */
  readonly validate?: boolean;
  /** Build the staging in a plain Stack named `<prefix>-<staging name>` rather than a BranchStagingStack. */
  readonly plainStack?: boolean;
}

/**
 * Builds one branch staging with `make` (e.g. `(scope, props) => new FeatureStaging(scope, 'Staging', { ...props, ...overrides })`)
 * in a BranchStagingStack of `branch`, or in a plain Stack, and synthesizes it.
 */
export function buildBranch<T>(
  make: (scope: Construct, props: BranchStagingProps) => T,
  branch: string = BRANCH,
  opts: BranchHarnessOptions = {},
): BuiltBranch<T> {
  const app = testApp();
  let stack: Stack;
  let shared: ISharedStaging;
  if (opts.plainStack) {
    stack = new Stack(app, 'Feature', { stackName: StagingNames.fromBranch(branch, opts.prefix).stackName, env: ENV });
    shared = SharedStagingRef.fromParameters(stack, 'Shared', { prefix: opts.prefix });
  } else {
    const branchStack = new BranchStagingStack(app, { branch, prefix: opts.prefix, env: ENV });
    stack = branchStack;
    shared = branchStack.shared;
  }
  const staging = make(stack, branchProps(branch, shared));
  const findings = opts.validate ? formatFindings(validationFindings(app)) : [];
  const template = Template.fromStack(stack);
  return { app, stack, staging, template, json: template.toJSON(), findings };
}

/** Builds a branch staging in a throwaway BranchStagingStack, for validation errors. */
export function constructBranch<T>(make: (scope: Construct, props: BranchStagingProps) => T, branch: string = BRANCH): () => T {
  return () => {
    const stack = new BranchStagingStack(new App({ context: FEATURE_FLAGS }), { branch, env: ENV });
    return make(stack, branchProps(branch, stack.shared));
  };
}

/** The props of a SharedStaging in `stack`: a domain, its zone, a Solr server and an nginx app. */
export function sharedStagingProps(stack: Stack, overrides: Partial<SharedStagingProps> = {}): SharedStagingProps {
  // These are tests of other props: the open lock, and its warning acknowledged (test/staging-access.test.ts tests the locks).
  CdkAnnotations.of(stack).acknowledgeWarning('cdk-multi-staging:access-public', 'tests of other props');
  return {
    access: StagingAccess.publicAccess(),
    domainName: 'staging.example.com',
    hostedZone: route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName: 'example.com' }),
    solr: { url: 'https://solr.internal.example.com:8983/solr' },
    app: { image: ecs.ContainerImage.fromRegistry(IMAGE), web: { name: 'web' } },
    ...overrides,
  };
}
