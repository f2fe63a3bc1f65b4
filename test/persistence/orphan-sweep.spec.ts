import { Client } from 'pg';
import { describe, expect, it } from 'vitest';
import { QueueStore } from '../../libs/integration-bus/src/persistence/queue.store.js';
import { withBusApp } from '../support/bus-app.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';

const log: CallLog = [];
const c = recordingConnector('Kept', [{ objectType: 'cms.user' }], log);

describe("the sweep's orphan check (issue 13)", () => {
  it('walks the task table in bounded steps, deletes only tasks with no synchronization left, and lets one instance at a time do it', async () => {
    await withBusApp(
      { providers: [c.provider], bus: { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } } },
      async (t) => {
        // 2,500 tasks; every third one has no synchronization (an orphan).
        await t.sql(`
          with t as (
            insert into integration_task (guid, title, task_type, object_type, object_id, data_type, process_type, data)
            select gen_random_uuid(), 'Update cms.user ' || i, 'UPDATEOBJ', 'cms.user', i::text, 'SIMPLE', 'ASYNCSIMPLE', '{}'::jsonb
              from generate_series(1, 2500) as g(i) order by i
            returning id, object_id)
          insert into integration_synchronization (task_id, connector_id)
          select t.id, c.id from t, integration_connector c where c.code_name = 'Kept' and t.object_id::int % 3 <> 0`);
        const store = t.app.get(QueueStore);
        const steps: { deleted: number; next: string }[] = [];
        let cursor = '0';
        do {
          const step = await store.sweepOrphans(cursor, 1000);
          steps.push(step);
          cursor = step.next;
        } while (cursor !== '0');
        // Three steps of at most 1,000 tasks, then back to the start.
        expect(steps).toHaveLength(3);
        expect(steps.reduce((sum, s) => sum + s.deleted, 0)).toBe(833);
        expect(await t.sql(`select count(*)::int as n from integration_task`)).toEqual([{ n: 1667 }]);
        expect(
          await t.sql(`select count(*)::int as n from integration_task t
                        where not exists (select 1 from ${ALL_SYNCHRONIZATIONS_SQL} s where s.task_id = t.id)`),
        ).toEqual([{ n: 0 }]);

        // While one instance holds the sweep's lock, another skips its step and keeps its place.
        await t.sql(`insert into integration_task (guid, title, task_type, object_type, data_type, process_type, data)
                     values (gen_random_uuid(), 'orphan', 'UPDATEOBJ', 'cms.user', 'SIMPLE', 'ASYNCSIMPLE', '{}'::jsonb)`);
        const holder = new Client({ connectionString: t.orm.config.get('clientUrl') as string });
        await holder.connect();
        try {
          await holder.query(`begin`);
          await holder.query(`select pg_advisory_xact_lock(hashtext('integration_bus.orphan_sweep'))`);
          expect(await store.sweepOrphans('42', 1000)).toEqual({ deleted: 0, next: '42' });
          await holder.query(`commit`);
        } finally {
          await holder.end();
        }
        // Its lock gone, a full pass finds the new orphan.
        const first = await store.sweepOrphans('0', 1000);
        const second = await store.sweepOrphans(first.next, 1000);
        expect(first.deleted + second.deleted).toBe(1);
        expect(second.next).toBe('0');
      },
    );
  });
});
