import { performance } from 'node:perf_hooks';
import { PgBoss, type JobInsert } from 'pg-boss';
import { Client } from 'pg';
import { samplePayload } from '../host/seed.js';
import { CpuMeter } from './cpu-meter.js';
import { cpuPer1000, type MeasureResult } from './job.js';
import { waitUntilZero } from './wait.js';

const QUEUE = 'noop';

/**
 * Scenario 2, peer: `jobs` no-op jobs inserted (not timed) into a standard queue, then one worker
 * fetching `batchSize` jobs per round trip, fetching again at once while batches come back full.
 * The clock runs from `work()` until no job of the queue is left in a state other than completed
 * (pg-boss completes a batch after its handler returns).
 */
export async function measurePgBoss(
  databaseUrl: string,
  job: { jobs: number; batchSize: number },
): Promise<MeasureResult> {
  const boss = new PgBoss({ connectionString: databaseUrl, schedule: false });
  boss.on('error', (error) => console.error(`pg-boss: ${String(error)}`));
  await boss.start();
  const check = new Client({ connectionString: databaseUrl });
  await check.connect();
  try {
    await boss.createQueue(QUEUE);
    const chunk = 10_000;
    for (let from = 0; from < job.jobs; from += chunk) {
      const jobs: JobInsert[] = [];
      for (let i = from; i < Math.min(job.jobs, from + chunk); i++) jobs.push({ data: samplePayload(i + 1) });
      await boss.insert(QUEUE, jobs);
    }
    await check.query('vacuum analyze pgboss.job');

    let executed = 0;
    let allExecuted!: () => void;
    const executedAll = new Promise<void>((resolve) => (allExecuted = resolve));
    const cpu = await CpuMeter.start(databaseUrl);
    const start = performance.now();
    await boss.work(
      QUEUE,
      { batchSize: job.batchSize, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 },
      async (batch) => {
        executed += batch.length;
        if (executed >= job.jobs) allExecuted();
      },
    );
    await executedAll;
    await waitUntilZero(
      check,
      `select count(*)::int as n from pgboss.job where name = '${QUEUE}' and state <> 'completed'`,
    );
    const ms = performance.now() - start;
    const { nodeMs, postgresMs } = await cpu.stop();
    return {
      values: { ms, jobsPerSecond: (job.jobs / ms) * 1000, ...cpuPer1000(nodeMs, postgresMs, job.jobs) },
      notes: { executed },
    };
  } finally {
    await check.end();
    await boss.stop({ graceful: true, timeout: 5000 });
  }
}
