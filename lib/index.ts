export * from './contract';
export * from './feature-staging-lite';
export * from './naming';
export * from './shared-staging';
export * from './shared-staging-ref';
export * from './staging-provider';
export * from './staging-services';
