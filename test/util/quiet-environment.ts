import type { Circus } from '@jest/types';
import { TestEnvironment } from 'jest-environment-node';
import { sharedValidator } from './cfn-validate-cache';

/**
 * The test environment of `npm test`: Node's, made quiet. A green run prints only jest's summary:
 * - what a test writes to the console (handlers log structured JSON) is held back, and printed
 *   only when that test fails, under its name, so a failure still shows everything it logged;
 * - the AWS SDK's NodeVersionSupportWarning (once per test file on Node 20) is turned off
 *   with the SDK's own switch. Every other process warning is still printed.
 * It also hands every test file the worker's one CloudFormation Validate (cfn-validate-cache.ts).
 */
export default class QuietEnvironment extends TestEnvironment {
  private held: string[] = [];

  public async setup(): Promise<void> {
    await super.setup();
    this.global.process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
    this.global.__sharedCloudFormationValidate = sharedValidator;
    // Wrapped once: a test's own jest.spyOn(console, ...) replaces and restores these wrappers.
    const console = this.global.console as unknown as Record<string, (...args: unknown[]) => void>;
    for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
      console[level] = (...args: unknown[]) => {
        this.held.push(`console.${level}: ${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`);
      };
    }
  }

  public async handleTestEvent(event: Circus.Event): Promise<void> {
    if (event.name !== 'test_done') return;
    // What beforeAll hooks logged counts with the first test after them.
    if (event.test.errors.length > 0 && this.held.length > 0) {
      process.stderr.write(`\nConsole output of the failed test "${event.test.name}":\n${this.held.map((l) => `  ${l}`).join('\n')}\n`);
    }
    this.held = [];
  }
}
