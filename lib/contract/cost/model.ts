/**
 * The cost model of `staging cost` and of the branch stacks' StagingCostPerDay output: a pure function from a synthesized (or deployed) CloudFormation
 * template and a region's prices to itemized costs per day, awake and asleep. Everything is read
 * from the template's resources (task sizes and counts, capacity strategies, instance classes,
 * log groups, secrets); nothing is a constant per staging kind.
 */
import { CURRENCY, PRICES, PRICES_AS_OF, Price, RegionPrices } from './prices';
import { DatabaseResourceType } from '../providers/database-restore';
import { TemplateDatabaseResourceType } from '../providers/database-template';
import { SleepResourceType } from '../providers/waker';
import { StagingsPageEnvironment } from '../stagings-page';

export const HOURS_PER_DAY = 24;
export const DAYS_PER_MONTH = 30.42;

/**
 * The LCUs an Application Load Balancer of a quiet staging is billed per hour before real traffic
 * (an assumption: a few visitors' TLS connections and rule evaluations; health checks are free).
 * Each shard of the capacity (lib/contract/capacity.ts) costs its hours, this and 2 public IPv4.
 */
export const BASELINE_LCU_PER_LOAD_BALANCER = 0.1;

/** A load balancer's hour before traffic: the ALB hour, the LCU baseline and its public IPv4 addresses. */
function loadBalancerHour(alb: Price, lcu: Price, ip: Price, publicIps: number): number {
  return alb.usd + BASELINE_LCU_PER_LOAD_BALANCER * lcu.usd + publicIps * ip.usd;
}

/**
 * What one shard of the capacity (an internet-facing ALB in 2 AZs) costs a month in `region`
 * before traffic, or undefined without prices for the region.
 */
export function shardPerMonth(region: string): number | undefined {
  const p = PRICES[region];
  return p ? loadBalancerHour(p.albHour, p.albLcuHour, p.publicIpv4Hour, 2) * HOURS_PER_DAY * DAYS_PER_MONTH : undefined;
}

export type Category = 'compute' | 'jobs' | 'database' | 'cache' | 'secrets' | 'logs' | 'network' | 'load balancer' | 'stagings page';

export interface CostLine {
  readonly category: Category;
  /** The resource's logical id (or a summary such as `3 secrets`). */
  readonly item: string;
  /** How the figure was computed, e.g. `1 x 0.25 vCPU / 0.5 GB, FARGATE`. */
  readonly detail: string;
  readonly awakePerDay: number;
  readonly asleepPerDay: number;
  /** Set when a price was missing: the line is left out of the totals. */
  readonly noPrice?: string;
  /** True when a price behind the figure is an estimate (`verified: false` in the table). */
  readonly estimate?: boolean;
}

export interface CostAssumptions {
  /** GB written per day to each log group. @default 0.01 */
  readonly logGbPerGroupPerDay: number;
  /** Minutes each scheduled job run lasts. @default 5 */
  readonly jobMinutes: number;
  /** Storage of a branch database restored from a snapshot, when the template does not say. */
  readonly databaseStorageGiB: number;
  /** Where databaseStorageGiB comes from, for the notes. */
  readonly databaseStorageSource: string;
  /** Views of the stagings page a day (each one invocation of its function). @default 200 */
  readonly pageViewsPerDay: number;
  /** Seconds one page view runs (issue 20's goal: 1.5 s with 500 stagings). @default 1 */
  readonly pageViewSeconds: number;
}

export const DEFAULT_ASSUMPTIONS: CostAssumptions = {
  logGbPerGroupPerDay: 0.01,
  jobMinutes: 5,
  databaseStorageGiB: 20,
  databaseStorageSource: 'assumed (the gp3 minimum); pass --database-storage-gib or the shared stack template',
  pageViewsPerDay: 200,
  pageViewSeconds: 1,
};

export interface StackCost {
  readonly region: string;
  readonly currency: string;
  readonly pricesAsOf: string;
  readonly lines: CostLine[];
  readonly awakePerDay: number;
  readonly asleepPerDay: number;
  /** "no price for X in Y", once each. */
  readonly missing: string[];
  /**
   * Figures that are guesses and move the total, once each: a restored database's storage when
   * neither the template nor the caller knows it (it is the snapshot's, known at deploy).
   */
  readonly assumed: string[];
  /** Whether the stack's services stop while it sleeps (it has a Custom::StagingSleep). */
  readonly sleeps: boolean;
  /**
   * What the stack's x86_64 Fargate tasks and jobs would cost less per day, awake, on ARM64
   * (Graviton) at the same size: 0 when they all run on ARM64 already or the region has no price.
   */
  readonly arm64SavingPerDay: number;
}

type Resources = Record<string, { Type: string; Properties?: any }>;

/** Prices one template. */
export function priceTemplate(template: any, region: string, assumptions: CostAssumptions = DEFAULT_ASSUMPTIONS): StackCost {
  const resources: Resources = template?.Resources ?? {};
  const prices: RegionPrices | undefined = PRICES[region];
  const lines: CostLine[] = [];
  const missing = new Set<string>();
  const assumed = new Set<string>();
  const sleep = Object.values(resources).find((r) => r.Type === SleepResourceType)?.Properties;
  const sleeps = sleep !== undefined;
  const stopsDatabase = sleeps && Number(sleep.StopDatabaseAfterMinutes ?? 0) > 0;

  /** Looks a price up; records "no price for X in Y" when it is missing. */
  const price = (what: string, pick: (r: RegionPrices) => Price | undefined): Price | undefined => {
    const found = prices ? pick(prices) : undefined;
    if (!found) missing.add(`no price for ${what} in ${region}`);
    return found;
  };
  const add = (
    category: Category,
    item: string,
    detail: string,
    used: Array<Price | undefined>,
    what: string,
    perDay: (...p: Price[]) => number,
    asleepFactor: number,
  ) => {
    if (used.some((u) => u === undefined)) {
      lines.push({ category, item, detail, awakePerDay: 0, asleepPerDay: 0, noPrice: `no price for ${what} in ${region}` });
      return;
    }
    const awake = perDay(...(used as Price[]));
    if (!Number.isFinite(awake)) {
      // A count or size known only at deploy time (a parameter, an SSM value).
      const why = `no price for ${item} in ${region}: its size or count is set at deploy`;
      lines.push({ category, item, detail, awakePerDay: 0, asleepPerDay: 0, noPrice: why });
      missing.add(why);
      return;
    }
    lines.push({
      category,
      item,
      detail,
      awakePerDay: awake,
      asleepPerDay: awake * asleepFactor,
      estimate: (used as Price[]).some((u) => !u.verified) || undefined,
    });
  };

  const taskSize = (ref: any) => {
    const td = typeof ref === 'object' && ref?.Ref ? resources[ref.Ref]?.Properties : undefined;
    if (!td) return undefined;
    const arch: 'X86_64' | 'ARM64' = td.RuntimePlatform?.CpuArchitecture === 'ARM64' ? 'ARM64' : 'X86_64';
    return { vcpu: Number(td.Cpu) / 1024, gb: Number(td.Memory) / 1024, arch };
  };
  let arm64Saving = 0;
  /** Adds what `hours` of a task of `size` a day would cost less on ARM64, at the same capacity split. */
  const saveOnArm = (size: { vcpu: number; gb: number; arch: string }, hoursPerDay: number, onDemand: number, spot: number) => {
    const [x86, arm, discount] = [prices?.fargate.X86_64, prices?.fargate.ARM64, prices?.fargateSpotDiscount];
    if (size.arch !== 'X86_64' || !x86 || !arm || !discount) return;
    const taskHour = (p: { vcpuHour: Price; gbHour: Price }) => size.vcpu * p.vcpuHour.usd + size.gb * p.gbHour.usd;
    const saving = (taskHour(x86) - taskHour(arm)) * hoursPerDay * (onDemand + spot * (1 - discount.usd));
    if (Number.isFinite(saving)) arm64Saving += saving;
  };
  const fargatePrices = (arch: 'X86_64' | 'ARM64') => [
    price(`Fargate ${arch} vCPU-hours`, (r) => r.fargate[arch]?.vcpuHour),
    price(`Fargate ${arch} GB-hours`, (r) => r.fargate[arch]?.gbHour),
    price('the Fargate Spot discount', (r) => r.fargateSpotDiscount),
  ];

  for (const [id, r] of Object.entries(resources)) {
    const props = r.Properties ?? {};
    switch (r.Type) {
      case 'AWS::ECS::Service': {
        const size = taskSize(props.TaskDefinition);
        if (!size) break;
        const count = Number(props.DesiredCount ?? 1);
        const { onDemand, spot } = splitCapacity(count, props.CapacityProviderStrategy, props.LaunchType);
        const detail = `${count} x ${size.vcpu} vCPU / ${size.gb} GB ${size.arch}, ${describeSplit(onDemand, spot)}`;
        add('compute', id, detail, fargatePrices(size.arch), `Fargate ${size.arch}`, (cpu, mem, discount) => {
          const taskHour = size.vcpu * cpu.usd + size.gb * mem.usd;
          return taskHour * HOURS_PER_DAY * (onDemand + spot * (1 - discount.usd));
        }, sleeps ? 0 : 1);
        saveOnArm(size, HOURS_PER_DAY, onDemand, spot);
        break;
      }
      case 'AWS::Scheduler::Schedule': {
        const ecs = props.Target?.EcsParameters;
        const size = ecs ? taskSize(ecs.TaskDefinitionArn) : undefined;
        const runs = runsPerDay(props.ScheduleExpression);
        if (!size || runs === undefined) break;
        const { onDemand, spot } = splitCapacity(Number(ecs.TaskCount ?? 1), ecs.CapacityProviderStrategy, ecs.LaunchType);
        const hours = (runs * assumptions.jobMinutes) / 60;
        const detail = `${runs} run(s)/day x ${assumptions.jobMinutes} min (assumed) x ${size.vcpu} vCPU / ${size.gb} GB, ${describeSplit(onDemand, spot)}`;
        add('jobs', id, detail, fargatePrices(size.arch), `Fargate ${size.arch}`, (cpu, mem, discount) => {
          const taskHour = size.vcpu * cpu.usd + size.gb * mem.usd;
          return taskHour * hours * (onDemand + spot * (1 - discount.usd));
        }, sleeps ? 0 : 1);
        saveOnArm(size, hours, onDemand, spot);
        break;
      }
      case DatabaseResourceType: {
        const cls = literal(props.InstanceClass);
        add('database', id, `RDS PostgreSQL ${cls}, Single-AZ${stopsDatabase ? '; stopped while asleep' : ''}`,
          [price(`RDS PostgreSQL ${cls}`, (x) => x.rdsPostgresHour[cls])], `RDS PostgreSQL ${cls}`,
          (h) => h.usd * HOURS_PER_DAY, stopsDatabase ? 0 : 1);
        const gib = props.AllocatedStorageGiB !== undefined ? Number(props.AllocatedStorageGiB) : assumptions.databaseStorageGiB;
        const source = props.AllocatedStorageGiB !== undefined ? 'from the template' : assumptions.databaseStorageSource;
        if (props.AllocatedStorageGiB === undefined && source === DEFAULT_ASSUMPTIONS.databaseStorageSource) {
          assumed.add(`database storage ${gib} GiB assumed (a restore takes its snapshot's size, known at deploy)`);
        }
        add('database', `${id} storage`, `${gib} GiB gp3 (${source})`, [price('RDS gp3 storage', (x) => x.rdsGp3GbMonth)], 'RDS gp3 storage',
          (gb) => (gib * gb.usd) / DAYS_PER_MONTH, 1);
        break;
      }
      case TemplateDatabaseResourceType:
        lines.push({ category: 'database', item: id, detail: 'a database on the shared Postgres (priced with the shared stack)', awakePerDay: 0, asleepPerDay: 0 });
        break;
      case 'AWS::RDS::DBInstance': {
        const cls = literal(props.DBInstanceClass);
        const azs = props.MultiAZ === true || props.MultiAZ === 'true' ? 2 : 1;
        add('database', id, `RDS ${props.Engine ?? ''} ${cls}, ${azs === 2 ? 'Multi-AZ' : 'Single-AZ'}`.replace('  ', ' '),
          [price(`RDS PostgreSQL ${cls}`, (x) => x.rdsPostgresHour[cls])], `RDS PostgreSQL ${cls}`, (h) => h.usd * azs * HOURS_PER_DAY, 1);
        const gib = Number(props.AllocatedStorage ?? 20);
        add('database', `${id} storage`, `${gib} GiB ${props.StorageType ?? 'gp3'}`, [price('RDS gp3 storage', (x) => x.rdsGp3GbMonth)], 'RDS gp3 storage',
          (gb) => (gib * azs * gb.usd) / DAYS_PER_MONTH, 1);
        break;
      }
      case 'AWS::ElastiCache::ReplicationGroup':
      case 'AWS::ElastiCache::CacheCluster': {
        const type = literal(props.CacheNodeType);
        const nodes = r.Type === 'AWS::ElastiCache::CacheCluster'
          ? Number(props.NumCacheNodes ?? 1)
          : props.NumNodeGroups !== undefined
            ? Number(props.NumNodeGroups) * (Number(props.ReplicasPerNodeGroup ?? 0) + 1)
            : Number(props.NumCacheClusters ?? 1);
        const valkey = String(props.Engine ?? 'redis').toLowerCase() === 'valkey';
        add('cache', id, `${nodes} x ${type} (${valkey ? 'Valkey' : 'Redis OSS'})`,
          [price(`ElastiCache ${type}`, (x) => x.elastiCacheRedisHour[type]), price('the ElastiCache Valkey factor', (x) => x.elastiCacheValkeyFactor)],
          `ElastiCache ${type}`, (h, f) => h.usd * nodes * (valkey ? f.usd : 1) * HOURS_PER_DAY, 1);
        break;
      }
      case 'AWS::ElasticLoadBalancingV2::LoadBalancer': {
        if (props.Type && props.Type !== 'application') break;
        const publicIps = props.Scheme === 'internal' ? 0 : Array.isArray(props.Subnets) ? props.Subnets.length : 2;
        add('load balancer', id, `ALB hours + ${BASELINE_LCU_PER_LOAD_BALANCER} LCU + ${publicIps} public IPv4 (more LCUs by traffic)`,
          [price('ALB hours', (x) => x.albHour), price('ALB LCU-hours', (x) => x.albLcuHour), price('public IPv4 addresses', (x) => x.publicIpv4Hour)], 'ALB hours',
          (alb, lcu, ip) => loadBalancerHour(alb, lcu, ip, publicIps) * HOURS_PER_DAY, 1);
        break;
      }
      case 'AWS::EC2::NatGateway':
        add('network', id, 'NAT gateway hours (data processed by traffic, not counted)', [price('NAT gateway hours', (x) => x.natGatewayHour)],
          'NAT gateway hours', (h) => h.usd * HOURS_PER_DAY, 1);
        break;
      case 'AWS::Lambda::Function': {
        // The stagings page: nothing at rest, a request and its duration per view. (The sleeper's
        // and sweeper's runs are a few cents a month and are not counted.)
        if (props.Environment?.Variables?.[StagingsPageEnvironment.AUDIT_LOG_GROUP] === undefined) break;
        const gb = Number(props.MemorySize ?? 128) / 1024;
        const arch: 'X86_64' | 'ARM64' = props.Architectures?.[0] === 'arm64' ? 'ARM64' : 'X86_64';
        const { pageViewsPerDay: views, pageViewSeconds: seconds } = assumptions;
        add('stagings page', id, `${views} views/day x ${seconds} s x ${gb} GB ${arch} Lambda (assumed)`,
          [price('Lambda requests', (x) => x.lambdaRequest), price(`Lambda ${arch} GB-seconds`, (x) => x.lambdaGbSecond[arch])], `Lambda ${arch}`,
          (request, gbSecond) => views * (request.usd + gb * seconds * gbSecond.usd), 1);
        break;
      }
      case 'AWS::EC2::EIP':
        add('network', id, 'public IPv4 address', [price('public IPv4 addresses', (x) => x.publicIpv4Hour)], 'public IPv4 addresses',
          (h) => h.usd * HOURS_PER_DAY, 1);
        break;
      default:
        break;
    }
  }

  // The stack's own secrets, and the access lock's (its OIDC client secret and automation token,
  // which its listener rules read by dynamic reference): each is a secret-month. Other dynamic
  // references (a branch reading the shared database's secret) are secrets counted where they live.
  const owned = Object.values(resources).filter((r) => r.Type === 'AWS::SecretsManager::Secret').length;
  const referenced = lockSecrets(resources).length;
  const secrets = owned + referenced;
  if (secrets > 0) {
    const detail = `${secrets} x Secrets Manager secret-month${referenced > 0 ? ` (${referenced} read by dynamic reference)` : ''}`;
    add('secrets', `${secrets} secret(s)`, detail, [price('Secrets Manager secrets', (x) => x.secretMonth)],
      'Secrets Manager secrets', (m) => (secrets * m.usd) / DAYS_PER_MONTH, 1);
  }
  const logGroups = Object.values(resources).filter((r) => r.Type === 'AWS::Logs::LogGroup');
  if (logGroups.length > 0) {
    const gb = assumptions.logGbPerGroupPerDay;
    // Steady state: each group keeps `retention` days of logs (never-expiring groups: a year).
    const storedGb = logGroups.reduce((sum, g) => sum + gb * Number(g.Properties?.RetentionInDays ?? 365), 0);
    add('logs', `${logGroups.length} log group(s)`, `${gb} GB/day each (assumed) ingested, kept for their retention`,
      [price('CloudWatch Logs ingestion', (x) => x.logsIngestionGb), price('CloudWatch Logs storage', (x) => x.logsStorageGbMonth)],
      'CloudWatch Logs', (ingest, store) => logGroups.length * gb * ingest.usd + (storedGb * store.usd) / DAYS_PER_MONTH, sleeps ? 0 : 1);
  }

  if (!prices) missing.clear();
  if (!prices) assumed.clear();
  if (!prices) missing.add(`no price for region ${region} (the table has ${Object.keys(PRICES).join(', ')})`);
  const priced = lines.filter((l) => !l.noPrice);
  return {
    region,
    currency: CURRENCY,
    pricesAsOf: PRICES_AS_OF,
    lines,
    awakePerDay: sum(priced.map((l) => l.awakePerDay)),
    asleepPerDay: sum(priced.map((l) => l.asleepPerDay)),
    missing: [...missing],
    assumed: [...assumed],
    sleeps,
    arm64SavingPerDay: prices ? arm64Saving : 0,
  };
}

/**
 * The secrets the stack's listener rules read by `{{resolve:secretsmanager:<id>:...}}` (the access
 * lock's), by id: a name or an ARN, a deploy-time part of an ARN read as `*`.
 */
export function lockSecrets(resources: Record<string, any>): string[] {
  const rules = Object.values(resources).filter((r) => r.Type === 'AWS::ElasticLoadBalancingV2::ListenerRule');
  const text = JSON.stringify(rules, (_k, v) => (v && typeof v === 'object' && Array.isArray(v['Fn::Join']) ? v['Fn::Join'][1].map((p: unknown) => (typeof p === 'string' ? p : '*')).join(v['Fn::Join'][0]) : v));
  const ids = new Set<string>();
  for (const m of text.matchAll(/\{\{resolve:secretsmanager:(.+?):SecretString:/g)) ids.add(m[1]);
  return [...ids];
}

/** One line: `$1.57/day awake, $0.95/day asleep (eu-west-1, prices as of 2026-09-29)`, then what has no price. */
export function costSummary(cost: StackCost): string {
  const usd = (n: number) => `$${n.toFixed(2)}`;
  const figures = `${usd(cost.awakePerDay)}/day awake, ${usd(cost.asleepPerDay)}/day asleep (${cost.region}, prices as of ${cost.pricesAsOf})`;
  return [figures, ...cost.assumed, ...cost.missing].join('; ');
}

/** A template value as text: itself, or what a deploy-time value (Ref, Fn::*) refers to. */
function literal(value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  if (value && typeof value === 'object') {
    const ref = (value as { Ref?: unknown }).Ref;
    return `<set at deploy: ${ref !== undefined ? `Ref ${String(ref)}` : Object.keys(value).join(', ')}>`;
  }
  return String(value);
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/**
 * How ECS places `count` tasks on a capacity provider strategy: the base goes to the provider
 * that has it, the rest by weight. A launch type (or no strategy) is all on-demand.
 */
export function splitCapacity(count: number, strategy: any, launchType?: string): { onDemand: number; spot: number } {
  if (!Array.isArray(strategy) || strategy.length === 0 || launchType) return { onDemand: count, spot: 0 };
  let onDemand = 0;
  let spot = 0;
  let rest = count;
  for (const s of strategy) {
    const base = Math.min(rest, Number(s.Base ?? 0));
    if (s.CapacityProvider === 'FARGATE_SPOT') spot += base;
    else onDemand += base;
    rest -= base;
  }
  const weights = strategy.reduce((w: number, s: any) => w + Number(s.Weight ?? 0), 0);
  if (rest > 0 && weights > 0) {
    const spotWeight = strategy.filter((s: any) => s.CapacityProvider === 'FARGATE_SPOT').reduce((w: number, s: any) => w + Number(s.Weight ?? 0), 0);
    spot += (rest * spotWeight) / weights;
    onDemand += rest - (rest * spotWeight) / weights;
  }
  return { onDemand, spot };
}

function describeSplit(onDemand: number, spot: number): string {
  const f = (n: number) => String(Math.round(n * 100) / 100);
  if (spot === 0) return 'FARGATE';
  if (onDemand === 0) return 'FARGATE_SPOT';
  return `${f(onDemand)} FARGATE + ${f(spot)} FARGATE_SPOT`;
}

/** Runs per day of an EventBridge Scheduler expression (`rate(...)`, `cron(...)`); undefined for `at(...)` or unreadable ones. */
export function runsPerDay(expression: unknown): number | undefined {
  if (typeof expression !== 'string') return undefined;
  const rate = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
  if (rate) {
    const n = Number(rate[1]);
    const perDay = rate[2].startsWith('minute') ? 1440 : rate[2].startsWith('hour') ? 24 : 1;
    return perDay / n;
  }
  const cron = /^cron\((\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\)$/.exec(expression.trim());
  if (!cron) return undefined;
  const values = (field: string, range: number): number | undefined => {
    if (field === '*') return range;
    const step = /^(?:\*|\d+)\/(\d+)$/.exec(field);
    if (step) return Math.ceil(range / Number(step[1]));
    if (/^\d+(,\d+)*$/.test(field)) return field.split(',').length;
    const span = /^(\d+)-(\d+)$/.exec(field);
    if (span) return Number(span[2]) - Number(span[1]) + 1;
    return undefined;
  };
  const minutes = values(cron[1], 60);
  const hours = values(cron[2], 24);
  if (minutes === undefined || hours === undefined) return undefined;
  // Day-of-month/week fields narrow the days; count a daily average only for "every day".
  const everyDay = (cron[3] === '*' || cron[3] === '?') && (cron[5] === '*' || cron[5] === '?') && cron[4] === '*';
  return everyDay ? minutes * hours : (minutes * hours) / 7;
}

export interface SharedShare {
  readonly stack: StackCost;
  readonly branches: number;
  /** What counting `branches` rests on (live count, --branches, or the default). */
  readonly branchesSource: string;
  readonly perBranchPerDay: number;
}

/** The shared stack's fixed costs and their share per branch. */
export function shareOf(shared: StackCost, branches: number, branchesSource: string): SharedShare {
  const n = Math.max(1, branches);
  return { stack: shared, branches: n, branchesSource, perBranchPerDay: shared.awakePerDay / n };
}
