import { Stack } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { shardRegistryParameterName, type ShardRegistry } from '../contract/capacity';

/** Publishes what feature stacks read at deploy time: one SSM parameter per value, below `parameterPrefix`. */
export function publishSharedParameters(scope: Construct, parameterPrefix: string, values: Record<string, string>): void {
  const parameters = new Construct(scope, 'Parameters');
  for (const [name, value] of Object.entries(values)) {
    new ssm.StringParameter(parameters, name, {
      parameterName: `${parameterPrefix}/${name}`,
      stringValue: value,
    });
  }
}

/**
 * Publishes the shards at `<parameterPrefix>/capacity/shards` (a JSON `ShardRegistry`), which the
 * staging-quota provider reads to place a branch. About 700 characters a shard: past the 4 KB of a
 * standard parameter from 6 shards on, so it is Intelligent-Tiering (standard while it fits, then
 * advanced, up to 8 KB: `MAX_SHARDS`).
 */
export function publishShardRegistry(scope: Construct, parameterPrefix: string, registry: ShardRegistry): ssm.StringParameter {
  return new ssm.StringParameter(scope, 'ShardRegistry', {
    parameterName: shardRegistryParameterName(parameterPrefix),
    stringValue: Stack.of(scope).toJsonString(registry),
    tier: ssm.ParameterTier.INTELLIGENT_TIERING,
    description: 'The load balancers (shards) branch stagings are placed on, and the branch slots of each',
  });
}
