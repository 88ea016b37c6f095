/**
 * The capacity readers' SSM access (lib/contract/capacity.ts `CapacityParameterReader`) for the
 * staging-quota provider, which reads the shard registry and the slots through it. (`staging list`
 * and the stagings page read only the registry, and count the stagings per shard from the stacks.)
 */
import { SSMClient, paginateGetParametersByPath } from '@aws-sdk/client-ssm';
import type { BranchParameter } from '../../lib/contract/branch-state';
import type { CapacityParameterReader } from '../../lib/contract/capacity';
import { parameterIfAny } from './ssm-parameter';

/** GetParametersByPath's largest page. */
const PAGE_SIZE = 10;

export function ssmCapacityReader(ssm: SSMClient): CapacityParameterReader {
  return {
    get: (name) => parameterIfAny(ssm, name),
    async below(path) {
      const out: BranchParameter[] = [];
      for await (const page of paginateGetParametersByPath({ client: ssm, pageSize: PAGE_SIZE }, { Path: path, Recursive: false })) {
        for (const p of page.Parameters ?? []) if (p.Name) out.push({ name: p.Name, value: p.Value ?? '', lastModifiedMs: p.LastModifiedDate?.getTime() });
      }
      return out;
    },
  };
}
