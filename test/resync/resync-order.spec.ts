import { afterEach, describe, expect, it } from 'vitest';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { LockMode, type EntityManager } from '@mikro-orm/core';
import { IntegrationEvents, TaskType, type IntegrationTaskEvent } from 'nestjs-integration-bus';
import { withBusApp, type BusTestApp } from '../support/bus-app.js';
import { Counter } from '../support/entities.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';
import { MANUAL, seedCounters, settled } from './resync-support.js';

const log: CallLog = [];
afterEach(() => {
  log.length = 0;
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What the connector received for each counter, in delivery order: `v<version>` or `deleted`. */
function received(): Map<number, string[]> {
  const byId = new Map<number, string[]>();
  for (const { task } of log) {
    const counter = task.object as Counter;
    const what = task.taskType === TaskType.DeleteObject ? 'deleted' : `v${counter.version}`;
    const resync = task.title.startsWith('Resync') ? ' (resync)' : '';
    byId.set(counter.id, [...(byId.get(counter.id) ?? []), what + resync]);
  }
  return byId;
}

/** A transaction changing one counter through MikroORM (its task logged as any change's), held open until `release`. */
function heldChange(
  t: BusTestApp,
  id: number,
  change: (em: EntityManager, counter: Counter) => void,
): { flushed: Promise<void>; release: () => void; committed: Promise<void> } {
  let release!: () => void;
  let flushed!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const wasFlushed = new Promise<void>((resolve) => (flushed = resolve));
  const committed = t.em().transactional(async (em) => {
    const counter = await em.findOneOrFail(Counter, id, { lockMode: LockMode.PESSIMISTIC_WRITE });
    change(em, counter);
    await em.flush();
    flushed();
    await released;
  });
  return { flushed: wasFlushed, release, committed };
}

/** Runs `during` the first time the resync logs a task, inside the chunk's transaction (its rows locked). */
function insideFirstChunk(t: BusTestApp, during: () => Promise<void>): void {
  let done = false;
  t.app
    .get(EventEmitter2)
    .on(IntegrationEvents.LogInternalTask.Before, async (event: IntegrationTaskEvent) => {
      if (done || !event.task.title.startsWith('Resync')) return;
      done = true;
      await during();
    });
}

describe('a resync never overwrites a newer change (R-RES-2)', () => {
  it('R-RES-2 a change that writes a row after the chunk locked it waits, and reaches the connector after the resync snapshot', async () => {
    const erp = recordingConnector('Erp', [{ objectType: 'test.counter' }], log);
    await withBusApp({ providers: [erp.provider], bus: MANUAL }, async (t) => {
      await seedCounters(t, 10);
      let update: Promise<void> | undefined;
      let removal: Promise<void> | undefined;
      let settledDuringChunk: boolean | undefined;
      insideFirstChunk(t, async () => {
        // The chunk holds rows 1–10: these changes must wait for it to commit.
        update = t.em().transactional(async (em) => {
          const counter = await em.findOneOrFail(Counter, 3);
          counter.version += 1;
        });
        removal = t.em().transactional(async (em) => {
          em.remove(await em.findOneOrFail(Counter, 4));
        });
        let committed = false;
        void Promise.all([update, removal]).then(() => (committed = true));
        await sleep(500);
        settledDuringChunk = committed;
      });
      const started = await t.bus.resync('Erp', { objectType: 'test.counter' });
      expect(await settled(t.bus, started.id)).toMatchObject({ status: 'done', done: 10 });
      await Promise.all([update, removal]);
      expect(settledDuringChunk).toBe(false);

      await t.bus.processOutgoingTasks();
      const got = received();
      expect(got.get(3)).toEqual(['v1 (resync)', 'v2']);
      expect(got.get(4)).toEqual(['v1 (resync)', 'deleted']);
      expect(got.get(5)).toEqual(['v1 (resync)']);
    });
  });

  it('R-RES-2 a row a live change holds is not waited for in the chunk: it is read once the change committed, at its new version, after its task', async () => {
    const erp = recordingConnector('Erp', [{ objectType: 'test.counter' }], log);
    await withBusApp({ providers: [erp.provider], bus: MANUAL }, async (t) => {
      await seedCounters(t, 12, { tag: () => 'a' });
      const bumped = heldChange(t, 5, (_, c) => (c.version += 1));
      const removed = heldChange(t, 6, (em, c) => em.remove(c));
      const leaving = heldChange(t, 7, (_, c) => {
        c.version += 1;
        c.tag = 'b';
      });
      await Promise.all([bumped.flushed, removed.flushed, leaving.flushed]);

      const started = await t.bus.resync('Erp', {
        objectType: 'test.counter',
        where: { tag: 'a' },
        chunkSize: 100,
      });
      // The chunk went past the held rows without waiting: its position stops before the first one.
      let progress = await t.bus.getResync(started.id);
      const deadline = Date.now() + 5000;
      while (progress.done < 4 && Date.now() < deadline) {
        await sleep(20);
        progress = await t.bus.getResync(started.id);
      }
      expect(progress).toMatchObject({ status: 'running', done: 4 });
      expect(await t.sql(`select position from integration_resync where id = $1`, [started.id])).toEqual([
        { position: [4] },
      ]);
      // Rows past the held ones are logged already, in the chunk's transaction.
      expect(
        await t.sql(`select count(*)::int as n from integration_task where title like 'Resync%'`),
      ).toEqual([{ n: 9 }]);

      for (const held of [bumped, removed, leaving]) held.release();
      await Promise.all([bumped.committed, removed.committed, leaving.committed]);
      expect(await settled(t.bus, started.id)).toMatchObject({ status: 'done', done: 12 });

      await t.bus.processOutgoingTasks();
      const got = received();
      expect(got.get(5)).toEqual(['v2', 'v2 (resync)']); // read after the change, at its version
      expect(got.get(6)).toEqual(['deleted']); // gone before it was read: no resync task
      expect(got.get(7)).toEqual(['v2']); // out of the filter by then: its own update carries it
      expect(got.get(8)).toEqual(['v1 (resync)']);
      expect([...got.keys()].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    });
  });

  it('R-RES-2 under concurrent live updates: every row received, no version goes back, the last one is the final one, and no deadlock', async () => {
    const erp = recordingConnector('Erp', [{ objectType: 'test.counter' }], log);
    await withBusApp({ providers: [erp.provider], bus: MANUAL }, async (t) => {
      const ROWS = 3000;
      await seedCounters(t, ROWS);
      const [before] = await t.sql<{ deadlocks: number }>(
        `select deadlocks::int from pg_stat_database where datname = current_database()`,
      );
      const traffic = { running: true };
      let commits = 0;
      // Live traffic: transactions changing 1 to 3 random rows, highest id first (against the chunk's order).
      const lane = async () => {
        while (traffic.running) {
          const ids = [
            ...new Set(
              Array.from(
                { length: 1 + Math.floor(Math.random() * 3) },
                () => 1 + Math.floor(Math.random() * ROWS),
              ),
            ),
          ];
          ids.sort((a, b) => b - a);
          await t.em().transactional(async (em) => {
            for (const id of ids) {
              const counter = await em.findOneOrFail(Counter, id, { lockMode: LockMode.PESSIMISTIC_WRITE });
              counter.version += 1;
              await em.flush();
            }
          });
          commits += ids.length;
        }
      };
      const lanes = Array.from({ length: 4 }, lane);
      const started = await t.bus.resync('Erp', { objectType: 'test.counter', chunkSize: 100 });
      const done = await settled(t.bus, started.id, 60_000);
      traffic.running = false;
      await Promise.all(lanes);
      expect(done).toMatchObject({ status: 'done', done: ROWS });
      expect(commits).toBeGreaterThan(50);

      await t.bus.processOutgoingTasks();
      const final = new Map(
        (await t.sql<{ id: number; version: number }>(`select id, version from t_counter`)).map((r) => [
          r.id,
          r.version,
        ]),
      );
      const versions = new Map<number, number[]>();
      for (const { task } of log) {
        const c = task.object as Counter;
        versions.set(c.id, [...(versions.get(c.id) ?? []), c.version]);
      }
      const missing = [...final.keys()].filter((id) => !versions.has(id));
      const wentBack = [...versions].filter(([, vs]) => vs.some((v, i) => i > 0 && v < vs[i - 1]!));
      const stale = [...final].filter(([id, v]) => versions.get(id)?.at(-1) !== v);
      console.log(
        `[resync] ${ROWS} rows resynced under ${commits} live changes: ${log.length} deliveries, ` +
          `${missing.length} rows missing, ${wentBack.length} went back, ${stale.length} stale final states`,
      );
      expect({ missing, wentBack, stale }).toEqual({ missing: [], wentBack: [], stale: [] });
      const [after] = await t.sql<{ deadlocks: number }>(
        `select deadlocks::int from pg_stat_database where datname = current_database()`,
      );
      expect(after!.deadlocks - before!.deadlocks).toBe(0);
    });
  }, 120_000);
});
