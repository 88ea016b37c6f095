import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { parseDocument } from 'yaml';
import { buildStagingApp } from '../bin/staging-app';
import { FeatureOutputs, SharedStackOutputs, StagingKinds, TagKeys } from '../lib/contract/staging';
import { StagingNames } from '../lib/contract/naming';
import { decide as decideQuota } from '../lambda/staging-quota';
import { FEATURE_FLAGS } from './util/validate';

/*
 * The CI workflows of examples/ci/ and the GitLab setup of docs/ci.md: they parse, they trigger
 * on the right events, they pass the real branch, every `cdk` command they run exists in the
 * ready-made app, and their scripts behave (run here with a fake `aws` and mocked GitHub APIs).
 */

const ROOT = join(__dirname, '..');
const CDK_JSON = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8'));
const STAGING = CDK_JSON.context.staging;
const BRANCH = 'feature/x';
const STACK_NAME = StagingNames.fromBranch(BRANCH, STAGING.prefix).stackName;
const MARKER = '<!-- staging-url -->';

type Json = any;

interface Workflow {
  readonly file: string;
  readonly text: string;
  readonly doc: Json;
}

function loadYaml(file: string, text: string): Json {
  const doc = parseDocument(text, { strict: true, uniqueKeys: true, prettyErrors: true });
  const problems = [...doc.errors, ...doc.warnings].map((e) => e.message);
  if (problems.length > 0) throw new Error(`${file} is not clean YAML:\n${problems.join('\n')}`);
  return doc.toJS();
}

function loadWorkflow(name: string): Workflow {
  const file = join(ROOT, 'examples', 'ci', name);
  const text = readFileSync(file, 'utf8');
  return { file, text, doc: loadYaml(file, text) };
}

const deploy = loadWorkflow('staging-deploy.yml');
const destroy = loadWorkflow('staging-destroy.yml');
const workflows = [deploy, destroy];

function onlyJob(wf: Workflow): Json {
  const jobs = Object.values(wf.doc.jobs ?? {});
  if (jobs.length !== 1) throw new Error(`${wf.file}: expected one job, found ${jobs.length}`);
  return jobs[0];
}

function steps(wf: Workflow): Json[] {
  return onlyJob(wf).steps as Json[];
}

function step(wf: Workflow, name: string): Json {
  const found = steps(wf).find((s) => s.name === name);
  if (!found) throw new Error(`${wf.file}: no step named ${JSON.stringify(name)}`);
  return found;
}

/** Every string value in the parsed document, with its path (comments are not values). */
function strings(node: Json, path = ''): Array<{ path: string; value: string }> {
  if (typeof node === 'string') return [{ path, value: node }];
  if (Array.isArray(node)) return node.flatMap((n, i) => strings(n, `${path}[${i}]`));
  if (node && typeof node === 'object') return Object.entries(node).flatMap(([k, v]) => strings(v, path ? `${path}.${k}` : k));
  return [];
}

// ---------------------------------------------------------------------------------------------
// A small evaluator of GitHub Actions expressions: literals, contexts, `.x`, `['x']`, `.*` object
// filters, ! == != < <= > >= && || (with GitHub's value-returning && and ||, case-insensitive
// string equality) and contains/startsWith/endsWith.

class Filtered {
  constructor(public readonly items: unknown[]) {}
}

type Token = { kind: 'str' | 'num' | 'id' | 'op'; value: string };

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new Error(`unterminated string in ${src}`);
        if (src[i] === "'") {
          if (src[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += src[i++];
      }
      tokens.push({ kind: 'str', value });
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?/.exec(src.slice(i))!;
      tokens.push({ kind: 'num', value: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(src.slice(i))!;
      tokens.push({ kind: 'id', value: m[0] });
      i += m[0].length;
    } else {
      const op = ['==', '!=', '<=', '>=', '&&', '||'].find((o) => src.startsWith(o, i)) ?? c;
      if (!['==', '!=', '<=', '>=', '&&', '||', '!', '<', '>', '(', ')', '[', ']', '.', ',', '*'].includes(op)) {
        throw new Error(`unexpected ${JSON.stringify(op)} in expression ${src}`);
      }
      tokens.push({ kind: 'op', value: op });
      i += op.length;
    }
  }
  return tokens;
}

function plain(v: unknown): unknown {
  if (v instanceof Filtered) return v.items;
  return v === undefined ? null : v;
}

function truthy(v: unknown): boolean {
  const p = plain(v);
  return !(p === null || p === false || p === 0 || p === '' || (typeof p === 'number' && Number.isNaN(p)));
}

function toNumber(v: unknown): number {
  if (v === null) return 0;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return v.trim() === '' ? 0 : Number(v);
  return NaN;
}

function equal(a: unknown, b: unknown): boolean {
  const x = plain(a);
  const y = plain(b);
  if (typeof x === 'string' && typeof y === 'string') return x.toLowerCase() === y.toLowerCase();
  if (typeof x === typeof y || x === null || y === null) {
    if (x === null || y === null) return x === y;
    return x === y;
  }
  return toNumber(x) === toNumber(y);
}

function text(v: unknown): string {
  const p = plain(v);
  if (p === null) return '';
  if (typeof p === 'object') return JSON.stringify(p);
  return String(p);
}

function member(target: unknown, key: string): unknown {
  if (target instanceof Filtered) {
    return new Filtered(target.items.map((i) => member(i, key)).filter((v) => v !== undefined && v !== null));
  }
  if (target === null || typeof target !== 'object') return null;
  const hit = Object.keys(target).find((k) => k.toLowerCase() === key.toLowerCase());
  return hit === undefined ? null : (target as Record<string, unknown>)[hit];
}

function evaluate(src: string, context: Record<string, unknown>): unknown {
  const tokens = tokenize(src);
  let pos = 0;
  const peek = (value?: string) => (pos < tokens.length && (value === undefined || tokens[pos].value === value) ? tokens[pos] : undefined);
  const expect = (value: string) => {
    if (!peek(value)) throw new Error(`expected ${value} at token ${pos} of ${src}`);
    pos++;
  };
  const functions: Record<string, (...args: unknown[]) => unknown> = {
    contains: (hay, needle) => {
      const h = plain(hay);
      if (Array.isArray(h)) return h.some((item) => equal(item, needle));
      return text(h).toLowerCase().includes(text(needle).toLowerCase());
    },
    startswith: (s, p) => text(s).toLowerCase().startsWith(text(p).toLowerCase()),
    endswith: (s, p) => text(s).toLowerCase().endsWith(text(p).toLowerCase()),
  };

  function primary(): unknown {
    const t = tokens[pos++];
    if (!t) throw new Error(`unexpected end of ${src}`);
    if (t.kind === 'str') return t.value;
    if (t.kind === 'num') return Number(t.value);
    if (t.kind === 'op' && t.value === '(') {
      const v = or();
      expect(')');
      return v;
    }
    if (t.kind === 'id') {
      const lower = t.value.toLowerCase();
      if (lower === 'true') return true;
      if (lower === 'false') return false;
      if (lower === 'null') return null;
      if (peek('(')) {
        pos++;
        const args: unknown[] = [];
        while (!peek(')')) {
          args.push(or());
          if (peek(',')) pos++;
        }
        expect(')');
        const fn = functions[lower];
        if (!fn) throw new Error(`unsupported function ${t.value} in ${src}`);
        return fn(...args);
      }
      if (!(t.value in context)) throw new Error(`unknown context ${t.value} in ${src}`);
      return context[t.value];
    }
    throw new Error(`unexpected ${t.value} in ${src}`);
  }

  function postfix(): unknown {
    let v = primary();
    for (;;) {
      if (peek('.')) {
        pos++;
        if (peek('*')) {
          pos++;
          const p = plain(v);
          v = new Filtered(Array.isArray(p) ? p : p && typeof p === 'object' ? Object.values(p) : []);
        } else {
          const t = tokens[pos++];
          if (!t || t.kind !== 'id') throw new Error(`expected a property name in ${src}`);
          v = member(v, t.value);
        }
      } else if (peek('[')) {
        pos++;
        const key = or();
        expect(']');
        v = member(v, text(key));
      } else {
        return v;
      }
    }
  }

  function unary(): unknown {
    if (peek('!')) {
      pos++;
      return !truthy(unary());
    }
    return postfix();
  }

  function comparison(): unknown {
    let v = unary();
    while (peek('<') || peek('<=') || peek('>') || peek('>=')) {
      const op = tokens[pos++].value;
      const a = toNumber(plain(v));
      const b = toNumber(plain(unary()));
      v = op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
    }
    return v;
  }

  function equality(): unknown {
    let v = comparison();
    while (peek('==') || peek('!=')) {
      const op = tokens[pos++].value;
      const r = comparison();
      v = op === '==' ? equal(v, r) : !equal(v, r);
    }
    return v;
  }

  function and(): unknown {
    let v = equality();
    while (peek('&&')) {
      pos++;
      const r = equality();
      v = truthy(v) ? r : v;
    }
    return v;
  }

  function or(): unknown {
    let v = and();
    while (peek('||')) {
      pos++;
      const r = and();
      v = truthy(v) ? v : r;
    }
    return v;
  }

  const result = or();
  if (pos !== tokens.length) throw new Error(`unexpected ${tokens[pos].value} in ${src}`);
  return plain(result);
}

/** A value with `${{ }}` interpolations, as GitHub renders it into a string. */
function render(value: string, context: Record<string, unknown>): string {
  return value.replace(/\$\{\{(.*?)\}\}/gs, (_, expr: string) => text(evaluate(expr, context)));
}

/** An `if:` condition, with or without `${{ }}`. */
function condition(value: string, context: Record<string, unknown>): boolean {
  const trimmed = value.trim();
  const m = /^\$\{\{(.*)\}\}$/s.exec(trimmed);
  return truthy(evaluate(m ? m[1] : trimmed, context));
}

// ---------------------------------------------------------------------------------------------
// Events, shaped like GitHub's contexts. The decoys matter: on pull_request events ref_name is
// `<n>/merge`, on delete and dispatch events it is the default branch.

const REPO = 'acme/app';
const repository = { full_name: REPO, default_branch: 'main', name: 'app', owner: { login: 'acme' } };

interface Scenario {
  readonly github: Json;
  readonly inputs?: Json;
  readonly vars?: Json;
}

function pullRequest(action: string, opts: { labels?: string[]; label?: string; fork?: boolean; merged?: boolean } = {}): Scenario {
  return {
    github: {
      event_name: 'pull_request',
      ref: 'refs/pull/12/merge',
      ref_name: '12/merge',
      head_ref: BRANCH,
      base_ref: 'main',
      repository: REPO,
      run_id: '4242',
      sha: 'merge0000000000000000000000000000000000000',
      event: {
        action,
        number: 12,
        label: opts.label === undefined ? undefined : { name: opts.label },
        repository,
        pull_request: {
          number: 12,
          merged: opts.merged ?? false,
          labels: (opts.labels ?? []).map((name) => ({ name })),
          head: { ref: BRANCH, sha: 'head00000000000000000000000000000000000000', repo: { full_name: opts.fork ? 'mallory/app' : REPO } },
          base: { ref: 'main', repo: { full_name: REPO } },
        },
      },
    },
  };
}

function dispatch(branch = BRANCH): Scenario {
  return {
    github: {
      event_name: 'workflow_dispatch',
      ref: 'refs/heads/main',
      ref_name: 'main',
      head_ref: '',
      repository: REPO,
      run_id: '4243',
      event: { inputs: { branch }, repository },
    },
    inputs: { branch },
  };
}

function deleted(refType: 'branch' | 'tag', ref = BRANCH): Scenario {
  return {
    github: {
      event_name: 'delete',
      ref: 'refs/heads/main',
      ref_name: 'main',
      head_ref: '',
      repository: REPO,
      run_id: '4244',
      event: { ref, ref_type: refType, repository },
    },
  };
}

function contextOf(s: Scenario, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { github: s.github, inputs: s.inputs ?? {}, vars: s.vars ?? {}, env: {}, steps: {}, runner: { os: 'Linux' }, secrets: {}, ...extra };
}

// ---------------------------------------------------------------------------------------------
// `cdk` commands inside run scripts, tokenized like a shell would (quotes, $VAR, ${VAR:-}).

interface CdkCommand {
  readonly source: string;
  readonly verb: string;
  readonly args: string[];
  /** Shell variables the command reads, by name. */
  readonly variables: string[];
}

const SHELL_OPERATORS = ['&&', '||', '>>', '2>', '>', '<', '|', ';', ')'];

/** Tokenizes one shell command line up to its first operator; `vars` supplies $VAR values. */
function shellWords(line: string, vars: Record<string, string>, used: Set<string>): string[] {
  const words: string[] = [];
  let i = 0;
  let word: string | undefined;
  const expand = (): string => {
    // at a `$`
    const m = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}|([A-Za-z_][A-Za-z0-9_]*))/.exec(line.slice(i));
    if (!m) throw new Error(`unsupported shell expansion in: ${line}`);
    const name = m[1] ?? m[2];
    i += m[0].length;
    used.add(name);
    if (!(name in vars)) throw new Error(`no sample value for $${name} (in: ${line})`);
    return vars[name];
  };
  while (i < line.length) {
    const c = line[i];
    if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
      i++;
      continue;
    }
    if (word === undefined && SHELL_OPERATORS.some((op) => line.startsWith(op, i))) break;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in: ${line}`);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      let s = '';
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '$') s += expand();
        else if (line[i] === '\\') {
          s += line[i + 1];
          i += 2;
        } else s += line[i++];
      }
      if (line[i] !== '"') throw new Error(`unterminated " in: ${line}`);
      i++;
      word = (word ?? '') + s;
    } else if (c === '$') {
      word = (word ?? '') + expand();
    } else {
      word = (word ?? '') + c;
      i++;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** Every `npx cdk <verb> ...` in a script, with $VARs replaced by `vars`. */
function cdkCommands(script: string, vars: Record<string, string>): CdkCommand[] {
  const lines = script.replace(/\\\n\s*/g, ' ').split('\n');
  const commands: CdkCommand[] = [];
  for (const line of lines) {
    for (const m of line.matchAll(/(?:^|[\s;&|(])npx\s+cdk\s+(.*)$/g)) {
      const used = new Set<string>();
      const [verb, ...args] = shellWords(m[1], vars, used);
      commands.push({ source: line.trim(), verb, args, variables: [...used] });
    }
  }
  return commands;
}

/** The options of `cdk <verb> --help`: name (and aliases) → yargs type and choices. */
const helpCache = new Map<string, Map<string, { type: string; choices?: string[] }>>();
function cdkOptions(verb: string): Map<string, { type: string; choices?: string[] }> {
  const cached = helpCache.get(verb);
  if (cached) return cached;
  const cdk = join(ROOT, 'node_modules', '.bin', 'cdk');
  const res = spawnSync(cdk, [verb, '--help'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: 'false' } });
  const help = `${res.stdout}\n${res.stderr}`;
  if (res.status !== 0 || !/Options:/.test(help)) throw new Error(`cdk ${verb} --help failed: ${help}`);
  const options = new Map<string, { type: string; choices?: string[] }>();
  const lines = help.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const head = /^ {2}((?:--?[A-Za-z][\w-]*)(?:, --?[A-Za-z][\w-]*)*)\s/.exec(lines[i]);
    if (!head) continue;
    let block = lines[i].slice(head[0].length);
    for (let j = i + 1; j < lines.length && !/^ {2}-/.test(lines[j]) && lines[j].trim() !== ''; j++) block += ` ${lines[j]}`;
    const type = /\[(boolean|string|array|count|number)\]/.exec(block)?.[1] ?? 'string';
    const choices = /\[choices: ([^\]]+)\]/.exec(block)?.[1].split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
    for (const name of head[1].split(', ')) options.set(name, { type, choices });
  }
  helpCache.set(verb, options);
  return options;
}

/** The context keys of readBranchContext (bin/config.ts): what `-c` may set for a branch. */
const BRANCH_CONTEXT_KEYS = ['branch', 'lite', 'image', 'env', 'refreshData', 'commit', 'pullRequest'];

interface ParsedCdk {
  readonly context: Record<string, string>;
  readonly flags: Record<string, string | boolean>;
}

/** Parses a cdk command's arguments against its `--help`; throws on an unknown option. */
function parseCdkArgs(cmd: CdkCommand): ParsedCdk {
  const options = cdkOptions(cmd.verb);
  const context: Record<string, string> = {};
  const flags: Record<string, string | boolean> = {};
  for (let i = 0; i < cmd.args.length; i++) {
    const arg = cmd.args[i];
    if (!arg.startsWith('-')) throw new Error(`${cmd.source}: positional argument ${arg} (a stack selector): the app has exactly one stack, name none`);
    const eq = arg.indexOf('=');
    let name = eq > 0 ? arg.slice(0, eq) : arg;
    let negated = false;
    if (!options.has(name) && name.startsWith('--no-') && options.get(`--${name.slice(5)}`)?.type === 'boolean') {
      name = `--${name.slice(5)}`;
      negated = true;
    }
    const option = options.get(name);
    if (!option) throw new Error(`${cmd.source}: cdk ${cmd.verb} has no option ${arg}`);
    if (option.type === 'boolean' || option.type === 'count') {
      flags[name] = !negated;
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : cmd.args[++i];
    if (value === undefined) throw new Error(`${cmd.source}: ${name} needs a value`);
    if (option.choices && !option.choices.includes(value)) throw new Error(`${cmd.source}: ${name} ${value} is not one of ${option.choices.join(', ')}`);
    if (name === '--context' || name === '-c') {
      const kv = /^([^=]+)=(.*)$/s.exec(value);
      if (!kv) throw new Error(`${cmd.source}: context ${value} is not KEY=VALUE`);
      context[kv[1]] = kv[2];
    } else {
      flags[name] = value;
    }
  }
  return { context, flags };
}

/** The ready-made app with the command's context, as `cdk` would run it (cdk.json context below). */
const synthCache = new Map<string, { stackNames: string[]; kind?: string; outputs: string[]; values: Record<string, unknown> }>();
function synthesize(context: Record<string, string>) {
  const key = JSON.stringify(context);
  const cached = synthCache.get(key);
  if (cached) return cached;
  const app = new App({
    outdir: mkdtempSync(join(tmpdir(), 'ci-workflows-')),
    context: { ...FEATURE_FLAGS, staging: STAGING, ...context },
  });
  const stacks = buildStagingApp(app);
  const assembly = app.synth();
  const result = {
    stackNames: assembly.stacks.map((s) => s.stackName),
    kind: assembly.stacks[0]?.tags[TagKeys.KIND],
    outputs: Object.keys((assembly.stacks[0]?.template as Json)?.Outputs ?? {}),
    values: Object.fromEntries(Object.entries<Json>((assembly.stacks[0]?.template as Json)?.Outputs ?? {}).map(([k, o]) => [k, o.Value])),
  };
  expect(stacks).toHaveLength(1);
  synthCache.set(key, result);
  return result;
}

/** What "Resolve the stack" outputs (the commit is the checkout's `git rev-parse HEAD`), for the steps that read it. */
const SAMPLE_COMMIT = '3f2a1bc0d9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4';
const STEP_OUTPUTS = { stack: { outputs: { name: STACK_NAME, region: STAGING.region, sha: SAMPLE_COMMIT } } };

/** Sample values of the shell variables the workflows' cdk commands read: the job's env, then the steps' own. */
function sampleVariables(wf: Workflow, scenario: Scenario): Array<Record<string, string>> {
  const env = onlyJob(wf).env ?? {};
  const context = contextOf(scenario);
  const stepEnv = Object.fromEntries(steps(wf).flatMap((s) => Object.entries((s.env ?? {}) as Json)).map(([k, v]) => [k, render(String(v), contextOf(scenario, { steps: STEP_OUTPUTS }))]));
  const base: Record<string, string> = { ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, render(String(v), context)])), ...stepEnv };
  // IMAGE comes from the optional image step (through $GITHUB_ENV); LITE from a repository variable.
  const image = { IMAGE: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:3f2a1bc0d9e8' };
  const variants: Array<Record<string, string>> = [];
  for (const lite of [undefined, 'true', 'false']) {
    const rendered = Object.fromEntries(
      Object.entries(env).map(([k, v]) => [k, render(String(v), contextOf({ ...scenario, vars: { STAGING_LITE: lite } }))]),
    );
    variants.push({ ...base, ...rendered, ...image });
  }
  return variants;
}

function runScripts(wf: Workflow): Array<{ name: string; run: string }> {
  return steps(wf)
    .filter((s) => typeof s.run === 'string')
    .map((s) => ({ name: s.name ?? s.run, run: s.run as string }));
}

// ---------------------------------------------------------------------------------------------
// Running a step's script for real: bash as GitHub runs `shell: bash`, fake tools first on PATH.

interface StepRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly outputs: Record<string, string>;
  readonly summary: string;
  readonly calls: string[];
}

function runStep(script: string, opts: { env?: Record<string, string>; cwd?: string; fakes?: Record<string, string> } = {}): StepRun {
  const dir = mkdtempSync(join(tmpdir(), 'ci-step-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const [name, body] of Object.entries(opts.fakes ?? {})) {
    const file = join(bin, name);
    writeFileSync(file, `#!/usr/bin/env bash\necho "${name} $*" >> "$FAKE_CALLS"\n${body}\n`);
    chmodSync(file, 0o755);
  }
  const outputFile = join(dir, 'output');
  const summaryFile = join(dir, 'summary');
  const callsFile = join(dir, 'calls');
  for (const f of [outputFile, summaryFile, callsFile]) writeFileSync(f, '');
  const scriptFile = join(dir, 'step.sh');
  writeFileSync(scriptFile, script);
  const res = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', scriptFile], {
    cwd: opts.cwd ?? dir,
    encoding: 'utf8',
    env: {
      ...process.env,
      CI: 'true',
      PATH: `${bin}${delimiter}${process.env.PATH}`,
      GITHUB_OUTPUT: outputFile,
      GITHUB_STEP_SUMMARY: summaryFile,
      FAKE_CALLS: callsFile,
      ...opts.env,
    },
    timeout: 110_000,
  });
  const outputs: Record<string, string> = {};
  for (const line of readFileSync(outputFile, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) outputs[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return {
    status: res.status,
    stdout: res.stdout,
    stderr: res.stderr,
    outputs,
    summary: readFileSync(summaryFile, 'utf8'),
    calls: readFileSync(callsFile, 'utf8').split('\n').filter(Boolean),
  };
}

// ---------------------------------------------------------------------------------------------
// github-script steps, run with a mocked octokit.

interface Comment {
  id: number;
  body: string;
  user: { login: string; type: string };
}

function fakeGitHub(comments: Comment[], openPulls: Array<{ number: number }> = []) {
  const calls: Array<{ method: string; params: Json }> = [];
  const record = (method: string, result: (params: Json) => unknown = () => ({})) =>
    jest.fn(async (params: Json) => {
      calls.push({ method, params });
      return { data: result(params) };
    });
  const listComments = record('issues.listComments', () => comments);
  const github = {
    rest: {
      issues: {
        listComments,
        createComment: record('issues.createComment'),
        updateComment: record('issues.updateComment'),
      },
      pulls: { list: record('pulls.list', () => openPulls) },
    },
    paginate: jest.fn(async (fn: (p: Json) => Promise<{ data: unknown[] }>, params: Json) => (await fn(params)).data),
  };
  return { github, calls };
}

async function runGithubScript(script: string, scenario: Scenario, env: Record<string, string>, github: Json) {
  const summary: string[] = [];
  const core = {
    info: jest.fn(),
    summary: {
      addRaw(s: string) {
        summary.push(s);
        return this;
      },
      write: jest.fn(async () => undefined),
    },
  };
  const payload = scenario.github.event;
  const context = { repo: { owner: 'acme', repo: 'app' }, payload, eventName: scenario.github.event_name, sha: scenario.github.sha };
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor;
    await new AsyncFunction('github', 'context', 'core', 'require', script)(github, context, core, require);
  } finally {
    for (const k of Object.keys(env)) {
      if (k in saved) process.env[k] = saved[k];
      else delete process.env[k];
    }
  }
  return { summary: summary.join('') };
}

// =============================================================================================

describe('the workflow files', () => {
  test.each(workflows.map((w) => [w.file.replace(`${ROOT}/`, ''), w] as const))('%s parses as YAML with a name, triggers and one job', (_, wf) => {
    expect(typeof wf.doc.name).toBe('string');
    expect(wf.doc.on).toBeDefined();
    expect(Object.keys(wf.doc.jobs)).toHaveLength(1);
    expect(onlyJob(wf)['runs-on']).toBe('ubuntu-latest');
  });

  test('deploy triggers: pull_request opened/synchronize/reopened/labeled, and workflow_dispatch with a required branch', () => {
    expect(Object.keys(deploy.doc.on).sort()).toEqual(['pull_request', 'workflow_dispatch']);
    expect([...deploy.doc.on.pull_request.types].sort()).toEqual(['labeled', 'opened', 'reopened', 'synchronize']);
    expect(Object.keys(deploy.doc.on.pull_request)).toEqual(['types']); // no branch filter: any base branch
    expect(deploy.doc.on.workflow_dispatch.inputs).toEqual({ branch: expect.objectContaining({ required: true, type: 'string' }) });
  });

  test('destroy triggers: pull_request closed, delete, and workflow_dispatch with a required branch', () => {
    expect(Object.keys(destroy.doc.on).sort()).toEqual(['delete', 'pull_request', 'workflow_dispatch']);
    expect(destroy.doc.on.pull_request).toEqual({ types: ['closed'] });
    expect(destroy.doc.on.delete).toBeNull();
    expect(destroy.doc.on.workflow_dispatch.inputs).toEqual({ branch: expect.objectContaining({ required: true, type: 'string' }) });
  });

  test.each(workflows.map((w) => [w.file.replace(`${ROOT}/`, ''), w] as const))('%s pins every action by major version or full SHA', (_, wf) => {
    const uses = steps(wf).filter((s) => s.uses).map((s) => s.uses as string);
    expect(uses.length).toBeGreaterThan(0);
    for (const u of uses) expect(u).toMatch(/^[\w.-]+\/[\w.-]+@(v\d+|[0-9a-f]{40})$/);
    expect(uses.map((u) => u.split('@')[0])).toEqual(
      expect.arrayContaining(['actions/checkout', 'actions/setup-node', 'aws-actions/configure-aws-credentials', 'actions/github-script']),
    );
    const node = steps(wf).find((s) => String(s.uses).startsWith('actions/setup-node@'));
    expect(node.with).toMatchObject({ cache: 'npm' });
    expect(Number(node.with['node-version'])).toBeGreaterThanOrEqual(20);
    expect(runScripts(wf).some((s) => s.run.trim() === 'npm ci')).toBe(true);
  });
});

describe('which events run the jobs', () => {
  const runs = (wf: Workflow, s: Scenario) => condition(onlyJob(wf).if, contextOf(s));

  test.each([
    ['a PR labelled staging is opened', true, pullRequest('opened', { labels: ['staging'] })],
    ['a push to a PR labelled staging', true, pullRequest('synchronize', { labels: ['bug', 'staging'] })],
    ['a PR labelled staging is reopened', true, pullRequest('reopened', { labels: ['staging'] })],
    ['the staging label is added', true, pullRequest('labeled', { labels: ['staging'], label: 'staging' })],
    ['the label is added in another case (GitHub compares case-insensitively)', true, pullRequest('labeled', { labels: ['Staging'], label: 'Staging' })],
    ['a manual run', true, dispatch()],
    ['a push to a PR without the label', false, pullRequest('synchronize', { labels: ['bug'] })],
    ['a PR opened without the label', false, pullRequest('opened')],
    ['another label is added to a staging PR (no redeploy)', false, pullRequest('labeled', { labels: ['staging', 'bug'], label: 'bug' })],
    ['a labelled PR from a fork', false, pullRequest('synchronize', { labels: ['staging'], fork: true })],
  ])('deploy: %s → runs: %s', (_, expected, scenario) => {
    expect(runs(deploy, scenario)).toBe(expected);
  });

  test.each([
    ['a PR is merged', true, pullRequest('closed', { labels: ['staging'], merged: true })],
    ['a PR is closed unmerged, even without the label (it may have been removed)', true, pullRequest('closed')],
    ['a branch is deleted', true, deleted('branch')],
    ['a manual run', true, dispatch()],
    ['a tag is deleted', false, deleted('tag', 'v1.2.3')],
    ['a PR from a fork is closed', false, pullRequest('closed', { labels: ['staging'], fork: true })],
  ])('destroy: %s → runs: %s', (_, expected, scenario) => {
    expect(runs(destroy, scenario)).toBe(expected);
  });
});

describe('the branch', () => {
  const events: Array<[string, Workflow, Scenario]> = [
    ['deploy, pull_request', deploy, pullRequest('synchronize', { labels: ['staging'] })],
    ['deploy, workflow_dispatch', deploy, dispatch()],
    ['destroy, pull_request closed', destroy, pullRequest('closed', { merged: true })],
    ['destroy, delete', destroy, deleted('branch')],
    ['destroy, workflow_dispatch', destroy, dispatch()],
  ];

  test.each(events)('%s: BRANCH is the real branch, not the merge ref or the default branch', (_, wf, scenario) => {
    const env = onlyJob(wf).env;
    expect(render(env.BRANCH, contextOf(scenario))).toBe(BRANCH);
  });

  test.each(events)('%s: the concurrency group is per branch and shared by both workflows; never cancelled', (_, wf, scenario) => {
    expect(wf.doc.concurrency['cancel-in-progress']).toBe(false);
    expect(render(wf.doc.concurrency.group, contextOf(scenario))).toBe(`staging-${BRANCH}`);
    const other = render(wf.doc.concurrency.group, contextOf({ ...scenario, ...swapBranch(scenario, 'fix/other') }));
    expect(other).toBe('staging-fix/other');
  });

  test('pull requests use github.head_ref; neither workflow reads github.ref_name or github.ref', () => {
    for (const wf of workflows) {
      expect(onlyJob(wf).env.BRANCH).toMatch(/github\.event_name == 'pull_request' && github\.head_ref/);
      const offenders = strings(wf.doc).filter((s) => /\bgithub\.ref(_name)?\b(?![_-])/.test(s.value));
      expect(offenders).toEqual([]);
    }
  });

  test('the deploy checks out the branch\'s own commit, the destroy the default branch', () => {
    const co = (wf: Workflow) => steps(wf).find((s) => String(s.uses).startsWith('actions/checkout@'));
    expect(render(co(deploy).with.ref, contextOf(pullRequest('synchronize', { labels: ['staging'] })))).toBe('head00000000000000000000000000000000000000');
    expect(render(co(deploy).with.ref, contextOf(dispatch()))).toBe(BRANCH);
    for (const s of [pullRequest('closed'), deleted('branch'), dispatch()]) expect(render(co(destroy).with.ref, contextOf(s))).toBe('main');
    for (const wf of workflows) expect(co(wf).with['persist-credentials']).toBe(false);
  });
});

/** The same scenario for another branch name. */
function swapBranch(s: Scenario, branch: string): Scenario {
  const github = JSON.parse(JSON.stringify(s.github));
  if (github.event_name === 'pull_request') {
    github.head_ref = branch;
    github.event.pull_request.head.ref = branch;
  }
  if (github.event_name === 'delete') github.event.ref = branch;
  return { github, inputs: s.inputs ? { branch } : undefined };
}

describe('credentials and permissions', () => {
  test.each(workflows.map((w) => [w.file.replace(`${ROOT}/`, ''), w] as const))('%s: OIDC only, least GITHUB_TOKEN permissions, no long-lived keys', (_, wf) => {
    expect(wf.doc.permissions).toEqual({});
    const expected: Record<string, string> = { 'id-token': 'write', 'contents': 'read', 'pull-requests': 'write' };
    expect(onlyJob(wf).permissions).toEqual(expected);
    for (const forbidden of [/aws-access-key-id/i, /aws-secret-access-key/i, /secrets\.AWS_/i, /AWS_ACCESS_KEY_ID/, /AWS_SECRET_ACCESS_KEY/]) {
      expect(wf.text).not.toMatch(forbidden);
    }
    const aws = steps(wf).filter((s) => String(s.uses).startsWith('aws-actions/configure-aws-credentials@'));
    expect(aws).toHaveLength(1);
    expect(aws[0].with['role-to-assume']).toBe('${{ vars.STAGING_DEPLOY_ROLE_ARN }}');
    expect(Object.keys(aws[0].with).sort()).toEqual(['aws-region', 'role-session-name', 'role-to-assume']);
  });

  test.each(workflows.map((w) => [w.file.replace(`${ROOT}/`, ''), w] as const))('%s: no ${{ }} inside any run: or script: (injection); expressions only in env and with', (_, wf) => {
    for (const s of steps(wf)) {
      if (s.run !== undefined) expect({ step: s.name, run: s.run }).toEqual({ step: s.name, run: expect.not.stringContaining('${{') });
      if (s.with?.script !== undefined) expect({ step: s.name, script: s.with.script }).toEqual({ step: s.name, script: expect.not.stringContaining('${{') });
    }
    // And the branch, which anyone who can push chooses, is quoted wherever a script uses it.
    for (const { run } of runScripts(wf)) {
      for (const m of run.matchAll(/\$\{?BRANCH\b\}?/g)) {
        const before = run.slice(0, m.index);
        const quotes = (before.slice(before.lastIndexOf('\n') + 1).match(/"/g) ?? []).length;
        expect({ line: run.split('\n').find((l) => l.includes(m[0])), quoted: quotes % 2 === 1 }).toMatchObject({ quoted: true });
      }
    }
  });
});

describe('every cdk command exists in the ready-made app', () => {
  const scenarios: Array<[Workflow, Scenario]> = [
    [deploy, pullRequest('synchronize', { labels: ['staging'] })],
    [deploy, dispatch()],
    [destroy, pullRequest('closed')],
    [destroy, deleted('branch')],
  ];

  test('the workflows run cdk ls, deploy (with and without an image) and destroy, nothing else', () => {
    const verbs = (wf: Workflow) => runScripts(wf).flatMap((s) => cdkCommands(s.run, sampleVariables(wf, dispatch())[0]).map((c) => c.verb));
    expect(verbs(deploy)).toEqual(['ls', 'deploy', 'deploy']);
    expect(verbs(destroy)).toEqual(['ls', 'destroy']);
  });

  test.each(scenarios.map(([wf, s]) => [`${wf === deploy ? 'deploy' : 'destroy'} on ${s.github.event_name}`, wf, s] as const))(
    '%s: each command\'s options exist and its context synthesizes exactly the branch\'s stack',
    (_, wf, scenario) => {
      for (const vars of sampleVariables(wf, scenario)) {
        for (const { run } of runScripts(wf)) {
          for (const cmd of cdkCommands(run, vars)) {
            const { context, flags } = parseCdkArgs(cmd);
            expect({ cmd: cmd.source, keys: Object.keys(context).filter((k) => !BRANCH_CONTEXT_KEYS.includes(k)) }).toEqual({ cmd: cmd.source, keys: [] });
            expect(context.branch).toBe(BRANCH);
            const out = synthesize(context);
            expect(out.stackNames).toEqual([STACK_NAME]);
            if (cmd.verb === 'deploy') {
              expect(out.kind).toBe(context.lite === 'true' ? StagingKinds.FEATURE_LITE : StagingKinds.FEATURE);
              expect(out.outputs).toEqual(expect.arrayContaining([FeatureOutputs.URL, FeatureOutputs.COST_PER_DAY]));
              expect(flags).toMatchObject({ '--require-approval': 'never', '--outputs-file': 'cdk-outputs.json' });
            }
            if (cmd.verb === 'destroy') expect(flags).toMatchObject({ '--force': true });
            if (cmd.verb === 'ls') expect(flags).toMatchObject({ '--long': true, '--json': true, '--ci': false });
          }
        }
      }
    },
  );

  test('the lite switch reaches cdk: STAGING_LITE=true deploys FeatureStagingLite, anything else FeatureStaging', () => {
    const lite = sampleVariables(deploy, dispatch()).map((v) => v.LITE);
    expect(lite).toEqual(['false', 'true', 'false']);
  });

  test('the image command carries the image; the other does not', () => {
    const vars = sampleVariables(deploy, dispatch())[0];
    const deploys = runScripts(deploy).flatMap((s) => cdkCommands(s.run, vars)).filter((c) => c.verb === 'deploy').map(parseCdkArgs);
    expect(deploys.map((d) => d.context.image)).toEqual([vars.IMAGE, undefined]);
  });

  test.each([
    ['a pull request', pullRequest('synchronize', { labels: ['staging'] }), '12'],
    ['a manual run', dispatch(), ''],
  ])('on %s both deploy commands carry the commit and the pull request, which become the stack\'s outputs', (_, scenario, number) => {
    const vars = sampleVariables(deploy, scenario)[0];
    expect([vars.COMMIT, vars.PULL_REQUEST]).toEqual([SAMPLE_COMMIT, number]);
    const deploys = runScripts(deploy).flatMap((s) => cdkCommands(s.run, vars)).filter((c) => c.verb === 'deploy').map(parseCdkArgs);
    expect(deploys.map((d) => [d.context.commit, d.context.pullRequest])).toEqual([[SAMPLE_COMMIT, number], [SAMPLE_COMMIT, number]]);
    for (const { context } of deploys) {
      const { values } = synthesize(context);
      // A manual run has no pull request: -c pullRequest= is none, not an error.
      expect([values[FeatureOutputs.COMMIT], values[FeatureOutputs.PULL_REQUEST]]).toEqual([SAMPLE_COMMIT, number || undefined]);
      expect(values[FeatureOutputs.IMAGE]).toBe(context.image ?? STAGING.app.image);
    }
    // The commit is the one "Resolve the stack" read from the checkout, handed over as a step output.
    expect(step(deploy, 'Deploy').env).toEqual({ COMMIT: '${{ steps.stack.outputs.sha }}' });
  });

  test('the parser catches what it must: an unknown option, an unknown context key, a wrong choice', () => {
    const vars = { BRANCH };
    expect(() => parseCdkArgs(cdkCommands('npx cdk deploy -c branch="$BRANCH" --output-file x.json', vars)[0])).toThrow(/no option --output-file/);
    expect(() => parseCdkArgs(cdkCommands('npx cdk deploy -c branch="$BRANCH" --require-approval nope', vars)[0])).toThrow(/not one of/);
    const { context } = parseCdkArgs(cdkCommands('npx cdk deploy -c branch="$BRANCH" -c lite2=true', vars)[0]);
    expect(Object.keys(context).filter((k) => !BRANCH_CONTEXT_KEYS.includes(k))).toEqual(['lite2']);
    expect(() => cdkCommands('npx cdk deploy -c branch="$NOPE"', vars)).toThrow(/no sample value for \$NOPE/);
  });
});

describe('the steps, run', () => {
  const cdkBin = join(ROOT, 'node_modules', '.bin', 'cdk');
  // `npx cdk` → the project's CLI with a scratch output directory; `npx` anything else → real npx.
  const realNpx = join(dirname(process.execPath), 'npx');
  const npx = (outdir: string) => `if [ "$1" = cdk ]; then shift; exec "${cdkBin}" "$@" --output "${outdir}"; fi\nexec "${realNpx}" "$@"`;

  test.each(workflows.map((w) => [w.file.replace(`${ROOT}/`, ''), w] as const))('%s: "Resolve the stack" names the branch\'s stack and its region, offline', (_, wf) => {
    const outdir = mkdtempSync(join(tmpdir(), 'ci-ls-'));
    // The step runs where cdk.json is and writes stacks.json there: leave the work tree as found.
    const written = join(ROOT, 'stacks.json');
    const existed = existsSync(written);
    const res = runStep(step(wf, 'Resolve the stack').run, {
      cwd: ROOT,
      env: { BRANCH, LITE: 'false' },
      fakes: { npx: npx(outdir) },
    });
    if (!existed) rmSync(written, { force: true });
    expect({ status: res.status, stderr: res.status === 0 ? '' : res.stderr }).toEqual({ status: 0, stderr: '' });
    expect(res.outputs).toMatchObject({ name: STACK_NAME, region: STAGING.region });
    if (wf === deploy) expect(res.outputs.sha).toMatch(/^[0-9a-f]{40}$/);
  });

  test('"Read the URL and the cost" takes StagingUrl and StagingCostPerDay of the branch\'s stack from cdk-outputs.json, and fails without the URL', () => {
    const script = step(deploy, 'Read the URL and the cost').run;
    // The shared stack as the CLI prints --query ... --output text: an older one has no page ("None").
    const fakes = { aws: "printf '%s\\n' None" };
    const url = `https://${StagingNames.fromBranch(BRANCH, STAGING.prefix).name}.${STAGING.domainName}`;
    // The cost as `cdk deploy` writes it: the value the branch's synthesized template holds (synthesized above, cached).
    const cost = synthesize({ branch: BRANCH, lite: 'false' }).values[FeatureOutputs.COST_PER_DAY];
    expect(cost).toMatch(/^\$\d+\.\d\d\/day awake, \$\d+\.\d\d\/day asleep \(eu-west-1, prices as of \d{4}-\d\d-\d\d\)(; .+)?$/);
    const dir = mkdtempSync(join(tmpdir(), 'ci-url-'));
    writeFileSync(join(dir, 'cdk-outputs.json'), JSON.stringify({ [STACK_NAME]: { [FeatureOutputs.URL]: url, [FeatureOutputs.COST_PER_DAY]: cost, StagingConsoleCommand: 'x' } }));
    expect(runStep(script, { cwd: dir, env: { STACK_NAME }, fakes }).outputs).toEqual({ url, cost, page: '' });

    // A stack without the output (an older library): the URL alone.
    const older = mkdtempSync(join(tmpdir(), 'ci-url-'));
    writeFileSync(join(older, 'cdk-outputs.json'), JSON.stringify({ [STACK_NAME]: { [FeatureOutputs.URL]: url } }));
    expect(runStep(script, { cwd: older, env: { STACK_NAME }, fakes }).outputs).toEqual({ url, cost: '', page: '' });

    const other = mkdtempSync(join(tmpdir(), 'ci-url-'));
    writeFileSync(join(other, 'cdk-outputs.json'), JSON.stringify({ 'staging-other': { [FeatureOutputs.URL]: url } }));
    const missing = runStep(script, { cwd: other, env: { STACK_NAME }, fakes });
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/no StagingUrl output/);
  });

  test('"Read the URL and the cost" reads the stagings page\'s URL from the shared stack; without it (or without access) no page', () => {
    const script = step(deploy, 'Read the URL and the cost').run;
    const dir = mkdtempSync(join(tmpdir(), 'ci-url-'));
    const url = `https://${StagingNames.fromBranch(BRANCH, STAGING.prefix).name}.${STAGING.domainName}`;
    writeFileSync(join(dir, 'cdk-outputs.json'), JSON.stringify({ [STACK_NAME]: { [FeatureOutputs.URL]: url } }));
    const page = `https://stagings.${STAGING.domainName}`;
    const found = runStep(script, { cwd: dir, env: { STACK_NAME }, fakes: { aws: `printf '%s\\n' '${page}'` } });
    expect(found.outputs).toEqual({ url, cost: '', page });
    expect(found.calls).toEqual([
      `aws cloudformation describe-stacks --stack-name ${STAGING.prefix}-shared --query Stacks[0].Outputs[?OutputKey=='${SharedStackOutputs.STAGINGS_PAGE_URL}'].OutputValue | [0] --output text`,
    ]);
    const denied = runStep(script, { cwd: dir, env: { STACK_NAME }, fakes: { aws: "echo 'An error occurred (AccessDenied)' >&2; exit 254" } });
    expect({ status: denied.status, outputs: denied.outputs }).toEqual({ status: 0, outputs: { url, cost: '', page: '' } });
    const odd = runStep(script, { cwd: dir, env: { STACK_NAME }, fakes: { aws: "printf '%s\\n' 'javascript:alert(1)'" } });
    expect(odd.outputs.page).toBe('');
  });

  describe('"Check the stack" (destroy): idempotent, and fail-closed', () => {
    const script = () => step(destroy, 'Check the stack').run;
    const describeStacks = (kind?: string) =>
      JSON.stringify({
        Stacks: [{ StackName: STACK_NAME, StackStatus: 'UPDATE_COMPLETE', Tags: kind ? [{ Key: TagKeys.KIND, Value: kind }, { Key: TagKeys.PREFIX, Value: 'staging' }] : [] }],
      });
    const aws = (stdout: string, stderr = '', code = 0) => `printf '%s' '${stdout}'\nprintf '%s\\n' '${stderr}' >&2\nexit ${code}`;
    const destroyRuns = (outputs: Record<string, string>) => condition(step(destroy, 'Destroy').if, { ...contextOf(dispatch()), steps: { check: { outputs } } });

    test('no such stack: success, nothing to destroy', () => {
      const res = runStep(script(), {
        env: { STACK_NAME },
        fakes: { aws: aws('', `An error occurred (ValidationError) when calling the DescribeStacks operation: Stack with id ${STACK_NAME} does not exist`, 254) },
      });
      expect(res.status).toBe(0);
      expect(res.outputs).toEqual({ exists: 'false' });
      expect(res.summary).toMatch(/does not exist/);
      expect(res.calls).toEqual([`aws cloudformation describe-stacks --stack-name ${STACK_NAME} --output json`]);
      expect(destroyRuns(res.outputs)).toBe(false);
    });

    test.each([StagingKinds.FEATURE, StagingKinds.FEATURE_LITE])('a %s staging: destroy it', (kind) => {
      const res = runStep(script(), { env: { STACK_NAME }, fakes: { aws: aws(describeStacks(kind)) } });
      expect(res.status).toBe(0);
      expect(res.outputs).toEqual({ exists: 'true' });
      expect(destroyRuns(res.outputs)).toBe(true);
    });

    test.each([
      ['AccessDenied', aws('', 'An error occurred (AccessDenied) when calling the DescribeStacks operation: User is not authorized', 254)],
      ['throttling', aws('', 'An error occurred (Throttling) when calling the DescribeStacks operation: Rate exceeded', 254)],
      ['the shared stack', aws(describeStacks(StagingKinds.SHARED))],
      ['an untagged stack', aws(describeStacks())],
    ])('%s: fail, destroy nothing', (_, fake) => {
      const res = runStep(script(), { env: { STACK_NAME }, fakes: { aws: fake } });
      expect(res.status).not.toBe(0);
      expect(res.outputs.exists).toBeUndefined();
      expect(destroyRuns(res.outputs)).toBe(false);
    });
  });
});

describe('the pull request comment', () => {
  const url = 'https://feature-x-217d2bf5.staging.example.com';
  const cost = '$1.44/day awake, $0.82/day asleep (eu-west-1, prices as of 2026-09-29)';
  const env = { BRANCH, URL: url, COST: cost, STACK_NAME, SHA: 'head00000000000000000000000000000000000000' };
  const commentStep = () => step(deploy, 'Comment the URL and the cost on the pull request');
  const bot = (id: number, body: string): Comment => ({ id, body, user: { login: 'github-actions[bot]', type: 'Bot' } });
  const human = (id: number, body: string): Comment => ({ id, body, user: { login: 'alice', type: 'User' } });

  test('is a github-script step whose env passes the values the script reads', () => {
    const s = commentStep();
    expect(s.uses).toMatch(/^actions\/github-script@/);
    expect(s.with.script).toContain(MARKER);
    expect(s.with.script).toMatch(/updateComment/);
    for (const name of ['URL', 'COST', 'STACK_NAME', 'SHA']) expect(Object.keys(s.env)).toContain(name);
    expect(s.env.COST).toBe('${{ steps.url.outputs.cost }}');
    expect(onlyJob(deploy).env).toHaveProperty('BRANCH');
  });

  test('updates the one existing comment (found by its marker) instead of adding another', async () => {
    const { github, calls } = fakeGitHub([human(1, 'looks good'), bot(2, `${MARKER}\nold url`), human(3, 'thanks')]);
    await runGithubScript(commentStep().with.script, pullRequest('synchronize', { labels: ['staging'] }), env, github);
    expect(calls.map((c) => c.method)).toEqual(['issues.listComments', 'issues.updateComment']);
    expect(calls[1].params).toMatchObject({ owner: 'acme', repo: 'app', comment_id: 2 });
    expect(calls[1].params.body).toContain(MARKER);
    expect(calls[1].params.body).toContain(url);
    expect(calls[1].params.body).toContain(BRANCH);
  });

  test('creates it on the first deploy', async () => {
    const { github, calls } = fakeGitHub([human(1, 'looks good')]);
    await runGithubScript(commentStep().with.script, pullRequest('labeled', { labels: ['staging'], label: 'staging' }), env, github);
    expect(calls.map((c) => c.method)).toEqual(['issues.listComments', 'issues.createComment']);
    expect(calls[1].params).toMatchObject({ issue_number: 12 });
    expect(calls[1].params.body).toContain(url);
  });

  test('links the stagings page after the URL and the cost, and has no such line without it', async () => {
    const page = 'https://stagings.staging.example.com';
    const withPage = fakeGitHub([]);
    await runGithubScript(commentStep().with.script, pullRequest('synchronize', { labels: ['staging'] }), { ...env, PAGE: page }, withPage.github);
    const lines = withPage.calls[1].params.body.split('\n');
    expect(lines[lines.findIndex((l: string) => l.includes(url)) + 2]).toBe(`**All stagings**: ${page} (wake, sleep or keep any of them)`);
    expect(commentStep().env.PAGE).toBe('${{ steps.url.outputs.page }}');

    const without = fakeGitHub([]);
    await runGithubScript(commentStep().with.script, pullRequest('synchronize', { labels: ['staging'] }), { ...env, PAGE: '' }, without.github);
    expect(without.calls[1].params.body).not.toMatch(/All stagings/);
  });

  test('shows the cost per day on the line after the URL, and no cost line when the stack has no cost output', async () => {
    const withCost = fakeGitHub([]);
    await runGithubScript(commentStep().with.script, pullRequest('synchronize', { labels: ['staging'] }), env, withCost.github);
    const lines = withCost.calls[1].params.body.split('\n');
    const at = lines.findIndex((l: string) => l.includes(url));
    expect(lines[at + 1]).toBe(`**Cost**: ${cost}. Its own resources at on-demand prices; \`npx staging cost\` itemizes them and adds its share of the shared stack.`);

    const without = fakeGitHub([]);
    await runGithubScript(commentStep().with.script, pullRequest('synchronize', { labels: ['staging'] }), { ...env, COST: '' }, without.github);
    const body = without.calls[1].params.body;
    expect(body).toContain(url);
    expect(body).not.toMatch(/Cost/);
  });

  test('leaves a person\'s comment that quotes the marker alone', async () => {
    const { github, calls } = fakeGitHub([human(5, `> ${MARKER} why is this here?`)]);
    await runGithubScript(commentStep().with.script, pullRequest('synchronize', { labels: ['staging'] }), env, github);
    expect(calls.map((c) => c.method)).toEqual(['issues.listComments', 'issues.createComment']);
  });

  test('a manual run comments on the branch\'s open pull request, or only in the job summary', async () => {
    const withPr = fakeGitHub([bot(9, `${MARKER}\nold`)], [{ number: 34 }]);
    await runGithubScript(commentStep().with.script, dispatch(), env, withPr.github);
    expect(withPr.calls.map((c) => c.method)).toEqual(['pulls.list', 'issues.listComments', 'issues.updateComment']);
    expect(withPr.calls[0].params).toMatchObject({ state: 'open', head: `acme:${BRANCH}` });
    expect(withPr.calls[1].params).toMatchObject({ issue_number: 34 });

    const without = fakeGitHub([]);
    const { summary } = await runGithubScript(commentStep().with.script, dispatch(), env, without.github);
    expect(without.calls.map((c) => c.method)).toEqual(['pulls.list']);
    expect(summary).toContain(url);
  });

  test('the destroy marks that comment destroyed, and adds none when there was no staging', async () => {
    const s = step(destroy, 'Mark the URL comment as destroyed');
    expect(condition(s.if, contextOf(pullRequest('closed')))).toBe(true);
    expect(condition(s.if, contextOf(deleted('branch')))).toBe(false);

    const existing = fakeGitHub([bot(2, `${MARKER}\n${url}`)]);
    await runGithubScript(s.with.script, pullRequest('closed', { merged: true }), {}, existing.github);
    expect(existing.calls.map((c) => c.method)).toEqual(['issues.listComments', 'issues.updateComment']);
    expect(existing.calls[1].params.body).toMatch(/destroyed/);
    expect(existing.calls[1].params.body).toContain(MARKER);

    const none = fakeGitHub([human(1, 'bye')]);
    await runGithubScript(s.with.script, pullRequest('closed'), {}, none.github);
    expect(none.calls.map((c) => c.method)).toEqual(['issues.listComments']);
  });
});

describe('docs/ci.md', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'ci.md'), 'utf8');
  const blocks = (lang: string) => [...doc.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);

  describe('the GitLab CI setup', () => {
    const yamlBlocks = blocks('yaml');
    const gitlabText = yamlBlocks.find((b) => /resource_group/.test(b));
    const gitlab = gitlabText === undefined ? undefined : loadYaml('docs/ci.md (GitLab)', gitlabText);
    const jobs = () => Object.entries(gitlab as Json).filter(([k, v]) => !k.startsWith('.') && v && typeof v === 'object' && !Array.isArray(v)) as Array<[string, Json]>;
    /** A job with `extends` resolved the way GitLab merges it (deep for hashes, replace for the rest). */
    const resolved = (job: Json): Json => {
      if (!job.extends) return job;
      const merge = (a: Json, b: Json): Json => {
        if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
          return Object.fromEntries([...new Set([...Object.keys(a), ...Object.keys(b)])].map((k) => [k, k in b ? merge(a[k], b[k]) : a[k]]));
        }
        return b;
      };
      const { extends: parent, ...own } = job;
      return merge(resolved((gitlab as Json)[parent]), own);
    };
    const script = (job: Json): string => (job.script as unknown[]).flat(10).join('\n');
    /** Sample values of what the jobs' cdk commands read: the branch, and GitLab's predefined variables of a merge request pipeline. */
    const GITLAB_VARIABLES = { BRANCH, CI_MERGE_REQUEST_SOURCE_BRANCH_SHA: SAMPLE_COMMIT, CI_MERGE_REQUEST_IID: '7' };

    test('is one ```yaml block that parses', () => {
      expect(gitlab).toBeDefined();
      expect(jobs().map(([k]) => k).sort()).toEqual(['staging-deploy', 'staging-destroy']);
    });

    test('runs for merge requests labelled staging, with $CI_MERGE_REQUEST_SOURCE_BRANCH_NAME as the branch', () => {
      for (const [, job] of jobs()) {
        const j = resolved(job);
        expect(j.variables.BRANCH).toBe('$CI_MERGE_REQUEST_SOURCE_BRANCH_NAME');
        const rule = j.rules[0].if as string;
        expect(rule).toMatch(/\$CI_PIPELINE_SOURCE == "merge_request_event"/);
        expect(rule).toMatch(/\$CI_MERGE_REQUEST_LABELS =~ \/\(\^\|,\)staging\(,\|\$\)\//);
        expect(script(j)).not.toMatch(/CI_COMMIT_REF_NAME|CI_COMMIT_BRANCH/);
      }
    });

    test('the deploy passes the branch\'s commit and the merge request, as the GitHub workflow does', () => {
      const deployScript = script(resolved((gitlab as Json)['staging-deploy']));
      const line = deployScript.split('\n').find((l) => l.includes('npx cdk deploy'))!;
      expect(line).toContain('-c commit="${CI_MERGE_REQUEST_SOURCE_BRANCH_SHA:-$CI_COMMIT_SHA}"');
      expect(line).toContain('-c pullRequest="$CI_MERGE_REQUEST_IID"');
      const { context } = parseCdkArgs(cdkCommands(line, GITLAB_VARIABLES)[0]);
      expect([context.commit, context.pullRequest]).toEqual([SAMPLE_COMMIT, '7']);
      expect(Object.keys(context).filter((k) => !BRANCH_CONTEXT_KEYS.includes(k))).toEqual([]);
      expect(synthesize(context).values[FeatureOutputs.PULL_REQUEST]).toBe('7');
    });

    test('one operation per branch: both jobs share a per-branch resource_group', () => {
      const groups = jobs().map(([, job]) => resolved(job).resource_group);
      expect(groups[0]).toMatch(/\$CI_COMMIT_REF_SLUG|\$CI_MERGE_REQUEST_SOURCE_BRANCH_NAME/);
      expect(new Set(groups).size).toBe(1);
    });

    test('an environment with the URL, whose on_stop job destroys the staging', () => {
      const d = resolved((gitlab as Json)['staging-deploy']);
      expect(d.environment.url).toBe('$STAGING_URL');
      expect(d.artifacts.reports.dotenv).toBeDefined();
      const stop = resolved((gitlab as Json)[d.environment.on_stop]);
      expect(stop.environment).toEqual({ name: d.environment.name, action: 'stop' });
      expect(stop.rules[0].when).toBe('manual');
      expect(script(stop)).toMatch(/describe-stacks/);
      expect(script(stop)).toMatch(/does not exist/);
    });

    test('OIDC through id_tokens and aws sts assume-role-with-web-identity; no stored keys', () => {
      for (const [, job] of jobs()) {
        const j = resolved(job);
        expect(j.id_tokens.AWS_ID_TOKEN.aud).toBe('sts.amazonaws.com');
        expect(script(j)).toMatch(/aws sts assume-role-with-web-identity[\s\S]*--web-identity-token "\$AWS_ID_TOKEN"/);
        expect(script(j)).toMatch(/--role-arn "\$STAGING_DEPLOY_ROLE_ARN"/);
      }
      // Keys exist only as the output of the OIDC exchange; nothing reads stored ones.
      expect(gitlabText).not.toMatch(/\$\{?AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)\b/);
      const exports = [...(gitlabText ?? '').matchAll(/export (AWS_(?:ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN))=(.*)/g)];
      expect(exports.map((m) => m[1]).sort()).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']);
      for (const m of exports) expect(m[2]).toMatch(/^"\$\(echo "\$creds" \| cut -f[123]\)"$/);
    });

    test('its cdk commands exist in the ready-made app too', () => {
      const verbs: string[] = [];
      for (const [, job] of jobs()) {
        for (const cmd of cdkCommands(script(resolved(job)), GITLAB_VARIABLES)) {
          verbs.push(cmd.verb);
          const { context } = parseCdkArgs(cmd);
          expect(Object.keys(context).filter((k) => !BRANCH_CONTEXT_KEYS.includes(k))).toEqual([]);
          expect(synthesize(context).stackNames).toEqual([STACK_NAME]);
        }
      }
      expect(verbs.sort()).toEqual(['deploy', 'destroy', 'ls', 'ls']);
    });
  });

  test('the trust policies and the permissions policy are valid JSON with the right conditions', () => {
    const policies = blocks('json').map((b) => JSON.parse(b));
    const github = policies.find((p) => JSON.stringify(p).includes('token.actions.githubusercontent.com'));
    expect(github.Statement[0]).toMatchObject({
      Effect: 'Allow',
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: {
        StringEquals: { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com' },
        StringLike: { 'token.actions.githubusercontent.com:sub': 'repo:<org>/<repo>:*' },
      },
    });
    const permissions = policies.find((p) => JSON.stringify(p).includes('cdk-hnb659fds'));
    const actions = permissions.Statement.map((s: Json) => [s.Action, s.Resource]);
    expect(actions).toEqual([
      ['sts:AssumeRole', 'arn:aws:iam::<account>:role/cdk-hnb659fds-*'],
      ['cloudformation:DescribeStacks', `arn:aws:cloudformation:<region>:<account>:stack/${STAGING.prefix}-*/*`],
    ]);
    const gitlabTrust = policies.find((p) => JSON.stringify(p).includes('gitlab.com:sub'));
    expect(gitlabTrust.Statement[0].Condition.StringEquals['gitlab.com:aud']).toBe('sts.amazonaws.com');
  });

  describe('the step that waits for a free staging (staging.maxStagings)', () => {
    const text = blocks('yaml').find((b) => /Wait for a free staging/.test(b));
    const step = () => (loadYaml('docs/ci.md (wait step)', text!) as Json[])[0];
    const stackName = StagingNames.fromBranch('feature/new', STAGING.prefix).stackName;
    const stack = (branch: string, status: string, prefix: string = STAGING.prefix) => {
      const names = StagingNames.fromBranch(branch, prefix);
      return {
        StackName: names.stackName,
        StackId: `arn:aws:cloudformation:eu-west-1:123456789012:stack/${names.stackName}/0a1b2c3d-0000-0000-0000-000000000001`,
        StackStatus: status,
        Tags: [
          { Key: TagKeys.KIND, Value: StagingKinds.FEATURE },
          { Key: TagKeys.NAME, Value: names.name },
          { Key: TagKeys.PREFIX, Value: prefix },
        ],
      };
    };
    /** Runs the step in a checkout whose cdk.json has `maxStagings`, against a fake AWS CLI listing `rounds[n]` after the n-th sleep. */
    function wait(maxStagings: number | undefined, rounds: Json[][], opts: { exists?: boolean; denied?: boolean } = {}) {
      const dir = mkdtempSync(join(tmpdir(), 'ci-wait-'));
      writeFileSync(join(dir, 'cdk.json'), JSON.stringify({ context: { staging: { ...STAGING, maxStagings } } }));
      rounds.forEach((stacks, i) => writeFileSync(join(dir, `stacks-${i}.json`), JSON.stringify({ Stacks: stacks })));
      writeFileSync(join(dir, 'round'), '0');
      const aws = [
        'if [ "$3" = "--stack-name" ]; then',
        opts.denied ? '  echo "An error occurred (AccessDenied) when calling the DescribeStacks operation: not authorized" >&2; exit 254' : '',
        opts.exists ? '  echo "{}"; exit 0' : '  echo "An error occurred (ValidationError) when calling the DescribeStacks operation: Stack with id $4 does not exist" >&2; exit 254',
        'fi',
        'cat "stacks-$(cat round).json"',
      ].join('\n');
      const sleep = 'echo $(( $(cat round) + 1 )) > round';
      return runStep(step().run, { cwd: dir, env: { STACK_NAME: stackName }, fakes: { aws, sleep } });
    }

    test('is one step before Deploy, with the stack name passed through env', () => {
      expect(text).toBeDefined();
      expect(step()).toMatchObject({ name: 'Wait for a free staging', env: { STACK_NAME: '${{ steps.stack.outputs.name }}' } });
      expect(step().run).not.toMatch(/\$\{\{/);
    });

    test('waits while the cap is reached, counting what the quota check counts, and goes on once a staging is gone', () => {
      const full = [stack('feature/a', 'UPDATE_COMPLETE'), stack('feature/b', 'DELETE_FAILED'), stack('feature/c', 'DELETE_IN_PROGRESS'), stack('feature/d', 'ROLLBACK_COMPLETE'), stack('feature/e', 'CREATE_COMPLETE', 'qa')];
      const freed = full.filter((s) => s.StackName !== stack('feature/b', '').StackName);
      const own = { ...stack('feature/new', 'CREATE_IN_PROGRESS'), StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/own/1' };
      // The handler's own count of the same stacks agrees.
      expect(decideQuota([own, ...full] as never, { prefix: STAGING.prefix, cap: 2, stackId: own.StackId }).counted).toHaveLength(2);
      expect(decideQuota([own, ...freed] as never, { prefix: STAGING.prefix, cap: 2, stackId: own.StackId }).allowed).toBe(true);
      const run = wait(2, [full, full, freed]);
      expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
      expect(run.calls.filter((c) => c.startsWith('sleep'))).toHaveLength(2);
      expect(run.stdout).toContain('2 of 2 stagings exist; waiting');
    });

    test('does not wait without a cap, nor for a branch that has its staging', () => {
      const none = wait(undefined, [[]]);
      expect({ status: none.status, calls: none.calls }).toEqual({ status: 0, calls: [] });
      const existing = wait(1, [[stack('feature/a', 'CREATE_COMPLETE')]], { exists: true });
      expect({ status: existing.status, calls: existing.calls.map((c) => c.split(' ').slice(0, 3).join(' ')) }).toEqual({ status: 0, calls: ['aws cloudformation describe-stacks'] });
    });

    test('fails (rather than waiting or deploying) when the stack cannot be looked up', () => {
      const run = wait(1, [[]], { denied: true });
      expect(run.status).not.toBe(0);
      expect(run.stderr).toContain('AccessDenied');
      expect(run.calls).toHaveLength(1);
    });
  });

  test('examples/ci/README.md tells how to install them', () => {
    const readme = readFileSync(join(ROOT, 'examples', 'ci', 'README.md'), 'utf8');
    expect(readme).toMatch(/\.github\/workflows\//);
    expect(readme).toMatch(/STAGING_DEPLOY_ROLE_ARN/);
    expect(readme).toMatch(/label `staging`|`staging` label/);
    expect(existsSync(join(ROOT, 'docs', 'ci.md'))).toBe(true);
  });
});
