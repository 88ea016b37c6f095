import { Stack } from 'aws-cdk-lib';
import { ProviderDefinition } from '../../lib/providers';
import { TemplateResolver } from '../util/cfn-resolve';

/** The provider's IAM statements as they deploy in `stack` (pseudo parameters and joins resolved). */
export function statementsOf(stack: Stack, definition: ProviderDefinition): any[] {
  const resolver = new TemplateResolver({ Resources: {} }, { account: stack.account, region: stack.region, stackName: stack.stackName });
  return definition.options.policies.map((s) => resolver.resolve(stack.resolve(s.toStatementJson())));
}
