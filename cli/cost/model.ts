// The cost model lives in lib/private/cost/, where the branch stacks' StagingCostPerDay output uses it too.
export * from '../../lib/private/cost/model';
