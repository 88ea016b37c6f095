/**
 * The contract of the database-restore provider (lib/providers/database-restore.ts,
 * lambda/database-restore/): `Custom::StagingDatabase`, a branch database restored from the newest
 * snapshot of the shared (or another) instance. Its properties, its attributes, and the one parse
 * and validation of the properties. Conventions: ./index.ts.
 */
import { parseWireTags, type Wire, type WireTag } from './wire';

export const DatabaseResourceType = 'Custom::StagingDatabase';

/** ResourceProperties of `Custom::StagingDatabase`. */
export interface DatabaseResourceProperties {
  readonly SourceInstanceIdentifier: string;
  readonly InstanceIdentifierBase: string;
  readonly InstanceClass?: string;
  readonly AllocatedStorageGiB?: number | string;
  readonly DbSubnetGroupName: string;
  readonly VpcSecurityGroupIds: string[];
  readonly MasterUserSecretArn: string;
  readonly RefreshToken?: string;
  readonly Tags?: WireTag[];
}

/** Attributes (`getAtt`) of `Custom::StagingDatabase`. */
export const DatabaseAttributes = {
  ENDPOINT: 'Endpoint',
  PORT: 'Port',
  DATABASE_NAME: 'DatabaseName',
  MASTER_USERNAME: 'MasterUsername',
  INSTANCE_IDENTIFIER: 'InstanceIdentifier',
} as const;

export const DEFAULT_INSTANCE_CLASS = 'db.t4g.micro';
/** RDS identifiers are at most 63 characters, and the handler appends `-xxxx`. */
export const MAX_BASE_LENGTH = 58;
const MAX_STORAGE_GIB = 65536;

export interface RestoreProps {
  readonly sourceInstanceIdentifier: string;
  readonly instanceIdentifierBase: string;
  readonly instanceClass: string;
  readonly allocatedStorageGiB?: number;
  readonly dbSubnetGroupName: string;
  readonly vpcSecurityGroupIds: string[];
  readonly masterUserSecretArn: string;
  /** '' when not given. */
  readonly refreshToken: string;
  readonly tags: WireTag[];
}

function str(props: Wire<DatabaseResourceProperties>, name: keyof DatabaseResourceProperties, problems: string[]): string {
  const value = props[name];
  if (value === undefined || value === null || String(value).trim() === '') {
    problems.push(`missing required property '${name}'`);
    return '';
  }
  return String(value).trim();
}

/** Validates the base an identifier is built from, so the final name fits RDS rules (63 chars). */
export function baseProblem(base: string): string | undefined {
  if (base.length > MAX_BASE_LENGTH) {
    return `InstanceIdentifierBase '${base}' is ${base.length} characters; at most ${MAX_BASE_LENGTH} are allowed (RDS identifiers are 63 with the '-xxxx' suffix)`;
  }
  if (!/^[a-z][a-z0-9-]*$/.test(base) || base.includes('--') || base.endsWith('-')) {
    return `InstanceIdentifierBase '${base}' must start with a lowercase letter, contain only a-z, 0-9 and '-', and have no '--' or trailing '-'`;
  }
  return undefined;
}

/**
 * Parses ResourceProperties. CloudFormation passes scalars as strings, so numbers are parsed here.
 * Collects every problem and throws once.
 */
export function parseProperties(props: Wire<DatabaseResourceProperties> | undefined): RestoreProps {
  const p: Wire<DatabaseResourceProperties> = props ?? {};
  const problems: string[] = [];
  const sourceInstanceIdentifier = str(p, 'SourceInstanceIdentifier', problems).toLowerCase();
  const instanceIdentifierBase = str(p, 'InstanceIdentifierBase', problems);
  if (instanceIdentifierBase) {
    const problem = baseProblem(instanceIdentifierBase);
    if (problem) problems.push(problem);
  }
  const dbSubnetGroupName = str(p, 'DbSubnetGroupName', problems);
  const masterUserSecretArn = str(p, 'MasterUserSecretArn', problems);
  const instanceClass =
    p.InstanceClass === undefined || p.InstanceClass === null || String(p.InstanceClass).trim() === ''
      ? DEFAULT_INSTANCE_CLASS
      : String(p.InstanceClass).trim();

  let allocatedStorageGiB: number | undefined;
  if (p.AllocatedStorageGiB !== undefined && p.AllocatedStorageGiB !== null && String(p.AllocatedStorageGiB) !== '') {
    const n = Number(p.AllocatedStorageGiB);
    if (!Number.isInteger(n) || n < 1 || n > MAX_STORAGE_GIB) {
      problems.push(`AllocatedStorageGiB must be a whole number of GiB between 1 and ${MAX_STORAGE_GIB}, got '${String(p.AllocatedStorageGiB)}'`);
    } else {
      allocatedStorageGiB = n;
    }
  }

  let vpcSecurityGroupIds: string[] = [];
  const sgs = p.VpcSecurityGroupIds;
  if (Array.isArray(sgs)) vpcSecurityGroupIds = sgs.map((s) => String(s).trim()).filter((s) => s !== '');
  else if (typeof sgs === 'string') vpcSecurityGroupIds = sgs.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (vpcSecurityGroupIds.length === 0) {
    problems.push("missing required property 'VpcSecurityGroupIds' (a non-empty list of security group ids)");
  }

  const tags = parseWireTags(p.Tags, problems);

  if (problems.length > 0) {
    throw new Error(`Invalid database-restore properties: ${problems.join('; ')}`);
  }
  const refreshToken = p.RefreshToken === undefined || p.RefreshToken === null ? '' : String(p.RefreshToken);
  return {
    sourceInstanceIdentifier,
    instanceIdentifierBase,
    instanceClass,
    allocatedStorageGiB,
    dbSubnetGroupName,
    vpcSecurityGroupIds,
    masterUserSecretArn,
    refreshToken,
    tags,
  };
}

