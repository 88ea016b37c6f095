// The figures of the cost model (prices.ts describes them). Written by `npm run update-prices`
// (scripts/update-prices.ts) from the AWS Price List API; figures it cannot find (verified: false)
// are kept as they were, so an edit by hand must keep this shape.
import type { RegionPrices } from './prices';

/** The newest date of any figure in the table. */
export const PRICES_AS_OF = '2026-09-29';

export const PRICES: Record<string, RegionPrices> = {
  'us-east-1': {
    'fargate': {
      'X86_64': {
        'vcpuHour': { usd: 0.04048, source: "AWS Price List", asOf: '2026-09-29', verified: true },
        'gbHour': { usd: 0.004445, source: "AWS Price List", asOf: '2026-09-29', verified: true },
      },
      'ARM64': {
        'vcpuHour': { usd: 0.03238, source: "AWS Price List", asOf: '2026-01-01', verified: true },
        'gbHour': { usd: 0.00356, source: "AWS Price List", asOf: '2026-01-01', verified: true },
      },
    },
    'fargateSpotDiscount': { usd: 0.7, source: "AWS Fargate Spot page: \"up to 70% off\"; actual discount varies", asOf: '2026-03-01', verified: false },
    'rdsPostgresHour': {
      'db.t4g.micro': { usd: 0.016, source: "AWS Price List", asOf: '2026-01-01', verified: true },
      'db.t4g.small': { usd: 0.032, source: "twice db.t4g.micro (t4g sizes double in price)", asOf: '2026-01-01', verified: false },
      'db.t4g.medium': { usd: 0.065, source: "four times db.t4g.micro, rounded as AWS lists it", asOf: '2026-01-01', verified: false },
    },
    'rdsGp3GbMonth': { usd: 0.115, source: "AWS Price List", asOf: '2026-06-01', verified: true },
    'elastiCacheRedisHour': {
      'cache.t4g.micro': { usd: 0.016, source: "AWS Price List", asOf: '2026-01-01', verified: true },
      'cache.t4g.small': { usd: 0.032, source: "twice cache.t4g.micro", asOf: '2026-01-01', verified: false },
      'cache.t4g.medium': { usd: 0.065, source: "four times cache.t4g.micro, rounded", asOf: '2026-01-01', verified: false },
    },
    'elastiCacheValkeyFactor': { usd: 0.8, source: "AWS: Valkey nodes about 20% below Redis OSS", asOf: '2026-01-01', verified: false },
    'albHour': { usd: 0.0225, source: "AWS Price List", asOf: '2026-09-29', verified: true },
    'albLcuHour': { usd: 0.008, source: "AWS Price List", asOf: '2026-09-29', verified: true },
    'natGatewayHour': { usd: 0.045, source: "AWS Price List", asOf: '2026-09-29', verified: true },
    'natGatewayGb': { usd: 0.045, source: "AWS Price List", asOf: '2026-09-29', verified: true },
    'publicIpv4Hour': { usd: 0.005, source: "AWS Price List", asOf: '2026-07-01', verified: true },
    'secretMonth': { usd: 0.4, source: "AWS Price List", asOf: '2026-01-01', verified: true },
    'logsIngestionGb': { usd: 0.5, source: "AWS Price List", asOf: '2026-06-01', verified: true },
    'logsStorageGbMonth': { usd: 0.03, source: "AWS Price List", asOf: '2026-06-01', verified: true },
    'route53ZoneMonth': { usd: 0.5, source: "AWS Price List", asOf: '2026-01-01', verified: true },
    'lambdaRequest': { usd: 2e-7, source: "AWS Lambda pricing page: $0.20 per 1M requests, unverified", asOf: '2026-09-29', verified: false },
    'lambdaGbSecond': {
      'X86_64': { usd: 0.0000166667, source: "AWS Lambda pricing page: first tier, unverified", asOf: '2026-09-29', verified: false },
      'ARM64': { usd: 0.0000133334, source: "AWS Lambda pricing page: first tier, unverified", asOf: '2026-09-29', verified: false },
    },
  },
  'eu-west-1': {
    'fargate': {
      'X86_64': {
        'vcpuHour': { usd: 0.04048, source: "us-east-1 figure, assumed the same in eu-west-1, unverified", asOf: '2026-09-29', verified: false },
        'gbHour': { usd: 0.004445, source: "us-east-1 figure, assumed the same in eu-west-1, unverified", asOf: '2026-09-29', verified: false },
      },
      'ARM64': {
        'vcpuHour': { usd: 0.03238, source: "us-east-1 figure, unverified for eu-west-1", asOf: '2026-01-01', verified: false },
        'gbHour': { usd: 0.00356, source: "us-east-1 figure, unverified for eu-west-1", asOf: '2026-01-01', verified: false },
      },
    },
    'fargateSpotDiscount': { usd: 0.7, source: "AWS Fargate Spot page: \"up to 70% off\"; actual discount varies", asOf: '2026-03-01', verified: false },
    'rdsPostgresHour': {
      'db.t4g.micro': { usd: 0.017, source: "AWS Price List", asOf: '2026-01-01', verified: true },
      'db.t4g.small': { usd: 0.034, source: "twice db.t4g.micro", asOf: '2026-01-01', verified: false },
      'db.t4g.medium': { usd: 0.068, source: "four times db.t4g.micro", asOf: '2026-01-01', verified: false },
    },
    'rdsGp3GbMonth': { usd: 0.127, source: "AWS Price List", asOf: '2026-06-01', verified: true },
    'elastiCacheRedisHour': {
      'cache.t4g.micro': { usd: 0.016, source: "us-east-1 figure, unverified for eu-west-1", asOf: '2026-01-01', verified: false },
      'cache.t4g.small': { usd: 0.032, source: "twice cache.t4g.micro (us-east-1), unverified", asOf: '2026-01-01', verified: false },
      'cache.t4g.medium': { usd: 0.065, source: "four times cache.t4g.micro (us-east-1), unverified", asOf: '2026-01-01', verified: false },
    },
    'elastiCacheValkeyFactor': { usd: 0.8, source: "AWS: Valkey nodes about 20% below Redis OSS", asOf: '2026-01-01', verified: false },
    'albHour': { usd: 0.0252, source: "AWS Price List", asOf: '2026-09-29', verified: true },
    'albLcuHour': { usd: 0.008, source: "AWS Price List", asOf: '2026-09-29', verified: true },
    'natGatewayHour': { usd: 0.048, source: "AWS Price List", asOf: '2026-09-29', verified: true },
    'natGatewayGb': { usd: 0.048, source: "AWS Price List", asOf: '2026-09-29', verified: true },
    'publicIpv4Hour': { usd: 0.005, source: "AWS Price List", asOf: '2026-07-01', verified: true },
    'secretMonth': { usd: 0.4, source: "AWS Price List", asOf: '2026-01-01', verified: true },
    'logsIngestionGb': { usd: 0.57, source: "AWS CloudWatch pricing page, \"about 0.57\", unverified", asOf: '2026-06-01', verified: false },
    'logsStorageGbMonth': { usd: 0.03, source: "us-east-1 figure, unverified for eu-west-1", asOf: '2026-06-01', verified: false },
    'route53ZoneMonth': { usd: 0.5, source: "AWS Price List", asOf: '2026-01-01', verified: true },
    'lambdaRequest': { usd: 2e-7, source: "AWS Lambda pricing page: $0.20 per 1M requests, unverified", asOf: '2026-09-29', verified: false },
    'lambdaGbSecond': {
      'X86_64': { usd: 0.0000166667, source: "AWS Lambda pricing page: first tier, unverified", asOf: '2026-09-29', verified: false },
      'ARM64': { usd: 0.0000133334, source: "AWS Lambda pricing page: first tier, unverified", asOf: '2026-09-29', verified: false },
    },
  },
};
