import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

const cdkJson = JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8'));

/** The feature flags of the project's cdk.json, so tests synthesize exactly as `cdk synth` does. */
export const FEATURE_FLAGS: Record<string, unknown> = Object.fromEntries(
  Object.entries(cdkJson.context as Record<string, unknown>).filter(([k]) => k.startsWith('@aws-cdk')),
);

/** An App with the project's feature flags (CloudFormation Validate on) and cdk-nag AwsSolutions. */
export function testApp(props: AppProps = {}): App {
  const app = new App({
    outdir: mkdtempSync(join(tmpdir(), 'cdk-test-')),
    ...props,
    context: { ...FEATURE_FLAGS, ...(props.context ?? {}) },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

export interface Finding {
  readonly plugin: string;
  readonly rule: string;
  readonly severity: string;
  readonly path: string;
  readonly description: string;
}

/**
 * Synthesizes the app and returns every unacknowledged finding of every validation plugin
 * (cdk-nag AwsSolutions and CloudFormation Validate), errors and warnings alike.
 */
export function validationFindings(app: App): Finding[] {
  try {
    app.synth({ force: true });
  } catch (e) {
    // aws-cdk-lib throws a ValidationFailed error (older releases: "Validation failed" in the
    // message) after writing the report read below; anything else is a real synth error.
    if ((e as Error).name !== 'ValidationFailed' && !/Validation ?failed/i.test(String((e as Error).message))) throw e;
  }
  const reportPath = join(app.outdir, 'validation-report.json');
  if (!existsSync(reportPath)) return [];
  const report = JSON.parse(readFileSync(reportPath, 'utf8'));
  const findings: Finding[] = [];
  for (const plugin of report.pluginReports ?? []) {
    for (const v of plugin.violations ?? []) {
      for (const c of v.violatingConstructs ?? []) {
        findings.push({
          plugin: plugin.pluginName,
          rule: v.ruleName,
          severity: v.severity,
          path: c.constructPath,
          description: v.description,
        });
      }
    }
  }
  return findings;
}

/** Formats findings one per line, so a failing test shows what to fix. */
export function formatFindings(findings: Finding[]): string[] {
  return findings.map((f) => `${f.plugin} ${f.rule} (${f.severity}) at ${f.path}: ${f.description}`);
}
