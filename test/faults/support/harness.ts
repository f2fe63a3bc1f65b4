import { afterAll, beforeAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Pool } from 'pg';
import { createTestDatabase } from '../../support/database.js';
import { busySessions } from '../../support/database-sessions.js';
import { ExternalSystem } from './external-system.js';
import { freePort } from '../../support/free-port.js';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';

const HERE = import.meta.dirname;
export const ADMIN_TOKEN = 'faults-admin-token';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a value other than `undefined`/`false`; throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** A connector of the worker processes: its code name, `@Connector` options, and whether it ignores `task.signal`. */
export interface ConnectorSpec {
  name: string;
  options?: Record<string, unknown>;
  ignoreSignal?: boolean;
  /** Milliseconds each call works on its own before its write. */
  prepareMs?: number;
  /** Whether each call calls `task.fence()` right before its write. */
  fence?: boolean;
}

/** What fault-app.mjs reads from FAULT_CONFIG. */
export interface FaultConfig {
  databaseUrl: string;
  externalUrl: string;
  connectors: ConnectorSpec[];
  bus: Record<string, unknown>;
  adminToken: string;
  http?: boolean;
}

/** The PostgreSQL server of a scenario, in a process of its own (pg-control.mjs). */
export class PostgresServer {
  readonly #child: ChildProcess;
  readonly #lines: AsyncIterator<string>;
  url = '';

  private constructor(
    child: ChildProcess,
    readonly logFile: string,
  ) {
    this.#child = child;
    this.#lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  }

  static async start(): Promise<PostgresServer> {
    const port = await freePort();
    const logFile = join(tmpdir(), `faults-pg-${port}-${process.pid}.log`);
    const child = spawn(process.execPath, [join(HERE, 'pg-control.mjs'), String(port), logFile], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const server = new PostgresServer(child, logFile);
    server.url = (await server.#answer('ready', 60_000)).trim();
    return server;
  }

  /** Stops the server (fast shutdown); resolves with the moment it was down. */
  async stop(): Promise<number> {
    this.#child.stdin!.write('stop\n');
    return Number(await this.#answer('stopped', 60_000));
  }

  /** Starts it again on the same data directory; resolves with the moment it accepted connections. */
  async restart(): Promise<number> {
    this.#child.stdin!.write('start\n');
    return Number(await this.#answer('started', 60_000));
  }

  /** The server's log lines so far that contain `text`. */
  logLines(text: string): string[] {
    if (!existsSync(this.logFile)) return [];
    return readFileSync(this.logFile, 'utf8')
      .split('\n')
      .filter((line) => line.includes(text));
  }

  async quit(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.stdin!.end('quit\n');
    await Promise.race([exited, sleep(15_000)]);
    if (this.#child.exitCode === null) this.#child.kill('SIGKILL');
    rmSync(this.logFile, { force: true });
  }

  async #answer(word: string, timeoutMs: number): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`pg-control: no "${word}" within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      const next = await Promise.race([this.#lines.next(), timeout]);
      const line = next.done ? '' : next.value;
      if (!line.startsWith(`${word} `)) throw new Error(`pg-control answered "${line}" instead of "${word}"`);
      return line.slice(word.length + 1);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A call of the bus's REST API served by `worker` (started with `http: true`). */
export async function api<T>(
  worker: WorkerProcess,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${worker.url}/integration${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** A worker process (worker.mjs). */
export class WorkerProcess {
  output = '';
  url: string | null = null;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
    );
    const collect = (chunk: Buffer) => (this.output += chunk.toString());
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Whether the test sent it a signal that ends it. */
  ended = false;

  signal(signal: NodeJS.Signals): void {
    if (signal === 'SIGKILL' || signal === 'SIGTERM') this.ended = true;
    this.child.kill(signal);
  }

  /** The output lines that contain `text`. */
  lines(text: string | RegExp): string[] {
    return this.output
      .split('\n')
      .filter((l) => (typeof text === 'string' ? l.includes(text) : text.test(l)));
  }
}

/**
 * One scenario's world: its PostgreSQL server and database, the external system, and the worker and
 * producer processes, all killed at `close()`.
 */
export class FaultCluster {
  readonly external = new ExternalSystem();
  readonly workers: WorkerProcess[] = [];
  readonly #children = new Set<ChildProcess>();
  pg!: PostgresServer;
  config!: FaultConfig;
  #pool!: Pool;
  #drop: (() => Promise<void>) | undefined;

  /** Starts PostgreSQL, the external system, creates the schema with `objects` items at version 1. */
  async open(options: {
    connectors: ConnectorSpec[];
    bus?: Record<string, unknown>;
    objects: number;
  }): Promise<void> {
    this.pg = await PostgresServer.start();
    await this.external.start();
    const db = await createTestDatabase(this.pg.url);
    this.#drop = db.drop;
    this.config = {
      databaseUrl: db.url,
      externalUrl: this.external.url,
      connectors: options.connectors,
      bus: options.bus ?? {},
      adminToken: ADMIN_TOKEN,
    };
    // The pool only serves the test's own queries; an error on an idle client (a PostgreSQL restart)
    // is expected and must not become an uncaught exception.
    this.#pool = new Pool({ connectionString: db.url, max: 3 });
    this.#pool.on('error', () => {});
    const migrate = await this.#run(['migrate', String(options.objects)], {}, 120_000);
    if (migrate.code !== 0) throw new Error(`migrate failed (${migrate.code}):\n${migrate.output}`);
  }

  async close(): Promise<void> {
    for (const child of this.#children) {
      if (child.exitCode === null && child.signalCode === null) {
        // A stopped process must be continued for SIGKILL to take it down promptly.
        child.kill('SIGCONT');
        child.kill('SIGKILL');
      }
    }
    await this.#pool?.end().catch(() => undefined);
    await this.#drop?.().catch(() => undefined);
    await this.external.close();
    await this.pg?.quit();
  }

  /** Starts a worker with the scenario's configuration (plus `overrides`) and waits until it is ready. */
  async startWorker(name: string, overrides: Partial<FaultConfig> = {}): Promise<WorkerProcess> {
    const child = spawn(process.execPath, [join(HERE, 'worker.mjs')], {
      env: { ...process.env, FAULT_CONFIG: JSON.stringify({ ...this.config, ...overrides }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#children.add(child);
    const worker = new WorkerProcess(name, child);
    this.workers.push(worker);
    const ready = await Promise.race([
      waitFor(`${name} to start`, () => /^ready (.*)$/m.exec(worker.output)?.[1], 90_000),
      worker.exited.then(({ code }) => {
        throw new Error(`${name} exited (${code}) before it was ready:\n${worker.output}`);
      }),
    ]);
    worker.url = (JSON.parse(ready) as { url: string | null }).url;
    return worker;
  }

  /** Workers that exited although the test did not end them, with their exit code and last output. */
  unexpectedExits(): string[] {
    return this.workers
      .filter((w) => !w.running && !w.ended)
      .map((w) => `${w.name} exited (${w.child.exitCode ?? w.child.signalCode}): ${w.output.slice(-500)}`);
  }

  /** Runs the producer to its end with `plan` (see producer.mjs); throws when it fails. */
  async produce(
    plan: Record<string, unknown>,
    timeoutMs = 180_000,
  ): Promise<{ commits: number; held: number }> {
    const run = await this.#run([JSON.stringify(plan)], {}, timeoutMs, 'producer.mjs');
    const done = /^done (.*)$/m.exec(run.output)?.[1];
    if (run.code !== 0 || !done) throw new Error(`producer failed (${run.code}):\n${run.output}`);
    return JSON.parse(done) as { commits: number; held: number };
  }

  /** A query on the scenario's database. */
  async sql<R = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<R[]> {
    return (await this.#pool.query(text, params)).rows as R[];
  }

  /** Each item's version in the database. */
  async versions(): Promise<Map<number, number>> {
    const rows = await this.sql<{ id: number; version: number }>(`select id, version from fault_item`);
    return new Map(rows.map((r) => [r.id, r.version]));
  }

  /** Synchronizations still queued (parked ones aside), per connector code name. */
  async queued(): Promise<Map<string, number>> {
    const rows = await this.sql<{ code_name: string; n: number }>(
      `select c.code_name, count(s.id)::int as n from integration_connector c
         left join ${ALL_SYNCHRONIZATIONS_SQL} s on s.connector_id = c.id and s.state is distinct from 'parked'
        group by c.code_name`,
    );
    return new Map(rows.map((r) => [r.code_name, r.n]));
  }

  /** Waits until no synchronization is left for the given connectors (all when omitted). */
  async drained(timeoutMs: number, connectors?: string[]): Promise<void> {
    await waitFor(
      'the queues to drain',
      async () => {
        const queued = await this.queued();
        return [...queued].every(([name, n]) => n === 0 || (connectors && !connectors.includes(name)));
      },
      timeoutMs,
      200,
    );
  }

  /** Runs `node support/<script> …args` to its end. */
  #run(
    args: string[],
    env: Record<string, string>,
    timeoutMs: number,
    script = 'worker.mjs',
  ): Promise<{ code: number | null; output: string }> {
    const child = spawn(process.execPath, [join(HERE, script), ...args], {
      env: { ...process.env, ...env, FAULT_CONFIG: JSON.stringify(this.config) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#children.add(child);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // Past its time, what the database's sessions were doing goes with its output: a script that
    // hangs is most often waiting on a lock, and this says whose.
    const timer = setTimeout(() => {
      void busySessions((text) => this.sql(text), 'database').then((sessions) => {
        output += `\n[harness] killed after ${timeoutMs} ms; database sessions then:\n${sessions}`;
        child.kill('SIGKILL');
      });
    }, timeoutMs);
    return new Promise((resolve) =>
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, output });
      }),
    );
  }
}

/** The connectors of the multi-instance scenarios. */
export const FOUR_CONNECTORS = ['Alpha', 'Bravo', 'Charlie', 'Delta'];

/**
 * A cluster with the four connectors, opened before the current file's tests and closed after them.
 * @param answerDelayMs what each delivery takes the external system: a backlog takes seconds to
 *   drain, so a fault lands mid-drain
 */
export function useFourConnectorCluster(options: {
  objects: number;
  batchSize: number;
  answerDelayMs: number;
}): FaultCluster {
  const cluster = new FaultCluster();
  beforeAll(async () => {
    await cluster.open({
      connectors: FOUR_CONNECTORS.map((name) => ({ name })),
      bus: { batchSize: options.batchSize },
      objects: options.objects,
    });
    cluster.external.answerDelayMs = options.answerDelayMs;
  }, 120_000);
  afterAll(() => cluster.close(), 60_000);
  return cluster;
}
