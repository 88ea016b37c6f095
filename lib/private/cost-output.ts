import { CfnOutput, CfnResource, Lazy, Stack, Token } from 'aws-cdk-lib';
import { FeatureOutputs } from '../contract/staging';
import { costSummary, priceTemplate } from '../contract/cost/model';

/**
 * The stack's cost per day as an output (FeatureOutputs.COST_PER_DAY), priced at synthesis by
 * the same model as `staging cost`: `$1.57/day awake, $0.95/day asleep (eu-west-1, prices as of
 * 2026-09-29)`, then "no price for X in Y" for what it cannot price (an environment-agnostic
 * stack's region, an instance class read from SSM at deploy).
 */
export function addCostOutput(stack: Stack): CfnOutput {
  return new CfnOutput(stack, FeatureOutputs.COST_PER_DAY, {
    description: "This branch's own resources per day at on-demand prices, without its share of the shared stack (npx staging cost itemizes both)",
    value: Lazy.string({ produce: () => stackCostSummary(stack) }),
  });
}

/** The one-line cost of the stack's resources, read from its L1s. */
export function stackCostSummary(stack: Stack): string {
  const region = Token.isUnresolved(stack.region) ? 'unknown-region' : stack.region;
  return costSummary(priceTemplate({ Resources: resourcesOf(stack) }, region));
}

/**
 * The resource types the cost model reads (lib/contract/cost/model.ts priceTemplate): only these
 * are resolved: resolving every resource a second time showed in the synth benchmark.
 */
const PRICED_TYPES = new Set([
  'AWS::ECS::Service',
  'AWS::ECS::TaskDefinition',
  'AWS::Scheduler::Schedule',
  'Custom::StagingDatabase',
  'Custom::StagingTemplateDatabase',
  'Custom::StagingSleep',
  'AWS::RDS::DBInstance',
  'AWS::ElastiCache::ReplicationGroup',
  'AWS::ElastiCache::CacheCluster',
  'AWS::ElasticLoadBalancingV2::LoadBalancer',
  'AWS::EC2::NatGateway',
  'AWS::EC2::EIP',
  'AWS::SecretsManager::Secret',
  'AWS::Logs::LogGroup',
]);

/**
 * The stack's priced resources as its template holds them, each resolved from its L1
 * (CfnResource), overrides included. Not the stack's template: that holds the cost output itself.
 */
function resourcesOf(stack: Stack): Record<string, any> {
  const resources: Record<string, any> = {};
  for (const c of stack.node.findAll()) {
    if (!CfnResource.isCfnResource(c) || Stack.of(c) !== stack || !PRICED_TYPES.has(c.cfnResourceType)) continue;
    Object.assign(resources, (stack.resolve(c._toCloudFormation()) as { Resources?: Record<string, any> }).Resources ?? {});
  }
  return resources;
}
