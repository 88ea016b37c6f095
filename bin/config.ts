import { fargateSizeProblem } from '../lib/staging-services';

/**
 * Reads the `staging` block of cdk.json context into typed configuration for the ready-made app.
 * Every problem is collected, then reported at once; each message names the context key, shows
 * the value and says what to write instead.
 */

export interface ServiceConfig {
  readonly name: string;
  readonly command?: string[];
  readonly cpu?: number;
  readonly memoryMiB?: number;
  readonly desiredCount?: number;
  readonly environment?: Record<string, string>;
}

export interface JobConfig extends ServiceConfig {
  /** An EventBridge Scheduler expression: `cron(...)`, `rate(...)`. */
  readonly schedule: string;
}

export interface StagingConfig {
  readonly prefix: string;
  readonly parameterPrefix?: string;
  readonly domainName: string;
  readonly hostedZoneId: string;
  readonly hostedZoneName: string;
  readonly account?: string;
  readonly region?: string;
  readonly network: {
    readonly vpcId?: string;
    readonly cidr?: string;
    readonly maxAzs?: number;
    readonly natGateways?: number;
  };
  readonly cluster: {
    readonly containerInsights?: boolean;
    readonly ec2Capacity?: { readonly instanceType?: string; readonly minCapacity?: number; readonly maxCapacity?: number };
  };
  readonly database: {
    readonly instanceClass?: string;
    readonly engineVersion?: string;
    readonly allocatedStorageGiB?: number;
    readonly databaseName?: string;
    readonly multiAz?: boolean;
    readonly backupRetentionDays?: number;
  };
  readonly cache: { readonly nodeType?: string; readonly engineVersion?: string };
  readonly solr: { readonly url: string; readonly credentialsSecretArn?: string };
  /** The sweeper of idle feature stagings. */
  readonly sweeper: {
    readonly enabled?: boolean;
    readonly idleDays?: number;
    readonly warningHours?: number;
    readonly scheduleMinutes?: number;
    readonly dryRun?: boolean;
    readonly retainResourcesOnDeleteFailed?: boolean;
  };
  /** How branch stagings differ from shared staging. */
  readonly feature: {
    /** Per-service sizes for branches, by service name (`web`, a worker's or a job's name). */
    readonly services: Record<string, { readonly cpu?: number; readonly memoryMiB?: number; readonly desiredCount?: number }>;
    /** Extra environment for every branch. */
    readonly environment?: Record<string, string>;
    /** Run every branch task on Fargate Spot (cheapest; tasks wait when Spot has no room). */
    readonly spotOnly?: boolean;
    /** FeatureStaging's Postgres: `snapshot` (own, restored) or `shared`. */
    readonly database: {
      readonly mode: 'snapshot' | 'shared';
      readonly sourceInstanceIdentifier?: string;
      readonly instanceClass?: string;
      readonly minStorageGiB?: number;
    };
    /** FeatureStaging's Redis: `dedicated`, `prefix` (key prefix on the shared one) or `shared`. */
    readonly cache: { readonly mode: 'dedicated' | 'prefix' | 'shared'; readonly nodeType?: string };
    /** FeatureStaging's Solr: `restore`, `empty` or `shared`. */
    readonly solr: {
      readonly mode: 'restore' | 'empty' | 'shared';
      readonly sourceCollection?: string;
      readonly backupLocation?: string;
      readonly backupRepository?: string;
      readonly configSet?: string;
    };
    /** Run before the services roll, e.g. ["bin/rails", "db:migrate"]. */
    readonly releaseCommand?: string[];
    /** Minutes without activity before a branch sleeps (default 60; 0 = never). */
    readonly sleepAfterMinutes?: number;
  };
  readonly app: {
    readonly image: string;
    readonly containerPort?: number;
    readonly healthCheckPath?: string;
    readonly environment?: Record<string, string>;
    readonly web: ServiceConfig;
    readonly workers: ServiceConfig[];
    readonly scheduledJobs: JobConfig[];
  };
}

type Json = any;

/** Collects problems while reading. */
class Reader {
  public readonly problems: string[] = [];

  public fail(key: string, value: unknown, fix: string): undefined {
    this.problems.push(`${key}: ${fix} (got ${JSON.stringify(value)})`);
    return undefined;
  }

  public object(key: string, value: Json, required = false): Json | undefined {
    if (value === undefined || value === null) {
      return required ? this.fail(key, value, 'is required; add it to the "staging" block of cdk.json or pass -c') : undefined;
    }
    if (typeof value !== 'object' || Array.isArray(value)) return this.fail(key, value, 'must be an object');
    return value;
  }

  public string(key: string, value: Json, opts: { required?: boolean; pattern?: RegExp; example?: string } = {}): string | undefined {
    if (value === undefined || value === null || value === '') {
      return opts.required ? this.fail(key, value, `is required${opts.example ? `, e.g. ${JSON.stringify(opts.example)}` : ''}`) : undefined;
    }
    if (typeof value !== 'string') return this.fail(key, value, `must be a string${opts.example ? `, e.g. ${JSON.stringify(opts.example)}` : ''}`);
    if (opts.pattern && !opts.pattern.test(value)) {
      return this.fail(key, value, `is not valid${opts.example ? `; write it like ${JSON.stringify(opts.example)}` : ''}`);
    }
    return value;
  }

  public number(key: string, value: Json, opts: { min?: number; max?: number; integer?: boolean } = {}): number | undefined {
    if (value === undefined || value === null) return undefined;
    const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    const bounds = `${opts.min !== undefined ? ` >= ${opts.min}` : ''}${opts.max !== undefined ? ` and <= ${opts.max}` : ''}`;
    if (typeof n !== 'number' || !Number.isFinite(n) || (opts.integer && !Number.isInteger(n))) {
      return this.fail(key, value, `must be a ${opts.integer ? 'whole ' : ''}number${bounds}`);
    }
    if ((opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
      return this.fail(key, value, `must be${bounds}`);
    }
    return n;
  }

  public boolean(key: string, value: Json): boolean | undefined {
    if (value === undefined || value === null) return undefined;
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    return this.fail(key, value, 'must be true or false');
  }

  public oneOf<T extends string>(key: string, value: Json, allowed: readonly T[]): T | undefined {
    if (value === undefined || value === null) return undefined;
    if (!allowed.includes(value)) return this.fail(key, value, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
    return value as T;
  }

  public stringList(key: string, value: Json): string[] | undefined {
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
      return this.fail(key, value, 'must be a list of strings, e.g. ["bin/rails", "db:migrate"]');
    }
    return value;
  }

  public stringMap(key: string, value: Json): Record<string, string> | undefined {
    const obj = this.object(key, value);
    if (!obj) return undefined;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(obj)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) {
        this.fail(`${key}.${k}`, k, 'is not a valid environment variable name; use letters, digits and _');
      } else if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
        this.fail(`${key}.${k}`, v, 'must be a string');
      } else {
        out[k] = String(v);
      }
    }
    return out;
  }
}

// At most 189 characters: a host is a 63-character staging name, a dot and the domain, within DNS's 253.
const DOMAIN = /^(?=.{1,189}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

function service(r: Reader, key: string, value: Json, defaultName?: string): ServiceConfig | undefined {
  const obj = r.object(key, value, true);
  if (!obj) return undefined;
  const name = defaultName ?? r.string(`${key}.name`, obj.name, { required: true, pattern: /^[a-z][a-z0-9-]{0,30}$/, example: 'worker' });
  return {
    name: name ?? 'invalid',
    command: r.stringList(`${key}.command`, obj.command),
    cpu: r.number(`${key}.cpu`, obj.cpu, { integer: true, min: 256, max: 16384 }),
    memoryMiB: r.number(`${key}.memoryMiB`, obj.memoryMiB, { integer: true, min: 512, max: 122880 }),
    desiredCount: r.number(`${key}.desiredCount`, obj.desiredCount, { integer: true, min: 0, max: 100 }),
    environment: r.stringMap(`${key}.environment`, obj.environment),
  };
}

/** Reads and checks the `staging` context block. Throws one error listing every problem. */
export function readStagingConfig(raw: unknown): StagingConfig {
  const r = new Reader();
  const s = r.object('staging', raw, true) ?? {};
  const network = r.object('staging.network', s.network) ?? {};
  const cluster = r.object('staging.cluster', s.cluster) ?? {};
  const ec2Capacity = r.object('staging.cluster.ec2Capacity', cluster.ec2Capacity);
  const database = r.object('staging.database', s.database) ?? {};
  const cache = r.object('staging.cache', s.cache) ?? {};
  const solr = r.object('staging.solr', s.solr, true) ?? {};
  const app = r.object('staging.app', s.app, true) ?? {};
  const feature = r.object('staging.feature', s.feature) ?? {};
  const sweeper = r.object('staging.sweeper', s.sweeper) ?? {};
  const featureServices = r.object('staging.feature.services', feature.services) ?? {};
  const featureDb = r.object('staging.feature.database', feature.database) ?? {};
  const featureCache = r.object('staging.feature.cache', feature.cache) ?? {};
  const featureSolr = r.object('staging.feature.solr', feature.solr) ?? {};
  const workers = s.app?.workers ?? [];
  const jobs = s.app?.scheduledJobs ?? [];
  if (!Array.isArray(workers)) r.fail('staging.app.workers', workers, 'must be a list of services');
  if (!Array.isArray(jobs)) r.fail('staging.app.scheduledJobs', jobs, 'must be a list of jobs');

  const config: StagingConfig = {
    prefix: r.string('staging.prefix', s.prefix ?? 'staging', { pattern: /^[a-z][a-z0-9]{0,19}$/, example: 'staging' }) ?? 'staging',
    parameterPrefix: r.string('staging.parameterPrefix', s.parameterPrefix, { pattern: /^\/[A-Za-z0-9_.\/-]*[A-Za-z0-9_.-]$/, example: '/staging' }),
    domainName: r.string('staging.domainName', s.domainName, { required: true, pattern: DOMAIN, example: 'staging.example.com' }) ?? '',
    hostedZoneId: r.string('staging.hostedZoneId', s.hostedZoneId, { required: true, pattern: /^Z[A-Z0-9]{1,31}$/, example: 'Z0123456789ABCDEFGHIJ' }) ?? '',
    hostedZoneName: r.string('staging.hostedZoneName', s.hostedZoneName, { required: true, pattern: DOMAIN, example: 'example.com' }) ?? '',
    account: r.string('staging.account', s.account, { pattern: /^\d{12}$/, example: '123456789012' }),
    region: r.string('staging.region', s.region, { pattern: /^[a-z]{2}(-[a-z]+)+-\d$/, example: 'eu-west-1' }),
    network: {
      vpcId: r.string('staging.network.vpcId', network.vpcId, { pattern: /^vpc-[0-9a-f]{8,17}$/, example: 'vpc-0123456789abcdef0' }),
      cidr: r.string('staging.network.cidr', network.cidr, { pattern: /^\d{1,3}(\.\d{1,3}){3}\/(1[6-9]|2[0-4])$/, example: '10.64.0.0/16' }),
      maxAzs: r.number('staging.network.maxAzs', network.maxAzs, { integer: true, min: 2, max: 6 }),
      natGateways: r.number('staging.network.natGateways', network.natGateways, { integer: true, min: 1, max: 6 }),
    },
    cluster: {
      containerInsights: r.boolean('staging.cluster.containerInsights', cluster.containerInsights),
      ec2Capacity: ec2Capacity && {
        instanceType: r.string('staging.cluster.ec2Capacity.instanceType', ec2Capacity.instanceType, { pattern: /^[a-z0-9]+\.[a-z0-9]+$/, example: 't3.large' }),
        minCapacity: r.number('staging.cluster.ec2Capacity.minCapacity', ec2Capacity.minCapacity, { integer: true, min: 0 }),
        maxCapacity: r.number('staging.cluster.ec2Capacity.maxCapacity', ec2Capacity.maxCapacity, { integer: true, min: 1 }),
      },
    },
    database: {
      instanceClass: r.string('staging.database.instanceClass', database.instanceClass, { pattern: /^db\.[a-z0-9]+\.[a-z0-9]+$/, example: 'db.t4g.medium' }),
      engineVersion: r.string('staging.database.engineVersion', database.engineVersion, { pattern: /^\d+(\.\d+)?$/, example: '16' }),
      allocatedStorageGiB: r.number('staging.database.allocatedStorageGiB', database.allocatedStorageGiB, { integer: true, min: 20, max: 65536 }),
      databaseName: r.string('staging.database.databaseName', database.databaseName, { pattern: /^[a-zA-Z][a-zA-Z0-9_]{0,62}$/, example: 'app' }),
      multiAz: r.boolean('staging.database.multiAz', database.multiAz),
      backupRetentionDays: r.number('staging.database.backupRetentionDays', database.backupRetentionDays, { integer: true, min: 1, max: 35 }),
    },
    cache: {
      nodeType: r.string('staging.cache.nodeType', cache.nodeType, { pattern: /^cache\.[a-z0-9]+\.[a-z0-9]+$/, example: 'cache.t4g.small' }),
      engineVersion: r.string('staging.cache.engineVersion', cache.engineVersion, { pattern: /^\d+\.\d+$/, example: '8.0' }),
    },
    solr: {
      url: r.string('staging.solr.url', solr.url, { required: true, pattern: /^https?:\/\/[^\s/]+(\/\S*)?$/, example: 'https://solr.internal.example.com:8983/solr' }) ?? '',
      credentialsSecretArn: r.string('staging.solr.credentialsSecretArn', solr.credentialsSecretArn, {
        pattern: /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/,
        example: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:solr-AbCdEf',
      }),
    },
    sweeper: {
      enabled: r.boolean('staging.sweeper.enabled', sweeper.enabled),
      idleDays: r.number('staging.sweeper.idleDays', sweeper.idleDays, { min: 0.5, max: 90 }),
      warningHours: r.number('staging.sweeper.warningHours', sweeper.warningHours, { min: 1, max: 720 }),
      scheduleMinutes: r.number('staging.sweeper.scheduleMinutes', sweeper.scheduleMinutes, { integer: true, min: 1, max: 720 }),
      dryRun: r.boolean('staging.sweeper.dryRun', sweeper.dryRun),
      retainResourcesOnDeleteFailed: r.boolean('staging.sweeper.retainResourcesOnDeleteFailed', sweeper.retainResourcesOnDeleteFailed),
    },
    feature: {
      services: Object.fromEntries(
        Object.entries(featureServices).map(([name, v]: [string, Json]) => {
          const key = `staging.feature.services.${name}`;
          const o = r.object(key, v) ?? {};
          return [
            name,
            {
              cpu: r.number(`${key}.cpu`, o.cpu, { integer: true, min: 256, max: 16384 }),
              memoryMiB: r.number(`${key}.memoryMiB`, o.memoryMiB, { integer: true, min: 512, max: 122880 }),
              desiredCount: r.number(`${key}.desiredCount`, o.desiredCount, { integer: true, min: 0, max: 100 }),
            },
          ];
        }),
      ),
      environment: r.stringMap('staging.feature.environment', feature.environment),
      spotOnly: r.boolean('staging.feature.spotOnly', feature.spotOnly),
      database: {
        mode: r.oneOf('staging.feature.database.mode', featureDb.mode, ['snapshot', 'shared'] as const) ?? 'snapshot',
        sourceInstanceIdentifier: r.string('staging.feature.database.sourceInstanceIdentifier', featureDb.sourceInstanceIdentifier, {
          pattern: /^[a-zA-Z][a-zA-Z0-9-]{0,62}$/,
          example: 'production-db',
        }),
        instanceClass: r.string('staging.feature.database.instanceClass', featureDb.instanceClass, { pattern: /^db\.[a-z0-9]+\.[a-z0-9]+$/, example: 'db.t4g.micro' }),
        minStorageGiB: r.number('staging.feature.database.minStorageGiB', featureDb.minStorageGiB, { integer: true, min: 20, max: 65536 }),
      },
      cache: {
        mode: r.oneOf('staging.feature.cache.mode', featureCache.mode, ['dedicated', 'prefix', 'shared'] as const) ?? 'dedicated',
        nodeType: r.string('staging.feature.cache.nodeType', featureCache.nodeType, { pattern: /^cache\.[a-z0-9]+\.[a-z0-9]+$/, example: 'cache.t4g.micro' }),
      },
      solr: {
        mode: r.oneOf('staging.feature.solr.mode', featureSolr.mode, ['restore', 'empty', 'shared'] as const) ?? 'shared',
        sourceCollection: r.string('staging.feature.solr.sourceCollection', featureSolr.sourceCollection, {
          required: featureSolr.mode === 'restore' || featureSolr.mode === 'empty',
          pattern: /^[A-Za-z0-9._][A-Za-z0-9._-]*$/,
          example: 'products',
        }),
        backupLocation: r.string('staging.feature.solr.backupLocation', featureSolr.backupLocation, {
          required: featureSolr.mode === 'restore',
          example: '/var/solr/backups',
        }),
        backupRepository: r.string('staging.feature.solr.backupRepository', featureSolr.backupRepository),
        configSet: r.string('staging.feature.solr.configSet', featureSolr.configSet),
      },
      releaseCommand: r.stringList('staging.feature.releaseCommand', feature.releaseCommand),
      sleepAfterMinutes: r.number('staging.feature.sleepAfterMinutes', feature.sleepAfterMinutes, { integer: true, min: 0, max: 43200 }),
    },
    app: {
      image: r.string('staging.app.image', app.image, { required: true, example: 'public.ecr.aws/docker/library/nginx:1.27' }) ?? '',
      containerPort: r.number('staging.app.containerPort', app.containerPort, { integer: true, min: 1, max: 65535 }),
      healthCheckPath: r.string('staging.app.healthCheckPath', app.healthCheckPath, { pattern: /^\//, example: '/health' }),
      environment: r.stringMap('staging.app.environment', app.environment),
      web: service(r, 'staging.app.web', app.web, 'web') ?? { name: 'web' },
      workers: (Array.isArray(workers) ? workers : []).map((w: Json, i: number) => service(r, `staging.app.workers[${i}]`, w)).filter(isDefined),
      scheduledJobs: (Array.isArray(jobs) ? jobs : [])
        .map((j: Json, i: number) => {
          const base = service(r, `staging.app.scheduledJobs[${i}]`, j);
          const schedule = r.string(`staging.app.scheduledJobs[${i}].schedule`, j?.schedule, {
            required: true,
            pattern: /^(cron|rate)\(.+\)$/,
            example: 'cron(0 3 * * ? *)',
          });
          return base && schedule ? { ...base, schedule } : undefined;
        })
        .filter(isDefined),
    },
  };
  for (const [key, svc] of [
    ['staging.app.web', config.app.web],
    ...config.app.workers.map((w, i) => [`staging.app.workers[${i}]`, w] as const),
    ...config.app.scheduledJobs.map((j, i) => [`staging.app.scheduledJobs[${i}]`, j] as const),
  ] as Array<readonly [string, ServiceConfig]>) {
    const problem = fargateSizeProblem(svc.cpu ?? 256, svc.memoryMiB ?? 512);
    if (problem) r.fail(key, { cpu: svc.cpu, memoryMiB: svc.memoryMiB }, problem.replace('memoryLimitMiB', 'memoryMiB').replace(/ \(got \d+\)$/, ''));
  }
  for (const [name, size] of Object.entries(config.feature.services)) {
    const problem = fargateSizeProblem(size.cpu ?? 256, size.memoryMiB ?? 512);
    if (problem) {
      r.fail(`staging.feature.services.${name}`, size, `${problem.replace(/memoryLimitMiB/g, 'memoryMiB').replace(/ \(got \d+\)$/, '')} (branches default to cpu 256, memoryMiB 512)`);
    }
  }
  const serviceNames = ['web', ...config.app.workers.map((w) => w.name), ...config.app.scheduledJobs.map((j) => j.name)];
  for (const name of Object.keys(config.feature.services)) {
    if (!serviceNames.includes(name)) {
      r.fail(`staging.feature.services.${name}`, name, `names no service of the app; use one of ${serviceNames.map((n) => JSON.stringify(n)).join(', ')}`);
    }
  }
  if (config.sweeper.idleDays !== undefined && config.sweeper.warningHours !== undefined && config.sweeper.warningHours >= config.sweeper.idleDays * 24) {
    r.fail('staging.sweeper.warningHours', config.sweeper.warningHours, `must be shorter than staging.sweeper.idleDays (${config.sweeper.idleDays} days)`);
  }
  if (config.network.vpcId && (config.network.cidr || config.network.maxAzs)) {
    r.fail('staging.network', s.network, 'give either vpcId (use an existing VPC) or cidr/maxAzs (create one), not both');
  }
  if (r.problems.length > 0) {
    throw new Error(`Invalid staging configuration in cdk.json context:\n  - ${r.problems.join('\n  - ')}`);
  }
  return config;
}

function isDefined<T>(v: T | undefined): v is T {
  return v !== undefined;
}

/** The command-line context of one branch deploy: `-c branch=... -c lite=true -c image=... -c env='{...}'`. */
export interface BranchContext {
  readonly branch: string;
  readonly lite: boolean;
  readonly image?: string;
  readonly environment?: Record<string, string>;
  readonly refreshData: boolean;
}

/** Reads the branch context; undefined when no branch was given (the shared stack). */
export function readBranchContext(get: (key: string) => unknown): BranchContext | undefined {
  const branch = get('branch');
  if (branch === undefined) return undefined;
  const r = new Reader();
  if (typeof branch !== 'string' || branch.trim() === '') {
    r.fail('branch', branch, 'must be a git branch name; pass -c branch=$(git branch --show-current)');
  }
  const lite = r.boolean('lite', get('lite')) ?? false;
  const refreshData = r.boolean('refreshData', get('refreshData')) ?? false;
  if (get('image') === '') r.fail('image', '', 'must be an image address when given; leave -c image out to use staging.app.image');
  const image = r.string('image', get('image'), { pattern: /^\S+$/, example: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:3f2a1bc' });
  let environment: Record<string, string> | undefined;
  const env = get('env');
  if (env !== undefined) {
    let parsed: unknown = env;
    if (typeof env === 'string') {
      try {
        parsed = JSON.parse(env);
      } catch {
        r.fail('env', env, `must be a JSON object of variables, e.g. -c env='{"LOG_LEVEL":"debug"}'`);
        parsed = undefined;
      }
    }
    if (parsed !== undefined) environment = r.stringMap('env', parsed);
  }
  if (r.problems.length > 0) {
    throw new Error(`Invalid branch context:\n  - ${r.problems.join('\n  - ')}`);
  }
  return { branch: branch as string, lite, image, environment, refreshData };
}
