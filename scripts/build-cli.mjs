// Bundles the `staging` CLI (cli/index.ts) into assets/cli/staging.js, with its dependencies
// (commander, cli-table3, picocolors, AWS SDK v3 clients) inside: the package keeps no runtime
// dependencies, and cli/ is not part of the jsii assembly (tsconfig.json compiles lib/ only).
import { build } from 'esbuild';
import { chmodSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'assets', 'cli', 'staging.js');
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
  metafile: true,
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
console.log(`bundled the staging CLI: ${(bytes / 1024).toFixed(1)} KiB in assets/cli/staging.js`);
