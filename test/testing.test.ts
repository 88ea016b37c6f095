import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Masks, normalizeTemplate, templateSnapshotSerializer } from 'cdk-multi-staging/testing';
import { FEATURE_FLAGS } from './util/validate';

/** A stack like a user's: a function from a handler bundle, and a container image asset-free task. */
function synth(handlerSource: string, memorySize = 256): any {
  const dir = mkdtempSync(join(tmpdir(), 'bundle-'));
  writeFileSync(join(dir, 'index.js'), handlerSource);
  const stack = new Stack(new App({ context: FEATURE_FLAGS }), 'User', { env: { region: 'eu-west-1' } });
  const fn = new lambda.Function(stack, 'Handler', {
    code: lambda.Code.fromAsset(dir),
    handler: 'index.onEvent',
    runtime: lambda.Runtime.NODEJS_24_X,
    memorySize,
  });
  // A version, whose logical id carries the code hash.
  new lambda.Alias(stack, 'Live', { aliasName: 'live', version: fn.currentVersion });
  new ecs.FargateTaskDefinition(stack, 'Task').addContainer('app', { image: ecs.ContainerImage.fromRegistry('nginx:1.27') });
  return Template.fromStack(stack).toJSON();
}

describe('normalizeTemplate', () => {
  const before = synth('exports.onEvent = async () => ({});');
  const bundleChanged = synth('exports.onEvent = async () => ({ PhysicalResourceId: "x" }); // new handler code');
  const resourceChanged = synth('exports.onEvent = async () => ({});', 512);

  test('the raw templates differ when only the handler bundle changed (the churn users suffer)', () => {
    expect(JSON.stringify(bundleChanged)).not.toEqual(JSON.stringify(before));
  });

  test('a source change in a handler bundle does not change the normalized snapshot', () => {
    expect(normalizeTemplate(bundleChanged)).toEqual(normalizeTemplate(before));
  });

  test('a real change to a resource does', () => {
    expect(normalizeTemplate(resourceChanged)).not.toEqual(normalizeTemplate(before));
    expect(JSON.stringify(normalizeTemplate(resourceChanged))).toContain('"MemorySize":512');
  });

  test('masks asset hashes and version ids, keeps everything a user deploys', () => {
    const text = JSON.stringify(normalizeTemplate(before));
    expect(text).toContain(Masks.ASSET_HASH);
    expect(text).toContain(Masks.VERSION);
    expect(text).not.toMatch(/[0-9a-f]{64}/);
    expect(text).toContain('nginx:1.27');
    expect(text).not.toContain('AWS::CDK::Metadata');
  });

  test('does not modify its input', () => {
    const copy = JSON.stringify(before);
    normalizeTemplate(before);
    expect(JSON.stringify(before)).toEqual(copy);
  });
});

describe('templateSnapshotSerializer', () => {
  test('serializes templates masked, and leaves other values to Jest', () => {
    const template = synth('exports.onEvent = async () => ({});');
    expect(templateSnapshotSerializer.test(template)).toBe(true);
    expect(templateSnapshotSerializer.test({ some: 'object' })).toBe(false);
    const printed = templateSnapshotSerializer.serialize(template, {}, '', 0, [], (value: unknown) => JSON.stringify(value));
    expect(printed).toEqual(JSON.stringify(normalizeTemplate(template)));
  });
});
