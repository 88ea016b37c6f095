// Checks the public API as Construct Hub shows it, from the jsii assembly (`.jsii`):
//
// - every `@default` in the API is a value (`'staging'`, `3`, `true`, `Duration.days(3)`,
//   `` `/${prefix}` ``, `new ec2.InstanceType('t3.large')`) or a description (`- none`);
// - every public member of the fully documented types (below), each parameter and the
//   constructor, has a doc comment;
// - ISharedStaging extends constructs.IConstruct;
// - the grants users need to deploy a branch exist.
//
// Run by scripts/build-lib.mjs after jsii, so `npm run build` fails on a violation.
// Usage: tsx scripts/check-api.ts [path/to/.jsii]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');

/** The parts of a jsii assembly (`@jsii/spec` Assembly) this check reads. */
interface Docs {
  readonly summary?: string;
  readonly default?: string;
}
interface Member {
  readonly name: string;
  readonly docs?: Docs;
}
interface Callable {
  readonly name?: string;
  readonly docs?: Docs;
  readonly parameters?: Member[];
}
interface Type {
  readonly docs?: Docs;
  readonly interfaces?: string[];
  readonly properties?: Member[];
  readonly methods?: Array<Callable & Member>;
  readonly initializer?: Callable;
}
export interface Assembly {
  readonly name: string;
  readonly types?: Record<string, Type>;
}

/** Types whose every public member must carry a doc comment. */
export const FULLY_DOCUMENTED = ['SharedStaging', 'ISharedStaging', 'SharedStagingRef'];

/** Methods the API must have, as `Type.method`. */
export const REQUIRED_METHODS = [
  'SharedStaging.grantReadParameters',
  'ISharedStaging.grantReadParameters',
  'SharedStagingRef.grantReadParameters',
  'StagingSweeper.grantPin',
  'StagingSweeper.grantKeepAlive',
];

const VALUE = [
  /^'[^']*'$/, // 'staging'
  /^`[^`]*`$/, // `/${prefix}`
  /^-?\d+(\.\d+)?$/, // 3
  /^(true|false)$/,
  // Duration.days(3), logs.RetentionDays.ONE_WEEK, StagingCache.dedicated(), new ec2.InstanceType('t3.large')
  /^(new )?([a-z][a-z0-9]*\.)?[A-Z][A-Za-z0-9]*(\.[A-Za-z_][A-Za-z0-9_]*)*(\(.*\))?$/,
];

/** Problems with one `@default`, or none. */
export function defaultProblem(value: string): string | undefined {
  if (value.startsWith('- ') && value.length > 2) return undefined;
  if (VALUE.some((re) => re.test(value.trim()))) return undefined;
  return `is neither a value nor "- <description>": ${JSON.stringify(value)}`;
}

/** Every problem the assembly has, as messages naming the type and member. */
export function apiProblems(assembly: Assembly): string[] {
  const problems: string[] = [];
  const types = assembly.types ?? {};
  const short = (fqn: string) => fqn.slice(assembly.name.length + 1);
  for (const [fqn, type] of Object.entries(types)) {
    for (const p of type.properties ?? []) {
      const d = p.docs?.default;
      const problem = d === undefined ? undefined : defaultProblem(d);
      if (problem) problems.push(`${short(fqn)}.${p.name}: @default ${problem}`);
    }
  }
  for (const name of FULLY_DOCUMENTED) {
    const type = types[`${assembly.name}.${name}`];
    if (!type) {
      problems.push(`${name}: not in the assembly`);
      continue;
    }
    const undocumented: string[] = [];
    if (!type.docs?.summary) undocumented.push('(the type)');
    for (const p of type.properties ?? []) if (!p.docs?.summary) undocumented.push(p.name);
    const callables: Array<[string, Callable]> = [
      ...(type.methods ?? []).map((m): [string, Callable] => [m.name, m]),
      ...(type.initializer ? [['constructor', type.initializer] as [string, Callable]] : []),
    ];
    for (const [label, m] of callables) {
      if (label !== 'constructor' && !m.docs?.summary) undocumented.push(`${label}()`);
      for (const param of m.parameters ?? []) if (!param.docs?.summary) undocumented.push(`${label}(${param.name})`);
    }
    if (undocumented.length > 0) problems.push(`${name}: no doc comment on ${undocumented.join(', ')}`);
  }
  const iShared = types[`${assembly.name}.ISharedStaging`];
  if (iShared && !(iShared.interfaces ?? []).includes('constructs.IConstruct')) {
    problems.push(`ISharedStaging must extend constructs.IConstruct (extends: ${JSON.stringify(iShared.interfaces ?? [])})`);
  }
  for (const required of REQUIRED_METHODS) {
    const [typeName, method] = required.split('.');
    const type = types[`${assembly.name}.${typeName}`];
    if (!(type?.methods ?? []).some((m) => m.name === method)) problems.push(`${required}(): missing`);
  }
  return problems;
}

/** Public members without a doc comment outside FULLY_DOCUMENTED: reported, not failed. */
export function undocumentedElsewhere(assembly: Assembly): number {
  let count = 0;
  for (const [fqn, type] of Object.entries(assembly.types ?? {})) {
    if (FULLY_DOCUMENTED.includes(fqn.slice(assembly.name.length + 1))) continue;
    count += [...(type.properties ?? []), ...(type.methods ?? [])].filter((m) => !m.docs?.summary).length;
  }
  return count;
}

if (require.main === module) {
  const file = process.argv[2] ?? join(root, '.jsii');
  const assembly = JSON.parse(readFileSync(file, 'utf8')) as Assembly;
  const problems = apiProblems(assembly);
  if (problems.length > 0) {
    console.error(`check-api: ${problems.length} problem(s) in ${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    process.exit(1);
  }
  console.log(
    `check-api: ${Object.keys(assembly.types ?? {}).length} types; every @default is a value or "- description"; ` +
      `${FULLY_DOCUMENTED.join(', ')} fully documented; ${undocumentedElsewhere(assembly)} other members without a doc comment`,
  );
}
