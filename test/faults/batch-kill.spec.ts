import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDeliveries, fifoBreaks, holderOf, summary } from './support/check.js';
import { FaultCluster, seconds, waitFor } from './support/harness.js';

const OBJECTS = 2000;
/** Tasks per call, and per read of the queue: the done tasks of a call are written after it. */
const MAX_BATCH = 50;
/**
 * Alpha and Bravo call one batch at a time. Charlie has two calls under way at once
 * (`maxCallsInFlight: 2`), three to a read of the queue, the last carried into the next read: what
 * a crash repeats is still at most one read.
 */
const CONNECTORS = ['Alpha', 'Bravo', 'Charlie'];
const OVERLAPPING = 'Charlie';
const OPTIONS: Record<string, { maxBatchSize: number; maxCallsInFlight?: number }> = {
  Alpha: { maxBatchSize: MAX_BATCH },
  Bravo: { maxBatchSize: MAX_BATCH },
  Charlie: { maxBatchSize: 16, maxCallsInFlight: 2 },
};
/** What a bulk request takes the external system: a call is in flight most of the time. */
const ANSWER_MS = 20;
const TAKEOVER_MS = 10_000;

const cluster = new FaultCluster();
beforeAll(async () => {
  await cluster.open({
    connectors: CONNECTORS.map((name) => ({ name, options: OPTIONS[name]! })),
    bus: { batchSize: MAX_BATCH },
    objects: OBJECTS,
  });
  cluster.external.answerDelayMs = ANSWER_MS;
}, 120_000);
afterAll(() => cluster.close(), 60_000);

describe('kill -9 of the lease holder in the middle of a batch call (R-EXT-1, R-DEL-2)', () => {
  it('nothing lost, order kept, at most one batch delivered twice, takeover within 10 s', async () => {
    const workers = await Promise.all([1, 2].map((i) => cluster.startWorker(`worker ${i}`)));
    const before = await cluster.versions();
    await cluster.produce({ mode: 'once', ids: [1, OBJECTS], perTransaction: 100 });
    const calls = () => cluster.external.calls;
    await waitFor(
      'both connectors to be under way',
      () => CONNECTORS.every((c) => calls().filter((d) => d.connector === c).length >= 300),
      60_000,
    );
    const now = Date.now();
    const victimPid = holderOf(calls(), 'Alpha', now)!;
    const victim = workers.find((w) => w.pid === victimPid)!;
    const victimConnectors = CONNECTORS.filter((c) => holderOf(calls(), c, now) === victimPid);
    victim.signal('SIGKILL');
    const killedAt = Date.now();
    await victim.exited;
    const inFlight = cluster.external.requests.filter((r) => r.at > killedAt - ANSWER_MS && r.at <= killedAt);
    const firsts = await waitFor(
      `the other instance to take over ${victimConnectors.join(', ')}`,
      () => {
        const at = victimConnectors.map((c) => calls().find((d) => d.connector === c && d.at > killedAt)?.at);
        return at.every((t) => t !== undefined) ? at : undefined;
      },
      75_000,
    );
    await cluster.drained(120_000);
    const after = await cluster.versions();

    const sizes = cluster.external.requests.map((r) => r.calls);
    const reports = CONNECTORS.map((c) => checkDeliveries(c, calls(), before, after));
    console.log(
      `[faults] kill -9 mid-batch of the holder of ${victimConnectors.join(', ')} ` +
        `(${inFlight.length} bulk requests arrived in the ${ANSWER_MS} ms before it): takeover after ` +
        `${firsts.map((t) => seconds(t - killedAt)).join(' / ')}; ${sizes.length} requests of ` +
        `${(sizes.reduce((a, b) => a + b, 0) / sizes.length).toFixed(1)} tasks on average; ` +
        reports.map((r) => `${r.connector} ${r.missing.length} lost, ${r.duplicates} repeated`).join(', '),
    );
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_BATCH);
    expect(Math.max(...sizes)).toBeGreaterThan(1); // the connectors did take batches
    expect(Math.max(...firsts.map((t) => t - killedAt))).toBeLessThanOrEqual(TAKEOVER_MS);
    for (const report of reports) {
      expect(summary(report)).toMatchObject({ missing: [], unexpected: [], outOfOrder: [], stale: [] });
      expect(report.duplicates).toBeLessThanOrEqual(MAX_BATCH);
    }
    // Two requests under way may reach the system in either order: per-object order is what holds.
    const oneCallAtATime = CONNECTORS.filter((c) => c !== OVERLAPPING);
    expect(oneCallAtATime.flatMap((c) => fifoBreaks(calls(), c))).toEqual([]);
    expect(cluster.unexpectedExits()).toEqual([]);
  });
});
