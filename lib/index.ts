// The public API. Everything here is jsii-friendly: classes, interfaces and static members only.
export { BranchParameterNames, FeatureOutputs, ProviderNames, SharedParameterNames, StagingKinds, Streams, TagKeys } from './contract';
export * from './feature-staging';
export * from './feature-staging-lite';
export { StagingNames } from './naming';
export * from './shared-staging';
export { SharedStagingRef } from './shared-staging-ref';
export type { ISharedStaging, SharedCacheInfo, SharedDatabaseInfo, SharedSolrInfo, SharedStagingRefProps } from './shared-staging-ref';
export * from './staging-data';
export * from './staging-provider';
export { StagingServices } from './staging-services';
export type { ScheduledJobOptions, ServiceOptions, StagingEnvironmentOptions, StagingServicesProps, WebServiceOptions } from './staging-services';
export * from './staging-sweeper';
