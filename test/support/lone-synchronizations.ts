import type { BusTestApp } from './bus-app.js';

/**
 * Gives the lone synchronizations of `taskIds` (all of them without) a row in
 * `integration_synchronization`, as the first failed attempt does, so that a test can put a state
 * on it in SQL. A task queued for one connector has no row until then (Migration20261201400000LoneTasks).
 */
export async function giveLoneSynchronizationsRows(
  t: Pick<BusTestApp, 'sql'>,
  taskIds: readonly number[] | null = null,
): Promise<void> {
  await t.sql(
    `with lone as (select id, connector_id from integration_task
                    where connector_id is not null and ($1::bigint[] is null or id = any($1::bigint[]))),
          moved as (update integration_task t set connector_id = null from lone where t.id = lone.id)
     insert into integration_synchronization (task_id, connector_id) select id, connector_id from lone`,
    [taskIds],
  );
}
