/**
 * Where a synchronization lives (Migration20261201400000LoneTasks): an outgoing task with a single
 * connector holds its waiting synchronization itself (`integration_task.connector_id`, `handler`,
 * `partition`, `object_hash`), and gets a row in `integration_synchronization` only once an attempt
 * did not succeed. Tasks shared by several connectors and incoming tasks have a row per connector
 * from the start.
 *
 * `SYNCHRONIZATIONS` is every synchronization in the row shape of `integration_synchronization`, for
 * the statements that read them all (lists, counts, the API): a lone synchronization shows with no
 * attempt and no state, and with its task's id negated as its id (`LONE_ID`), until an attempt gives
 * it a row of its own. PostgreSQL pushes a query's conditions into both branches of the union, and
 * folds away the lone branch of a condition on state.
 */
export const SYNCHRONIZATIONS = `(
  select id, task_id, connector_id, handler, attempts, last_run, error_message, next_attempt_at, state, failures,
         skips, partition, object_hash
    from integration_synchronization
  union all
  select -id, id, connector_id, handler, 0, null::timestamptz, null::text, null::timestamptz, null::varchar, 0,
         0, partition, object_hash
    from integration_task where connector_id is not null)`;

/** The lone synchronizations alone, in the same row shape (a subquery PostgreSQL pulls up into a join). */
const LONE_SYNCHRONIZATIONS = `(
  select -id as id, id as task_id, connector_id, handler, 0 as attempts, null::timestamptz as last_run,
         null::text as error_message, null::timestamptz as next_attempt_at, null::varchar as state, 0 as failures,
         0 as skips, partition, object_hash
    from integration_task where connector_id is not null)`;

/**
 * A page of synchronizations in task order, as two reads merged: `page(source)` is the statement
 * over `source s`, which orders and limits itself; it runs over the rows and over the lone tasks,
 * and the union is ordered by `orderBy` and cut at `limit` again. Not a join with
 * `SYNCHRONIZATIONS`: PostgreSQL cannot pull a union branch with a WHERE clause up into an ordered
 * index scan, and such a join sorted the whole queue for every page (0.5 s at 600,000 tasks).
 */
export function pageOfSynchronizations(
  page: (source: string) => string,
  orderBy: string,
  limit: string,
): string {
  return `select * from ((${page('integration_synchronization')}) union all (${page(LONE_SYNCHRONIZATIONS)})) q
    order by ${orderBy} limit ${limit}`;
}

/**
 * SQL: whether task `t` has no synchronization left, lone or with a row (none of those with the ids
 * of `except`, an SQL array, which the same statement deletes).
 */
export function nothingQueuedSql(except?: string): string {
  return `t.connector_id is null
            and not exists (select 1 from integration_synchronization s
                             where s.task_id = t.id${except ? ` and s.id <> all(${except})` : ''})`;
}

/** Whether a synchronization id (`SYNCHRONIZATIONS`) is a lone task's, which has no row yet. */
export function isLoneId(syncId: string): boolean {
  return syncId.startsWith('-');
}

/**
 * The tasks of `done` synchronizations that have a row: those another connector may be finishing at
 * the same time (a lone task is its connector's alone).
 */
export function rowTaskIds(done: readonly { syncId: string; taskId: string }[]): string[] {
  return done.filter((d) => !isLoneId(d.syncId)).map((d) => d.taskId);
}

/** The task id a lone synchronization id stands for. */
export function loneTaskId(syncId: string): string {
  return syncId.slice(1);
}
