import { CustomResource, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ProviderNames, StagingKinds, TagKeys } from './contract';
import { BranchStagingProps } from './feature-staging-lite';
import { StagingNames } from './naming';
import { BranchServices } from './private/branch-services';
import { generatedSecret } from './private/generated-secret';
import { cacheWiring, combineWiring, databaseWiring, eager, LazyWiring, layer, searchWiring } from './private/data-wiring';
import { ISharedStaging } from './shared-staging-ref';
import { StagingCache, StagingDatabase, StagingSearch } from './staging-data';
import { PROVIDER_SERVICE_TIMEOUT } from './private/timeouts';
import { StagingServices } from './staging-services';

/** Properties of `FeatureStaging`. */
export interface FeatureStagingProps extends BranchStagingProps {
  /**
   * The branch's Postgres.
   * @default StagingDatabase.fromLatestSnapshot()
   */
  readonly database?: StagingDatabase;

  /**
   * The branch's Redis.
   * @default StagingCache.dedicated()
   */
  readonly cache?: StagingCache;

  /**
   * The branch's Solr data.
   * @default StagingSearch.shared()
   */
  readonly search?: StagingSearch;

  /**
   * Run as a one-off task before the services roll, on every deploy where the image or the
   * command changed, e.g. `['bin/rails', 'db:migrate']`: the migrations since the snapshot, on top.
   * A non-zero exit fails the deploy with the task's last log lines.
   * @default - no release task
   */
  readonly releaseCommand?: string[];

  /**
   * Stop the branch's own database once the branch has slept this long (started again on wake,
   * which then takes minutes; re-stopped after RDS starts it by itself after 7 days). Only with a
   * database of the branch's own.
   * @default - the database keeps running while the branch sleeps
   */
  readonly stopDatabaseAfter?: Duration;
}

/**
 * One branch's full environment: its services at `<branch>.<staging domain>` with data of its own:
 * Postgres restored from the newest snapshot and downsized, its own Redis, its own Solr
 * collection. Each store is chosen on its own (`database`, `cache`, `search`), so a branch can
 * mix, for example its own database with the shared Solr.
 *
 * The data stores are disposable: deleted with the stack, no final snapshot, no deletion
 * protection. Put it in a stack of its own; it tags the stack as a `feature` staging.
 */
export class FeatureStaging extends Construct {
  /** The names derived from the branch. */
  public readonly names: StagingNames;

  /** `https://<name>.<staging domain>` */
  public readonly url: string;

  /** The branch's services. */
  public readonly services: StagingServices;

  /** The branch's database, when it has its own. */
  public readonly database?: CustomResource;

  /** The branch's Valkey, when it has its own. */
  public readonly cache?: elasticache.CfnReplicationGroup;

  /** The branch's Solr collection, when it has its own. */
  public readonly searchCollection?: CustomResource;

  private readonly shared: ISharedStaging;
  private readonly tags: Array<{ Key: string; Value: string }>;

  constructor(scope: Construct, id: string, props: FeatureStagingProps) {
    super(scope, id);
    this.names = StagingNames.fromBranch(props.branch, props.shared.prefix);
    this.shared = props.shared;
    this.tags = [
      { Key: TagKeys.KIND, Value: StagingKinds.FEATURE },
      { Key: TagKeys.NAME, Value: this.names.name },
      { Key: TagKeys.PREFIX, Value: this.names.prefix },
    ];
    validate(props);

    // Each store is wired on its own: dedicated, or the shared one.
    const database = props.database ?? StagingDatabase.fromLatestSnapshot();
    const cache = props.cache ?? StagingCache.dedicated();
    const search = props.search ?? StagingSearch.shared();
    const data = combineWiring(this.databaseWiring(database), this.cacheWiring(cache), this.searchWiring(search));

    const branch = new BranchServices(this, 'Branch', {
      ...props,
      names: this.names,
      kind: StagingKinds.FEATURE,
      data,
      releaseCommand: props.releaseCommand,
      databaseInstanceId: this.database?.getAttString('InstanceIdentifier'),
      stopDatabaseAfter: props.stopDatabaseAfter,
    });
    this.url = branch.url;
    this.services = branch.services;
  }

  private databaseWiring(database: StagingDatabase): LazyWiring {
    if (database._mode === 'shared') return databaseWiring(this.shared.database);
    const { resource, secret } = this.restoredDatabase(database);
    (this as { database?: CustomResource }).database = resource;
    return {
      environment: {
        DATABASE_HOST: () => resource.getAttString('Endpoint'),
        DATABASE_PORT: () => resource.getAttString('Port'),
        // The restored copy keeps the source's database and master user; only the password is its own.
        DATABASE_NAME: () => resource.getAttString('DatabaseName'),
        DATABASE_USERNAME: () => resource.getAttString('MasterUsername'),
      },
      secrets: { DATABASE_PASSWORD: () => ecs.Secret.fromSecretsManager(secret, 'password') },
    };
  }

  private cacheWiring(cache: StagingCache): LazyWiring {
    if (cache._mode === 'shared') return cacheWiring(this.shared.cache);
    if (cache._mode === 'prefix') {
      return layer(cacheWiring(this.shared.cache), eager({ REDIS_KEY_PREFIX: this.cacheKeyPrefix().getAttString('KeyPrefix') }));
    }
    const { group, secret } = this.dedicatedCache(cache);
    (this as { cache?: elasticache.CfnReplicationGroup }).cache = group;
    return cacheWiring({ endpoint: group.attrPrimaryEndPointAddress, port: group.attrPrimaryEndPointPort, authSecret: secret });
  }

  private searchWiring(search: StagingSearch): LazyWiring {
    const shared = searchWiring(this.shared.solr);
    if (search._mode === 'shared') {
      return search._sourceCollection ? layer(shared, eager({ SOLR_COLLECTION: search._sourceCollection })) : shared;
    }
    const collection = this.solrCollection(search);
    (this as { searchCollection?: CustomResource }).searchCollection = collection;
    return layer(shared, eager({ SOLR_COLLECTION: collection.getAttString('Collection') }));
  }

  /** The branch's Postgres, owned by the shared database-restore provider. */
  private restoredDatabase(database: StagingDatabase): { resource: CustomResource; secret: secretsmanager.Secret } {
    const options = database._options;
    const secret = generatedSecret(this, 'DatabasePassword', {
      secretName: `${this.names.parameterPath.slice(1)}/database`,
      description: `Master password of the branch database of ${this.names.name}`,
      passwordLength: 32,
      removalPolicy: RemovalPolicy.DESTROY,
      whyNotRotated: 'Generated for one disposable branch database and deleted with it (3 idle days at most by default); rotation would outlive neither.',
    });
    const resource = new CustomResource(this, 'Database', {
      serviceToken: this.shared.serviceToken(ProviderNames.DATABASE_RESTORE),
      resourceType: 'Custom::StagingDatabase',
      serviceTimeout: PROVIDER_SERVICE_TIMEOUT,
      removalPolicy: RemovalPolicy.DESTROY,
      properties: {
        SourceInstanceIdentifier: options.sourceInstanceIdentifier ?? this.shared.database.instanceIdentifier,
        InstanceIdentifierBase: this.names.databaseIdentifierBase,
        InstanceClass: `db.${(options.instanceType ?? new ec2.InstanceType('t4g.micro')).toString()}`,
        AllocatedStorageGiB: options.minStorageGiB,
        DbSubnetGroupName: this.shared.database.subnetGroupName,
        VpcSecurityGroupIds: [this.shared.dataSecurityGroup.securityGroupId],
        MasterUserSecretArn: secret.secretArn,
        RefreshToken: options.refreshToken,
        Tags: this.tags,
      },
    });
    return { resource, secret };
  }

  /** A single small Valkey node with TLS and AUTH and no snapshots; deleted with the stack. */
  private dedicatedCache(cache: StagingCache): { group: elasticache.CfnReplicationGroup; secret: secretsmanager.Secret } {
    const secret = generatedSecret(this, 'CacheAuth', {
      secretName: `${this.names.parameterPath.slice(1)}/cache`,
      description: `AUTH token of the branch cache of ${this.names.name}`,
      passwordLength: 64,
      removalPolicy: RemovalPolicy.DESTROY,
      whyNotRotated: 'Generated for one disposable branch cache and deleted with it; ElastiCache AUTH tokens cannot be rotated by Secrets Manager without a custom function.',
    });
    const group = new elasticache.CfnReplicationGroup(this, 'Cache', {
      replicationGroupId: this.names.cacheId,
      replicationGroupDescription: `Branch cache of ${this.names.name}`,
      engine: 'valkey',
      engineVersion: cache._options.engineVersion ?? '8.0',
      cacheNodeType: cache._options.nodeType ?? 'cache.t4g.micro',
      numCacheClusters: 1,
      automaticFailoverEnabled: false,
      multiAzEnabled: false,
      cacheSubnetGroupName: this.shared.cache.subnetGroupName,
      securityGroupIds: [this.shared.dataSecurityGroup.securityGroupId],
      atRestEncryptionEnabled: true,
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      authToken: secret.secretValueFromJson('password').unsafeUnwrap(),
      snapshotRetentionLimit: 0,
      port: 6379,
    });
    group.applyRemovalPolicy(RemovalPolicy.DESTROY);
    Validations.of(group).acknowledge(
      { id: 'AwsSolutions-AEC4', reason: 'A branch cache is disposable and starts empty; a replica in a second AZ would double its cost.' },
      { id: 'AwsSolutions-AEC5', reason: 'The default port is kept so the app needs no special configuration; only staging app tasks reach it (security group).' },
    );
    return { group, secret };
  }

  /** The branch's key prefix on the shared Redis; its keys are removed when the stack is deleted. */
  private cacheKeyPrefix(): CustomResource {
    return new CustomResource(this, 'CacheKeyPrefix', {
      serviceToken: this.shared.serviceToken(ProviderNames.REDIS_PREFIX),
      resourceType: 'Custom::StagingRedisPrefix',
      serviceTimeout: PROVIDER_SERVICE_TIMEOUT,
      properties: {
        Host: this.shared.cache.endpoint,
        Port: this.shared.cache.port,
        Tls: 'true',
        AuthSecretArn: this.shared.cache.authSecret.secretArn,
        KeyPrefix: this.names.redisKeyPrefix,
      },
    });
  }

  /** The branch's collection on the shared Solr server. */
  private solrCollection(search: StagingSearch): CustomResource {
    const o = search._options;
    return new CustomResource(this, 'SearchCollection', {
      serviceToken: this.shared.serviceToken(ProviderNames.SOLR_COLLECTION),
      resourceType: 'Custom::StagingSolrCollection',
      serviceTimeout: PROVIDER_SERVICE_TIMEOUT,
      properties: {
        SolrUrl: this.shared.solr.url,
        CredentialsSecretArn: this.shared.solr.secret.secretArn,
        Collection: this.names.solrCollectionName,
        SourceCollection: search._sourceCollection,
        Mode: search._mode,
        ConfigSet: o.configSet,
        BackupLocation: o.backupLocation,
        BackupRepository: o.backupRepository,
        BackupName: o.backupName,
      },
    });
  }
}

function validate(props: FeatureStagingProps): void {
  const problems: string[] = [];
  const search = props.search;
  const solrName = /^[A-Za-z0-9._][A-Za-z0-9._-]*$/;
  if (search && search._mode !== 'shared' && !solrName.test(search._sourceCollection ?? '')) {
    problems.push(`search sourceCollection must be a Solr collection name (got ${JSON.stringify(search._sourceCollection)}); e.g. "products"`);
  }
  if (search?._mode === 'restore' && !(search._options.backupLocation ?? '').trim()) {
    problems.push(`search backupLocation must be the path of Solr's backups (got ${JSON.stringify(search._options.backupLocation)}); e.g. "/var/solr/backups"`);
  }
  const minStorage = props.database?._options.minStorageGiB;
  if (minStorage !== undefined && (!Number.isInteger(minStorage) || minStorage < 20 || minStorage > 65536)) {
    problems.push(`database minStorageGiB must be a whole number from 20 to 65536 (got ${minStorage})`);
  }
  if (props.releaseCommand !== undefined && (props.releaseCommand.length === 0 || props.releaseCommand.some((c) => typeof c !== 'string'))) {
    problems.push(`releaseCommand must be a non-empty list of strings (got ${JSON.stringify(props.releaseCommand)}); e.g. ["bin/rails", "db:migrate"]`);
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
}
