import { MikroORM } from '@mikro-orm/core';
import { describe, expect, inject, it } from 'vitest';
import { createBusApp, testOrmOptions } from '../support/bus-app.js';
import { createTestDatabase } from '../support/database.js';
import { User } from '../support/entities.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';

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
               from integration_synchronization s join integration_task t on t.id = s.task_id order by t.id`,
          ),
        ).toEqual([
          { object_id: '1', state: null, attempts: 0, failures: 0, error_message: null },
          { object_id: '2', state: 'failed', attempts: 2, failures: 2, error_message: 'CRM was down' },
          { object_id: '3', state: null, attempts: 0, failures: 0, error_message: 'account not open yet' },
          { object_id: '4', state: null, attempts: 0, failures: 0, error_message: null },
        ]);
        expect(await app.bus.processOutgoingTasks('Upgraded')).toMatchObject({ OK: 4 });
        expect(log.map((call) => (call.task.object as User).userName)).toEqual(['u1', 'u2', 'u3', 'u4']);
        expect(log[1]!.task.attempt).toBe(3);
      } finally {
        await app.close();
      }
    } finally {
      await db.drop();
    }
  });
});
