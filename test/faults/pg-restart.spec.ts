import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDeliveries, fifoBreaks, summary } from './support/check.js';
import { FaultCluster, seconds, sleep, waitFor } from './support/harness.js';

const CONNECTORS = ['Alpha', 'Bravo', 'Charlie', 'Delta'];
const OBJECTS = 3000;
const BATCH = 100;
/** R-DEL-3: processing resumes within 1 s after a database restart, without new traffic. */
const RESUME_MS = 1000;
const cluster = new FaultCluster();

beforeAll(async () => {
  await cluster.open({
    connectors: CONNECTORS.map((name) => ({ name })),
    bus: { batchSize: BATCH },
    objects: OBJECTS,
  });
  cluster.external.answerDelayMs = 2;
}, 120_000);

afterAll(() => cluster.close(), 60_000);

describe('PostgreSQL restarted mid-drain (R-DEL-3)', () => {
  it('processing resumes within 1 s after the database is back, with no new traffic; nothing lost', async () => {
    const workers = await Promise.all([1, 2].map((i) => cluster.startWorker(`worker ${i}`)));
    const before = await cluster.versions();
    await cluster.produce({ mode: 'once', ids: [1, OBJECTS], perTransaction: 100 });
    const calls = () => cluster.external.calls;
    await waitFor(
      'every connector to be under way',
      () => CONNECTORS.every((c) => calls().filter((d) => d.connector === c).length >= 100),
      60_000,
    );
    const outputBefore = workers.map((w) => w.output.length);

    const stoppedAt = await cluster.pg.stop();
    // Down long enough for the batches under way to end: no connector call for a while.
    await waitFor(
      'the workers to stand still',
      () => Date.now() - stoppedAt >= 3000 && Date.now() - (calls().at(-1)?.at ?? 0) >= 1500,
      30_000,
    );
    const queuedConnectors = CONNECTORS; // 3,000 tasks each: none can have finished yet
    const backAt = await cluster.pg.restart();
    const firsts = await waitFor(
      'every connector to resume',
      () => {
        const f = queuedConnectors.map((c) => calls().find((d) => d.connector === c && d.at >= backAt)?.at);
        return f.every((t) => t !== undefined) ? f.map((t) => t - backAt) : undefined;
      },
      75_000,
    );
    await cluster.drained(120_000);
    await sleep(500);
    const after = await cluster.versions();

    const outage = workers.map((w, i) => w.output.slice(outputBefore[i]).split('\n').filter(Boolean));
    const lost = outage.map((lines) => lines.filter((l) => l.includes('LISTEN connection lost')).length);
    const reports = CONNECTORS.map((c) => checkDeliveries(c, calls(), before, after));
    console.log(
      `[faults] PostgreSQL restart mid-drain (down ${seconds(backAt - stoppedAt)}, no new traffic): ` +
        `first call ${seconds(Math.min(...firsts))} after it was back, per connector ${firsts.map(seconds).join(' / ')}; ` +
        `log lines per worker during the outage ${outage.map((l) => l.length).join(' / ')} ` +
        `("LISTEN connection lost": ${lost.join(' / ')}); ` +
        reports.map((r) => `${r.connector} ${r.missing.length} lost, ${r.duplicates} repeated`).join(', '),
    );
    for (const [i, lines] of outage.entries()) {
      console.log(`[faults] worker ${i + 1} log during the restart:\n  ${lines.slice(0, 12).join('\n  ')}`);
    }
    expect(Math.max(...firsts)).toBeLessThanOrEqual(RESUME_MS);
    for (const report of reports) {
      expect(summary(report)).toMatchObject({ missing: [], unexpected: [], outOfOrder: [], stale: [] });
      expect(report.duplicates).toBeLessThanOrEqual(BATCH);
      expect(fifoBreaks(calls(), report.connector)).toEqual([]);
    }
    // One line per connection loss, not thousands (R-DEL-3).
    for (const lines of outage) expect(lines.length).toBeLessThan(50);
  });
});
