import { App, CustomResource, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { buildStagingApp } from '../bin/staging-app';
import {
  FeatureStaging,
  FeatureStagingLite,
  FeatureStagingProps,
  SharedStagingRef,
  StagingCache,
  StagingDatabase,
  StagingKinds,
  StagingSearch,
  TagKeys,
} from '../lib';
import { FeatureOutputs, MANAGED_BY_VALUE } from '../lib/contract/staging';
import { ResourceTypes } from '../lib/contract/providers';
import { normalizeTemplate } from '../lib/testing';
import { EXAMPLE_STAGING, SNAPSHOT_STAGING } from './util/example-config';
import { dependencies } from '../scripts/critical-path';
import { cliCost, costOutput } from './util/cost';
import { container, containers, join, notAfterQuota, only, onlyId, resourcesOfType, ssm, ssmParameterIds } from './util/template';
import { formatFindings, testApp, validationFindings } from './util/validate';
import { BRANCH, BranchHarnessOptions, buildBranch, BuiltBranch, constructBranch, ENV, NAMES } from './util/harness';

/** The example `staging` block of cdk.json, as `cdk synth` reads it. */
const STAGING = EXAMPLE_STAGING;
const RESTORED = { sourceCollection: 'products', backupLocation: '/var/solr/backups' };
const RELEASE = ['bin/rails', 'db:migrate'];

type Built = BuiltBranch<FeatureStaging>;

/**
 * A FeatureStaging with a web service, one worker and one nightly job, in its BranchStagingStack.
 * `validate` runs cdk-nag and CloudFormation Validate on the same synthesis (the slow part).
 */
function build(overrides: Partial<FeatureStagingProps> = {}, opts: BranchHarnessOptions = {}): Built {
  return buildBranch((scope, props) => new FeatureStaging(scope, 'Staging', { ...props, ...overrides }), overrides.branch, opts);
}

/** Builds a FeatureStaging in a throwaway stack, for validation errors. */
function construct(overrides: Partial<FeatureStagingProps>): () => FeatureStaging {
  return constructBranch((scope, props) => new FeatureStaging(scope, 'Staging', { ...props, workers: [], scheduledJobs: [], ...overrides }));
}

/** The ready-made app with `-c` context on top of a `staging` block (the cdk.json example by default). */
function readyMade(context: Record<string, unknown>, staging: unknown = STAGING): { app: App; stacks: Stack[] } {
  const app = testApp({ context: { staging, ...context } });
  return { app, stacks: buildStagingApp(app) };
}

/** The cdk.json example with `staging.feature` changed. */
function withFeature(feature: Record<string, unknown>): unknown {
  return { ...STAGING, feature: { ...STAGING.feature, ...feature } };
}

/** `{ Ref }` to the stack parameter that reads the SSM parameter `path`. */

const getAtt = (id: string, attribute: string) => ({ 'Fn::GetAtt': [id, attribute] });

/** The ECS services behind a load balancer (the web service). */
function webServiceId(json: any): string {
  const web = resourcesOfType(json, 'AWS::ECS::Service').filter(([, r]) => (r.Properties.LoadBalancers ?? []).length > 0);
  if (web.length !== 1) throw new Error(`expected one web service, found ${web.length}`);
  return web[0][0];
}

/** The secret whose name is `staging/branches/<name>/<suffix>`. */
function branchSecretId(json: any, suffix: string): string {
  const found = resourcesOfType(json, 'AWS::SecretsManager::Secret').filter(([, s]) => s.Properties.Name === `staging/branches/${NAMES.name}/${suffix}`);
  if (found.length !== 1) throw new Error(`expected one secret staging/branches/${NAMES.name}/${suffix}, found ${found.length}`);
  return found[0][0];
}

function tagMap(tags: Array<{ Key: string; Value: string }> | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.Key, t.Value]));
}

/** Every resource each resource depends on, directly or not (the transitive closure of `dependencies()`). */
function reachable(json: any): Map<string, Set<string>> {
  const graph = dependencies(json);
  const closure = new Map<string, Set<string>>();
  for (const start of graph.keys()) {
    const seen = new Set<string>();
    const todo = [...(graph.get(start) ?? [])];
    while (todo.length > 0) {
      const next = todo.pop()!;
      if (seen.has(next)) continue;
      seen.add(next);
      todo.push(...(graph.get(next) ?? []));
    }
    closure.set(start, seen);
  }
  return closure;
}

/** Every value of `key` anywhere in `node`. */
function valuesOfKey(node: unknown, key: string): unknown[] {
  if (Array.isArray(node)) return node.flatMap((n) => valuesOfKey(n, key));
  if (!node || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([k, v]) => [...(k === key ? [v] : []), ...valuesOfKey(v, key)]);
}

/** Resources that survive `cdk destroy` or a replacement. */
function keptResources(json: any): string[] {
  return Object.entries(json.Resources as Record<string, any>)
    .filter(([, r]) => ['Retain', 'Snapshot', 'RetainExceptOnCreate'].some((p) => r.DeletionPolicy === p || r.UpdateReplacePolicy === p))
    .map(([id, r]) => `${id} (${r.Type}): DeletionPolicy=${r.DeletionPolicy} UpdateReplacePolicy=${r.UpdateReplacePolicy}`);
}

describe('FeatureStaging, defaults (own Postgres, own Valkey, shared Solr)', () => {
  let built: Built, json: any, template: Template;
  const P = (name: string) => ssm(json, `/staging/shared/${name}`);
  beforeAll(() => ({ json, template } = built = build({}, { validate: true })));
  test('is clean under cdk-nag AwsSolutions and CloudFormation Validate', () => expect(built.findings).toEqual([]));

  describe('database', () => {
    test('one Custom::StagingDatabase from the shared database-restore provider, restoring the shared Postgres, sized db.t4g.micro', () => {
      template.resourceCountIs('Custom::StagingDatabase', 1);
      template.resourceCountIs('AWS::RDS::DBInstance', 0);
      template.hasResourceProperties('Custom::StagingDatabase', {
        ServiceToken: P('providers/database-restore/service-token'),
        ServiceTimeout: '3600',
        SourceInstanceIdentifier: P('database/instance-identifier'),
        InstanceIdentifierBase: NAMES.databaseIdentifierBase,
        InstanceClass: 'db.t4g.micro',
        DbSubnetGroupName: P('database/subnet-group-name'),
        VpcSecurityGroupIds: [P('data-security-group-id')],
      });
      expect(NAMES.databaseIdentifierBase).toBe(`staging-${NAMES.name}`);
    });

    test('its master password is a generated secret of its own, staging/branches/<name>/database', () => {
      const secretId = branchSecretId(json, 'database');
      const db = only(json, 'Custom::StagingDatabase');
      expect(db.Properties.MasterUserSecretArn).toEqual({ Ref: secretId });
      expect(json.Resources[secretId].Properties.GenerateSecretString).toMatchObject({ GenerateStringKey: 'password' });
      // The shared database's secret is never read.
      expect(ssmParameterIds(json, '/staging/shared/database/secret-arn')).toEqual([]);
    });

    test('it is tagged as a feature staging\'s (the provider may only modify and delete such instances)', () => {
      const tags = tagMap(only(json, 'Custom::StagingDatabase').Properties.Tags);
      expect(tags).toMatchObject({ [TagKeys.KIND]: StagingKinds.FEATURE, [TagKeys.NAME]: NAMES.name, [TagKeys.PREFIX]: 'staging' });
    });

    test('no RefreshToken and no storage minimum by default: the snapshot stays pinned', () => {
      const props = only(json, 'Custom::StagingDatabase').Properties;
      expect(props).not.toHaveProperty('RefreshToken');
      expect(props).not.toHaveProperty('AllocatedStorageGiB');
    });

    test('containers get the restored database\'s endpoint and user from the custom resource and its password as a secret', () => {
      const dbId = onlyId(json, 'Custom::StagingDatabase');
      const secretId = branchSecretId(json, 'database');
      for (const c of containers(json)) {
        expect({ service: c.service, env: c.environment }).toMatchObject({
          service: c.service,
          env: {
            DATABASE_HOST: getAtt(dbId, 'Endpoint'),
            DATABASE_PORT: getAtt(dbId, 'Port'),
            DATABASE_USERNAME: getAtt(dbId, 'MasterUsername'),
            // The restored copy's own database name: a restore from production may not match staging's.
            DATABASE_NAME: getAtt(dbId, 'DatabaseName'),
          },
        });
        expect(c.secrets.DATABASE_PASSWORD).toEqual(join({ Ref: secretId }, ':password::'));
        expect(c.secrets).not.toHaveProperty('DATABASE_USERNAME');
      }
      expect(ssmParameterIds(json, '/staging/shared/database/endpoint')).toEqual([]);
      expect(ssmParameterIds(json, '/staging/shared/database/name')).toEqual([]);
    });
  });

  describe('cache', () => {
    test('its own single-node Valkey with TLS, AUTH from a branch secret, encryption at rest and no snapshots', () => {
      template.resourceCountIs('AWS::ElastiCache::ReplicationGroup', 1);
      const authId = branchSecretId(json, 'cache');
      template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
        ReplicationGroupId: NAMES.cacheId,
        Engine: 'valkey',
        CacheNodeType: 'cache.t4g.micro',
        NumCacheClusters: 1,
        AutomaticFailoverEnabled: false,
        MultiAZEnabled: false,
        TransitEncryptionEnabled: true,
        AtRestEncryptionEnabled: true,
        SnapshotRetentionLimit: 0,
        AuthToken: join('{{resolve:secretsmanager:', { Ref: authId }, ':SecretString:password::}}'),
        CacheSubnetGroupName: P('cache/subnet-group-name'),
        SecurityGroupIds: [P('data-security-group-id')],
      });
      template.resourceCountIs('Custom::StagingRedisPrefix', 0);
    });

    test('containers get its primary endpoint, TLS on, and its AUTH token as a secret', () => {
      const cacheId = onlyId(json, 'AWS::ElastiCache::ReplicationGroup');
      const authId = branchSecretId(json, 'cache');
      for (const c of containers(json)) {
        expect(c.environment).toMatchObject({
          REDIS_HOST: getAtt(cacheId, 'PrimaryEndPoint.Address'),
          REDIS_PORT: getAtt(cacheId, 'PrimaryEndPoint.Port'),
          REDIS_TLS: 'true',
        });
        expect(c.environment).not.toHaveProperty('REDIS_KEY_PREFIX');
        expect(c.secrets.REDIS_PASSWORD).toEqual(join({ Ref: authId }, ':password::'));
      }
      expect(ssmParameterIds(json, '/staging/shared/cache/endpoint')).toEqual([]);
    });
  });

  test('search is the shared Solr by default: no collection of its own and no SOLR_COLLECTION', () => {
    template.resourceCountIs('Custom::StagingSolrCollection', 0);
    for (const c of containers(json)) {
      expect(c.environment.SOLR_URL).toEqual(P('solr/url'));
      expect(c.environment).not.toHaveProperty('SOLR_COLLECTION');
      expect(c.secrets.SOLR_PASSWORD).toEqual(join(P('solr/secret-arn'), ':password::'));
    }
  });

  test('no release task without a releaseCommand', () => {
    template.resourceCountIs('Custom::StagingRelease', 0);
    expect(containers(json).map((c) => c.service).sort()).toEqual(['nightly', 'web', 'worker']);
  });

  describe('cdk destroy leaves nothing', () => {
    test('every per-branch store is deleted with the stack and on replacement (DeletionPolicy and UpdateReplacePolicy Delete)', () => {
      for (const type of ['Custom::StagingDatabase', 'AWS::ElastiCache::ReplicationGroup', 'AWS::SecretsManager::Secret', 'AWS::Logs::LogGroup']) {
        const found = resourcesOfType(json, type);
        expect({ type, count: found.length > 0 }).toEqual({ type, count: true });
        for (const [id, r] of found) {
          expect({ id, type, deletion: r.DeletionPolicy, replace: r.UpdateReplacePolicy }).toEqual({ id, type, deletion: 'Delete', replace: 'Delete' });
        }
      }
      expect(resourcesOfType(json, 'AWS::SecretsManager::Secret')).toHaveLength(2);
    });

    test('no resource is retained or snapshotted', () => {
      expect(keptResources(json)).toEqual([]);
    });

    test('no deletion protection anywhere', () => {
      expect(valuesOfKey(json, 'DeletionProtection')).toEqual([]);
      expect(valuesOfKey(json, 'DeletionProtectionEnabled')).toEqual([]);
      expect(JSON.stringify(json)).not.toMatch(/DeletionProtection/);
    });
  });

  describe('the staging cap (Custom::StagingQuota)', () => {
    test('one quota check, served by the shared staging-quota provider, with the staging name and branch', () => {
      template.resourceCountIs(ResourceTypes.STAGING_QUOTA, 1);
      template.hasResourceProperties(ResourceTypes.STAGING_QUOTA, {
        ServiceToken: ssm(json, '/staging/shared/providers/staging-quota/service-token'),
        StagingName: NAMES.name,
        Branch: BRANCH,
      });
    });

    test('every other resource DependsOn it, so a refused first deploy creates nothing; it depends on nothing', () => {
      expect(notAfterQuota(json)).toEqual([]);
      expect(Object.keys(json.Resources).length).toBeGreaterThan(20);
      const quota = onlyId(json, ResourceTypes.STAGING_QUOTA);
      expect(json.Resources[quota].DependsOn).toBeUndefined();
      expect(reachable(json).get(quota)).toEqual(new Set());
    });
  });

  test('the feature stack has no Lambda function and no Fn::ImportValue; every parameter is an SSM parameter under /staging/shared/', () => {
    template.resourceCountIs('AWS::Lambda::Function', 0);
    expect(Object.values(json.Resources as Record<string, any>).filter((r) => String(r.Type).startsWith('AWS::Lambda::'))).toEqual([]);
    expect(JSON.stringify(json)).not.toContain('Fn::ImportValue');
    expect(resourcesOfType(json, 'AWS::EC2::SecurityGroup')).toEqual([]);
    for (const [id, p] of Object.entries(json.Parameters as Record<string, any>)) {
      if (id === 'BootstrapVersion') continue;
      expect({ id, type: p.Type, path: p.Default }).toEqual({ id, type: 'AWS::SSM::Parameter::Value<String>', path: expect.stringMatching(/^\/staging\/shared\//) });
    }
  });

  test('the stack is tagged as a feature staging, with its name, branch, prefix and manager', () => {
    const tags = built.app.synth().getStackByName(NAMES.stackName).tags;
    expect(tags).toEqual({
      [TagKeys.KIND]: StagingKinds.FEATURE,
      [TagKeys.NAME]: NAMES.name,
      [TagKeys.BRANCH]: BRANCH,
      [TagKeys.PREFIX]: 'staging',
      [TagKeys.MANAGED_BY]: MANAGED_BY_VALUE,
    });
  });

  test('exposes what it made', () => {
    expect(built.staging.names.name).toBe(NAMES.name);
    expect(built.staging.url).toMatch(/^https:\/\/feature-new-cool-page-[0-9a-f]{8}\./);
    // Typed information about each store, with the construct that made it when the branch owns it.
    const dbId = onlyId(json, 'Custom::StagingDatabase');
    const stack = built.stack;
    expect(stack.resolve(built.staging.database.endpoint)).toEqual(getAtt(dbId, 'Endpoint'));
    expect(stack.resolve(built.staging.database.username)).toEqual(getAtt(dbId, 'MasterUsername'));
    expect(stack.resolve(built.staging.database.secret.secretArn)).toEqual({ Ref: branchSecretId(json, 'database') });
    expect(built.staging.database.resource).toBeInstanceOf(CustomResource);
    const cacheId = onlyId(json, 'AWS::ElastiCache::ReplicationGroup');
    expect(stack.resolve(built.staging.cache.endpoint)).toEqual(getAtt(cacheId, 'PrimaryEndPoint.Address'));
    expect(stack.resolve(built.staging.cache.port)).toEqual(getAtt(cacheId, 'PrimaryEndPoint.Port'));
    expect(built.staging.cache.keyPrefix).toBeUndefined();
    expect(built.staging.cache.resource).toBeDefined();
    expect(built.staging.search.resource).toBeUndefined();
    expect(built.staging.search.collection).toBeUndefined();
  });

  test('outputs its cost per day, awake and asleep, as `staging cost` prices its template', async () => {
    // Two 0.25 vCPU tasks and the nightly job stop while asleep; the database (20 GiB assumed), the cache, secrets and logs do not.
    expect(json.Outputs[FeatureOutputs.COST_PER_DAY].Value).toBe("$1.44/day awake, $0.82/day asleep (eu-west-1, prices as of 2026-09-29); database storage 20 GiB assumed (a restore takes its snapshot's size, known at deploy)");
    expect(costOutput(json)).toEqual(await cliCost(json, ENV.region));
  });

  test('snapshot', () => {
    expect(normalizeTemplate(json)).toMatchSnapshot();
  });
});

describe('FeatureStaging database options', () => {
  test('a given source instance, instance type, storage minimum and refresh token pass through', () => {
    const { json, template } = build({
      database: StagingDatabase.fromLatestSnapshot({
        sourceInstanceIdentifier: 'production-db',
        instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MEDIUM),
        minStorageGiB: 50,
        refreshToken: '2024-06-01T10:00:00.000Z',
      }),
    });
    template.hasResourceProperties('Custom::StagingDatabase', {
      SourceInstanceIdentifier: 'production-db',
      InstanceClass: 'db.t4g.medium',
      AllocatedStorageGiB: 50,
      RefreshToken: '2024-06-01T10:00:00.000Z',
    });
    // The shared instance identifier is not read when the source is given.
    expect(ssmParameterIds(json, '/staging/shared/database/instance-identifier')).toEqual([]);
  });

  test('StagingDatabase.shared(): no database of its own; containers get the shared one from SSM', () => {
    const { json, template, staging } = build({ database: StagingDatabase.shared() });
    template.resourceCountIs('Custom::StagingDatabase', 0);
    expect(resourcesOfType(json, 'AWS::SecretsManager::Secret').map(([, s]) => s.Properties.Name)).toEqual([`staging/branches/${NAMES.name}/cache`]);
    expect(staging.database.resource).toBeUndefined();
    for (const c of containers(json)) {
      expect(c.environment.DATABASE_HOST).toEqual(ssm(json, '/staging/shared/database/endpoint'));
      expect(c.secrets.DATABASE_PASSWORD).toEqual(join(ssm(json, '/staging/shared/database/secret-arn'), ':password::'));
    }
  });
});

describe('FeatureStaging cache options', () => {
  test('StagingCache.dedicated() with a node type and engine version', () => {
    const { template } = build({ cache: StagingCache.dedicated({ nodeType: 'cache.t4g.small', engineVersion: '7.2' }) });
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { CacheNodeType: 'cache.t4g.small', EngineVersion: '7.2', NumCacheClusters: 1 });
  });

  test('StagingCache.shared(): neither a cache nor a key prefix; containers get the shared Redis', () => {
    const { json, template, staging } = build({ cache: StagingCache.shared() });
    template.resourceCountIs('AWS::ElastiCache::ReplicationGroup', 0);
    template.resourceCountIs('Custom::StagingRedisPrefix', 0);
    expect(staging.cache.resource).toBeUndefined();
    for (const c of containers(json)) {
      expect(c.environment.REDIS_HOST).toEqual(ssm(json, '/staging/shared/cache/endpoint'));
      expect(c.environment).not.toHaveProperty('REDIS_KEY_PREFIX');
      expect(c.secrets.REDIS_PASSWORD).toEqual(join(ssm(json, '/staging/shared/cache/auth-secret-arn'), ':password::'));
    }
  });
});

describe('FeatureStaging with a key prefix on the shared Redis and an empty Solr collection', () => {
  let built: Built, json: any, template: Template;
  const P = (name: string) => ssm(json, `/staging/shared/${name}`);
  beforeAll(() => ({ json, template } = built = build({ cache: StagingCache.sharedPrefix(), search: StagingSearch.emptyCollection({ sourceCollection: 'products' }) }, { validate: true })));
  test('is clean under cdk-nag AwsSolutions and CloudFormation Validate', () => expect(built.findings).toEqual([]));

  test('a Custom::StagingRedisPrefix from the shared redis-prefix provider holds the branch\'s key prefix; no cache of its own', () => {
    template.resourceCountIs('AWS::ElastiCache::ReplicationGroup', 0);
    template.resourceCountIs('Custom::StagingRedisPrefix', 1);
    template.hasResourceProperties('Custom::StagingRedisPrefix', {
      ServiceToken: P('providers/redis-prefix/service-token'),
      ServiceTimeout: '3600',
      KeyPrefix: NAMES.redisKeyPrefix,
      Host: P('cache/endpoint'),
      Port: P('cache/port'),
      AuthSecretArn: P('cache/auth-secret-arn'),
    });
    expect(NAMES.redisKeyPrefix).toBe(`staging:${NAMES.name}:`);
    expect(built.staging.cache.resource).toBeInstanceOf(CustomResource);
    expect(built.staging.cache.keyPrefix).toBeDefined();
  });

  test('containers get the shared Redis and REDIS_KEY_PREFIX', () => {
    const prefixId = onlyId(json, 'Custom::StagingRedisPrefix');
    for (const c of containers(json)) {
      expect(c.environment).toMatchObject({
        REDIS_HOST: P('cache/endpoint'),
        REDIS_PORT: P('cache/port'),
        REDIS_KEY_PREFIX: getAtt(prefixId, 'KeyPrefix'),
      });
      expect(c.secrets.REDIS_PASSWORD).toEqual(join(P('cache/auth-secret-arn'), ':password::'));
    }
  });

  test('an empty collection: Custom::StagingSolrCollection in mode empty, with no backup', () => {
    template.hasResourceProperties('Custom::StagingSolrCollection', {
      ServiceToken: P('providers/solr-collection/service-token'),
      Mode: 'empty',
      Collection: NAMES.solrCollectionName,
      SourceCollection: 'products',
      SolrUrl: P('solr/url'),
      CredentialsSecretArn: P('solr/secret-arn'),
    });
    const props = only(json, 'Custom::StagingSolrCollection').Properties;
    expect(props).not.toHaveProperty('BackupLocation');
    for (const c of containers(json)) expect(c.environment.SOLR_COLLECTION).toBe(NAMES.solrCollectionName);
  });

  test('every per-branch store, the key prefix and the collection included, is deleted with the stack', () => {
    for (const type of ['Custom::StagingRedisPrefix', 'Custom::StagingSolrCollection', 'Custom::StagingDatabase']) {
      for (const [id, r] of resourcesOfType(json, type)) {
        expect({ id, deletion: r.DeletionPolicy, replace: r.UpdateReplacePolicy }).toEqual({ id, deletion: 'Delete', replace: 'Delete' });
      }
    }
    expect(keptResources(json)).toEqual([]);
  });
});

describe('FeatureStaging search options', () => {
  test('StagingSearch.restoredCollection(): mode restore with the source collection, backup location, repository and name', () => {
    const { json, template, staging } = build({
      search: StagingSearch.restoredCollection({ ...RESTORED, backupRepository: 's3', backupName: 'products-nightly' }),
    });
    template.resourceCountIs('Custom::StagingSolrCollection', 1);
    template.hasResourceProperties('Custom::StagingSolrCollection', {
      ServiceToken: ssm(json, '/staging/shared/providers/solr-collection/service-token'),
      ServiceTimeout: '3600',
      Mode: 'restore',
      Collection: NAMES.solrCollectionName,
      SourceCollection: 'products',
      BackupLocation: '/var/solr/backups',
      BackupRepository: 's3',
      BackupName: 'products-nightly',
    });
    expect(NAMES.solrCollectionName).toBe(`staging_${NAMES.name}`);
    expect(staging.search.resource).toBeInstanceOf(CustomResource);
    for (const c of containers(json)) {
      // The name, known at synth: the release task does not wait for the restore.
      expect(c.environment.SOLR_COLLECTION).toBe(NAMES.solrCollectionName);
      expect(c.environment.SOLR_URL).toEqual(ssm(json, '/staging/shared/solr/url'));
    }
  });

  test('StagingSearch.emptyCollection() with a configset', () => {
    const { template } = build({ search: StagingSearch.emptyCollection({ sourceCollection: 'products', configSet: 'products_v2' }) });
    template.hasResourceProperties('Custom::StagingSolrCollection', { Mode: 'empty', SourceCollection: 'products', ConfigSet: 'products_v2' });
  });

  test('StagingSearch.shared({ collection }): no collection of its own; containers are told the collection', () => {
    const { json, template } = build({ search: StagingSearch.shared({ collection: 'products' }) });
    template.resourceCountIs('Custom::StagingSolrCollection', 0);
    for (const c of containers(json)) expect(c.environment.SOLR_COLLECTION).toBe('products');
  });
});

describe('FeatureStaging mixing its own and shared stores', () => {
  test('own database, shared Redis, shared Solr', () => {
    const { json, template } = build({
      database: StagingDatabase.fromLatestSnapshot(),
      cache: StagingCache.shared(),
      search: StagingSearch.shared(),
    });
    template.resourceCountIs('Custom::StagingDatabase', 1);
    template.resourceCountIs('AWS::ElastiCache::ReplicationGroup', 0);
    template.resourceCountIs('Custom::StagingRedisPrefix', 0);
    template.resourceCountIs('Custom::StagingSolrCollection', 0);
    const dbId = onlyId(json, 'Custom::StagingDatabase');
    for (const c of containers(json)) {
      expect(c.environment.DATABASE_HOST).toEqual(getAtt(dbId, 'Endpoint'));
      expect(c.environment.REDIS_HOST).toEqual(ssm(json, '/staging/shared/cache/endpoint'));
      expect(c.environment.SOLR_URL).toEqual(ssm(json, '/staging/shared/solr/url'));
      expect(c.environment).not.toHaveProperty('SOLR_COLLECTION');
    }
    expect(keptResources(json)).toEqual([]);
  });

  test('shared database, own Valkey, own Solr collection', () => {
    const { json, template } = build({
      database: StagingDatabase.shared(),
      cache: StagingCache.dedicated(),
      search: StagingSearch.restoredCollection(RESTORED),
    });
    template.resourceCountIs('Custom::StagingDatabase', 0);
    const cacheId = onlyId(json, 'AWS::ElastiCache::ReplicationGroup');
    const collectionId = onlyId(json, 'Custom::StagingSolrCollection');
    for (const c of containers(json)) {
      expect(c.environment.DATABASE_HOST).toEqual(ssm(json, '/staging/shared/database/endpoint'));
      expect(c.environment.REDIS_HOST).toEqual(getAtt(cacheId, 'PrimaryEndPoint.Address'));
      expect(c.environment.SOLR_COLLECTION).toBe(NAMES.solrCollectionName);
    }
    for (const [id, s] of resourcesOfType(json, 'AWS::ECS::Service')) {
      expect({ id, dependsOn: s.DependsOn }).toEqual({ id, dependsOn: expect.arrayContaining([collectionId]) });
    }
  });

  test('a per-branch environment variable still wins over the branch database\'s', () => {
    const { json } = build({ environment: { DATABASE_HOST: 'db.branch.internal' } });
    for (const c of containers(json)) {
      expect(c.environmentNames.filter((n) => n === 'DATABASE_HOST')).toHaveLength(1);
      expect(c.environment.DATABASE_HOST).toBe('db.branch.internal');
    }
  });
});

describe('FeatureStaging with a release command and its own Solr collection', () => {
  let json: any;
  let template: Template;

  beforeAll(() => {
    ({ json, template } = build({ search: StagingSearch.restoredCollection(RESTORED), releaseCommand: RELEASE }));
  });

  describe('release task', () => {
    test('a Custom::StagingRelease runs the command with the <stackName>-release task definition and logs to /staging/<name>/release', () => {
      template.resourceCountIs('Custom::StagingRelease', 1);
      const release = only(json, 'Custom::StagingRelease').Properties;
      expect(release).toMatchObject({
        ServiceToken: ssm(json, '/staging/shared/providers/release-task/service-token'),
        ServiceTimeout: '3600',
        Command: RELEASE,
        ContainerName: 'app',
        StagingName: NAMES.name,
      });
      const taskDefinitionId = release.TaskDefinitionArn.Ref;
      expect(json.Resources[taskDefinitionId]).toMatchObject({
        Type: 'AWS::ECS::TaskDefinition',
        Properties: { Family: `${NAMES.stackName}-release` },
      });
      const logGroupId = release.LogGroupName.Ref;
      expect(json.Resources[logGroupId]).toMatchObject({
        Type: 'AWS::Logs::LogGroup',
        Properties: { LogGroupName: `/staging/${NAMES.name}/release` },
        DeletionPolicy: 'Delete',
      });
      const releaseContainer = container(json, 'release');
      expect(releaseContainer.taskDefinition).toBe(taskDefinitionId);
      expect(releaseContainer.raw.Command).toEqual(RELEASE);
    });

    test('every ECS service DependsOn the release', () => {
      const releaseId = onlyId(json, 'Custom::StagingRelease');
      const services = resourcesOfType(json, 'AWS::ECS::Service');
      expect(services.length).toBe(2);
      for (const [id, s] of services) {
        expect({ id, dependsOn: s.DependsOn }).toEqual({ id, dependsOn: expect.arrayContaining([releaseId]) });
      }
    });

    test('the release task gets the same database (and other data) environment and secrets as web', () => {
      const pick = (map: Record<string, unknown>) => Object.fromEntries(Object.entries(map).filter(([k]) => /^(DATABASE|REDIS|SOLR)_/.test(k)));
      const web = container(json, 'web');
      const release = container(json, 'release');
      expect(Object.keys(pick(web.environment))).toEqual(expect.arrayContaining(['DATABASE_HOST', 'DATABASE_PORT', 'DATABASE_NAME', 'DATABASE_USERNAME']));
      expect(pick(release.environment)).toEqual(pick(web.environment));
      expect(pick(release.secrets)).toEqual(pick(web.secrets));
      expect(release.secrets).toHaveProperty('DATABASE_PASSWORD');
    });
  });

  describe('parallel creation', () => {
    const stores = () => ({
      database: onlyId(json, 'Custom::StagingDatabase'),
      cache: onlyId(json, 'AWS::ElastiCache::ReplicationGroup'),
      collection: onlyId(json, 'Custom::StagingSolrCollection'),
      targetGroup: onlyId(json, 'AWS::ElasticLoadBalancingV2::TargetGroup'),
      listenerRule: onlyId(json, 'Custom::StagingListenerRule'),
      record: onlyId(json, 'AWS::Route53::RecordSet'),
    });

    test('the database, cache, Solr collection, target group, listener rule and DNS record do not wait for each other', () => {
      const closure = reachable(json);
      const ids = stores();
      const paths: string[] = [];
      for (const [a, aId] of Object.entries(ids)) {
        for (const [b, bId] of Object.entries(ids)) {
          if (a === b) continue;
          // The one unavoidable edge: a listener rule forwards to the target group's ARN, which
          // exists only once the target group does (a few seconds).
          if (a === 'listenerRule' && b === 'targetGroup') continue;
          if (closure.get(aId)!.has(bId)) paths.push(`${a} depends on ${b}`);
        }
      }
      expect(paths).toEqual([]);
    });

    test('the listener rule waits only for the target group it forwards to (and the quota check, which everything waits for)', () => {
      const { listenerRule, targetGroup } = stores();
      expect([...reachable(json).get(listenerRule)!].sort()).toEqual([onlyId(json, ResourceTypes.STAGING_QUOTA), targetGroup].sort());
    });

    test('the web service waits (transitively) for the database, the release, the listener rule, the cache and the collection', () => {
      const ids = stores();
      const web = reachable(json).get(webServiceId(json))!;
      for (const needed of [ids.database, onlyId(json, 'Custom::StagingRelease'), ids.listenerRule, ids.cache, ids.collection]) {
        expect({ needed, waits: web.has(needed) }).toEqual({ needed, waits: true });
      }
      // ... but not for the DNS record, which nothing needs.
      expect(web.has(ids.record)).toBe(false);
    });

    test('the release waits for the database it migrates', () => {
      expect(reachable(json).get(onlyId(json, 'Custom::StagingRelease'))!.has(stores().database)).toBe(true);
    });

    test('the release (migrations) does not wait for the Solr restore; every service waits for both', () => {
      const { collection } = stores();
      const release = onlyId(json, 'Custom::StagingRelease');
      const closure = reachable(json);
      expect(closure.get(release)!.has(collection)).toBe(false);
      expect(closure.get(collection)!.has(release)).toBe(false);
      for (const [id] of resourcesOfType(json, 'AWS::ECS::Service')) {
        expect({ id, collection: closure.get(id)!.has(collection), release: closure.get(id)!.has(release) }).toEqual({ id, collection: true, release: true });
      }
    });
  });

  test('the collection and the release are deleted with the stack', () => {
    for (const type of ['Custom::StagingSolrCollection', 'Custom::StagingRelease']) {
      const r = only(json, type);
      expect({ type, deletion: r.DeletionPolicy }).toEqual({ type, deletion: 'Delete' });
    }
    expect(keptResources(json)).toEqual([]);
  });
});

describe('FeatureStaging validation', () => {
  test('a restored collection without backupLocation fails, naming the option and the value', () => {
    expect(construct({ search: StagingSearch.restoredCollection({ sourceCollection: 'products' } as any) })).toThrow(
      /search backupLocation must .*\(got undefined\)/,
    );
    expect(construct({ search: StagingSearch.restoredCollection({ sourceCollection: 'products', backupLocation: '  ' }) })).toThrow(
      /search backupLocation must .*\(got " {2}"\)/,
    );
  });

  test('a source collection that is not a Solr collection name fails, naming the option and the value', () => {
    expect(construct({ search: StagingSearch.restoredCollection({ ...RESTORED, sourceCollection: 'bad name!' }) })).toThrow(
      /search sourceCollection must .*\(got "bad name!"\)/,
    );
    expect(construct({ search: StagingSearch.emptyCollection({ sourceCollection: '' }) })).toThrow(/search sourceCollection must .*\(got ""\)/);
  });

  test('minStorageGiB below 20 fails, naming the option and the value', () => {
    expect(construct({ database: StagingDatabase.fromLatestSnapshot({ minStorageGiB: 5 }) })).toThrow(/database minStorageGiB must .*\(got 5\)/);
    expect(construct({ database: StagingDatabase.fromLatestSnapshot({ minStorageGiB: 20.5 }) })).toThrow(/minStorageGiB .*\(got 20\.5\)/);
    expect(construct({ database: StagingDatabase.fromLatestSnapshot({ minStorageGiB: 20 }) })).not.toThrow();
  });

  test('an empty releaseCommand fails, naming the option and the value', () => {
    expect(construct({ releaseCommand: [] })).toThrow(/releaseCommand must .*\(got \[\]\)/);
  });

  test('every problem is reported at once', () => {
    expect(
      construct({
        search: StagingSearch.restoredCollection({ sourceCollection: 'bad name!', backupLocation: '' }),
        database: StagingDatabase.fromLatestSnapshot({ minStorageGiB: 5 }),
        releaseCommand: [],
      }),
    ).toThrow(/sourceCollection[\s\S]*backupLocation[\s\S]*minStorageGiB[\s\S]*releaseCommand/);
  });
});

describe('ready-made app: cdk synth -c branch=feature/new_cool_page (cdk.json example with the seed\'s choice: snapshot, dedicated)', () => {
  let app: App;
  let stacks: Stack[];
  let json: any;
  let findings: string[];

  beforeAll(() => {
    ({ app, stacks } = readyMade({ branch: BRANCH }, SNAPSHOT_STAGING));
    findings = formatFindings(validationFindings(app));
    json = Template.fromStack(stacks[0]).toJSON();
  });

  test('gives exactly one stack: the branch\'s FeatureStaging', () => {
    expect(stacks.map((s) => s.stackName)).toEqual([NAMES.stackName]);
    expect(app.synth().stacks.map((s) => s.stackName)).toEqual([NAMES.stackName]);
    expect(resourcesOfType(json, 'Custom::StagingDatabase')).toHaveLength(1);
  });

  test('is clean under cdk-nag AwsSolutions and CloudFormation Validate', () => {
    expect(findings).toEqual([]);
  });

  test('honours staging.feature of cdk.json: db.t4g.micro, a dedicated cache.t4g.micro, a restored products collection, the release command', () => {
    const template = Template.fromJSON(json);
    template.hasResourceProperties('Custom::StagingDatabase', {
      InstanceClass: 'db.t4g.micro',
      SourceInstanceIdentifier: ssm(json, '/staging/shared/database/instance-identifier'),
    });
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { CacheNodeType: 'cache.t4g.micro' });
    template.hasResourceProperties('Custom::StagingSolrCollection', { Mode: 'restore', SourceCollection: 'products', BackupLocation: '/var/solr/backups' });
    template.hasResourceProperties('Custom::StagingRelease', { Command: STAGING.feature.releaseCommand });
    expect(only(json, 'Custom::StagingDatabase').Properties).not.toHaveProperty('RefreshToken');
  });

  test('the stack is tagged staging:kind=feature', () => {
    expect(app.synth().getStackByName(NAMES.stackName).tags).toMatchObject({ [TagKeys.KIND]: StagingKinds.FEATURE, [TagKeys.NAME]: NAMES.name });
  });

  test('no deletion protection, nothing retained, no Lambda, no Fn::ImportValue', () => {
    expect(keptResources(json)).toEqual([]);
    expect(JSON.stringify(json)).not.toMatch(/DeletionProtection|Fn::ImportValue/);
    expect(resourcesOfType(json, 'AWS::Lambda::Function')).toEqual([]);
  });
});

describe('ready-made app: cdk synth -c branch=feature/new_cool_page (cdk.json example: the everyday choice)', () => {
  test('a database copied from the golden template, a key prefix on the shared cache, a restored collection: no RDS or ElastiCache of its own', () => {
    const json = Template.fromStack(readyMade({ branch: BRANCH }).stacks[0]).toJSON();
    expect(STAGING.feature).toMatchObject({ database: { mode: 'template' }, cache: { mode: 'prefix' }, solr: { mode: 'restore' } });
    for (const type of ['Custom::StagingTemplateDatabase', 'Custom::StagingRedisPrefix', 'Custom::StagingSolrCollection', 'Custom::StagingRelease']) {
      expect({ type, count: resourcesOfType(json, type).length }).toEqual({ type, count: 1 });
    }
    for (const type of ['Custom::StagingDatabase', 'AWS::ElastiCache::ReplicationGroup']) expect(resourcesOfType(json, type)).toEqual([]);
  });
});

describe('ready-made app context', () => {
  test('-c lite=true gives FeatureStagingLite: no database of its own', () => {
    const { stacks } = readyMade({ branch: BRANCH, lite: 'true' });
    expect(stacks).toHaveLength(1);
    const json = Template.fromStack(stacks[0]).toJSON();
    expect(resourcesOfType(json, 'Custom::StagingDatabase')).toEqual([]);
    expect(resourcesOfType(json, 'Custom::StagingListenerRule')).toHaveLength(1);
  });

  test('-c refreshData=true sets a RefreshToken; refreshData=false does not', () => {
    const refreshed = Template.fromStack(readyMade({ branch: BRANCH, refreshData: 'true' }, SNAPSHOT_STAGING).stacks[0]).toJSON();
    expect(only(refreshed, 'Custom::StagingDatabase').Properties.RefreshToken).toEqual(expect.stringMatching(/\S/));
    const kept = Template.fromStack(readyMade({ branch: BRANCH, refreshData: 'false' }, SNAPSHOT_STAGING).stacks[0]).toJSON();
    expect(only(kept, 'Custom::StagingDatabase').Properties).not.toHaveProperty('RefreshToken');
  });

  test('staging.feature.database.mode=shared gives no database of its own', () => {
    const json = Template.fromStack(readyMade({ branch: BRANCH }, withFeature({ database: { mode: 'shared' } })).stacks[0]).toJSON();
    expect(resourcesOfType(json, 'Custom::StagingDatabase')).toEqual([]);
    expect(container(json, 'web').environment.DATABASE_HOST).toEqual(ssm(json, '/staging/shared/database/endpoint'));
  });

  test('staging.feature.database settings pass through', () => {
    const json = Template.fromStack(
      readyMade({ branch: BRANCH }, withFeature({ database: { mode: 'snapshot', sourceInstanceIdentifier: 'production-db', instanceClass: 'db.t4g.small', minStorageGiB: 40 } }))
        .stacks[0],
    ).toJSON();
    expect(only(json, 'Custom::StagingDatabase').Properties).toMatchObject({
      SourceInstanceIdentifier: 'production-db',
      InstanceClass: 'db.t4g.small',
      AllocatedStorageGiB: 40,
    });
  });

  test('staging.feature.cache.mode=prefix gives a key prefix on the shared Redis and no cache', () => {
    const json = Template.fromStack(readyMade({ branch: BRANCH }, withFeature({ cache: { mode: 'prefix' } })).stacks[0]).toJSON();
    expect(resourcesOfType(json, 'AWS::ElastiCache::ReplicationGroup')).toEqual([]);
    expect(only(json, 'Custom::StagingRedisPrefix').Properties.KeyPrefix).toBe(NAMES.redisKeyPrefix);
  });

  test('staging.feature.cache.mode=shared gives neither', () => {
    const json = Template.fromStack(readyMade({ branch: BRANCH }, withFeature({ cache: { mode: 'shared' } })).stacks[0]).toJSON();
    expect(resourcesOfType(json, 'AWS::ElastiCache::ReplicationGroup')).toEqual([]);
    expect(resourcesOfType(json, 'Custom::StagingRedisPrefix')).toEqual([]);
  });

  test('staging.feature.solr.mode=empty gives an empty collection; mode=shared none', () => {
    const empty = Template.fromStack(readyMade({ branch: BRANCH }, withFeature({ solr: { mode: 'empty', sourceCollection: 'products' } })).stacks[0]).toJSON();
    expect(only(empty, 'Custom::StagingSolrCollection').Properties).toMatchObject({ Mode: 'empty', SourceCollection: 'products' });
    const shared = Template.fromStack(readyMade({ branch: BRANCH }, withFeature({ solr: { mode: 'shared' } })).stacks[0]).toJSON();
    expect(resourcesOfType(shared, 'Custom::StagingSolrCollection')).toEqual([]);
  });

  test.each([
    ['database', 'staging.feature.database.mode'],
    ['cache', 'staging.feature.cache.mode'],
    ['solr', 'staging.feature.solr.mode'],
  ])('an invalid %s mode fails naming %s and the value', (store, key) => {
    expect(() => readyMade({ branch: BRANCH }, withFeature({ [store]: { ...STAGING.feature[store], mode: 'bogus' } }))).toThrow(
      new RegExp(`${key.replace(/\./g, '\\.')}: .*\\(got "bogus"\\)`),
    );
  });

  test('solr mode restore without a backupLocation fails naming the key', () => {
    expect(() => readyMade({ branch: BRANCH }, withFeature({ solr: { mode: 'restore', sourceCollection: 'products' } }))).toThrow(
      /staging\.feature\.solr\.backupLocation: is required/,
    );
  });
});

describe('stack naming and the sweeper', () => {
  test('warns when a branch stack is named so that the sweeper would never find it', () => {
    // Without CloudFormation Validate, which would turn the warning into a synth error.
    const app = new App();
    const stack = new Stack(app, 'my-branch-stack', { env: { account: '123456789012', region: 'eu-west-1' } });
    new FeatureStagingLite(stack, 'Staging', {
      branch: 'feature/x',
      shared: SharedStagingRef.fromParameters(stack, 'Shared'),
      image: ecs.ContainerImage.fromRegistry('nginx:1.27'),
    });
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('will never be swept; name it "staging-feature-x-[0-9a-f]{8}"'));
  });
});
