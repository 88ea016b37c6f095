import { z } from 'zod';
import { fargateSizeProblem } from '../lib/staging-services';
import { commitProblem, pullRequestProblem } from '../lib/contract/deploy-info';
import { IMAGE_EXAMPLE, imageReferenceProblem } from '../lib/contract/image';
import { BRANCH_HINT } from '../lib/contract/naming';
import { nearMiss } from '../lib/contract/suggest';
import { VALUES_AFTER_HOST, cidrProblem, headerNameProblem, httpsUrlProblem, pathPatternProblem } from '../lib/contract/access';

/**
 * The ready-made app's input: the `staging` block of cdk.json context, and the `-c` flags of a
 * branch deploy. One zod schema for each is the single source of their types, defaults, checks
 * and documentation (the README's configuration table is generated from it: bin/config-table.ts).
 *
 * Every problem is collected, then reported at once, one line each:
 * `<key>: <the rule, in words>; <the fix> (got <the value>)`.
 */

/**
 * Bad input: the problems, one line each, under a title (or several such sections). The app
 * prints `lines` and exits 1, without a stack trace.
 */
export class StagingInputError extends Error {
  /** Several errors as one, section after section. */
  public static combine(errors: readonly StagingInputError[]): StagingInputError {
    return new StagingInputError(errors.flatMap((e) => e.lines));
  }

  public readonly lines: readonly string[];

  constructor(titleOrLines: string | readonly string[], problems: readonly string[] = []) {
    const lines = typeof titleOrLines === 'string' ? [titleOrLines, ...problems.map((p) => `  - ${p}`)] : titleOrLines;
    super(lines.join('\n'));
    this.name = 'StagingInputError';
    this.lines = lines;
  }
}

/** What the README's configuration table says about a key. */
export interface KeyDoc {
  readonly meaning: string;
  /** The default, in words, when the schema does not hold it (a construct's default). */
  readonly default?: string;
}

/** Documentation of every key of the `staging` block, by schema. */
export const keyDocs = new WeakMap<z.ZodType, KeyDoc>();

function doc<T extends z.ZodType>(schema: T, meaning: string, defaultText?: string): T {
  keyDocs.set(schema, { meaning, default: defaultText });
  return schema;
}

/** `null` and `""` count as not given, as they did in cdk.json before. */
const absent = (v: unknown): unknown => (v === null || v === '' ? undefined : v);

interface TextRule {
  readonly pattern?: RegExp;
  /** The rule, in words: "1 to 20 lower-case letters and digits, ...". */
  readonly rule?: string;
  readonly example?: string;
}

function textSchema(r: TextRule) {
  const eg = r.example ? `, e.g. ${JSON.stringify(r.example)}` : '';
  const s = z.string({ error: (issue) => (issue.input === undefined ? `is required${eg}` : `must be a string${eg}`) });
  return r.pattern ? s.regex(r.pattern, { error: `must be ${r.rule}${r.example ? `; write it like ${JSON.stringify(r.example)}` : ''}` }) : s;
}

/** An image reference Docker can pull (lib/contract/image.ts), else the reason and an example. */
const imageCheck = (example: string) => (ref: string, ctx: z.RefinementCtx) => {
  const problem = imageReferenceProblem(ref);
  if (problem) ctx.addIssue({ code: 'custom', message: `is not an image Docker can pull: it ${problem}; write it like ${JSON.stringify(example)}` });
};
const imageSchema = () => z.preprocess(absent, textSchema({ example: IMAGE_EXAMPLE }).superRefine(imageCheck(IMAGE_EXAMPLE)));

const text = (r: TextRule = {}) => z.preprocess(absent, textSchema(r).optional());
const requiredText = (r: TextRule = {}) => z.preprocess(absent, textSchema(r));

/** Numbers may be given as strings, as `-c` passes them. */
function num(r: { integer?: boolean; min?: number; max?: number }) {
  const bounds = `${r.min !== undefined ? ` >= ${r.min}` : ''}${r.max !== undefined ? `${r.min !== undefined ? ' and' : ''} <= ${r.max}` : ''}`;
  const kind = `must be a ${r.integer ? 'whole ' : ''}number${bounds}`;
  let s = z.number({ error: kind });
  if (r.integer) s = s.int({ error: kind });
  if (r.min !== undefined) s = s.min(r.min, { error: `must be${bounds}` });
  if (r.max !== undefined) s = s.max(r.max, { error: `must be${bounds}` });
  const toNumber = (v: unknown) => {
    const given = absent(v);
    return typeof given === 'string' && given.trim() !== '' && Number.isFinite(Number(given)) ? Number(given) : given;
  };
  return z.preprocess(toNumber, s.optional());
}

/** Booleans may be given as `"true"` and `"false"`, as `-c` passes them. */
const flag = () => z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : absent(v)), z.boolean({ error: 'must be true or false' }).optional());

function oneOf<const T extends readonly [string, ...string[]]>(values: T, defaultValue: T[number]) {
  return z.preprocess(absent, z.enum(values, { error: `must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}` }).default(defaultValue));
}

const COMMAND_RULE = 'must be a non-empty list of strings, e.g. ["bin/rails", "db:migrate"]';
const command = () =>
  z.preprocess(
    absent,
    z.custom<string[]>((v) => Array.isArray(v) && v.length > 0 && v.every((c) => typeof c === 'string'), { error: COMMAND_RULE }).optional(),
  );

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Variables: names of letters, digits and _; values strings (numbers and booleans are written as strings). */
const environment = () =>
  z.record(
    z.string().regex(ENV_NAME, { error: 'is not a valid environment variable name; use letters, digits and _, not starting with a digit' }),
    z.union([z.string(), z.number(), z.boolean()], { error: 'must be a string' }).transform(String),
    { error: 'must be an object of variables, e.g. {"LOG_LEVEL": "info"}' },
  );
const optionalEnvironment = () => z.preprocess(absent, environment().optional());

const REQUIRED_BLOCK = 'is required; add it to the "staging" block of cdk.json or pass -c';
const objectError = (issue: { input?: unknown }) => (issue.input === undefined ? REQUIRED_BLOCK : 'must be an object');
/** A block of keys: unknown keys are refused (with "did you mean"). */
const block = <T extends z.core.$ZodLooseShape>(shape: T) => z.strictObject(shape, { error: objectError });
/** A block that may be left out: then it is `{}` with its defaults. */
const optionalBlock = <T extends z.core.$ZodLooseShape>(shape: T) => z.preprocess(absent, block(shape).prefault({} as never));

// At most 189 characters: a host is a 63-character staging name, a dot and the domain, within DNS's 253.
const DOMAIN = /^(?=.{1,189}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const DOMAIN_RULE = 'a lower-case DNS name of at most 189 characters: labels of letters, digits and hyphens joined by dots, no scheme or spaces';
const SOLR_NAME = { pattern: /^[A-Za-z0-9._][A-Za-z0-9._-]*$/, rule: 'a Solr name: letters, digits, ".", "_" and "-", not starting with "-"' };
const SERVICE_NAME = { pattern: /^[a-z][a-z0-9-]{0,30}$/, rule: '1 to 31 lower-case letters, digits and hyphens, starting with a letter', example: 'worker' };

/** Sizes of a service; Fargate allows only some combinations of cpu and memoryMiB (checked below). */
const size = () => ({
  cpu: doc(num({ integer: true, min: 256, max: 16384 }), 'CPU units (1024 = one vCPU).', '`256`'),
  memoryMiB: doc(num({ integer: true, min: 512, max: 122880 }), 'Memory in MiB; a Fargate size with `cpu`.', '`512`'),
  desiredCount: doc(num({ integer: true, min: 0, max: 100 }), 'Tasks (0 stops the service).', '`1`'),
});

const serviceFields = () => ({
  command: doc(command(), "The container's command, e.g. `[\"bundle\", \"exec\", \"sidekiq\"]`.", "the image's"),
  ...size(),
  environment: doc(optionalEnvironment(), 'Variables of this service only.', '–'),
});

const webSchema = block({
  name: doc(z.preprocess(absent, z.literal('web', { error: 'must be "web": the web service is always named web' }).optional()), 'Always `web`.', '`web`'),
  ...serviceFields(),
}).transform((web) => ({ ...web, name: 'web' }));

const workerSchema = block({
  name: doc(requiredText(SERVICE_NAME), 'The service name, in names and `STAGING_SERVICE`.'),
  ...serviceFields(),
});

const jobSchema = block({
  name: doc(requiredText(SERVICE_NAME), 'The job name.'),
  schedule: doc(
    requiredText({ pattern: /^(cron|rate)\(.+\)$/, rule: 'an EventBridge Scheduler expression, cron(...) or rate(...)', example: 'cron(0 3 * * ? *)' }),
    'When it runs (UTC): `cron(...)` or `rate(...)`.',
  ),
  ...serviceFields(),
});

/** A secret by name (or complete ARN) in the shared stack's account and region. */
const SECRET_NAME = { pattern: /^[A-Za-z0-9/_+=.@:-]{1,512}$/, rule: 'a Secrets Manager secret name or ARN', example: 'staging/oidc-client-secret' };
const strings = (rule: string) =>
  z.preprocess(absent, z.custom<string[]>((v) => Array.isArray(v) && v.every((x) => typeof x === 'string'), { error: `must be a list of strings, ${rule}` }).optional());

/** Who may reach the stagings (README, "Access"): one sign-in, or networks only, or public. */
const accessSchema = block({
  oidc: z.preprocess(
    absent,
    block({
      issuer: doc(requiredText({ example: 'https://example.okta.com' }), 'OpenID Connect: the issuer (https).'),
      authorizationEndpoint: doc(requiredText({ example: 'https://example.okta.com/oauth2/v1/authorize' }), 'The authorization endpoint (https).'),
      tokenEndpoint: doc(requiredText({ example: 'https://example.okta.com/oauth2/v1/token' }), 'The token endpoint (https).'),
      userInfoEndpoint: doc(requiredText({ example: 'https://example.okta.com/oauth2/v1/userinfo' }), 'The user-info endpoint (https).'),
      clientId: doc(requiredText({ example: '0oa1b2c3d4e5f6g7h8i9' }), 'The client id registered at the provider.'),
      clientSecretName: doc(requiredText(SECRET_NAME), 'The Secrets Manager secret holding the client secret (never in cdk.json).'),
      scope: doc(text({ example: 'openid email profile' }), 'Scopes asked for.', '`openid email profile`'),
    }).optional(),
  ),
  cognito: z.preprocess(
    absent,
    block({
      userPoolId: doc(text({ pattern: /^[a-z]{2}(-[a-z]+)+-\d_[A-Za-z0-9]+$/, rule: 'a Cognito user pool id, <region>_<id>', example: 'eu-west-1_AbCdEfGhI' }), 'Cognito: an existing user pool.', 'a new pool'),
      userPoolDomain: doc(text({ example: 'staging-login' }), "The existing pool's domain (its prefix, or a custom domain); required with `userPoolId`.", '–'),
      domainPrefix: doc(text({ pattern: /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, rule: '1 to 63 lower-case letters, digits and hyphens', example: 'acme-staging' }), "The new pool's Cognito domain prefix.", '`<prefix>-<stack id>`'),
      identityProviders: doc(strings('e.g. ["COGNITO"] or ["Okta"]'), "Identity providers offered: `COGNITO` or the pool's SAML/OIDC provider names.", '`["COGNITO"]`'),
    }).optional(),
  ),
  allowNetworks: doc(strings('e.g. ["203.0.113.0/24"]'), 'Source CIDRs let in without sign-in (an office, a VPN), at most 4. Alone, the only way in.', '–'),
  public: doc(flag(), 'No lock at all, on purpose: every staging is open to anyone with its URL (synth warns).', '`false`'),
  automation: z.preprocess(
    absent,
    block({
      tokenSecretName: doc(requiredText(SECRET_NAME), 'The automation token: a Secrets Manager secret (its value is the token).'),
      headerName: doc(text({ example: 'x-staging-automation' }), 'The header CI and webhooks send the token in.', '`x-staging-automation`'),
      wakesSleepingStagings: doc(flag(), 'Whether a request with the token wakes a sleeping staging.', '`false`'),
    }).optional(),
  ),
  publicPaths: doc(strings('e.g. ["/webhooks/*"]'), 'Path patterns that pass without sign-in (at most 4); they never wake a staging.', '–'),
  sessionTimeoutHours: doc(num({ min: 1, max: 168 }), 'How long a sign-in lasts.', '`168`'),
});

/** The `staging` block of cdk.json context, before the checks across keys. */
const stagingFields = block({
  access: z.preprocess(absent, accessSchema.optional()),
  prefix: doc(
    z.preprocess(absent, textSchema({ pattern: /^[a-z][a-z0-9]{0,19}$/, rule: '1 to 20 lower-case letters and digits, starting with a letter, no hyphens', example: 'staging' }).default('staging')),
    'Stack names (`<prefix>-shared`, `<prefix>-<branch>`), tags, SSM paths. No hyphens: `staging-a` + branch `x` and `staging` + branch `a-x` would share a stack name.',
  ),
  parameterPrefix: doc(
    text({ pattern: /^\/[A-Za-z0-9_./-]*[A-Za-z0-9_.-]$/, rule: 'an SSM path: "/", then letters, digits, "_", ".", "-" and "/", not ending in "/"', example: '/staging' }),
    'Where the shared staging publishes its SSM parameters.',
    '`/<prefix>`',
  ),
  domainName: doc(
    requiredText({ pattern: DOMAIN, rule: DOMAIN_RULE, example: 'staging.example.com' }),
    'The staging domain: branches live at `<name>.<domainName>`, shared staging at `shared.<domainName>`. `hostedZoneName` or a subdomain of it.',
  ),
  hostedZoneId: doc(
    requiredText({ pattern: /^Z[A-Z0-9]{1,31}$/, rule: 'a Route 53 hosted zone ID: "Z" and capital letters and digits, without "/hostedzone/"', example: 'Z0123456789ABCDEFGHIJ' }),
    'The Route 53 zone of `domainName` (or of its parent).',
  ),
  hostedZoneName: doc(requiredText({ pattern: DOMAIN, rule: DOMAIN_RULE, example: 'example.com' }), 'The name of that zone.'),
  account: doc(
    text({ pattern: /^\d{12}$/, rule: 'an AWS account ID of 12 digits', example: '123456789012' }),
    'The AWS account. Required with `network.vpcId`.',
    "the CLI's credentials",
  ),
  region: doc(
    requiredText({ pattern: /^[a-z]{2}(-[a-z]+)+-\d$/, rule: 'an AWS region code: lower-case words joined by hyphens, ending in a number', example: 'eu-west-1' }),
    "The AWS region. Required: the CDK CLI would otherwise pick us-east-1 without a word.",
  ),
  network: optionalBlock({
    vpcId: doc(
      text({ pattern: /^vpc-[0-9a-f]{8,17}$/, rule: '"vpc-" and 8 to 17 lower-case hex digits', example: 'vpc-0123456789abcdef0' }),
      'Use this existing VPC instead of creating one. It is looked up at synth: needs `account` and AWS credentials once (then cached in cdk.context.json).',
      '–',
    ),
    cidr: doc(
      text({ pattern: /^\d{1,3}(\.\d{1,3}){3}\/(1[6-9]|2[0-4])$/, rule: 'an IPv4 CIDR block from /16 to /24', example: '10.64.0.0/16' }),
      'The new VPC.',
      '`10.64.0.0/16`',
    ),
    maxAzs: doc(num({ integer: true, min: 2, max: 6 }), 'Availability zones of the new VPC.', '`2`'),
    natGateways: doc(num({ integer: true, min: 1, max: 6 }), 'NAT gateways of the new VPC.', '`1`'),
  }),
  cluster: optionalBlock({
    containerInsights: doc(flag(), 'CloudWatch Container Insights.', '`true`'),
    ec2Capacity: z.preprocess(
      absent,
      block({
        instanceType: doc(text({ pattern: /^[a-z0-9]+\.[a-z0-9]+$/, rule: 'an EC2 instance type, family.size', example: 't3.large' }), 'EC2 capacity (ECS managed scaling) on top of Fargate and Fargate Spot: its instance type.', '`t3.large`'),
        minCapacity: doc(num({ integer: true, min: 0 }), 'Fewest instances.', '`0`'),
        maxCapacity: doc(num({ integer: true, min: 1 }), 'Most instances.', '`10`'),
      }).optional(),
    ),
  }),
  database: optionalBlock({
    instanceClass: doc(text({ pattern: /^db\.[a-z0-9]+\.[a-z0-9]+$/, rule: 'an RDS instance class starting with "db."', example: 'db.t4g.medium' }), 'The shared Postgres: instance class.', '`db.t4g.medium`'),
    engineVersion: doc(text({ pattern: /^\d+(\.\d+)?$/, rule: 'a Postgres version, major or major.minor', example: '16' }), 'Postgres version.', '`16`'),
    allocatedStorageGiB: doc(num({ integer: true, min: 20, max: 65536 }), 'Storage in GiB.', '`50`'),
    databaseName: doc(text({ pattern: /^[a-zA-Z][a-zA-Z0-9_]{0,62}$/, rule: '1 to 63 letters, digits and "_", starting with a letter', example: 'app' }), 'Database name.', '`app`'),
    multiAz: doc(flag(), 'Multi-AZ.', '`false`'),
    backupRetentionDays: doc(num({ integer: true, min: 1, max: 35 }), 'Days of automated backups (branch databases restore from them).', '`7`'),
  }),
  cache: optionalBlock({
    nodeType: doc(text({ pattern: /^cache\.[a-z0-9]+\.[a-z0-9]+$/, rule: 'an ElastiCache node type starting with "cache."', example: 'cache.t4g.small' }), 'The shared Valkey: node type.', '`cache.t4g.small`'),
    engineVersion: doc(text({ pattern: /^\d+\.\d+$/, rule: 'a Valkey version, major.minor', example: '8.0' }), 'Valkey version.', '`8.0`'),
  }),
  solr: block({
    url: doc(
      requiredText({ pattern: /^https?:\/\/[^\s/]+(\/\S*)?$/, rule: 'an http:// or https:// URL without spaces', example: 'https://solr.internal.example.com:8983/solr' }),
      'Base URL of your Solr server.',
    ),
    credentialsSecretArn: doc(
      text({ pattern: /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/, rule: 'the complete ARN of a Secrets Manager secret', example: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:solr-AbCdEf' }),
      'Secrets Manager secret `{"username","password"}` for Solr basic auth.',
      'a new secret',
    ),
  }),
  profile: doc(
    oneOf(['standard', 'lean'], 'standard'),
    "The shared base's size when its keys are left out. `lean`: one shared web task, a db.t4g.micro shared Postgres and a cache.t4g.micro Valkey (README, \"The shared base: standard and lean\"); keys you set win.",
  ),
  maxStagings: doc(
    num({ integer: true, min: 1 }),
    "The most branch stagings at once: a branch's first deploy beyond it fails before anything is created, naming the stagings to free (`npx staging destroy <branch>`); redeploys never fail on it ([docs/ci.md](docs/ci.md) queues instead).",
    'no cap',
  ),
  maxBranches: doc(
    num({ integer: true, min: 1 }),
    'How many branch stagings the load balancers hold (the capacity): past what one holds, the shared stack adds load balancers (shards, about $24 a month each); raise it and deploy the shared stack to grow (README, "Capacity").',
    'what one load balancer holds (97 with one listener rule per branch)',
  ),
  rulesPerLoadBalancer: doc(
    num({ integer: true, min: 1 }),
    'Your "Rules per Application Load Balancer" quota (Service Quotas): raise it there first, then here, so a load balancer holds more branches whose hosts take several rules (the sign-in\'s companions).',
    '`100`',
  ),
  sweeper: optionalBlock({
    enabled: doc(flag(), 'Run the sweeper ([docs/sweeper.md](docs/sweeper.md)).', '`true`'),
    idleDays: doc(num({ min: 0.5, max: 90 }), 'Days without a deploy, a request or a keep-alive after which a branch staging is destroyed.', '`3`'),
    warningHours: doc(num({ min: 1, max: 720 }), 'Hours before that when the warning goes to the SNS topic; less than `idleDays`.', '`24`'),
    scheduleMinutes: doc(num({ integer: true, min: 1, max: 720 }), 'How often it runs.', '`60`'),
    dryRun: doc(flag(), 'Report only, destroy nothing.', '`false`'),
    retainResourcesOnDeleteFailed: doc(
      flag(),
      'When a delete fails (DELETE_FAILED), retry it keeping the resources that failed, and report them.',
      '`false`',
    ),
  }),
  stagingsPage: optionalBlock({
    enabled: doc(flag(), 'Serve the stagings page at `https://stagings.<domainName>` (README, "Stagings page").', '`true`'),
    maxKeepDays: doc(num({ integer: true, min: 1, max: 365 }), 'The longest keep the page offers, in days.', '`14`'),
    destroyClaim: doc(
      text({ pattern: /^\S+$/, rule: 'the name of a claim of the sign-in\'s token, without spaces', example: 'groups' }),
      'The token claim that may allow a destroy from the page: `groups` (OIDC), a custom attribute such as `custom:staging_role` (Cognito). Set it with `destroyClaimValues`.',
      'nobody may destroy',
    ),
    destroyClaimValues: doc(strings('e.g. ["staging-admins"]'), 'Values of `destroyClaim` that allow a destroy, any one of them.', 'nobody may destroy'),
  }),
  feature: optionalBlock({
    services: doc(
      z.preprocess(absent, z.record(z.string(), block(size()), { error: 'must be an object of service names, e.g. {"web": {"cpu": 256}}' }).default({})),
      'Branch sizes, by service name (`web`, a worker or a job): "far fewer, smaller".',
    ),
    environment: doc(optionalEnvironment(), 'Extra environment of every branch.', '–'),
    spotOnly: doc(flag(), 'Run branch tasks only on Fargate Spot. By default the first task of each service is on-demand and further tasks mostly Spot.', '`false`'),
    database: optionalBlock({
      mode: doc(oneOf(['snapshot', 'template', 'shared'], 'snapshot'), "`snapshot`: the branch's own Postgres instance from the newest snapshot; `template`: a database of its own on the shared Postgres, copied from a golden template in seconds (the shared stack then keeps the template fresh, nightly); `shared`: the shared database."),
      sourceInstanceIdentifier: doc(
        text({ pattern: /^[a-zA-Z][a-zA-Z0-9-]{0,62}$/, rule: 'an RDS instance identifier: 1 to 63 letters, digits and hyphens, starting with a letter', example: 'production-db' }),
        'The instance whose snapshots branches restore (may be production).',
        'the shared Postgres',
      ),
      instanceClass: doc(text({ pattern: /^db\.[a-z0-9]+\.[a-z0-9]+$/, rule: 'an RDS instance class starting with "db."', example: 'db.t4g.micro' }), 'Instance class of a branch database.', '`db.t4g.micro`'),
      minStorageGiB: doc(num({ integer: true, min: 20, max: 65536 }), 'Storage of a branch database, never below the snapshot’s.', "the snapshot's"),
    }),
    cache: optionalBlock({
      mode: doc(oneOf(['dedicated', 'prefix', 'shared'], 'dedicated'), '`dedicated`: its own Valkey; `prefix`: a key prefix on the shared one, removed on destroy; `shared`.'),
      nodeType: doc(text({ pattern: /^cache\.[a-z0-9]+\.[a-z0-9]+$/, rule: 'an ElastiCache node type starting with "cache."', example: 'cache.t4g.micro' }), 'Node type of a dedicated branch cache.', '`cache.t4g.micro`'),
    }),
    solr: optionalBlock({
      mode: doc(
        oneOf(['restore', 'empty', 'shared'], 'shared'),
        '`restore`: its own collection from the newest backup of `sourceCollection` (a backup is taken when none exists); `empty`: an empty collection with the source\'s configset; `shared`.',
      ),
      sourceCollection: doc(text({ ...SOLR_NAME, example: 'products' }), 'The shared collection (required by `restore` and `empty`; with `shared`, the branch uses it as `SOLR_COLLECTION`).', '–'),
      backupLocation: doc(text({ example: '/var/solr/backups' }), "Where Solr keeps backups, on the Solr server (required by `restore`).", '–'),
      backupRepository: doc(text({ ...SOLR_NAME, example: 's3' }), "The Solr backup repository (`restore`).", "Solr's default"),
      configSet: doc(text({ ...SOLR_NAME, example: 'products' }), 'The configset of an `empty` collection.', "the source collection's"),
    }),
    releaseCommand: doc(
      command(),
      'Run before the services roll on each deploy of a FeatureStaging, e.g. `["bin/rails","db:migrate"]`. Lite stagings do not run it (they use the shared database); synth warns.',
      '–',
    ),
    stopDatabaseAfterMinutes: doc(
      num({ integer: true, min: 0, max: 43200 }).refine((v) => v === undefined || v === 0 || v >= 60, {
        error: 'must be 0 (never stop) or at least 60 (an hour asleep)',
      }),
      "Minutes a branch has slept after which the sleeper stops its own RDS instance (`feature.database.mode` `snapshot` only; a wake then starts it first, 4-8 minutes). Storage is still paid. `0` never stops it.",
      '`0`',
    ),
    sleepAfterMinutes: doc(
      num({ integer: true, min: 0, max: 43200 }).refine((v) => v === undefined || v === 0 || v >= 5, {
        error: 'must be 0 (never sleep) or at least 5 (the sleeper looks every 5 minutes)',
      }),
      'Minutes without a request, deploy, keep-alive or pin before a branch sleeps: its services scale to zero and the shared waker answers until a visit wakes it ([docs/sleep.md](docs/sleep.md)). `0` keeps branches awake.',
      '`60`',
    ),
  }),
  app: block({
    image: doc(
      imageSchema(),
      'The image of shared staging, and of branches without `-c image`.',
    ),
    cpuArchitecture: doc(
      oneOf(['x86_64', 'arm64'], 'x86_64'),
      'The CPU architecture of every task (shared and branches), which `image` must be built for. `arm64` (Graviton) costs about 20% less on Fargate; `npx staging cost` shows the saving.',
    ),
    containerPort: doc(num({ integer: true, min: 1, max: 65535 }), 'The port the web container listens on.', '`80`'),
    healthCheckPath: doc(text({ pattern: /^\//, rule: 'a path starting with "/"', example: '/health' }), 'The load balancer health check.', '`/`'),
    environment: doc(optionalEnvironment(), 'Variables of every container.', '–'),
    web: webSchema,
    workers: z.preprocess(absent, z.array(workerSchema, { error: 'must be a list of services' }).default([])),
    scheduledJobs: z.preprocess(absent, z.array(jobSchema, { error: 'must be a list of jobs' }).default([])),
  }),
});

type Fields = z.output<typeof stagingFields>;

/** The checks across keys, as issues of the schema. */
function checkAcross(c: Fields, ctx: z.RefinementCtx): void {
  const fail = (path: Array<string | number>, message: string, shown: unknown) => ctx.addIssue({ code: 'custom', path, message, params: { shown } });
  const zone = c.hostedZoneName;
  if (c.domainName !== zone && !c.domainName.endsWith(`.${zone}`)) {
    fail(
      ['domainName'],
      `must be staging.hostedZoneName (${JSON.stringify(zone)}) or a subdomain of it, because its records go in that zone; e.g. ${JSON.stringify(`staging.${zone}`)}, or correct hostedZoneName and hostedZoneId`,
      c.domainName,
    );
  }
  if (c.network.vpcId && (c.network.cidr || c.network.maxAzs)) {
    const { vpcId, cidr, maxAzs } = c.network;
    fail(['network'], 'give either vpcId (use an existing VPC) or cidr/maxAzs (create one), not both', JSON.parse(JSON.stringify({ vpcId, cidr, maxAzs })));
  }
  if (c.network.vpcId && !c.account) {
    fail(
      ['network', 'vpcId'],
      'is looked up in your AWS account at synth, which needs AWS credentials and staging.account; add "account": "<the VPC\'s 12-digit account ID>" to the "staging" block and run cdk with credentials once (the result is cached in cdk.context.json)',
      c.network.vpcId,
    );
  }
  const services: Array<[Array<string | number>, { cpu?: number; memoryMiB?: number }]> = [
    [['app', 'web'], c.app.web],
    ...c.app.workers.map((w, i): [Array<string | number>, typeof w] => [['app', 'workers', i], w]),
    ...c.app.scheduledJobs.map((j, i): [Array<string | number>, typeof j] => [['app', 'scheduledJobs', i], j]),
  ];
  for (const [path, s] of services) {
    const problem = fargateSizeProblem(s.cpu ?? 256, s.memoryMiB ?? 512);
    if (problem) fail(path, problem.replace(/memoryLimitMiB/g, 'memoryMiB').replace(/ \(got \d+\)$/, ''), { cpu: s.cpu, memoryMiB: s.memoryMiB });
  }
  const serviceNames = ['web', ...c.app.workers.map((w) => w.name), ...c.app.scheduledJobs.map((j) => j.name)];
  for (const [name, s] of Object.entries(c.feature.services)) {
    if (!serviceNames.includes(name)) {
      const guess = nearMiss(name, serviceNames);
      fail(
        ['feature', 'services', name],
        `names no service of the app; ${guess ? `did you mean ${JSON.stringify(guess)}? ` : ''}use one of ${serviceNames.map((n) => JSON.stringify(n)).join(', ')}`,
        name,
      );
      continue;
    }
    const problem = fargateSizeProblem(s.cpu ?? 256, s.memoryMiB ?? 512);
    if (problem) {
      fail(['feature', 'services', name], `${problem.replace(/memoryLimitMiB/g, 'memoryMiB').replace(/ \(got \d+\)$/, '')} (branches default to cpu 256, memoryMiB 512)`, s);
    }
  }
  checkAccess(c.access, fail);
  const { idleDays, warningHours } = c.sweeper;
  if (idleDays !== undefined && warningHours !== undefined && warningHours >= idleDays * 24) {
    fail(['sweeper', 'warningHours'], `must be shorter than staging.sweeper.idleDays (${idleDays} days = ${idleDays * 24} hours)`, warningHours);
  }
  const solr = c.feature.solr;
  if ((solr.mode === 'restore' || solr.mode === 'empty') && !solr.sourceCollection) {
    fail(['feature', 'solr', 'sourceCollection'], `is required with mode ${JSON.stringify(solr.mode)}, e.g. "products"`, undefined);
  }
  if (solr.mode === 'restore' && !solr.backupLocation) {
    fail(['feature', 'solr', 'backupLocation'], 'is required with mode "restore", e.g. "/var/solr/backups"', undefined);
  }
  const stopAfter = c.feature.stopDatabaseAfterMinutes;
  if (stopAfter !== undefined && stopAfter > 0 && c.feature.database.mode !== 'snapshot') {
    fail(
      ['feature', 'stopDatabaseAfterMinutes'],
      `stops a branch's own RDS instance, which only feature.database.mode "snapshot" gives (the mode is ${JSON.stringify(c.feature.database.mode)}); set the mode to "snapshot" or leave the key out`,
      stopAfter,
    );
  }
  if (stopAfter !== undefined && stopAfter > 0 && c.feature.sleepAfterMinutes === 0) {
    fail(['feature', 'stopDatabaseAfterMinutes'], 'needs branches that sleep, but feature.sleepAfterMinutes is 0; set it or leave this key out', stopAfter);
  }
}

const ACCESS_CHOICES =
  'add one of "oidc": {...} (an OpenID Connect provider), "cognito": {} (a Cognito user pool), "allowNetworks": ["203.0.113.0/24"] (source CIDRs) or "public": true (no lock, on purpose)';

/** Exactly one way in, and each value one the load balancer takes (the kernel's rules). */
function checkAccess(a: Fields['access'], fail: (path: Array<string | number>, message: string, shown: unknown) => void): void {
  if (!a) {
    fail(['access'], `is required: say who may reach the stagings; ${ACCESS_CHOICES}`, undefined);
    return;
  }
  const networks = a.allowNetworks ?? [];
  const signIns = (['oidc', 'cognito'] as const).filter((k) => a[k] !== undefined);
  if (a.public === true) {
    const others = [...signIns, ...(networks.length > 0 ? ['allowNetworks'] : []), ...(a.automation ? ['automation'] : []), ...(a.publicPaths?.length ? ['publicPaths'] : [])];
    if (others.length > 0) fail(['access', 'public'], `cannot be combined with ${others.join(', ')}: public means no lock; remove "public" to lock the stagings, or remove ${others.join(', ')}`, true);
  } else if (signIns.length > 1) {
    fail(['access'], 'give one sign-in, "oidc" or "cognito", not both', signIns);
  } else if (signIns.length === 0 && networks.length === 0) {
    fail(['access'], `names no way in; ${ACCESS_CHOICES}`, a);
  }
  if (a.oidc) {
    for (const key of ['issuer', 'authorizationEndpoint', 'tokenEndpoint', 'userInfoEndpoint'] as const) {
      if (httpsUrlProblem(a.oidc[key])) fail(['access', 'oidc', key], "must be an https:// URL; copy it from your provider's /.well-known/openid-configuration", a.oidc[key]);
    }
  }
  if (a.cognito && a.cognito.userPoolId && !a.cognito.userPoolDomain) fail(['access', 'cognito', 'userPoolDomain'], "is required with userPoolId: the pool's domain prefix or custom domain", undefined);
  if (networks.length > VALUES_AFTER_HOST) fail(['access', 'allowNetworks'], `holds at most ${VALUES_AFTER_HOST} CIDRs (a listener rule has 5 condition values, one is the host); merge them into wider ranges`, networks);
  networks.forEach((cidr, i) => {
    const problem = cidrProblem(cidr);
    if (problem) fail(['access', 'allowNetworks', i], problem, cidr);
  });
  const paths = a.publicPaths ?? [];
  if (paths.length > VALUES_AFTER_HOST) fail(['access', 'publicPaths'], `holds at most ${VALUES_AFTER_HOST} path patterns; use wildcards such as "/webhooks/*"`, paths);
  paths.forEach((path, i) => {
    const problem = pathPatternProblem(path);
    if (problem) fail(['access', 'publicPaths', i], problem, path);
  });
  const header = a.automation?.headerName;
  if (header !== undefined && headerNameProblem(header)) fail(['access', 'automation', 'headerName'], headerNameProblem(header)!, header);
}

/** The `staging` block of cdk.json context: every key, its rule and its default. */
export const stagingSchema = z.preprocess(absent, stagingFields).superRefine(checkAcross);

export type StagingConfig = z.output<typeof stagingSchema>;
export type ServiceConfig = StagingConfig['app']['workers'][number];
export type JobConfig = StagingConfig['app']['scheduledJobs'][number];

/** Reads and checks the `staging` context block. Throws one StagingInputError listing every problem. */
export function readStagingConfig(given: unknown): StagingConfig {
  // `-c staging='{...}'` reaches the app as a string: the whole block, as JSON.
  const raw = typeof given === 'string' ? parsedOr(given) : given;
  if (typeof raw === 'string' && raw !== '') {
    throw new StagingInputError('Invalid staging configuration in cdk.json context:', [
      `staging: must be the whole staging block as a JSON object when given with -c, e.g. -c staging="$(jq -c .context.staging cdk.json)", or be edited in cdk.json (got ${shortShow(raw)})`,
    ]);
  }
  // A missing block is reported with the required keys inside it, so one run shows all that is needed.
  const missing = absent(raw) === undefined ? [`staging: ${REQUIRED_BLOCK} (got undefined)`] : [];
  const result = stagingSchema.safeParse(missing.length > 0 ? {} : raw);
  if (result.success && missing.length === 0) return result.data;
  const problems = result.success ? [] : problemLines(result.error, raw, 'staging', stagingSchema);
  throw new StagingInputError('Invalid staging configuration in cdk.json context:', [...missing, ...problems]);
}

// ---------------------------------------------------------------------------------------------
// The -c flags of a branch deploy.

const BRANCH_RULE = `must be a git branch name; ${BRANCH_HINT}`;

const NOT_JSON = Symbol('not JSON');
const parsedOr = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};
/** `-c env='{"K":"v"}'`: a JSON object of variables. */
const envFlag = z.preprocess(
  (v) => (typeof v !== 'string' ? v : parsedOr(v) === v ? NOT_JSON : parsedOr(v)),
  z.custom<unknown>((v) => v !== NOT_JSON, { error: `must be a JSON object of variables, e.g. -c env='{"LOG_LEVEL":"debug"}'`, abort: true }).pipe(environment()),
);

/** The `-c` keys of a branch deploy (README, "Branch context keys"). */
export const branchContextSchema = z.object({
  branch: z
    .string({ error: BRANCH_RULE })
    .refine((b) => b.trim() !== '', { error: BRANCH_RULE, abort: true })
    .refine((b) => b.replace(/^refs\/heads\//, '') !== 'HEAD', { error: `must be a branch name, not HEAD, which git prints in a detached checkout; ${BRANCH_HINT}` }),
  lite: z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean({ error: 'must be true or false' }).default(false)),
  image: z
    .string({ error: 'must be an image reference, e.g. "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:3f2a1bc"' })
    .refine((i) => i !== '', { error: 'must be an image address when given (is the variable in -c image=$IMAGE set?); leave -c image out to use staging.app.image', abort: true })
    .superRefine(imageCheck('123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:3f2a1bc'))
    .optional(),
  env: envFlag.optional(),
  refreshData: z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean({ error: 'must be true or false' }).default(false)),
  allowKindSwitch: z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean({ error: 'must be true or false' }).default(false)),
  commit: z
    .string({ error: commitProblem('') })
    .superRefine((c, ctx) => {
      const problem = commitProblem(c);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  // A number from cdk.json or the CLI's JSON, as text; empty (`-c pullRequest=` on a run without one) is none.
  pullRequest: z.preprocess(
    (v) => (typeof v === 'number' ? String(v) : v === '' ? undefined : v),
    z
      .string({ error: pullRequestProblem('') })
      .superRefine((p, ctx) => {
        const problem = pullRequestProblem(p);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
  ),
});

/** The command-line context of one branch deploy: `-c branch=... -c lite=true -c image=... -c env='{...}'`. */
export type BranchContext = Omit<z.output<typeof branchContextSchema>, 'env'> & { readonly environment?: Record<string, string> };

/** The context keys of the ready-made app. */
export const CONTEXT_KEYS = ['staging', ...Object.keys(branchContextSchema.shape)];

/** The `-c` keys of a branch, as the messages list them. */
const BRANCH_KEYS = Object.keys(branchContextSchema.shape).join(', ');

/** Where the data modes are set, for a `-c database=template` that tries to set one. */
const DATA_MODES = 'data modes and every other setting are in the "staging" block of cdk.json (staging.feature.database.mode, staging.feature.cache.mode, staging.feature.solr.mode)';

/**
 * Context keys that belong to CDK rather than to the app, and pass unread:
 * - feature flags, of aws-cdk-lib (`@aws-cdk/core:...`) and of other libraries (`@aws-cdk-containers/...`): `@...`;
 * - what the CDK CLI adds (`aws:cdk:enable-path-metadata`, `aws:cdk:version-reporting`, ...) and
 *   its cached look-ups in cdk.context.json (`availability-zones:account=...`, `vpc-provider:...`): keys with a `:`;
 * - other CDK settings by name: `aws-cdk...`, `cdk-...`, and `acknowledged-issue-numbers` (`cdk acknowledge`).
 */
export function isCdkContextKey(key: string): boolean {
  return key.startsWith('@') || key.includes(':') || /^(aws-cdk|cdk)[-.]/.test(key) || key === 'acknowledged-issue-numbers';
}

/** The key of ours that `key` was probably meant to be: a near miss, or ours with more after it (`branchName`, `branch_name`). */
function meantKey(key: string): string | undefined {
  const fold = (k: string) => k.toLowerCase().replace(/[^a-z0-9]/g, '');
  return nearMiss(key, CONTEXT_KEYS) ?? CONTEXT_KEYS.find((k) => fold(key).startsWith(fold(k)) || (fold(key).length >= 3 && fold(k).startsWith(fold(key))));
}

/** Whether a context key is `staging` misspelt (`stagng`, `Staging`, `stagingConfig`). */
export function misspeltStaging(key: string): boolean {
  return key !== 'staging' && !isCdkContextKey(key) && meantKey(key) === 'staging';
}

/**
 * Reads the branch flags from the whole context; undefined when no branch was given (the shared
 * stack). Fails on a branch flag without `branch`, and on any key that is neither ours nor CDK's:
 * `-c branchName=x` or `-c database=template` would otherwise synthesize the shared stack, and a
 * `cdk deploy` with that slip would update the shared staging.
 */
export function readBranchContext(context: Record<string, unknown>): BranchContext | undefined {
  const problems: string[] = [];
  for (const key of Object.keys(context)) {
    if (CONTEXT_KEYS.includes(key) || isCdkContextKey(key)) continue;
    if (key.startsWith('staging.')) {
      problems.push(`${key}: is not read; -c cannot set one key of the staging block, edit it in cdk.json, or pass the whole block as JSON: -c staging="$(jq -c '.context.staging | .${key.slice('staging.'.length)} = ${JSON.stringify(context[key])}' cdk.json)" (got ${shortShow(context[key])})`);
      continue;
    }
    const guess = meantKey(key);
    problems.push(
      `${key}: is not a context key of the ready-made app; ${guess ? `did you mean ${JSON.stringify(guess)}? ` : ''}its -c keys are ${BRANCH_KEYS}, and ${DATA_MODES} (got ${shortShow(context[key])})`,
    );
  }
  const ours = Object.fromEntries(Object.keys(branchContextSchema.shape).filter((k) => context[k] !== undefined).map((k) => [k, context[k]]));
  if (ours.branch === undefined) {
    for (const [key, value] of Object.entries(ours)) {
      problems.push(`${key}: applies to a branch staging, but no branch was given; add -c branch=$(git branch --show-current), or leave -c ${key} out to synthesize the shared stack (got ${show(value)})`);
    }
  }
  const result = ours.branch === undefined ? undefined : branchContextSchema.safeParse(ours);
  // Values are shown as given, -c env as the JSON it holds.
  const shown = { ...ours, env: typeof ours.env === 'string' ? parsedOr(ours.env) : ours.env };
  if (result && !result.success) problems.push(...problemLines(result.error, shown, '', branchContextSchema));
  if (problems.length > 0) throw new StagingInputError('Invalid branch context (-c):', problems);
  if (!result?.success) return undefined;
  const { env, ...rest } = result.data;
  return { ...rest, environment: env };
}

// ---------------------------------------------------------------------------------------------
// Issues as lines: `<key>: <message> (got <value>)`.

function problemLines(error: z.ZodError, raw: unknown, root: string, schema: z.ZodType): string[] {
  const lines: string[] = [];
  // Zod runs the checks across keys on values that failed a check of their own (a regex, a
  // bound); a key is reported once, for its own problem.
  const own = error.issues.filter((i) => i.code !== 'custom').map((i) => keyPath('', i.path as Array<string | number>));
  const related = (a: string, b: string) => a === b || a.startsWith(`${b}.`) || a.startsWith(`${b}[`) || b.startsWith(`${a}.`) || b.startsWith(`${a}[`);
  const issues = error.issues.filter((i) => i.code !== 'custom' || !own.some((o) => related(o, keyPath('', i.path as Array<string | number>))));
  for (const issue of issues) {
    const path = issue.path as Array<string | number>;
    if (issue.code === 'unrecognized_keys') {
      const known = Object.keys(shapeAt(schema, path) ?? {});
      for (const key of issue.keys) {
        const guess = nearMiss(key, known, { prefixes: true });
        const where = keyPath(root, path) || 'the context';
        const hint = guess ? `did you mean ${JSON.stringify(guess)}?` : `the keys there are ${known.map((k) => JSON.stringify(k)).join(', ')}`;
        lines.push(`${keyPath(root, [...path, key])}: is not a key of ${where}; ${hint} (got ${show(valueAt(raw, [...path, key]))})`);
      }
      continue;
    }
    const message = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
    const shown = issue.code === 'invalid_key' ? path[path.length - 1] : issue.code === 'custom' && issue.params && 'shown' in issue.params ? issue.params.shown : valueAt(raw, path);
    lines.push(`${keyPath(root, path)}: ${message} (got ${show(shown)})`);
  }
  return lines;
}

function keyPath(root: string, path: Array<string | number>): string {
  return path.reduce<string>((p, k) => (typeof k === 'number' ? `${p}[${k}]` : p ? `${p}.${k}` : k), root);
}

function valueAt(raw: unknown, path: Array<string | number>): unknown {
  return path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[k] : undefined), raw);
}

function show(value: unknown): string {
  return value === undefined ? 'undefined' : JSON.stringify(value);
}

/** A value as `show` writes it, cut to 80 characters: a whole block would not fit on the line. */
export function shortShow(value: unknown): string {
  const shown = show(value);
  return shown.length <= 80 ? shown : `${shown.slice(0, 79)}…`;
}

/** The schema inside wrappers: optional, default, preprocess and transform pipes. */
export function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodPrefault || s instanceof z.ZodNullable) s = s.unwrap() as z.ZodType;
    else if (s instanceof z.ZodPipe) s = (s.in instanceof z.ZodTransform ? s.out : s.in) as z.ZodType;
    else return s;
  }
}

/** The keys of the object schema at `path` (array indexes and record keys step into elements). */
function shapeAt(schema: z.ZodType, path: Array<string | number>): Record<string, z.ZodType> | undefined {
  let s = unwrap(schema);
  for (const key of path) {
    if (s instanceof z.ZodObject) s = unwrap(s.shape[key as string]);
    else if (s instanceof z.ZodArray) s = unwrap(s.element as z.ZodType);
    else if (s instanceof z.ZodRecord) s = unwrap(s.valueType as z.ZodType);
    else return undefined;
    if (!s) return undefined;
  }
  return s instanceof z.ZodObject ? (s.shape as Record<string, z.ZodType>) : undefined;
}
