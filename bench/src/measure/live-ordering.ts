import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client } from 'pg';
import { benchItemDdl } from '../host/bench-item.entity.js';
import { prepareSchema } from '../host/host-app.js';
import { LIVE_CONNECTORS, type LiveProcessConfig } from '../live/live-connectors.js';
import { CpuMeter } from './cpu-meter.js';
import type { MeasureJob, MeasureResult } from './job.js';
import { waitUntilZero } from './wait.js';

const WORKER = fileURLToPath(new URL('../live-worker.js', import.meta.url));
const PRODUCER = fileURLToPath(new URL('../live-producer.js', import.meta.url));

/** What each producer process is started with (JSON in argv). */
export interface LiveProducerConfig extends LiveProcessConfig {
  objects: number;
  lanes: number;
  durationMs: number;
}

/** What a producer prints at its end. */
export interface LiveProducerReport {
  commits: number;
  producingMs: number;
  /** CPU milliseconds of the process while producing. */
  cpuMs: number;
}

/** What a processing instance prints when stopped. */
export interface LiveWorkerReport {
  deliveries: number;
  /** Deliveries of a version below one this instance had already delivered of the object to the connector. */
  outOfOrder: number;
  /** Deliveries whose task carried no integer id or version (counted, not checked). */
  unreadable: number;
  /** Per connector, per object id: the versions delivered, in delivery order. */
  versions: Record<string, Record<string, number[]>>;
  /** CPU milliseconds of the process from `ready` to `stop`. */
  cpuMs: number;
}

/** Every synchronization still queued: rows of shared tasks, and tasks that hold their one synchronization. */
const QUEUED_SQL = `select (select count(*)::int from integration_synchronization)
                         + (select count(*)::int from integration_task where connector_id is not null) as n`;

/** Gives up on a drain that has not emptied the queues by then. */
const DRAIN_TIMEOUT_MS = 600_000;

/**
 * SPEC §10 / issue 21, `ordering: 'object'` under live traffic: `instances` processing instances
 * (separate processes) with four connectors of the job's ordering, fed by `producers` processes
 * committing single-object changes of `objects` items from `lanes` loops each, as fast as they go,
 * for `durationMs`. Timed from the producers' go until every queue is empty. The parent checks that
 * each connector got every change exactly once (over all instances) and reports the deliveries that
 * reached an instance below a version it had already delivered of the object.
 */
export async function measureLiveOrdering(
  databaseUrl: string,
  job: Omit<Extract<MeasureJob, { kind: 'live-ordering' }>, 'kind'>,
): Promise<MeasureResult> {
  await prepareSchema(databaseUrl, true);
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  const children: ChildProcess[] = [];
  try {
    for (const statement of benchItemDdl(job.objects)) await client.query(statement);
    await client.query('vacuum analyze bench_item');
    const base: LiveProcessConfig = { databaseUrl, ordering: job.ordering };
    // One at a time: the first registers the connectors; each waits a lease to know the others.
    const workers: AsyncIterator<string>[] = [];
    for (let i = 0; i < job.instances; i++) {
      workers.push(await startChild(children, WORKER, base, 'worker'));
    }
    const producerConfig: LiveProducerConfig = {
      ...base,
      objects: job.objects,
      lanes: job.lanes,
      durationMs: job.durationMs,
    };
    const producers = await Promise.all(
      Array.from({ length: job.producers }, () => startChild(children, PRODUCER, producerConfig, 'producer')),
    );

    const cpu = await CpuMeter.start(databaseUrl);
    const start = performance.now();
    for (const child of children.slice(job.instances)) child.stdin!.write('go\n');
    const produced = (await Promise.all(producers.map((lines) => expectLine(lines, 'done', 'producer')))).map(
      (line) => JSON.parse(line) as LiveProducerReport,
    );
    const producedAt = performance.now();
    await waitUntilZero(client, QUEUED_SQL, DRAIN_TIMEOUT_MS);
    const drainedAt = performance.now();
    const ms = drainedAt - start;
    const { postgresMs } = await cpu.stop();

    for (const child of children) child.stdin!.write('stop\n');
    const reports = (await Promise.all(workers.map((lines) => expectLine(lines, 'done', 'worker')))).map(
      (line) => JSON.parse(line) as LiveWorkerReport,
    );

    const commits = produced.reduce((sum, p) => sum + p.commits, 0);
    const producingMs = Math.max(...produced.map((p) => p.producingMs));
    const deliveries = reports.reduce((sum, r) => sum + r.deliveries, 0);
    const outOfOrder = reports.reduce((sum, r) => sum + r.outOfOrder, 0);
    await checkDelivered(client, reports, commits, deliveries);
    const workerCpuMs = reports.reduce((sum, r) => sum + r.cpuMs, 0);
    const producerCpuMs = produced.reduce((sum, p) => sum + p.cpuMs, 0);
    return {
      values: {
        seconds: ms / 1000,
        deliveriesPerSecond: (deliveries / ms) * 1000,
        commitsPerSecond: (commits / producingMs) * 1000,
        commits,
        deliveries,
        outOfOrder,
        // From the producers' end until the queues were empty: how far processing fell behind.
        drainSeconds: (drainedAt - producedAt) / 1000,
        workersCpuMsPer1000: (workerCpuMs / deliveries) * 1000,
        producerCpuMsPer1000: (producerCpuMs / commits) * 1000,
        postgresCpuMsPer1000: postgresMs === null ? Number.NaN : (postgresMs / deliveries) * 1000,
      },
      notes: {
        perInstance: reports.map((r) => r.deliveries),
        producers: produced,
      },
    };
  } finally {
    await client.end();
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  }
}

/**
 * Every change delivered once to every connector: the items' versions say which changes were
 * committed (versions 2 … the final one of each item), the instances' reports which reached each
 * connector. Throws with the first differences found.
 */
async function checkDelivered(
  client: Client,
  reports: LiveWorkerReport[],
  commits: number,
  deliveries: number,
): Promise<void> {
  const unreadable = reports.reduce((sum, r) => sum + r.unreadable, 0);
  if (unreadable > 0) throw new Error(`${unreadable} deliveries carried no object id or version.`);
  const { rows } = await client.query<{ id: number; version: number }>(`select id, version from bench_item`);
  const changes = rows.reduce((sum, r) => sum + r.version - 1, 0);
  if (changes !== commits)
    throw new Error(`The producers counted ${commits} commits; the items hold ${changes}.`);
  if (deliveries !== commits * LIVE_CONNECTORS.length) {
    throw new Error(
      `Expected ${commits * LIVE_CONNECTORS.length} deliveries (${commits} commits × ${LIVE_CONNECTORS.length} connectors), got ${deliveries}.`,
    );
  }
  const problems: string[] = [];
  for (const connector of LIVE_CONNECTORS) {
    let missing = 0;
    let duplicates = 0;
    for (const { id, version: last } of rows) {
      const seen = new Map<number, number>();
      for (const report of reports) {
        for (const v of report.versions[connector]?.[id] ?? []) seen.set(v, (seen.get(v) ?? 0) + 1);
      }
      for (let v = 2; v <= last; v++) {
        const n = seen.get(v) ?? 0;
        if (n === 0) missing += 1;
        if (n > 1) duplicates += n - 1;
      }
    }
    if (missing > 0 || duplicates > 0)
      problems.push(`${connector}: ${missing} missing, ${duplicates} duplicates`);
  }
  if (problems.length > 0) throw new Error(`Not every change was delivered once: ${problems.join('; ')}.`);
}

/** Spawns a process of the scenario and waits for its `ready`; returns its stdout lines. */
async function startChild(
  children: ChildProcess[],
  script: string,
  config: LiveProcessConfig,
  role: string,
): Promise<AsyncIterator<string>> {
  const child = spawn(process.execPath, [script, JSON.stringify(config)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  await expectLine(lines, 'ready', role);
  return lines;
}

/** Reads lines until one starts with `word` (other output is let through); returns the rest of it. */
async function expectLine(reader: AsyncIterator<string>, word: string, role: string): Promise<string> {
  for (;;) {
    const next = await reader.next();
    if (next.done) throw new Error(`A live-ordering ${role} ended before saying "${word}".`);
    if (next.value.startsWith(word)) return next.value.slice(word.length).trim();
    console.log(`  ${role}: ${next.value}`);
  }
}
