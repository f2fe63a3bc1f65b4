import { MikroORM } from '@mikro-orm/core';
import { describe, expect, inject, it } from 'vitest';
import { createBusApp, testOrmOptions } from '../support/bus-app.js';
import { createTestDatabase } from '../support/database.js';
import { User } from '../support/entities.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';

const log: CallLog = [];
const upgraded = recordingConnector('Upgraded', [{ objectType: 'cms.user' }], log);

/** The last migration before the delivery state (R-DEL-2, R-DEL-5..7) was added. */
const PREVIOUS = 'Migration20261126000000_TaskListIndexes';

describe('upgrading a database with a queue from the previous schema', () => {
  it('keeps queued, failed and postponed tasks, and drains them in order with their states', async () => {
    const db = await createTestDatabase(inject('serverUrl'));
    try {
      const old = await MikroORM.init({ ...testOrmOptions(db.url), logger: () => undefined });
      await old.migrator.up({ to: PREVIOUS });
      // What the previous version left: a waiting task, one that failed twice, one a connector put
      // off with a message (SkipNow), and another waiting one.
      await old.em.getConnection().execute(`
        insert into integration_connector (code_name, display_name, class_name) values ('Upgraded', 'Upgraded', 'UpgradedConnector');
        with t as (
          insert into integration_task (guid, title, task_type, object_type, object_id, data_type, process_type, data)
          select gen_random_uuid(), 'Update cms.user u' || i, 'UPDATEOBJ', 'cms.user', i::text, 'SIMPLE', 'ASYNCSIMPLE',
                 jsonb_build_object('entity', 'User', 'fields', jsonb_build_object('id', i, 'userName', 'u' || i),
                                    'translations', '[]'::jsonb, 'children', '{}'::jsonb)
            from generate_series(1, 4) as g(i) order by i
          returning id, object_id)
        insert into integration_synchronization (task_id, connector_id, attempts, error_message)
        select t.id, c.id,
               case t.object_id when '2' then 2 else 0 end,
               case t.object_id when '2' then 'CRM was down' when '3' then 'account not open yet' end
          from t, integration_connector c;`);
      await old.close(true);

      const app = await createBusApp({
        databaseUrl: db.url,
        providers: [upgraded.provider],
        bus: { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } },
      });
      try {
        expect(
          await app.sql(
            `select t.object_id, s.state, s.attempts, s.failures, s.error_message
               from ${ALL_SYNCHRONIZATIONS_SQL} s join integration_task t on t.id = s.task_id order by t.id`,
          ),
        ).toEqual([
          { object_id: '1', state: null, attempts: 0, failures: 0, error_message: null },
          { object_id: '2', state: 'failed', attempts: 2, failures: 2, error_message: 'CRM was down' },
          { object_id: '3', state: null, attempts: 0, failures: 0, error_message: 'account not open yet' },
          { object_id: '4', state: null, attempts: 0, failures: 0, error_message: null },
        ]);
        // A change logged after the upgrade is its task alone (no synchronization row), queued
        // behind the rows the previous version left.
        const em = app.em();
        em.create(User, { userName: 'u5', email: 'u5@example.com' });
        await em.flush();
        expect(
          await app.sql(`select count(*)::int as n from integration_task where connector_id is not null`),
        ).toEqual([{ n: 1 }]);
        expect(await app.bus.processOutgoingTasks('Upgraded')).toMatchObject({ OK: 5 });
        expect(log.map((call) => (call.task.object as User).userName)).toEqual([
          'u1',
          'u2',
          'u3',
          'u4',
          'u5',
        ]);
        expect(log[1]!.task.attempt).toBe(3);
      } finally {
        await app.close();
      }
    } finally {
      await db.drop();
    }
  });
});

/** The last migration before ordering per object (SPEC §12) was added. */
const BEFORE_PARTITIONS = 'Migration20261201000000_DeliveryState';
const perObject = recordingConnector('PerObject', [{ objectType: 'cms.user' }], log, {
  ordering: 'object',
  partitions: 4,
});

describe('upgrading a database with a queue from the schema before partitions', () => {
  it('keeps waiting, failed and skipped tasks; an ordering: object connector re-partitions them and drains each object in order', async () => {
    log.length = 0;
    const db = await createTestDatabase(inject('serverUrl'));
    try {
      const old = await MikroORM.init({ ...testOrmOptions(db.url), logger: () => undefined });
      await old.migrator.up({ to: BEFORE_PARTITIONS });
      // Two changes each of users 1..3: user 1's first change failed (its retry is due), user 2's
      // first was skipped with a message; user 3's are waiting.
      await old.em.getConnection().execute(`
        insert into integration_connector (code_name, display_name, class_name) values ('PerObject', 'PerObject', 'PerObjectConnector');
        with t as (
          insert into integration_task (guid, title, task_type, object_type, object_id, data_type, process_type, data)
          select gen_random_uuid(), 'Update cms.user u' || u || ' v' || v, 'UPDATEOBJ', 'cms.user', u::text, 'SIMPLE',
                 'ASYNCSIMPLE',
                 jsonb_build_object('entity', 'User', 'fields',
                                    jsonb_build_object('id', u, 'userName', 'u' || u, 'email', 'u' || u || '@v' || v),
                                    'translations', '[]'::jsonb, 'children', '{}'::jsonb)
            from generate_series(1, 2) as gv(v), generate_series(1, 3) as gu(u) order by v, u
          returning id, object_id, title)
        insert into integration_synchronization (task_id, connector_id, attempts, failures, state, error_message, next_attempt_at)
        select t.id, c.id,
               case when t.title like '%u1 v1' or t.title like '%u2 v1' then 1 else 0 end,
               case when t.title like '%u1 v1' then 1 else 0 end,
               case when t.title like '%u1 v1' then 'failed' when t.title like '%u2 v1' then 'skipped' end,
               case when t.title like '%u1 v1' then 'CRM was down' when t.title like '%u2 v1' then 'not yet' end,
               case when t.title like '%u1 v1' or t.title like '%u2 v1' then now() - interval '1 second' end
          from t, integration_connector c;`);
      await old.close(true);

      const app = await createBusApp({
        databaseUrl: db.url,
        providers: [perObject.provider],
        bus: { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } },
      });
      try {
        const rows = await app.sql<{ object_id: string; state: string | null; partition: number }>(
          `select t.object_id, s.state, s.partition from ${ALL_SYNCHRONIZATIONS_SQL} s
             join integration_task t on t.id = s.task_id order by t.id`,
        );
        expect(rows.map((r) => [r.object_id, r.state])).toEqual([
          ['1', 'failed'],
          ['2', 'skipped'],
          ['3', null],
          ['1', null],
          ['2', null],
          ['3', null],
        ]);
        for (const row of rows) {
          expect(row.partition).toBe(rows.find((r) => r.object_id === row.object_id)!.partition);
          expect(row.partition).toBeGreaterThanOrEqual(1);
        }
        expect(await app.bus.processOutgoingTasks('PerObject')).toMatchObject({ OK: 6 });
        const emails = log.map((call) => (call.task.object as User).email ?? '');
        for (const user of ['u1', 'u2', 'u3']) {
          expect(emails.filter((e) => e.startsWith(`${user}@`))).toEqual([`${user}@v1`, `${user}@v2`]);
        }
      } finally {
        await app.close();
      }
    } finally {
      await db.drop();
    }
  });
});
