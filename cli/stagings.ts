/** Finding the branch stagings of one prefix, their shared stack, pins, keep-alives and sleep states. */
import { DescribeStacksCommand, Stack, paginateDescribeStacks } from '@aws-sdk/client-cloudformation';
import { GetParameterCommand, paginateGetParametersByPath } from '@aws-sdk/client-ssm';
import { BranchParameter } from '../lib/contract/branch-state';
import { CapacityInUse, capacityInUse, readShardRegistry } from '../lib/contract/capacity';
import { SharedStackOutputs } from '../lib/contract/staging';
import { SharedStagingNames, StagingNames } from '../lib/contract/naming';
import { Staging, StagingSources, readStagingStacks } from '../lib/contract/stagings-view';
import { nearMatches } from '../lib/contract/suggest';
import { Clients } from './aws';
import { CliError, aws } from './io';

export type { Staging } from '../lib/contract/stagings-view';

const output = (s: Stack, key: string) => s.Outputs?.find((o) => o.OutputKey === key)?.OutputValue;

/**
 * The reader's sources (lib/contract/stagings-view.ts) over the CLI's clients: every DescribeStacks
 * and GetParametersByPath page, each failure worded by `aws` (what to do about it).
 */
export function stagingSources(clients: Clients): StagingSources {
  return {
    stacks: () => aws('cloudformation:DescribeStacks', async () => {
      const stacks: Stack[] = [];
      for await (const page of paginateDescribeStacks({ client: clients.cloudformation }, {})) stacks.push(...(page.Stacks ?? []));
      return stacks;
    }),
    parametersBelow: (root) => aws(`ssm:GetParametersByPath on ${root}`, async () => {
      const found: BranchParameter[] = [];
      for await (const page of paginateGetParametersByPath({ client: clients.ssm }, { Path: root, Recursive: false })) {
        for (const p of page.Parameters ?? []) found.push({ name: String(p.Name), value: String(p.Value ?? ''), lastModifiedMs: p.LastModifiedDate?.getTime() });
      }
      return found;
    }),
  };
}

/** One parameter, or undefined when it does not exist. */
export async function parameterIfAny(clients: Clients, name: string): Promise<BranchParameter | undefined> {
  return aws(`ssm:GetParameter on ${name}`, async () => {
    try {
      const p = (await clients.ssm.send(new GetParameterCommand({ Name: name })))?.Parameter;
      return p && { name, value: String(p.Value ?? ''), lastModifiedMs: p.LastModifiedDate?.getTime() };
    } catch (e: any) {
      if (e?.name === 'ParameterNotFound') return undefined;
      throw e;
    }
  });
}

/**
 * The shared staging's capacity and what of it `stagings` use (lib/contract/capacity.ts
 * capacityInUse, as the stagings page counts it); undefined for a shared stack from before shards
 * (no registry).
 */
export async function capacityOf(clients: Clients, parameterPrefix: string, stagings: readonly Staging[]): Promise<CapacityInUse | undefined> {
  const registry = await readShardRegistry({ get: (name) => parameterIfAny(clients, name) }, parameterPrefix);
  return registry && capacityInUse(registry, stagings.map((s) => s.loadBalancerFullName));
}

/** Every feature staging of `prefix` (tagged, named `<prefix>-<name>`), deleted ones left out. */
export async function listStagings(clients: Clients, prefix: string): Promise<Staging[]> {
  return readStagingStacks(stagingSources(clients), prefix);
}

export interface SharedInfo {
  readonly stackName: string;
  readonly parameterPrefix: string;
  readonly sweeperFunctionName?: string;
  /** The sleeper (manual wake and sleep); older shared stacks do not output it. */
  readonly sleeperFunctionName?: string;
  /** The ECS cluster every staging runs on. */
  readonly clusterName?: string;
  /** The stagings page; absent when it is off or the shared stack predates it. */
  readonly stagingsPageUrl?: string;
}

/** The shared stack's outputs: the parameter prefix, the sweeper and sleeper functions, the cluster. */
export async function sharedInfo(clients: Clients, prefix: string): Promise<SharedInfo> {
  const stackName = new SharedStagingNames(prefix).stackName;
  const result = await aws(`cloudformation:DescribeStacks on ${stackName}`, async () => {
    try {
      return await clients.cloudformation.send(new DescribeStacksCommand({ StackName: stackName }));
    } catch (e: any) {
      if (e?.name === 'ValidationError' && /does not exist/.test(String(e.message))) {
        throw new CliError(`No shared stack ${stackName} in ${clients.region}. Check --prefix (now ${prefix}) and --region, or deploy the shared stack first (npx cdk deploy ${stackName}).`);
      }
      throw e;
    }
  });
  const stack = result.Stacks?.[0];
  return {
    stackName,
    parameterPrefix: (stack && output(stack, 'SharedStagingParameterPrefix')) ?? `/${prefix}`,
    sweeperFunctionName: stack && output(stack, 'SweeperFunctionName'),
    sleeperFunctionName: stack && output(stack, 'SleeperFunctionName'),
    clusterName: stack && output(stack, 'SharedStagingClusterName'),
    stagingsPageUrl: stack && output(stack, SharedStackOutputs.STAGINGS_PAGE_URL),
  };
}

/**
 * The staging of `branch`: by branch, staging name or stack name. An unknown one is a CliError
 * listing the near matches.
 */
export function findStaging(stagings: Staging[], branch: string, prefix: string): Staging {
  let name: string | undefined;
  try {
    name = StagingNames.fromBranch(branch, prefix).name;
  } catch {
    name = undefined;
  }
  const hit = stagings.find((s) => s.branch === branch || s.name === branch || s.stackName === branch || s.name === name);
  if (hit) return hit;
  const near = nearMatches(branch, stagings.map((s) => s.branch));
  const hint = near.length > 0
    ? ` Did you mean: ${near.join(', ')}?`
    : stagings.length === 0 ? ` There are no branch stagings with prefix ${prefix}.` : '';
  throw new CliError(`No branch staging for ${JSON.stringify(branch)} (prefix ${prefix}).${hint} Run \`staging list\` to see them all.`);
}

