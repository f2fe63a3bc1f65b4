import { describe, expect, it } from 'vitest';
import { checkDeliveries, summary } from './support/check.js';
import { seconds, FOUR_CONNECTORS, useFourConnectorCluster } from './support/harness.js';

const CONNECTORS = FOUR_CONNECTORS;
const OBJECTS = 1000;
/** Objects changed in transactions held open; the others change in single-object and burst transactions. */
const HELD = 20;
// Small batches: a run moves its position often, past tasks not yet visible if it can. A few
// milliseconds per delivery: the drain of a burst outlasts a held transaction.
const cluster = useFourConnectorCluster({ objects: OBJECTS, batchSize: 50, answerDelayMs: 3 });

/** Traffic runs, each checked on its own: a deadlock showed in about one run in four before it was fixed. */
const ROUNDS = 3;

describe('three instances × four connectors under live traffic (R-DEL-1, R-DEL-2)', () => {
  it('delivers every change once per connector, each object in commit order, no stale final state, and PostgreSQL sees no deadlock, run after run', async () => {
    await Promise.all([1, 2, 3].map((i) => cluster.startWorker(`worker ${i}`)));
    for (let round = 1; round <= ROUNDS; round++) {
      const before = await cluster.versions();
      const from = cluster.external.calls.length;
      const produced = await cluster.produce({
        mode: 'traffic',
        ids: [HELD + 1, OBJECTS],
        durationMs: 15_000,
        rate: 40,
        lanes: 4,
        holdIds: [1, HELD],
        holdEveryMs: 1000,
        holdMs: [1000, 3000],
        burst: 200,
      });
      const lastCommit = Date.now();
      await cluster.drained(90_000);
      const drainedAfter = Date.now() - lastCommit;
      const after = await cluster.versions();
      const calls = cluster.external.calls.slice(from);

      const reports = CONNECTORS.map((c) => checkDeliveries(c, calls, before, after));
      const byPid = new Map<number, number>();
      for (const d of calls) if (d.outcome === 'ok') byPid.set(d.pid, (byPid.get(d.pid) ?? 0) + 1);
      const deadlocks = cluster.pg.logLines('deadlock detected');
      console.log(
        `[faults] 3 instances × 4 connectors, run ${round} of ${ROUNDS}: ${produced.commits} changes ` +
          `(${produced.held} transactions held open 1–3 s after their flush), ` +
          `${calls.length} deliveries (per instance: ${[...byPid.values()].join(' / ')}); ` +
          reports
            .map(
              (r) =>
                `${r.connector}: ${r.missing.length} lost, ${r.duplicates} duplicates, ${r.outOfOrder.length} out of order, ${r.stale.length} stale`,
            )
            .join('; ') +
          `; queues empty ${seconds(drainedAfter)} after the last commit; ${deadlocks.length} deadlocks in PostgreSQL's log so far`,
      );
      for (const report of reports) {
        expect(summary(report)).toMatchObject({
          missing: [],
          unexpected: [],
          duplicates: 0,
          outOfOrder: [],
          stale: [],
        });
        expect(report.delivered).toBe(produced.commits);
      }
      expect(deadlocks).toEqual([]);
    }
    // The log is really PostgreSQL's: its start-up line is there.
    expect(cluster.pg.logLines('ready to accept connections').length).toBeGreaterThan(0);
    const [stats] = await cluster.sql<{ deadlocks: string }>(
      `select deadlocks::text from pg_stat_database where datname = current_database()`,
    );
    expect(Number(stats!.deadlocks)).toBe(0);
    expect(cluster.unexpectedExits()).toEqual([]);
  });
});
