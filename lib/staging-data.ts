import { CustomResource, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, IConstruct } from 'constructs';
import { ProviderNames, StagingKinds, TagKeys } from './contract/staging';
import { StagingNames } from './contract/naming';
import { generatedSecret } from './private/generated-secret';
import { valkeyNode } from './private/valkey';
import { PROVIDER_SERVICE_TIMEOUT } from './private/timeouts';
import { ISharedStaging } from './shared-staging-ref';
import { TemplateDatabaseAttributes, TemplateDatabaseResourceProperties, identifierProblem } from './contract/providers/database-template';
import { isSolrIdentifier } from './contract/providers/solr-collection';
import {
  DatabaseAttributes,
  DatabaseResourceProperties,
  RedisPrefixAttributes,
  RedisPrefixResourceProperties,
  ResourceTypes,
  SolrCollectionResourceProperties,
} from './contract/providers';

/** What a data mode needs to bind itself to one branch. */
export interface StagingDataContext {
  /** The names derived from the branch. */
  readonly names: StagingNames;
  /** The shared staging the branch builds on. */
  readonly shared: ISharedStaging;
}

/** The Postgres a branch uses, as its containers see it. */
export interface BranchDatabaseInfo {
  /** Host name (`DATABASE_HOST`). */
  readonly endpoint: string;
  /** Port (`DATABASE_PORT`). */
  readonly port: string;
  /** Database name (`DATABASE_NAME`). */
  readonly databaseName: string;
  /**
   * The user (`DATABASE_USERNAME`, a plain variable).
   * @default - the `username` field of `secret`, which CloudFormation reads at deploy time
   */
  readonly username?: string;
  /** JSON secret with `password` (and `username` when `username` is not given). */
  readonly secret: secretsmanager.ISecret;
  /**
   * The construct that makes the branch's own database; depend on it to wait for the data.
   * @default - none: the branch uses a database it does not own
   */
  readonly resource?: IConstruct;
  /**
   * The RDS instance identifier, when the branch has an instance of its own (the sleeper may stop it).
   * @default - none: the database lives on an instance the branch does not own
   */
  readonly instanceIdentifier?: string;
}

/** The Redis a branch uses, as its containers see it. */
export interface BranchCacheInfo {
  /** Host name (`REDIS_HOST`). */
  readonly endpoint: string;
  /** Port (`REDIS_PORT`). */
  readonly port: string;
  /** JSON secret with `password`, the AUTH token (`REDIS_PASSWORD`). */
  readonly authSecret: secretsmanager.ISecret;
  /**
   * The branch's key prefix (`REDIS_KEY_PREFIX`).
   * @default - none: the whole key space
   */
  readonly keyPrefix?: string;
  /**
   * The construct that makes the branch's own cache or key prefix.
   * @default - none: the branch uses a cache it does not own
   */
  readonly resource?: IConstruct;
}

/** The Solr a branch uses, as its containers see it. */
export interface BranchSearchInfo {
  /** Base URL of Solr (`SOLR_URL`). */
  readonly url: string;
  /** JSON secret with `username` and `password` (`SOLR_USERNAME`, `SOLR_PASSWORD`). */
  readonly secret: secretsmanager.ISecret;
  /**
   * The collection (`SOLR_COLLECTION`).
   * @default - not set
   */
  readonly collection?: string;
  /**
   * The construct that makes the branch's own collection.
   * @default - none: the branch uses a collection it does not own
   */
  readonly resource?: IConstruct;
}

/** The tags the database-restore provider checks before it modifies or deletes an instance. */
function featureTags(names: StagingNames): Array<{ Key: string; Value: string }> {
  return [
    { Key: TagKeys.KIND, Value: StagingKinds.FEATURE },
    { Key: TagKeys.NAME, Value: names.name },
    { Key: TagKeys.PREFIX, Value: names.prefix },
  ];
}

/** A generated password secret of the branch (named by `StagingNames`), deleted with the stack. */
function branchSecret(scope: Construct, id: string, secretName: string, props: { description: string; passwordLength: number; whyNotRotated: string; fields?: Record<string, string> }) {
  return generatedSecret(scope, id, {
    secretName,
    removalPolicy: RemovalPolicy.DESTROY,
    ...props,
  });
}

// ---------------------------------------------------------------------------------------------
// Postgres

/** Options of `StagingDatabase.fromLatestSnapshot`. */
export interface SnapshotDatabaseOptions {
  /**
   * The DB instance whose newest available snapshot (automated or manual) the branch restores.
   * It may be shared staging or production.
   * @default - the shared staging's Postgres
   */
  readonly sourceInstanceIdentifier?: string;

  /**
   * The branch's instance type: staging-sized, whatever the source's size.
   * @default new ec2.InstanceType('t4g.micro')
   */
  readonly instanceType?: ec2.InstanceType;

  /**
   * Minimum storage in GiB. Storage is never set below the snapshot's (RDS cannot shrink it).
   * @default - the snapshot's storage
   */
  readonly minStorageGiB?: number;

  /**
   * Change this value to restore a fresh copy from the newest snapshot on the next deploy (the
   * branch's database is replaced). Leave it unset to keep the data: the snapshot is pinned for
   * the life of the stack. The ready-made app sets it from `-c refreshData=true`.
   * @default - keep the database restored when the stack was created
   */
  readonly refreshToken?: string;
}

/** Options of `StagingDatabase.fromTemplate`. */
export interface TemplateDatabaseOptions {
  /**
   * Change this value to copy the golden template again on the next deploy: the branch's
   * connections are ended, its database is dropped and copied anew (its role and password stay).
   * The ready-made app sets it from `-c refreshData=true`.
   * @default - keep the copy made when the stack was created
   */
  readonly refreshToken?: string;

  /**
   * Most connections the branch's role may open at once, so that one branch cannot use up the
   * shared instance's `max_connections`. Size the shared instance for the branches it hosts.
   * @default 20
   */
  readonly connectionLimit?: number;
}

/**
 * Where a branch's Postgres comes from. Choose with a static factory:
 * `StagingDatabase.fromLatestSnapshot()`, `StagingDatabase.fromTemplate()` or
 * `StagingDatabase.shared()`. FeatureStaging binds the choice to the branch (`bind`), as
 * `lambda.Code` binds to a function.
 */
export abstract class StagingDatabase {
  /** The branch's own instance, restored from the newest snapshot and downsized for staging. */
  public static fromLatestSnapshot(options: SnapshotDatabaseOptions = {}): StagingDatabase {
    return new SnapshotDatabase(options);
  }

  /**
   * A database of the branch's own on the shared Postgres, copied in seconds from the golden
   * template (`CREATE DATABASE … TEMPLATE`), with a login role of its own that may connect to it
   * only. The shared staging must offer templates (`SharedStaging` `databaseTemplate`), and its
   * golden template must have been refreshed once.
   */
  public static fromTemplate(options: TemplateDatabaseOptions = {}): StagingDatabase {
    return new TemplateDatabase(options);
  }

  /** The shared staging's Postgres. */
  public static shared(): StagingDatabase {
    return new SharedDatabase();
  }

  /** Problems with this choice for the branch, as messages that name the option; empty when valid. */
  public validate(_context: StagingDataContext): string[] {
    return [];
  }

  /** Makes what the branch needs below `scope` and says where its containers find it. */
  public abstract bind(scope: Construct, context: StagingDataContext): BranchDatabaseInfo;
}

class SharedDatabase extends StagingDatabase {
  public bind(_scope: Construct, { shared }: StagingDataContext): BranchDatabaseInfo {
    // Read on use only, so a branch that overrides a variable never reads its parameter.
    return {
      get endpoint() { return shared.database.endpoint; },
      get port() { return shared.database.port; },
      get databaseName() { return shared.database.databaseName; },
      get secret() { return shared.database.secret; },
    };
  }
}

class SnapshotDatabase extends StagingDatabase {
  constructor(private readonly options: SnapshotDatabaseOptions) {
    super();
  }

  public validate(): string[] {
    const minStorage = this.options.minStorageGiB;
    if (minStorage !== undefined && (!Number.isInteger(minStorage) || minStorage < 20 || minStorage > 65536)) {
      return [`database minStorageGiB must be a whole number from 20 to 65536 (got ${minStorage})`];
    }
    return [];
  }

  /** The branch's Postgres, owned by the shared database-restore provider. */
  public bind(scope: Construct, { names, shared }: StagingDataContext): BranchDatabaseInfo {
    const options = this.options;
    const secret = branchSecret(scope, 'DatabasePassword', names.databaseSecretName, {
      description: `Master password of the branch database of ${names.name}`,
      passwordLength: 32,
      whyNotRotated: 'Generated for one disposable branch database and deleted with it (3 idle days at most by default); rotation would outlive neither.',
    });
    const resource = new CustomResource(scope, 'Database', {
      serviceToken: shared.serviceToken(ProviderNames.DATABASE_RESTORE),
      resourceType: ResourceTypes.DATABASE,
      serviceTimeout: PROVIDER_SERVICE_TIMEOUT,
      removalPolicy: RemovalPolicy.DESTROY,
      properties: {
        SourceInstanceIdentifier: options.sourceInstanceIdentifier ?? shared.database.instanceIdentifier,
        InstanceIdentifierBase: names.databaseIdentifierBase,
        InstanceClass: `db.${(options.instanceType ?? new ec2.InstanceType('t4g.micro')).toString()}`,
        AllocatedStorageGiB: options.minStorageGiB,
        DbSubnetGroupName: shared.database.subnetGroupName,
        VpcSecurityGroupIds: [shared.dataSecurityGroup.securityGroupId],
        MasterUserSecretArn: secret.secretArn,
        RefreshToken: options.refreshToken,
        Tags: featureTags(names),
      } satisfies DatabaseResourceProperties,
    });
    return {
      endpoint: resource.getAttString(DatabaseAttributes.ENDPOINT),
      port: resource.getAttString(DatabaseAttributes.PORT),
      // The restored copy keeps the source's database and master user; only the password is its own.
      databaseName: resource.getAttString(DatabaseAttributes.DATABASE_NAME),
      username: resource.getAttString(DatabaseAttributes.MASTER_USERNAME),
      instanceIdentifier: resource.getAttString(DatabaseAttributes.INSTANCE_IDENTIFIER),
      secret,
      resource,
    };
  }
}

/** Default `TemplateDatabaseOptions.connectionLimit`. */
const DEFAULT_CONNECTION_LIMIT = 20;

class TemplateDatabase extends StagingDatabase {
  constructor(private readonly options: TemplateDatabaseOptions) {
    super();
  }

  public validate({ names, shared }: StagingDataContext): string[] {
    const problems: string[] = [];
    const limit = this.options.connectionLimit;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 1000)) {
      problems.push(`database connectionLimit must be a whole number from 1 to 1000 (got ${limit}); it caps the branch role's connections to the shared Postgres`);
    }
    if (!shared.database) {
      problems.push(
        `database StagingDatabase.fromTemplate() needs the shared staging's Postgres, but shared.database is ${JSON.stringify(shared.database)}; ` +
          'use SharedStagingRef.fromParameters (or pass an ISharedStaging with a database), or choose StagingDatabase.fromLatestSnapshot()',
      );
    }
    // StagingNames fits the name; this guards against a change there, by the handler's own rule.
    const nameProblem = identifierProblem('the branch database name', names.branchDatabaseName);
    if (nameProblem) problems.push(nameProblem);
    return problems;
  }

  /** The branch's database on the shared Postgres, owned by the shared database-template provider. */
  public bind(scope: Construct, { names, shared }: StagingDataContext): BranchDatabaseInfo {
    const roleName = names.branchDatabaseName;
    const secret = branchSecret(scope, 'DatabasePassword', names.databaseSecretName, {
      description: `Password of the login role of the branch database of ${names.name} (a copy of the golden template)`,
      fields: { username: roleName },
      passwordLength: 32,
      whyNotRotated: 'Generated for one disposable branch database and deleted with it (3 idle days at most by default); rotation would outlive neither.',
    });
    const properties: TemplateDatabaseResourceProperties = {
      DatabaseName: names.branchDatabaseName,
      RoleName: roleName,
      PasswordSecretArn: secret.secretArn,
      ConnectionLimit: String(this.options.connectionLimit ?? DEFAULT_CONNECTION_LIMIT),
      StagingName: names.name,
      RefreshToken: this.options.refreshToken,
    };
    const resource = new CustomResource(scope, 'Database', {
      serviceToken: shared.serviceToken(ProviderNames.DATABASE_TEMPLATE),
      resourceType: ResourceTypes.TEMPLATE_DATABASE,
      serviceTimeout: PROVIDER_SERVICE_TIMEOUT,
      removalPolicy: RemovalPolicy.DESTROY,
      properties: { ...properties },
    });
    return {
      endpoint: resource.getAttString(TemplateDatabaseAttributes.ENDPOINT),
      port: resource.getAttString(TemplateDatabaseAttributes.PORT),
      databaseName: resource.getAttString(TemplateDatabaseAttributes.DATABASE_NAME),
      username: resource.getAttString(TemplateDatabaseAttributes.USERNAME),
      secret,
      resource,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Redis

/** Options of `StagingCache.dedicated`. */
export interface DedicatedCacheOptions {
  /**
   * Node type of the branch's Valkey.
   * @default 'cache.t4g.micro'
   */
  readonly nodeType?: string;

  /**
   * Valkey version.
   * @default '8.0'
   */
  readonly engineVersion?: string;
}

/**
 * Where a branch's Redis comes from. Choose with a static factory:
 * `StagingCache.dedicated()`, `StagingCache.sharedPrefix()` or `StagingCache.shared()`.
 */
export abstract class StagingCache {
  /** The branch's own single-node Valkey, with TLS and AUTH, no snapshots. It starts empty. */
  public static dedicated(options: DedicatedCacheOptions = {}): StagingCache {
    return new DedicatedCache(options);
  }

  /**
   * The shared Redis with a key prefix of the branch's own (`REDIS_KEY_PREFIX`,
   * `<prefix>:<staging name>:`). Its keys are removed when the staging is destroyed.
   */
  public static sharedPrefix(): StagingCache {
    return new PrefixCache();
  }

  /** The shared Redis, keys and all. */
  public static shared(): StagingCache {
    return new SharedCache();
  }

  /** Problems with this choice for the branch, as messages that name the option; empty when valid. */
  public validate(_context: StagingDataContext): string[] {
    return [];
  }

  /** Makes what the branch needs below `scope` and says where its containers find it. */
  public abstract bind(scope: Construct, context: StagingDataContext): BranchCacheInfo;
}

/** The shared Redis, read on use only. */
function sharedCacheInfo(shared: ISharedStaging): Pick<BranchCacheInfo, 'endpoint' | 'port' | 'authSecret'> {
  return {
    get endpoint() { return shared.cache.endpoint; },
    get port() { return shared.cache.port; },
    get authSecret() { return shared.cache.authSecret; },
  };
}

class SharedCache extends StagingCache {
  public bind(_scope: Construct, { shared }: StagingDataContext): BranchCacheInfo {
    return sharedCacheInfo(shared);
  }
}

class PrefixCache extends StagingCache {
  /** The branch's key prefix on the shared Redis; its keys are removed when the stack is deleted. */
  public bind(scope: Construct, { names, shared }: StagingDataContext): BranchCacheInfo {
    const resource = new CustomResource(scope, 'CacheKeyPrefix', {
      serviceToken: shared.serviceToken(ProviderNames.REDIS_PREFIX),
      resourceType: ResourceTypes.REDIS_PREFIX,
      serviceTimeout: PROVIDER_SERVICE_TIMEOUT,
      properties: {
        Host: shared.cache.endpoint,
        Port: shared.cache.port,
        Tls: 'true',
        AuthSecretArn: shared.cache.authSecret.secretArn,
        KeyPrefix: names.redisKeyPrefix,
      } satisfies RedisPrefixResourceProperties,
    });
    const cache = sharedCacheInfo(shared);
    return {
      get endpoint() { return cache.endpoint; },
      get port() { return cache.port; },
      get authSecret() { return cache.authSecret; },
      keyPrefix: resource.getAttString(RedisPrefixAttributes.KEY_PREFIX),
      resource,
    };
  }
}

class DedicatedCache extends StagingCache {
  constructor(private readonly options: DedicatedCacheOptions) {
    super();
  }

  /** A single small Valkey node with TLS and AUTH and no snapshots; deleted with the stack. */
  public bind(scope: Construct, { names, shared }: StagingDataContext): BranchCacheInfo {
    const secret = branchSecret(scope, 'CacheAuth', names.cacheSecretName, {
      description: `AUTH token of the branch cache of ${names.name}`,
      passwordLength: 64,
      whyNotRotated: 'Generated for one disposable branch cache and deleted with it; ElastiCache AUTH tokens cannot be rotated by Secrets Manager without a custom function.',
    });
    const group = valkeyNode(scope, 'Cache', {
      replicationGroupId: names.cacheId,
      description: `Branch cache of ${names.name}`,
      engineVersion: this.options.engineVersion ?? '8.0',
      nodeType: this.options.nodeType ?? 'cache.t4g.micro',
      subnetGroupName: shared.cache.subnetGroupName,
      securityGroupIds: [shared.dataSecurityGroup.securityGroupId],
      authSecret: secret,
      snapshotRetentionLimit: 0,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(group).acknowledge(
      { id: 'AwsSolutions-AEC4', reason: 'A branch cache is disposable and starts empty; a replica in a second AZ would double its cost.' },
      { id: 'AwsSolutions-AEC5', reason: 'The default port is kept so the app needs no special configuration; only staging app tasks reach it (security group).' },
    );
    return { endpoint: group.attrPrimaryEndPointAddress, port: group.attrPrimaryEndPointPort, authSecret: secret, resource: group };
  }
}

// ---------------------------------------------------------------------------------------------
// Solr

/** Options of `StagingSearch.restoredCollection`. */
export interface RestoredCollectionOptions {
  /** The shared-staging collection the branch's collection is restored from. */
  readonly sourceCollection: string;

  /** Where Solr keeps backups (a path on Solr's backup repository). */
  readonly backupLocation: string;

  /**
   * The Solr backup repository.
   * @default - Solr's default repository
   */
  readonly backupRepository?: string;

  /**
   * The backup's name. When no backup of this name exists, a fresh one is taken first.
   * @default `<sourceCollection>-staging`
   */
  readonly backupName?: string;
}

/** Options of `StagingSearch.emptyCollection`. */
export interface EmptyCollectionOptions {
  /** The shared-staging collection whose configset the new collection uses. */
  readonly sourceCollection: string;

  /**
   * The configset.
   * @default - the source collection's configset
   */
  readonly configSet?: string;
}

/** Options of `StagingSearch.shared`. */
export interface SharedSearchOptions {
  /**
   * The collection containers are told to use (`SOLR_COLLECTION`).
   * @default - not set
   */
  readonly collection?: string;
}

/**
 * Where a branch's Solr data comes from. Choose with a static factory:
 * `StagingSearch.restoredCollection()`, `StagingSearch.emptyCollection()` or `StagingSearch.shared()`.
 * Collections live on the shared Solr server ("Solr namespaces").
 */
export abstract class StagingSearch {
  /** The branch's own collection, restored from the newest backup of the shared-staging collection. */
  public static restoredCollection(options: RestoredCollectionOptions): StagingSearch {
    return new CollectionSearch('restore', options.sourceCollection, options);
  }

  /** The branch's own empty collection, from the source collection's configset. */
  public static emptyCollection(options: EmptyCollectionOptions): StagingSearch {
    return new CollectionSearch('empty', options.sourceCollection, options);
  }

  /** The shared Solr as it is. */
  public static shared(options: SharedSearchOptions = {}): StagingSearch {
    return new SharedSearch(options.collection);
  }

  /** Problems with this choice for the branch, as messages that name the option; empty when valid. */
  public validate(_context: StagingDataContext): string[] {
    return [];
  }

  /** Makes what the branch needs below `scope` and says where its containers find it. */
  public abstract bind(scope: Construct, context: StagingDataContext): BranchSearchInfo;
}

/** The shared Solr, read on use only. */
function sharedSearchInfo(shared: ISharedStaging, collection: string | undefined, resource?: IConstruct): BranchSearchInfo {
  return {
    get url() { return shared.solr.url; },
    get secret() { return shared.solr.secret; },
    collection,
    resource,
  };
}

class SharedSearch extends StagingSearch {
  constructor(private readonly collection: string | undefined) {
    super();
  }

  public bind(_scope: Construct, { shared }: StagingDataContext): BranchSearchInfo {
    return sharedSearchInfo(shared, this.collection || undefined);
  }
}

class CollectionSearch extends StagingSearch {
  constructor(
    private readonly mode: 'restore' | 'empty',
    private readonly sourceCollection: string,
    private readonly options: Partial<RestoredCollectionOptions & EmptyCollectionOptions>,
  ) {
    super();
  }

  public validate(): string[] {
    const problems: string[] = [];
    // The handler's own rule for the name (lib/contract/providers/solr-collection.ts).
    if (!isSolrIdentifier(this.sourceCollection)) {
      problems.push(`search sourceCollection must be a Solr collection name (got ${JSON.stringify(this.sourceCollection)}); e.g. "products"`);
    }
    if (this.mode === 'restore' && !(this.options.backupLocation ?? '').trim()) {
      problems.push(`search backupLocation must be the path of Solr's backups (got ${JSON.stringify(this.options.backupLocation)}); e.g. "/var/solr/backups"`);
    }
    return problems;
  }

  /** The branch's collection on the shared Solr server. */
  public bind(scope: Construct, { names, shared }: StagingDataContext): BranchSearchInfo {
    const o = this.options;
    const resource = new CustomResource(scope, 'SearchCollection', {
      serviceToken: shared.serviceToken(ProviderNames.SOLR_COLLECTION),
      resourceType: ResourceTypes.SOLR_COLLECTION,
      serviceTimeout: PROVIDER_SERVICE_TIMEOUT,
      properties: {
        SolrUrl: shared.solr.url,
        CredentialsSecretArn: shared.solr.secret.secretArn,
        Collection: names.solrCollectionName,
        SourceCollection: this.sourceCollection,
        Mode: this.mode,
        ConfigSet: o.configSet,
        BackupLocation: o.backupLocation,
        BackupRepository: o.backupRepository,
        BackupName: o.backupName,
      } satisfies SolrCollectionResourceProperties,
    });
    // The name is known at synth (the handler answers with it), so the task definitions that read
    // SOLR_COLLECTION do not wait for the restore: the release task (migrations) runs beside it,
    // and the services wait for `resource` explicitly (FeatureStaging), so a URL that answers has
    // its search.
    return sharedSearchInfo(shared, names.solrCollectionName, resource);
  }
}
