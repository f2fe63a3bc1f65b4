import { describe, expect, it } from 'vitest';
import { checkDeliveries, fifoBreaks, holderOf, summary } from './support/check.js';
import type { Delivery } from './support/external-system.js';
import { seconds, sleep, waitFor, FOUR_CONNECTORS, useFourConnectorCluster } from './support/harness.js';

const CONNECTORS = FOUR_CONNECTORS;
const OBJECTS = 3000;
const BATCH = 100;
/** The default `leaseMs`: the pause must outlast it. */
const LEASE_MS = 6000;
const cluster = useFourConnectorCluster({ objects: OBJECTS, batchSize: BATCH, answerDelayMs: 2 });

describe('SIGSTOP of the lease holder past its lease, then SIGCONT (R-DEL-2)', () => {
  it('the paused instance makes no call beside its successor; at most one batch repeated, nothing lost', async () => {
    const workers = await Promise.all([1, 2, 3].map((i) => cluster.startWorker(`worker ${i}`)));
    const before = await cluster.versions();
    await cluster.produce({ mode: 'once', ids: [1, OBJECTS], perTransaction: 100 });
    const calls = () => cluster.external.calls;
    await waitFor(
      'every connector to be under way',
      () => CONNECTORS.every((c) => calls().filter((d) => d.connector === c).length >= 100),
      60_000,
    );
    const now = Date.now();
    const holders = new Map(CONNECTORS.map((c) => [c, holderOf(calls(), c, now)]));
    const victim = workers
      .map((w) => ({ w, n: [...holders.values()].filter((pid) => pid === w.pid).length }))
      .sort((a, b) => b.n - a.n)[0]!.w;
    const queued = await cluster.queued();
    const paused = CONNECTORS.filter((c) => holders.get(c) === victim.pid && queued.get(c)! > 0);
    expect(paused.length).toBeGreaterThan(0);

    victim.signal('SIGSTOP');
    const stoppedAt = Date.now();
    const successorFirst = await waitFor(
      `another instance to take over ${paused.join(', ')}`,
      () => {
        const firsts = paused.map(
          (c) => calls().find((d) => d.connector === c && d.at >= stoppedAt && d.pid !== victim.pid)?.at,
        );
        return firsts.every((t) => t !== undefined) ? firsts : undefined;
      },
      75_000,
    );
    // Past its lease, and while the successors are in the middle of the backlog.
    await sleep(Math.max(stoppedAt + LEASE_MS + 2000, Math.max(...successorFirst) + 1500) - Date.now());
    victim.signal('SIGCONT');
    const continuedAt = Date.now();
    await cluster.drained(120_000);
    await sleep(1000); // anything the resumed instance still does
    const after = await cluster.versions();

    // The paused instance's calls that reached the external system while its successor was at work:
    // made after SIGCONT (its clock cannot move while stopped), or made before the pause and
    // written to the socket only after it (at most the one call each connector had in flight).
    const interleaved: Delivery[] = [];
    let successorLastAfterResume = 0;
    paused.forEach((c, i) => {
      const successors = calls().filter(
        (d) => d.connector === c && d.pid !== victim.pid && d.at >= stoppedAt,
      );
      const last = successors.at(-1)!.at;
      successorLastAfterResume = Math.max(successorLastAfterResume, last - continuedAt);
      interleaved.push(
        ...calls().filter(
          (d) => d.connector === c && d.pid === victim.pid && d.at > successorFirst[i]! && d.at <= last,
        ),
      );
    });
    const madeAfterResume = interleaved.filter((d) => d.sentAt >= continuedAt);
    const inFlight = interleaved.filter((d) => d.sentAt < continuedAt);
    const describeCall = (d: Delivery) =>
      `${d.connector} task ${d.taskId} made ${seconds(d.sentAt - continuedAt)} after SIGCONT, arrived ${seconds(d.at - continuedAt)} after it`;
    const afterResume = calls().filter((d) => d.pid === victim.pid && d.sentAt >= continuedAt).length;
    const reports = CONNECTORS.map((c) => checkDeliveries(c, calls(), before, after));
    console.log(
      `[faults] SIGSTOP of the holder of ${paused.join(', ')} for ${seconds(continuedAt - stoppedAt)} ` +
        `(leaseMs ${LEASE_MS}): successor's first call after ${successorFirst.map((t) => seconds(t - stoppedAt)).join(' / ')}; ` +
        `after SIGCONT the paused instance made ${afterResume} calls, ${madeAfterResume.length} beside its successor ` +
        `(calls made before the pause that arrived after it: ${inFlight.length}${inFlight.length ? `: ${inFlight.map(describeCall).join('; ')}` : ''}) ` +
        `(successors drained for ${seconds(successorLastAfterResume)} more); ` +
        reports.map((r) => `${r.connector} ${r.missing.length} lost, ${r.duplicates} repeated`).join(', ') +
        ` (batch ${BATCH})`,
    );
    // The scenario means something only if the successors were still at work when the pause ended.
    expect(successorLastAfterResume).toBeGreaterThan(1000);
    expect(
      madeAfterResume.slice(0, 5).map(describeCall),
      `${madeAfterResume.length} calls beside the successor`,
    ).toEqual([]);
    for (const c of paused) expect(inFlight.filter((d) => d.connector === c).length).toBeLessThanOrEqual(1);
    for (const report of reports) {
      expect(summary(report)).toMatchObject({ missing: [], unexpected: [], outOfOrder: [], stale: [] });
      expect(report.duplicates).toBeLessThanOrEqual(BATCH);
      expect(fifoBreaks(calls(), report.connector)).toEqual([]);
    }
    expect(cluster.unexpectedExits()).toEqual([]);
  });
});
