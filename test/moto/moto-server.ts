/**
 * moto's server (python3 -m moto.server, moto 5.2.1 in the system Python): an independent,
 * stateful implementation of the AWS wire protocols, written by others. The tests start it on a
 * free loopback port, wait until it answers, point the real SDK clients at it (AWS_ENDPOINT_URL
 * and fake credentials) and stop it by its process id.
 *
 * When python3 or moto is missing, `describeWithMoto` says so in the name of one skipped test and
 * skips only its own tests; `.ci/run` fails when any moto test was skipped (it must install or
 * find moto). `npm run test:moto` runs these tests (jest.moto.config.js).
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

/** Whether `python3 -c 'import moto.server'` works here, and the moto version; why not otherwise. */
export function motoAvailable(): { ok: true; version: string } | { ok: false; why: string } {
  const r = spawnSync('python3', ['-c', 'import moto, moto.server; print(moto.__version__)'], { encoding: 'utf8' });
  if (r.error) return { ok: false, why: `python3 is not on PATH (${r.error.message})` };
  if (r.status !== 0) return { ok: false, why: `python3 cannot import moto.server: ${(r.stderr || '').trim().split('\n').pop()}` };
  return { ok: true, version: r.stdout.trim() };
}

export interface Moto {
  readonly url: string;
  readonly pid: number;
  /** Forgets every resource (POST /moto-api/reset). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts moto's server on a free loopback port and resolves once it answers. */
export async function startMoto(timeoutMs = 30_000): Promise<Moto> {
  const port = await freePort();
  const child: ChildProcess = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid!, 'SIGTERM');
      const killer = setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto's server exited (code ${child.exitCode}) before it answered on ${url}:\n${stderr}`);
    try {
      const res = await fetch(`${url}/moto-api/data.json`, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`moto's server did not answer on ${url} within ${timeoutMs} ms:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid!,
    async reset() {
      const res = await fetch(`${url}/moto-api/reset`, { method: 'POST' });
      if (!res.ok) throw new Error(`moto reset failed: ${res.status} ${await res.text()}`);
    },
    stop,
  };
}

/** The environment that points the SDK's clients at moto: endpoint, region, fake credentials, no profile files. */
export function motoEnv(url: string, region = 'eu-west-1'): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: url,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/** moto's account id (its default, 123456789012). */
export const MOTO_ACCOUNT = '123456789012';

/**
 * `describe` with a moto server for its tests: started once in beforeAll (with `motoEnv` in
 * process.env), reset before each test, stopped by process id in afterAll. Without moto, one
 * skipped test says why and the rest are skipped.
 */
export function describeWithMoto(name: string, body: (moto: () => Moto) => void): void {
  const available = motoAvailable();
  if (!available.ok) {
    describe(name, () => {
      test.skip(`moto is missing: ${available.why}. Install it (pip install 'moto[server]==5.2.1') to run these tests`, () => undefined);
    });
    return;
  }
  describe(`${name} (moto ${available.version})`, () => {
    let moto: Moto | undefined;
    const saved = { ...process.env };
    beforeAll(async () => {
      moto = await startMoto();
      Object.assign(process.env, motoEnv(moto.url));
    });
    afterAll(async () => {
      process.env = saved;
      await moto?.stop();
    });
    beforeEach(async () => {
      await moto!.reset();
    });
    body(() => moto!);
  });
}
