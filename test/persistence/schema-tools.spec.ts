import { describe, expect, inject, it } from 'vitest';
import { createBusApp, withBusApp, type BusTestApp } from '../support/bus-app.js';
import { createTestDatabase } from '../support/database.js';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';

// Issue 11, item 13: the schema tools MikroORM users build test databases with (`schema.refresh()`,
// `schema:update`, `schema.drop()` then the migrations) leave the bus a schema that works.

/**
 * A connector, a task and its synchronization with a sync log, deleted: the cleanup triggers
 * cascade; the connector's intake sequences go with it (a foreign key).
 */
async function cascades(app: BusTestApp): Promise<void> {
  const [connector] = await app.sql<{ id: number }>(
    `insert into integration_connector (code_name, display_name, class_name, enabled)
     values ('Probe', 'Probe', 'ProbeConnector', true) returning id`,
  );
  const [task] = await app.sql<{ id: string }>(
    `insert into integration_task (guid, title, task_type, object_type, is_inbound, data_type, process_type, data)
     values (gen_random_uuid(), 'probe', 'CREATEOBJ', 'cms.user', false, 'SIMPLE', 'ASYNCSIMPLE', '{}') returning id`,
  );
  const [sync] = await app.sql<{ id: string }>(
    `insert into integration_synchronization (task_id, connector_id) values ($1, $2) returning id`,
    [task!.id, connector!.id],
  );
  await app.sql(`insert into integration_sync_log (synchronization_id, error_message) values ($1, 'x')`, [
    sync!.id,
  ]);
  await app.sql(`delete from integration_task where id = $1`, [task!.id]);
  expect(await app.sql(`select id from ${ALL_SYNCHRONIZATIONS_SQL} s`)).toEqual([]);
  expect(await app.sql(`select id from integration_sync_log`)).toEqual([]);
  await app.sql(
    `insert into integration_intake_sequence (connector_id, sequence_key, sequence) values ($1, 'cms.user:1', 7)`,
    [connector!.id],
  );
  await app.sql(`delete from integration_connector where id = $1`, [connector!.id]);
  expect(await app.sql(`select sequence_key from integration_intake_sequence`)).toEqual([]);
}

describe('schema tools (item 13)', () => {
  it('orm.schema.refresh() builds cleanup triggers with their transition table', async () => {
    await withBusApp({}, async (app) => {
      await app.orm.schema.refresh();
      await expect(cascades(app)).resolves.toBeUndefined();
    });
  });

  it('orm.schema.update() on an empty database builds them too', async () => {
    await withBusApp({}, async (app) => {
      await app.orm.schema.drop();
      await app.orm.schema.update();
      await expect(cascades(app)).resolves.toBeUndefined();
    });
  });

  it('orm.schema.drop() leaves nothing behind that stops the migrations of the next start', async () => {
    const db = await createTestDatabase(inject('serverUrl'));
    try {
      const first = await createBusApp({ databaseUrl: db.url });
      await first.orm.schema.drop({ dropMigrationsTable: true });
      await first.close();
      const second = await createBusApp({ databaseUrl: db.url }); // runs migrator.up()
      try {
        await expect(cascades(second)).resolves.toBeUndefined();
      } finally {
        await second.close();
      }
    } finally {
      await db.drop();
    }
  });
});
