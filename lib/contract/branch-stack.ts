import { FEATURE_KINDS, TagKeys } from './staging';
import { decodeTagValue } from './naming';

/** A CloudFormation stack as DescribeStacks returns it, as far as {@link branchStagingOf} reads it. */
export interface StackSummary {
  readonly StackName?: string;
  readonly Tags?: ReadonlyArray<{ readonly Key?: string; readonly Value?: string }>;
}

/** What identifies a branch staging's stack. */
export interface BranchStagingIdentity {
  /** `<prefix>-<name>`. */
  readonly stackName: string;
  /** The staging name (tag `staging:name`), e.g. `feature-login-df7c7aeb`. */
  readonly name: string;
  /** The branch (tag `staging:branch`, decoded). */
  readonly branch: string;
  /** `feature` or `feature-lite` (tag `staging:kind`). */
  readonly kind: string;
}

/**
 * The branch staging a stack is, or undefined: tagged with a feature kind, the prefix and a name,
 * and named `<prefix>-<name>`. How `staging list` finds the stagings and the staging-quota
 * provider counts them (the sweeper classifies with reasons of its own, lambda/sweeper/model.ts).
 */
export function branchStagingOf(stack: StackSummary, prefix: string): BranchStagingIdentity | undefined {
  const tag = (key: string) => stack.Tags?.find((t) => t.Key === key)?.Value;
  const kind = tag(TagKeys.KIND);
  const name = tag(TagKeys.NAME);
  if (!kind || !FEATURE_KINDS.includes(kind) || tag(TagKeys.PREFIX) !== prefix || !name) return undefined;
  const stackName = `${prefix}-${name}`;
  if (stack.StackName !== stackName) return undefined;
  return { stackName, name, kind, branch: decodeTagValue(tag(TagKeys.BRANCH) ?? name) };
}
