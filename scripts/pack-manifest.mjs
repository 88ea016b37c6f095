// The package.json that `npm pack` and `npm publish` put in the tarball: this repository's, less
// the scripts that are only for this repository. `prepare` builds the library on `npm ci` here;
// in the tarball npm warns about it on install (and it could not run: scripts/ is not shipped).
//
//   node scripts/pack-manifest.mjs strip     (prepack: keeps the original in .package.json.pack)
//   node scripts/pack-manifest.mjs restore   (postpack: puts it back)
//
// npm reads package.json again after prepack, so the tarball gets the stripped one, and the
// stripped `prepare` is not run by the pack either.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Scripts that only make sense in this repository, which the packed package.json leaves out. */
export const REPOSITORY_SCRIPTS = ['prepare', 'prepack', 'postpack'];

/** `manifest` as the tarball holds it. */
export function packedManifest(manifest) {
  const scripts = Object.fromEntries(Object.entries(manifest.scripts ?? {}).filter(([name]) => !REPOSITORY_SCRIPTS.includes(name)));
  return { ...manifest, scripts };
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const file = join(root, 'package.json');
const backup = join(root, '.package.json.pack');

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const command = process.argv[2];
  if (command === 'strip') {
    // A backup left by a pack that failed holds the real package.json: never overwrite it.
    if (existsSync(backup)) {
      console.error(`pack-manifest: ${backup} exists (a pack failed before postpack); run \`node scripts/pack-manifest.mjs restore\` first`);
      process.exit(1);
    }
    const text = readFileSync(file, 'utf8');
    writeFileSync(backup, text);
    writeFileSync(file, `${JSON.stringify(packedManifest(JSON.parse(text)), null, 2)}\n`);
  } else if (command === 'restore') {
    if (existsSync(backup)) renameSync(backup, file);
  } else {
    console.error('usage: node scripts/pack-manifest.mjs strip|restore');
    process.exit(2);
  }
}
