/**
 * Real redis-server processes for the redis-prefix handler tests: each on a free loopback port,
 * in its own temp dir, with persistence off. CI installs the Debian package `redis-server`; a
 * missing binary fails the tests with a message that says so.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';

export function requireRedisServer(): string {
  try {
    return execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(
      'redis-server is not on PATH: the redis-prefix tests need a real Redis. Install it with ' +
        '`apt-get update -qq && apt-get install -y -qq redis-server` (CI does the same).',
    );
  }
}

/** A port that was free a moment ago (the server start retries if another process takes it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface TlsFiles {
  readonly dir: string;
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
}

/** A throw-away CA and a server certificate for 127.0.0.1/localhost, made with openssl. */
export function makeTlsFiles(): TlsFiles {
  const dir = mkdtempSync(join(tmpdir(), 'redis-prefix-tls-'));
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=redis-prefix test CA');
  openssl('req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost');
  writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    'x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial',
    '-out', f('server.crt'), '-days', '2', '-extfile', f('server.ext'),
  );
  return { dir, caCert: f('ca.crt'), serverCert: f('server.crt'), serverKey: f('server.key') };
}

export interface RedisServerOptions {
  readonly password?: string;
  readonly tls?: TlsFiles;
  readonly clusterEnabled?: boolean;
  /** A fixed port (e.g. to restart a server where a client expects it); default: a free one. */
  readonly port?: number;
}

export class RedisServer {
  public port = 0;
  private process?: ChildProcess;
  private dir?: string;
  private output = '';

  constructor(private readonly options: RedisServerOptions = {}) {}

  async start(): Promise<this> {
    for (let attempt = 1; attempt <= 5; attempt++) {
      this.port = this.options.port ?? (await freePort());
      this.dir = mkdtempSync(join(tmpdir(), 'redis-prefix-test-'));
      const args = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, '--daemonize', 'no'];
      if (this.options.tls) {
        const t = this.options.tls;
        args.push('--port', '0', '--tls-port', String(this.port));
        args.push('--tls-cert-file', t.serverCert, '--tls-key-file', t.serverKey, '--tls-ca-cert-file', t.caCert);
        args.push('--tls-auth-clients', 'no');
      } else {
        args.push('--port', String(this.port));
      }
      if (this.options.password) args.push('--requirepass', this.options.password);
      if (this.options.clusterEnabled) args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(this.dir, 'nodes.conf'));
      this.output = '';
      const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      this.process = child;
      child.stdout!.on('data', (chunk) => (this.output += String(chunk)));
      child.stderr!.on('data', (chunk) => (this.output += String(chunk)));
      if (await this.waitUntilListening(child)) return this;
      await this.stop();
      if (this.options.port !== undefined || !/Address already in use/i.test(this.output)) {
        throw new Error(`redis-server did not start:\n${this.output}`);
      }
    }
    throw new Error(`redis-server found no free port:\n${this.output}`);
  }

  private async waitUntilListening(child: ChildProcess): Promise<boolean> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) return false;
      if (/Ready to accept connections/i.test(this.output)) return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  }

  /** A plain client for seeding and inspecting (not the handler's code path). */
  client(): Redis {
    const tlsFiles = this.options.tls;
    return new Redis({
      host: '127.0.0.1',
      port: this.port,
      password: this.options.password,
      tls: tlsFiles ? { ca: readFileSync(tlsFiles.caCert) } : undefined,
      lazyConnect: false,
      maxRetriesPerRequest: 1,
    });
  }

  async stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (child && child.exitCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
