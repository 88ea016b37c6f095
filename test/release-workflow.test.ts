import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';

/*
 * .github/workflows/release.yml, tested as examples/ci's workflows are: it parses, it triggers
 * on the right events, every command it runs exists (package.json scripts, binaries of the
 * devDependencies, a few known tools), secrets reach steps only through `env`, and its one
 * script behaves. jsii-pacmak's Python, Java and .NET builds themselves cannot run on these
 * machines (no PyPI, Maven or NuGet); they run in this workflow on GitHub Actions.
 */

const ROOT = join(__dirname, '..');
const FILE = join(ROOT, '.github', 'workflows', 'release.yml');
const TEXT = readFileSync(FILE, 'utf8');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

type Json = any;

function loadYaml(text: string): Json {
  const doc = parseDocument(text, { strict: true, uniqueKeys: true, prettyErrors: true });
  const problems = [...doc.errors, ...doc.warnings].map((e) => e.message);
  if (problems.length > 0) throw new Error(`${FILE} is not clean YAML:\n${problems.join('\n')}`);
  return doc.toJS();
}

const WF = loadYaml(TEXT);
const JOBS: Record<string, Json> = WF.jobs;
const PUBLISH_JOBS = Object.keys(JOBS).filter((j) => j.startsWith('publish-'));

/** Every string value in the parsed document, with its path (comments are not values). */
function strings(node: Json, path = ''): Array<{ path: string; value: string }> {
  if (typeof node === 'string') return [{ path, value: node }];
  if (Array.isArray(node)) return node.flatMap((n, i) => strings(n, `${path}[${i}]`));
  if (node && typeof node === 'object') return Object.entries(node).flatMap(([k, v]) => strings(v, path ? `${path}.${k}` : k));
  return [];
}

const steps = (job: string): Json[] => JOBS[job].steps;
const runSteps = (): Array<{ job: string; step: Json }> =>
  Object.keys(JOBS).flatMap((job) => steps(job).filter((s) => s.run !== undefined).map((step) => ({ job, step })));

/** The binaries each devDependency installs, by name. */
function devDependencyBins(): Map<string, string> {
  const bins = new Map<string, string>();
  for (const dep of Object.keys(PKG.devDependencies)) {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'node_modules', dep, 'package.json'), 'utf8'));
    const bin = typeof manifest.bin === 'string' ? { [manifest.name.replace(/^@[^/]+\//, '')]: manifest.bin } : (manifest.bin ?? {});
    for (const name of Object.keys(bin)) bins.set(name, dep);
  }
  return bins;
}

/** The commands of a run script: one per line (continuations joined), `$(...)` included. */
function commands(script: string): string[][] {
  const out: string[][] = [];
  for (const raw of script.replace(/\\\n\s*/g, ' ').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    for (const sub of line.matchAll(/\$\(([^)]*)\)/g)) out.push(sub[1].trim().split(/\s+/));
    const words = line.replace(/\$\([^)]*\)/g, 'X').split(/\s+/);
    out.push(words);
  }
  return out;
}

/** Why a command is not one the workflow may run, or undefined when it is. */
function unknownCommand(words: string[], bins: Map<string, string>): string | undefined {
  const [head, ...rest] = words;
  // Shell syntax around the commands.
  if (['if', 'then', 'else', 'fi', 'exit'].includes(head) || /^[A-Za-z_]+=/.test(head)) return undefined;
  if (head === 'echo' || head === 'node') return undefined; // a builtin; node comes from setup-node
  if (head === 'sudo' && rest[0] === 'apt-get' && ['update', 'install'].includes(rest[1])) return undefined;
  if (head === 'npm') {
    const [verb, ...args] = rest;
    if (verb === 'ci' || verb === 'test' || verb === 'publish') return undefined;
    if (verb === 'run') return args[0] in PKG.scripts ? undefined : `npm run ${args[0]}: no such script in package.json`;
    return `npm ${verb}: not a command this workflow should need`;
  }
  if (head === 'npx') {
    return bins.has(rest[0]) ? undefined : `npx ${rest[0]}: no devDependency installs it (npx would download it unpinned)`;
  }
  return `${head}: not a known tool`;
}

describe('the release workflow', () => {
  test('is clean YAML with the jobs build → package → publish-*', () => {
    expect(Object.keys(JOBS)).toEqual(['build', 'package', 'publish-npm', 'publish-pypi', 'publish-maven', 'publish-nuget']);
    expect(JOBS.package.needs).toBe('build');
    for (const job of PUBLISH_JOBS) expect(JOBS[job].needs).toBe('package');
  });

  test('runs on version tags and by hand; only a tag publishes, from the release environment', () => {
    expect(WF.on.push).toEqual({ tags: ['v*.*.*'] });
    expect(WF.on).toHaveProperty('workflow_dispatch');
    expect(WF.on.pull_request).toBeUndefined();
    for (const job of PUBLISH_JOBS) {
      expect(JOBS[job].if).toBe("github.event_name == 'push'");
      expect(JOBS[job].environment).toBe('release');
    }
    // The tag check runs only for tags, so a manual run of any branch packages without publishing.
    expect(steps('build').find((s) => s.name === 'Check that the tag is the package version').if).toBe("github.event_name == 'push'");
  });

  test('packages every jsii target of package.json, plus js, into jsii.outdir', () => {
    const targets = JOBS.package.strategy.matrix.target as string[];
    expect([...targets].sort()).toEqual(['js', ...Object.keys(PKG.jsii.targets)].sort());
    expect(Object.keys(PKG.jsii.targets).sort()).toEqual(['dotnet', 'java', 'python']);
    const pacmak = steps('package').find((s) => /jsii-pacmak/.test(s.run ?? ''));
    expect(pacmak.run).toBe('npx jsii-pacmak --targets ${{ matrix.target }}');
    const upload = steps('package').find((s) => /upload-artifact/.test(s.uses ?? ''));
    expect(upload.with.path).toBe(`${PKG.jsii.outdir}/\${{ matrix.target }}`);
    // Each publish job downloads the package it publishes to where it publishes it from.
    for (const [job, target] of [['publish-npm', 'js'], ['publish-pypi', 'python'], ['publish-maven', 'java'], ['publish-nuget', 'dotnet']]) {
      const download = steps(job).find((s) => /download-artifact/.test(s.uses ?? ''));
      expect(download.with).toEqual({ name: `package-${target}`, path: `${PKG.jsii.outdir}/${target}` });
      expect(steps(job).find((s) => s.name === 'Publish').run).toContain(`${PKG.jsii.outdir}/${target}`);
    }
  });

  test('jsii-pacmak has the --targets option the workflow passes', () => {
    const res = spawnSync(join(ROOT, 'node_modules', '.bin', 'jsii-pacmak'), ['--help'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20' },
    });
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/--targets/);
  });

  test('every command it runs exists: package.json scripts, devDependency binaries, known tools', () => {
    const bins = devDependencyBins();
    const problems: string[] = [];
    for (const { job, step } of runSteps()) {
      for (const words of commands(step.run)) {
        const problem = unknownCommand(words, bins);
        if (problem) problems.push(`${job} / ${step.name ?? step.run}: ${problem}`);
      }
    }
    expect(problems).toEqual([]);
    // And the ones publishing needs are there.
    for (const bin of ['jsii-pacmak', 'publib-pypi', 'publib-maven', 'publib-nuget']) expect(bins.has(bin)).toBe(true);
  });

  test('the command checker itself rejects unknown commands', () => {
    const bins = devDependencyBins();
    expect(unknownCommand(['npm', 'run', 'no-such-script'], bins)).toMatch(/no such script/);
    expect(unknownCommand(['npx', 'cowsay'], bins)).toMatch(/no devDependency/);
    expect(unknownCommand(['curl', 'https://example.com'], bins)).toMatch(/not a known tool/);
    expect(commands('v="$(node -p 1)"\nnpm run lint \\\n  --silent')).toEqual([['node', '-p', '1'], ['v="X"'], ['npm', 'run', 'lint', '--silent']]);
  });

  test('secrets reach steps only through env, one named secret per variable', () => {
    const secretUses = strings(WF).filter((s) => /secrets\./.test(s.value));
    expect(secretUses.length).toBeGreaterThan(0);
    for (const { path, value } of secretUses) {
      expect({ path, ok: /^jobs\.[\w-]+\.steps\[\d+\]\.env\.[A-Z][A-Z0-9_]*$/.test(path) }).toEqual({ path, ok: true });
      expect(value).toMatch(/^\$\{\{ secrets\.[A-Z][A-Z0-9_]* \}\}$/);
    }
    // No secret in a run script, a `with:` input or a job-wide env.
    for (const { step } of runSteps()) expect(step.run).not.toMatch(/secrets\./);
    // The header comment lists exactly the secrets the workflow reads.
    const used = [...new Set(secretUses.map((s) => /secrets\.(\w+)/.exec(s.value)![1]))].sort();
    const header = TEXT.split('\nname:')[0];
    const documented = [...new Set([...header.matchAll(/\b([A-Z][A-Z0-9]*_[A-Z0-9_]+)\b/g)].map((m) => m[1]))].filter((n) => used.includes(n) || /TOKEN|KEY|PASSWORD|USERNAME/.test(n)).sort();
    expect(documented).toEqual(used);
  });

  test('run scripts interpolate no event data (it reaches them through env)', () => {
    for (const { step } of runSteps()) {
      const expressions = [...String(step.run).matchAll(/\$\{\{(.*?)\}\}/g)].map((m) => m[1].trim());
      expect(expressions.filter((e) => e !== 'matrix.target')).toEqual([]);
    }
  });

  test('least privilege: read-only by default, id-token only where npm provenance needs it', () => {
    expect(WF.permissions).toEqual({ contents: 'read' });
    for (const [name, job] of Object.entries(JOBS)) {
      if (name === 'publish-npm') expect(job.permissions).toEqual({ contents: 'read', 'id-token': 'write' });
      else expect(job.permissions).toBeUndefined();
    }
    expect(TEXT).not.toMatch(/:\s*write-all|contents:\s*write/);
    const publish = steps('publish-npm').find((s) => s.name === 'Publish');
    expect(publish.run).toMatch(/^npm publish \S+\.tgz --provenance --access public$/);
    expect(Object.keys(publish.env)).toEqual(['NODE_AUTH_TOKEN']);
    expect(steps('publish-npm').find((s) => /setup-node/.test(s.uses ?? '')).with['registry-url']).toBe('https://registry.npmjs.org');
  });

  test('every action is pinned to a major version', () => {
    const uses = Object.values(JOBS).flatMap((j) => j.steps.map((s: Json) => s.uses).filter(Boolean)) as string[];
    expect(uses.length).toBeGreaterThan(0);
    for (const u of uses) expect(u).toMatch(/^actions\/[a-z-]+@v\d+$/);
  });

  test('the build job runs what CI runs before packaging: lint, type-check, tests, API.md, jsii-diff', () => {
    const runs = steps('build').map((s) => s.run ?? '').join('\n');
    for (const command of ['npm ci', 'npm run lint', 'npm run typecheck', 'npm test', 'npm run check:api-md', 'npm run check:api-diff']) {
      expect(runs).toContain(command);
    }
  });

  describe('the tag check', () => {
    const script = steps('build').find((s) => s.name === 'Check that the tag is the package version').run as string;
    const run = (tag: string) => {
      const dir = mkdtempSync(join(tmpdir(), 'release-tag-'));
      try {
        const file = join(dir, 'step.sh');
        writeFileSync(file, script);
        return spawnSync('bash', ['-e', file], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, TAG: tag } });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };

    test('passes for v<package.json version>', () => {
      const res = run(`v${PKG.version}`);
      expect(res.status).toBe(0);
      expect(res.stdout).toContain(`releasing ${PKG.version}`);
    });

    test.each(['v9.9.9', PKG.version, `v${PKG.version}-rc.1`])('fails for %s, naming both versions', (tag) => {
      const res = run(tag);
      expect(res.status).toBe(1);
      expect(res.stdout).toContain(`::error::tag ${tag} does not match package.json version ${PKG.version}`);
    });

    test('reads the tag from env, not from an interpolated expression', () => {
      const step = steps('build').find((s) => s.name === 'Check that the tag is the package version');
      expect(step.env).toEqual({ TAG: '${{ github.ref_name }}' });
      expect(step.run).not.toMatch(/github\.ref/);
    });
  });
});
