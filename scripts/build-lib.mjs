// Builds lib/ into dist/ (JavaScript and declarations) and the jsii assembly `.jsii`.
//
// 1. jsii compiles lib/ with the repository's own tsconfig.json (package.json "jsii.tsconfig",
//    validated against jsii's "strict" rule set) and writes `.jsii`. jsii requires
//    `stripInternal: false`, so its declarations still hold the `@internal` members; the
//    assembly (what Python, Java and .NET see) never does.
// 2. tsc re-emits only the declarations with `stripInternal` (tsconfig.declarations.json), so
//    TypeScript users do not see `@internal` members either. The JavaScript stays jsii's.
// 3. A check that no declaration mentions `@internal` any more.
// 4. scripts/check-api.ts: the API as Construct Hub shows it (doc comments, @default values).
//
// Warnings fail the build (`--fail-on-warnings`): README "Contributing" lists the accepted ones.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsiiEnv } from './jsii-env.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);

function run(command, args) {
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: jsiiEnv() });
  if (result.status !== 0) {
    console.error(`build-lib: ${relative(root, command)} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
  return Date.now() - started;
}

// Start clean, so a deleted source leaves no stale module in the package.
rmSync(join(root, 'dist'), { recursive: true, force: true });
rmSync(join(root, '.jsii'), { force: true });

const jsiiMs = run(bin('jsii'), ['--fail-on-warnings']);
if (!existsSync(join(root, '.jsii'))) {
  console.error('build-lib: jsii wrote no .jsii assembly');
  process.exit(1);
}
const tscMs = run(bin('tsc'), ['-p', 'tsconfig.declarations.json']);
run(bin('tsx'), [join(root, 'scripts', 'check-api.ts')]);

const declarations = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.d.ts')) declarations.push(path);
  }
};
walk(join(root, 'dist'));
const leaking = declarations.filter((f) => readFileSync(f, 'utf8').includes('@internal'));
if (leaking.length > 0) {
  console.error(`build-lib: @internal members left in: ${leaking.map((f) => relative(root, f)).join(', ')}`);
  process.exit(1);
}

const assembly = JSON.parse(readFileSync(join(root, '.jsii'), 'utf8'));
console.log(
  `build-lib: .jsii ${assembly.name}@${assembly.version} with ${Object.keys(assembly.types ?? {}).length} types ` +
    `(jsii ${(jsiiMs / 1000).toFixed(1)}s, declarations ${(tscMs / 1000).toFixed(1)}s); ` +
    `${declarations.length} declaration files without @internal`,
);
