/**
 * `npm run critical-path [-- -c branch=NAME -c lite=true ...] [-- -c database=MODE -c cache=MODE -c solr=MODE] [-- template.json]`:
 * the modelled times of a branch stack, read from its synthesized template:
 * - **first deploy**: the longest dependency chain, i.e. what bounds `cdk deploy` of a new branch
 *   when CloudFormation creates everything else in parallel;
 * - **redeploy**: `cdk deploy` of the existing branch with a new image, until the new code answers
 *   at the URL (and until the deploy returns): the task definitions are replaced, the release task
 *   runs, the services roll;
 * - **wake**: from the first request to a sleeping branch until the branch answers.
 * Dependencies are DependsOn plus every Ref / Fn::GetAtt / Fn::Sub reference to another resource.
 * All three use the same step estimates (STEP_SECONDS) and the template's own health checks and
 * deregistration delay; they are estimates, in seconds, and the order matters more than the figures.
 *
 * Why each dependency on a branch's critical path is kept (everything else starts at once):
 * - every resource -> Custom::StagingQuota: a first deploy beyond `maxStagings` fails before
 *   anything of the branch is created (5 s);
 * - branch database -> its password secret: the database is created with it;
 * - release task definition -> database (and the cache prefix, 5 s, beside it): migrations run on
 *   the branch's own database; NOT the Solr collection (its name is known at synth);
 * - release -> its task definition and log group;
 * - every ECS service -> the release: no service runs code on a half-migrated database;
 * - every ECS service -> the Solr collection (DependsOn): a URL that answers has its search;
 * - web service -> listener rule -> target group: ECS refuses a target group behind no listener;
 * - Custom::StagingSleep -> services, rule, task definitions: it records them as deployed, and
 *   wakes a branch a deploy found asleep;
 * - nothing waits for the DNS record, the log groups of other services or the cache node unless it
 *   reads them.
 *
 * On a redeploy (a new image) only what holds the image changes; the rest costs nothing. Kept:
 * - release -> its task definition: the task definition holds the new image. A deploy that changes
 *   nothing the release runs (image, command, environment) leaves the release's properties as they
 *   were, so CloudFormation starts no release task (e.g. a new `desiredCount` or `sleepAfter`);
 * - every ECS service -> the release: no service runs new code on a half-migrated database. The
 *   release task therefore gets a full vCPU (lib/private/branch-services.ts RELEASE_SIZE): the
 *   app's boot before its migrations runs four times faster than at the services' 0.25 vCPU;
 * - web service -> its new task definition; the rolling update (minimum healthy 100%, maximum
 *   200%) starts the new task beside the old one at once, so the old one serves until the new one
 *   passes its checks; the circuit breaker costs nothing on a healthy deploy;
 * - Custom::StagingSleep -> the services: it records the new task definitions. It is after the
 *   new code answers, so it delays only `cdk deploy` returning (5 s), not the answer.
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WAKE_SECONDS } from '../lambda/waker/model';

/**
 * Estimates (seconds) of the steps that a first deploy, a redeploy and a wake share. Health checks
 * and deregistration delay are read from the template, not from here.
 */
export const STEP_SECONDS = {
  /** `cdk deploy`: the change set is created and its execution starts. */
  changeSet: 15,
  /** A custom resource's round trip: the provider framework's Lambda, the response through S3. */
  customResource: 5,
  /**
   * Fargate: capacity, the task's network interface, pulling a 250-500 MB image, starting the
   * container. 45-90 s reported; the model takes the middle (the waker's page promises the upper
   * figure, WAKE_SECONDS.taskStart).
   */
  taskStart: 60,
  /** The app, once started, until its health-check path answers, at ESTIMATE_CPU (see atCpu). */
  appBoot: 10,
  /** The release command on a database with no new migration (the app boots and checks its schema), at ESTIMATE_CPU. */
  migrations: 20,
  /**
   * Half of the release-task provider's poll (lib/providers/release-task.ts queryInterval, 5 s):
   * it succeeds once the container exited 0, not when the task is STOPPED 10-30 s later.
   */
  releasePoll: 3,
  /** ECS marks a rollout COMPLETED and CloudFormation's next poll sees it. */
  serviceSteady: 15,
  /** An old task from SIGTERM to exit (an app that handles SIGTERM; the container's stopTimeout caps it). */
  oldTaskStop: 5,
  /** The waker: ModifyRule back to the branch, then the page's next refresh (every 5 s). */
  routeAndRefresh: WAKE_SECONDS.routeAndRefresh,
  /** StartDBInstance of a small stopped instance until `available` (4-8 min reported). */
  databaseStart: WAKE_SECONDS.databaseStart,
  /** CloudFormation's cleanup after an update: the replaced task definitions are deregistered. */
  cleanup: 5,
} as const;

/** The task size (CPU units) at which appBoot and migrations are estimated: the branch default, 0.25 vCPU. */
export const ESTIMATE_CPU = 256;

/**
 * A boot (appBoot, migrations) on a task of `cpu` units. It is mostly one thread, which Fargate's
 * CPU quota slows below one vCPU (0.25 vCPU runs it at a quarter of the speed) and which more than
 * one vCPU does not speed.
 */
export function atCpu(seconds: number, cpu: number): number {
  return Math.round((seconds * ESTIMATE_CPU) / Math.min(cpu, 1024));
}

/** The `Cpu` of the task definition that `ref` (`{ Ref: id }`) names; ESTIMATE_CPU when the template has none. */
function taskCpu(template: any, ref: any): number {
  const cpu = template.Resources?.[ref?.Ref]?.Properties?.Cpu;
  return cpu === undefined ? ESTIMATE_CPU : Number(cpu);
}

/** ALB target group defaults, when the template leaves them out. */
const TARGET_GROUP_DEFAULTS = { interval: 30, healthyThreshold: 5, deregistrationDelay: 300 };

/** The web target group's health check and deregistration delay, as the template sets them. */
export function targetGroupTiming(template: any): { interval: number; healthyThreshold: number; deregistrationDelay: number } {
  const tg = Object.values<any>(template.Resources ?? {}).find((r) => r.Type === 'AWS::ElasticLoadBalancingV2::TargetGroup')?.Properties ?? {};
  const attribute = (tg.TargetGroupAttributes ?? []).find((a: any) => a.Key === 'deregistration_delay.timeout_seconds')?.Value;
  return {
    interval: Number(tg.HealthCheckIntervalSeconds ?? TARGET_GROUP_DEFAULTS.interval),
    healthyThreshold: Number(tg.HealthyThresholdCount ?? TARGET_GROUP_DEFAULTS.healthyThreshold),
    deregistrationDelay: Number(attribute ?? TARGET_GROUP_DEFAULTS.deregistrationDelay),
  };
}

/** The app's boot in the web service's task, at the task's size. */
export function webBootSeconds(template: any): number {
  const web = Object.values<any>(template.Resources ?? {}).find(isWebService);
  return atCpu(STEP_SECONDS.appBoot, taskCpu(template, web?.Properties?.TaskDefinition));
}

/** A new web task from start until the load balancer sends it traffic: start, boot, the passing checks. */
export function webTaskHealthySeconds(template: any): number {
  const tg = targetGroupTiming(template);
  return STEP_SECONDS.taskStart + webBootSeconds(template) + tg.healthyThreshold * tg.interval;
}

/**
 * The release task `id`: the provider's round trip, the task's start, the command at the task's
 * size, the poll that sees it exit.
 */
export function releaseSeconds(template: any, id: string): number {
  const cpu = taskCpu(template, template.Resources[id].Properties?.TaskDefinitionArn);
  return STEP_SECONDS.customResource + STEP_SECONDS.taskStart + atCpu(STEP_SECONDS.migrations, cpu) + STEP_SECONDS.releasePoll;
}

/** An ECS service behind a load balancer (the web service) has health checks; a worker has none. */
function isWebService(resource: any): boolean {
  return resource.Type === 'AWS::ECS::Service' && (resource.Properties?.LoadBalancers ?? []).length > 0;
}

/** Typical create times in seconds, by resource type (estimates from AWS documentation and experience). */
export const CREATE_SECONDS: Record<string, number> = {
  'Custom::StagingDatabase': 900, // restore from snapshot, then modify (password, backups off)
  // CREATE DATABASE ... TEMPLATE on the shared instance: 0.7 s (17 MB) to 2.2 s (484 MB) measured
  // locally (scripts/bench-database-template.ts); about 6 s for 500 MB at RDS gp3's ~90 MB/s
  // (RESEARCH §3: 6 GB in 67 s); plus the custom-resource round trip (Provider framework Lambda,
  // VPC handler, two Secrets Manager reads, the response through S3) of about 10 s.
  'Custom::StagingTemplateDatabase': 20,
  'AWS::ElastiCache::ReplicationGroup': 600,
  'Custom::StagingSolrCollection': 180, // async RESTORE, polled
  'AWS::Route53::RecordSet': 60, // until INSYNC
  'Custom::StagingListenerRule': 10,
  'Custom::StagingRedisPrefix': 5,
  'Custom::StagingSleep': 5, // records the branch for the sleeper; waits only when a deploy wakes it
  'Custom::StagingQuota': 5, // one DescribeStacks listing (a page per 100 stacks), before anything else of the branch
  'AWS::IAM::Role': 10,
  'AWS::IAM::Policy': 10,
};
const DEFAULT_SECONDS = 3;

/** How long CloudFormation takes to create one resource of the template. */
export function createSeconds(template: any, id: string): number {
  const resource = template.Resources[id];
  if (resource.Type === 'Custom::StagingRelease') return releaseSeconds(template, id);
  if (resource.Type === 'AWS::ECS::Service') {
    // Until the deployment is steady: the web service's tasks also pass their health checks.
    return isWebService(resource) ? webTaskHealthySeconds(template) + STEP_SECONDS.serviceSteady : STEP_SECONDS.taskStart + STEP_SECONDS.serviceSteady;
  }
  return CREATE_SECONDS[resource.Type] ?? DEFAULT_SECONDS;
}

export interface Chain {
  readonly resources: Array<{ id: string; type: string; seconds: number }>;
  readonly seconds: number;
}

/** Dependencies of every resource of a template, on other resources only. */
export function dependencies(template: any): Map<string, Set<string>> {
  const resources: Record<string, any> = template.Resources ?? {};
  const deps = new Map<string, Set<string>>();
  for (const [id, resource] of Object.entries(resources)) {
    const found = new Set<string>([].concat(resource.DependsOn ?? []));
    const visit = (node: any): void => {
      if (Array.isArray(node)) return node.forEach(visit);
      if (!node || typeof node !== 'object') return;
      if (typeof node.Ref === 'string') found.add(node.Ref);
      if (Array.isArray(node['Fn::GetAtt'])) found.add(node['Fn::GetAtt'][0]);
      if (node['Fn::Sub'] !== undefined) {
        const text = Array.isArray(node['Fn::Sub']) ? node['Fn::Sub'][0] : node['Fn::Sub'];
        for (const m of String(text).matchAll(/\$\{([A-Za-z0-9]+)/g)) found.add(m[1]);
      }
      Object.values(node).forEach(visit);
    };
    visit(resource.Properties);
    deps.set(id, new Set([...found].filter((d) => d in resources && d !== id)));
  }
  return deps;
}

/**
 * The heaviest chain of dependencies (by create time, or by `weigh`), from the first resource to
 * the last. A resource weighed 0 (e.g. unchanged by a redeploy) is not listed.
 */
export function criticalPath(template: any, weigh: (id: string) => number = (id) => createSeconds(template, id)): Chain {
  const resources: Record<string, any> = template.Resources ?? {};
  const deps = dependencies(template);
  const best = new Map<string, Chain>();
  const seconds = weigh;
  const solve = (id: string, stack: Set<string>): Chain => {
    if (best.has(id)) return best.get(id)!;
    if (stack.has(id)) throw new Error(`dependency cycle through ${id}`);
    stack.add(id);
    let longest: Chain = { resources: [], seconds: 0 };
    for (const d of deps.get(id) ?? []) {
      const c = solve(d, stack);
      if (c.seconds > longest.seconds) longest = c;
    }
    stack.delete(id);
    const own = seconds(id);
    const chain = {
      resources: own > 0 ? [...longest.resources, { id, type: resources[id].Type, seconds: own }] : longest.resources,
      seconds: longest.seconds + seconds(id),
    };
    best.set(id, chain);
    return chain;
  };
  let result: Chain = { resources: [], seconds: 0 };
  for (const id of Object.keys(resources)) {
    const c = solve(id, new Set());
    if (c.seconds > result.seconds) result = c;
  }
  return result;
}

/** The modelled redeploy of a branch with a new image. */
export interface Redeploy {
  /** Push → `cdk deploy` → the new code answers at the URL (the old web task leaves the target group). */
  readonly answeringSeconds: number;
  /** … → `cdk deploy` returns (old tasks drained and stopped, the sleep record updated, cleanup). */
  readonly doneSeconds: number;
  /** The chain up to the end of the deploy, each resource with its update time. */
  readonly chain: Chain;
}

/**
 * A redeploy with a new image: every task definition holds the image, so it is replaced, and so is
 * everything that references one (the release, the services, the schedules, the sleep record);
 * nothing else changes. A service's rolling update (the template's maximum percent, ECS's default
 * 200%) starts the new tasks beside the old ones, waits for their health checks, then drains the
 * old ones for the deregistration delay and stops them; with no room for one more task, an old one
 * is drained and stopped first.
 */
export function redeploy(template: any): Redeploy {
  const resources: Record<string, any> = template.Resources ?? {};
  const deps = dependencies(template);
  const changed = new Set(Object.keys(resources).filter((id) => resources[id].Type === 'AWS::ECS::TaskDefinition'));
  for (let grew = true; grew; ) {
    grew = false;
    for (const [id, d] of deps) {
      if (!changed.has(id) && [...d].some((x) => changed.has(x))) {
        changed.add(id);
        grew = true;
      }
    }
  }
  const tg = targetGroupTiming(template);
  const oldTaskGone = tg.deregistrationDelay + STEP_SECONDS.oldTaskStop;
  const drain = oldTaskGone + STEP_SECONDS.serviceSteady;
  // A service whose maximum percent leaves no room for one more task stops an old task first.
  const newTaskWaits = (r: any): number => (roomForNewTask(r) ? 0 : oldTaskGone);
  const update = (id: string): number => {
    if (!changed.has(id)) return 0;
    const r = resources[id];
    if (r.Type === 'Custom::StagingRelease') return releaseSeconds(template, id);
    if (r.Type === 'Custom::StagingSleep') return STEP_SECONDS.customResource;
    if (r.Type === 'AWS::ECS::Service') return newTaskWaits(r) + (isWebService(r) ? webTaskHealthySeconds(template) : STEP_SECONDS.taskStart) + drain;
    return DEFAULT_SECONDS;
  };
  const chain = criticalPath(template, update);
  const web = Object.keys(resources).find((id) => isWebService(resources[id]));
  let answering = 0;
  if (web) {
    // The longest chain into the web service, then its new task healthy: from then on ECS
    // deregisters the old task, which gets no new request.
    const before = Math.max(0, ...[...(deps.get(web) ?? [])].map((d) => criticalPath(subgraph(template, d), update).seconds));
    answering = STEP_SECONDS.changeSet + before + newTaskWaits(resources[web]) + webTaskHealthySeconds(template);
  }
  return { answeringSeconds: answering, doneSeconds: STEP_SECONDS.changeSet + chain.seconds + STEP_SECONDS.cleanup, chain };
}

/**
 * Whether a service's rolling update may start a new task before it stops an old one: its
 * DeploymentConfiguration's MaximumPercent (ECS's default 200) of its DesiredCount allows one more.
 */
function roomForNewTask(service: any): boolean {
  const desired = Number(service.Properties?.DesiredCount ?? 1);
  const maximum = Number(service.Properties?.DeploymentConfiguration?.MaximumPercent ?? 200);
  return Math.floor((desired * maximum) / 100) > desired;
}

/** The template cut down to `id` and what it depends on, directly or not. */
function subgraph(template: any, id: string): any {
  const deps = dependencies(template);
  const keep = new Set<string>();
  const todo = [id];
  while (todo.length > 0) {
    const next = todo.pop()!;
    if (keep.has(next)) continue;
    keep.add(next);
    todo.push(...(deps.get(next) ?? []));
  }
  return { ...template, Resources: Object.fromEntries(Object.entries<any>(template.Resources).filter(([k]) => keep.has(k))) };
}

/** The modelled wake of a sleeping branch, first request to the branch answering. */
export interface Wake {
  readonly seconds: number;
  /** With the branch's own database stopped (`stopDatabaseAfter`): it starts first. */
  readonly withStoppedDatabaseSeconds?: number;
}

/**
 * The waker scales the services back up; a web task starts, boots and passes its health checks;
 * the waker moves the host rule back and the page's next refresh lands on the branch.
 */
export function wake(template: any): Wake {
  const seconds = webTaskHealthySeconds(template) + STEP_SECONDS.routeAndRefresh;
  const ownDatabase = Object.values<any>(template.Resources ?? {}).some((r) => r.Type === 'Custom::StagingDatabase');
  return { seconds, withStoppedDatabaseSeconds: ownDatabase ? seconds + STEP_SECONDS.databaseStart : undefined };
}

/** Seconds as this script and the README's data-mode table print them: `5.0 min (300 s)`. */
export function minutes(seconds: number): string {
  return `${(seconds / 60).toFixed(1)} min (${seconds} s)`;
}

/** What to analyse: a template file, or the ready-made app's branch stack with this `-c` context. */
export interface CriticalPathArgs {
  readonly file?: string;
  /** `-c key=value`, as `cdk` takes them; the branch defaults to `feature/new_cool_page`. */
  readonly context: Record<string, string>;
}

const USAGE = 'usage: npm run critical-path [-- -c branch=NAME [-c lite=true] [-c KEY=VALUE ...]] [-- template.json]';

/** Parses the command line as `cdk` would its `-c`/`--context` options; throws with the usage on anything else. */
export function parseCriticalPathArgs(argv: string[]): CriticalPathArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { context: { type: 'string', short: 'c', multiple: true } }, allowPositionals: true });
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${USAGE}`);
  }
  const context: Record<string, string> = { branch: 'feature/new_cool_page' };
  for (const pair of parsed.values.context ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`-c ${pair}: must be KEY=VALUE, e.g. -c lite=true\n${USAGE}`);
    context[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  if (parsed.positionals.length > 1 || parsed.positionals.some((p) => !p.endsWith('.json'))) {
    throw new Error(`only one template file (*.json) may be given (got ${parsed.positionals.map((p) => JSON.stringify(p)).join(', ')})\n${USAGE}`);
  }
  return { file: parsed.positionals[0], context };
}

/** The ready-made app's branch stack with this context, synthesized in a process of its own. */
export function synthesizeBranchStack(extra: Record<string, string>): { name: string; template: any } {
  const outdir = mkdtempSync(join(tmpdir(), 'critical-path-'));
  const root = join(__dirname, '..');
  const context = JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')).context;
  // -c database=template -c cache=prefix -c solr=shared: the ready-made app's data modes
  // (staging.feature.<store>.mode); every other key is passed to the app as cdk's -c would.
  const rest: Record<string, string> = { ...extra };
  const feature = { ...context.staging.feature };
  for (const store of ['database', 'cache', 'solr'] as const) {
    const mode = rest[store];
    delete rest[store];
    if (mode) feature[store] = { ...feature[store], mode };
  }
  const staging = { ...context.staging, feature };
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
    cwd: root,
    env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify({ ...context, ...rest, staging }) },
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(result.stderr);
  const file = readdirSync(outdir).find((f) => f.endsWith('.template.json'))!;
  return { name: file.replace(/\.template\.json$/, ''), template: JSON.parse(readFileSync(join(outdir, file), 'utf8')) };
}

if (require.main === module) {
  let args: CriticalPathArgs;
  try {
    args = parseCriticalPathArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  }
  const { name, template } = args.file
    ? { name: args.file, template: JSON.parse(readFileSync(args.file, 'utf8')) }
    : synthesizeBranchStack(args.context);
  const chain = criticalPath(template);
  const count = Object.keys(template.Resources).length;
  const what = args.file
    ? `template ${name}`
    : `stack ${name} (branch ${JSON.stringify(args.context.branch)}, ${args.context.lite === 'true' ? 'FeatureStagingLite' : 'FeatureStaging'})`;
  const first = STEP_SECONDS.changeSet + chain.seconds;
  console.log(`Modelled times of ${what}, ${count} resources (estimates: scripts/critical-path.ts STEP_SECONDS):`);
  console.log(`First deploy: about ${minutes(first)}: the change set ${STEP_SECONDS.changeSet} s, then the longest create chain:`);
  for (const r of chain.resources) console.log(`  ${String(r.seconds).padStart(4)} s  ${r.type.padEnd(38)} ${r.id}`);
  const re = redeploy(template);
  console.log(`Redeploy with a new image: the new code answers after about ${minutes(re.answeringSeconds)}; cdk deploy returns after ${minutes(re.doneSeconds)}:`);
  for (const r of re.chain.resources) console.log(`  ${String(r.seconds).padStart(4)} s  ${r.type.padEnd(38)} ${r.id}`);
  const w = wake(template);
  const tg = targetGroupTiming(template);
  console.log(
    `Wake: about ${minutes(w.seconds)}: task start ${STEP_SECONDS.taskStart} s + app boot ${webBootSeconds(template)} s + ${tg.healthyThreshold} health checks every ${tg.interval} s + rule move and page refresh ${STEP_SECONDS.routeAndRefresh} s` +
      (w.withStoppedDatabaseSeconds ? `; ${minutes(w.withStoppedDatabaseSeconds)} when stopDatabaseAfter stopped its database` : ''),
  );
  const deps = dependencies(template);
  const roots = Object.keys(template.Resources).filter((id) => (deps.get(id)?.size ?? 0) === 0);
  console.log(`Resources that start at once (no dependency): ${roots.length} of ${count}`);
}
