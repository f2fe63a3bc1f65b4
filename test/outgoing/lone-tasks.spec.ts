import { afterEach, describe, expect, it } from 'vitest';
import { IntegrationProcessResult, type OutgoingTask } from 'nestjs-integration-bus';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';
import { withBusApp, type BusTestApp } from '../support/bus-app.js';
import { Role, User } from '../support/entities.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';

// One row per change (Migration20261201400000LoneTasks): a task queued for one connector holds its
// synchronization until an attempt fails; shared and incoming tasks keep a row per connector.

const R = IntegrationProcessResult;
const MANUAL = { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } };
const log: CallLog = [];
afterEach(() => {
  log.length = 0;
});

async function createUsers(t: BusTestApp, ...names: string[]): Promise<void> {
  const em = t.em();
  for (const userName of names) em.create(User, { userName, email: `${userName}@example.com` });
  await em.flush();
}

const nameOf = (task: OutgoingTask) => (task.object as User).userName;

/** Where each queued synchronization lives: on its task (`lone`) or in a row of its own. */
function layout(t: BusTestApp) {
  return t.sql<{ title: string; lone: boolean; state: string | null }>(
    `select t.title, s.id < 0 as lone, s.state
       from ${ALL_SYNCHRONIZATIONS_SQL} s join integration_task t on t.id = s.task_id order by t.id, s.connector_id`,
  );
}

describe('tasks queued for one connector (one row per change)', () => {
  it('a change for one connector writes the task alone; a change for two writes a row per connector', async () => {
    const only = recordingConnector('Only', [{ objectType: 'cms.user' }], log);
    const roles = recordingConnector('Roles', [{ objectType: 'cms.role' }], log);
    const both = recordingConnector('Both', [{ objectType: 'cms.role' }], log);
    await withBusApp(
      { providers: [only.provider, roles.provider, both.provider], bus: MANUAL },
      async (t) => {
        await createUsers(t, 'ann');
        const em = t.em();
        em.create(Role, { name: 'editor' });
        await em.flush();

        expect(await t.sql(`select count(*)::int as n from integration_synchronization`)).toEqual([{ n: 2 }]);
        expect(
          await t.sql(
            `select t.title, c.code_name from integration_task t join integration_connector c on c.id = t.connector_id`,
          ),
        ).toEqual([{ title: "Create User 'ann'", code_name: 'Only' }]);
        expect((await layout(t)).map((r) => r.lone)).toEqual([true, false, false]);

        await t.bus.processOutgoingTasks();
        expect(log.map((c) => c.connector).sort()).toEqual(['Both', 'Only', 'Roles']);
        expect(await t.sql(`select count(*)::int as n from integration_task`)).toEqual([{ n: 0 }]);
      },
    );
  });

  it('an Error gives the task a row with its state and log; it holds the later tasks, and all go in order', async () => {
    const c = recordingConnector('Erp', [{ objectType: 'cms.user' }], log, {
      retry: { initialDelayMs: 60_000, jitter: false },
    });
    await withBusApp({ providers: [c.provider], bus: MANUAL }, async (t) => {
      await createUsers(t, 'u1', 'u2', 'u3');
      c.control.respond = (task) => (nameOf(task) === 'u2' ? R.Error : R.OK);
      await t.bus.processOutgoingTasks('Erp');
      expect(log.map((x) => nameOf(x.task))).toEqual(['u1', 'u2']);
      expect(await layout(t)).toEqual([
        { title: "Create User 'u2'", lone: false, state: 'failed' },
        { title: "Create User 'u3'", lone: true, state: null },
      ]);
      expect(
        await t.sql(`select count(*)::int as n from integration_sync_log l
                       join integration_synchronization s on s.id = l.synchronization_id`),
      ).toEqual([{ n: 1 }]);

      // u3 waits behind u2 until u2's retry is due.
      await createUsers(t, 'u4');
      await t.bus.processOutgoingTasks('Erp');
      expect(log.map((x) => nameOf(x.task))).toEqual(['u1', 'u2']);

      c.control.respond = () => R.OK;
      await t.sql(`update integration_synchronization set next_attempt_at = now()`);
      await t.bus.processOutgoingTasks('Erp');
      expect(log.map((x) => nameOf(x.task))).toEqual(['u1', 'u2', 'u2', 'u3', 'u4']);
      expect(await layout(t)).toEqual([]);
      expect(await t.sql(`select count(*)::int as n from integration_task`)).toEqual([{ n: 0 }]);
    });
  });

  it('ErrorAndSkip and SkipNow keep the task with a row, while the next ones flow', async () => {
    const c = recordingConnector('Crm', [{ objectType: 'cms.user' }], log, {
      retry: { initialDelayMs: 60_000, jitter: false },
    });
    await withBusApp({ providers: [c.provider], bus: MANUAL }, async (t) => {
      await createUsers(t, 'a', 'b', 'c');
      c.control.respond = (task) => ({ a: R.ErrorAndSkip, b: R.SkipNow })[nameOf(task)] ?? R.OK;
      const counts = await t.bus.processOutgoingTasks('Crm');
      expect(counts).toMatchObject({ ERRORANDSKIP: 1, SKIPNOW: 1, OK: 1 });
      expect(await layout(t)).toEqual([
        { title: "Create User 'a'", lone: false, state: 'retrying' },
        { title: "Create User 'b'", lone: false, state: 'skipped' },
      ]);
    });
  });

  it('deleteTask and synchronizeTask act on a lone synchronization (the API’s tasks tests cover lists and details)', async () => {
    const c = recordingConnector('Erp', [{ objectType: 'cms.user' }], log);
    await withBusApp({ providers: [c.provider], bus: MANUAL }, async (t) => {
      await createUsers(t, 'kim', 'lee', 'max');
      const [kim, lee, max] = (
        await t.sql<{ id: string }>(`select id from integration_task order by id`)
      ).map((r) => Number(r.id));
      expect(await t.bus.deleteTask(kim!, 'Erp')).toBe(1);
      expect(await t.sql(`select id::int from integration_task order by id`)).toEqual([
        { id: lee },
        { id: max },
      ]);
      expect(await t.bus.synchronizeTask(max!, 'Erp')).toMatchObject({ OK: 1 });
      await t.bus.processOutgoingTasks('Erp');
      expect(log.map((x) => nameOf(x.task))).toEqual(['max', 'lee']);
      expect(await t.sql(`select count(*)::int as n from integration_task`)).toEqual([{ n: 0 }]);
    });
  });

  it('drains the same way without prepared statements (preparedStatements: false, for poolers)', async () => {
    const c = recordingConnector('Plain', [{ objectType: 'cms.user' }], log);
    await withBusApp(
      { providers: [c.provider], bus: { ...MANUAL, batchSize: 2, preparedStatements: false } },
      async (t) => {
        await createUsers(t, 'q1', 'q2', 'q3', 'q4', 'q5');
        c.control.respond = (task) => (nameOf(task) === 'q4' ? R.ErrorAndSkip : R.OK);
        expect(await t.bus.processOutgoingTasks('Plain')).toMatchObject({ OK: 4, ERRORANDSKIP: 1 });
        expect(log.map((x) => nameOf(x.task))).toEqual(['q1', 'q2', 'q3', 'q4', 'q5']);
        expect(await layout(t)).toEqual([{ title: "Create User 'q4'", lone: false, state: 'retrying' }]);
      },
    );
  });

  it('deleting a connector takes the tasks queued for it alone, and leaves the others', async () => {
    const gone = recordingConnector('Gone', [{ objectType: 'cms.user' }], log);
    await withBusApp({ providers: [gone.provider], bus: MANUAL }, async (t) => {
      await createUsers(t, 'x', 'y');
      await t.sql(
        `insert into integration_task (guid, title, task_type, object_type, is_inbound, data_type, process_type, data)
         values (gen_random_uuid(), 'unrelated', 'CREATEOBJ', 'cms.user', false, 'SIMPLE', 'ASYNCSIMPLE', '{}')`,
      );
      await t.sql(`delete from integration_connector where code_name = 'Gone'`);
      expect(await t.sql(`select title from integration_task`)).toEqual([{ title: 'unrelated' }]);
    });
  });
});
