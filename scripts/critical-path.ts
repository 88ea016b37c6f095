/**
 * `npm run critical-path [-- -c branch=NAME -c lite=true ...] [-- -c database=MODE -c cache=MODE -c solr=MODE] [-- template.json]`: the longest dependency chain of a
 * synthesized feature stack, i.e. what bounds `cdk deploy` of a branch when CloudFormation creates
 * everything else in parallel. Dependencies are DependsOn plus every Ref / Fn::GetAtt /
 * Fn::Sub reference to another resource. Chains are weighted by typical create times (estimates,
 * in seconds; the order matters more than the figures).
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
  'Custom::StagingRelease': 180, // one-off migration task
  'AWS::ECS::Service': 180, // until the deployment is steady
  'AWS::Route53::RecordSet': 60, // until INSYNC
  'Custom::StagingListenerRule': 10,
  'Custom::StagingRedisPrefix': 5,
  'Custom::StagingSleep': 5, // records the branch for the sleeper; waits only when a deploy wakes it
  'Custom::StagingQuota': 5, // one DescribeStacks listing (a page per 100 stacks), before anything else of the branch
  'AWS::IAM::Role': 10,
  'AWS::IAM::Policy': 10,
};
const DEFAULT_SECONDS = 3;

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

/** The heaviest chain of dependencies (by create time), from the first resource to the last. */
export function criticalPath(template: any): Chain {
  const resources: Record<string, any> = template.Resources ?? {};
  const deps = dependencies(template);
  const best = new Map<string, Chain>();
  const seconds = (id: string) => CREATE_SECONDS[resources[id].Type] ?? DEFAULT_SECONDS;
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
    const chain = {
      resources: [...longest.resources, { id, type: resources[id].Type, seconds: seconds(id) }],
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
function synthesizeBranchStack(extra: Record<string, string>): { name: string; template: any } {
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
  console.log(`Critical path of ${what}, ${count} resources: about ${Math.round(chain.seconds / 60)} min (${chain.seconds} s) of estimated create time:`);
  for (const r of chain.resources) console.log(`  ${String(r.seconds).padStart(4)} s  ${r.type.padEnd(38)} ${r.id}`);
  const deps = dependencies(template);
  const roots = Object.keys(template.Resources).filter((id) => (deps.get(id)?.size ?? 0) === 0);
  console.log(`Resources that start at once (no dependency): ${roots.length} of ${count}`);
}
