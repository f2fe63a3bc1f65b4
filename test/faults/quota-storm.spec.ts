import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDeliveries, fifoBreaks, summary } from './support/check.js';
import { FaultCluster, sleep } from './support/harness.js';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';

const OBJECTS = 300;
const MAX_BATCH = 5;
/** The external system's quota, and the connectors' `rateLimit` across the three instances. */
const QUOTA = { requests: 10, perMs: 1000 };
/** Every request refused with 429 + `Retry-After: 1` for this long: the storm. */
const STORM_MS = 4000;
/** Three refusals would park a task if a 429 counted towards parking. */
const RETRY = { maxAttempts: 3, initialDelayMs: 100 };
const CONNECTORS = ['Alpha', 'Bravo'];

const cluster = new FaultCluster();
let storm = false;
beforeAll(async () => {
  await cluster.open({
    connectors: CONNECTORS.map((name, i) => ({
      name,
      // One connector sends batches, the other a task per call.
      options: { rateLimit: QUOTA, retry: RETRY, maxBatchSize: i === 0 ? MAX_BATCH : 1 },
    })),
    objects: OBJECTS,
  });
  cluster.external.quota = { requests: QUOTA.requests * CONNECTORS.length, perMs: QUOTA.perMs };
  cluster.external.behaviour = () => (storm ? 'quota' : 'ok');
}, 120_000);
afterAll(() => cluster.close(), 60_000);

/** The most requests of `connector` that arrived within any `windowMs` (half-open windows). */
function maxInAnyWindow(times: number[], windowMs: number): number {
  let most = 0;
  for (let start = 0, end = 0; end < times.length; end++) {
    while (times[end]! - times[start]! >= windowMs) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

describe('a 429 storm against three instances (R-EXT-2)', () => {
  it('the rate limit holds across the instances, the connectors pause on Retry-After, nothing parks or is lost', async () => {
    await Promise.all([1, 2, 3].map((i) => cluster.startWorker(`worker ${i}`)));
    const before = await cluster.versions();
    await cluster.produce({ mode: 'once', ids: [1, OBJECTS], perTransaction: 100 });
    await sleep(1000);
    storm = true;
    const stormAt = Date.now();
    await sleep(STORM_MS);
    storm = false;
    await cluster.drained(180_000);
    const after = await cluster.versions();

    const calls = cluster.external.calls;
    const parked = await cluster.sql<{ n: number }>(
      `select count(*)::int as n from ${ALL_SYNCHRONIZATIONS_SQL} s where s.state = 'parked'`,
    );
    const lines: string[] = [];
    for (const connector of CONNECTORS) {
      // A request's calls share its arrival time: one bulk request is one request.
      const requests = [
        ...new Set(calls.filter((d) => d.connector === connector).map((d) => `${d.at}/${d.pid}`)),
      ];
      const times = requests.map((r) => Number(r.split('/')[0])).sort((a, b) => a - b);
      const refused = calls.filter((d) => d.connector === connector && d.outcome === 'quota');
      const duringStorm = times.filter((t) => t >= stormAt && t < stormAt + STORM_MS).length;
      const most = maxInAnyWindow(times, QUOTA.perMs);
      lines.push(
        `${connector}: ${times.length} requests, at most ${most} in any second, ${refused.length} tasks refused ` +
          `with 429, ${duringStorm} requests during the ${STORM_MS / 1000} s storm`,
      );
      // The measured figures and what each must satisfy, so that a failure names the connector.
      expect({ connector, most, refused: refused.length, duringStorm }).toMatchObject({
        connector,
        // Slots start at least 100 ms apart by the database's clock; a request may reach the system
        // late (a loaded machine), so a window can catch one or two more than the quota, not 20.
        most: expect.toSatisfy((n: number) => n <= QUOTA.requests + 2),
        refused: expect.toSatisfy((n: number) => n > 0),
        // Paused on Retry-After (1 s): about one request per second in the storm, not ten.
        duringStorm: expect.toSatisfy((n: number) => n <= (STORM_MS / 1000 + 1) * 2),
      });
      const report = checkDeliveries(connector, calls, before, after);
      expect(summary(report)).toMatchObject({ missing: [], unexpected: [], outOfOrder: [], stale: [] });
      expect(fifoBreaks(calls, connector)).toEqual([]);
    }
    console.log(`[faults] 429 storm, three instances, rateLimit ${QUOTA.requests}/s: ${lines.join('; ')}`);
    expect(parked[0]!.n).toBe(0);
    expect(cluster.unexpectedExits()).toEqual([]);
  });
});
