import { Injectable } from '@nestjs/common';
import type { TaskDataType } from '../enums/task-data-type.enum.js';
import type { TaskType } from '../enums/task-type.enum.js';
import type { IntegrationTaskInfo } from '../events/integration-task-event.js';
import { BusDatabase, sqlRows, type SqlExecutor } from './bus-database.js';
import type { TaskPayload } from './task-payload.js';

/** A task to insert, with the connectors it is for. */
export interface NewTask {
  guid: string;
  title: string;
  taskType: TaskType;
  objectType: string;
  objectId: string | null;
  nodeId: string | null;
  documentId: string | null;
  aliasPath: string | null;
  siteName: string | null;
  isInbound: boolean;
  dataType: TaskDataType;
  processType: string;
  data: TaskPayload;
  synchronizations: { connectorId: number; handler: string | null }[];
}

/** A queued synchronization joined with its task, as a processor reads it. */
export interface QueuedSynchronization {
  syncId: string;
  attempts: number;
  handler: string | null;
  taskId: string;
  guid: string;
  title: string;
  taskType: TaskType;
  objectType: string;
  objectId: string | null;
  siteName: string | null;
  dataType: TaskDataType;
  processType: string;
  isInbound: boolean;
  /**
   * The payload as stored, not parsed: a connector that never reads the task's object or
   * translations never pays for parsing it (see `parseTaskPayload`).
   */
  dataJson: string;
  /** When the task was logged, in milliseconds since the epoch. */
  createdAtMs: number;
}

/** The payload of a queued task. */
export function parseTaskPayload(row: Pick<QueuedSynchronization, 'dataJson'>): TaskPayload {
  return JSON.parse(row.dataJson) as TaskPayload;
}

/** The outcome of a batch, written back in one transaction. */
export interface BatchCompletion {
  /** Synchronizations processed successfully (deleted, and their tasks once no synchronization is left). */
  done: { syncId: string; taskId: string }[];
  /** Synchronizations that failed: attempts + 1, message on the row and in the sync log. */
  failed: { syncId: string; errorMessage: string }[];
  /** Synchronizations put off (SkipNow) with a message: shown on the row, not counted as a failure. */
  postponed?: { syncId: string; message: string }[];
  /**
   * Tasks completed by an earlier batch that may have been left with no synchronization (another
   * connector completed them at the same instant): deleted now if none is left.
   */
  recheck?: string[];
}

/** The JSON parameter of `TaskStore.insert`: one record per task, null and false columns left out. */
function serializeTasks(tasks: readonly NewTask[]): string {
  return JSON.stringify(
    tasks.map((task) => {
      const record: Record<string, unknown> = {
        guid: task.guid,
        title: task.title,
        taskType: task.taskType,
        objectType: task.objectType,
        dataType: task.dataType,
        processType: task.processType,
        data: task.data,
        connectors: task.synchronizations.map((s) => s.connectorId),
        handlers: task.synchronizations.map((s) => s.handler),
      };
      if (task.objectId !== null) record.objectId = task.objectId;
      if (task.nodeId !== null) record.nodeId = task.nodeId;
      if (task.documentId !== null) record.documentId = task.documentId;
      if (task.aliasPath !== null) record.aliasPath = task.aliasPath;
      if (task.siteName !== null) record.siteName = task.siteName;
      if (task.isInbound) record.isInbound = true;
      return record;
    }),
  );
}

/** How events describe a queued task being processed for a connector. */
export function taskInfoOf(row: QueuedSynchronization, connectorName: string): IntegrationTaskInfo {
  return {
    id: Number(row.taskId),
    guid: row.guid,
    title: row.title,
    taskType: row.taskType,
    objectType: row.objectType,
    objectId: row.objectId,
    siteName: row.siteName,
    dataType: row.dataType,
    processType: row.processType,
    isInbound: row.isInbound,
    connectorNames: [connectorName],
  };
}

/** The LISTEN/NOTIFY channel on which instances announce new tasks. */
export const QUEUE_CHANNEL = 'integration_bus_queue';

const SELECT_QUEUED = `
  select s.id as "syncId", s.attempts, s.handler, t.id as "taskId", t.guid, t.title, t.task_type as "taskType",
         t.object_type as "objectType", t.object_id as "objectId", t.site_name as "siteName",
         t.data_type as "dataType", t.process_type as "processType", t.is_inbound as "isInbound",
         t.data::text as "dataJson", (extract(epoch from t.created_at) * 1000)::float8 as "createdAtMs"
    from integration_synchronization s
    join integration_task t on t.id = s.task_id`;

/** SQL over `integration_task`, `integration_synchronization` and `integration_sync_log`. */
@Injectable()
export class TaskStore {
  constructor(private readonly db: BusDatabase) {}

  /**
   * Inserts tasks and their synchronizations in one statement, inside the caller's transaction.
   * @returns the new task ids, by guid
   */
  async insert(trx: SqlExecutor, tasks: readonly NewTask[], notifyAs?: string): Promise<Map<string, number>> {
    if (tasks.length === 0) return new Map();
    // Other instances learn of new outgoing tasks when this transaction commits (R-OUT-8 b).
    const connectorIds = [
      ...new Set(
        tasks.filter((t) => !t.isInbound).flatMap((t) => t.synchronizations.map((s) => s.connectorId)),
      ),
    ];
    const notification =
      notifyAs && connectorIds.length > 0
        ? JSON.stringify({ from: notifyAs, connectors: connectorIds })
        : null;
    // One JSON parameter, not an array per column: JSON.stringify is native, while the driver escapes
    // array elements one by one in JavaScript. Measured on 1,000-task flushes: reading `data` as
    // json and casting it, ids taken from the sequence in the first step (no join back on guid) and
    // null columns left out cut the statement by about 30%.
    const rows = await sqlRows<{ id: string; guid: string }>(
      trx,
      `with x as (
         select nextval('integration_task_id_seq') as id, x.*
           from json_to_recordset($1::json) as x(
             "guid" uuid, "title" text, "taskType" text, "objectType" text, "objectId" text, "nodeId" text,
             "documentId" text, "aliasPath" text, "siteName" text, "isInbound" bool, "dataType" text,
             "processType" text, "data" json, "connectors" int[], "handlers" text[])
       ), t as (
         insert into integration_task (id, guid, title, task_type, object_type, object_id, node_id, document_id,
                                       alias_path, site_name, is_inbound, data_type, process_type, data)
         select id, "guid", "title", "taskType", "objectType", "objectId", "nodeId", "documentId", "aliasPath",
                "siteName", coalesce("isInbound", false), "dataType", "processType", "data"::jsonb
           from x
       ), s as (
         insert into integration_synchronization (task_id, connector_id, handler)
         select x.id, e.connector, e.handler
           from x cross join lateral unnest(x."connectors", x."handlers") as e(connector, handler)
       )
       select x.id, x.guid from x cross join (select case when $2::text is null then null
                                                        else pg_notify('${QUEUE_CHANNEL}', $2) end) as n`,
      [serializeTasks(tasks), notification],
    );
    return new Map(rows.map((r) => [r.guid, Number(r.id)]));
  }

  /** Inserts tasks in a transaction of their own. */
  insertOwnTransaction(tasks: readonly NewTask[], notifyAs?: string): Promise<Map<string, number>> {
    if (tasks.length === 0) return Promise.resolve(new Map());
    return this.db.transaction((trx) => this.insert(trx, tasks, notifyAs));
  }

  /**
   * The next synchronizations of a connector after `afterTaskId`, oldest task first: one index range
   * scan on (connector_id, task_id).
   *
   * Ids come from a sequence at insert time, not at commit, so two transactions logging at once may
   * commit out of id order. Changes of one object cannot (its row lock orders them, and the task is
   * inserted after the row is written); changes of different objects that commit concurrently are
   * processed in the order their tasks became visible. (A stricter check on the inserting
   * transaction's xid against the snapshot's xmin was tried and dropped: xmin is cluster-wide, so
   * any open transaction on the server, even in another database, stalled every connector.)
   */
  fetchBatch(
    connectorId: number,
    isInbound: boolean,
    afterTaskId: string,
    limit: number,
  ): Promise<QueuedSynchronization[]> {
    return sqlRows<QueuedSynchronization>(
      this.db.pool,
      `${SELECT_QUEUED}
        where s.connector_id = $1 and s.task_id > $2 and t.is_inbound = $3
        order by s.task_id
        limit $4`,
      [connectorId, afterTaskId, isInbound, limit],
    );
  }

  /**
   * Writes a batch's outcome and reads the next batch in one round trip (the drain's hot path).
   *
   * Measured on the bench (one no-op connector, batches of 100): the separate complete-in-a-
   * transaction (BEGIN, lock, two deletes, COMMIT) plus fetch cost six round trips per batch and
   * capped the drain near 8,500 tasks/s; one statement per batch removes five. The price: two
   * connectors finishing the same shared task at the same instant may each still see the other's
   * synchronization and both leave the task (no list or processor sees such a task: it has no
   * synchronization left). The processor therefore passes the previous batch's tasks back as
   * `recheck` when connectors share tasks: by then the other completion has committed. What still
   * slips through (both connectors racing twice in a row) is deleted by the sweep
   * (`deleteOrphans`). Failures and postponements (rare) are written first, separately.
   */
  async completeAndFetch(
    batch: BatchCompletion,
    connectorId: number,
    isInbound: boolean,
    afterTaskId: string,
    limit: number,
  ): Promise<QueuedSynchronization[]> {
    if (batch.failed.length > 0 || (batch.postponed?.length ?? 0) > 0) {
      await this.complete({ done: [], failed: batch.failed, postponed: batch.postponed });
    }
    if (batch.done.length === 0 && !batch.recheck?.length) {
      return this.fetchBatch(connectorId, isInbound, afterTaskId, limit);
    }
    // The ids as one comma-separated text: the driver would quote and escape an array's elements
    // one by one (a tenth of the drain's allocations, profiled).
    return sqlRows<QueuedSynchronization>(
      this.db.pool,
      `with done as (
         delete from integration_synchronization where id = any(string_to_array($5::text, ',')::bigint[])
         returning task_id
       ), gone as (
         delete from integration_task t where t.id in (select task_id from done)
            and not exists (select 1 from integration_synchronization s
                             where s.task_id = t.id and s.id <> all(string_to_array($5::text, ',')::bigint[]))
       ), recheck as (
         delete from integration_task t where t.id = any(string_to_array($6::text, ',')::bigint[])
            and not exists (select 1 from integration_synchronization s where s.task_id = t.id)
       )
       ${SELECT_QUEUED}
        where s.connector_id = $1 and s.task_id > $2 and t.is_inbound = $3
        order by s.task_id
        limit $4`,
      [
        connectorId,
        afterTaskId,
        isInbound,
        limit,
        batch.done.map((d) => d.syncId).join(','),
        batch.recheck?.join(',') ?? '',
      ],
    );
  }

  /** One synchronization of a task for a connector, if still queued. */
  async findOne(connectorId: number, taskId: number): Promise<QueuedSynchronization | null> {
    const [row] = await sqlRows<QueuedSynchronization>(
      this.db.pool,
      `${SELECT_QUEUED} where s.connector_id = $1 and s.task_id = $2`,
      [connectorId, taskId],
    );
    return row ?? null;
  }

  /** Connector ids a task is still queued for. */
  async connectorsOf(taskId: number): Promise<number[]> {
    const rows = await sqlRows<{ connectorId: number }>(
      this.db.pool,
      `select connector_id as "connectorId" from integration_synchronization where task_id = $1 order by id`,
      [taskId],
    );
    return rows.map((r) => r.connectorId);
  }

  /**
   * Writes a batch's outcome in one transaction. Task rows are locked first so that two connectors
   * finishing the same task at once cannot both leave it behind with no synchronization.
   */
  async complete(batch: BatchCompletion, extra?: (trx: SqlExecutor) => Promise<void>): Promise<void> {
    const postponed = batch.postponed ?? [];
    const recheck = batch.recheck ?? [];
    const empty = [batch.done, batch.failed, postponed, recheck].every((list) => list.length === 0);
    if (empty && !extra) return;
    await this.db.transaction(async (trx) => {
      if (batch.done.length > 0 || recheck.length > 0) {
        const taskIds = [...new Set([...batch.done.map((d) => d.taskId), ...recheck])];
        await sqlRows(
          trx,
          `select id from integration_task where id = any($1::bigint[]) order by id for update`,
          [taskIds],
        );
        await sqlRows(trx, `delete from integration_synchronization where id = any($1::bigint[])`, [
          batch.done.map((d) => d.syncId),
        ]);
        await sqlRows(
          trx,
          `delete from integration_task t where t.id = any($1::bigint[])
              and not exists (select 1 from integration_synchronization s where s.task_id = t.id)`,
          [taskIds],
        );
      }
      if (batch.failed.length > 0) {
        await sqlRows(
          trx,
          `with f as (select * from unnest($1::bigint[], $2::text[]) as f(id, message)),
                u as (update integration_synchronization s
                         set attempts = s.attempts + 1, last_run = now(), error_message = f.message
                        from f where s.id = f.id returning s.id, f.message)
           insert into integration_sync_log (synchronization_id, error_message) select id, message from u`,
          [batch.failed.map((f) => f.syncId), batch.failed.map((f) => f.errorMessage)],
        );
      }
      if (postponed.length > 0) {
        await sqlRows(
          trx,
          `update integration_synchronization s set last_run = now(), error_message = p.message
             from unnest($1::bigint[], $2::text[]) as p(id, message) where s.id = p.id`,
          [postponed.map((p) => p.syncId), postponed.map((p) => p.message)],
        );
      }
      await extra?.(trx);
    });
  }

  /** Deletes a task's synchronizations (all, or one connector's) and the task once none is left. */
  async delete(taskId: number, connectorId?: number): Promise<number> {
    return this.db.transaction(async (trx) => {
      await sqlRows(trx, `select id from integration_task where id = $1 for update`, [taskId]);
      const removed = await sqlRows(
        trx,
        `delete from integration_synchronization where task_id = $1 and ($2::int is null or connector_id = $2) returning id`,
        [taskId, connectorId ?? null],
      );
      await sqlRows(
        trx,
        `delete from integration_task t where t.id = $1
            and not exists (select 1 from integration_synchronization s where s.task_id = t.id)`,
        [taskId],
      );
      return removed.length;
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

  /** Removes tasks no connector is queued for any more (left by a deleted connector). */
  async deleteOrphans(): Promise<number> {
    const rows = await sqlRows(
      this.db.pool,
      `delete from integration_task t
        where not exists (select 1 from integration_synchronization s where s.task_id = t.id) returning id`,
    );
    return rows.length;
  }
}
