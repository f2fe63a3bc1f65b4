import { afterEach, describe, expect, it } from 'vitest';
import {
  Connector,
  BaseIntegrationConnector,
  IntegrationProcessResult,
  InvalidConnectorError,
  type OutgoingTask,
} from 'nestjs-integration-bus';
import { createBusApp, withBusApp, type BusTestApp } from '../support/bus-app.js';
import { User } from '../support/entities.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';
import { listen } from '../management/http-client.js';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';

const R = IntegrationProcessResult;
const MANUAL = { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } };
const log: CallLog = [];
afterEach(() => {
  log.length = 0;
});

/** Creates users `names`, then renames each `versions - 1` times, one transaction per change. */
async function createAndChange(t: BusTestApp, names: string[], versions: number): Promise<void> {
  const em = t.em();
  const users = names.map((userName) => em.create(User, { userName, email: `${userName}@v1` }));
  await em.flush();
  for (let v = 2; v <= versions; v++) {
    for (const user of users) user.email = `${user.userName}@v${v}`;
    await em.flush();
  }
}

function emailOf(task: OutgoingTask): string {
  return (task.object as User).email ?? '';
}

/** The versions each user's changes arrived in, by user name. */
function versionsByUser(calls: CallLog): Map<string, number[]> {
  const byUser = new Map<string, number[]>();
  for (const call of calls) {
    const [name, version] = emailOf(call.task).split('@v');
    byUser.set(name!, [...(byUser.get(name!) ?? []), Number(version)]);
  }
  return byUser;
}

/** Declares a connector class with `options`, as `@Connector` runs when a module is loaded. */
function declare(options: object) {
  @Connector('Bad', options)
  class Bad extends BaseIntegrationConnector {}
  return Bad;
}

describe('ordering: object (R-ORD-1)', () => {
  it('an Error holds only that object’s later tasks; the other objects flow, and the object resumes in order', async () => {
    const c = recordingConnector('PerObject', [{ objectType: 'cms.user' }], log, {
      ordering: 'object',
      partitions: 4,
      retry: { initialDelayMs: 60_000, jitter: false },
    });
    let failing = true;
    c.control.respond = (task) => (failing && emailOf(task).startsWith('bad@') ? R.Error : R.OK);
    await withBusApp({ providers: [c.provider], bus: MANUAL }, async (t) => {
      await createAndChange(t, ['bad', 'a', 'b', 'c'], 3);
      await t.bus.processOutgoingTasks('PerObject');
      const first = versionsByUser(log);
      // bad@v1 failed: its v2 and v3 wait; every other object went through, in order.
      expect(first.get('bad')).toEqual([1]);
      for (const name of ['a', 'b', 'c']) expect(first.get(name)).toEqual([1, 2, 3]);
      const states = await t.sql<{ state: string | null; n: number }>(
        `select state, count(*)::int as n from ${ALL_SYNCHRONIZATIONS_SQL} s group by state order by state`,
      );
      expect(states).toEqual([
        { state: 'failed', n: 1 },
        { state: null, n: 2 },
      ]);

      // The retry is an hour away: nothing moves. Then the external system is back and the retry due.
      log.length = 0;
      await t.bus.processOutgoingTasks('PerObject');
      expect(log).toEqual([]);
      failing = false;
      await t.sql(`update integration_synchronization set next_attempt_at = now() where state = 'failed'`);
      await t.bus.processOutgoingTasks('PerObject');
      expect(versionsByUser(log).get('bad')).toEqual([1, 2, 3]);
      expect(await t.sql(`select count(*)::int as n from ${ALL_SYNCHRONIZATIONS_SQL} s`)).toEqual([{ n: 0 }]);
    });
  });

  it('lays each object’s tasks out in one partition, the objects spread over the partitions', async () => {
    const c = recordingConnector('Spread', [{ objectType: 'cms.user' }], log, {
      ordering: 'object',
      partitions: 8,
    });
    await withBusApp({ providers: [c.provider], bus: MANUAL }, async (t) => {
      await createAndChange(
        t,
        Array.from({ length: 40 }, (_, i) => `u${i}`),
        2,
      );
      const rows = await t.sql<{ objectId: string; partitions: number[]; hashes: number }>(
        `select t.object_id as "objectId", array_agg(distinct s.partition order by s.partition) as partitions,
                count(distinct s.object_hash)::int as hashes
           from ${ALL_SYNCHRONIZATIONS_SQL} s join integration_task t on t.id = s.task_id
          group by t.object_id`,
      );
      expect(rows).toHaveLength(40);
      for (const row of rows) {
        expect(row.partitions).toHaveLength(1);
        expect(row.partitions[0]).toBeGreaterThanOrEqual(1);
        expect(row.partitions[0]).toBeLessThanOrEqual(8);
        expect(row.hashes).toBe(1);
      }
      const used = new Set(rows.map((r) => r.partitions[0]));
      expect(used.size).toBeGreaterThanOrEqual(6);
      expect(
        await t.sql(`select partition from integration_partition_lease order by partition`),
      ).toHaveLength(8);
    });
  });

  it('runs up to `concurrency` partitions at once and keeps each object’s order', async () => {
    const c = recordingConnector('Concurrent', [{ objectType: 'cms.user' }], log, {
      ordering: 'object',
      partitions: 8,
      concurrency: 3,
    });
    let running = 0;
    let mostAtOnce = 0;
    c.control.respond = async () => {
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      await new Promise((resolve) => setTimeout(resolve, 3));
      running -= 1;
      return R.OK;
    };
    await withBusApp({ providers: [c.provider], bus: { ...MANUAL, batchSize: 5 } }, async (t) => {
      await createAndChange(
        t,
        Array.from({ length: 30 }, (_, i) => `w${i}`),
        4,
      );
      const counts = await t.bus.processOutgoingTasks('Concurrent');
      expect(counts.OK).toBe(120);
      console.log(`[ordering] at most ${mostAtOnce} partitions called at once (concurrency 3)`);
      expect(mostAtOnce).toBe(3);
      for (const versions of versionsByUser(log).values()) expect(versions).toEqual([1, 2, 3, 4]);
    });
  });

  it('shares the partitions between two instances: each delivers some, every task once, each object in order', async () => {
    const c = recordingConnector('Shared', [{ objectType: 'cms.user' }], log, {
      ordering: 'object',
      partitions: 8,
      concurrency: 8,
    });
    c.control.respond = async () => {
      await new Promise((resolve) => setTimeout(resolve, 2));
      return R.OK;
    };
    await withBusApp(
      { providers: [c.provider], bus: { ...MANUAL, batchSize: 5, leaseMs: 3000 } },
      async (t) => {
        const url = t.orm.config.get('clientUrl') as string;
        const second = await createBusApp({
          databaseUrl: url,
          providers: [c.provider],
          bus: { ...MANUAL, batchSize: 5, leaseMs: 3000 },
          migrate: false,
        });
        try {
          await createAndChange(
            t,
            Array.from({ length: 40 }, (_, i) => `s${i}`),
            3,
          );
          // Each instance counts the other once it has beaten; both then hold half of the partitions.
          await new Promise((resolve) => setTimeout(resolve, 1100));
          const results = await Promise.all(
            [t, second].map(async (app) => (await app.bus.processOutgoingTasks('Shared')).OK),
          );
          // Whatever was left behind a partition the other one held is taken by a second pass.
          const rest = await t.bus.processOutgoingTasks('Shared');
          console.log(
            `[ordering] two instances delivered ${results.join(' + ')} (+ ${rest.OK} on a second pass) of 120`,
          );
          expect(results[0]! + results[1]! + rest.OK).toBe(120);
          expect(results[0]).toBeGreaterThan(0);
          expect(results[1]).toBeGreaterThan(0);
          expect(log).toHaveLength(120);
          for (const versions of versionsByUser(log).values()) expect(versions).toEqual([1, 2, 3]);
        } finally {
          await second.close();
        }
      },
    );
  });

  it('re-partitions queued tasks when a connector changes to ordering: object, keeping their order', async () => {
    const before = recordingConnector('Switch', [{ objectType: 'cms.user' }], log);
    const after = recordingConnector('Switch', [{ objectType: 'cms.user' }], log, {
      ordering: 'object',
      partitions: 4,
    });
    await withBusApp({ providers: [before.provider], bus: MANUAL }, async (t) => {
      await createAndChange(t, ['r1', 'r2', 'r3'], 3);
      expect(
        await t.sql(`select count(*)::int as n from ${ALL_SYNCHRONIZATIONS_SQL} s where partition = 0`),
      ).toEqual([{ n: 9 }]);
      const url = t.orm.config.get('clientUrl') as string;
      const restarted = await createBusApp({
        databaseUrl: url,
        providers: [after.provider],
        bus: MANUAL,
        migrate: false,
      });
      try {
        expect(
          await t.sql(
            `select count(*)::int as n from ${ALL_SYNCHRONIZATIONS_SQL} s where partition between 1 and 4`,
          ),
        ).toEqual([{ n: 9 }]);
        await restarted.bus.processOutgoingTasks('Switch');
        for (const versions of versionsByUser(log).values()) expect(versions).toEqual([1, 2, 3]);
        expect(log).toHaveLength(9);
      } finally {
        await restarted.close();
      }
    });
  });

  it('the API shows the partitions, who holds each, the objects a failed task blocks, and what waits behind it', async () => {
    const c = recordingConnector('Shown', [{ objectType: 'cms.user' }], log, {
      ordering: 'object',
      partitions: 4,
      concurrency: 2,
      retry: { initialDelayMs: 60_000, jitter: false },
    });
    const plain = recordingConnector('Plain', [{ objectType: 'cms.role' }], log);
    c.control.respond = (task) =>
      emailOf(task).startsWith('stuck@') ? { result: R.Error, errorMessage: 'CRM said no' } : R.OK;
    await withBusApp(
      { providers: [c.provider, plain.provider], bus: { ...MANUAL, http: { adminToken: 'admin-token' } } },
      async (t) => {
        const client = await listen(t.app, 'admin-token');
        await createAndChange(t, ['stuck', 'free'], 3);
        await t.bus.processOutgoingTasks('Shown');
        const res = await client.request('GET', '/integration/connectors/Shown/partitions');
        expect(res.status).toBe(200);
        const [stuck] = await t.sql<{ id: number; partition: number }>(
          `select t.id::int, s.partition from integration_task t join ${ALL_SYNCHRONIZATIONS_SQL} s on s.task_id = t.id
            where t.title like '%stuck%' order by t.id limit 1`,
        );
        expect(res.body).toMatchObject({
          codeName: 'Shown',
          ordering: 'object',
          concurrency: 2,
          liveInstances: 1,
          blockedObjects: [
            {
              objectType: 'cms.user',
              partition: stuck!.partition,
              taskId: stuck!.id,
              errorMessage: 'CRM said no',
              waiting: 2,
            },
          ],
        });
        expect(res.body.partitions.map((p: { partition: number }) => p.partition)).toEqual([1, 2, 3, 4]);
        const mine = res.body.partitions.find((p: { partition: number }) => p.partition === stuck!.partition);
        expect(mine).toMatchObject({ queued: 3, blockedObjects: 1, heldBy: null });

        // The list shows the stuck object's later tasks waiting behind its failed one, not the connector's.
        const list = await client.request('GET', '/integration/tasks?connectorName=Shown');
        expect(list.body.items.map((i: { blockedBy: number | null }) => i.blockedBy)).toEqual([
          null,
          stuck!.id,
          stuck!.id,
        ]);

        // A connector with one FIFO shows its queue as partition 0; an unknown one is a 404.
        const one = await client.request('GET', '/integration/connectors/Plain/partitions');
        expect(one.body).toMatchObject({ ordering: 'connector', partitions: [{ partition: 0, queued: 0 }] });
        expect((await client.request('GET', '/integration/connectors/Nope/partitions')).status).toBe(404);
        const connectors = await client.request('GET', '/integration/connectors');
        expect(connectors.body).toEqual([
          expect.objectContaining({ codeName: 'Plain', ordering: 'connector', partitions: 1 }),
          expect.objectContaining({ codeName: 'Shown', ordering: 'object', partitions: 4 }),
        ]);
      },
    );
  });

  it('bulk synchronize of selected tasks holds back only the failed object’s later tasks (R-ORD-1)', async () => {
    const c = recordingConnector('BulkObject', [{ objectType: 'cms.user' }], log, {
      ordering: 'object',
      partitions: 4,
      retry: { initialDelayMs: 60_000, jitter: false },
    });
    c.control.respond = (task) => (emailOf(task).startsWith('bad@') ? R.Error : R.OK);
    await withBusApp(
      { providers: [c.provider], bus: { ...MANUAL, http: { adminToken: 'admin-token' } } },
      async (t) => {
        const client = await listen(t.app, 'admin-token');
        await createAndChange(t, ['bad', 'good', 'fine'], 2);
        const ids = (await t.sql<{ id: number }>(`select id::int from integration_task order by id`)).map(
          (r) => r.id,
        );
        const res = await client.request('POST', '/integration/tasks/synchronize', {
          body: { direction: 'outgoing', connectorName: 'BulkObject', ids },
        });
        expect(res.status).toBe(200);
        // bad@v1 failed: its v2 is held back; the other objects' changes all went, in order.
        const delivered = versionsByUser(log);
        expect(delivered.get('bad')).toEqual([1]);
        expect(delivered.get('good')).toEqual([1, 2]);
        expect(delivered.get('fine')).toEqual([1, 2]);
        expect(res.body).toMatchObject({ results: { OK: 4, ERROR: 1 }, skipped: 1 });
      },
    );
  });

  it('rejects ordering options that cannot work, naming the connector and the option', () => {
    expect(() => declare({ ordering: 'row' })).toThrow(InvalidConnectorError);
    expect(() => declare({ ordering: 'row' })).toThrow(/ordering must be 'connector' or 'object'/);
    expect(() => declare({ partitions: 4 })).toThrow(/apply only with ordering: 'object'/);
    expect(() => declare({ ordering: 'object', partitions: 0 })).toThrow(
      /@Connector\('Bad'\): partitions must be/,
    );
    expect(() => declare({ ordering: 'object', concurrency: 1.5 })).toThrow(/concurrency must be/);
  });
});
