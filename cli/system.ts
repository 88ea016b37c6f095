/** What the CLI asks of the machine besides AWS: finding and running programs, and plain HTTP. Tests pass their own. */
import { spawn as spawnChild } from 'node:child_process';
import which from 'which';

export interface System {
  /** The path of `command` on PATH, or undefined when it is not there. */
  which(command: string): string | undefined;
  /** Runs a program on this terminal (stdin, stdout and stderr inherited); resolves to its exit code. */
  spawn(command: string, args: readonly string[]): Promise<number>;
  /** The HTTP status of a GET of `url` (redirects not followed), with extra `headers`; rejects when nothing answers. */
  httpStatus(url: string, headers?: Record<string, string>): Promise<number>;
}

export const realSystem: System = {
  // The `which` package, as npm itself finds programs: PATH, and PATHEXT on Windows.
  which: (command) => which.sync(command, { nothrow: true }) ?? undefined,
  spawn(command, args) {
    return new Promise((resolve, reject) => {
      // Ctrl-C belongs to the program (the remote shell), as with the AWS CLI: this process ignores it meanwhile.
      const ignore = () => undefined;
      process.on('SIGINT', ignore);
      const child = spawnChild(command, [...args], { stdio: 'inherit' });
      child.on('error', (e) => {
        process.off('SIGINT', ignore);
        reject(e);
      });
      child.on('exit', (code, signal) => {
        process.off('SIGINT', ignore);
        resolve(code ?? (signal ? 128 : 1));
      });
    });
  },
  async httpStatus(url, headers = {}) {
    const response = await fetch(url, { redirect: 'manual', headers: { 'user-agent': 'staging-cli', accept: '*/*', ...headers }, signal: AbortSignal.timeout(10_000) });
    await response.body?.cancel();
    return response.status;
  },
};
