/**
 * The contract of the solr-collection provider (lib/providers/solr-collection.ts,
 * lambda/solr-collection/): `Custom::StagingSolrCollection`, a branch's Solr collection, empty or
 * restored from a backup. Its properties, its attribute, and the one parse and validation of the
 * properties. Conventions: ./index.ts.
 */
import { optionalText, type Wire } from './wire';

export const SolrCollectionResourceType = 'Custom::StagingSolrCollection';

/** ResourceProperties of `Custom::StagingSolrCollection` (CloudFormation sends strings). */
export interface SolrCollectionResourceProperties {
  readonly SolrUrl: string;
  readonly CredentialsSecretArn?: string;
  readonly RequestTimeoutSeconds?: number | string;
  readonly Collection: string;
  readonly SourceCollection?: string;
  /** `restore` or `empty`. */
  readonly Mode?: string;
  readonly ConfigSet?: string;
  readonly BackupLocation?: string;
  readonly BackupRepository?: string;
  readonly BackupName?: string;
  readonly NumShards?: number | string;
  readonly ReplicationFactor?: number | string;
}

/** Attributes (`getAtt`) of `Custom::StagingSolrCollection`. */
export const SolrCollectionAttributes = {
  COLLECTION: 'Collection',
} as const;

export type SolrCollectionMode = 'restore' | 'empty';

export interface SolrConnectionProperties {
  /** Base URL without trailing slash, e.g. `https://solr.internal.example.com:8983/solr`. */
  readonly solrUrl: string;
  readonly credentialsSecretArn?: string;
  readonly requestTimeoutMs: number;
}

export interface SolrCollectionProperties extends SolrConnectionProperties {
  readonly collection: string;
  readonly sourceCollection: string;
  readonly mode: SolrCollectionMode;
  readonly configSet?: string;
  readonly backupLocation?: string;
  readonly backupRepository?: string;
  readonly backupName: string;
  readonly numShards: number;
  readonly replicationFactor: number;
  /** True when ReplicationFactor was given explicitly (restore mode passes it on only then). */
  readonly replicationFactorGiven: boolean;
}

export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 30;
const MAX_REQUEST_TIMEOUT_SECONDS = 300;

/** Solr's rule for collection and configset names (SolrIdentifierValidator). */
const SOLR_IDENTIFIER = /^(?!-)[._A-Za-z0-9-]+$/;

export function isSolrIdentifier(value: unknown): value is string {
  return typeof value === 'string' && SOLR_IDENTIFIER.test(value);
}

/** Parses what every request type needs to talk to Solr; pushes problems into `problems`. */
function parseConnection(props: Wire<SolrCollectionResourceProperties>, problems: string[]): SolrConnectionProperties {
  const rawUrl = optionalText(props.SolrUrl);
  let solrUrl = '';
  if (!rawUrl) {
    problems.push("SolrUrl is required, e.g. 'https://solr.internal.example.com:8983/solr'");
  } else {
    try {
      const url = new URL(rawUrl);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        problems.push(`SolrUrl must use http or https, got '${url.protocol}'`);
      } else if (url.username || url.password) {
        // Never echo the URL itself here: it holds credentials.
        problems.push('SolrUrl must not contain credentials; put them in a secret and pass CredentialsSecretArn');
      } else if (url.search || url.hash) {
        problems.push('SolrUrl must be a base URL without query or fragment');
      } else {
        solrUrl = rawUrl.replace(/\/+$/, '');
      }
    } catch {
      // Not echoed: a malformed URL may still carry credentials.
      problems.push("SolrUrl is not a valid URL; expected e.g. 'https://solr.internal.example.com:8983/solr'");
    }
  }

  const credentialsSecretArn = optionalText(props.CredentialsSecretArn);
  if (credentialsSecretArn !== undefined && !/^arn:[\w-]+:secretsmanager:/.test(credentialsSecretArn)) {
    problems.push(`CredentialsSecretArn must be a Secrets Manager secret ARN, got '${credentialsSecretArn}'`);
  }

  let requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_SECONDS * 1000;
  const rawTimeout = optionalText(props.RequestTimeoutSeconds);
  if (rawTimeout !== undefined) {
    const seconds = Number(rawTimeout);
    if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_REQUEST_TIMEOUT_SECONDS) {
      problems.push(`RequestTimeoutSeconds must be a number in (0, ${MAX_REQUEST_TIMEOUT_SECONDS}], got '${rawTimeout}'`);
    } else {
      requestTimeoutMs = Math.round(seconds * 1000);
    }
  }
  return { solrUrl, credentialsSecretArn, requestTimeoutMs };
}

/** What Delete needs: the connection, and the source collection it must never delete. */
export function parseDeleteProperties(
  props: Wire<SolrCollectionResourceProperties>,
  logicalId: string,
): SolrConnectionProperties & { readonly sourceCollection?: string } {
  const problems: string[] = [];
  const connection = parseConnection(props, problems);
  throwIfProblems(problems, logicalId);
  return { ...connection, sourceCollection: optionalText(props.SourceCollection) };
}

/** Full validation for Create and Update: collects every problem, then throws once. */
export function parseProperties(props: Wire<SolrCollectionResourceProperties>, logicalId: string): SolrCollectionProperties {
  const problems: string[] = [];
  const connection = parseConnection(props, problems);

  const collection = optionalText(props.Collection) ?? '';
  if (!collection) {
    problems.push("Collection is required: the branch's collection name");
  } else if (!isSolrIdentifier(collection)) {
    problems.push(
      `Collection '${collection}' is not a valid Solr collection name: use letters, digits, '.', '_' and '-', not starting with '-'`,
    );
  }

  const sourceCollection = optionalText(props.SourceCollection) ?? '';
  if (!sourceCollection) {
    problems.push('SourceCollection is required: the shared-staging collection');
  } else if (!isSolrIdentifier(sourceCollection)) {
    problems.push(`SourceCollection '${sourceCollection}' is not a valid Solr collection name`);
  }
  if (collection && collection === sourceCollection) {
    problems.push(
      `Collection must differ from SourceCollection ('${collection}'): a branch must never own the shared-staging collection`,
    );
  }

  const rawMode = optionalText(props.Mode) ?? 'restore';
  let mode: SolrCollectionMode = 'restore';
  if (rawMode === 'restore' || rawMode === 'empty') {
    mode = rawMode;
  } else {
    problems.push(`Mode must be 'restore' or 'empty', got '${rawMode}'`);
  }

  const configSet = optionalText(props.ConfigSet);
  if (configSet !== undefined && !isSolrIdentifier(configSet)) {
    problems.push(`ConfigSet '${configSet}' is not a valid Solr configset name`);
  }

  const backupLocation = optionalText(props.BackupLocation);
  if (mode === 'restore' && backupLocation === undefined) {
    problems.push(
      "BackupLocation is required when Mode is 'restore': the backup path every Solr node can reach (or the repository's location)",
    );
  }
  const backupRepository = optionalText(props.BackupRepository);
  const backupName = optionalText(props.BackupName) ?? (sourceCollection ? `${sourceCollection}-staging` : '');
  if (optionalText(props.BackupName) !== undefined && (backupName.includes('/') || backupName.includes('\\'))) {
    problems.push(`BackupName '${backupName}' must not contain path separators`);
  }

  const numShards = positiveInt(props.NumShards, 'NumShards', 1, problems);
  const replicationFactor = positiveInt(props.ReplicationFactor, 'ReplicationFactor', 1, problems);

  throwIfProblems(problems, logicalId);
  return {
    ...connection,
    collection,
    sourceCollection,
    mode,
    configSet,
    backupLocation,
    backupRepository,
    backupName,
    numShards,
    replicationFactor,
    replicationFactorGiven: optionalText(props.ReplicationFactor) !== undefined,
  };
}

function throwIfProblems(problems: string[], logicalId: string): void {
  if (problems.length > 0) {
    throw new Error(`Invalid properties on SolrCollection '${logicalId}': ${problems.join('; ')}`);
  }
}

function positiveInt(value: unknown, name: string, fallback: number, problems: string[]): number {
  const raw = optionalText(value);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1000) {
    problems.push(`${name} must be a whole number from 1 to 1000, got '${raw}'`);
    return fallback;
  }
  return n;
}
