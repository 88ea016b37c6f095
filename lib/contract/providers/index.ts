/**
 * The contracts between the constructs that declare custom resources and the provider functions
 * that serve them: one file per provider, named like `lib/providers/<name>.ts` and
 * `lambda/<name>/`. The construct and the handler import the same file, so renaming a key on one
 * side only is a compile error. No file here imports aws-cdk-lib or constructs (eslint checks it),
 * so the handler bundles stay small.
 *
 * One convention for every provider file:
 * - `<Resource>ResourceType`: the custom-resource type, a string constant. API, like construct
 *   ids: renaming one replaces users' resources. `ResourceTypes` below collects them.
 * - `<Resource>ResourceProperties`: an interface of the ResourceProperties by their wire names,
 *   typed as CloudFormation delivers them (scalars arrive as strings). The construct writes its
 *   properties `satisfies` it; the handler reads them as `Wire<...>` (wire.ts).
 * - `<Resource>Attributes`: the names of what the handler returns in `Data` and the construct
 *   reads with `getAtt`.
 * - `<Provider>Environment`: the names of the provider function's environment variables.
 * - `parseProperties(wire, ...)`: the one parse and validation of the properties, pure (no AWS
 *   SDK), returning a typed request or throwing one error that lists every problem. Handler-only
 *   logic stays in `lambda/<name>/`.
 * Names (types, attributes, environments) are `as const` objects, never classes or bare strings:
 * these contracts are internal (not exported from the package, so jsii's rules do not apply), and
 * an `as const` object is both the value and, with `typeof`, the type of its names.
 *
 * This index re-exports the names the constructs and tests use; import a provider's parse
 * functions from its own file.
 */
import { DatabaseResourceType } from './database-restore';
import { TemplateDatabaseResourceType } from './database-template';
import { ListenerRuleResourceType } from './listener-priority';
import { RedisPrefixResourceType } from './redis-prefix';
import { ReleaseResourceType } from './release-task';
import { SolrCollectionResourceType } from './solr-collection';
import { CapacityGuardResourceType, StagingQuotaResourceType } from './staging-quota';
import { SleepResourceType } from './waker';

/** Every custom-resource type of the library, by provider. */
export const ResourceTypes = {
  DATABASE: DatabaseResourceType,
  LISTENER_RULE: ListenerRuleResourceType,
  RELEASE: ReleaseResourceType,
  REDIS_PREFIX: RedisPrefixResourceType,
  SOLR_COLLECTION: SolrCollectionResourceType,
  /** A branch database copied from the golden template (database-template). */
  TEMPLATE_DATABASE: TemplateDatabaseResourceType,
  /** The cap check of a branch stack (staging-quota): every other resource of the stack depends on it. */
  STAGING_QUOTA: StagingQuotaResourceType,
  /** The shared stack's guard against removing a shard that holds branches (staging-quota). */
  CAPACITY_GUARD: CapacityGuardResourceType,
  /** A branch's entry for the sleeper and the waker (waker). */
  SLEEP: SleepResourceType,
} as const;

export type { Wire, WireTag } from './wire';
export { DatabaseAttributes, type DatabaseResourceProperties } from './database-restore';
export { DatabaseTemplateEnvironment, TemplateDatabaseAttributes, type TemplateDatabaseResourceProperties } from './database-template';
export { ListenerPriorityEnvironment, ListenerRuleAttributes, type ListenerRuleResourceProperties } from './listener-priority';
export { RedisPrefixAttributes, type RedisPrefixResourceProperties } from './redis-prefix';
export type { ReleaseResourceProperties } from './release-task';
export { SolrCollectionAttributes, type SolrCollectionResourceProperties } from './solr-collection';
export { StagingQuotaEnvironment, type CapacityGuardResourceProperties, type StagingQuotaResourceProperties } from './staging-quota';
export { SleepAttributes, WakerEnvironment, type SleepResourceProperties } from './waker';
