import { App, Stack } from 'aws-cdk-lib';
import { ProviderNames } from '../../lib/contract/staging';
import { StagingQuotaEnvironment } from '../../lib/contract/providers';
import { stagingQuotaProvider } from '../../lib/providers';
import { statementsOf } from './util';

describe('staging-quota provider', () => {
  const stack = new Stack(new App(), 'S', { env: { account: '123456789012', region: 'eu-west-1' } });

  test('runs the staging-quota handler under its ProviderNames name', () => {
    const definition = stagingQuotaProvider({ prefix: 'staging' });
    expect(definition.name).toBe(ProviderNames.STAGING_QUOTA);
    expect(definition.options.handler).toBe('staging-quota');
  });

  test('without maxStagings the handler gets only the prefix (no cap), with it the cap as well', () => {
    expect(stagingQuotaProvider({ prefix: 'staging' }).options.environment).toEqual({ [StagingQuotaEnvironment.PREFIX]: 'staging' });
    expect(stagingQuotaProvider({ prefix: 'qa', maxStagings: 12 }).options.environment).toEqual({
      [StagingQuotaEnvironment.PREFIX]: 'qa',
      [StagingQuotaEnvironment.MAX_STAGINGS]: '12',
    });
  });

  test('may only list stacks: cloudformation:DescribeStacks, nothing that writes', () => {
    expect(statementsOf(stack, stagingQuotaProvider({ prefix: 'staging', maxStagings: 3 }))).toEqual([
      { Effect: 'Allow', Action: 'cloudformation:DescribeStacks', Resource: '*' },
    ]);
  });

  test('acknowledges only "*", with the reason', () => {
    const wildcards = stagingQuotaProvider({ prefix: 'staging' }).wildcards!;
    expect(wildcards.reason).toMatch(/DescribeStacks without a stack name.*"\*" only/);
    expect(wildcards.findings.test('Resource::*')).toBe(true);
    expect(wildcards.findings.test('Action::cloudformation:*')).toBe(false);
    expect(wildcards.findings.test('Resource::arn:aws:cloudformation:eu-west-1:123456789012:stack/*')).toBe(false);
  });
});
