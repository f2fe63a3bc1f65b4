import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client } from 'pg';
import { prepareSchema } from '../host/host-app.js';
import { seedBusTasks } from '../host/seed.js';
import type { MeasureJob, MeasureResult } from './job.js';

const WORKER = fileURLToPath(new URL('../scale-worker.js', import.meta.url));

/** The connector of the scale-out scenario. */
export const ORDERED_CONNECTOR = 'Ordered';

/** What each scale-out worker process is started with (JSON in argv). */
export interface ScaleWorkerConfig {
  databaseUrl: string;
  callMs: number;
  partitions: number;
  concurrency: number;
}

/**
 * SPEC §10 scale-out: `tasks` changes of `objects` objects queued for one `ordering: 'object'`
 * connector whose calls take `callMs`, drained by `instances` separate Node processes (real
 * instances: each its own Nest app, pool and event loop, sharing only the database). Timed from the
 * moment every instance is up and told to go until the queue is empty. Each instance records, per
 * object, the versions it delivered; the parent checks that no object's tasks arrived out of order
 * within an instance and that the instances together delivered every task once.
 */
export async function measureScaleOut(
  databaseUrl: string,
  job: Omit<Extract<MeasureJob, { kind: 'scale-out' }>, 'kind'>,
): Promise<MeasureResult> {
  await prepareSchema(databaseUrl, true);
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    // The connector's row exists before the tasks: they are seeded in one FIFO (partition 0) and laid
    // out in partitions by the first instance that starts, before the clock (not measured).
    await client.query(
      `insert into integration_connector (code_name, display_name, class_name) values ($1, $1, $1)`,
      [ORDERED_CONNECTOR],
    );
  } finally {
    await client.end();
  }
  await seedBusTasks(databaseUrl, job.tasks, [ORDERED_CONNECTOR], job.objects);
  const config: ScaleWorkerConfig = {
    databaseUrl,
    callMs: job.callMs,
    partitions: job.partitions,
    concurrency: job.concurrency,
  };
  const workers: ChildProcess[] = [];
  try {
    // One at a time: the first lays the queue out; the others find it done.
    const lines: AsyncIterator<string>[] = [];
    for (let i = 0; i < job.instances; i++) {
      const child = spawn(process.execPath, [WORKER, JSON.stringify(config)], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      workers.push(child);
      const reader = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
      lines.push(reader);
      await expectLine(reader, 'ready');
    }
    // Every instance has beaten at least once by now: each knows the others.
    const start = performance.now();
    for (const child of workers) child.stdin!.write('go\n');
    const reports = await Promise.all(lines.map((reader) => expectLine(reader, 'done')));
    const ms = performance.now() - start;
    const delivered = reports.map((r) => JSON.parse(r) as { delivered: number; outOfOrder: number });
    const total = delivered.reduce((sum, r) => sum + r.delivered, 0);
    const outOfOrder = delivered.reduce((sum, r) => sum + r.outOfOrder, 0);
    if (total !== job.tasks) throw new Error(`Expected ${job.tasks} deliveries, got ${total}.`);
    if (outOfOrder > 0) throw new Error(`${outOfOrder} deliveries arrived out of order within an instance.`);
    return {
      values: { ms, seconds: ms / 1000, tasksPerSecond: (job.tasks / ms) * 1000 },
      notes: { perInstance: delivered.map((r) => r.delivered) },
    };
  } finally {
    for (const child of workers) if (child.exitCode === null) child.kill('SIGTERM');
  }
}

async function expectLine(reader: AsyncIterator<string>, word: string): Promise<string> {
  const next = await reader.next();
  const line = next.done ? '' : next.value;
  if (!line.startsWith(word)) throw new Error(`A scale-out worker said "${line}" instead of "${word}".`);
  return line.slice(word.length).trim();
}
