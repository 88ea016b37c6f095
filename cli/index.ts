/** Entry point of the `staging` bin (bundled to assets/cli/staging.js). */
import { createInterface } from 'node:readline/promises';
import { run, unexpected } from './program';

// The CLI's output is its own. The AWS SDK (@aws-sdk/core, emitWarningIfUnsupportedVersion) prints
// a 9-line warning on Node < 22 that SDK releases after January 2027 will need Node 22; the SDK
// inside this bundle is fixed at build time, so the warning is not about this CLI. Its own switch
// turns it off, for this process only, unless the user set it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

// A reader that stops early (`staging list | head -1`) closes the pipe: the rest of the output is
// not wanted, which is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode ?? 0);
  });
}

run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  isTTY: Boolean(process.stdout.isTTY),
  env: process.env,
  now: () => new Date(),
  confirm,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`staging: ${unexpected(e)}\n`);
    if (process.env.CDK_DEBUG === 'true' || process.argv.includes('--debug')) process.stderr.write(`${e?.stack ?? e}\n`);
    process.exitCode = 1;
  },
);
