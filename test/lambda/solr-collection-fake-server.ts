/**
 * A real HTTP server on 127.0.0.1 that speaks the part of Solr's v1 Collections API the
 * solr-collection handler relies on, with in-memory collections, configsets and backups:
 * LIST, CLUSTERSTATUS, CREATE, DELETE, BACKUP, RESTORE, LISTBACKUP, REQUESTSTATUS, DELETESTATUS.
 *
 * Semantics copied from Solr 9 (reference guide "collection-management", "collections-api", and
 * the CollectionsHandler / BackupFilePaths sources):
 * - `async=<id>` queues the action and answers `{"requestid": id}`; a known id answers HTTP 400
 *   "Task with the same requestid already exists. (<id>)".
 * - REQUESTSTATUS reports `status.state` submitted → running (for `pollsUntilDone` polls) →
 *   completed | failed; unknown ids are `notfound` ("Did not find [id] in any tasks queue"). A
 *   failed task's stored response carries `Operation <op> caused exception:` and `exception.msg`.
 * - RESTORE creates the target collection when it starts running, then fills it; a RESTORE that
 *   fails leaves that half-restored collection behind, as Solr does.
 * - LISTBACKUP of a name that has no backup at an existing location answers HTTP 500 "Incremental
 *   backup URI [...] expected to hold a single directory. Number found: 0"; an unknown location
 *   answers HTTP 500 "specified location ... does not exist.".
 * - DELETE of an unknown collection answers HTTP 400 "Could not find collection : <name>".
 * - Errors have Solr's shape: `responseHeader.status` = HTTP code and `error.msg`.
 * - With `auth` set, requests without the right Basic credentials get HTTP 401 and an HTML body,
 *   as Jetty sends when Solr's BasicAuthPlugin has blockUnknown=true.
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

export interface FakeCollection {
  configName: string;
  numShards: number;
  replicationFactor: number;
  /** Name of the backup this collection was restored from, if any. */
  restoredFrom?: string;
  /** True while a RESTORE into it is still running or after one failed. */
  partial?: boolean;
}

export interface FakeBackup {
  /** The collection that was backed up. */
  collection: string;
  configName: string;
  /** Backup points, newest last; each is the backupId. */
  points: number[];
}

export interface RecordedRequest {
  readonly action: string;
  readonly params: Record<string, string>;
  readonly authorization?: string;
}

type TaskState = 'submitted' | 'running' | 'completed' | 'failed';

interface Task {
  readonly action: string;
  readonly params: Record<string, string>;
  state: TaskState;
  pollsLeft: number;
  stored: Record<string, unknown>;
}

export interface FakeSolrOptions {
  /** Require these Basic credentials on every request. */
  readonly auth?: { readonly username: string; readonly password: string };
  /** REQUESTSTATUS polls a task spends in `running` before it ends. Default 2. */
  readonly pollsUntilDone?: number;
}

export class FakeSolr {
  readonly collections = new Map<string, FakeCollection>();
  readonly configSets = new Set<string>(['_default']);
  /** Backup locations that exist on the (shared) filesystem. */
  readonly locations = new Set<string>();
  /** Keyed by `${location}|${name}`. */
  readonly backups = new Map<string, FakeBackup>();
  readonly tasks = new Map<string, Task>();
  readonly requests: RecordedRequest[] = [];
  /** The next async task of this action ends `failed` with this message. */
  readonly failNextTask = new Map<string, string>();
  /** The next N requests of this action answer with this HTTP status (e.g. 503). */
  readonly httpFailures = new Map<string, { status: number; remaining: number }>();
  /** Requests of these actions never get an answer (for timeouts). */
  readonly hangActions = new Set<string>();

  private server?: Server;
  private readonly pollsUntilDone: number;

  constructor(private readonly options: FakeSolrOptions = {}) {
    this.pollsUntilDone = options.pollsUntilDone ?? 2;
  }

  /** Starts on a random port and returns the base URL, e.g. `http://127.0.0.1:PORT/solr`. */
  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/solr`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  /** Seeds a collection. */
  addCollection(name: string, configName = '_default', extra: Partial<FakeCollection> = {}): void {
    this.configSets.add(configName);
    this.collections.set(name, { configName, numShards: 1, replicationFactor: 1, ...extra });
  }

  /** Seeds a backup point (an existing backup). */
  addBackup(location: string, name: string, collection: string, configName = '_default'): void {
    this.locations.add(location);
    const key = `${location}|${name}`;
    const existing = this.backups.get(key);
    if (existing) existing.points.push(existing.points.length);
    else this.backups.set(key, { collection, configName, points: [0] });
  }

  /** Actions in the order they arrived. */
  actions(): string[] {
    return this.requests.map((r) => r.action);
  }

  requestsOf(action: string): RecordedRequest[] {
    return this.requests.filter((r) => r.action === action);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const params = Object.fromEntries(url.searchParams.entries());
    const action = (params.action ?? '').toUpperCase();
    this.requests.push({ action, params, authorization: req.headers.authorization });

    if (this.options.auth && !this.authorized(req.headers.authorization)) {
      res.writeHead(401, { 'Content-Type': 'text/html;charset=iso-8859-1', 'WWW-Authenticate': 'Basic realm="solr"' });
      res.end(
        '<html>\n<head><title>Error 401 require authentication</title></head>\n' +
          '<body><h2>HTTP ERROR 401 require authentication</h2></body>\n</html>\n',
      );
      return;
    }
    if (url.pathname !== '/solr/admin/collections') {
      this.error(res, 404, `Cannot find handler for path ${url.pathname}`);
      return;
    }
    if (params.wt !== 'json') {
      this.error(res, 400, 'this fake only speaks wt=json');
      return;
    }
    if (this.hangActions.has(action)) return; // never answer
    const failure = this.httpFailures.get(action);
    if (failure && failure.remaining > 0) {
      failure.remaining--;
      res.writeHead(failure.status, { 'Content-Type': 'text/html' });
      res.end(`<html><body><h2>HTTP ERROR ${failure.status} Service Unavailable</h2></body></html>`);
      return;
    }

    try {
      const body = this.dispatch(action, params);
      this.json(res, 200, { responseHeader: { status: 0, QTime: 1 }, ...body });
    } catch (error) {
      if (error instanceof HttpError) this.error(res, error.status, error.message);
      else this.error(res, 500, String((error as Error).message));
    }
  }

  private authorized(header: string | undefined): boolean {
    const { username, password } = this.options.auth!;
    return header === `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }

  private dispatch(action: string, p: Record<string, string>): Record<string, unknown> {
    switch (action) {
      case 'LIST':
        return { collections: [...this.collections.keys()] };
      case 'CLUSTERSTATUS':
        return this.clusterStatus(p);
      case 'LISTBACKUP':
        return this.listBackup(p);
      case 'REQUESTSTATUS':
        return this.requestStatus(required(p, 'requestid'));
      case 'DELETESTATUS': {
        const id = required(p, 'requestid');
        const task = this.tasks.get(id);
        if (task && (task.state === 'completed' || task.state === 'failed')) {
          this.tasks.delete(id);
          return { status: `successfully removed stored response for [${id}]` };
        }
        return { status: `[${id}] not found in stored responses` };
      }
      case 'DELETE': {
        const name = required(p, 'name');
        if (!this.collections.has(name)) throw new HttpError(400, `Could not find collection : ${name}`);
        this.collections.delete(name);
        return { success: { '127.0.0.1:8983_solr': { responseHeader: { status: 0, QTime: 5 } } } };
      }
      case 'CREATE':
      case 'BACKUP':
      case 'RESTORE':
        return this.submit(action, p);
      default:
        throw new HttpError(400, `Unknown action: ${action}`);
    }
  }

  private clusterStatus(p: Record<string, string>): Record<string, unknown> {
    const only = p.collection;
    if (only && !this.collections.has(only)) throw new HttpError(400, `Collection: ${only} not found`);
    const collections: Record<string, unknown> = {};
    for (const [name, c] of this.collections) {
      if (only && name !== only) continue;
      collections[name] = {
        pullReplicas: '0',
        configName: c.configName,
        replicationFactor: c.replicationFactor,
        router: { name: 'compositeId' },
        nrtReplicas: c.replicationFactor,
        tlogReplicas: '0',
        shards: Object.fromEntries(
          Array.from({ length: c.numShards }, (_, i) => [`shard${i + 1}`, { state: 'active', replicas: {} }]),
        ),
        health: 'GREEN',
        znodeVersion: 3,
      };
    }
    return { cluster: { collections, live_nodes: ['127.0.0.1:8983_solr'] } };
  }

  private listBackup(p: Record<string, string>): Record<string, unknown> {
    const name = required(p, 'name');
    const location = this.requireLocation(p);
    const backup = this.backups.get(`${location}|${name}`);
    if (!backup) {
      throw new HttpError(
        500,
        `Incremental backup URI [file://${location}/${name}/] expected to hold a single directory. Number found: 0`,
      );
    }
    return {
      collection: backup.collection,
      backups: backup.points.map((backupId) => ({
        indexFileCount: 10,
        indexSizeMB: 0.01,
        shardBackupIds: { shard1: `md_shard1_${backupId}.json` },
        'collection.configName': backup.configName,
        backupId,
        collectionAlias: backup.collection,
        startTime: '2025-01-01T00:00:00Z',
        indexVersion: '9.8.0',
      })),
    };
  }

  private requireLocation(p: Record<string, string>): string {
    const location = p.location;
    if (!location) {
      throw new HttpError(
        400,
        "'location' is not specified as a query parameter or as a default repository property or as a cluster property.",
      );
    }
    if (!this.locations.has(location)) throw new HttpError(500, `specified location file://${location} does not exist.`);
    return location;
  }

  private submit(action: string, p: Record<string, string>): Record<string, unknown> {
    // Synchronous validation, as Solr does before queueing.
    if (action === 'CREATE') {
      required(p, 'name');
      if (this.collections.has(p.name)) throw new HttpError(400, `collection already exists: ${p.name}`);
    }
    if (action === 'BACKUP') {
      required(p, 'name');
      const collection = required(p, 'collection');
      this.requireLocation(p);
      if (!this.collections.has(collection)) throw new HttpError(400, `Collection '${collection}' does not exist, no action taken.`);
    }
    if (action === 'RESTORE') {
      required(p, 'name');
      required(p, 'collection');
      this.requireLocation(p);
    }
    const asyncId = p.async;
    if (!asyncId) {
      // Synchronous: run to the end right away.
      const task: Task = { action, params: p, state: 'running', pollsLeft: 0, stored: {} };
      this.finish(task);
      if (task.state === 'failed') throw new HttpError(500, String((task.stored.exception as { msg: string }).msg));
      return task.stored;
    }
    if (asyncId.includes('/')) throw new HttpError(400, `Invalid async id: ${asyncId}`);
    if (this.tasks.has(asyncId)) throw new HttpError(400, `Task with the same requestid already exists. (${asyncId})`);
    this.tasks.set(asyncId, { action, params: p, state: 'submitted', pollsLeft: this.pollsUntilDone, stored: {} });
    return { requestid: asyncId };
  }

  private requestStatus(id: string): Record<string, unknown> {
    const task = this.tasks.get(id);
    if (!task) return { status: { state: 'notfound', msg: `Did not find [${id}] in any tasks queue` } };
    const reported = task.state;
    // Advance the simulated work after answering, so every state is observable once.
    if (task.state === 'submitted') {
      task.state = 'running';
      this.begin(task);
    } else if (task.state === 'running') {
      if (task.pollsLeft > 0) task.pollsLeft--;
      if (task.pollsLeft === 0) this.finish(task);
    }
    if (reported === 'completed' || reported === 'failed') {
      return {
        ...task.stored,
        status: { state: reported, msg: `found [${id}] in ${reported} tasks` },
      };
    }
    return { status: { state: reported, msg: `found [${id}] in ${reported} tasks` } };
  }

  /** Work a task does when it starts running. */
  private begin(task: Task): void {
    if (task.action === 'RESTORE') {
      const p = task.params;
      const backup = this.backups.get(`${p.location}|${p.name}`);
      if (backup && !this.collections.has(p.collection)) {
        // Solr creates the target collection first, then restores each shard into it.
        this.collections.set(p.collection, {
          configName: p['collection.configName'] ?? backup.configName,
          numShards: 1,
          replicationFactor: Number(p.replicationFactor ?? 1),
          partial: true,
        });
      }
    }
  }

  private finish(task: Task): void {
    const p = task.params;
    const op = task.action.toLowerCase();
    const forced = this.failNextTask.get(task.action);
    let failure: string | undefined = forced;
    if (forced !== undefined) this.failNextTask.delete(task.action);

    if (failure === undefined) {
      if (task.action === 'CREATE') {
        const configName = p['collection.configName'] ?? '_default';
        if (!this.configSets.has(configName)) {
          failure = `Can not find the specified config set: ${configName}`;
        } else {
          this.collections.set(p.name, {
            configName,
            numShards: Number(p.numShards ?? 1),
            replicationFactor: Number(p.replicationFactor ?? 1),
          });
        }
      } else if (task.action === 'BACKUP') {
        const source = this.collections.get(p.collection);
        if (!source) failure = `Collection '${p.collection}' does not exist, no action taken.`;
        else this.addBackup(p.location, p.name, p.collection, source.configName);
      } else if (task.action === 'RESTORE') {
        const backup = this.backups.get(`${p.location}|${p.name}`);
        if (!backup) {
          failure = `Couldn't restore since doesn't exist: file://${p.location}/${p.name}`;
        } else {
          const target = this.collections.get(p.collection);
          this.collections.set(p.collection, {
            configName: target?.configName ?? backup.configName,
            numShards: 1,
            replicationFactor: Number(p.replicationFactor ?? 1),
            restoredFrom: p.name,
          });
        }
      }
    }

    if (failure !== undefined) {
      task.state = 'failed';
      task.stored = {
        [`Operation ${op} caused exception:`]: `org.apache.solr.common.SolrException:org.apache.solr.common.SolrException: ${failure}`,
        exception: { msg: failure, rspCode: 500 },
      };
    } else {
      task.state = 'completed';
      task.stored = { success: { '127.0.0.1:8983_solr': { responseHeader: { status: 0, QTime: 10 } } } };
    }
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'Content-Type': 'application/json;charset=utf-8' });
    res.end(JSON.stringify(body));
  }

  private error(res: ServerResponse, status: number, msg: string): void {
    this.json(res, status, {
      responseHeader: { status, QTime: 1 },
      error: {
        metadata: ['error-class', 'org.apache.solr.common.SolrException', 'root-error-class', 'org.apache.solr.common.SolrException'],
        msg,
        code: status,
      },
    });
  }
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function required(p: Record<string, string>, name: string): string {
  const value = p[name];
  if (!value) throw new HttpError(400, `Missing required parameter: ${name}`);
  return value;
}
