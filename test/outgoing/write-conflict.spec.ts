import { describe, expect, inject, it } from 'vitest';
import { Pool } from 'pg';
import { IntegrationProcessResult, TaskProcessType } from 'nestjs-integration-bus';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';
import { createBusApp, withBusApp, type BusTestApp } from '../support/bus-app.js';
import { createTestDatabase } from '../support/database.js';
import { Role } from '../support/entities.js';
import { eventually, recordingConnector, type CallLog } from '../support/recording-connector.js';

const log: CallLog = [];
const NAMES = ['North', 'East', 'South', 'West'];
const connectors = NAMES.map((name) =>
  recordingConnector(name, [{ objectType: 'cms.role', processType: TaskProcessType.AsyncSimple }], log),
);

/** Tasks delivered more than once to the same connector, as `connector:taskId`. */
function repeats(calls: CallLog): string[] {
  const seen = new Set<string>();
  const twice: string[] = [];
  for (const call of calls) {
    const key = `${call.connector}:${call.task.id}`;
    if (seen.has(key)) twice.push(key);
    seen.add(key);
  }
  return twice;
}

async function createRoles(app: BusTestApp, count: number, perFlush: number): Promise<void> {
  for (let i = 0; i < count; i += perFlush) {
    const em = app.em();
    for (let j = i; j < Math.min(count, i + perFlush); j++)
      em.create(Role, { id: j + 1, name: `role-${j + 1}` });
    await em.flush();
  }
}

/**
 * Deadlocks PostgreSQL has counted in the database (its own statistics), once every backend that
 * worked on it has ended: a backend's counts reach the shared statistics when it ends, at the latest.
 */
async function waitForDeadlockCount(stats: Pool): Promise<number> {
  await eventually(async () => {
    const { rows } = await stats.query<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`,
    );
    expect(rows[0]!.n).toBe(0);
  }, 10_000);
  await stats.query(`select pg_stat_clear_snapshot()`);
  const { rows } = await stats.query<{ n: string }>(
    `select deadlocks::text as n from pg_stat_database where datname = current_database()`,
  );
  return Number(rows[0]!.n);
}

describe('the bus’s own writes under contention (R-DEL-2: a fault-free run delivers nothing twice)', () => {
  it('four connectors finishing the same shared tasks in small concurrent batches: no deadlock, nothing delivered twice', async () => {
    log.length = 0;
    const db = await createTestDatabase(inject('serverUrl'));
    const stats = new Pool({ connectionString: db.url, max: 1 });
    try {
      const app = await createBusApp({
        databaseUrl: db.url,
        providers: connectors.map((c) => c.provider),
        bus: { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 }, batchSize: 7 },
      });
      const TASKS = 3000;
      let counts: Record<string, number>;
      let left: { tasks: number; synchronizations: number } | undefined;
      try {
        await createRoles(app, TASKS, 500);
        // The four drains run side by side on one pool, a write every seven tasks each: the same
        // shared tasks are finished, and rechecked, by several connectors at the same instant.
        counts = await app.bus.processOutgoingTasks();
        [left] = await app.sql<{ tasks: number; synchronizations: number }>(
          `select (select count(*)::int from integration_task) as tasks,
                  (select count(*)::int from ${ALL_SYNCHRONIZATIONS_SQL} s) as synchronizations`,
        );
      } finally {
        // Its connections end here, and a backend's statistics (its deadlocks) are written when it ends.
        await app.close();
      }
      const deadlocks = await waitForDeadlockCount(stats);
      console.log(
        `[write-conflict] ${TASKS} tasks shared by ${NAMES.length} connectors, batches of 7: ` +
          `${log.length} calls, ${repeats(log).length} repeated, ${deadlocks} deadlocks in PostgreSQL's statistics`,
      );
      expect(counts[IntegrationProcessResult.OK]).toBe(TASKS * NAMES.length);
      expect(repeats(log).slice(0, 5)).toEqual([]);
      expect(deadlocks).toBe(0);
      expect(left).toEqual({ tasks: 0, synchronizations: 0 });
    } finally {
      await stats.end();
      await db.drop();
    }
  }, 120_000);

  it('a deadlock reported on a batch’s write is written again, and no connector is called twice', async () => {
    log.length = 0;
    await withBusApp(
      {
        providers: connectors.slice(0, 2).map((c) => c.provider),
        bus: { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 }, batchSize: 5 },
      },
      async (app) => {
        await createRoles(app, 20, 20);
        // PostgreSQL's own deadlock answer, given by a trigger to the first two statements that delete
        // a synchronization row (a sequence is not rolled back with the victim, so it counts them).
        await app.sql(`create sequence conflict_shots`);
        await app.sql(
          `create function conflict_once() returns trigger language plpgsql as $$
           begin
             if nextval('conflict_shots') <= 2 then
               raise exception 'deadlock detected (injected)' using errcode = '40P01';
             end if;
             return old;
           end $$`,
        );
        await app.sql(
          `create trigger conflict_once before delete on integration_synchronization
             for each row execute function conflict_once()`,
        );
        const counts = await app.bus.processOutgoingTasks();
        const [shots] = await app.sql<{ n: string }>(`select last_value::text as n from conflict_shots`);
        expect(Number(shots!.n)).toBeGreaterThan(2); // both injected, then the writes went through
        expect(counts).toMatchObject({
          [IntegrationProcessResult.OK]: 40,
          [IntegrationProcessResult.Error]: 0,
        });
        expect(repeats(log)).toEqual([]);
        expect(log).toHaveLength(40);
        const [left] = await app.sql<{ n: number }>(`select count(*)::int as n from integration_task`);
        expect(left!.n).toBe(0);
      },
    );
  }, 60_000);
});
