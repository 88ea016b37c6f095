/**
 * The dated on-demand price table the `staging cost` command prices stacks with (USD).
 * Every figure names its source and the date it was read; `verified: false` marks figures taken
 * from a neighbouring region or a rule of thumb, not read from the Price List for that region.
 * `scripts/update-prices.ts` refreshes the figures from the AWS Price List Bulk API (never run in
 * tests; it needs the internet).
 */

export interface Price {
  /** USD per unit. */
  readonly usd: number;
  /** Where the figure comes from. */
  readonly source: string;
  /** When it was read (YYYY-MM-DD). */
  readonly asOf: string;
  /** False when the figure is an estimate (another region's price, a typical discount). */
  readonly verified: boolean;
}

export interface RegionPrices {
  /** Fargate Linux, per vCPU-hour and per GB-hour, by CPU architecture. */
  readonly fargate: Record<'X86_64' | 'ARM64', { readonly vcpuHour: Price; readonly gbHour: Price }>;
  /** The typical Fargate Spot discount, a fraction (0.7 = 70% off). */
  readonly fargateSpotDiscount: Price;
  /** RDS for PostgreSQL, Single-AZ, per instance-hour, by instance class. */
  readonly rdsPostgresHour: Record<string, Price>;
  /** RDS gp3 storage, per GB-month. */
  readonly rdsGp3GbMonth: Price;
  /** ElastiCache for Redis OSS, per node-hour, by node type. */
  readonly elastiCacheRedisHour: Record<string, Price>;
  /** Valkey node price as a fraction of the Redis OSS price (0.8 = 20% lower). */
  readonly elastiCacheValkeyFactor: Price;
  readonly albHour: Price;
  readonly albLcuHour: Price;
  readonly natGatewayHour: Price;
  readonly natGatewayGb: Price;
  readonly publicIpv4Hour: Price;
  readonly secretMonth: Price;
  readonly logsIngestionGb: Price;
  readonly logsStorageGbMonth: Price;
  readonly route53ZoneMonth: Price;
}

const LIST = 'AWS Price List (RESEARCH.md §4)';
const p = (usd: number, asOf: string, verified = true, source = LIST): Price => ({ usd, source, asOf, verified });
const guess = (usd: number, asOf: string, source: string): Price => ({ usd, source, asOf, verified: false });

/** The newest date of any figure in the table. */
export const PRICES_AS_OF = '2026-09-29';
export const CURRENCY = 'USD';

export const PRICES: Record<string, RegionPrices> = {
  'us-east-1': {
    fargate: {
      X86_64: { vcpuHour: p(0.04048, '2026-09-29'), gbHour: p(0.004445, '2026-09-29') },
      ARM64: { vcpuHour: p(0.03238, '2026-01-01'), gbHour: p(0.00356, '2026-01-01') },
    },
    fargateSpotDiscount: guess(0.7, '2026-03-01', 'AWS Fargate Spot page: "up to 70% off"; actual discount varies'),
    rdsPostgresHour: {
      'db.t4g.micro': p(0.016, '2026-01-01'),
      'db.t4g.small': guess(0.032, '2026-01-01', 'twice db.t4g.micro (t4g sizes double in price)'),
      'db.t4g.medium': guess(0.065, '2026-01-01', 'four times db.t4g.micro, rounded as AWS lists it'),
    },
    rdsGp3GbMonth: p(0.115, '2026-06-01'),
    elastiCacheRedisHour: {
      'cache.t4g.micro': p(0.016, '2026-01-01'),
      'cache.t4g.small': guess(0.032, '2026-01-01', 'twice cache.t4g.micro'),
      'cache.t4g.medium': guess(0.065, '2026-01-01', 'four times cache.t4g.micro, rounded'),
    },
    elastiCacheValkeyFactor: guess(0.8, '2026-01-01', 'AWS: Valkey nodes about 20% below Redis OSS'),
    albHour: p(0.0225, '2026-09-29'),
    albLcuHour: p(0.008, '2026-09-29'),
    natGatewayHour: p(0.045, '2026-09-29'),
    natGatewayGb: p(0.045, '2026-09-29'),
    publicIpv4Hour: p(0.005, '2026-07-01'),
    secretMonth: p(0.4, '2026-01-01'),
    logsIngestionGb: p(0.5, '2026-06-01'),
    logsStorageGbMonth: p(0.03, '2026-06-01'),
    route53ZoneMonth: p(0.5, '2026-01-01'),
  },
  'eu-west-1': {
    fargate: {
      X86_64: {
        vcpuHour: guess(0.04048, '2026-09-29', 'us-east-1 figure; RESEARCH.md §4 lists eu-west-1 as the same, unverified'),
        gbHour: guess(0.004445, '2026-09-29', 'us-east-1 figure; RESEARCH.md §4 lists eu-west-1 as the same, unverified'),
      },
      ARM64: {
        vcpuHour: guess(0.03238, '2026-01-01', 'us-east-1 figure, unverified for eu-west-1'),
        gbHour: guess(0.00356, '2026-01-01', 'us-east-1 figure, unverified for eu-west-1'),
      },
    },
    fargateSpotDiscount: guess(0.7, '2026-03-01', 'AWS Fargate Spot page: "up to 70% off"; actual discount varies'),
    rdsPostgresHour: {
      'db.t4g.micro': p(0.017, '2026-01-01'),
      'db.t4g.small': guess(0.034, '2026-01-01', 'twice db.t4g.micro'),
      'db.t4g.medium': guess(0.068, '2026-01-01', 'four times db.t4g.micro'),
    },
    rdsGp3GbMonth: p(0.127, '2026-06-01'),
    elastiCacheRedisHour: {
      'cache.t4g.micro': guess(0.016, '2026-01-01', 'us-east-1 figure, unverified for eu-west-1'),
      'cache.t4g.small': guess(0.032, '2026-01-01', 'twice cache.t4g.micro (us-east-1), unverified'),
      'cache.t4g.medium': guess(0.065, '2026-01-01', 'four times cache.t4g.micro (us-east-1), unverified'),
    },
    elastiCacheValkeyFactor: guess(0.8, '2026-01-01', 'AWS: Valkey nodes about 20% below Redis OSS'),
    albHour: p(0.0252, '2026-09-29'),
    albLcuHour: p(0.008, '2026-09-29'),
    natGatewayHour: p(0.048, '2026-09-29'),
    natGatewayGb: p(0.048, '2026-09-29'),
    publicIpv4Hour: p(0.005, '2026-07-01'),
    secretMonth: p(0.4, '2026-01-01'),
    logsIngestionGb: guess(0.57, '2026-06-01', 'RESEARCH.md §4 "about 0.57", unverified'),
    logsStorageGbMonth: guess(0.03, '2026-06-01', 'us-east-1 figure, unverified for eu-west-1'),
    route53ZoneMonth: p(0.5, '2026-01-01'),
  },
};
