/**
 * The contract of the release-task provider (lib/providers/release-task.ts, lambda/release-task/):
 * `Custom::StagingRelease`, a branch's one-off release task (migrations) run before its services
 * roll. Its properties and the one parse and validation of them.
 *
 * CloudFormation passes every scalar as a string, so numbers arrive as "30" and lists of strings
 * may arrive as arrays (the normal case) or, when they come from an SSM StringList, as a
 * comma-separated string. Both are accepted. Conventions: ./index.ts.
 */
import { requiredProperty, type Wire } from './wire';

export const ReleaseResourceType = 'Custom::StagingRelease';

/** ResourceProperties of `Custom::StagingRelease`. */
export interface ReleaseResourceProperties {
  readonly ClusterArn: string;
  readonly TaskDefinitionArn: string;
  readonly ContainerName: string;
  readonly Command: string[] | string;
  readonly Subnets: string[] | string;
  readonly SecurityGroups: string[] | string;
  readonly AssignPublicIp?: string;
  /** JSON of `[{ capacityProvider, weight?, base? }]`; empty for the FARGATE launch type. */
  readonly CapacityProviderStrategy?: string;
  readonly LogGroupName: string;
  readonly LogStreamPrefix: string;
  readonly TimeoutSeconds?: number | string;
  readonly StagingName: string;
}

export interface CapacityProviderStrategyEntry {
  readonly capacityProvider: string;
  readonly weight?: number;
  readonly base?: number;
}

export interface ReleaseTaskProperties {
  readonly clusterArn: string;
  readonly taskDefinitionArn: string;
  readonly containerName: string;
  readonly command: string[];
  readonly subnets: string[];
  readonly securityGroups: string[];
  readonly assignPublicIp: 'ENABLED' | 'DISABLED';
  /** Empty means the FARGATE launch type. */
  readonly capacityProviderStrategy: CapacityProviderStrategyEntry[];
  readonly logGroupName: string;
  readonly logStreamPrefix: string;
  readonly timeoutSeconds?: number;
  readonly stagingName: string;
}

const WHAT = 'the release task custom resource';

function invalid(name: string, value: unknown, expected: string): Error {
  return new Error(
    `Invalid property '${name}' on ${WHAT}: got ${JSON.stringify(value)}; expected ${expected}`,
  );
}

function parseJson(name: string, value: string, expected: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw invalid(name, value, expected);
  }
}

/** A list of non-empty strings: an array, a JSON array string, or a comma-separated string. */
function stringList(
  props: Wire<ReleaseResourceProperties>,
  name: 'Command' | 'Subnets' | 'SecurityGroups',
  opts: { commaSeparated: boolean },
): string[] {
  const expected = opts.commaSeparated
    ? 'a non-empty list of strings (or a comma-separated string)'
    : 'a non-empty list of strings';
  let value = props[name];
  if (value === undefined || value === null || value === '') {
    throw new Error(`Missing required property '${name}' on ${WHAT}; expected ${expected}`);
  }
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (trimmed.startsWith('[')) {
      value = parseJson(name, trimmed, expected);
    } else if (opts.commaSeparated) {
      value = trimmed.split(',').map((s) => s.trim()).filter((s) => s !== '');
    } else {
      throw invalid(name, value, expected);
    }
  }
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((v) => typeof v === 'string' && v.trim() !== '')
  ) {
    throw invalid(name, props[name], expected);
  }
  return value as string[];
}

function optionalNumber(name: string, value: unknown, where: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'number' ? value : Number(String(value).trim());
  if (!Number.isInteger(n) || n < 0) {
    throw invalid(where, value, `a whole number >= 0 for '${name}'`);
  }
  return n;
}

function capacityProviderStrategy(value: unknown): CapacityProviderStrategyEntry[] {
  const name = 'CapacityProviderStrategy';
  const expected =
    'a JSON list like [{"capacityProvider":"FARGATE_SPOT","weight":1},{"capacityProvider":"FARGATE","base":0}]';
  if (value === undefined || value === null || value === '') return [];
  const list = typeof value === 'string' ? parseJson(name, value, expected) : value;
  if (!Array.isArray(list)) throw invalid(name, value, expected);
  return list.map((item) => {
    if (!item || typeof item !== 'object') throw invalid(name, value, expected);
    const entry = item as Record<string, unknown>;
    const provider = entry.capacityProvider ?? entry.CapacityProvider;
    if (typeof provider !== 'string' || provider.trim() === '') throw invalid(name, value, expected);
    const weight = optionalNumber('weight', entry.weight ?? entry.Weight, name);
    const base = optionalNumber('base', entry.base ?? entry.Base, name);
    return {
      capacityProvider: provider,
      ...(weight !== undefined ? { weight } : {}),
      ...(base !== undefined ? { base } : {}),
    };
  });
}

export function parseProperties(props: Wire<ReleaseResourceProperties>): ReleaseTaskProperties {
  const assign = String(props.AssignPublicIp ?? 'DISABLED').trim().toUpperCase() || 'DISABLED';
  if (assign !== 'ENABLED' && assign !== 'DISABLED') {
    throw invalid('AssignPublicIp', props.AssignPublicIp, "'ENABLED' or 'DISABLED' (default 'DISABLED')");
  }
  let timeoutSeconds: number | undefined;
  if (props.TimeoutSeconds !== undefined && props.TimeoutSeconds !== '') {
    timeoutSeconds = Number(props.TimeoutSeconds);
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
      throw invalid('TimeoutSeconds', props.TimeoutSeconds, 'a positive number of seconds');
    }
  }
  return {
    clusterArn: requiredProperty(props, 'ClusterArn'),
    taskDefinitionArn: requiredProperty(props, 'TaskDefinitionArn'),
    containerName: requiredProperty(props, 'ContainerName'),
    command: stringList(props, 'Command', { commaSeparated: false }),
    subnets: stringList(props, 'Subnets', { commaSeparated: true }),
    securityGroups: stringList(props, 'SecurityGroups', { commaSeparated: true }),
    assignPublicIp: assign,
    capacityProviderStrategy: capacityProviderStrategy(props.CapacityProviderStrategy),
    logGroupName: requiredProperty(props, 'LogGroupName'),
    logStreamPrefix: requiredProperty(props, 'LogStreamPrefix'),
    timeoutSeconds,
    stagingName: requiredProperty(props, 'StagingName'),
  };
}
