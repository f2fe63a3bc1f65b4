import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { IntegrationEvents, ResyncConflictError, type IntegrationTaskEvent } from 'nestjs-integration-bus';
import { createBusApp, type BusTestApp } from '../support/bus-app.js';
import { createTestDatabase } from '../support/database.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';
import { MANUAL, seedCounters, settled } from './resync-support.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** The shortest lease: a stopped runner's resync is taken over within a second or so. */
const BUS = { ...MANUAL, leaseMs: 1000 };

let db: { url: string; drop: () => Promise<void> };
beforeAll(async () => {
  db = await createTestDatabase(inject('serverUrl'));
});
afterAll(async () => {
  await db?.drop();
});

/** An instance of the application with connector Erp on the shared database. */
async function instance(log: CallLog, migrate = false): Promise<BusTestApp> {
  const erp = recordingConnector('Erp', [{ objectType: 'test.counter' }], log);
  return createBusApp({ databaseUrl: db.url, providers: [erp.provider], bus: BUS, migrate });
}

/** Calls `during` inside the transaction of every chunk (at its first task), with the chunk's number. */
function onEachChunk(t: BusTestApp, chunkSize: number, during: (chunk: number) => Promise<void>): () => void {
  let tasks = 0;
  const listener = async (event: IntegrationTaskEvent) => {
    if (!event.task.title.startsWith('Resync')) return;
    if (tasks++ % chunkSize === 0) await during(Math.floor((tasks - 1) / chunkSize) + 1);
  };
  const emitter = t.app.get(EventEmitter2);
  emitter.on(IntegrationEvents.LogInternalTask.Before, listener);
  return () => emitter.off(IntegrationEvents.LogInternalTask.Before, listener);
}

/** How many resync tasks each counter has in the queue. */
async function resyncTaskCounts(t: BusTestApp): Promise<Map<number, number>> {
  const rows = await t.sql<{ id: number; n: number }>(
    `select object_id::int as id, count(*)::int as n from integration_task
      where title like 'Resync%' group by object_id`,
  );
  return new Map(rows.map((r) => [r.id, r.n]));
}

async function reset(t: BusTestApp): Promise<void> {
  await t.sql(`delete from integration_task`);
  await t.sql(`delete from integration_resync`);
}

describe('resync position, takeover, cancel (R-RES-1)', () => {
  let a: BusTestApp;
  const logA: CallLog = [];
  beforeAll(async () => {
    a = await instance(logA, true);
    await seedCounters(a, 400);
  });
  afterAll(async () => {
    await a?.close();
  });

  it('R-RES-1 a restart goes on from the stored position: another instance takes the resync over and every row gets one task', async () => {
    await reset(a);
    const first = await instance([]);
    const stop = onEachChunk(first, 20, async (chunk) => {
      if (chunk >= 3) await sleep(50); // slow enough to be stopped half-way
    });
    const started = await first.bus.resync('Erp', { objectType: 'test.counter', chunkSize: 20 });
    while ((await first.bus.getResync(started.id)).chunks < 5) await sleep(20);
    stop();
    // Shutdown stops the run after its chunk under way and gives the lease back.
    await first.close();
    const left = await a.bus.getResync(started.id);
    expect(left).toMatchObject({ status: 'running', runningOn: null });
    expect(left.done).toBeGreaterThanOrEqual(100);
    expect(left.done).toBeLessThan(400);

    // Instance a was up all along: it takes the resync over at its next look.
    const done = await settled(a.bus, started.id, 10_000);
    expect(done).toMatchObject({ status: 'done', done: 400, total: 400 });
    const counts = await resyncTaskCounts(a);
    expect(counts.size).toBe(400);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  });

  it('R-RES-1 R-DEL-2 a runner paused past its lease commits nothing once another instance took over; the rows are logged once', async () => {
    await reset(a);
    const paused = await instance([]);
    let resume!: () => void;
    const resumed = new Promise<void>((resolve) => (resume = resolve));
    const state = { hung: false };
    onEachChunk(paused, 25, async (chunk) => {
      if (chunk !== 4) return;
      state.hung = true;
      await resumed;
    });
    try {
      const started = await paused.bus.resync('Erp', { objectType: 'test.counter', chunkSize: 25 });
      while (!state.hung) await sleep(10);
      // Paused past the idle limit (half a lease): PostgreSQL ends its session and its locks.
      await sleep(1200);
      // As if the runner had stopped answering: its lease runs out and another instance claims it.
      await a.sql(
        `update integration_resync set lease_owner = 'frozen-instance', lease_until = now() - interval '1 second' where id = $1`,
        [started.id],
      );
      const done = await settled(a.bus, started.id, 10_000);
      expect(done).toMatchObject({ status: 'done', done: 400 });
      resume(); // the paused chunk goes on, and finds its fence gone
      await sleep(500);
      const counts = await resyncTaskCounts(a);
      expect(counts.size).toBe(400);
      expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
    } finally {
      resume();
      await paused.close();
    }
  });

  it('R-RES-1 a chunk cut off mid-way (its connection killed) rolls back whole; the run goes on from the stored position', async () => {
    await reset(a);
    let killed = false;
    const stop = onEachChunk(a, 30, async (chunk) => {
      if (chunk !== 3 || killed) return;
      killed = true;
      await a.sql(
        `select pg_terminate_backend(pid) from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid() and state = 'idle in transaction'`,
      );
    });
    try {
      const started = await a.bus.resync('Erp', { objectType: 'test.counter', chunkSize: 30 });
      expect(await settled(a.bus, started.id, 15_000)).toMatchObject({ status: 'done', done: 400 });
      expect(killed).toBe(true);
      const counts = await resyncTaskCounts(a);
      expect(counts.size).toBe(400);
      expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
    } finally {
      stop();
    }
  });

  it('R-RES-1 a resync is cancellable: the chunk under way rolls back, the chunks done stay queued, and a new one may start', async () => {
    await reset(a);
    // The resync may see the cancel and end before the call's own answer comes back: keep the call.
    let cancelling: Promise<unknown> | undefined;
    // Chunk 5 waits until the second start below was refused: a fast resync would otherwise be
    // cancelled, and over, before it is asked.
    let conflictAsked!: () => void;
    const asked = new Promise<void>((resolve) => (conflictAsked = resolve));
    const stop = onEachChunk(a, 10, async (chunk) => {
      if (chunk === 5) {
        await asked;
        cancelling = a.bus.cancelResync('Erp', 'test.counter');
        await cancelling;
      }
    });
    try {
      const started = await a.bus.resync('Erp', { objectType: 'test.counter', chunkSize: 10 });
      try {
        await expect(a.bus.resync('Erp', { objectType: 'test.counter' })).rejects.toBeInstanceOf(
          ResyncConflictError,
        );
      } finally {
        conflictAsked();
      }
      const ended = await settled(a.bus, started.id);
      expect(cancelling).toBeDefined();
      await cancelling;
      // Cancelled while chunk 5 was logged; chunk 4 may still have been under way beside it (two
      // chunks run at once), and then rolls back too. What committed is a prefix, every row once.
      expect(ended.status).toBe('cancelled');
      expect([30, 40]).toContain(ended.done);
      expect(ended.finishedAt).not.toBeNull();
      await sleep(300);
      const counts = await resyncTaskCounts(a);
      expect([...counts.keys()].sort((x, y) => x - y)).toEqual(
        Array.from({ length: ended.done }, (_, i) => i + 1),
      );
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
    } finally {
      stop();
    }
    const again = await a.bus.resync('Erp', { objectType: 'test.counter', where: { id: { $gt: 390 } } });
    expect(await settled(a.bus, again.id)).toMatchObject({ status: 'done', done: 10 });
  });

  it('R-RES-1 progress: rows done of total, a rate and an ETA while it runs', async () => {
    await reset(a);
    const stop = onEachChunk(a, 20, () => sleep(40));
    try {
      const started = await a.bus.resync('Erp', { objectType: 'test.counter', chunkSize: 20 });
      expect(started).toMatchObject({ status: 'running', done: 0, total: 400, percent: 0, etaSeconds: null });
      let progress = started;
      while (progress.chunks < 6) {
        await sleep(30);
        progress = await a.bus.getResync(started.id);
      }
      expect(progress.status).toBe('running');
      expect(progress.done).toBeGreaterThan(0);
      expect(progress.done).toBeLessThan(400);
      expect(progress.percent).toBeCloseTo((100 * progress.done) / 400, 0);
      expect(progress.ratePerSecond).toBeGreaterThan(50);
      expect(progress.ratePerSecond).toBeLessThan(10_000); // an early estimate over few chunks, two of them at once
      expect(progress.etaSeconds).toBeGreaterThan(0);
      expect(progress.runningOn).toMatch(/:/);
      const done = await settled(a.bus, started.id);
      expect(done).toMatchObject({ status: 'done', percent: 100, etaSeconds: null, runningOn: null });
      const listed = await a.bus.getResyncs('Erp');
      expect(listed[0]).toMatchObject({ id: started.id, status: 'done' });
    } finally {
      stop();
    }
  });
});
