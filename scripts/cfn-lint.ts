/**
 * cfn-lint over every template the project synthesizes: the ready-made app (shared, a full branch,
 * a lite branch) and every example with a cdk.json (shared and a branch).
 *
 *   npm run cfn-lint                              synthesizes each target into a temp dir, then lints
 *   npm run cfn-lint -- --synthesized <dir>       lints <dir>/<target>/ as written by .ci/run's synth
 *                                                 steps (`cdk synth -o <dir>/<target>`)
 *
 * Fails on: any error; any warning not acknowledged in cfn-lint-acknowledged.yaml; any
 * acknowledgement that no longer matches a warning (so the list cannot rot); cfn-lint missing or
 * not version 1.51.x (it comes from the system Python; PyPI is not reachable from CI).
 *
 * Errors are never acknowledged. Where cfn-lint's bundled resource schemas are older than
 * CloudFormation (SCHEMA_PATCHES), the current property is added to a copy of cfn-lint's own schema
 * and passed with --registry-schemas; a patch that cfn-lint no longer needs fails the check.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

const ROOT = join(__dirname, '..');
const CFN_LINT_VERSION = /^cfn-lint 1\.51\./;
const BRANCH = 'feature/new_cool_page';

/** What is synthesized: a name (also the sub-directory), where, and the context. */
interface Target {
  readonly name: string;
  readonly cwd: string;
  readonly context: string[];
}

export function targets(): Target[] {
  const list: Target[] = [
    { name: 'app-shared', cwd: ROOT, context: [] },
    { name: 'app-feature', cwd: ROOT, context: ['-c', `branch=${BRANCH}`] },
    { name: 'app-feature-lite', cwd: ROOT, context: ['-c', `branch=${BRANCH}`, '-c', 'lite=true'] },
  ];
  for (const example of readdirSync(join(ROOT, 'examples')).sort()) {
    const cwd = join(ROOT, 'examples', example);
    if (!existsSync(join(cwd, 'cdk.json'))) continue;
    list.push({ name: `example-${example}-shared`, cwd, context: [] });
    list.push({ name: `example-${example}-branch`, cwd, context: ['-c', `branch=${BRANCH}`] });
  }
  return list;
}

/**
 * cfn-lint 1.51's resource schemas (May 2026) lack `Tags` on ELBv2 listeners and listener rules,
 * so it reports E3002 "'Tags' was unexpected" on every tagged one. CloudFormation has the property:
 * aws-cdk-lib 2.276's L1s, generated from the CloudFormation registry schemas, declare
 * `CfnListenerProps.tags` / `CfnListenerRuleProps.tags` (documented at
 * aws-resource-elasticloadbalancingv2-listener.html#cfn-elasticloadbalancingv2-listener-tags) and
 * implement ITaggableV2, and aws-cdk-lib's own CloudFormation Validate (E3002 included, newer
 * schemas) accepts the same templates.
 */
const SCHEMA_PATCHES = [
  { type: 'AWS::ElasticLoadBalancingV2::Listener', property: 'Tags' },
  { type: 'AWS::ElasticLoadBalancingV2::ListenerRule', property: 'Tags' },
];

export interface Finding {
  readonly target: string;
  readonly template: string;
  readonly rule: string;
  readonly level: string;
  readonly resource: string;
  readonly resourceType: string;
  readonly path: string;
  readonly message: string;
}

export interface Acknowledgement {
  readonly rule: string;
  /** Target/template globs (`*` any characters), e.g. `app-*` or `*`. */
  readonly templates: string;
  /** Logical-id glob. */
  readonly resources: string;
  readonly resourceTypes?: string[];
  /** A regular expression the message must match. */
  readonly message?: string;
  readonly reason: string;
}

/**
 * The verdict on cfn-lint's findings, given the acknowledgements: every error is a problem, every
 * warning no acknowledgement matches is a problem, an acknowledgement of an error or without a
 * reason is a problem, and so is an acknowledgement that matches nothing. Pure: test/cfn-lint.test.ts.
 */
export function judge(findings: Finding[], acks: Acknowledgement[]): { problems: string[]; used: Map<Acknowledgement, number>; counts: Map<string, number> } {
  const problems: string[] = [];
  for (const a of acks) {
    if (!/^[WI]\d+$/.test(a.rule)) problems.push(`cfn-lint-acknowledged.yaml: ${a.rule} is not a warning: errors are fixed, never acknowledged`);
    if (!a.reason?.trim()) problems.push(`cfn-lint-acknowledged.yaml: ${a.rule} ${a.resources} has no reason`);
  }
  const used = new Map<Acknowledgement, number>(acks.map((a) => [a, 0]));
  const matches = (a: Acknowledgement, f: Finding) =>
    a.rule === f.rule &&
    glob(a.templates).test(`${f.target}/${f.template}`) &&
    glob(a.resources).test(f.resource) &&
    (!a.resourceTypes || a.resourceTypes.includes(f.resourceType)) &&
    (!a.message || new RegExp(a.message).test(f.message));

  const counts = new Map<string, number>();
  for (const f of findings) {
    counts.set(`${f.rule} (${f.level})`, (counts.get(`${f.rule} (${f.level})`) ?? 0) + 1);
    const where = `${f.target}/${f.template} ${f.path}: ${f.rule} ${f.message}`;
    if (f.level === 'Error') {
      problems.push(`error: ${where}`);
      continue;
    }
    const ack = acks.find((a) => /^[WI]\d+$/.test(a.rule) && matches(a, f));
    if (ack) used.set(ack, used.get(ack)! + 1);
    else problems.push(`unacknowledged ${f.level.toLowerCase()}: ${where}`);
  }
  for (const [a, n] of used) if (n === 0) problems.push(`cfn-lint-acknowledged.yaml: the acknowledgement of ${a.rule} on ${a.templates} ${a.resources} matches nothing any more: remove it`);
  return { problems, used, counts };
}

function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

function cfnLintSchemaDir(): string {
  const out = execFileSync('python3', ['-c', 'import cfnlint, os; print(os.path.dirname(cfnlint.__file__))'], { encoding: 'utf8' });
  return join(out.trim(), 'data', 'schemas');
}

/** Copies of cfn-lint's own schemas with the missing properties; fails when one is no longer missing. */
function patchedSchemas(dir: string): string {
  const schemas = cfnLintSchemaDir();
  const providers = readFileSync(join(schemas, 'providers', 'us_east_1.py'), 'utf8');
  mkdirSync(dir, { recursive: true });
  for (const patch of SCHEMA_PATCHES) {
    const m = new RegExp(`"${patch.type.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}": "([0-9a-f]+)"`).exec(providers);
    if (!m) throw new Error(`cfn-lint has no schema for ${patch.type}: check SCHEMA_PATCHES in scripts/cfn-lint.ts`);
    const schema = JSON.parse(readFileSync(join(schemas, 'resources', `${m[1]}.json`), 'utf8'));
    if (schema.properties[patch.property]) {
      throw new Error(`cfn-lint's schema of ${patch.type} has ${patch.property} now: remove it from SCHEMA_PATCHES in scripts/cfn-lint.ts`);
    }
    schema.definitions = schema.definitions ?? {};
    schema.definitions.CfnLintPatchTag = {
      type: 'object',
      additionalProperties: false,
      properties: { Key: { type: 'string', minLength: 1, maxLength: 128 }, Value: { type: 'string', maxLength: 256 } },
      required: ['Key', 'Value'],
    };
    schema.properties[patch.property] = { type: 'array', uniqueItems: false, insertionOrder: false, items: { $ref: '#/definitions/CfnLintPatchTag' } };
    writeFileSync(join(dir, `${patch.type.replace(/::/g, '-').toLowerCase()}.json`), JSON.stringify(schema));
  }
  return dir;
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

async function synthesize(all: Target[], out: string): Promise<void> {
  const queue = [...all];
  const worker = async () => {
    for (let t = queue.shift(); t; t = queue.shift()) {
      const started = Date.now();
      const r = await run('npx', ['cdk', 'synth', '--quiet', '-o', join(out, t.name), ...t.context], t.cwd);
      if (r.code !== 0) throw new Error(`cdk synth of ${t.name} failed:\n${r.stderr}`);
      console.log(`cfn-lint: synthesized ${t.name} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  };
  await Promise.all([worker(), worker()]);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const started = Date.now();
  let version: string;
  try {
    version = execFileSync('cfn-lint', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('cfn-lint is not on PATH. It is preinstalled in the system Python 3.11 on these machines (cfn-lint 1.51.0); elsewhere: pip install cfn-lint==1.51.0');
  }
  if (!CFN_LINT_VERSION.test(version)) throw new Error(`cfn-lint 1.51.x expected (the acknowledgements are reviewed against it), found "${version}"`);

  const work = mkdtempSync(join(tmpdir(), 'cfn-lint-'));
  try {
    const all = targets();
    let out: string;
    const at = args.indexOf('--synthesized');
    if (at >= 0) {
      out = resolve(args[at + 1] ?? '');
      if (!args[at + 1]) throw new Error('--synthesized needs a directory');
    } else {
      out = join(work, 'synth');
      await synthesize(all, out);
    }
    const templates: { target: string; file: string }[] = [];
    for (const t of all) {
      const dir = join(out, t.name);
      const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.template.json')) : [];
      if (files.length === 0) throw new Error(`no template in ${dir}: was ${t.name} synthesized (cdk synth -o ${dir})?`);
      for (const f of files) templates.push({ target: t.name, file: join(dir, f) });
    }

    const schemas = patchedSchemas(join(work, 'schemas'));
    // Two cfn-lint processes side by side (one per core here), each with about half the bytes.
    const chunks: string[][] = [[], []];
    const sizes = [0, 0];
    for (const t of [...templates].sort((a, b) => statSync(b.file).size - statSync(a.file).size)) {
      const i = sizes[0] <= sizes[1] ? 0 : 1;
      chunks[i].push(t.file);
      sizes[i] += statSync(t.file).size;
    }
    const raw: any[] = [];
    for (const lint of await Promise.all(chunks.filter((c) => c.length > 0).map((c) => run('cfn-lint', ['--format', 'json', '--registry-schemas', schemas, '--', ...c], ROOT)))) {
      // Exit status bits 2/4/8 are errors/warnings/infos found; bit 1 is a failure of cfn-lint itself.
      let found: unknown;
      try {
        found = JSON.parse(lint.stdout);
      } catch {
        found = undefined;
      }
      if (!Array.isArray(found) || (lint.code & 1) !== 0) throw new Error(`cfn-lint failed (exit ${lint.code}):\n${lint.stdout}\n${lint.stderr}`);
      raw.push(...found);
    }
    const parsed = new Map(templates.map((t) => [t.file, { target: t.target, body: JSON.parse(readFileSync(t.file, 'utf8')) }]));
    const findings: Finding[] = raw.map((x) => {
      const filename = String(x.Filename ?? '?');
      const path: unknown[] = x.Location?.Path ?? [];
      const t = parsed.get(filename) ?? parsed.get(join(ROOT, filename));
      const resource = path[0] === 'Resources' ? String(path[1]) : '';
      return {
        target: t?.target ?? '?',
        template: filename.split('/').pop() ?? filename,
        rule: x.Rule.Id,
        level: x.Level,
        resource,
        resourceType: resource ? (t?.body.Resources?.[resource]?.Type ?? '') : '',
        path: path.join('/'),
        message: x.Message,
      };
    });

    const acks = (parse(readFileSync(join(ROOT, 'cfn-lint-acknowledged.yaml'), 'utf8')) ?? []) as Acknowledgement[];
    const { problems, used, counts } = judge(findings, acks);

    console.log(`cfn-lint: ${version}, ${templates.length} templates of ${all.length} targets, ${findings.length} findings`);
    for (const [k, n] of [...counts].sort()) console.log(`  ${k}: ${n}`);
    for (const [a, n] of used) if (n > 0) console.log(`  acknowledged ${a.rule} ×${n} (${a.templates} ${a.resources}): ${a.reason.trim().split('\n')[0]}`);
    console.log(`cfn-lint: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (problems.length > 0) {
      console.error(`cfn-lint: FAILED, ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
      process.exitCode = 1;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(`cfn-lint: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
