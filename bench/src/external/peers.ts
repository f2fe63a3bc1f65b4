import { Logger, makeWorkerUtils, run, type Runner } from 'graphile-worker';
import { PgBoss, type JobInsert } from 'pg-boss';
import { Client } from 'pg';
import { waitUntilZero } from '../measure/wait.js';
import { MAX_RECORDS_PER_REQUEST, postRecords, type ServiceRecord } from './service-client.js';

/** A subject with its queue loaded, waiting to be started. */
export interface PreparedPeer {
  /** Starts processing; the service's clock is already running. */
  go(): Promise<void>;
  /** Called once every record is in (`completed`) or the time limit passed; returns notes for the JSON. */
  finish(completed: boolean): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

const TASK = 'sync_records';

/**
 * graphile-worker's "batch jobs", as its documentation has them: each change is added with
 * `addJob('sync_records', [record], { jobKey: 'sync-records', jobKeyMode: 'preserve_run_at' })`,
 * and while the job is not running, graphile-worker appends each new array to the queued job's.
 * With the worker stopped while the changes pile up, that is one job holding every record in
 * order; it is added here in one call (the same row as the `changes.length` calls make, without
 * their quadratic cost in setup). The task sends it 100 records per request, one request at a time
 * (the service's limits), and returns a promise per record: at a refusal (a 429 or any other) it
 * stops sending, and graphile-worker keeps the records not sent in the job and retries it on its
 * own backoff (`exp(attempts)` seconds; it has no way to take the service's `Retry-After`).
 * Defaults otherwise (concurrency 1, poll every 2 s).
 */
export async function prepareGraphileBatch(
  databaseUrl: string,
  serviceUrl: string,
  changes: ServiceRecord[],
): Promise<PreparedPeer> {
  let failedAttempts = 0;
  // Errors only; the failed attempts (a 429) are counted, not printed.
  const logger = new Logger(() => (level, message, meta) => {
    if ((meta as { failure?: boolean } | undefined)?.failure) failedAttempts += 1;
    else if (level === 'error') console.error(`graphile-worker: ${message}`);
  });
  const utils = await makeWorkerUtils({ connectionString: databaseUrl, logger });
  try {
    await utils.migrate();
    await utils.addJob(TASK, changes, { jobKey: 'sync-records', jobKeyMode: 'preserve_run_at' });
  } finally {
    await utils.release();
  }
  let runner: Runner | undefined;
  return {
    go: async () => {
      runner = await run({
        connectionString: databaseUrl,
        noHandleSignals: true,
        logger,
        taskList: {
          [TASK]: async (payload) => {
            const records = payload as ServiceRecord[];
            const sent: boolean[] = [];
            let refusal: Error | undefined;
            for (let from = 0; from < records.length; from += MAX_RECORDS_PER_REQUEST) {
              const chunk = records.slice(from, from + MAX_RECORDS_PER_REQUEST);
              if (!refusal) {
                const answer = await postRecords(serviceUrl, chunk);
                if (answer.ok) {
                  sent.push(...chunk.map(() => true));
                  continue;
                }
                refusal = new Error(answer.message);
              }
              sent.push(...chunk.map(() => false));
            }
            // Built after the last await, so that no rejection is left unhandled before
            // graphile-worker settles them.
            return records.map((_, i) => (sent[i] ? Promise.resolve() : Promise.reject(refusal!)));
          },
        },
      });
    },
    finish: async (completed) => {
      if (completed)
        await waitUntilEmpty(databaseUrl, 'select count(*)::int as n from graphile_worker._private_jobs');
      return { failedAttempts };
    },
    close: async () => {
      await runner?.stop();
    },
  };
}

const QUEUE = 'sync-records';

/**
 * pg-boss's batch worker: one job per change (`insert`, one statement per round of changes, so that
 * creation order is the changes' order), `work(queue, { batchSize: 100 }, handler)` sending each
 * batch in one request and throwing when the service refuses it; pg-boss then retries the whole
 * batch after the queue's `retryDelay` (1 s, the service's quota window; `retryLimit` 100 so that
 * nothing is given up). `burstWhenBatchFull` and a 0.5 s poll as in the throughput scenario; one
 * worker (the default `localConcurrency`).
 */
export async function preparePgBossBatch(
  databaseUrl: string,
  serviceUrl: string,
  changes: ServiceRecord[],
): Promise<PreparedPeer> {
  const boss = new PgBoss({ connectionString: databaseUrl, schedule: false });
  boss.on('error', (error) => console.error(`pg-boss: ${String(error)}`));
  await boss.start();
  let failedBatches = 0;
  try {
    await boss.createQueue(QUEUE, { retryLimit: 100, retryDelay: 1 });
    // One insert per round: within a round every object appears once.
    const perRound = new Map<number, JobInsert[]>();
    for (const record of changes) {
      const round = perRound.get(record.version) ?? [];
      round.push({ data: record });
      perRound.set(record.version, round);
    }
    for (const round of [...perRound.keys()].sort((a, b) => a - b))
      await boss.insert(QUEUE, perRound.get(round)!);
  } catch (error) {
    await boss.stop({ graceful: false });
    throw error;
  }
  return {
    go: async () => {
      await boss.work<ServiceRecord>(
        QUEUE,
        { batchSize: MAX_RECORDS_PER_REQUEST, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 },
        async (jobs) => {
          const answer = await postRecords(
            serviceUrl,
            jobs.map((job) => job.data),
          );
          if (!answer.ok) {
            failedBatches += 1;
            throw new Error(answer.message);
          }
        },
      );
    },
    finish: async (completed) => {
      if (completed) {
        await waitUntilEmpty(
          databaseUrl,
          `select count(*)::int as n from pgboss.job where name = '${QUEUE}' and state <> 'completed'`,
        );
      }
      return { failedBatches };
    },
    close: async () => {
      await boss.stop({ graceful: true, timeout: 5000 });
    },
  };
}

async function waitUntilEmpty(databaseUrl: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await waitUntilZero(client, sql, 30_000);
  } finally {
    await client.end();
  }
}
