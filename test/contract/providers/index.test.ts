import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ResourceTypes } from '../../../lib/contract/providers';

const ROOT = join(__dirname, '..', '..', '..');
const ts = (dir: string) => readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
/** lib/providers/ files that are no provider. */
const NOT_PROVIDERS = ['index.ts', 'provider-definition.ts', 'in-vpc.ts'];

describe('one contract file per provider', () => {
  const providers = readdirSync(join(ROOT, 'lib', 'providers')).filter((f) => f.endsWith('.ts') && !NOT_PROVIDERS.includes(f)).map((f) => f.replace(/\.ts$/, ''));

  test.each(providers)('%s has lib/providers/, lib/contract/providers/ and lambda/ of one name', (name) => {
    expect(existsSync(join(ROOT, 'lib', 'contract', 'providers', `${name}.ts`))).toBe(true);
    expect(existsSync(join(ROOT, 'lambda', name, 'index.ts'))).toBe(true);
  });

  test('every contract file is a provider or the shared wire helpers', () => {
    const contracts = readdirSync(join(ROOT, 'lib', 'contract', 'providers')).map((f) => f.replace(/\.ts$/, ''));
    expect(contracts.filter((c) => !providers.includes(c)).sort()).toEqual(['index', 'wire']);
  });

  test('every custom-resource type is written once, in its contract: nowhere else in lib/, bin/, lambda/ or cli/', () => {
    const elsewhere = ['lib', 'bin', 'lambda', 'cli'].flatMap((dir) =>
      ts(dir)
        .map((f) => join(dir, f))
        .filter((f) => !f.startsWith(join('lib', 'contract', 'providers')))
        .flatMap((f) => [...readFileSync(join(ROOT, f), 'utf8').matchAll(/'(Custom::[A-Za-z]+)'/g)].map((m) => `${f}: ${m[1]}`)),
    );
    expect(elsewhere).toEqual([]);
  });

  test('ResourceTypes lists each type once', () => {
    const types = Object.values(ResourceTypes);
    expect(new Set(types).size).toBe(types.length);
    expect(types).toContain('Custom::StagingSleep');
  });
});
