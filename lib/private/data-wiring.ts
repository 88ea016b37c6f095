import * as ecs from 'aws-cdk-lib/aws-ecs';
import { ISharedStaging } from '../shared-staging-ref';

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

/** The shared Postgres. */
export function sharedDatabaseWiring(shared: ISharedStaging): LazyWiring {
  return {
    environment: {
      DATABASE_HOST: () => shared.database.endpoint,
      DATABASE_PORT: () => shared.database.port,
      DATABASE_NAME: () => shared.database.databaseName,
    },
    secrets: {
      DATABASE_USERNAME: () => ecs.Secret.fromSecretsManager(shared.database.secret, 'username'),
      DATABASE_PASSWORD: () => ecs.Secret.fromSecretsManager(shared.database.secret, 'password'),
    },
  };
}

/** The shared Redis/Valkey. */
export function sharedCacheWiring(shared: ISharedStaging): LazyWiring {
  return {
    environment: { REDIS_HOST: () => shared.cache.endpoint, REDIS_PORT: () => shared.cache.port, REDIS_TLS: () => 'true' },
    secrets: { REDIS_PASSWORD: () => ecs.Secret.fromSecretsManager(shared.cache.authSecret, 'password') },
  };
}

/** The shared Solr. */
export function sharedSearchWiring(shared: ISharedStaging): LazyWiring {
  return {
    environment: { SOLR_URL: () => shared.solr.url },
    secrets: {
      SOLR_USERNAME: () => ecs.Secret.fromSecretsManager(shared.solr.secret, 'username'),
      SOLR_PASSWORD: () => ecs.Secret.fromSecretsManager(shared.solr.secret, 'password'),
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
