/**
 * The dated on-demand price table that `staging cost` and the branch stacks' StagingCostPerDay
 * output price stacks with (USD). Every figure names its source and the date it was read;
 * `verified: false` marks figures taken from a neighbouring region or a rule of thumb, not read
 * from the Price List for that region. The figures live in price-table.ts, which
 * `npm run update-prices` (scripts/update-prices.ts) rewrites from the AWS Price List API.
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
  /** Lambda, per request. */
  readonly lambdaRequest: Price;
  /** Lambda, per GB-second of duration, by CPU architecture. */
  readonly lambdaGbSecond: Record<'X86_64' | 'ARM64', Price>;
}

export { PRICES, PRICES_AS_OF } from './price-table';
export const CURRENCY = 'USD';
