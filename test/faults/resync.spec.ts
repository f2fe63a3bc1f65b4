import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Delivery } from './support/external-system.js';
import { api, FaultCluster, seconds, waitFor, type WorkerProcess } from './support/harness.js';

/** Rows that existed before the connector: created in SQL by the migration step, no task logged. */
const ROWS = 200_000;
const CHUNK = 1000;
/** Live traffic while the resync runs: random single-row changes through MikroORM flushes. */
const RATE = 200;
const TRAFFIC_MS = 60_000;
/** The drain's batch: what a kill -9 may deliver twice (R-DEL-2). */
const BATCH = 500;

const cluster = new FaultCluster();
beforeAll(async () => {
  await cluster.open({ connectors: [{ name: 'Resync' }], bus: { batchSize: BATCH }, objects: ROWS });
}, 180_000);
afterAll(() => cluster.close(), 60_000);

interface Progress {
  id: number;
  status: string;
  done: number;
  total: number;
  ratePerSecond: number | null;
  runningOn: string | null;
}

/** The resync's row, read from the database (whichever instance runs it). */
async function progressOf(id: number): Promise<{ done: number; status: string; owner: string | null }> {
  const [row] = await cluster.sql<{ done: string; status: string; lease_owner: string | null }>(
    `select done::text, status, lease_owner from integration_resync where id = $1`,
    [id],
  );
  return { done: Number(row!.done), status: row!.status, owner: row!.lease_owner };
}

async function versionSum(): Promise<number> {
  const [row] = await cluster.sql<{ n: string }>(`select sum(version)::text as n from fault_item`);
  return Number(row!.n);
}

/** What the connector received, per row, against the database's final versions. */
function check(deliveries: readonly Delivery[], final: ReadonlyMap<number, number>) {
  const highest = new Map<number, number>();
  const last = new Map<number, number>();
  const seenTasks = new Set<number>();
  const resyncTasks = new Map<number, Set<number>>();
  const wentBack: string[] = [];
  let duplicates = 0;
  for (const d of deliveries) {
    if (d.outcome !== 'ok') continue;
    if (d.resync) resyncTasks.set(d.objectId, (resyncTasks.get(d.objectId) ?? new Set()).add(d.taskId));
    if (seenTasks.has(d.taskId)) {
      duplicates += 1; // a delivery repeated after the crash: not a new version
    } else {
      seenTasks.add(d.taskId);
      if (d.version < (highest.get(d.objectId) ?? -Infinity)) {
        wentBack.push(`${d.objectId}@${d.version} after @${highest.get(d.objectId)}`);
      }
    }
    highest.set(d.objectId, Math.max(d.version, highest.get(d.objectId) ?? -Infinity));
    last.set(d.objectId, d.version);
  }
  const missing: number[] = [];
  const stale: string[] = [];
  for (const [id, version] of final) {
    if (!last.has(id)) missing.push(id);
    else if (last.get(id) !== version) stale.push(`${id}: ${last.get(id)} != ${version}`);
  }
  const repeatedRows = [...resyncTasks.values()].filter((tasks) => tasks.size > 1).length;
  return { missing, stale, wentBack, duplicates, repeatedRows, resyncTasks: resyncTasks.size };
}

const cut = (list: unknown[]) => (list.length > 8 ? [...list.slice(0, 8), `… ${list.length} in all`] : list);

describe('resync of 200,000 existing rows under live traffic, kill -9 of its runner (R-RES-1, R-RES-2)', () => {
  it('every row received, 0 stale final states, no version goes back, at most one chunk repeated', async () => {
    const first: WorkerProcess = await cluster.startWorker('worker 1', { http: true });
    const before = await versionSum();
    const traffic = cluster.produce({
      mode: 'traffic',
      ids: [1, ROWS],
      durationMs: TRAFFIC_MS,
      rate: RATE,
      lanes: 4,
    });
    // Live changes under way before the resync starts.
    await waitFor(
      'the producer to commit changes',
      async () => (await versionSum()) > before + 100,
      60_000,
      100,
    );
    const startedAt = Date.now();
    const atStart = await versionSum();
    const started = await api<Progress>(first, 'POST', '/connectors/Resync/resync', {
      objectType: 'fault.item',
      chunkSize: CHUNK,
    });
    expect(started).toMatchObject({ status: 'running', total: ROWS });

    // kill -9 of the runner a third of the way through.
    await waitFor(
      'a third of the rows',
      async () => (await progressOf(started.id)).done >= ROWS / 3,
      120_000,
      100,
    );
    const seen = await api<{ items: Progress[] }>(first, 'GET', '/connectors/Resync/resync');
    first.signal('SIGKILL');
    const killedAt = Date.now();
    await first.exited;
    const atKill = await progressOf(started.id);
    const second = await cluster.startWorker('worker 2', { http: true });
    // The new instance takes the resync over once the dead one's lease has run out.
    // Every instance that runs the bus may take it over: worker 2, or the producer's process.
    const taker = await waitFor(
      'the resync to go on after the kill',
      async () => {
        const now = await progressOf(started.id);
        if (now.status !== 'running') return 'finished before a look'; // no owner left to name
        return now.done > atKill.done && now.owner ? now.owner : undefined;
      },
      60_000,
      100,
    );
    const resumed = Date.now();
    const takerPid = Number(taker.split(':').at(-2));
    expect(takerPid).not.toBe(first.child.pid);
    const takenBy =
      takerPid === second.child.pid ? 'worker 2' : Number.isNaN(takerPid) ? taker : 'the producer';
    const done = await waitFor(
      'the resync to finish',
      async () => {
        const now = await progressOf(started.id);
        return now.status === 'running' ? undefined : now;
      },
      240_000,
      200,
    );
    const finishedAt = Date.now();
    const atEnd = await versionSum();
    const produced = await traffic;
    await cluster.drained(300_000);
    const final = await cluster.versions();
    const deliveries = cluster.external.deliveries('Resync');
    const report = check(deliveries, final);
    const resyncMs = finishedAt - startedAt;
    const shown = await api<{ items: Progress[] }>(second, 'GET', '/connectors/Resync/resync');

    console.log(
      `[faults] resync of ${ROWS.toLocaleString('en')} rows (chunks of ${CHUNK}) in ${seconds(resyncMs)} ` +
        `(${Math.round(ROWS / (resyncMs / 1000)).toLocaleString('en')} rows/s, kill -9 and takeover included; ` +
        `${seen.items[0]?.ratePerSecond ?? '?'} rows/s shown before the kill), ` +
        `${atEnd - atStart} live changes while it ran (${produced.commits} in all at ~${RATE}/s); ` +
        `kill -9 at ${atKill.done.toLocaleString('en')} rows done, taken over ${seconds(resumed - killedAt)} later by ${takenBy}; ` +
        `${deliveries.length.toLocaleString('en')} deliveries: ${report.missing.length} rows missing, ` +
        `${report.stale.length} stale final states, ${report.wentBack.length} versions gone back, ` +
        `${report.repeatedRows} rows resynced twice (chunk ${CHUNK}), ${report.duplicates} deliveries repeated ` +
        `after the kill (batch ${BATCH})`,
    );
    expect(done).toMatchObject({ status: 'done' });
    expect(done.done).toBeGreaterThanOrEqual(ROWS);
    expect(shown.items[0]).toMatchObject({ id: started.id, status: 'done', percent: 100 });
    expect(atEnd - atStart).toBeGreaterThan(0);
    expect({
      missing: cut(report.missing),
      stale: cut(report.stale),
      wentBack: cut(report.wentBack),
    }).toEqual({ missing: [], stale: [], wentBack: [] });
    expect(report.resyncTasks).toBe(ROWS);
    expect(report.repeatedRows).toBeLessThanOrEqual(CHUNK);
    expect(report.duplicates).toBeLessThanOrEqual(BATCH);
    expect(cluster.unexpectedExits()).toEqual([]);
  }, 600_000);
});
