/** Entry point of the `staging` bin (bundled to assets/cli/staging.js). */
import { createInterface } from 'node:readline/promises';
import { run } from './program';

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
    process.stderr.write(`staging: ${e?.stack ?? e}\n`);
    process.exitCode = 1;
  },
);
