/** Finding the branch stagings of one prefix, their shared stack, pins, keep-alives and sleep states. */
import { DescribeStacksCommand, Stack, paginateDescribeStacks } from '@aws-sdk/client-cloudformation';
import { Parameter, paginateGetParametersByPath } from '@aws-sdk/client-ssm';
import { BranchParameterNames, FeatureOutputs, SleepStateValue } from '../lib/contract/staging';
import { SharedStagingNames, StagingNames } from '../lib/contract/naming';
import { branchStagingOf } from '../lib/contract/branch-stack';
import { nearMatches } from '../lib/contract/suggest';
import { Clients } from './aws';
import { CliError, aws } from './io';

export interface Staging {
  readonly stackName: string;
  readonly stackId: string;
  readonly name: string;
  readonly branch: string;
  readonly kind: string;
  readonly status: string;
  readonly created: Date;
  readonly updated?: Date;
  readonly url?: string;
  readonly consoleCommand?: string;
}

const output = (s: Stack, key: string) => s.Outputs?.find((o) => o.OutputKey === key)?.OutputValue;

/** Every feature staging of `prefix` (tagged, named `<prefix>-<name>`), deleted ones left out. */
export async function listStagings(clients: Clients, prefix: string): Promise<Staging[]> {
  const stagings: Staging[] = [];
  await aws('cloudformation:DescribeStacks', async () => {
    for await (const page of paginateDescribeStacks({ client: clients.cloudformation }, {})) {
      for (const s of page.Stacks ?? []) {
        const staging = branchStagingOf(s, prefix);
        if (!staging || s.StackStatus === 'DELETE_COMPLETE') continue;
        stagings.push({
          ...staging,
          stackId: s.StackId ?? staging.stackName,
          status: s.StackStatus ?? 'UNKNOWN',
          created: s.CreationTime ?? new Date(0),
          updated: s.LastUpdatedTime,
          url: output(s, FeatureOutputs.URL),
          consoleCommand: output(s, FeatureOutputs.CONSOLE_COMMAND),
        });
      }
    }
  });
  return stagings;
}

export interface SharedInfo {
  readonly stackName: string;
  readonly parameterPrefix: string;
  readonly sweeperFunctionName?: string;
  /** The sleeper (manual wake and sleep); older shared stacks do not output it. */
  readonly sleeperFunctionName?: string;
  /** The ECS cluster every staging runs on. */
  readonly clusterName?: string;
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
  };
}

/** The parameters below `path`, keyed by their last path segment (the staging name). */
export async function parametersByName(clients: Clients, path: string): Promise<Map<string, Parameter>> {
  const found = new Map<string, Parameter>();
  await aws(`ssm:GetParametersByPath on ${path}`, async () => {
    for await (const page of paginateGetParametersByPath({ client: clients.ssm }, { Path: path, Recursive: false })) {
      for (const p of page.Parameters ?? []) found.set(String(p.Name).slice(path.length + 1), p);
    }
  });
  return found;
}

export interface BranchState {
  readonly pins: Map<string, Parameter>;
  readonly keepAlives: Map<string, Parameter>;
  readonly sleep: Map<string, SleepStateValue>;
}

export async function branchState(clients: Clients, parameterPrefix: string): Promise<BranchState> {
  const [pins, keepAlives, sleepParams] = await Promise.all([
    parametersByName(clients, `${parameterPrefix}/${BranchParameterNames.PIN_PREFIX}`),
    parametersByName(clients, `${parameterPrefix}/${BranchParameterNames.KEEP_ALIVE_PREFIX}`),
    parametersByName(clients, `${parameterPrefix}/${BranchParameterNames.SLEEP_STATE_PREFIX}`),
  ]);
  const sleep = new Map<string, SleepStateValue>();
  for (const [name, p] of sleepParams) {
    try {
      sleep.set(name, JSON.parse(String(p.Value)));
    } catch {
      // An unreadable state is shown as unknown.
    }
  }
  return { pins, keepAlives, sleep };
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

