import { createHash } from 'node:crypto';
import { STAGINGS_PAGE_LABEL } from './stagings-page';

/**
 * How to pass the branch, on a laptop and in CI. A CI checkout is often detached: there
 * `git branch --show-current` prints nothing and `git rev-parse --abbrev-ref HEAD` prints `HEAD`,
 * so the CI's own variable names the branch.
 */
export const BRANCH_HINT =
  'pass the git branch: -c branch=$(git branch --show-current) in a checkout of the branch; ' +
  '-c branch=${{ github.head_ref || github.ref_name }} in GitHub Actions; -c branch=$CI_COMMIT_REF_NAME in GitLab CI';

/** The staging name of the shared staging, reserved for it. */
const SHARED = 'shared';

/** What each reserved staging name is kept for, in the words of the messages that refuse it. */
const RESERVED_FOR: Readonly<Record<string, string>> = {
  [SHARED]: 'the shared staging, where every staging and the shared database live',
  [STAGINGS_PAGE_LABEL]: 'the stagings page, where the team finds, wakes and keeps every staging',
};

/**
 * Turns a git branch into every name a staging needs, each within its AWS limit.
 *
 * The rules, in short:
 * - The readable part ("slug") keeps the branch's words: lower case, ASCII, runs of anything else
 *   become one hyphen. `feature/new_cool_page` reads `feature-new-cool-page`.
 * - A branch that already *is* its slug (`main`, `fix-login`) keeps it as its staging name.
 *   Every other branch gets `-` plus 8 hex digits of the SHA-256 of the exact branch name, so
 *   `feature/a_b`, `feature/a-b`, `Fix/X` and `fix/x` never share a name.
 * - A name that must be shorter than the staging name is cut at the slug and keeps the hash.
 * - Names that carry no hash never end in `-<8 hex digits>`, and `shared` (the shared staging) and
 *   `stagings` (the stagings page's host) are reserved, so an unhashed name can never equal a
 *   hashed one, the shared stack or the page.
 *
 * Distinct branches can then only collide if their 32-bit hashes collide *and* their cut slugs
 * are equal: about one in four billion per pair of such branches.
 */
export class StagingNames {
  /** Maximum length of the staging name (a DNS label). */
  public static readonly MAX_NAME_LENGTH = 63;

  /** Staging names the shared staging uses for itself: its own stack and host, and the stagings page's host. */
  public static readonly RESERVED_NAMES: string[] = Object.freeze(Object.keys(RESERVED_FOR)) as string[]; // frozen; typed string[] for jsii

  /**
   * What a reserved staging name is kept for (e.g. "the stagings page, ..."), or undefined for a
   * name any branch may have.
   *
   * @param name a staging name
   */
  public static reservedFor(name: string): string | undefined {
    return Object.hasOwn(RESERVED_FOR, name) ? RESERVED_FOR[name] : undefined;
  }

  /**
   * Names for a branch.
   *
   * @param branch the git branch, e.g. `feature/new_cool_page`. A leading `refs/heads/` is
   *   ignored, since it is never part of a branch name.
   * @param prefix the staging system's prefix, used in stack names and SSM paths.
   *   Lower-case letters and digits, starting with a letter, at most 20 characters.
   * @throws if the branch is empty or blank or `HEAD`, or the prefix is invalid.
   */
  public static fromBranch(branch: string, prefix: string = 'staging'): StagingNames {
    const problems: string[] = [];
    const name = typeof branch === 'string' ? branch.replace(/^refs\/heads\//, '') : branch;
    if (typeof name !== 'string' || name.trim() === '') {
      problems.push(`branch must not be empty (got ${JSON.stringify(branch)}); ${BRANCH_HINT}`);
    } else if (name === 'HEAD') {
      // git refuses a branch named HEAD; `HEAD` is what a detached checkout prints for the branch.
      problems.push(`branch must be a branch name, not HEAD, which git prints in a detached checkout (got ${JSON.stringify(branch)}); ${BRANCH_HINT}`);
    } else if (LONE_SURROGATE.test(name)) {
      // Such a string has no UTF-8 form: two of them would hash alike.
      problems.push(`branch must be valid Unicode text (got ${JSON.stringify(branch)}); pass the branch name as git prints it`);
    }
    problems.push(...StagingNames.validatePrefix(prefix));
    if (problems.length > 0) {
      throw new Error(problems.join('\n'));
    }
    return new StagingNames(name, prefix);
  }

  /** Problems with a staging prefix, as messages that name `prefix`; empty when it is valid. */
  public static validatePrefix(prefix: string): string[] {
    // No hyphens: with them, prefix `staging-a` + branch `x` and prefix `staging` + branch `a-x`
    // would both name the stack `staging-a-x`.
    if (typeof prefix !== 'string' || !/^[a-z][a-z0-9]{0,19}$/.test(prefix)) {
      return [`prefix must be 1-20 lower-case letters or digits, starting with a letter (got ${JSON.stringify(prefix)}); e.g. "staging"`];
    }
    return [];
  }

  /** The branch, exactly as given (less a leading `refs/heads/`). */
  public readonly branch: string;

  /** The staging system's prefix. */
  public readonly prefix: string;

  /**
   * The staging name: a DNS label (at most 63 characters of `[a-z0-9-]`) that keeps the branch's
   * words. The branch's URL is `https://<name>.<staging domain>`.
   */
  public readonly name: string;

  /** 8 hex digits of the SHA-256 of the branch: the part that keeps distinct branches apart. */
  public readonly hash: string;

  /** The readable part of the name: the branch's words, lower case, joined by hyphens. */
  public readonly slug: string;

  private constructor(branch: string, prefix: string) {
    this.branch = branch;
    this.prefix = prefix;
    this.hash = sha256(branch).slice(0, 8);
    this.slug = slugify(branch) || 'branch';
    const faithful =
      this.slug === branch &&
      !HASH_SUFFIX.test(branch) &&
      !StagingNames.RESERVED_NAMES.includes(branch) &&
      branch.length <= StagingNames.MAX_NAME_LENGTH;
    this.name = faithful ? branch : this.withHash('', StagingNames.MAX_NAME_LENGTH);
  }

  /** CloudFormation stack name (at most 128 characters): `<prefix>-<name>`. */
  public get stackName(): string {
    return this.fit(`${this.prefix}-`, 128);
  }

  /** The host name below the staging domain: `<name>.<domain>`. */
  public hostName(domainName: string): string {
    return `${this.name}.${domainName}`;
  }

  /**
   * Base for the RDS DB instance identifier (at most 58 characters, so the restore handler can add
   * a 5-character generation suffix within RDS's 63). Starts with a letter, no `--`.
   */
  public get databaseIdentifierBase(): string {
    return this.fit(`${this.prefix}-`, 58);
  }

  /**
   * The branch's database on the shared Postgres, and its login role: `<prefix>_br_<name>` with
   * `_` for `-`, at most 63 bytes (Postgres's identifier limit). Every such name starts with
   * `branchDatabasePrefix(prefix)`, which the database-template provider requires.
   */
  public get branchDatabaseName(): string {
    return this.fit(StagingNames.branchDatabasePrefix(this.prefix), 63).replace(/-/g, '_');
  }

  /** What every branch database and role name of a staging system starts with: `<prefix>_br_`. */
  public static branchDatabasePrefix(prefix: string): string {
    return `${prefix}_br_`;
  }

  /** ElastiCache replication group id: at most 40 characters, starts with a letter, no `--`. */
  public get cacheId(): string {
    return this.fit(`${this.prefix}-`, 40);
  }

  /** Solr collection name: `[a-z0-9_-]`, starts with a letter, at most 100 characters. */
  public get solrCollectionName(): string {
    return this.fit(`${this.prefix}_`, 100);
  }

  /** Key prefix on a shared Redis: `<prefix>:<name>:`. */
  public get redisKeyPrefix(): string {
    return `${this.prefix}:${this.name}:`;
  }

  /** Prefix of every log group of this staging: `/<prefix>/<name>/`. */
  public get logGroupPrefix(): string {
    return stagingLogGroupPrefix(this.prefix, this.name);
  }

  /** Log group for one of the staging's services (at most 512 characters). */
  public logGroupName(service: string): string {
    return serviceLogGroupName(this.logGroupPrefix, service);
  }

  /** Task definition family of one of the staging's services: `<stack name>-<service>`. */
  public taskDefinitionFamily(service: string): string {
    return taskDefinitionFamily(this.stackName, service);
  }

  /** Name of the secret with the master password of the branch database: `<prefix>/branches/<name>/database`. */
  public get databaseSecretName(): string {
    return `${this.parameterPath.slice(1)}/database`;
  }

  /** Name of the secret with the AUTH token of the branch cache: `<prefix>/branches/<name>/cache`. */
  public get cacheSecretName(): string {
    return `${this.parameterPath.slice(1)}/cache`;
  }

  /** The IAM patterns that match this staging's names (and those of every other branch of its prefix). */
  public get patterns(): StagingNamePatterns {
    return new StagingNamePatterns(this.prefix);
  }

  /** SSM parameter path of this staging: `/<prefix>/branches/<name>`. */
  public get parameterPath(): string {
    return `/${this.prefix}/branches/${this.name}`;
  }

  /**
   * The branch as a tag value: at most 256 characters from the set every AWS service accepts
   * (letters, digits, space and `_ . : / = + - @`). Other characters become `+XX` per UTF-8 byte,
   * and `+` itself becomes `+2B`, so the encoding can be reversed with `decodeTagValue`.
   * An encoding longer than 256 characters is cut and ends in `+<hash>`; it is then for people
   * only. The `staging:name` tag is what identifies a staging.
   */
  public get branchTagValue(): string {
    return encodeTagValue(this.branch, this.hash);
  }

  /**
   * `<head><slug>` if that fits in `max` and the name carries no hash; otherwise the slug cut to
   * fit, then `-<hash>`. Every result is a valid lower-case DNS label.
   */
  private fit(head: string, max: number): string {
    const whole = `${head}${this.name}`;
    if (whole.length <= max) return whole;
    return this.withHash(head, max);
  }

  private withHash(head: string, max: number): string {
    const room = max - head.length - this.hash.length - 1;
    const words = this.slug.slice(0, Math.max(0, room)).replace(/-+$/, '');
    return words ? `${head}${words}-${this.hash}` : `${head}${this.hash}`;
  }
}

/**
 * IAM resource-name patterns (`*` and `?` wildcards) that match every name `StagingNames` gives a
 * branch staging of `prefix`. The shared stack's providers and the sweeper's deletion role scope
 * their permissions with these, so a name and the policy that relies on it cannot drift apart
 * (test/naming.test.ts checks every generated name against its pattern). Where a pattern also
 * matches a name of the shared staging (`SharedStagingNames`), the policy denies that name
 * explicitly; `sharedCollisions` lists those.
 */
export class StagingNamePatterns {
  constructor(public readonly prefix: string) {}

  /** Stack names: `<prefix>-*` (the shared stack `<prefix>-shared` matches too). */
  public get stackName(): string {
    return `${this.prefix}-*`;
  }

  /**
   * RDS instance identifiers of branch databases: `<prefix>-*-????`, the identifier base and the
   * restore handler's 4-character generation suffix. `<prefix>-shared` does not match.
   */
  public get databaseIdentifier(): string {
    return `${this.prefix}-*-????`;
  }

  /** ElastiCache replication group ids of branch caches: `<prefix>-*`. */
  public get cacheId(): string {
    return `${this.prefix}-*`;
  }

  /** Secrets Manager names of branch secrets: `<prefix>/branches/*` (ARNs add a random suffix). */
  public get secretName(): string {
    return `${this.prefix}/branches/*`;
  }

  /**
   * Secrets Manager names of branch database secrets only (`StagingNames.databaseSecretName`):
   * `<prefix>/branches/`, a wildcard for the staging name, then `/database`. A branch's cache
   * token (`.../cache`) does not match.
   */
  public get databaseSecretName(): string {
    return `${this.prefix}/branches/*/database`;
  }

  /** SSM parameters of branches: `/<prefix>/branches/*`. */
  public get parameterPath(): string {
    return `/${this.prefix}/branches/*`;
  }

  /** Log groups of stagings: `/<prefix>/*` (the shared app's `/<prefix>/shared/` matches too). */
  public get logGroupName(): string {
    return `/${this.prefix}/*`;
  }

  /** Task definition families of branches: `<prefix>-*`. */
  public get taskDefinitionFamily(): string {
    return `${this.prefix}-*`;
  }

  /**
   * EventBridge Scheduler schedules of branches: in the `default` group (the shared staging keeps
   * its own in `SharedStagingNames.scheduleGroupName`), with names CloudFormation generates from
   * the stack name, so `<prefix>-*`.
   */
  public get scheduleName(): string {
    return this.generatedName;
  }

  /** The schedule group branch schedules live in: `default` (it carries no tags and cannot be created). */
  public get scheduleGroupName(): string {
    return 'default';
  }

  /**
   * Names CloudFormation generates for a stack's unnamed resources (IAM roles, ECS services,
   * alarms, rules): `<stack name>-<logical id>-<suffix>`, so `<prefix>-*`. The shared stack's own
   * generated names (`<prefix>-shared-...`) match too.
   */
  public get generatedName(): string {
    return `${this.prefix}-*`;
  }
}

/**
 * Names of the shared staging's own resources. A branch never gets these: `shared` is a reserved
 * staging name.
 */
export class SharedStagingNames {
  constructor(public readonly prefix: string) {}

  /** The shared stack of the ready-made app: `<prefix>-shared`. */
  public get stackName(): string {
    return `${this.prefix}-${SHARED}`;
  }

  /** The shared Postgres: `<prefix>-shared`. */
  public get databaseIdentifier(): string {
    return `${this.prefix}-${SHARED}`;
  }

  /** The log group RDS writes the shared Postgres's log to. */
  public get databaseLogGroupName(): string {
    return `/aws/rds/instance/${this.databaseIdentifier}/postgresql`;
  }

  /** Prefix of the shared app's log groups: `/<prefix>/shared/`. */
  public get logGroupPrefix(): string {
    return `/${this.prefix}/${SHARED}/`;
  }

  /** Log group for one of the shared app's services. */
  public logGroupName(service: string): string {
    return serviceLogGroupName(this.logGroupPrefix, service);
  }

  /**
   * The schedule group of the shared staging's own schedules (the shared app's jobs, the golden
   * template refresh): `<prefix>-shared`. Branch schedules stay in `default`, so a policy on
   * `schedule/default/<prefix>-*` never reaches these.
   */
  public get scheduleGroupName(): string {
    return `${this.prefix}-${SHARED}`;
  }

  /**
   * Task definition family of the golden template refresh: `<prefix>_shared-database-template-refresh`.
   * The `_` keeps it outside the branch families `<prefix>-*` (`StagingNamePatterns.taskDefinitionFamily`):
   * a branch `database-template` with a service `refresh` has the family
   * `<prefix>-database-template-refresh`.
   */
  public get databaseTemplateRefreshFamily(): string {
    return `${this.prefix}_${SHARED}-database-template-refresh`;
  }

  /**
   * The waker's target group: `<prefix>-waker` (at most 26 of the 32 characters ELB allows). A
   * fixed name lets the waker's Lambda permission name it as its `SourceArn`; branch target groups
   * get CloudFormation-generated names, which end in a random suffix.
   */
  public get wakerTargetGroupName(): string {
    return `${this.prefix}-waker`;
  }

  /** The waker's target group on shard `index` (SharedStaging's `maxBranches`): shard 0's is `wakerTargetGroupName`, then `<prefix>-waker-<index>`. */
  public wakerTargetGroupNameOf(index: number): string {
    return index === 0 ? this.wakerTargetGroupName : `${this.wakerTargetGroupName}-${index}`;
  }

  /**
   * The stagings page's target group: `<prefix>-stagings` (at most 29 of the 32 characters ELB
   * allows), fixed for the same reason as the waker's: the page's Lambda permission names it.
   */
  public get stagingsPageTargetGroupName(): string {
    return `${this.prefix}-${STAGINGS_PAGE_LABEL}`;
  }

  /** SSM parameters the shared staging publishes: `<parameterPrefix>/shared/*`. */
  public parameterPath(parameterPrefix: string = `/${this.prefix}`): string {
    return `${parameterPrefix}/${SHARED}`;
  }
}

/** `/<prefix>/<staging name>/`: where every log group of a staging starts. */
export function stagingLogGroupPrefix(prefix: string, stagingName: string): string {
  return `/${prefix}/${stagingName}/`;
}

/** `<logGroupPrefix><service>`: one log group per service, all of a staging's logs together. */
export function serviceLogGroupName(logGroupPrefix: string, service: string): string {
  return `${logGroupPrefix}${slugify(service) || 'service'}`;
}

/** `<familyPrefix>-<service>`. */
export function taskDefinitionFamily(familyPrefix: string, service: string): string {
  return `${familyPrefix}-${slugify(service) || 'service'}`;
}

const HASH_SUFFIX = /-[0-9a-f]{8}$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Lower-case ASCII words of `text`, joined by single hyphens; accents are dropped, not letters. */
export function slugify(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

const TAG_SAFE = /[A-Za-z0-9 _.:/=@-]/;
const MAX_TAG_VALUE = 256;

/** Escapes `value` to the characters every AWS service accepts in tag values (see `branchTagValue`). */
export function encodeTagValue(value: string, hash?: string): string {
  let out = '';
  for (const ch of value) {
    if (TAG_SAFE.test(ch)) {
      out += ch;
    } else {
      for (const byte of Buffer.from(ch, 'utf8')) out += `+${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    }
  }
  if (out.length <= MAX_TAG_VALUE) return out;
  const suffix = `+${hash ?? sha256(value).slice(0, 8)}`;
  // Cut at a character boundary of the encoding, never inside a `+XX` escape.
  let cut = out.slice(0, MAX_TAG_VALUE - suffix.length);
  cut = cut.replace(/\+[0-9A-F]?$/, '');
  return cut + suffix;
}

/** Reverses `encodeTagValue` for values that were not cut. */
export function decodeTagValue(encoded: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    if (encoded[i] === '+' && /^[0-9A-F]{2}$/.test(encoded.slice(i + 1, i + 3))) {
      bytes.push(parseInt(encoded.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(encoded[i], 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
