#!/usr/bin/env node
import { join, relative } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { App } from 'aws-cdk-lib';
import { StagingKinds, TagKeys } from '../lib/contract/staging';
import { StagingInputError } from './config';
import { buildStagingApp } from './staging-app';

/**
 * The ready-made app (README, "The ready-made app"). Bad input is printed as messages, one per
 * line, and the app exits 1 without a stack trace; set CDK_DEBUG=true to see one.
 */
const CONSTRUCTS: Record<string, string> = {
  [StagingKinds.SHARED]: 'SharedStaging',
  [StagingKinds.FEATURE]: 'FeatureStaging',
  [StagingKinds.FEATURE_LITE]: 'FeatureStagingLite',
};

/**
 * CloudFormation Validate (aws-cdk-lib's built-in plugin, on by default) compiles a 9 MB
 * WebAssembly module on every synth, and V8 then compiles its hot functions a second time with its
 * optimizing compiler in background threads: about 1.5 s of CPU that one validation never earns
 * back. With Liftoff, V8's baseline WebAssembly compiler, alone, a branch synth takes about a
 * quarter less CPU (4.9 s -> 3.7 s, `npm run bench`). It affects only how WebAssembly compiled from
 * here on is compiled (the module is compiled when the synth validates); the validation and its
 * findings are the same.
 */
setFlagsFromString('--liftoff-only');

function main(): void {
  // No synth at exit: after bad input there is nothing to synthesize.
  const app = new App({ autoSynth: false });
  buildStagingApp(app);
  const assembly = app.synth();
  for (const stack of assembly.stacks) {
    const where = relative(process.cwd(), join(assembly.directory, stack.templateFile));
    process.stderr.write(`Synthesized ${stack.stackName} (${CONSTRUCTS[stack.tags[TagKeys.KIND]] ?? 'a stack'}) to ${where}\n`);
  }
}

try {
  main();
} catch (e) {
  const lines = e instanceof StagingInputError ? e.lines : [String((e as Error)?.message ?? e)];
  process.stderr.write(`${lines.join('\n')}\n`);
  if (process.env.CDK_DEBUG === 'true' && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  process.exitCode = 1;
}
