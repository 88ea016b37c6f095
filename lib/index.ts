// The public API. Everything here is jsii-friendly: classes, interfaces and static members only.
export { BranchParameterNames, FeatureOutputs, ProviderNames, SharedParameterNames, SleepStates, StagingKinds, Streams, TagKeys } from './contract/staging';
export type { SleepStateValue } from './contract/staging';
export * from './branch-staging-stack';
export * from './feature-staging';
export * from './feature-staging-lite';
export { SharedStagingNames, StagingNamePatterns, StagingNames } from './contract/naming';
export * from './shared-staging';
export * from './shared-staging-stack';
export type { SharedDatabaseTemplateOptions } from './providers/database-template';
export { SharedStagingRef } from './shared-staging-ref';
export type { ISharedStaging, SharedCacheInfo, SharedDatabaseInfo, SharedSolrInfo, SharedStagingRefProps } from './shared-staging-ref';
export * from './staging-data';
export * from './staging-provider';
export { StagingServices } from './staging-services';
export type { ScheduledJobOptions, ServiceOptions, StagingEnvironmentOptions, StagingServicesProps, WebServiceOptions } from './staging-services';
export * from './staging-access';
export * from './staging-sweeper';
export * from './staging-sleeper';
