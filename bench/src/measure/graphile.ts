import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger, makeWorkerUtils, run, type AddJobsJobSpec, type RunnerOptions } from 'graphile-worker';
import { Client } from 'pg';
import { samplePayload } from '../host/seed.js';
import { CpuMeter } from './cpu-meter.js';
import { cpuPer1000, type GraphileMode, type MeasureResult } from './job.js';
import { waitUntilZero } from './wait.js';

/** Errors only: the bench's table is the output. */
const quietLogger = new Logger(() => (level, message) => {
  if (level === 'error') console.error(`graphile-worker: ${message}`);
});

/**
 * graphile-worker's settings per mode:
 * - `defaults`: what `run()` does with no tuning (one job at a time, no local queue, no batching);
 * - `batched`: the settings of graphile-worker's own performance page (local queue of 500, batch
 *   delays 0, 24 concurrent jobs, a pool of 25);
 * - `fifo`: every job in one named queue, graphile-worker's way to run jobs one at a time in order
 *   (the bus's per-connector guarantee), with 24 concurrent workers and no local queue. A named
 *   queue is poll-bound: a worker starts its next fetch without awaiting the completion that
 *   unlocks the queue, finds it locked, and sleeps `pollInterval` (2 s). Measured here: about 0.5
 *   jobs/s at defaults, 0.5 with the local queue (one job of a locked queue per fetch), 7.5 with
 *   24 workers polling in turn; so the FIFO run is time-limited rather than drained.
 */
function runnerOptions(mode: GraphileMode, connectionString: string): RunnerOptions {
  const base: RunnerOptions = { connectionString, noHandleSignals: true, logger: quietLogger };
  if (mode === 'defaults') return base;
  if (mode === 'fifo') return { ...base, concurrency: 24, maxPoolSize: 25 };
  return {
    ...base,
    concurrency: 24,
    maxPoolSize: 25,
    preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
  };
}

/**
 * Scenario 2, peer: `jobs` no-op jobs added before the worker starts (not timed), then the time
 * from `run()` until every job has been executed and removed from `_private_jobs`: completions
 * may be batched, so the clock stops only when the table is empty. With `timeLimitMs`, the clock
 * stops at that limit instead and the rate is the jobs executed by then.
 */
export async function measureGraphile(
  databaseUrl: string,
  job: { jobs: number; mode: GraphileMode; timeLimitMs?: number },
): Promise<MeasureResult> {
  const utils = await makeWorkerUtils({ connectionString: databaseUrl, logger: quietLogger });
  try {
    await utils.migrate();
    const chunk = 10_000;
    for (let from = 0; from < job.jobs; from += chunk) {
      const specs: AddJobsJobSpec[] = [];
      for (let i = from; i < Math.min(job.jobs, from + chunk); i++) {
        specs.push({
          identifier: 'noop',
          payload: samplePayload(i + 1),
          ...(job.mode === 'fifo' ? { queueName: 'fifo' } : {}),
        });
      }
      await utils.addJobs(specs);
    }
    await utils.withPgClient((client) => client.query('vacuum analyze graphile_worker._private_jobs'));
  } finally {
    await utils.release();
  }

  let executed = 0;
  let allExecuted!: () => void;
  const executedAll = new Promise<void>((resolve) => (allExecuted = resolve));
  const check = new Client({ connectionString: databaseUrl });
  await check.connect();
  try {
    const cpu = await CpuMeter.start(databaseUrl);
    const start = performance.now();
    const runner = await run(runnerOptions(job.mode, databaseUrl), {
      noop: async () => {
        executed += 1;
        if (executed === job.jobs) allExecuted();
      },
    });
    try {
      const timeLimit = job.timeLimitMs === undefined ? [] : [sleep(job.timeLimitMs).then(() => true)];
      const limited = await Promise.race([executedAll.then(() => false), ...timeLimit]);
      if (!limited) {
        await waitUntilZero(check, 'select count(*)::int as n from graphile_worker._private_jobs');
      }
      const ms = performance.now() - start;
      const { nodeMs, postgresMs } = await cpu.stop();
      const done = limited ? executed : job.jobs;
      return {
        values: { ms, jobsPerSecond: (done / ms) * 1000, ...cpuPer1000(nodeMs, postgresMs, done) },
        notes: { executed: done, timeLimited: limited },
      };
    } finally {
      await runner.stop();
    }
  } finally {
    await check.end();
  }
}
