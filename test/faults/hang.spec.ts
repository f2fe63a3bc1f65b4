import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDeliveries, fifoBreaks, summary } from './support/check.js';
import { FaultCluster, seconds, waitFor } from './support/harness.js';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';

const OBJECTS = 40;
/** The object whose first call to `Slow` never gets an answer. */
const HANGING = 10;
const CALL_TIMEOUT_MS = 2000;
const RETRY_DELAY_MS = 3000;
const SHUTDOWN_TIMEOUT_MS = 3000;
/**
 * What a shutdown may add to `shutdownTimeoutMs`: the bus's own wait, interruption included, stays
 * within it; then Nest closes MikroORM and the process exits.
 */
const SHUTDOWN_SLACK_MS = 500;
const cluster = new FaultCluster();

let hangSlow = true;
let hangStuck = false;

beforeAll(async () => {
  await cluster.open({
    connectors: [
      // Passes the task's signal to fetch: the timeout aborts its request.
      {
        name: 'Slow',
        options: { callTimeoutMs: CALL_TIMEOUT_MS, retry: { initialDelayMs: RETRY_DELAY_MS } },
      },
      // Ignores the signal, with the default callTimeoutMs (60 s): only shutdown can stop waiting for it.
      { name: 'Stuck', ignoreSignal: true },
    ],
    bus: { shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS },
    objects: OBJECTS,
  });
  cluster.external.behaviour = (call) => {
    if (call.connector === 'Slow' && call.objectId === HANGING && hangSlow) {
      hangSlow = false; // the first call only
      return 'hang';
    }
    if (call.connector === 'Stuck' && hangStuck) return 'hang';
    return 'ok';
  };
}, 120_000);

afterAll(() => cluster.close(), 60_000);

describe('a connector call that never answers (R-DEL-4)', () => {
  it('times out as an Error, keeps what its batch finished, and the queue goes on at the retry', async () => {
    const worker = await cluster.startWorker('worker 1');
    const before = await cluster.versions();
    await cluster.produce({ mode: 'once', ids: [1, 30], perTransaction: 30 });
    const calls = () => cluster.external.calls;
    const hung = await waitFor(
      'the hanging call',
      () => calls().find((d) => d.connector === 'Slow' && d.outcome === 'hang'),
      30_000,
    );
    const failed = await waitFor(
      'the timeout to be recorded',
      async () => {
        const [row] = await cluster.sql<{
          attempts: number;
          error_message: string | null;
          state: string | null;
        }>(
          `select s.attempts, s.error_message, s.state from ${ALL_SYNCHRONIZATIONS_SQL} s
             join integration_connector c on c.id = s.connector_id
            where c.code_name = 'Slow' and s.task_id = $1`,
          [hung.taskId],
        );
        return row?.error_message ? row : undefined;
      },
      CALL_TIMEOUT_MS + 10_000,
    );
    const recordedAt = Date.now();
    // What the batch finished before the hanging call is recorded: no longer queued.
    const [{ n: queuedBefore }] = await cluster.sql<{ n: number }>(
      `select count(*)::int as n from ${ALL_SYNCHRONIZATIONS_SQL} s join integration_connector c on c.id = s.connector_id
        where c.code_name = 'Slow' and s.task_id < $1`,
      [hung.taskId],
    );
    const retried = await waitFor(
      'the retry of the timed-out task',
      () => calls().find((d) => d.connector === 'Slow' && d.taskId === hung.taskId && d.outcome === 'ok'),
      RETRY_DELAY_MS + 15_000,
    );
    await cluster.drained(60_000);
    const after = await cluster.versions();
    const slow = checkDeliveries('Slow', calls(), before, after);
    console.log(
      `[faults] hanging call (callTimeoutMs ${CALL_TIMEOUT_MS}): recorded as "${failed.error_message}" ` +
        `(${failed.state}, attempt ${failed.attempts}) ${seconds(recordedAt - hung.at)} after the call, its request ` +
        `aborted through task.signal after ${hung.closedAt ? seconds(hung.closedAt - hung.at) : 'never'}; ` +
        `${queuedBefore} of the batch's earlier tasks left queued; retried ${seconds(retried.at - hung.at)} after the call ` +
        `(retry.initialDelayMs ${RETRY_DELAY_MS}); Slow delivered ${slow.delivered}, ${slow.duplicates} repeated, ` +
        `${slow.missing.length} lost`,
    );
    expect(failed.error_message).toContain(`timed out after ${CALL_TIMEOUT_MS} ms`);
    expect(failed.attempts).toBe(1);
    expect(queuedBefore).toBe(0);
    expect(hung.closedAt! - hung.at).toBeGreaterThanOrEqual(CALL_TIMEOUT_MS - 50);
    expect(hung.closedAt! - hung.at).toBeLessThan(CALL_TIMEOUT_MS + 2000);
    expect(retried.at - hung.at).toBeGreaterThanOrEqual(CALL_TIMEOUT_MS + RETRY_DELAY_MS / 2 - 50);
    expect(summary(slow)).toMatchObject({
      missing: [],
      unexpected: [],
      duplicates: 0,
      outOfOrder: [],
      stale: [],
    });
    expect(fifoBreaks(calls(), 'Slow')).toEqual([]);

    worker.signal('SIGTERM');
    const idleStop = Date.now();
    const exit = await worker.exited;
    console.log(`[faults] SIGTERM of an idle worker: exited in ${seconds(exit.at - idleStop)}`);
  });

  it('SIGTERM of a worker stuck in a call that never answers completes within shutdownTimeoutMs', async () => {
    const worker = await cluster.startWorker('worker 2');
    hangStuck = true;
    await cluster.produce({ mode: 'once', ids: [31, 31], perTransaction: 1 });
    const stuck = await waitFor(
      'the stuck call',
      () => cluster.external.calls.find((d) => d.connector === 'Stuck' && d.outcome === 'hang'),
      30_000,
    );
    worker.signal('SIGTERM');
    const termAt = Date.now();
    const exit = await Promise.race([
      worker.exited,
      new Promise<null>((r) => setTimeout(() => r(null), 30_000)),
    ]);
    const took = (exit?.at ?? Date.now()) - termAt;
    const [{ n: stillQueued }] = await cluster.sql<{ n: number }>(
      `select count(*)::int as n from ${ALL_SYNCHRONIZATIONS_SQL} s join integration_connector c on c.id = s.connector_id
        where c.code_name = 'Stuck' and s.task_id = $1`,
      [stuck.taskId],
    );
    console.log(
      `[faults] SIGTERM of a worker stuck in a call that never answers (shutdownTimeoutMs ${SHUTDOWN_TIMEOUT_MS}, ` +
        `callTimeoutMs 60000, connector ignoring its signal): exited in ${exit ? seconds(took) : 'more than 30 s'} ` +
        `(${exit?.signal ?? exit?.code}); the task is ${stillQueued ? 'still queued' : 'gone'}\n` +
        worker
          .lines(/shutdownTimeoutMs|interrupt|stopped/i)
          .map((l) => `  ${l}`)
          .join('\n'),
    );
    expect(exit).not.toBeNull();
    expect(took).toBeLessThanOrEqual(SHUTDOWN_TIMEOUT_MS + SHUTDOWN_SLACK_MS);
    expect(stillQueued).toBe(1);

    // Not lost: the next instance delivers it.
    hangStuck = false;
    await cluster.startWorker('worker 3');
    await cluster.drained(30_000);
    expect(
      cluster.external.calls.some(
        (d) => d.connector === 'Stuck' && d.taskId === stuck.taskId && d.outcome === 'ok',
      ),
    ).toBe(true);
    expect(cluster.unexpectedExits()).toEqual([]);
  });
});
