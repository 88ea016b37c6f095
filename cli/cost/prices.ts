// The cost price table lives in lib/private/cost/, where the branch stacks' StagingCostPerDay output uses it too.
export * from '../../lib/private/cost/prices';
