import type { EntityManager } from '@mikro-orm/core';
import { SYNCHRONIZATIONS } from '../persistence/synchronizations.js';

/** The oldest task queued for a connector in one direction, or `null` when there is none. */
export async function oldestQueuedTask(
  em: EntityManager,
  connectorName: string,
  inbound: boolean,
): Promise<number | null> {
  const rows = await em.getConnection().execute<{ id: string }[]>(
    `select t.id from ${SYNCHRONIZATIONS} s
       join integration_connector c on c.id = s.connector_id
       join integration_task t on t.id = s.task_id
     where c.code_name = ? and t.is_inbound = ?
     order by t.id limit 1`,
    [connectorName, inbound],
  );
  return rows[0] ? Number(rows[0].id) : null;
}

/** Whether a task is still queued for a connector. */
export async function isQueued(em: EntityManager, taskId: number, connectorName: string): Promise<boolean> {
  const rows = await em.getConnection().execute<{ n: number }[]>(
    `select count(*)::int as n from ${SYNCHRONIZATIONS} s
       join integration_connector c on c.id = s.connector_id
     where s.task_id = ? and c.code_name = ?`,
    [taskId, connectorName],
  );
  return (rows[0]?.n ?? 0) > 0;
}

/** The id of the newest task in the queue (`0` when empty). */
export async function lastTaskId(em: EntityManager): Promise<number> {
  const rows = await em
    .getConnection()
    .execute<{ id: string | null }[]>(`select max(id) as id from integration_task`);
  return Number(rows[0]?.id ?? 0);
}

/** Whether a task newer than `taskId` is queued for some connector. */
export async function hasQueuedTaskAfter(em: EntityManager, taskId: number): Promise<boolean> {
  const rows = await em
    .getConnection()
    .execute<{ queued: boolean }[]>(
      `select exists (select 1 from ${SYNCHRONIZATIONS} s where task_id > ?) as queued`,
      [taskId],
    );
  return rows[0]?.queued === true;
}
