import { describe, expect, it } from 'vitest';
import { checkDeliveries, fifoBreaks, summary } from './support/check.js';
import { seconds, sleep, waitFor, FOUR_CONNECTORS, useFourConnectorCluster } from './support/harness.js';

const CONNECTORS = FOUR_CONNECTORS;
const OBJECTS = 3000;
const BATCH = 100;
/** R-DEL-3: processing resumes within 1 s after a database restart, without new traffic. */
const RESUME_MS = 1000;
const cluster = useFourConnectorCluster({ objects: OBJECTS, batchSize: BATCH, answerDelayMs: 2 });

/** Log lines counted by message (the `[Nest] pid - date time LEVEL` prefix left out). */
function tally(lines: string[]): string[] {
  const counts = new Map<string, number>();
  for (const line of lines) {
    // oxlint-disable-next-line no-control-regex -- the colours of Nest's console logger
    const message = line.replace(/\x1b\[[0-9;]*m/g, '').replace(/^\[Nest\] \d+\s+-\s+\S+, \S+ \S+\s+/, '');
    counts.set(message, (counts.get(message) ?? 0) + 1);
  }
  return [...counts].map(([message, n]) => `${n} × ${message}`);
}

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
    const resumed = () =>
      queuedConnectors.map(
        (c) => (calls().find((d) => d.connector === c && d.at >= backAt)?.at ?? Infinity) - backAt,
      );
    // Up to 20 s, so that a slow resumption is measured and shown rather than only timed out.
    await waitFor(
      'every connector to resume',
      () => resumed().every(Number.isFinite) || Date.now() - backAt > 20_000,
      30_000,
    );
    const firsts = resumed();
    const outage = workers.map((w, i) => w.output.slice(outputBefore[i]).split('\n').filter(Boolean));
    if (!firsts.every(Number.isFinite)) {
      const sessions = await cluster.sql<{ pid: number; state: string; query: string; backend_start: Date }>(
        `select pid, state, left(query, 80) as query, backend_start from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid()`,
      );
      const queue = await cluster.sql(
        `select code_name, lease_owner, lease_until, lease_epoch from integration_connector order by id`,
      );
      console.log(
        `[faults] sessions after the restart: ${JSON.stringify(sessions)}\nleases: ${JSON.stringify(queue)}`,
      );
      console.log(
        `[faults] PostgreSQL restart: not every connector resumed within 20 s: ${firsts.map(seconds).join(' / ')}\n` +
          outage.map((lines, i) => `worker ${i + 1}:\n  ${lines.join('\n  ')}`).join('\n'),
      );
    }
    await cluster.drained(120_000);
    await sleep(500);
    const after = await cluster.versions();

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
      console.log(`[faults] worker ${i + 1} log during the restart:\n  ${tally(lines).join('\n  ')}`);
    }
    expect(Math.max(...firsts)).toBeLessThanOrEqual(RESUME_MS);
    for (const report of reports) {
      expect(summary(report)).toMatchObject({ missing: [], unexpected: [], outOfOrder: [], stale: [] });
      expect(report.duplicates).toBeLessThanOrEqual(BATCH);
      expect(fifoBreaks(calls(), report.connector)).toEqual([]);
    }
    // One line per connection loss, not thousands (R-DEL-3): here at most the LISTEN connection's
    // loss and return, and a failed run or two per connector.
    for (const lines of outage) expect(lines.length).toBeLessThanOrEqual(2 + 2 * CONNECTORS.length);
    expect(cluster.unexpectedExits()).toEqual([]);
  });
});
