import { Client } from 'pg';

/** Rows per insert statement: keeps each statement's memory and WAL burst moderate. */
const CHUNK = 100_000;

/**
 * Queues `count` outgoing tasks for the given connectors, the way `ChangeLogStore.insert` writes them
 * for a `BenchUser` created under an AsyncSimple subscription: one `integration_task` row (data type
 * Simple, payload `{ entity, fields, translations, children }`); for one connector the task holds
 * its synchronization (`connector_id`, as for a change with one subscriber), for several there is
 * one `integration_synchronization` row per connector, handler `null`. With `objects` below `count`, the tasks are changes of that many
 * objects in turn (task `i` changes object `1 + (i - 1) % objects`). Done in SQL with `generate_series`, so that setup is fast and
 * never part of a measurement.
 */
export async function seedBusTasks(
  databaseUrl: string,
  count: number,
  connectors: string[],
  objects = count,
): Promise<void> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const ids = await client.query<{ id: number }>(
      `select id from integration_connector where code_name = any($1) order by id`,
      [connectors],
    );
    if (ids.rows.length !== connectors.length) {
      throw new Error(`Expected connector rows for ${connectors.join(', ')}; found ${ids.rows.length}.`);
    }
    for (let from = 1; from <= count; from += CHUNK) {
      const to = Math.min(count, from + CHUNK - 1);
      await client.query(
        `with t as (
           insert into integration_task (guid, title, task_type, object_type, object_id, node_id, document_id,
                                         alias_path, site_name, is_inbound, data_type, process_type,
                                         connector_id, data)
           select gen_random_uuid(), format('Create BenchUser ''user-%s''', o), 'CREATEOBJ', 'bench.user', o::text,
                  null, null, null, null, false, 'SIMPLE', 'ASYNCSIMPLE',
                  case when cardinality($3::int[]) = 1 then ($3::int[])[1] end,
                  json_build_object(
                    'entity', 'BenchUser',
                    'fields', json_build_object('id', o, 'userName', 'user-' || o,
                                                 'email', 'user-' || o || '@example.com',
                                                 'createdAt', to_json(now())),
                    'translations', '[]'::json,
                    'children', '{}'::json)
             from generate_series($1::int, $2::int) as i cross join lateral (select 1 + (i - 1) % $4 as o) as obj
            order by i
           returning id
         )
         insert into integration_synchronization (task_id, connector_id, handler)
         select t.id, c.id, null from t cross join unnest($3::int[]) as c(id)
          where cardinality($3::int[]) > 1
          order by t.id, c.id`,
        [from, to, ids.rows.map((r) => r.id), objects],
      );
    }
    await client.query('vacuum analyze integration_task, integration_synchronization');
  } finally {
    await client.end();
  }
}

/** The payload every peer's job carries: the same JSON a seeded bus task holds. */
export function samplePayload(i: number): Record<string, unknown> {
  return {
    entity: 'BenchUser',
    fields: {
      id: i,
      userName: `user-${i}`,
      email: `user-${i}@example.com`,
      createdAt: new Date().toISOString(),
    },
    translations: [],
    children: {},
  };
}
