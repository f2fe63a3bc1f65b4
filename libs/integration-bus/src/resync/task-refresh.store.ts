import { Injectable } from '@nestjs/common';
import { BusDatabase, sqlRows, type SqlExecutor } from '../persistence/bus-database.js';
import { nothingQueuedSql } from '../persistence/synchronizations.js';
import type { TaskPayload } from '../persistence/task-payload.js';

/** What refreshing a task reads of it. */
export interface RefreshedTask {
  isInbound: boolean;
  taskType: string;
  dataType: string;
  processType: string;
  data: TaskPayload;
}

/** A synchronization of the task that an attempt left in a state (failed, retrying, skipped, parked). */
export interface StatedSynchronization {
  connectorId: number;
  handler: string | null;
}

/** SQL of `TaskRefresh`: the task, its stated synchronizations, and taking one of them off the queue. */
@Injectable()
export class TaskRefreshStore {
  constructor(private readonly db: BusDatabase) {}

  async task(taskId: number): Promise<RefreshedTask | undefined> {
    const [row] = await sqlRows<RefreshedTask & { data: TaskPayload | string }>(
      this.db.pool,
      `select is_inbound as "isInbound", task_type as "taskType", data_type as "dataType",
              process_type as "processType", data
         from integration_task where id = $1`,
      [taskId],
    );
    if (!row) return undefined;
    return { ...row, data: typeof row.data === 'string' ? (JSON.parse(row.data) as TaskPayload) : row.data };
  }

  /** The synchronizations of a task (one connector's, or all) that an attempt left in a state. */
  async stated(taskId: number, connectorId: number | undefined): Promise<StatedSynchronization[]> {
    return sqlRows<StatedSynchronization>(
      this.db.pool,
      `select connector_id as "connectorId", handler from integration_synchronization
        where task_id = $1 and state is not null and ($2::int is null or connector_id = $2)
        order by connector_id`,
      [taskId, connectorId ?? null],
    );
  }

  /**
   * Takes one connector's stated synchronization of a task off the queue, and the task with it
   * once no connector is left, inside `trx`.
   * @returns whether it was still there (another caller may have requeued or deleted it meanwhile)
   */
  async unqueue(trx: SqlExecutor, taskId: number, connectorId: number): Promise<boolean> {
    const removed = await sqlRows(
      trx,
      `delete from integration_synchronization
        where task_id = $1 and connector_id = $2 and state is not null returning id`,
      [taskId, connectorId],
    );
    await sqlRows(trx, `delete from integration_task t where t.id = $1 and ${nothingQueuedSql()}`, [taskId]);
    return removed.length === 1;
  }
}
