import type { EntityManager } from '@mikro-orm/core';

/** The oldest task queued for a connector in one direction, or `null` when there is none. */
export async function oldestQueuedTask(
  em: EntityManager,
  connectorName: string,
  inbound: boolean,
): Promise<number | null> {
  const rows = await em.getConnection().execute<{ id: string }[]>(
    `select t.id from integration_synchronization s
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
    `select count(*)::int as n from integration_synchronization s
       join integration_connector c on c.id = s.connector_id
     where s.task_id = ? and c.code_name = ?`,
    [taskId, connectorName],
  );
  return (rows[0]?.n ?? 0) > 0;
}
