import { Stack, StackProps } from 'aws-cdk-lib';
import { Construct, IConstruct } from 'constructs';
import { MANAGED_BY_VALUE, StagingKinds, TagKeys } from './contract/staging';
import { SharedStagingNames, StagingNames } from './contract/naming';
import { addOutputs, isMarked, SHARED_STAGING_STACK, SharedStagingHolder, StackOutput, tagStack } from './private/stack-wide';
import { validateParameterPrefix } from './shared-staging-ref';

/** Properties of `SharedStagingStack`. */
export interface SharedStagingStackProps extends StackProps {
  /**
   * The staging system's prefix. The `SharedStaging` built in the stack takes it by default.
   * @default 'staging'
   */
  readonly prefix?: string;

  /**
   * Where the shared staging publishes its parameters. The `SharedStaging` built in the stack
   * takes it by default.
   * @default `/${prefix}`
   */
  readonly parameterPrefix?: string;
}

/**
 * The stack of the shared staging: build one `SharedStaging` inside it, which takes the stack's
 * `prefix` and `parameterPrefix` unless given its own (they must then be equal):
 *
 * ```ts
 * const stack = new SharedStagingStack(app, 'staging-shared', { env: { region: 'eu-west-1' } });
 * new SharedStaging(stack, 'Staging', { domainName, hostedZone, solr, app });
 * ```
 *
 * The stack is named `<prefix>-shared` unless `stackName` says otherwise, and has termination
 * protection unless `terminationProtection` is false. Unlike a `BranchStagingStack`, whose
 * identity is its branch, it takes a construct id like any stack: the id is part of some logical
 * IDs (the shared database's secret), so an existing shared stack keeps its own. It owns what is
 * stack-wide:
 * - the tags `staging:kind=shared`, `staging:prefix` and `staging:managed-by`, on the stack and
 *   on every taggable resource in it: the explicit denies of the sweeper's deletion role read them;
 * - the outputs `SharedOutputs` names: the shared URL, the parameter prefix, the cluster, the
 *   sweeper's and the sleeper's functions, the sweeper's topic and a dry-run command;
 * - one shared staging per stack.
 *
 * `SharedStaging` also works in a stack of your own; the README ("A staging in your own stack")
 * lists what is then your job.
 */
export class SharedStagingStack extends Stack implements SharedStagingHolder {
  /** Whether `x` is a SharedStagingStack. */
  public static isSharedStagingStack(x: unknown): x is SharedStagingStack {
    return isMarked(x, SHARED_STAGING_STACK);
  }

  /** The names of the shared staging's own resources. */
  public readonly names: SharedStagingNames;
  /** The staging system's prefix. */
  public readonly prefix: string;
  /** Where the shared staging publishes its parameters. */
  public readonly parameterPrefix: string;

  private held?: IConstruct;

  /**
   * @param scope the app
   * @param id the construct id; the stack name (`<prefix>-shared`) lets `cdk deploy <name>` select it
   * @param props the prefixes and the stack's own properties (an explicit region is needed)
   */
  constructor(scope: Construct, id: string, props: SharedStagingStackProps = {}) {
    const prefix = props.prefix ?? 'staging';
    const parameterPrefix = props.parameterPrefix ?? `/${prefix}`;
    const problems = [...StagingNames.validatePrefix(prefix), ...validateParameterPrefix(parameterPrefix)];
    if (problems.length > 0) throw new Error(problems.join('\n'));
    const names = new SharedStagingNames(prefix);
    const stackName = props.stackName ?? names.stackName;
    super(scope, id, { ...props, stackName, terminationProtection: props.terminationProtection ?? true });
    Object.defineProperty(this, SHARED_STAGING_STACK, { value: true });
    this.names = names;
    this.prefix = prefix;
    this.parameterPrefix = parameterPrefix;
    tagStack(this, { [TagKeys.KIND]: StagingKinds.SHARED, [TagKeys.PREFIX]: prefix, [TagKeys.MANAGED_BY]: MANAGED_BY_VALUE });
  }

  /** @internal */
  public _holdSharedStaging(staging: IConstruct, outputs: readonly StackOutput[]): void {
    if (this.held) {
      throw new Error(`Stack ${this.node.path} already holds the shared staging ${this.held.node.path}; put ${staging.node.path} in a SharedStagingStack of its own, with a prefix of its own`);
    }
    this.held = staging;
    addOutputs(this, outputs);
  }
}
