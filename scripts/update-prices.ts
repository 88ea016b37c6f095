/**
 * `npm run update-prices [-- --check]`: refreshes the cost model's price table
 * (lib/contract/cost/price-table.ts) from the AWS Price List API (GetProducts, in us-east-1), for
 * every region of the table and every figure the Price List has. Needs AWS credentials (any
 * identity allowed `pricing:GetProducts`) and the internet; it is never run in tests.
 *
 * Each figure found is written with the date of the run, its source (service, usage type, SKU) and
 * `verified: true`. A figure the Price List has no single product for keeps its old value and is
 * reported; so do the rules of thumb it does not list (the Fargate Spot discount, the Valkey factor).
 * `--check` writes nothing: it prints the differences and exits 1 when there are any.
 */
import { Filter, PricingClient, paginateGetProducts } from '@aws-sdk/client-pricing';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PRICES, Price, RegionPrices } from '../lib/contract/cost/prices';

export const TABLE_FILE = join(__dirname, '..', 'lib', 'contract', 'cost', 'price-table.ts');

/** One figure of a region's table and how to find it in the Price List. */
export interface PriceQuery {
  /** Path below the region, e.g. `fargate.X86_64.vcpuHour` or `rdsPostgresHour.db.t4g.micro`. */
  readonly path: string[];
  readonly serviceCode: string;
  /** TERM_MATCH filters besides the region. */
  readonly filters: Record<string, string>;
  /** The product's usagetype without its region prefix (`EU-`, `USE1-`, ...). */
  readonly usageType: string;
  /** Global services (Route 53) are not filtered by region. */
  readonly global?: boolean;
}

/** The queries of one region, from the table's own keys (instance classes, node types). */
export function queriesFor(prices: RegionPrices): PriceQuery[] {
  const q = (path: string[], serviceCode: string, usageType: string, filters: Record<string, string> = {}, global = false): PriceQuery => ({
    path,
    serviceCode,
    usageType,
    filters,
    global,
  });
  return [
    q(['fargate', 'X86_64', 'vcpuHour'], 'AmazonECS', 'Fargate-vCPU-Hours:perCPU'),
    q(['fargate', 'X86_64', 'gbHour'], 'AmazonECS', 'Fargate-GB-Hours'),
    q(['fargate', 'ARM64', 'vcpuHour'], 'AmazonECS', 'Fargate-ARM-vCPU-Hours:perCPU'),
    q(['fargate', 'ARM64', 'gbHour'], 'AmazonECS', 'Fargate-ARM-GB-Hours'),
    ...Object.keys(prices.rdsPostgresHour).map((cls) =>
      q(['rdsPostgresHour', cls], 'AmazonRDS', `InstanceUsage:${cls}`, { instanceType: cls, databaseEngine: 'PostgreSQL', deploymentOption: 'Single-AZ' })),
    q(['rdsGp3GbMonth'], 'AmazonRDS', 'RDS:GP3-Storage'),
    ...Object.keys(prices.elastiCacheRedisHour).map((type) =>
      q(['elastiCacheRedisHour', type], 'AmazonElastiCache', `NodeUsage:${type}`, { instanceType: type, cacheEngine: 'Redis' })),
    q(['albHour'], 'AWSELB', 'LoadBalancerUsage', { productFamily: 'Load Balancer-Application' }),
    q(['albLcuHour'], 'AWSELB', 'LCUUsage', { productFamily: 'Load Balancer-Application' }),
    q(['natGatewayHour'], 'AmazonEC2', 'NatGateway-Hours'),
    q(['natGatewayGb'], 'AmazonEC2', 'NatGateway-Bytes'),
    q(['publicIpv4Hour'], 'AmazonVPC', 'PublicIPv4:InUseAddress'),
    q(['secretMonth'], 'AWSSecretsManager', 'AWSSecretsManager-Secrets'),
    q(['logsIngestionGb'], 'AmazonCloudWatch', 'DataProcessing-Bytes'),
    q(['logsStorageGbMonth'], 'AmazonCloudWatch', 'TimedStorage-ByteHrs'),
    q(['route53ZoneMonth'], 'AmazonRoute53', 'HostedZone', {}, true),
    q(['lambdaRequest'], 'AWSLambda', 'Request'),
    q(['lambdaGbSecond', 'X86_64'], 'AWSLambda', 'Lambda-GB-Second'),
    q(['lambdaGbSecond', 'ARM64'], 'AWSLambda', 'Lambda-GB-Second-ARM'),
  ];
}

export interface ListedPrice {
  readonly usd: number;
  readonly unit: string;
  readonly usageType: string;
  readonly sku: string;
}

/**
 * The on-demand price of one GetProducts `PriceList` entry (a JSON string): the first tier
 * (`beginRange` 0) of its OnDemand term, in USD. Undefined when it has none.
 */
export function priceOfEntry(entry: string): ListedPrice | undefined {
  const product = JSON.parse(entry);
  const usageType = String(product.product?.attributes?.usagetype ?? '');
  for (const term of Object.values<any>(product.terms?.OnDemand ?? {})) {
    const dimensions = Object.values<any>(term.priceDimensions ?? {});
    const first = dimensions.find((d) => String(d.beginRange ?? '0') === '0') ?? dimensions[0];
    const usd = Number(first?.pricePerUnit?.USD);
    if (first && Number.isFinite(usd)) return { usd, unit: String(first.unit), usageType, sku: String(product.product?.sku ?? term.sku) };
  }
  return undefined;
}

/** Whether a listed usagetype is the query's, with or without a region prefix (`EU-`, `USE1-`). */
export function usageTypeMatches(listed: string, wanted: string): boolean {
  return listed === wanted || (listed.endsWith(`-${wanted}`) && /^[A-Z0-9]+$/.test(listed.slice(0, -wanted.length - 1)));
}

/** The single product of a query among GetProducts entries, or why there is none. */
export function pick(entries: string[], query: PriceQuery): ListedPrice | string {
  const found = entries.map(priceOfEntry).filter((p): p is ListedPrice => p !== undefined && usageTypeMatches(p.usageType, query.usageType));
  const distinct = [...new Map(found.map((p) => [p.usd, p])).values()];
  if (distinct.length === 1) return distinct[0];
  if (distinct.length === 0) return `no product with usagetype ${query.usageType}`;
  return `${distinct.length} different prices for usagetype ${query.usageType} (${distinct.map((p) => p.usd).join(', ')})`;
}

function get(prices: RegionPrices, path: string[]): Price {
  return path.reduce<any>((node, key) => node[key], prices);
}

function set(prices: any, path: string[], value: Price): void {
  const parent = path.slice(0, -1).reduce<any>((node, key) => node[key], prices);
  parent[path[path.length - 1]] = value;
}

/** The text of price-table.ts for a table. */
export function renderTable(prices: Record<string, RegionPrices>): string {
  const asOf = newestDate(prices);
  return [
    '// The figures of the cost model (prices.ts describes them). Written by `npm run update-prices`',
    '// (scripts/update-prices.ts) from the AWS Price List API; figures it cannot find (verified: false)',
    '// are kept as they were, so an edit by hand must keep this shape.',
    "import type { RegionPrices } from './prices';",
    '',
    '/** The newest date of any figure in the table. */',
    `export const PRICES_AS_OF = '${asOf}';`,
    '',
    `export const PRICES: Record<string, RegionPrices> = ${literal(prices, '')};`,
    '',
  ].join('\n');
}

/** JSON, one line per price (`{ usd, source, asOf, verified }`), nested objects indented. */
function literal(value: Record<string, any>, indent: string): string {
  if ('usd' in value) return `{ usd: ${value.usd}, source: ${JSON.stringify(value.source)}, asOf: '${value.asOf}', verified: ${value.verified} }`;
  const inner = `${indent}  `;
  return `{\n${Object.entries(value).map(([k, v]) => `${inner}'${k}': ${literal(v, inner)},`).join('\n')}\n${indent}}`;
}

function newestDate(prices: Record<string, RegionPrices>): string {
  const dates: string[] = [];
  const walk = (v: any): void => {
    if (v && typeof v === 'object' && 'asOf' in v) dates.push(v.asOf);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(prices);
  return dates.sort().at(-1) ?? '';
}

async function main(argv: string[]): Promise<number> {
  const check = argv.includes('--check');
  const client = new PricingClient({ region: 'us-east-1' }); // the Price List API's endpoint
  const today = new Date().toISOString().slice(0, 10);
  const next: Record<string, RegionPrices> = JSON.parse(JSON.stringify(PRICES));
  const changes: string[] = [];
  const kept: string[] = [];
  for (const [region, prices] of Object.entries(next)) {
    for (const query of queriesFor(prices)) {
      const filters: Filter[] = Object.entries({ ...query.filters, ...(query.global ? {} : { regionCode: region }) })
        .map(([Field, Value]) => ({ Type: 'TERM_MATCH', Field, Value }));
      const entries: string[] = [];
      for await (const page of paginateGetProducts({ client }, { ServiceCode: query.serviceCode, Filters: filters, FormatVersion: 'aws_v1' })) {
        entries.push(...((page.PriceList as string[] | undefined) ?? []));
      }
      const name = `${region} ${query.path.join('.')}`;
      const found = pick(entries, query);
      if (typeof found === 'string') {
        kept.push(`${name}: ${found}; kept ${get(prices, query.path).usd}`);
        continue;
      }
      const old = get(prices, query.path);
      if (old.usd !== found.usd || !old.verified) changes.push(`${name}: ${old.usd}${old.verified ? '' : ' (estimate)'} -> ${found.usd} per ${found.unit}`);
      set(prices, query.path, { usd: found.usd, source: `AWS Price List API: ${query.serviceCode} ${found.usageType} (SKU ${found.sku})`, asOf: today, verified: true });
    }
  }
  for (const line of kept) console.log(`not in the Price List: ${line}`);
  for (const line of changes) console.log(line);
  if (check) {
    console.log(changes.length === 0 ? 'the table is current' : `${changes.length} figure(s) differ; run npm run update-prices`);
    return changes.length === 0 ? 0 : 1;
  }
  writeFileSync(TABLE_FILE, renderTable(next));
  console.log(`wrote ${TABLE_FILE} (${changes.length} figure(s) changed)`);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`update-prices: ${e.message} (it needs AWS credentials allowed pricing:GetProducts, and the internet)`);
      process.exit(2);
    },
  );
}
