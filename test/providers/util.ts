import { Stack } from 'aws-cdk-lib';
import { ProviderDefinition } from '../../lib/providers';

/** The provider's IAM statements, resolved in `stack` as they appear in the template. */
export function statementsOf(stack: Stack, definition: ProviderDefinition): any[] {
  return definition.options.policies.map((s) => stack.resolve(s.toStatementJson()));
}
