import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDeliveries, fifoBreaks, summary } from './support/check.js';
import type { Delivery } from './support/external-system.js';
import { api, FaultCluster, seconds, waitFor, type WorkerProcess } from './support/harness.js';

const OBJECTS = 200;
/** Object 1's first change is the poison task: the external system refuses it for `Poison`. */
const POISON = 1;
const OUTAGE_MS = 60_000;
/**
 * Main's retry policy: the defaults (1 s, ×2, jitter over the upper half of each wait) with the
 * longest wait cut to 16 s, so that the first retry after a 60 s outage comes within 16 s instead of
 * up to 64 s: the fault tests must stay under 10 minutes.
 */
const MAIN_RETRY = { maxDelayMs: 16_000 };
const POISON_RETRY = { maxAttempts: 3 };
/** Scheduling slack of a retry: a timer, a lease claim and a query on a loaded 2-core machine. */
const SLACK_MS = 1000;
const cluster = new FaultCluster();

let outage = false;
let poisoned = true;

beforeAll(async () => {
  await cluster.open({
    connectors: [
      { name: 'Main', options: { retry: MAIN_RETRY } },
      { name: 'Poison', options: { retry: POISON_RETRY } },
    ],
    objects: OBJECTS,
  });
  cluster.external.behaviour = (call) => {
    if (call.connector === 'Main' && outage) return 'fail';
    if (call.connector === 'Poison' && call.objectId === POISON && poisoned) return 'fail';
    return 'ok';
  };
}, 120_000);

afterAll(() => cluster.close(), 60_000);

/** The wait before attempt `n + 1` after `n` failed attempts, without jitter (R-DEL-5). */
function nominalDelay(n: number): number {
  return Math.min(MAIN_RETRY.maxDelayMs, 1000 * 2 ** (n - 1));
}

interface SyncDetail {
  connectorName: string;
  attempts: number;
  status: string;
  errorMessage: string | null;
  nextAttemptAt: string | null;
}

async function synchronization(
  worker: WorkerProcess,
  taskId: number,
  connector: string,
): Promise<SyncDetail> {
  const detail = await api<{ synchronizations: SyncDetail[] }>(worker, 'GET', `/tasks/${taskId}`);
  return detail.synchronizations.find((s) => s.connectorName === connector)!;
}

describe('an outage of the external system, then recovery; a poison task (R-DEL-3, R-DEL-5, R-DEL-6)', () => {
  it('retries on the backoff schedule, drains in order from the first retry after the outage, parks the poison task, requeues it', async () => {
    const [web] = await Promise.all([
      cluster.startWorker('worker 1', { http: true }),
      cluster.startWorker('worker 2'),
    ]);
    const before = await cluster.versions();
    const calls = () => cluster.external.calls;
    const mainCalls = (outcome: Delivery['outcome']) =>
      calls().filter((d) => d.connector === 'Main' && d.outcome === outcome);

    outage = true;
    const outageStart = Date.now();
    // The poison change first, then traffic for the rest of the outage (20 changes a second).
    await cluster.produce({ mode: 'once', ids: [POISON, POISON], perTransaction: 1 });
    const traffic = cluster.produce({
      mode: 'traffic',
      ids: [2, OBJECTS],
      durationMs: OUTAGE_MS - (Date.now() - outageStart) - 3000,
      rate: 20,
      lanes: 2,
    });

    // The poison task: three failed attempts, parked, and the Poison queue goes on.
    const poisonTask = await waitFor(
      'the poison task to be tried',
      () => calls().find((d) => d.connector === 'Poison' && d.objectId === POISON)?.taskId,
      30_000,
    );
    const poisonAttempts = () =>
      calls().filter((d) => d.connector === 'Poison' && d.taskId === poisonTask && d.outcome === 'fail');
    await waitFor(
      'the Poison queue to go on past the poison task',
      () => calls().filter((d) => d.connector === 'Poison' && d.outcome === 'ok').length >= 20,
      30_000,
    );
    const parked = await synchronization(web, poisonTask, 'Poison');
    const attemptsBeforeRequeue = poisonAttempts().length;
    const wentOn = calls().find((d) => d.connector === 'Poison' && d.outcome === 'ok')!;
    poisoned = false;
    const requeuedAt = Date.now();
    const requeue = await api<{ requeued: number }>(web, 'POST', `/tasks/${poisonTask}/requeue`, {
      connectorName: 'Poison',
    });
    const redelivered = await waitFor(
      'the requeued poison task to be delivered',
      () => calls().find((d) => d.connector === 'Poison' && d.taskId === poisonTask && d.outcome === 'ok'),
      10_000,
    );
    console.log(
      `[faults] poison task (maxAttempts 3): ${attemptsBeforeRequeue} attempts ` +
        `(gaps ${poisonAttempts()
          .slice(1)
          .map((d, i) => seconds(d.at - poisonAttempts()[i]!.at))
          .join(', ')}), then ${parked.status} (attempts ${parked.attempts}); the queue went on ` +
        `${seconds(wentOn.at - poisonAttempts().at(-1)!.at)} after the last attempt; requeued (${requeue.requeued}) and delivered ` +
        `${seconds(redelivered.at - requeuedAt)} later`,
    );
    expect(attemptsBeforeRequeue).toBe(3);
    expect(parked).toMatchObject({ status: 'parked', attempts: 3 });
    expect(wentOn.at).toBeGreaterThan(poisonAttempts()[2]!.at);
    expect(requeue.requeued).toBe(1);

    // The end of the outage: when is the head task due again?
    await waitFor('the end of the outage', () => Date.now() >= outageStart + OUTAGE_MS, OUTAGE_MS);
    const head = mainCalls('fail').at(-1)!;
    const due = await synchronization(web, head.taskId, 'Main');
    outage = false;
    const outageEnd = Date.now();
    const nextAttemptAt = Date.parse(due.nextAttemptAt!);
    const recovered = await waitFor(
      'the first delivery after the outage',
      () => mainCalls('ok')[0],
      MAIN_RETRY.maxDelayMs + 10_000,
    );

    const attempts = mainCalls('fail').filter((d) => d.at < outageEnd);
    const gaps = attempts.slice(1).map((d, i) => d.at - attempts[i]!.at);
    console.log(
      `[faults] outage of ${seconds(outageEnd - outageStart)} (20 changes/s): ${attempts.length} attempts of the ` +
        `head task, gaps ${gaps.map((g) => (g / 1000).toFixed(1)).join(', ')} s against the schedule ` +
        `${gaps.map((_, i) => `${nominalDelay(i + 1) / 2000}–${nominalDelay(i + 1) / 1000}`).join(', ')} s; ` +
        `next attempt due ${seconds(nextAttemptAt - outageEnd)} after the outage, first delivery ` +
        `${seconds(recovered.at - nextAttemptAt)} after that due time`,
    );
    expect(new Set(attempts.map((d) => d.taskId))).toEqual(new Set([head.taskId]));
    gaps.forEach((gap, i) => {
      const nominal = nominalDelay(i + 1);
      expect(gap, `gap ${i + 1}`).toBeGreaterThanOrEqual(nominal / 2 - 50);
      expect(gap, `gap ${i + 1}`).toBeLessThanOrEqual(nominal + SLACK_MS);
    });
    expect(recovered.taskId).toBe(head.taskId);
    expect(recovered.at).toBeGreaterThanOrEqual(nextAttemptAt - 50);
    expect(recovered.at - nextAttemptAt).toBeLessThanOrEqual(SLACK_MS);

    // The backlog drains in order; nothing lost.
    await traffic;
    await cluster.drained(120_000);
    const after = await cluster.versions();
    const main = checkDeliveries('Main', calls(), before, after);
    const poison = checkDeliveries('Poison', calls(), before, after);
    console.log(
      `[faults] after the outage: Main delivered ${main.delivered} (${main.missing.length} lost, ` +
        `${main.outOfOrder.length} out of order) in ${seconds(mainCalls('ok').at(-1)!.at - recovered.at)}`,
    );
    for (const report of [main, poison]) {
      expect(summary(report)).toMatchObject({
        missing: [],
        unexpected: [],
        duplicates: 0,
        outOfOrder: [],
        stale: [],
      });
    }
    expect(fifoBreaks(calls(), 'Main')).toEqual([]);
    expect(cluster.unexpectedExits()).toEqual([]);
  });
});
