import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { startHost } from '../host/host-app.js';
import { connectorNames } from '../host/noop-connector.js';
import { CpuMeter } from './cpu-meter.js';
import { cpuPer1000, type MeasureResult } from './job.js';
import { profileClock, recordProfileWindow } from './profile-window.js';

/** Creates `rows` bench users in SQL: rows that existed before the connector, no task logged. */
async function seedUsers(databaseUrl: string, rows: number): Promise<void> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(
      `insert into bench_user (user_name, email, created_at)
       select 'user-' || i, 'user-' || i || '@example.com', now() from generate_series(1, $1::int) as i`,
      [rows],
    );
    await client.query('vacuum analyze bench_user');
  } finally {
    await client.end();
  }
}

/**
 * Scenario 8 (R-RES-1): `rows` bench users that existed before the connector, resynced to one no-op
 * connector with `IntegrationBus.resync` (the public API) in chunks of `chunkSize`, with processing
 * after commit on, as a host runs by default: the connector receives the tasks while the resync
 * still logs them. Timed from the call to the connector's last delivery (`rowsPerSecond`), and to
 * the resync's end, every task logged (`loggedRowsPerSecond`).
 */
export async function measureResync(
  databaseUrl: string,
  job: { rows: number; chunkSize: number },
): Promise<MeasureResult> {
  let delivered = 0;
  const host = await startHost({
    databaseUrl,
    withBus: true,
    connectors: connectorNames(1),
    bus: { outgoing: { processAfterCommit: true } },
    onCall: () => {
      delivered += 1;
    },
  });
  try {
    await seedUsers(databaseUrl, job.rows);
    const bus = host.bus!;
    const cpu = await CpuMeter.start(databaseUrl);
    const window = profileClock();
    const start = performance.now();
    const { id } = await bus.resync('Noop1', { objectType: 'bench.user', chunkSize: job.chunkSize });
    let logged: number | undefined;
    const deadline = Date.now() + 600_000;
    while (delivered < job.rows || logged === undefined) {
      if (Date.now() > deadline) throw new Error(`Resync not done: ${delivered} of ${job.rows} delivered.`);
      if (logged === undefined) {
        const progress = await bus.getResync(id);
        if (progress.status === 'done') logged = performance.now() - start;
        else if (progress.status !== 'running')
          throw new Error(`Resync ${progress.status}: ${progress.errorMessage}`);
      }
      await sleep(5);
    }
    const ms = performance.now() - start;
    const { nodeMs, postgresMs } = await cpu.stop();
    recordProfileWindow(window, profileClock());
    const progress = await bus.getResync(id);
    if (progress.done !== job.rows || delivered !== job.rows) {
      throw new Error(`Expected ${job.rows} rows; resync did ${progress.done}, connector got ${delivered}.`);
    }
    return {
      values: {
        seconds: ms / 1000,
        rowsPerSecond: (job.rows / ms) * 1000,
        loggedRowsPerSecond: (job.rows / logged) * 1000,
        ...cpuPer1000(nodeMs, postgresMs, job.rows),
      },
      notes: { chunks: progress.chunks, rateShownByTheBus: progress.ratePerSecond },
    };
  } finally {
    await host.close();
  }
}
