import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDeliveries, summary } from './support/check.js';
import { FaultCluster, seconds, waitFor, type WorkerProcess } from './support/harness.js';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';

const CONNECTOR = 'Omega';
const OBJECTS = 2000;
const BATCH = 50;
const CONCURRENCY = 4;
/** The object the external system refuses until it is healed. */
const POISON = 777;

const cluster = new FaultCluster();
beforeAll(async () => {
  await cluster.open({
    connectors: [
      {
        name: CONNECTOR,
        options: {
          ordering: 'object',
          partitions: 16,
          concurrency: CONCURRENCY,
          retry: { initialDelayMs: 200, maxDelayMs: 1000 },
        },
      },
    ],
    bus: { batchSize: BATCH },
    objects: OBJECTS,
  });
  cluster.external.answerDelayMs = 2;
}, 120_000);
afterAll(() => cluster.close(), 60_000);

const perPid = (from: number) => {
  const counts = new Map<number, number>();
  for (const d of cluster.external.deliveries(CONNECTOR).slice(from)) {
    counts.set(d.pid, (counts.get(d.pid) ?? 0) + 1);
  }
  return counts;
};

/** Waits until nothing is queued but the poison object's tasks. */
function everythingButPoisonDelivered(): Promise<true> {
  return waitFor(
    'every object but the poison one to be delivered',
    async () => {
      const [left] = await cluster.sql<{ n: number }>(
        `select count(*)::int as n from ${ALL_SYNCHRONIZATIONS_SQL} s join integration_task t on t.id = s.task_id
          where t.object_id <> $1`,
        [String(POISON)],
      );
      return left!.n === 0 || undefined;
    },
    120_000,
    100,
  );
}

describe('ordering: object across three processes (R-ORD-1..3, R-DEL-1..3)', () => {
  it('a poison object holds only itself while the rest flows over three instances; kill -9 loses nothing; order per object kept', async () => {
    cluster.external.behaviour = (call) => (call.objectId === POISON ? 'fail' : 'ok');
    const workers: WorkerProcess[] = await Promise.all(
      [1, 2, 3].map((i) => cluster.startWorker(`worker ${i}`)),
    );
    const start = await cluster.versions();

    // Round 1: two changes of every object; the poison object's first one fails again and again.
    await cluster.produce({ mode: 'once', ids: [1, OBJECTS], perTransaction: 100 });
    await cluster.produce({ mode: 'once', ids: [1, OBJECTS], perTransaction: 100 });
    await everythingButPoisonDelivered();
    const spread = perPid(0);
    const poisonCalls = cluster.external.calls.filter((c) => c.objectId === POISON);
    console.log(
      `[faults] ordering: object, 3 instances: ${cluster.external.deliveries(CONNECTOR).length} deliveries ` +
        `(per instance: ${[...spread.values()].join(' / ')}) while object ${POISON} failed ${poisonCalls.length} times, ` +
        `every attempt its first change (versions tried: ${[...new Set(poisonCalls.map((c) => c.version))].join(', ')})`,
    );
    expect(spread.size).toBe(3);
    for (const n of spread.values()) expect(n).toBeGreaterThan(0);
    expect(poisonCalls.length).toBeGreaterThanOrEqual(2);
    expect(new Set(poisonCalls.map((c) => c.version))).toEqual(new Set([start.get(POISON)! + 1]));
    const states = await cluster.sql<{ state: string | null; n: number }>(
      `select s.state, count(*)::int as n from ${ALL_SYNCHRONIZATIONS_SQL} s group by s.state order by s.state`,
    );
    expect(states).toEqual([
      { state: 'failed', n: 1 },
      { state: null, n: 1 },
    ]);

    // Round 2: a third change of every object, and kill -9 of an instance mid-drain.
    const from = cluster.external.calls.length;
    await cluster.produce({ mode: 'once', ids: [1, OBJECTS], perTransaction: 100 });
    await waitFor('the drain to be under way', () => cluster.external.calls.length - from >= 300, 60_000);
    const recent = perPid(cluster.external.deliveries(CONNECTOR).length - 100);
    const victim = workers
      .filter((w) => w.running)
      .sort((a, b) => (recent.get(b.pid) ?? 0) - (recent.get(a.pid) ?? 0))[0]!;
    victim.signal('SIGKILL');
    const killedAt = Date.now();
    await victim.exited;
    await everythingButPoisonDelivered();
    const drainedAfterKill = Date.now() - killedAt;

    // The external system accepts the poison object again: its three changes arrive in order.
    cluster.external.behaviour = () => 'ok';
    await cluster.drained(30_000);
    const end = await cluster.versions();
    const report = checkDeliveries(CONNECTOR, cluster.external.calls, start, end);
    const poisonDelivered = cluster.external
      .deliveries(CONNECTOR)
      .filter((d) => d.objectId === POISON)
      .map((d) => d.version);
    console.log(
      `[faults] ordering: object, kill -9 of ${victim.name} mid-drain: ${report.missing.length} lost, ` +
        `${report.duplicates} repeated (bound: batch ${BATCH} × concurrency ${CONCURRENCY}), ` +
        `${report.outOfOrder.length} out of order, ${report.stale.length} stale; the rest drained ${seconds(drainedAfterKill)} after the kill; ` +
        `object ${POISON} healed: versions ${poisonDelivered.join(', ')}`,
    );
    expect(summary(report)).toMatchObject({ missing: [], unexpected: [], outOfOrder: [], stale: [] });
    expect(report.duplicates).toBeLessThanOrEqual(BATCH * CONCURRENCY);
    expect(poisonDelivered).toEqual([2, 3, 4].map((v) => start.get(POISON)! - 1 + v));
    expect(cluster.unexpectedExits()).toEqual([]);
  });
});
