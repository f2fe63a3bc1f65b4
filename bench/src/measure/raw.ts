import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { startHost } from '../host/host-app.js';
import { connectorNames } from '../host/noop-connector.js';
import { seedBusTasks } from '../host/seed.js';
import { CpuMeter } from './cpu-meter.js';
import { cpuPer1000, type MeasureResult } from './job.js';

/** Rows deleted per statement. */
const BATCH = 500;

/**
 * The raw limit: the queue drained oldest first by a single connection, 500 rows per statement,
 * each statement returning the rows' data to the client, with no worker logic at all.
 * - `bus`: the same rows the bus drains (the bus's schema, seeded the same way): each statement
 *   deletes a connector's 500 oldest tasks, which hold their one synchronization.
 * - `single`: one table `(id, payload)` holding the same payloads, the plain outbox shape.
 * Both read the next rows after the last id drained (keyset), as the bus does: a plain
 * `order by id limit 500` walks the dead index entries of every row deleted before it (until
 * vacuum), which measured 2 to 3 times slower at 100,000 rows and would flatter the bus.
 */
export async function measureRaw(
  databaseUrl: string,
  job: { tasks: number; table: 'bus' | 'single' },
): Promise<MeasureResult> {
  const [connector] = connectorNames(1);
  if (job.table === 'bus') {
    // The host creates the schema and the connector row, then leaves: the drain is SQL only.
    const host = await startHost({ databaseUrl, withBus: true, connectors: [connector!] });
    await host.close();
    await seedBusTasks(databaseUrl, job.tasks, [connector!]);
  }
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    let drain: { text: string; values: unknown[] };
    if (job.table === 'bus') {
      const [row] = (
        await client.query<{ id: number }>(`select id from integration_connector where code_name = $1`, [
          connector,
        ])
      ).rows;
      drain = {
        text: `delete from integration_task
                where id in (select id from integration_task
                              where connector_id = $1 and partition = 0 and id > $3 order by id limit $2)
               returning id, data`,
        values: [row!.id, BATCH],
      };
    } else {
      // The payload stored as the bus stores a task's (json, see Migration20261201110000TaskPayloadJson).
      await client.query(`create table raw_queue (id bigserial primary key, payload json not null)`);
      await client.query(
        `insert into raw_queue (payload)
         select json_build_object(
                  'entity', 'BenchUser',
                  'fields', json_build_object('id', i, 'userName', 'user-' || i, 'email', 'user-' || i || '@example.com',
                                              'createdAt', to_json(now())),
                  'translations', '[]'::json, 'children', '{}'::json)
           from generate_series(1, $1::int) as i order by i`,
        [job.tasks],
      );
      await client.query('vacuum analyze raw_queue');
      drain = {
        text: `delete from raw_queue
                where id in (select id from raw_queue where id > $2 order by id limit $1)
               returning id, payload`,
        values: [BATCH],
      };
    }
    let drained = 0;
    let last = '0';
    const cpu = await CpuMeter.start(databaseUrl);
    const start = performance.now();
    for (;;) {
      const result = await client.query<{ id: string }>({
        name: `raw-drain-${job.table}`,
        text: drain.text,
        values: [...drain.values, last],
      });
      drained += result.rows.length;
      for (const r of result.rows) if (BigInt(r.id) > BigInt(last)) last = r.id;
      if (result.rows.length < BATCH) break;
    }
    const ms = performance.now() - start;
    const { nodeMs, postgresMs } = await cpu.stop();
    if (drained !== job.tasks) throw new Error(`Drained ${drained} rows, expected ${job.tasks}.`);
    return {
      values: { ms, rowsPerSecond: (drained / ms) * 1000, ...cpuPer1000(nodeMs, postgresMs, drained) },
    };
  } finally {
    await client.end();
  }
}
