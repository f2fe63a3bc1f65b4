import { Injectable } from '@nestjs/common';
import { BusDatabase, sqlRows } from './bus-database.js';
import { nothingQueuedSql } from './synchronizations.js';
import { filterSql, type SynchronizationFilter } from './task-query.store.js';

/**
 * Tasks acted on by hand (the API, the admin page, `IntegrationBus`) and by the incoming process
 * types that delete or re-type a task: requeue, make due, delete, and the orphans a deleted
 * connector leaves.
 */
@Injectable()
export class TaskAdminStore {
  constructor(private readonly db: BusDatabase) {}

  /**
   * Makes a connector's failed, retrying and skipped synchronizations due now (parked ones stay):
   * what synchronizing a whole list by hand does first, since manual synchronization ignores the
   * backoff (R-DEL-5). Their state, attempts and failures are kept.
   */
  async makeDue(connectorId: number): Promise<void> {
    await sqlRows(
      this.db.pool,
      `update integration_synchronization set next_attempt_at = clock_timestamp()
        where connector_id = $1 and state in ('failed', 'retrying', 'skipped') and next_attempt_at > clock_timestamp()`,
      [connectorId],
    );
  }

  /**
   * Makes the synchronizations of `filter` waiting again (R-DEL-6): state, next attempt, failure
   * and skip counts cleared, the attempts and the log kept. Waiting ones are left alone.
   * @returns how many, and the connector ids they belong to
   */
  async requeue(filter: SynchronizationFilter): Promise<{ count: number; connectorIds: number[] }> {
    const params: unknown[] = [];
    const where = filterSql(filter, params);
    const rows = await sqlRows<{ connectorId: number }>(
      this.db.pool,
      `update integration_synchronization s
          set state = null, next_attempt_at = null, failures = 0, skips = 0
         from integration_task t
        where t.id = s.task_id and s.state is not null and ${where}
        returning s.connector_id as "connectorId"`,
      params,
    );
    return { count: rows.length, connectorIds: [...new Set(rows.map((r) => r.connectorId))] };
  }

  /**
   * Deletes a task's synchronizations (all, or one connector's) and the task once none is left.
   * @returns the connector ids whose synchronization was removed
   */
  async delete(taskId: number, connectorId?: number): Promise<number[]> {
    return this.db.transaction(async (trx) => {
      await sqlRows(trx, `select id from integration_task where id = $1 for update`, [taskId]);
      const removed = await sqlRows<{ connectorId: number }>(
        trx,
        `with lone as (
           select connector_id from integration_task
            where id = $1 and connector_id is not null and ($2::int is null or connector_id = $2)
         ), unqueued as (
           update integration_task set connector_id = null where id = $1 and connector_id in (select * from lone)
         ), deleted as (
           delete from integration_synchronization where task_id = $1 and ($2::int is null or connector_id = $2)
           returning connector_id
         )
         select connector_id as "connectorId" from deleted union all select connector_id from lone`,
        [taskId, connectorId ?? null],
      );
      await sqlRows(trx, `delete from integration_task t where t.id = $1 and ${nothingQueuedSql()}`, [
        taskId,
      ]);
      return removed.map((r) => r.connectorId);
    });
  }

  /** Changes an incoming task's process type (SkipOnce → Default, Default → Error, Error → Default). */
  async setProcessType(taskId: string | number, processType: string): Promise<void> {
    await sqlRows(this.db.pool, `update integration_task set process_type = $2 where id = $1`, [
      taskId,
      processType,
    ]);
  }

  /** Whether a task exists and which direction it belongs to. */
  async direction(taskId: number): Promise<'incoming' | 'outgoing' | null> {
    const [row] = await sqlRows<{ isInbound: boolean }>(
      this.db.pool,
      `select is_inbound as "isInbound" from integration_task where id = $1`,
      [taskId],
    );
    return row ? (row.isInbound ? 'incoming' : 'outgoing') : null;
  }

  /** Removes every task no connector is queued for any more (after a connector was deleted). */
  async deleteOrphans(): Promise<number> {
    const rows = await sqlRows(
      this.db.pool,
      `delete from integration_task d using (
         select t.id from integration_task t where ${nothingQueuedSql()} order by t.id for update of t skip locked
       ) orphans where d.id = orphans.id returning d.id`,
    );
    return rows.length;
  }
}
