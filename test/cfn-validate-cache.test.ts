import { App, CfnResource, Stack } from 'aws-cdk-lib';
import type { SharedValidator } from './util/cfn-validate-cache';
import { validationFindings } from './util/validate';

/**
 * The worker's shared CloudFormation Validate (test/util/cfn-validate-cache.ts) still finds what
 * aws-cdk-lib's own plugin finds, and validates a template once however often it is synthesized.
 */
const shared = () => (globalThis as { __sharedCloudFormationValidate?: SharedValidator }).__sharedCloudFormationValidate!;

/** An app whose only stack has a bucket with a misspelt property, which the schema rejects. */
function appWithTypo(bucketName: string): App {
  const app = new App({ context: { '@aws-cdk/core:validateAgainstDefaultRules': true } });
  const stack = new Stack(app, 'Typo', { env: { account: '123456789012', region: 'eu-west-1' } });
  new CfnResource(stack, 'Bucket', { type: 'AWS::S3::Bucket', properties: { BucketNam: bucketName } });
  return app;
}

const validateFindings = (app: App) => validationFindings(app).filter((f) => f.plugin === 'CloudFormation Validate');

test('the shared engine reports a schema violation, as aws-cdk-lib\'s plugin does', () => {
  const findings = validateFindings(appWithTypo('first'));
  expect(findings.length).toBeGreaterThan(0);
  expect(findings.map((f) => f.description).join('\n')).toMatch(/BucketNam/);
});

test('the same template synthesized again is validated once, with the same findings', () => {
  const first = validateFindings(appWithTypo('again'));
  const { templatesValidated, reportsReused } = shared().stats;
  const second = validateFindings(appWithTypo('again'));
  expect(second).toEqual(first);
  expect(shared().stats.templatesValidated).toBe(templatesValidated);
  expect(shared().stats.reportsReused).toBe(reportsReused + 1);
});

test('a different template with the same resource types is validated afresh, by the same engine', () => {
  validateFindings(appWithTypo('engine'));
  const { templatesValidated, enginesCreated } = shared().stats;
  validateFindings(appWithTypo('different'));
  expect(shared().stats.templatesValidated).toBe(templatesValidated + 1);
  expect(shared().stats.enginesCreated).toBe(enginesCreated);
});
