/**
 * What the integ test apps (test/integ/integ.*.ts) share: the App with the project's feature flags,
 * and the account-specific values a maintainer supplies when deploying. Offline (the snapshot
 * check, `npm run integ`) every value is an example, so the committed snapshots never depend on
 * who synthesized them.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';

/** The staging systems the integ tests create: each its own prefix, so they never meet a real one. */
export const INTEG_STAGINGS = {
  /** integ.staging.ts: the shared staging, a full branch and a lite branch. */
  staging: { prefix: 'integ', branches: { full: 'integ/full_branch', lite: 'integ/lite-branch' } },
  /** integ.sweeper.ts: a sweeper in dry run and a stand-in branch. */
  sweeper: { prefix: 'integsweep', branches: { kept: 'integ/kept-branch' } },
} as const;

/**
 * The values that must be real for a deploy (README, "Integration tests in a real account"), each
 * from an environment variable. The defaults are the examples the snapshots are written with.
 */
export interface IntegSettings {
  /** `STAGING_INTEG_REGION`: where the stacks deploy. */
  readonly region: string;
  /** `STAGING_INTEG_DOMAIN`: the staging domain, inside the hosted zone (branches are `<name>.<domain>`). */
  readonly domainName: string;
  /** `STAGING_INTEG_HOSTED_ZONE_ID`: a public hosted zone of the account. */
  readonly hostedZoneId: string;
  /** `STAGING_INTEG_HOSTED_ZONE_NAME`: that zone's name. */
  readonly hostedZoneName: string;
}

export function integSettings(env: NodeJS.ProcessEnv = process.env): IntegSettings {
  return {
    region: env.STAGING_INTEG_REGION || 'eu-west-1',
    domainName: env.STAGING_INTEG_DOMAIN || 'integ.staging.example.com',
    hostedZoneId: env.STAGING_INTEG_HOSTED_ZONE_ID || 'Z0123456789ABCDEFGHIJ',
    hostedZoneName: env.STAGING_INTEG_HOSTED_ZONE_NAME || 'example.com',
  };
}

/**
 * An App with the feature flags of the project's cdk.json (the ready-made app's), not
 * integ-runner's own list: the stacks under test are then synthesized as users synthesize them.
 * `postCliContext` wins over the context integ-runner passes in.
 */
export function integApp(): App {
  const cdkJson = JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  const flags = Object.fromEntries(Object.entries(cdkJson.context).filter(([key]) => key.startsWith('@aws-cdk')));
  return new App({ postCliContext: flags });
}

/**
 * The branch's web container: nginx serving one page that names the staging and its branch (from
 * the variables every container receives), so an assertion can tell this branch's page from
 * another's and from the waking page.
 */
export const PAGE_MARKER = 'cdk-multi-staging integ page';
export function branchPageImage(): { image: ecs.ContainerImage; command: string[] } {
  return {
    image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/nginx:1.27'),
    command: [
      'sh',
      '-c',
      `printf '<!doctype html><title>${PAGE_MARKER}</title><p>staging=%s branch=%s</p>\\n' "$STAGING_NAME" "$BRANCH_NAME" > /usr/share/nginx/html/index.html && exec nginx -g 'daemon off;'`,
    ],
  };
}

/**
 * Synthesizes the test app, then lets integ-runner read it.
 *
 * integ-runner 2.197.10, the newest on npm (December 2026), bundles a toolkit that reads cloud
 * assembly schema revision 53 at most; aws-cdk-lib 2.276 writes revision 55 and the runner refuses
 * it ("Cloud assembly schema version mismatch: Maximum schema version supported is 53.x.x, but
 * found 55.0.0"), with no option to skip the check. Revisions 54 and 55 only add things: the
 * `PropertyMutationMetadataEntry` metadata type (the older schema's metadata already takes free-form
 * data) and a test case's `allowDeleteFailures` (not used here; refused below); the asset manifest's
 * schema is unchanged. So the manifests
 * are relabelled with the revision the runner reads, and only then. Anything beyond revision 55 is
 * unknown and fails here, rather than being relabelled blind. Once integ-runner reads the revision
 * aws-cdk-lib writes, this does nothing: delete it then.
 */
const KNOWN_ADDITIVE_REVISIONS = [54, 55];

export function synthForIntegRunner(app: App): void {
  const assembly = app.synth();
  const runnerRevision = integRunnerSchemaRevision();
  // The assembly manifest, the integ manifest and the asset manifests each carry the revision.
  const files = readdirSync(assembly.directory).filter((f) => f === 'manifest.json' || f === 'integ.json' || f.endsWith('.assets.json'));
  for (const file of files) {
    const path = join(assembly.directory, file);
    const text = readFileSync(path, 'utf8');
    const manifest = JSON.parse(text) as { version: string };
    const written = Number(manifest.version.split('.')[0]);
    if (written <= runnerRevision) continue;
    const unknown = [];
    for (let r = runnerRevision + 1; r <= written; r++) if (!KNOWN_ADDITIVE_REVISIONS.includes(r)) unknown.push(r);
    if (unknown.length > 0) {
      throw new Error(
        `${file}: aws-cdk-lib wrote cloud assembly schema ${manifest.version}; integ-runner reads ${runnerRevision} at most, and what revision(s) ${unknown.join(', ')} add is not known to test/integ/integ-env.ts. Update @aws-cdk/integ-runner, or check the schema's changes and extend KNOWN_ADDITIVE_REVISIONS.`,
      );
    }
    if (text.includes('"allowDeleteFailures"')) throw new Error(`${file}: allowDeleteFailures needs cloud assembly schema 55; integ-runner reads ${runnerRevision}`);
    manifest.version = `${runnerRevision}.0.0`;
    writeFileSync(path, JSON.stringify(manifest, undefined, 2));
  }
}

/** The newest cloud assembly schema revision the installed integ-runner's toolkit reads. */
function integRunnerSchemaRevision(): number {
  const bundle = readFileSync(require.resolve('@aws-cdk/integ-runner/lib/workers/extract/index.js'), 'utf8');
  const m = /cloud-assembly-schema\/schema\/version\.json"\(exports2, module2\) \{[^}]*?revision: (\d+)/.exec(bundle);
  if (!m) throw new Error('Cannot find the cloud assembly schema revision in @aws-cdk/integ-runner: check test/integ/integ-env.ts against its new layout');
  return Number(m[1]);
}
