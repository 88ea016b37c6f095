/**
 * The version of this library, as its package.json says: what the shared stack records when it
 * is deployed (output `SharedStagingLibraryVersion`) and what `staging doctor` compares it with.
 * Read at run time from the package root, which is two folders up from lib/contract/ (source),
 * dist/contract/ (the compiled library) and assets/cli/ (the bundled CLI) alike.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The package's name, to tell its package.json from another one. */
export const PACKAGE_NAME = 'cdk-multi-staging';

let cached: string | undefined;

/** `0.1.0`; `unknown` when the package.json next to this file is not this package's. */
export function libraryVersion(): string {
  if (cached === undefined) {
    try {
      const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
      cached = manifest.name === PACKAGE_NAME && typeof manifest.version === 'string' ? manifest.version : 'unknown';
    } catch {
      cached = 'unknown';
    }
  }
  return cached!;
}
