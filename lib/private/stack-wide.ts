import { CfnOutput, CfnResource, CustomResource, IAspect, Stack, Tags } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { MANAGED_BY_VALUE, TagKeys } from '../contract/staging';
import { StagingNames } from '../contract/naming';

/** One output of a staging's stack (no export: nothing may import it, ENGINEERING.md decision 2). */
export interface StackOutput {
  readonly name: string;
  readonly value: string;
  readonly description: string;
}

/**
 * What a branch staging hands the `BranchStagingStack` it is built in, so that the stack, not
 * the construct, writes what is stack-wide: the tags, the outputs, the quota ordering and the
 * kind lock (README, "A stack per staging").
 */
export interface HeldBranchStaging {
  /** The staging construct (FeatureStaging or FeatureStagingLite). */
  readonly staging: IConstruct;
  /** `feature` or `feature-lite`. */
  readonly kind: string;
  readonly names: StagingNames;
  /** The branch's `Custom::StagingQuota`. */
  readonly quota: CustomResource;
  /** The stack outputs (`FeatureOutputs`), by name. */
  readonly outputs: readonly StackOutput[];
}

/**
 * What a stack that holds one branch staging does with it; see `BranchStagingStack`.
 * @internal
 */
export interface BranchStagingHolder {
  /** Takes on what is stack-wide for `held`; throws when the stack already holds a staging. */
  _holdBranchStaging(held: HeldBranchStaging): void;
}

/**
 * What a stack that holds the shared staging does with it; see `SharedStagingStack`.
 * @internal
 */
export interface SharedStagingHolder {
  /** The prefix and parameter prefix the stack was made for. */
  readonly prefix: string;
  readonly parameterPrefix: string;
  /** Takes on what is stack-wide for the shared staging `add` describes; throws on a second one. */
  _holdSharedStaging(staging: IConstruct, outputs: readonly StackOutput[]): void;
}

/** Marks a BranchStagingStack without an import of it (which would be a cycle). */
export const BRANCH_STAGING_STACK = Symbol.for('cdk-multi-staging.BranchStagingStack');
/** Marks a SharedStagingStack. */
export const SHARED_STAGING_STACK = Symbol.for('cdk-multi-staging.SharedStagingStack');

/** Whether `x` carries `marker` (set with `Object.defineProperty(this, marker, { value: true })`). */
export function isMarked(x: unknown, marker: symbol): boolean {
  return x !== null && typeof x === 'object' && (x as Record<symbol, unknown>)[marker] === true;
}

/** The BranchStagingStack that `scope` is in, or undefined in any other stack. */
export function branchStagingStackOf(scope: IConstruct): BranchStagingHolder | undefined {
  const stack = Stack.of(scope);
  return isMarked(stack, BRANCH_STAGING_STACK) ? (stack as unknown as BranchStagingHolder) : undefined;
}

/** The SharedStagingStack that `scope` is in, or undefined in any other stack. */
export function sharedStagingStackOf(scope: IConstruct): SharedStagingHolder | undefined {
  const stack = Stack.of(scope);
  return isMarked(stack, SHARED_STAGING_STACK) ? (stack as unknown as SharedStagingHolder) : undefined;
}

/** The tags of a branch staging. */
export function stagingTags(kind: string, names: StagingNames): Record<string, string> {
  return {
    [TagKeys.KIND]: kind,
    [TagKeys.NAME]: names.name,
    [TagKeys.BRANCH]: names.branchTagValue,
    [TagKeys.PREFIX]: names.prefix,
    [TagKeys.MANAGED_BY]: MANAGED_BY_VALUE,
  };
}

/**
 * Tags the stack itself (what the sweeper, the sleeper and `staging list` read; with
 * @aws-cdk/core:explicitStackTags, `Tags.of(stack)` reaches only resources) and every taggable
 * resource in it.
 */
export function tagStack(stack: Stack, tags: Record<string, string>): void {
  for (const [key, value] of Object.entries(tags)) {
    stack.tags.setTag(key, value);
    Tags.of(stack).add(key, value);
  }
}

/** Adds `outputs` to `stack`, without exports. */
export function addOutputs(stack: Stack, outputs: readonly StackOutput[]): void {
  for (const { name, value, description } of outputs) new CfnOutput(stack, name, { value, description });
}

/**
 * Makes every resource below the aspect's scope but the quota itself depend on the quota, so a
 * deploy beyond `maxStagings` fails before anything is created. An aspect, so that resources
 * added later (the data stores, the app's own) are covered too.
 */
export class AfterQuota implements IAspect {
  private readonly quota: CfnResource;

  constructor(quota: CustomResource) {
    this.quota = quota.node.defaultChild as CfnResource;
  }

  public visit(node: IConstruct): void {
    if (node instanceof CfnResource && node !== this.quota && node.cfnResourceType !== 'AWS::CDK::Metadata' && Stack.of(node) === Stack.of(this.quota)) {
      node.addResourceDependency(this.quota);
    }
  }
}
