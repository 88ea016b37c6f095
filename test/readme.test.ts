import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { stringify } from 'yaml';
import { CONTEXT_KEYS } from '../bin/config';
import { buildStagingApp } from '../bin/staging-app';
import { sleepRows, sleepTable } from '../scripts/sleep-model';

/**
 * What the README (and the docs and the package) say that can be checked: links stay inside the
 * repository, the shared stack's outputs table has every output, the figures quoted are today's.
 */
const ROOT = join(__dirname, '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** Every file below `dir` whose name matches `pattern`, as absolute paths. */
function filesUnder(dir: string, pattern: RegExp): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && pattern.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .filter((f) => !f.includes(`${join(ROOT, 'node_modules')}`));
}

/** What users read: the README, the docs, the examples' READMEs, API.md. */
const DOCUMENTS = [join(ROOT, 'README.md'), join(ROOT, 'API.md'), ...filesUnder('docs', /\.md$/), ...filesUnder('examples', /\.md$/)];
/** What the package ships, from its sources: the library (dist/), the handlers and the CLI (bundled). */
const SHIPPED_SOURCES = [...filesUnder('lib', /\.ts$/), ...filesUnder('lambda', /\.ts$/), ...filesUnder('cli', /\.ts$/), join(ROOT, 'package.json')];

describe('nothing the package or the README shows points outside the repository', () => {
  test.each(DOCUMENTS.map((f) => [relative(ROOT, f), f]))('%s: every relative link is a file of the repository', (_name, file) => {
    const text = readFileSync(file, 'utf8');
    const outside: string[] = [];
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1].replace(/#.*$/, '');
      if (!target || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // an anchor, https:, mailto:
      const path = resolve(dirname(file), target);
      if (relative(ROOT, path).startsWith('..') || !existsSync(path)) outside.push(m[1]);
    }
    expect(outside).toEqual([]);
  });

  test.each([...DOCUMENTS, ...SHIPPED_SOURCES].map((f) => [relative(ROOT, f), f]))('%s: names no file outside it (RESEARCH.md, ../shared/*.md)', (_name, file) => {
    const text = readFileSync(file, 'utf8');
    expect(text.match(/RESEARCH\.md|RESEARCH §|\.\.\/shared\/[A-Z]+\.md/g) ?? []).toEqual([]);
  });
});

describe('the README and what the code does agree', () => {
  test('the -c keys shown to the ready-made app are its own; those shown to npm run critical-path, its own', () => {
    // scripts/critical-path.ts reads -c database/cache/solr=<mode> as staging.feature.<store>.mode; cdk refuses them.
    const criticalPathKeys = [...CONTEXT_KEYS, 'database', 'cache', 'solr'];
    const wrong: string[] = [];
    for (const line of README.split('\n')) {
      const command = /(npm run (?:synth|critical-path) --|npx cdk (?:synth|deploy|destroy|ls|diff))(.*)/.exec(line);
      if (!command) continue;
      const allowed = command[1].includes('critical-path') ? criticalPathKeys : CONTEXT_KEYS;
      for (const m of command[2].replace(/#.*$/, '').matchAll(/-c ([A-Za-z_.-]+)=/g)) if (!allowed.includes(m[1])) wrong.push(`${command[1]}: -c ${m[1]}`);
    }
    expect(wrong).toEqual([]);
  });

  test('every package the pretest installs (scripts/ensure-test-services.sh) is named', () => {
    const script = readFileSync(join(ROOT, 'scripts', 'ensure-test-services.sh'), 'utf8');
    const packages = [...script.matchAll(/missing\+=\(([a-z0-9-]+)\)/g)].map((m) => m[1]);
    expect(packages).toEqual(expect.arrayContaining(['redis-server', 'postgresql', 'tmux']));
    for (const p of packages) expect(README).toContain(`\`${p}\``);
  });

  describe('the shared stack of the ready-made app (cdk.json example)', () => {
    let template: any;
    beforeAll(() => {
      const context = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context;
      // As the CDK CLI runs the app: with path metadata, which `cdk synth` prints too.
      const app = new App({ context: { ...context, 'aws:cdk:enable-path-metadata': true } });
      template = Template.fromStack(buildStagingApp(app)[0]).toJSON();
    });

    test('the outputs table lists every output of the shared stack, and nothing else', () => {
      const table = /\| output \| value \|\n(?: {3}\| --- \| --- \|\n)((?: {3}\|.*\n)+)/.exec(README)?.[1] ?? '';
      const listed = [...table.matchAll(/^ {3}\| `([A-Za-z0-9]+)` \|/gm)].map((m) => m[1]);
      expect(listed.sort()).toEqual(Object.keys(template.Outputs).sort());
    });

    test('"about N lines of YAML": what cdk synth would print without --quiet, to the nearest thousand', () => {
      const lines = stringify(template).split('\n').length;
      const quoted = /instead of about ([\d,]+) lines of YAML/.exec(README)?.[1];
      expect(quoted).toBe((Math.round(lines / 1000) * 1000).toLocaleString('en-US'));
    });
  });
});

test("the sleep table is the one `npm run sleep-model` prints (the ready-made app's branches, priced)", () => {
  expect(README).toContain(`${sleepTable(sleepRows().rows)}\n`);
});
