import { Aspects, Stack, StackProps, Token } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { commitProblem, pullRequestProblem } from './contract/deploy-info';
import { imageReferenceProblem } from './contract/image';
import { FeatureOutputs, StagingKinds } from './contract/staging';
import { kindLockParameterName } from './contract/branch-state';
import { StagingNames } from './contract/naming';
import { addCostOutput } from './private/cost-output';
import { addOutputs, AfterQuota, BRANCH_STAGING_STACK, BranchStagingHolder, HeldBranchStaging, isMarked, StackOutput, stagingTags, tagStack } from './private/stack-wide';
import { ISharedStaging, SharedStagingRef } from './shared-staging-ref';

/** Properties of `BranchStagingStack`. */
export interface BranchStagingStackProps extends StackProps {
  /**
   * The git branch, e.g. `feature/new_cool_page`. The stack is named `<prefix>-<staging name>`
   * (`names.stackName`), the one name the sweeper removes; `stackName` may only repeat it.
   */
  readonly branch: string;

  /**
   * The staging system's prefix, as given to the shared staging.
   * @default 'staging'
   */
  readonly prefix?: string;

  /**
   * Where the shared staging publishes its parameters, as given to it.
   * @default `/${prefix}`
   */
  readonly parameterPrefix?: string;

  /**
   * Let this deploy switch the branch between FeatureStaging and FeatureStagingLite. Without it
   * the stack records its kind in an SSM parameter that a deploy of the other kind collides
   * with, so a full-to-lite redeploy fails instead of deleting the branch's database, cache and
   * collection. With it the record is left out for this deploy (the old one is removed); the
   * next deploy without it records the new kind.
   * @default false
   */
  readonly allowKindSwitch?: boolean;

  /**
   * The git commit this deploy is built from (7 to 40 hex digits), e.g. CI's `github.sha`. It becomes
   * the output `StagingCommit`, which `staging list` and the stagings page show as the last deploy's
   * commit. An output changes no resource: a redeploy that only changes it is quick.
   * @default - no StagingCommit output
   */
  readonly commit?: string;

  /**
   * The pull request this deploy is for: its number (`12`, shown as `#12`) or its https URL (shown as
   * a link). It becomes the output `StagingPullRequest`, shown with the last deploy.
   * @default - no StagingPullRequest output
   */
  readonly pullRequest?: string;

  /**
   * The image reference this deploy runs, as text (the staging construct takes it as a
   * `ContainerImage`, whose name is not known at synth). It becomes the output `StagingImage`, shown
   * with the last deploy.
   * @default - no StagingImage output
   */
  readonly image?: string;
}

/**
 * The stack of one branch staging, the common case: build a `FeatureStaging` or a
 * `FeatureStagingLite` inside it, with its `names.branch` and its `shared`:
 *
 * ```ts
 * const stack = new BranchStagingStack(app, { branch, env: { region: 'eu-west-1' } });
 * new FeatureStagingLite(stack, 'Staging', { branch: stack.names.branch, shared: stack.shared, image });
 * ```
 *
 * The stack computes the names once and is named `<prefix>-<staging name>` (its construct id too,
 * so `cdk deploy <stack name>` selects it). It owns what is stack-wide, once the staging is in it:
 * - the tags `staging:kind`, `staging:name`, `staging:branch`, `staging:prefix` and
 *   `staging:managed-by`, on the stack (what the sweeper, the sleeper and `staging list` read) and
 *   on every taggable resource in it;
 * - the outputs `FeatureOutputs` names: the URL, the console command, the CloudWatch dimensions
 *   the sweeper reads, the cost per day, and the last deploy's commit, pull request and image when
 *   given (`commit`, `pullRequest`, `image`);
 * - the quota ordering: every resource of the stack, the app's own included, waits for the
 *   staging's `Custom::StagingQuota`, so a deploy beyond `maxStagings` creates nothing;
 * - the kind lock (see `allowKindSwitch`);
 * - one staging per stack: a second one fails, since the tags would lie.
 *
 * The constructs also work in a stack of your own; the README ("A staging in your own stack")
 * lists what is then your job.
 */
export class BranchStagingStack extends Stack implements BranchStagingHolder {
  /** Whether `x` is a BranchStagingStack. */
  public static isBranchStagingStack(x: unknown): x is BranchStagingStack {
    return isMarked(x, BRANCH_STAGING_STACK);
  }

  /** The names derived from the branch. */
  public readonly names: StagingNames;

  /** The shared staging, read from its SSM parameters at deploy time. */
  public readonly shared: ISharedStaging;

  /** The kind of the staging in the stack (`StagingKinds`), once one is built in it. */
  public get kind(): string | undefined {
    return this.held?.kind;
  }

  private readonly allowKindSwitch: boolean;
  private readonly deployOutputs: readonly StackOutput[];
  private held?: HeldBranchStaging;

  /**
   * @param scope the app
   * @param props the branch, the prefixes and the stack's own properties
   */
  constructor(scope: Construct, props: BranchStagingStackProps) {
    const names = StagingNames.fromBranch(props.branch, props.prefix);
    if (props.stackName !== undefined && props.stackName !== names.stackName) {
      throw new Error(
        `stackName must be "${names.stackName}" for branch ${JSON.stringify(names.branch)} (got ${JSON.stringify(props.stackName)}); the sweeper only removes stacks named <prefix>-<staging name>: leave stackName out`,
      );
    }
    const deployOutputs = deployInfoOutputs(props);
    super(scope, names.stackName, { ...props, stackName: names.stackName });
    Object.defineProperty(this, BRANCH_STAGING_STACK, { value: true });
    this.names = names;
    this.allowKindSwitch = props.allowKindSwitch ?? false;
    this.deployOutputs = deployOutputs;
    this.shared = SharedStagingRef.fromParameters(this, 'Shared', { prefix: names.prefix, parameterPrefix: props.parameterPrefix });
  }

  /** @internal */
  public _holdBranchStaging(held: HeldBranchStaging): void {
    if (this.held) {
      throw new Error(
        `Stack ${this.node.path} already holds the staging "${this.held.names.name}"; put each branch staging (here "${held.names.name}") in its own stack, named e.g. "${held.names.stackName}"`,
      );
    }
    if (held.names.branch !== this.names.branch || held.names.prefix !== this.names.prefix) {
      throw new Error(
        `${held.staging.node.path}: branch ${JSON.stringify(held.names.branch)} with prefix "${held.names.prefix}" is not the branch of its BranchStagingStack (${JSON.stringify(this.names.branch)}, prefix "${this.names.prefix}"); pass branch: stack.names.branch and shared: stack.shared`,
      );
    }
    this.held = held;
    tagStack(this, stagingTags(held.kind, held.names));
    addOutputs(this, [...held.outputs, ...this.deployOutputs]);
    addCostOutput(this);
    Aspects.of(this).add(new AfterQuota(held.quota));
    if (!this.allowKindSwitch) kindLock(this, held.kind);
  }
}

/**
 * The outputs of the last deploy's commit, pull request and image, from the props; throws once with
 * every prop that is not what it should be (unresolved tokens are taken as given).
 */
function deployInfoOutputs(props: BranchStagingStackProps): StackOutput[] {
  const checks: Array<{ prop: 'commit' | 'pullRequest' | 'image'; name: string; description: string; problem: (v: string) => string | undefined }> = [
    { prop: 'commit', name: FeatureOutputs.COMMIT, description: 'The git commit this branch staging was last deployed from', problem: commitProblem },
    { prop: 'pullRequest', name: FeatureOutputs.PULL_REQUEST, description: 'The pull request this branch staging was last deployed for', problem: pullRequestProblem },
    {
      prop: 'image',
      name: FeatureOutputs.IMAGE,
      description: 'The image this branch staging was last deployed with',
      problem: (v) => {
        const p = imageReferenceProblem(v);
        return p && `must be an image reference Docker can pull; it ${p}`;
      },
    },
  ];
  const problems: string[] = [];
  const outputs = checks.flatMap(({ prop, name, description, problem }): StackOutput[] => {
    const value = props[prop];
    if (value === undefined) return [];
    const found = Token.isUnresolved(value) ? undefined : problem(value);
    if (found) problems.push(`${prop} ${found} (got ${JSON.stringify(value)}); leave ${prop} out when it is not known`);
    return [{ name, value, description }];
  });
  if (problems.length > 0) throw new Error(`BranchStagingStack: ${problems.join('; ')}`);
  return outputs;
}

/**
 * Makes a switch between lite and full explicit. Both kinds of a branch share one stack, and a
 * full-to-lite deploy would delete the branch's database, cache and collection. Each kind holds
 * an SSM parameter of the same name under a logical ID of its own, so a deploy of the other kind
 * must create it while the old one still exists (CloudFormation deletes removed resources only
 * after everything else succeeded): it fails with `AWS::SSM::Parameter
 * (KindIsLiteSwitchWithAllowKindSwitch): /<prefix>/branches/<name>/kind already exists in stack ...`
 * (early validation, or CREATE_FAILED and a rollback), deleting nothing. `allowKindSwitch` leaves
 * the parameter out for one deploy (the old one is then removed); the next deploy records the new
 * kind. This works at deploy time and needs no Lambda function and no lookup at synth.
 */
function kindLock(stack: BranchStagingStack, kind: string): void {
  const lite = kind === StagingKinds.FEATURE_LITE;
  const other = lite ? 'a full FeatureStaging (its database, cache and collection would be deleted)' : 'a lite FeatureStagingLite';
  new ssm.CfnParameter(stack, lite ? 'KindIsLiteSwitchWithAllowKindSwitch' : 'KindIsFullSwitchWithAllowKindSwitch', {
    name: kindLockParameterName(stack.names),
    type: 'String',
    value: kind,
    description: `This branch staging is ${kind}. A deploy of the other kind fails on this parameter instead of replacing ${other}; deploy once with -c allowKindSwitch=true to switch.`,
  });
}
