// Bundles every Lambda handler (lambda/<name>/index.ts) into assets/handlers/<name>/index.js.
// Runs at package build time, so a user's `cdk synth` never bundles and never needs Docker.
import { build } from 'esbuild';
import { readdirSync, existsSync, rmSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'lambda');
const out = join(root, 'assets', 'handlers');
rmSync(out, { recursive: true, force: true });

const names = readdirSync(src).filter(
  (n) => n !== 'shared' && statSync(join(src, n)).isDirectory() && existsSync(join(src, n, 'index.ts')),
);
for (const name of names) {
  const result = await build({
    entryPoints: [join(src, name, 'index.ts')],
    outfile: join(out, name, 'index.js'),
    bundle: true,
    platform: 'node',
    target: 'node22', // runs on the nodejs24.x Lambda runtime (lib/private/handler-code.ts)
    format: 'cjs',
    minify: true,
    sourcemap: false,
    // The Node.js Lambda runtime ships AWS SDK v3, as aws-cdk-lib's own handlers assume.
    // pg (database-template) is bundled; its optional native binding is never loaded (pure JS client).
    external: ['@aws-sdk/*', 'pg-native'],
    metafile: true,
    logLevel: 'warning',
  });
  const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
  console.log(`bundled ${name}: ${(bytes / 1024).toFixed(1)} KiB`);
}
console.log(`${names.length} handler bundle(s) in assets/handlers`);
