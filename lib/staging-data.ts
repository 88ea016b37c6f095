import * as ec2 from 'aws-cdk-lib/aws-ec2';

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

/**
 * Where a branch's Postgres comes from. Choose with a static factory:
 * `StagingDatabase.fromLatestSnapshot()` or `StagingDatabase.shared()`.
 */
export class StagingDatabase {
  /** The branch's own instance, restored from the newest snapshot and downsized for staging. */
  public static fromLatestSnapshot(options: SnapshotDatabaseOptions = {}): StagingDatabase {
    return new StagingDatabase('snapshot', options);
  }

  /** The shared staging's Postgres. */
  public static shared(): StagingDatabase {
    return new StagingDatabase('shared', {});
  }

  /** Keeps the type nominal in the declarations, which leave out the `@internal` members. */
  private declare readonly brand: 'StagingDatabase';

  private constructor(
    /** @internal */ public readonly _mode: 'snapshot' | 'shared',
    /** @internal */ public readonly _options: SnapshotDatabaseOptions,
  ) {}
}

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
export class StagingCache {
  /** The branch's own single-node Valkey, with TLS and AUTH, no snapshots. It starts empty. */
  public static dedicated(options: DedicatedCacheOptions = {}): StagingCache {
    return new StagingCache('dedicated', options);
  }

  /**
   * The shared Redis with a key prefix of the branch's own (`REDIS_KEY_PREFIX`,
   * `<prefix>:<staging name>:`). Its keys are removed when the staging is destroyed.
   */
  public static sharedPrefix(): StagingCache {
    return new StagingCache('prefix', {});
  }

  /** The shared Redis, keys and all. */
  public static shared(): StagingCache {
    return new StagingCache('shared', {});
  }

  /** Keeps the type nominal in the declarations, which leave out the `@internal` members. */
  private declare readonly brand: 'StagingCache';

  private constructor(
    /** @internal */ public readonly _mode: 'dedicated' | 'prefix' | 'shared',
    /** @internal */ public readonly _options: DedicatedCacheOptions,
  ) {}
}

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
export class StagingSearch {
  /** The branch's own collection, restored from the newest backup of the shared-staging collection. */
  public static restoredCollection(options: RestoredCollectionOptions): StagingSearch {
    return new StagingSearch('restore', options.sourceCollection, options);
  }

  /** The branch's own empty collection, from the source collection's configset. */
  public static emptyCollection(options: EmptyCollectionOptions): StagingSearch {
    return new StagingSearch('empty', options.sourceCollection, options);
  }

  /** The shared Solr as it is. */
  public static shared(options: SharedSearchOptions = {}): StagingSearch {
    return new StagingSearch('shared', options.collection, {});
  }

  /** Keeps the type nominal in the declarations, which leave out the `@internal` members. */
  private declare readonly brand: 'StagingSearch';

  private constructor(
    /** @internal */ public readonly _mode: 'restore' | 'empty' | 'shared',
    /** @internal */ public readonly _sourceCollection: string | undefined,
    /** @internal */ public readonly _options: Partial<RestoredCollectionOptions & EmptyCollectionOptions>,
  ) {}
}
