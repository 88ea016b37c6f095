import { Aspects, IAspect, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';

/**
 * Acknowledges cdk-nag's AwsSolutions-IAM5 (wildcard permission) findings on the IAM policies
 * below `scope`, one exact finding at a time (`AwsSolutions-IAM5[Resource::...]`), with `reason`.
 *
 * cdk-nag names each wildcard finding by the flattened policy text, which holds logical IDs that
 * depend on where the user put our construct. So the findings are computed at synthesis, from
 * the resolved policy, the way cdk-nag computes them. Only wildcards that `matches` accepts are
 * acknowledged; any other wildcard still shows up.
 */
export function acknowledgeWildcardPermissions(scope: IConstruct, reason: string, matches: RegExp = /.*/): void {
  Aspects.of(scope).add(new WildcardAcknowledger((finding) => (matches.test(finding) ? reason : undefined)));
}

/** A resource a policy statement names, and why a reviewer should accept its wildcard. */
export interface ReasonedResource {
  /** The ARN or ARN pattern, exactly as the statement names it. */
  readonly arn: string;
  /** Why the wildcard in it is by design (the cdk-nag acknowledgement's reason). */
  readonly reason: string;
}

/**
 * Acknowledges cdk-nag's AwsSolutions-IAM5 findings on the IAM policies below `scope` for exactly
 * the `resources` given, each with its own reason. The finding IDs are computed from the very
 * ARNs the statements hold (resolved and flattened as cdk-nag does), so a statement and its
 * acknowledgement cannot drift apart; a wildcard resource without a reason still shows up.
 */
export function acknowledgeResources(scope: IConstruct, resources: ReasonedResource[]): void {
  Aspects.of(scope).add(
    new WildcardAcknowledger((finding, stack) => {
      const reasons = resources.filter((r) => resourceFinding(stack, r.arn) === finding).map((r) => r.reason);
      return reasons.length > 0 ? [...new Set(reasons)].join(' ') : undefined;
    }),
  );
}

/** The cdk-nag finding (`Resource::...`, without the rule id) a resource of a statement in `stack` raises if it has a wildcard. */
export function resourceFinding(stack: Stack, arn: string): string {
  return `Resource::${flatten(stack.resolve(arn))}`;
}

/**
 * The resources of a policy's statements, each with why it is scoped as it is: `scope(...)` gives
 * a statement its resources and records their reasons, `all` is what `acknowledgeResources` takes.
 * One list, so a statement's resource and its acknowledgement are written once.
 */
export class ReasonedResources {
  private readonly list: ReasonedResource[] = [];

  /** @param suffix what every reason ends with (e.g. the guard the whole policy shares) */
  constructor(private readonly suffix: string = '') {}

  /** The ARNs of `resources`, for a statement's `resources`; their reasons are recorded. */
  public scope(...resources: Array<[arn: string, reason: string]>): string[] {
    this.list.push(...resources.map(([arn, reason]) => ({ arn, reason: this.suffix ? `${reason} ${this.suffix}` : reason })));
    return resources.map(([arn]) => arn);
  }

  /** Every resource recorded, with its reason. */
  public get all(): ReasonedResource[] {
    return [...this.list];
  }
}

class WildcardAcknowledger implements IAspect {
  constructor(private readonly reasonFor: (finding: string, stack: Stack) => string | undefined) {}

  public visit(node: IConstruct): void {
    let documents: unknown[] = [];
    if (node instanceof iam.CfnPolicy || node instanceof iam.CfnManagedPolicy) {
      documents = [Stack.of(node).resolve(node.policyDocument)];
    } else if (node instanceof iam.CfnRole) {
      const policies = (Stack.of(node).resolve(node.policies) ?? []) as Array<{ policyDocument: unknown }>;
      documents = policies.map((p) => Stack.of(node).resolve(p.policyDocument));
    }
    for (const finding of documents.flatMap(wildcardFindings)) {
      const reason = this.reasonFor(finding, Stack.of(node));
      if (reason !== undefined) Validations.of(node).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
    }
  }
}

/** cdk-nag's AwsSolutions-IAM5 findings of a resolved policy document (`Resource::...`, `Action::...`). */
export function wildcardFindings(document: any): string[] {
  const findings = new Set<string>();
  for (const statement of document?.Statement ?? []) {
    if (statement.Effect !== 'Allow') continue;
    for (const action of asArray(statement.Action)) {
      if (typeof action === 'string' && action.includes('*')) findings.add(`Action::${action}`);
    }
    for (const resource of asArray(statement.Resource).map(flatten)) {
      if (resource.includes('*')) findings.add(`Resource::${resource}`);
    }
  }
  return [...findings];
}

function asArray(value: unknown): any[] {
  return Array.isArray(value) ? value : [value];
}

/** cdk-nag's flattening of CloudFormation references (utils/flatten-cfn-reference). */
function flatten(node: any): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\${/g, '<').replace(/}/g, '>');
  if (node['Fn::Join']) {
    const [delimiter, items] = node['Fn::Join'];
    return items.map(flatten).join(delimiter);
  }
  if (node['Fn::Sub']) return flatten(node['Fn::Sub']);
  if (node['Fn::GetAtt']) {
    const [resource, attribute] = node['Fn::GetAtt'];
    return `<${flatten(resource)}.${flatten(attribute)}>`;
  }
  if (node['Fn::ImportValue']) return flatten(node['Fn::ImportValue']);
  if (node.Ref) return `<${flatten(node.Ref)}>`;
  return JSON.stringify(node);
}
