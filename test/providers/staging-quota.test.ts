import { App, Stack } from 'aws-cdk-lib';
import { ProviderNames } from '../../lib/contract/staging';
import { StagingQuotaEnvironment } from '../../lib/contract/providers';
import { stagingQuotaProvider } from '../../lib/providers';
import { statementsOf, wildcardsOf } from './util';

describe('staging-quota provider', () => {
  const stack = new Stack(new App(), 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
  const quota = (more: { prefix?: string; maxStagings?: number } = {}) => stagingQuotaProvider({ stack, prefix: 'staging', parameterPrefix: '/staging', ...more });

  test('runs the staging-quota handler under its ProviderNames name', () => {
    const definition = quota();
    expect(definition.name).toBe(ProviderNames.STAGING_QUOTA);
    expect(definition.options.handler).toBe('staging-quota');
  });

  test('without maxStagings the handler gets the prefixes only (no cap), with it the cap as well', () => {
    expect(quota().options.environment).toEqual({ [StagingQuotaEnvironment.PREFIX]: 'staging', [StagingQuotaEnvironment.PARAMETER_PREFIX]: '/staging' });
    expect(stagingQuotaProvider({ stack, prefix: 'qa', parameterPrefix: '/qa/staging', maxStagings: 12 }).options.environment).toEqual({
      [StagingQuotaEnvironment.PREFIX]: 'qa',
      [StagingQuotaEnvironment.PARAMETER_PREFIX]: '/qa/staging',
      [StagingQuotaEnvironment.MAX_STAGINGS]: '12',
    });
  });

  test('may list stacks, read the capacity\'s parameters and write its slots, claims and release records only (never the registry)', () => {
    const capacity = 'arn:aws:ssm:eu-west-1:123456789012:parameter/staging/capacity';
    expect(statementsOf(stack, quota({ maxStagings: 3 }))).toEqual([
      { Effect: 'Allow', Action: 'cloudformation:DescribeStacks', Resource: '*' },
      { Effect: 'Allow', Action: ['ssm:GetParameter', 'ssm:GetParametersByPath'], Resource: [capacity, `${capacity}/*`] },
      { Effect: 'Allow', Action: ['ssm:PutParameter', 'ssm:DeleteParameter'], Resource: [`${capacity}/slots/*`, `${capacity}/claims/*`, `${capacity}/releases/*`] },
    ]);
  });

  test('acknowledges exactly its wildcards ("*" and the capacity folder), with the reason', () => {
    const wildcards = quota().wildcards!;
    expect(wildcards.reason).toMatch(/DescribeStacks without a stack name.*"\*" only.*below <parameter prefix>\/capacity\//);
    expect(wildcardsOf(stack, quota())).toHaveLength(5);
    for (const finding of wildcardsOf(stack, quota())) expect(wildcards.findings.test(finding)).toBe(true);
    expect(wildcards.findings.test('Action::cloudformation:*')).toBe(false);
    expect(wildcards.findings.test('Resource::arn:aws:cloudformation:eu-west-1:123456789012:stack/*')).toBe(false);
    expect(wildcards.findings.test('Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter/staging/*')).toBe(false);
  });
});
