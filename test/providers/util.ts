import { Stack } from 'aws-cdk-lib';
import { resourceFinding, wildcardFindings } from '../../lib/private/acknowledge';
import { ProviderDefinition } from '../../lib/providers';
import { TemplateResolver } from '../util/cfn-resolve';

/** The provider's IAM statements as they deploy in `stack` (pseudo parameters and joins resolved). */
export function statementsOf(stack: Stack, definition: ProviderDefinition): any[] {
  const resolver = new TemplateResolver({ Resources: {} }, { account: stack.account, region: stack.region, stackName: stack.stackName });
  return definition.options.policies.map((s) => resolver.resolve(stack.resolve(s.toStatementJson())));
}

/** The cdk-nag IAM5 findings the provider's policy raises in `stack` (`Resource::...`, `Action::...`). */
export function wildcardsOf(stack: Stack, definition: ProviderDefinition): string[] {
  return [...new Set(wildcardFindings({ Statement: definition.options.policies.map((s) => stack.resolve(s.toStatementJson())) }))].sort();
}

/** The findings the provider acknowledges (`definition.acknowledgements`), each with its reason. */
export function acknowledgedOf(stack: Stack, definition: ProviderDefinition): Record<string, string> {
  return Object.fromEntries(
    (definition.acknowledgements ?? []).map((r) => [resourceFinding(stack, r.arn), r.reason]).filter(([finding]) => finding.includes('*')),
  );
}
