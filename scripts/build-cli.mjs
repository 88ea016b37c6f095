// Bundles the `staging` CLI (cli/index.ts) into assets/cli/staging.js, with its dependencies
// (commander, cli-table3, picocolors, AWS SDK v3 clients) inside: the package keeps no runtime
// dependencies, and cli/ is not part of the jsii assembly (tsconfig.json compiles lib/ only).
import { build } from 'esbuild';
import { chmodSync, readFileSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// STAGING_CLI_OUTFILE: a bundle elsewhere, as test/cli/entry.test.ts builds one.
const outfile = process.env.STAGING_CLI_OUTFILE ?? join(root, 'assets', 'cli', 'staging.js');
rmSync(dirname(outfile), { recursive: true, force: true });
const result = await build({
  entryPoints: [join(root, 'cli', 'index.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20', // package.json engines: node >= 20
  format: 'cjs',
  minify: true,
  sourcemap: false,
  banner: { js: '#!/usr/bin/env node' },
  // `staging --version` (cli/program.ts): the package's version, fixed in the bundle.
  define: { STAGING_CLI_VERSION: JSON.stringify(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version) },
  metafile: true,
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
console.log(`bundled the staging CLI: ${(bytes / 1024).toFixed(1)} KiB in ${outfile}`);
