import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, FaultCluster, seconds, sleep, waitFor } from './support/harness.js';

/** R-DEL-3: processing resumes within 1 s after a blocking task is deleted or requeued, or processing is switched on. */
const RESUME_MS = 1000;
/** Long enough that no automatic retry (nor the 60 s sweep) comes during the scenario. */
const RETRY = { initialDelayMs: 120_000 };
const cluster = new FaultCluster();
const failing = new Set<number>();

beforeAll(async () => {
  await cluster.open({ connectors: [{ name: 'Main', options: { retry: RETRY } }], objects: 100 });
  cluster.external.behaviour = (call) => (failing.has(call.objectId) ? 'fail' : 'ok');
}, 120_000);

afterAll(() => cluster.close(), 60_000);

describe('wake-ups without new traffic (R-DEL-3)', () => {
  it('a blocking task deleted or requeued, or processing switched on: the queue resumes within 1 s', async () => {
    const [web] = await Promise.all(
      [1, 2, 3].map((i) => cluster.startWorker(`worker ${i}`, { http: i === 1 })),
    );
    const calls = () => cluster.external.calls;
    const delivered = (objectId: number, after: number) =>
      calls().find((d) => d.objectId === objectId && d.outcome === 'ok' && d.at >= after);

    /** Logs a head task that fails (Error: it blocks the connector), then `behind` tasks after it. */
    const block = async (head: number, behind: [number, number]) => {
      failing.add(head);
      await cluster.produce({ mode: 'once', ids: [head, head], perTransaction: 1 });
      const attempt = await waitFor(
        `the attempt of object ${head}`,
        () => calls().find((d) => d.objectId === head && d.outcome === 'fail'),
        30_000,
      );
      await cluster.produce({ mode: 'once', ids: behind, perTransaction: 5 });
      await sleep(1500);
      // Held up behind the failed head, with nothing else to do.
      expect(calls().filter((d) => d.objectId >= behind[0] && d.objectId <= behind[1])).toEqual([]);
      return attempt;
    };

    // A blocking task deleted through the API.
    const first = await block(1, [2, 10]);
    const deleteSent = Date.now();
    await api(web!, 'DELETE', `/tasks/${first.taskId}?connectorName=Main`);
    const afterDelete = await waitFor(
      'the queue to resume after the delete',
      () => delivered(2, deleteSent),
      30_000,
    );
    await waitFor('the tasks behind it', () => delivered(10, deleteSent), 30_000);

    // A blocking task requeued through the API (failed, not parked: its next attempt is minutes away).
    const second = await block(11, [12, 20]);
    failing.delete(11);
    const requeueSent = Date.now();
    await api(web!, 'POST', `/tasks/${second.taskId}/requeue`, { connectorName: 'Main' });
    const afterRequeue = await waitFor('the requeued task', () => delivered(11, requeueSent), 30_000);
    const behindRequeued = await waitFor('the tasks behind it', () => delivered(20, requeueSent), 30_000);

    // Processing switched off, tasks logged, processing switched on.
    await api(web!, 'PATCH', '/settings', { processOutgoing: false });
    await sleep(1500);
    await cluster.produce({ mode: 'once', ids: [21, 30], perTransaction: 5 });
    await sleep(2000);
    expect(calls().filter((d) => d.objectId >= 21 && d.objectId <= 30)).toEqual([]);
    const onSent = Date.now();
    await api(web!, 'PATCH', '/settings', { processOutgoing: true });
    const afterOn = await waitFor(
      'processing to resume after the switch',
      () => delivered(21, onSent),
      30_000,
    );

    const pidOf = (pid: number) =>
      pid === web!.pid ? 'the instance that served the request' : 'another instance';
    console.log(
      `[faults] wake-ups without new traffic: blocking task deleted → next delivery after ${seconds(afterDelete.at - deleteSent)} ` +
        `(${pidOf(afterDelete.pid)}); blocking task requeued → delivered after ${seconds(afterRequeue.at - requeueSent)} ` +
        `(${pidOf(afterRequeue.pid)}), the 9 behind it by ${seconds(behindRequeued.at - requeueSent)}; ` +
        `processing switched on → first delivery after ${seconds(afterOn.at - onSent)} (${pidOf(afterOn.pid)})`,
    );
    expect(afterDelete.at - deleteSent).toBeLessThanOrEqual(RESUME_MS);
    expect(afterRequeue.at - requeueSent).toBeLessThanOrEqual(RESUME_MS);
    expect(afterOn.at - onSent).toBeLessThanOrEqual(RESUME_MS);
    expect(cluster.unexpectedExits()).toEqual([]);
  });
});
