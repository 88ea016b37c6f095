import { Template } from 'aws-cdk-lib/assertions';
import { buildStagingApp } from '../bin/staging-app';
import { testApp, validationFindings, formatFindings } from './util/validate';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const exampleConfig = JSON.parse(readFileSync(join(__dirname, '..', 'cdk.json'), 'utf8')).context.staging;

describe('ready-made app, shared stack', () => {
  test('is clean under cdk-nag AwsSolutions and CloudFormation Validate', () => {
    const app = testApp({ context: { staging: exampleConfig } });
    buildStagingApp(app);
    expect(formatFindings(validationFindings(app))).toEqual([]);
  });
});
