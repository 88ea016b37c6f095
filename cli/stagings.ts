/** Finding the branch stagings of one prefix, their shared stack, pins, keep-alives and sleep states. */
import { DescribeStacksCommand, Stack, paginateDescribeStacks } from '@aws-sdk/client-cloudformation';
import { paginateGetParametersByPath } from '@aws-sdk/client-ssm';
import {
  BranchParameter,
  BranchStatePaths,
  KeepAlive,
  Pin,
  SleepStateValue,
  branchStagingOf,
  byStagingName,
  isBranchStaging,
  parseKeepAlive,
  parsePin,
  parseSleepState,
} from '../lib/contract/branch-state';
import { FeatureOutputs, SharedStackOutputs } from '../lib/contract/staging';
import { SharedStagingNames, StagingNames } from '../lib/contract/naming';
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
        if (!isBranchStaging(staging) || s.StackStatus === 'DELETE_COMPLETE') continue;
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

/** The parameters directly below `root`, by staging name. */
export async function parametersByName(clients: Clients, root: string): Promise<Map<string, BranchParameter>> {
  const found: BranchParameter[] = [];
  await aws(`ssm:GetParametersByPath on ${root}`, async () => {
    for await (const page of paginateGetParametersByPath({ client: clients.ssm }, { Path: root, Recursive: false })) {
      for (const p of page.Parameters ?? []) found.push({ name: String(p.Name), value: String(p.Value ?? ''), lastModifiedMs: p.LastModifiedDate?.getTime() });
    }
  });
  return byStagingName(root, found);
}

/** The pins, keep-alives and sleep states of every branch, read as the sweeper and the sleeper read them. */
export interface BranchState {
  readonly pins: Map<string, Pin>;
  readonly keepAlives: Map<string, KeepAlive>;
  /** Unreadable states are left out: a branch without a state counts as awake. */
  readonly sleep: Map<string, SleepStateValue>;
}

export async function branchState(clients: Clients, parameterPrefix: string, nowMs: number): Promise<BranchState> {
  const paths = new BranchStatePaths(parameterPrefix);
  const [pins, keepAlives, sleepParams] = await Promise.all([
    parametersByName(clients, paths.pins.root),
    parametersByName(clients, paths.keepAlives.root),
    parametersByName(clients, paths.sleepStates.root),
  ]);
  const parsed = <T>(params: Map<string, BranchParameter>, parse: (p: BranchParameter) => T | undefined): Map<string, T> =>
    new Map([...params].flatMap(([name, p]): Array<[string, T]> => {
      const value = parse(p);
      return value === undefined ? [] : [[name, value]];
    }));
  return {
    pins: parsed(pins, (p) => parsePin(p.value, nowMs)),
    keepAlives: parsed(keepAlives, (p) => parseKeepAlive(p.value, p.lastModifiedMs, nowMs)),
    sleep: parsed(sleepParams, (p) => parseSleepState(p.value)),
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

