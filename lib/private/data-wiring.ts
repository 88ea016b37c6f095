import { Fn } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type { BranchCacheInfo, BranchDatabaseInfo, BranchSearchInfo } from '../staging-data';

/**
 * Environment variables and secrets that point containers at data stores, made only when used:
 * a value is read (and its SSM parameter added to the stack) only if no override replaces it.
 */
export interface LazyWiring {
  readonly environment: Record<string, () => string>;
  readonly secrets: Record<string, () => ecs.Secret>;
}

/** Plain environment variables and secrets. */
export interface Wiring {
  readonly environment: Record<string, string>;
  readonly secrets: Record<string, ecs.Secret>;
}

/**
 * A Postgres: `DATABASE_HOST`, `DATABASE_PORT`, `DATABASE_NAME`, `DATABASE_USERNAME` (a plain
 * variable: the user name when it is known, else read from the secret by CloudFormation at deploy
 * time) and the ECS secret `DATABASE_PASSWORD`. Each value is read only when used.
 */
export function databaseWiring(db: Pick<BranchDatabaseInfo, 'endpoint' | 'port' | 'databaseName' | 'secret' | 'username'>): LazyWiring {
  const username = db.username;
  return {
    environment: {
      DATABASE_HOST: () => db.endpoint,
      DATABASE_PORT: () => db.port,
      DATABASE_NAME: () => db.databaseName,
      // A plain variable in every mode: the known user name, or a dynamic reference CloudFormation
      // resolves from the secret at deploy time; the password stays an ECS secret.
      DATABASE_USERNAME: () => username ?? Fn.join('', ['{{resolve:secretsmanager:', db.secret.secretArn, ':SecretString:username::}}']),
    },
    secrets: {
      DATABASE_PASSWORD: () => ecs.Secret.fromSecretsManager(db.secret, 'password'),
    },
  };
}

/**
 * A Redis/Valkey with TLS: `REDIS_HOST`, `REDIS_PORT`, `REDIS_TLS`, `REDIS_KEY_PREFIX` when the
 * branch has one, and `REDIS_PASSWORD` from its AUTH secret.
 */
export function cacheWiring(cache: Pick<BranchCacheInfo, 'endpoint' | 'port' | 'authSecret' | 'keyPrefix'>): LazyWiring {
  const keyPrefix = cache.keyPrefix;
  return {
    environment: {
      REDIS_HOST: () => cache.endpoint,
      REDIS_PORT: () => cache.port,
      REDIS_TLS: () => 'true',
      ...(keyPrefix !== undefined ? { REDIS_KEY_PREFIX: () => keyPrefix } : {}),
    },
    secrets: { REDIS_PASSWORD: () => ecs.Secret.fromSecretsManager(cache.authSecret, 'password') },
  };
}

/** A Solr server: `SOLR_URL`, `SOLR_COLLECTION` when one is given, and `SOLR_USERNAME` and `SOLR_PASSWORD` from its secret. */
export function searchWiring(solr: Pick<BranchSearchInfo, 'url' | 'secret' | 'collection'>): LazyWiring {
  const collection = solr.collection;
  return {
    environment: { SOLR_URL: () => solr.url, ...(collection !== undefined ? { SOLR_COLLECTION: () => collection } : {}) },
    secrets: {
      SOLR_USERNAME: () => ecs.Secret.fromSecretsManager(solr.secret, 'username'),
      SOLR_PASSWORD: () => ecs.Secret.fromSecretsManager(solr.secret, 'password'),
    },
  };
}

/** Several wirings in one; later ones win, a variable over a secret of the same name and back. */
export function combineWiring(...wirings: LazyWiring[]): LazyWiring {
  return wirings.reduce<LazyWiring>((lower, upper) => layer(lower, upper), { environment: {}, secrets: {} });
}

/** Plain values as a wiring. */
export function eager(environment: Record<string, string> = {}, secrets: Record<string, ecs.Secret> = {}): LazyWiring {
  return {
    environment: Object.fromEntries(Object.entries(environment).map(([k, v]) => [k, () => v])),
    secrets: Object.fromEntries(Object.entries(secrets).map(([k, v]) => [k, () => v])),
  };
}

/** Makes the values that survived the overrides. */
export function resolveWiring(wiring: LazyWiring): Wiring {
  return {
    environment: Object.fromEntries(Object.entries(wiring.environment).map(([k, make]) => [k, make()])),
    secrets: Object.fromEntries(Object.entries(wiring.secrets).map(([k, make]) => [k, make()])),
  };
}

/**
 * `upper` over `lower`. A name is either a variable or a secret, never both (ECS refuses a
 * container that has both), so a name set in `upper` replaces that name in `lower` in either map.
 */
export function layer<E, S>(
  lower: { environment: Record<string, E>; secrets: Record<string, S> },
  upper: { environment: Record<string, E>; secrets: Record<string, S> },
): { environment: Record<string, E>; secrets: Record<string, S> } {
  const without = <T>(map: Record<string, T>, names: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(map).filter(([k]) => !(k in names)));
  return {
    environment: { ...without(lower.environment, upper.secrets), ...upper.environment },
    secrets: { ...without(lower.secrets, upper.environment), ...upper.secrets },
  };
}
