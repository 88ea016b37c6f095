/**
 * CloudFormation Validate, shared by every test file of a jest worker.
 *
 * aws-cdk-lib validates each synthesized template with `@aws/cloudformation-validate`, a 9 MB
 * WebAssembly module. Jest gives every test file a fresh module registry, so each file compiled
 * that module again and created its own engines: about 1.3 s per engine, and aws-cdk-lib creates
 * a new one whenever a synth brings resource types the last engine was not made for. That was
 * 57 s of the suite's CPU time, for 42 engines, before a single template was validated.
 *
 * The test environment (quiet-environment.ts) loads this file once per worker process, outside
 * the registries, and hands {@link sharedCloudFormationValidate} to every test file; jest.config.js
 * maps `@aws/cloudformation-validate` to cfn-validate-module.ts, which returns it. What changes:
 * - one compiled module per worker;
 * - one engine per distinct engine configuration (the same rules), created on first use and kept;
 * - a template validated once per configuration and options, however often it is synthesized.
 * What does not change: aws-cdk-lib's plugin still chooses the rules, the options and what a
 * finding is; every template is still validated by the real engine, with the same configuration
 * aws-cdk-lib asked for.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

/** The part of `@aws/cloudformation-validate`'s engine that this file wraps. */
interface Template {
  readBytes(): Uint8Array;
}
type Report = unknown;
interface Engine {
  validateTemplate(template: Template, options?: object): Report;
  validateStandard(template: Template, options?: object): Report;
  validateDetailed(template: Template, options?: object): Report;
  validateAwsCliCommand(request: object): Report;
  listRules(): unknown[];
  engineName(): string;
  free(): void;
}
type Config = object;
interface Module {
  readonly CompositeEngine: new (config?: Config) => Engine;
  readonly [name: string]: unknown;
}

/** The validator aws-cdk-lib itself depends on (its own nested copy when it has one). */
function loadValidator(): Module {
  const fromCdkLib = createRequire(require.resolve('aws-cdk-lib/package.json'));
  return fromCdkLib('@aws/cloudformation-validate') as Module;
}

const hash = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

export interface ValidateCacheStats {
  enginesCreated: number;
  templatesValidated: number;
  reportsReused: number;
}

/** What the cache did in this worker; test files read it as `globalThis.__sharedCloudFormationValidate.stats`. */
export const stats: ValidateCacheStats = { enginesCreated: 0, templatesValidated: 0, reportsReused: 0 };

let validator: Module | undefined;
const engines = new Map<string, Engine>();
const reports = new Map<string, Report>();

function real(): Module {
  validator ??= loadValidator();
  return validator;
}

/**
 * An engine handle as aws-cdk-lib's plugin uses one: created with a configuration, asked to
 * validate templates, freed when the plugin wants other rules. The real engine behind it is
 * shared by configuration and is never freed: the next file, or the next synth, asks for it again.
 */
class SharedEngine {
  private readonly key: string;

  private readonly config: Config;

  /**
   * The configuration and the options come from a test file's realm: the validator accepts only
   * plain objects of its own realm, so they are copied into this one (structuredClone here).
   */
  public constructor(config: Config = {}) {
    this.config = structuredClone(config);
    this.key = hash(JSON.stringify(config));
  }

  public validateTemplate(template: Template, options?: object): Report {
    const reportKey = `${this.key} ${hash(JSON.stringify(options ?? {}))} ${hash(template.readBytes())}`;
    const known = reports.get(reportKey);
    if (known) {
      stats.reportsReused++;
      return known;
    }
    const report = this.engine().validateTemplate(template, options && structuredClone(options));
    stats.templatesValidated++;
    reports.set(reportKey, report);
    return report;
  }

  public validateStandard(template: Template, options?: object): Report {
    return this.engine().validateStandard(template, options && structuredClone(options));
  }

  public validateDetailed(template: Template, options?: object): Report {
    return this.engine().validateDetailed(template, options && structuredClone(options));
  }

  public validateAwsCliCommand(request: object): Report {
    return this.engine().validateAwsCliCommand(request);
  }

  public listRules() {
    return this.engine().listRules();
  }

  public engineName() {
    return this.engine().engineName();
  }

  /** The shared engine outlives this handle. */
  public free(): void {}

  private engine(): Engine {
    let engine = engines.get(this.key);
    if (!engine) {
      engine = new (real().CompositeEngine)(this.config);
      stats.enginesCreated++;
      engines.set(this.key, engine);
    }
    return engine;
  }
}

let shared: Module | undefined;

/**
 * `@aws/cloudformation-validate` as the test files see it: the real module, with CompositeEngine
 * replaced by the shared one. Loaded when a test file first validates.
 */
export function sharedCloudFormationValidate(): Module {
  shared ??= { ...real(), CompositeEngine: SharedEngine };
  return shared;
}

/** What the environment hands each test file as `globalThis.__sharedCloudFormationValidate`. */
export interface SharedValidator {
  readonly load: () => Module;
  readonly stats: ValidateCacheStats;
}

export const sharedValidator: SharedValidator = { load: sharedCloudFormationValidate, stats };
