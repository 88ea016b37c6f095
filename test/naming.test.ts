import * as fc from 'fast-check';
import { BRANCH_HINT, SharedStagingNames, StagingNamePatterns, StagingNames, decodeTagValue, encodeTagValue, slugify } from '../lib/contract/naming';
import { generationSuffix } from '../lambda/database-restore/model';
import { STAGINGS_PAGE_LABEL, stagingsPageHost } from '../lib/contract/stagings-page';

/** The staging domain of the example cdk.json. */
const DOMAIN = 'staging.example.com';
/** A domain as long as a staging host name allows: 253 - 63 (longest name) - 1 (dot). */
const LONGEST_DOMAIN = `${'d'.repeat(63)}.${'e'.repeat(63)}.${'f'.repeat(57)}.com`;

/** Each derived name with the rule it breaks; empty when every name fits its AWS limit. */
function invalidNames(n: StagingNames, domainName: string = DOMAIN): string[] {
  const problems: string[] = [];
  const check = (what: string, value: string, ok: boolean) => {
    if (!ok) problems.push(`${what} = ${JSON.stringify(value)}`);
  };
  const noDoubleOrTrailingHyphen = (v: string) => !v.includes('--') && !v.endsWith('-');

  // DNS label.
  check('name', n.name, n.name.length <= 63 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(n.name));
  // CloudFormation stack name.
  check('stackName', n.stackName, n.stackName.length <= 128 && /^[A-Za-z][A-Za-z0-9-]*$/.test(n.stackName));
  // RDS DB instance identifier, before and after the restore handler's 5-character generation suffix.
  const db = n.databaseIdentifierBase;
  const rds = (v: string, max: number) => v.length <= max && /^[a-z][a-z0-9-]*$/.test(v) && noDoubleOrTrailingHyphen(v);
  check('databaseIdentifierBase', db, rds(db, 58));
  check('databaseIdentifierBase + generation', `${db}-ffff`, rds(`${db}-ffff`, 63));
  // ElastiCache replication group id.
  check('cacheId', n.cacheId, n.cacheId.length <= 40 && /^[a-z][a-z0-9-]*$/.test(n.cacheId) && noDoubleOrTrailingHyphen(n.cacheId));
  // Solr collection.
  check('solrCollectionName', n.solrCollectionName, n.solrCollectionName.length <= 100 && /^[a-z][a-z0-9_-]*$/.test(n.solrCollectionName));
  // CloudWatch Logs log group.
  const lg = n.logGroupName('web');
  check('logGroupName(web)', lg, lg.length <= 512 && /^[.\-_/#A-Za-z0-9]+$/.test(lg));
  // SSM parameter path.
  check('parameterPath', n.parameterPath, n.parameterPath.length <= 1011 && /^\/[A-Za-z0-9_.\-/]+$/.test(n.parameterPath));
  // ECS task definition family.
  const family = n.taskDefinitionFamily('web');
  check('taskDefinitionFamily(web)', family, family.length <= 255 && /^[A-Za-z0-9_-]+$/.test(family));
  // Secrets Manager secret names.
  for (const secret of [n.databaseSecretName, n.cacheSecretName]) {
    check('secret name', secret, secret.length <= 512 && /^[A-Za-z0-9/_+=.@-]+$/.test(secret));
  }
  // Tag value accepted by every AWS service.
  check('branchTagValue', n.branchTagValue, n.branchTagValue.length <= 256 && /^[A-Za-z0-9 _.:/=+\-@]*$/.test(n.branchTagValue));
  // DNS host name.
  const host = n.hostName(domainName);
  check('hostName', host, host.length <= 253);
  return problems;
}

/** The names that must differ between two distinct branches. */
const DISTINCT_KEYS = ['name', 'stackName', 'databaseIdentifierBase', 'cacheId', 'solrCollectionName', 'databaseSecretName', 'cacheSecretName'] as const;

function sharedNames(a: StagingNames, b: StagingNames): string[] {
  const shared: string[] = DISTINCT_KEYS.filter((k) => a[k] === b[k]).map((k) => `${k} = ${JSON.stringify(a[k])}`);
  if (a.hostName(DOMAIN) === b.hostName(DOMAIN)) shared.push(`hostName = ${a.hostName(DOMAIN)}`);
  if (a.parameterPath === b.parameterPath) shared.push(`parameterPath = ${a.parameterPath}`);
  if (a.taskDefinitionFamily('web') === b.taskDefinitionFamily('web')) shared.push(`taskDefinitionFamily(web) = ${a.taskDefinitionFamily('web')}`);
  return shared;
}

const long200 = 'feature/' + 'x'.repeat(191);

describe('StagingNames: table', () => {
  const cases: Array<[string, string]> = [
    ['main', 'main'],
    ['a slug-like branch', 'fix-login'],
    ['path and underscores', 'feature/new_cool_page'],
    ['underscore', 'feature/a_b'],
    ['hyphen', 'feature/a-b'],
    ['upper case', 'Fix/X'],
    ['lower case', 'fix/x'],
    ['200 characters, ending in a', `${long200}a`],
    ['200 characters, ending in b', `${long200}b`],
    ['250 characters of slug', 'a'.repeat(250)],
    ['64 characters of slug', 'a'.repeat(64)],
    ['63 characters of slug', 'a'.repeat(63)],
    ['Unicode letters', 'Ünïcödé/日本語'],
    ['emoji only', '🎉🚀'],
    ['emoji in words', 'feat/🎉-party'],
    ['leading digits', '123-fix'],
    ['digits only', '2024'],
    ['leading hyphens', '--force'],
    ['at sign', 'user@feature'],
    ['lone at sign', '@'],
    ['hash sign', 'issue#42'],
    ['dots', 'release/1.2.3'],
    ['only dots', '...'],
    ['single character', 'x'],
    ['single upper-case character', 'X'],
    ['reserved name', 'shared'],
    ['reserved name of the stagings page', 'stagings'],
    ['ends like a hash suffix', 'fix-abcdef12'],
    ['is like a hash', 'abcdef12'],
    ['refs/heads/ prefix', 'refs/heads/x'],
    ['plus and spaces', 'a+b c'],
    ['trailing newline', 'topic\n'],
    ['control characters', 'a\u0000b\u001f'],
  ];

  test.each(cases)('%s (%j) gives names valid for their AWS limits', (_what, branch) => {
    const n = StagingNames.fromBranch(branch);
    expect(invalidNames(n)).toEqual([]);
    expect(invalidNames(n, LONGEST_DOMAIN)).toEqual([]);
  });

  test.each(cases)('%s (%j) with a 20-character prefix gives valid names', (_what, branch) => {
    expect(invalidNames(StagingNames.fromBranch(branch, 'p1234567890123456789'))).toEqual([]);
  });

  test.each(cases)('%s (%j) with a one-letter prefix gives valid names', (_what, branch) => {
    expect(invalidNames(StagingNames.fromBranch(branch, 'p'))).toEqual([]);
  });

  test('a branch that already is a DNS label keeps it as its name', () => {
    expect(StagingNames.fromBranch('main').name).toBe('main');
    expect(StagingNames.fromBranch('fix-login').name).toBe('fix-login');
    expect(StagingNames.fromBranch('main').stackName).toBe('staging-main');
    expect(StagingNames.fromBranch('main').hostName(DOMAIN)).toBe('main.staging.example.com');
  });

  test('the URL keeps the branch words', () => {
    expect(StagingNames.fromBranch('feature/new_cool_page').name).toContain('feature-new-cool-page');
    expect(StagingNames.fromBranch('Fix/X').name).toMatch(/^fix-x-[0-9a-f]{8}$/);
    expect(StagingNames.fromBranch('Ünïcödé/日本語').name).toMatch(/^unicode-[0-9a-f]{8}$/);
    expect(StagingNames.fromBranch('release/1.2.3').name).toMatch(/^release-1-2-3-[0-9a-f]{8}$/);
    expect(StagingNames.fromBranch('user@feature').name).toMatch(/^user-feature-[0-9a-f]{8}$/);
    expect(StagingNames.fromBranch('--force').name).toMatch(/^force-[0-9a-f]{8}$/);
    // A long branch keeps as many of its words as fit.
    expect(StagingNames.fromBranch(`${long200}a`).name).toMatch(/^feature-x{46}-[0-9a-f]{8}$/);
    expect(StagingNames.fromBranch(`${long200}a`).name).toHaveLength(63);
  });

  test('a branch without any ASCII word still gets a readable name', () => {
    expect(StagingNames.fromBranch('🎉🚀').name).toMatch(/^branch-[0-9a-f]{8}$/);
    expect(StagingNames.fromBranch('日本語').name).toMatch(/^branch-[0-9a-f]{8}$/);
  });

  const pairs: Array<[string, string]> = [
    ['feature/a_b', 'feature/a-b'],
    ['Fix/X', 'fix/x'],
    ['feature/a-b', 'feature-a-b'],
    [`${long200}a`, `${long200}b`],
    ['a'.repeat(63), 'a'.repeat(64)],
    ['shared', 'Shared'],
    ['stagings', 'Stagings'],
    ['fix-abcdef12', 'fix'],
    ['abcdef12', 'abcdef12-x'],
    ['main', 'Main'],
    ['main', 'main.'],
    ['🎉', '🚀'],
    ['@', '#'],
    ['é', 'e\u0301'],
    ['x', 'X'],
  ];

  test.each(pairs)('%j and %j share no name', (a, b) => {
    expect(sharedNames(StagingNames.fromBranch(a), StagingNames.fromBranch(b))).toEqual([]);
  });

  test('the branch "shared" never gets the name of the shared staging', () => {
    expect(StagingNames.RESERVED_NAMES).toContain('shared');
    const n = StagingNames.fromBranch('shared');
    expect(n.name).not.toBe('shared');
    expect(n.stackName).not.toBe('staging-shared');
    expect(n.name).toMatch(/^shared-[0-9a-f]{8}$/);
  });

  test('the branch "stagings" never gets the stagings page\'s host', () => {
    expect(StagingNames.RESERVED_NAMES).toEqual(['shared', STAGINGS_PAGE_LABEL]);
    const n = StagingNames.fromBranch(STAGINGS_PAGE_LABEL);
    expect(n.name).toMatch(/^stagings-[0-9a-f]{8}$/);
    expect(n.hostName(DOMAIN)).not.toBe(stagingsPageHost(DOMAIN));
  });

  test('each reserved name says what it is kept for; other names are free', () => {
    expect(StagingNames.reservedFor('shared')).toMatch(/^the shared staging/);
    expect(StagingNames.reservedFor(STAGINGS_PAGE_LABEL)).toMatch(/^the stagings page/);
    expect(StagingNames.reservedFor('stagings-1a2b3c4d')).toBeUndefined();
    expect(StagingNames.reservedFor('constructor')).toBeUndefined();
  });

  test('a branch ending like a hash suffix is hashed, so it cannot take a hashed name', () => {
    const n = StagingNames.fromBranch('fix-abcdef12');
    expect(n.name).not.toBe('fix-abcdef12');
    expect(n.name).toBe(`fix-abcdef12-${n.hash}`);
  });

  test('refs/heads/x is the same branch as x', () => {
    const a = StagingNames.fromBranch('refs/heads/x');
    const b = StagingNames.fromBranch('x');
    expect(a.branch).toBe('x');
    for (const k of [...DISTINCT_KEYS, 'hash', 'branchTagValue', 'parameterPath'] as const) {
      expect(a[k]).toBe(b[k]);
    }
  });

  test('refs/heads/ is stripped once only', () => {
    expect(StagingNames.fromBranch('refs/heads/refs/heads/x').branch).toBe('refs/heads/x');
  });

  test('the hash is 8 hex digits of the SHA-256 of the branch', () => {
    // Checked with `printf main | sha256sum` and `printf feature/a_b | sha256sum`.
    expect(StagingNames.fromBranch('main').hash).toBe('0d6e4079');
    expect(StagingNames.fromBranch('feature/a_b').hash).toBe('62319146');
    expect(StagingNames.fromBranch('feature/a_b').name).toBe('feature-a-b-62319146');
    expect(StagingNames.fromBranch('feature/a_b').hash).not.toBe(StagingNames.fromBranch('feature/a-b').hash);
  });

  test('names that must be shorter than the staging name are cut at the slug and keep the hash', () => {
    const n = StagingNames.fromBranch('a'.repeat(63), 'p1234567890123456789');
    expect(n.name).toBe('a'.repeat(63));
    expect(n.stackName).toBe(`p1234567890123456789-${'a'.repeat(63)}`);
    expect(n.cacheId).toBe(`p1234567890123456789-${'a'.repeat(10)}-${n.hash}`);
    expect(n.databaseIdentifierBase).toBe(`p1234567890123456789-${'a'.repeat(28)}-${n.hash}`);
  });

  test('derived names have the documented shapes', () => {
    const n = StagingNames.fromBranch('main');
    expect(n.logGroupPrefix).toBe('/staging/main/');
    expect(n.logGroupName('web')).toBe('/staging/main/web');
    expect(n.logGroupName('Web Worker')).toBe('/staging/main/web-worker');
    expect(n.parameterPath).toBe('/staging/branches/main');
    expect(n.taskDefinitionFamily('web')).toBe('staging-main-web');
    expect(n.databaseSecretName).toBe('staging/branches/main/database');
    expect(n.cacheSecretName).toBe('staging/branches/main/cache');
    expect(n.redisKeyPrefix).toBe('staging:main:');
    expect(n.solrCollectionName).toBe('staging_main');
  });
});

describe('StagingNames: invalid input', () => {
  test.each([[''], ['   '], ['\t'], ['\n'], [' \t\n ']])('fails when the branch is blank (%j)', (branch) => {
    expect(() => StagingNames.fromBranch(branch)).toThrow(/branch/);
    expect(() => StagingNames.fromBranch(branch)).toThrow(/-c branch=/);
  });

  // `refs/heads/` is never part of a branch name (fromBranch strips it), so what is left is blank.
  test.each([['refs/heads/'], ['refs/heads/  ']])('fails when the branch is blank after refs/heads/ (%j)', (branch) => {
    expect(() => StagingNames.fromBranch(branch)).toThrow(/-c branch=/);
  });

  test.each([['HEAD'], ['refs/heads/HEAD']])('fails on %j, what a detached CI checkout prints, saying what works in CI', (branch) => {
    expect(() => StagingNames.fromBranch(branch)).toThrow(`branch must be a branch name, not HEAD, which git prints in a detached checkout (got ${JSON.stringify(branch)}); ${BRANCH_HINT}`);
    expect(BRANCH_HINT).toContain('-c branch=${{ github.head_ref || github.ref_name }} in GitHub Actions');
    expect(BRANCH_HINT).toContain('-c branch=$CI_COMMIT_REF_NAME in GitLab CI');
  });

  test('an empty branch (git branch --show-current in a detached checkout) is told what works in CI', () => {
    expect(() => StagingNames.fromBranch('')).toThrow(`branch must not be empty (got ""); ${BRANCH_HINT}`);
  });

  test.each([['HEADS'], ['head'], ['feature/HEAD']])('accepts %j, a branch git allows', (branch) => {
    expect(StagingNames.fromBranch(branch).branch).toBe(branch);
  });

  test('fails when the branch is not a string', () => {
    expect(() => StagingNames.fromBranch(undefined as unknown as string)).toThrow(/-c branch=/);
  });

  test.each([[''], ['Staging'], ['1staging'], ['-staging'], ['staging-'], ['sta--ging'], ['my-staging'], ['staging_x'], ['p12345678901234567890'], ['stäging']])(
    'fails when the prefix is invalid (%j)',
    (prefix) => {
      expect(() => StagingNames.fromBranch('main', prefix)).toThrow(/prefix/);
      expect(() => StagingNames.fromBranch('main', prefix)).toThrow(JSON.stringify(prefix));
    },
  );

  test('reports a blank branch and an invalid prefix together', () => {
    expect(() => StagingNames.fromBranch('', 'Bad')).toThrow(/branch[\s\S]*prefix/);
  });

  test.each([['staging'], ['s'], ['p1234567890123456789'], ['preview2']])('accepts the prefix %j', (prefix) => {
    expect(StagingNames.validatePrefix(prefix)).toEqual([]);
    expect(StagingNames.fromBranch('main', prefix).stackName).toBe(`${prefix}-main`);
  });

  // JavaScript strings can hold lone UTF-16 surrogates (e.g. from a JSON "\ud800" in cdk.json context).
  // UTF-8 turns every one of them into U+FFFD, so distinct branches would hash alike.
  test('two branches made of different lone surrogates are rejected or get different names', () => {
    const names = (b: string) => {
      try {
        return StagingNames.fromBranch(b);
      } catch {
        return undefined;
      }
    };
    const a = names('x\ud800');
    const b = names('x\udc00');
    if (a && b) expect(sharedNames(a, b)).toEqual([]);
  });
});

describe('tag values', () => {
  test.each([
    ['main', 'main'],
    ['feature/new_cool_page', 'feature/new_cool_page'],
    ['a+b', 'a+2Bb'],
    ['issue#42', 'issue+2342'],
    ['Ü', '+C3+9C'],
    ['🎉', '+F0+9F+8E+89'],
    ['a b:c=d@e.f-g', 'a b:c=d@e.f-g'],
    ['+2B', '+2B2B'],
  ])('%j encodes as %j and decodes back', (value, encoded) => {
    expect(encodeTagValue(value)).toBe(encoded);
    expect(decodeTagValue(encoded)).toBe(value);
  });

  test('a value too long for a tag is cut to 256 characters ending in +hash, never inside an escape', () => {
    for (let pad = 0; pad < 4; pad++) {
      const value = 'a'.repeat(240 + pad) + '#'.repeat(20);
      const n = StagingNames.fromBranch(value);
      const tag = n.branchTagValue;
      expect(tag.length).toBeLessThanOrEqual(256);
      expect(tag.endsWith(`+${n.hash}`)).toBe(true);
      expect(tag.slice(0, -9)).toMatch(/^a+(\+23)*$/);
    }
  });

  test('the tag value of the branch is the branch, encoded', () => {
    expect(StagingNames.fromBranch('Fix/X').branchTagValue).toBe('Fix/X');
    expect(StagingNames.fromBranch('refs/heads/a#b').branchTagValue).toBe('a+23b');
  });
});

describe('slugify', () => {
  test.each([
    ['feature/new_cool_page', 'feature-new-cool-page'],
    ['Ünïcödé/日本語', 'unicode'],
    ['--a--b--', 'a-b'],
    ['ﬁx', 'fix'],
    ['🎉', ''],
  ])('%j -> %j', (text, slug) => {
    expect(slugify(text)).toBe(slug);
  });
});

// ---------------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------------

const RUNS = { numRuns: 2000 };

/** Valid staging prefixes: a letter, then up to 19 of [a-z0-9] (no hyphens: see validatePrefix). */
const validPrefix: fc.Arbitrary<string> = fc.stringMatching(/^[a-z][a-z0-9]{0,19}$/);

const notBlank = (s: string) => s.trim() !== '';

/** Path segments of `chars` joined by `sep`, cut to `max` characters; short ones and long ones alike. */
function segments(chars: string, sep: string, maxSegment: number, max: number): fc.Arbitrary<string> {
  const build = (size: fc.SizeForArbitrary) =>
    fc
      .array(fc.string({ unit: fc.constantFrom(...chars.split('')), minLength: 1, maxLength: maxSegment, size }), { minLength: 1, maxLength: 12, size })
      .map((parts) => parts.join(sep).slice(0, max));
  return fc.oneof(build('small'), build('max'));
}

/** Realistic git branch names: path segments of [A-Za-z0-9._-@#], 1..250 characters. */
const gitBranch: fc.Arbitrary<string> = segments('ABCXYZabcdefxyz0123456789._-@#', '/', 40, 250).filter(notBlank);

/** Branches that already are DNS labels (some longer than 63), some ending like a hash suffix. */
const slugLikeBranch: fc.Arbitrary<string> = fc
  .tuple(segments('abz019', '-', 20, 90), fc.option(fc.stringMatching(/^[0-9a-f]{8}$/)))
  .map(([words, hashLike]) => (hashLike ? `${words}-${hashLike}` : words));

/** Arbitrary Unicode strings (whole code points; lone surrogates are tested on their own above). */
const unicodeBranch: fc.Arbitrary<string> = fc
  .oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 300 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 300, size: 'max' }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 100 }),
    fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 300, size: 'max' }),
  )
  .filter(notBlank);

const anyBranch = fc.oneof(gitBranch, slugLikeBranch, unicodeBranch, fc.constantFrom('main', 'shared', STAGINGS_PAGE_LABEL, 'x', 'refs/heads/main'));

/** Strip what fromBranch strips, to tell whether two inputs are really the same branch. */
const sameBranch = (a: string, b: string) => a.replace(/^refs\/heads\//, '') === b.replace(/^refs\/heads\//, '');

const swapCase = (s: string) => [...s].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('');

/** A branch and a near-collision of it: same words, different branch. */
const nearCollision: fc.Arbitrary<[string, string]> = fc
  .tuple(fc.oneof(gitBranch, slugLikeBranch), fc.integer({ min: 0, max: 8 }), fc.stringMatching(/^[a-z0-9_/-]{1,5}$/))
  .map(([b, kind, suffix]): [string, string] => {
    switch (kind) {
      case 0:
        return [b, swapCase(b)];
      case 1:
        return [b, b.replace(/[_-]/g, (c) => (c === '_' ? '-' : '_'))];
      case 2:
        return [b, b.replace(/[/-]/g, (c) => (c === '/' ? '-' : '/'))];
      case 3: {
        const long = b.padEnd(200, 'x');
        return [long, long + suffix];
      }
      case 4: {
        const long = b.padEnd(200, 'x');
        return [long + 'a', long + 'b'];
      }
      case 5:
        return [b, `${b}-${'0123abcd'}`];
      case 6:
        // A branch named like another branch's staging name, or like one of its cut names.
        return [b, StagingNames.fromBranch(b).name];
      case 7:
        return [b, StagingNames.fromBranch(b, 'p1234567890123456789').cacheId.slice('p1234567890123456789-'.length)];
      default:
        return [b, `${b}.`];
    }
  })
  .filter(([a, b]) => notBlank(a) && notBlank(b) && !sameBranch(a, b));

describe('StagingNames: properties', () => {
  test('every name derived from a branch is valid for its AWS limit', () => {
    fc.assert(
      fc.property(anyBranch, (branch) => {
        expect(invalidNames(StagingNames.fromBranch(branch))).toEqual([]);
      }),
      RUNS,
    );
  });

  test('no branch gets a reserved name: not the shared staging\'s, not the stagings page\'s host', () => {
    fc.assert(
      fc.property(anyBranch, validPrefix, (branch, p) => {
        const n = StagingNames.fromBranch(branch, p);
        expect(StagingNames.RESERVED_NAMES).not.toContain(n.name);
        expect(n.hostName(DOMAIN)).not.toBe(stagingsPageHost(DOMAIN));
      }),
      RUNS,
    );
  });

  test('every name is valid with any valid prefix and the longest usable domain', () => {
    fc.assert(
      fc.property(anyBranch, validPrefix, (branch, p) => {
        expect(invalidNames(StagingNames.fromBranch(branch, p), LONGEST_DOMAIN)).toEqual([]);
      }),
      RUNS,
    );
  });

  test('distinct branches share no name', () => {
    fc.assert(
      fc.property(
        fc.tuple(anyBranch, anyBranch).filter(([a, b]) => !sameBranch(a, b)),
        ([a, b]) => {
          expect(sharedNames(StagingNames.fromBranch(a), StagingNames.fromBranch(b))).toEqual([]);
        },
      ),
      RUNS,
    );
  });

  test('near-collisions (case, _ and -, / and -, long shared start, named like a staging name) share no name', () => {
    fc.assert(
      fc.property(nearCollision, ([a, b]) => {
        expect(sharedNames(StagingNames.fromBranch(a), StagingNames.fromBranch(b))).toEqual([]);
      }),
      RUNS,
    );
  });

  test('the same branch under two prefixes gets two stack names', () => {
    expect(StagingNames.fromBranch('main', 'staging').stackName).not.toBe(StagingNames.fromBranch('main', 'preview').stackName);
    fc.assert(
      fc.property(
        anyBranch,
        fc.tuple(validPrefix, validPrefix).filter(([p, q]) => p !== q),
        (branch, [p, q]) => {
          const a = StagingNames.fromBranch(branch, p);
          const b = StagingNames.fromBranch(branch, q);
          expect(a.stackName).not.toBe(b.stackName);
          expect(a.parameterPath).not.toBe(b.parameterPath);
          expect(a.databaseIdentifierBase).not.toBe(b.databaseIdentifierBase);
          expect(a.cacheId).not.toBe(b.cacheId);
        },
      ),
      RUNS,
    );
  });

  test('decodeTagValue reverses encodeTagValue for values that were not cut', () => {
    fc.assert(
      fc.property(fc.oneof(unicodeBranch, gitBranch, fc.string({ unit: 'binary', maxLength: 40 })), (value) => {
        const encoded = encodeTagValue(value);
        // Escaped length, counted here: safe characters as themselves, others as `+XX` per UTF-8 byte.
        const escapedLength = [...value].reduce((n, ch) => n + (/[A-Za-z0-9 _.:/=@-]/.test(ch) ? 1 : 3 * Buffer.byteLength(ch)), 0);
        expect(encoded.length).toBeLessThanOrEqual(256);
        if (escapedLength <= 256) {
          expect(encoded).toHaveLength(escapedLength);
          expect(decodeTagValue(encoded)).toBe(value);
        } else {
          expect(encoded.slice(-9)).toMatch(/^\+[0-9a-f]{8}$/);
          // Cut between escapes, never inside one.
          expect(encoded.slice(0, -9)).toMatch(/^([A-Za-z0-9 _.:/=@-]|\+[0-9A-F]{2})*$/);
        }
      }),
      RUNS,
    );
  });
});

/** An IAM resource pattern (`*` any run, `?` one character) as a whole-string RegExp. */
function iamPattern(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\/]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

/** Every name a branch gets, paired with the pattern the policies scope it by. */
function namesAndPatterns(n: StagingNames, refreshToken: string): Array<[string, string, string]> {
  const p = n.patterns;
  return [
    ['stackName', n.stackName, p.stackName],
    ['database identifier', `${n.databaseIdentifierBase}-${generationSuffix(refreshToken)}`, p.databaseIdentifier],
    ['cacheId', n.cacheId, p.cacheId],
    ['databaseSecretName', n.databaseSecretName, p.secretName],
    ['cacheSecretName', n.cacheSecretName, p.secretName],
    ['databaseSecretName (database secrets only)', n.databaseSecretName, p.databaseSecretName],
    ['schedule (group/name)', `default/${n.stackName}-StagingBranchAppJobNightlySchedule0123ABCD-AbCdEf012345`.slice(0, 72), `${p.scheduleGroupName}/${p.scheduleName}`],
    ['parameterPath', n.parameterPath, p.parameterPath],
    ['logGroupName(web)', n.logGroupName('web'), p.logGroupName],
    ['taskDefinitionFamily(web)', n.taskDefinitionFamily('web'), p.taskDefinitionFamily],
    ['generated role name', `${n.stackName}-AppWebTaskRole0123ABCD-AbCdEf012345`.slice(0, 64), p.generatedName],
  ];
}

describe('StagingNamePatterns: the IAM patterns match the names, and only branch names', () => {
  test('every generated name matches its pattern, whatever the branch and prefix', () => {
    fc.assert(
      fc.property(anyBranch, validPrefix, fc.string({ maxLength: 20 }), (branch, prefix, token) => {
        const n = StagingNames.fromBranch(branch, prefix);
        const misses = namesAndPatterns(n, token).filter(([, name, pattern]) => !iamPattern(pattern).test(name));
        expect(misses).toEqual([]);
      }),
      RUNS,
    );
  });

  test('no branch of one prefix matches the patterns of another prefix', () => {
    fc.assert(
      fc.property(anyBranch, validPrefix, validPrefix, (branch, prefix, other) => {
        fc.pre(prefix !== other);
        const n = StagingNames.fromBranch(branch, prefix);
        const theirs = new StagingNamePatterns(other);
        // Names are `<prefix>-...` and prefixes have no hyphen, so `a-*` never matches `ab-...`.
        const hits = namesAndPatterns(n, '').filter(([what, name]) => {
          const pattern = namesAndPatterns(StagingNames.fromBranch('x', other), '').find(([w]) => w === what)![2];
          return iamPattern(pattern).test(name);
        });
        expect(theirs.prefix).toBe(other);
        expect(hits).toEqual([]);
      }),
      RUNS,
    );
  });

  test('the database secret pattern reaches a branch\'s database secret, never its cache token', () => {
    fc.assert(
      fc.property(anyBranch, validPrefix, fc.stringMatching(/^[A-Za-z0-9]{6}$/), (branch, prefix, suffix) => {
        const n = StagingNames.fromBranch(branch, prefix);
        // Secrets Manager ARNs end in `-` and 6 random characters; the policies add `-??????`.
        const pattern = iamPattern(`${n.patterns.databaseSecretName}-??????`);
        expect(pattern.test(`${n.databaseSecretName}-${suffix}`)).toBe(true);
        expect(pattern.test(`${n.cacheSecretName}-${suffix}`)).toBe(false);
      }),
      RUNS,
    );
  });

  test('no shared resource name matches the branch pattern of its kind, except those the deletion role denies explicitly', () => {
    fc.assert(
      fc.property(validPrefix, (prefix) => {
        const shared = new SharedStagingNames(prefix);
        const p = new StagingNamePatterns(prefix);
        const byKind: Array<[string, string]> = [
          [shared.stackName, p.stackName],
          [shared.databaseIdentifier, p.databaseIdentifier],
          [shared.databaseLogGroupName, p.logGroupName],
          [shared.logGroupName('web'), p.logGroupName],
          [`${shared.parameterPath()}/vpc-id`, p.parameterPath],
          [`${shared.parameterPath()}/database/secret-arn`, p.secretName],
          [`${shared.stackName}-SweeperDeletionRole0123ABCD-AbCdEf012345`, p.generatedName],
          // Scoped to exactly the branch ones: release-task's families, the sleep policies' schedules, database-template's secrets.
          [shared.databaseTemplateRefreshFamily, p.taskDefinitionFamily],
          [`${shared.scheduleGroupName}/${shared.stackName}-StagingAppJobNightlySchedule0123ABCD-AbCdEf012345`, `${p.scheduleGroupName}/${p.scheduleName}`],
          [`${shared.scheduleGroupName}/${shared.stackName}-StagingDatabaseTemplateSchedule0123-AbCdEf012345`, `${p.scheduleGroupName}/${p.scheduleName}`],
          [`${shared.parameterPath()}/database/secret-arn-AbCdEf`, `${p.databaseSecretName}-??????`],
        ];
        const hits = byKind.filter(([name, pattern]) => iamPattern(pattern).test(name)).map(([name]) => name);
        // The deletion role denies each of these explicitly (test/iam.test.ts proves it): the shared
        // stack and the shared app's log groups by name, the shared stack's generated names (roles)
        // by its staging:kind=shared tag, since a branch `shared-x` has generated names
        // `<prefix>-shared-x-...` too.
        expect(hits).toEqual([shared.stackName, shared.logGroupName('web'), `${shared.stackName}-SweeperDeletionRole0123ABCD-AbCdEf012345`]);
      }),
      RUNS,
    );
  });
});
