import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDeliveries, summary } from './support/check.js';
import type { Delivery } from './support/external-system.js';
import { FaultCluster, seconds, sleep, waitFor } from './support/harness.js';

const CONNECTOR = 'Sigma';
const OBJECTS = 2000;
const PARTITIONS = 8;
const BATCH = 20;
/** R-ORD-3: a new instance takes its share within one lease period (`leaseMs` at its default). */
const LEASE_MS = 6000;

const cluster = new FaultCluster();
beforeAll(async () => {
  await cluster.open({
    connectors: [
      { name: CONNECTOR, options: { ordering: 'object', partitions: PARTITIONS, concurrency: PARTITIONS } },
    ],
    bus: { batchSize: BATCH },
    objects: OBJECTS,
  });
  cluster.external.answerDelayMs = 6;
}, 120_000);
afterAll(() => cluster.close(), 60_000);

describe('instances joining and leaving share the partitions (R-ORD-3)', () => {
  it('a new instance takes its share within one lease; one that stops hands its partitions back at once', async () => {
    // Each object's partition, as the bus computes it from the object key.
    const partitionRows = await cluster.sql<{ id: number; partition: number }>(
      `select i as id, (1 + ((hashtextextended('fault.item:' || i, 0) & 9223372036854775807) % $1))::int as partition
         from generate_series(1, $2::int) as i`,
      [PARTITIONS, OBJECTS],
    );
    const partitionOf = new Map(partitionRows.map((r) => [r.id, r.partition]));
    const deliveries = () => cluster.external.deliveries(CONNECTOR);
    const partitionsOf = (calls: Delivery[]) => new Set(calls.map((d) => partitionOf.get(d.objectId)));

    const first = await cluster.startWorker('worker 1');
    const start = await cluster.versions();
    await cluster.produce({ mode: 'once', ids: [1, OBJECTS], perTransaction: 200 });
    await cluster.produce({ mode: 'once', ids: [1, OBJECTS], perTransaction: 200 });
    await waitFor('worker 1 to be under way', () => deliveries().length >= 300, 60_000);
    // Alone, it runs every partition (its share is all of them).
    expect(partitionsOf(deliveries()).size).toBe(PARTITIONS);

    // More changes while worker 2 starts: the queue must not run dry before it is up (worker 1
    // alone drains the first 4,000 in a few seconds).
    const moreChanges = (async () => {
      for (let round = 0; round < 4; round++) {
        await cluster.produce({ mode: 'once', ids: [1, OBJECTS], perTransaction: 200 });
      }
    })();
    const second = await cluster.startWorker('worker 2');
    const joinedAt = Date.now();
    const firstBySecond = await waitFor(
      'worker 2 to deliver',
      () => deliveries().find((d) => d.pid === second.pid)?.at,
      LEASE_MS * 2,
    ).catch(async (error: unknown) => {
      console.log(
        JSON.stringify(await cluster.sql(`select * from integration_partition_lease order by partition`)),
        JSON.stringify(await cluster.sql(`select * from integration_instance`)),
        second.output.slice(-3000),
      );
      throw error;
    });
    await moreChanges;
    await sleep(500);
    const shared = deliveries().filter((d) => d.at > firstBySecond);
    const bySecond = shared.filter((d) => d.pid === second.pid).length;
    console.log(
      `[faults] rebalance: worker 2 delivered ${seconds(firstBySecond - joinedAt)} after it was ready; ` +
        `from then until 8,000 more changes were committed, worker 1 ${shared.length - bySecond}, worker 2 ${bySecond} deliveries`,
    );
    expect(firstBySecond - joinedAt).toBeLessThanOrEqual(LEASE_MS);
    expect(bySecond).toBeGreaterThan(shared.length / 4);

    // Worker 1 stops (SIGTERM): its runs finish their batch and hand their partitions back.
    const left = await cluster.queued();
    expect(left.get(CONNECTOR)).toBeGreaterThan(500);
    const stopAt = Date.now();
    const heldByFirst = partitionsOf(deliveries().filter((d) => d.pid === first.pid && d.at > stopAt - 300));
    first.signal('SIGTERM');
    const exit = await first.exited;
    expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
    const handedOver = await waitFor(
      `worker 2 to deliver in the partitions worker 1 held (${[...heldByFirst].join(', ')})`,
      () => {
        const after = deliveries().filter((d) => d.pid === second.pid && d.at >= exit.at);
        const taken = partitionsOf(after);
        return [...heldByFirst].every((p) => taken.has(p))
          ? Math.max(...[...heldByFirst].map((p) => after.find((d) => partitionOf.get(d.objectId) === p)!.at))
          : undefined;
      },
      LEASE_MS * 2,
    );
    await cluster.drained(120_000);
    const end = await cluster.versions();
    const report = checkDeliveries(CONNECTOR, cluster.external.calls, start, end);
    console.log(
      `[faults] rebalance: worker 1 exited ${seconds(exit.at - stopAt)} after SIGTERM; worker 2 was delivering in all ` +
        `${heldByFirst.size} of its partitions ${seconds(handedOver - exit.at)} after; ` +
        `${report.missing.length} lost, ${report.duplicates} repeated, ${report.outOfOrder.length} out of order`,
    );
    expect(handedOver - exit.at).toBeLessThanOrEqual(2000);
    expect(summary(report)).toMatchObject({
      missing: [],
      unexpected: [],
      duplicates: 0,
      outOfOrder: [],
      stale: [],
    });
    expect(cluster.unexpectedExits()).toEqual([]);
  });
});
