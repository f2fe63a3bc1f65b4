import { Injectable } from '@nestjs/common';
import type { TaskDataType } from '../enums/task-data-type.enum.js';
import type { TaskType } from '../enums/task-type.enum.js';
import { BusDatabase, sqlRows, type SqlExecutor } from './bus-database.js';
import { objectKeySql, partitionOfSql } from './queue-rules.js';
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
  /**
   * The connectors it is for. `partitions`: how the connector's outgoing queue is laid out (0: one
   * FIFO; else the synchronization goes to its object's partition, R-ORD-2).
   */
  synchronizations: { connectorId: number; handler: string | null; partitions: number }[];
  /** W3C `traceparent` of the task's `create` span (events/trace-context.ts); absent without tracing. */
  traceParent?: string;
  /** Its id, when taken beforehand (`ChangeLogStore.takeIds`); else one is taken as it is inserted. */
  id?: number;
}

/** The JSON parameter of `ChangeLogStore.insert`: one record per task, null and false columns left out. */
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
      };
      const only = task.synchronizations[0];
      if (only && loneSynchronization(task)) {
        // One outgoing connector: the task holds its synchronization (see `SYNCHRONIZATIONS`).
        record.connector = only.connectorId;
        if (only.handler !== null) record.handler = only.handler;
        if (only.partitions > 0) record.partitionCount = only.partitions;
      } else {
        record.connectors = task.synchronizations.map((s) => s.connectorId);
        record.handlers = task.synchronizations.map((s) => s.handler);
        // Left out when every connector has one FIFO (the common case): unnest pads it with nulls.
        if (task.synchronizations.some((s) => s.partitions > 0)) {
          record.partitions = task.synchronizations.map((s) => s.partitions);
        }
      }
      if (task.objectId !== null) record.objectId = task.objectId;
      if (task.nodeId !== null) record.nodeId = task.nodeId;
      if (task.documentId !== null) record.documentId = task.documentId;
      if (task.aliasPath !== null) record.aliasPath = task.aliasPath;
      if (task.siteName !== null) record.siteName = task.siteName;
      if (task.isInbound) record.isInbound = true;
      if (task.traceParent) record.traceParent = task.traceParent;
      if (task.id !== undefined) record.presetId = task.id;
      return record;
    }),
  );
}

/**
 * A task's own columns, in the order both one-row writes list them (`guid` … `trace_parent`, as in
 * the `insert` of `insertOne` and the `copy` of a bulk flush).
 */
function taskColumnValues(task: NewTask): (string | null)[] {
  return [
    task.guid,
    task.title,
    task.taskType,
    task.objectType,
    task.objectId,
    task.nodeId,
    task.documentId,
    task.aliasPath,
    task.siteName,
    task.dataType,
    task.processType,
    JSON.stringify(task.data),
    task.traceParent ?? null,
  ];
}

/** Whether the task holds its one synchronization itself (one outgoing connector; see `SYNCHRONIZATIONS`). */
function loneSynchronization(task: NewTask): boolean {
  return task.synchronizations.length === 1 && !task.isInbound;
}

/** Whether a one-row write can take the task: its id is taken there (`insertOne`, `copy`). */
function takesItsId(task: NewTask): boolean {
  return task.id === undefined;
}

/** From how many tasks a flush's rows are copied: below, two round trips cost more than parsing the JSON. */
const COPY_FROM = 50;

/** Whether COPY can write the task: one outgoing connector with one FIFO (no hash to compute). */
function copyable(task: NewTask): boolean {
  return loneSynchronization(task) && task.synchronizations[0]!.partitions === 0;
}

/** A field of COPY's text format: `\N` for null; backslash, tab, newline and return escaped. */
function copyField(value: string | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  return /[\\\t\n\r]/.test(value) ? value.replace(/[\\\t\n\r]/g, escapeCopyChar) : value;
}

function escapeCopyChar(char: string): string {
  return char === '\\' ? '\\\\' : char === '\t' ? '\\t' : char === '\n' ? '\\n' : '\\r';
}

/** How `ChangeLogStore.insert` writes. */
export interface InsertOptions {
  /**
   * Serialise the logging transactions of each object (R-DEL-1): for tasks no row change produces
   * (`logInternalTask`), no row lock orders two transactions logging for one object, so their ids
   * could be handed out in one order and committed in the other. A transaction-scoped advisory lock
   * per object, taken before the ids, makes the second wait for the first to end.
   */
  lockObjects?: boolean;
}

/** Takes the advisory locks of `InsertOptions.lockObjects`, in a fixed order (no deadlock between two logging transactions). */
async function lockObjects(trx: SqlExecutor, tasks: readonly NewTask[]): Promise<void> {
  // The key is built by `objectKeySql`, as for the partitions: one definition of an object.
  await sqlRows(
    trx,
    `select pg_advisory_xact_lock(hashtextextended(k, 0))
       from (select distinct ${objectKeySql('t', 'o', 'n', 'ti')} as k
               from unnest($1::text[], $2::text[], $3::text[], $4::text[]) as x(t, o, n, ti)) as keys
      order by k`,
    [
      tasks.map((t) => t.objectType),
      tasks.map((t) => t.objectId),
      tasks.map((t) => t.nodeId),
      tasks.map((t) => t.title),
    ],
  );
}

/** The LISTEN/NOTIFY channel on which instances announce new tasks. */
export const QUEUE_CHANNEL = 'integration_bus_queue';

/**
 * A NOTIFY payload must stay under 8,000 bytes, or the statement fails, and with it the flush: a
 * signal longer than this goes without its partitions (the receivers then look for themselves).
 */
const MAX_HINTED_BYTES = 7_900;

/**
 * The notification of tasks of partitioned connectors (R-ORD-2): the signal in `$2`, with the
 * partitions the statement wrote per connector, read from the inserted rows (`t`, `s`), so that the
 * other instances run those partitions without first asking which have work (`QueueSignal`).
 */
const HINTED_PAYLOAD = `(select case when octet_length(hinted.payload) <= ${MAX_HINTED_BYTES} then hinted.payload else $2 end
     from (select ($2::jsonb || jsonb_build_object('partitions', (
             select jsonb_object_agg(connector_id::text, partitions)
               from (select connector_id, jsonb_agg(distinct partition) as partitions
                       from (select connector_id, partition from t union all select connector_id, partition from s) written
                      where partition > 0 group by connector_id) per_connector)))::text as payload) hinted)`;

/**
 * The change log: writes the tasks of changes (R-OUT-4, R-IN-1), inside the transaction of the
 * change when there is one, and announces them to the other instances when it commits.
 */
@Injectable()
export class ChangeLogStore {
  constructor(private readonly db: BusDatabase) {}

  /**
   * Inserts tasks and their synchronizations in one statement, inside the caller's transaction.
   * @returns the new task ids, by guid
   */
  async insert(
    trx: SqlExecutor,
    tasks: readonly NewTask[],
    notifyAs?: string,
    options: InsertOptions = {},
  ): Promise<Map<string, number>> {
    if (tasks.length === 0) return new Map();
    if (options.lockObjects) await lockObjects(trx, tasks);
    // Other instances learn of new outgoing tasks when this transaction commits (R-OUT-8 b).
    const connectorIds = [
      ...new Set(
        tasks.filter((t) => !t.isInbound).flatMap((t) => t.synchronizations.map((s) => s.connectorId)),
      ),
    ];
    const notification =
      notifyAs && connectorIds.length > 0
        ? JSON.stringify({ from: notifyAs, connectors: connectorIds, committed: true })
        : null;
    if (tasks.length === 1 && loneSynchronization(tasks[0]!) && takesItsId(tasks[0]!)) {
      return this.insertOne(trx, tasks[0]!, tasks[0]!.synchronizations[0]!, notification);
    }
    if (
      tasks.length >= COPY_FROM &&
      this.db.supportsCopy(trx) &&
      tasks.every((task) => copyable(task) && takesItsId(task))
    ) {
      return this.copy(trx, tasks, notification);
    }
    // The transaction's id is taken before any task id (the `xid` step): the drain's floor relies on
    // every task id being allocated by a transaction that already has one (see `DrainFloor`).
    // One JSON parameter, not an array per column: JSON.stringify is native, while the driver escapes
    // array elements one by one in JavaScript. Measured on 1,000-task flushes: reading `data` as
    // json and casting it, ids taken from the sequence in the first step (no join back on guid) and
    // null columns left out cut the statement by about 30%. The payload is stored as json, unconverted.
    // A named prepared statement of the transaction's connection: planning this statement took two
    // thirds of its time for one task (0.55 of 0.8 ms), more than the whole insert of the row changed.
    // With a partitioned connector, the notification names the partitions written (`HINTED_PAYLOAD`).
    const hinted =
      notification !== null && tasks.some((t) => t.synchronizations.some((s) => s.partitions > 0));
    const rows = await this.db.preparedIn<{ id: string; guid: string }>(
      trx,
      `with xid as materialized (select pg_current_xact_id() as xid
       ), x as (
         select coalesce(x."presetId", nextval('integration_task_id_seq')) as id, x.*
           from xid, json_to_recordset($1::json) as x(
             "guid" uuid, "title" text, "taskType" text, "objectType" text, "objectId" text, "nodeId" text,
             "documentId" text, "aliasPath" text, "siteName" text, "isInbound" bool, "dataType" text,
             "processType" text, "data" json, "connectors" int[], "handlers" text[], "partitions" int[],
             "connector" int, "handler" text, "partitionCount" int, "traceParent" text, "presetId" bigint)
       ), t as (
         insert into integration_task (id, guid, title, task_type, object_type, object_id, node_id, document_id,
                                       alias_path, site_name, is_inbound, data_type, process_type, data,
                                       trace_parent, connector_id, handler, partition, object_hash)
         select id, "guid", "title", "taskType", "objectType", "objectId", "nodeId", "documentId", "aliasPath",
                "siteName", coalesce("isInbound", false), "dataType", "processType", "data", "traceParent",
                "connector", "handler", coalesce(${partitionOfSql('h.hash', 'x."partitionCount"')}, 0), h.hash
           from x cross join lateral (select case when x."partitionCount" > 0 then hashtextextended(
                    ${objectKeySql('x."objectType"', 'x."objectId"', 'x."nodeId"', 'x."title"')}, 0) end as hash) h
         ${hinted ? 'returning connector_id, partition' : ''}
       ), s as (
         insert into integration_synchronization (task_id, connector_id, handler, partition, object_hash)
         select x.id, e.connector, e.handler, coalesce(${partitionOfSql('h.hash', 'e.partitions')}, 0), h.hash
           from x cross join lateral unnest(x."connectors", x."handlers", x."partitions")
                                     as e(connector, handler, partitions)
                  cross join lateral (select case when e.partitions > 0 then hashtextextended(
                    ${objectKeySql('x."objectType"', 'x."objectId"', 'x."nodeId"', 'x."title"')}, 0) end as hash) h
         ${hinted ? 'returning connector_id, partition' : ''}
       )
       select x.id, x.guid from x cross join (select case when $2::text is null then null
                                                        else pg_notify('${QUEUE_CHANNEL}', ${hinted ? HINTED_PAYLOAD : '$2'}) end) as n`,
      [serializeTasks(tasks), notification],
    );
    return new Map(rows.map((r) => [r.guid, Number(r.id)]));
  }

  /**
   * The common case of a request, one change for one outgoing connector, without the JSON of a batch:
   * one row, its columns as parameters (0.60 against 0.68 ms for the batch statement, both prepared,
   * in a transaction inserting one row of its own on PostgreSQL 15 here). The same rows, the same
   * order of the transaction id before the task id (the `xid` step), the same notification.
   */
  private async insertOne(
    trx: SqlExecutor,
    task: NewTask,
    sync: NewTask['synchronizations'][number],
    notification: string | null,
  ): Promise<Map<string, number>> {
    const [row] = await this.db.preparedIn<{ id: string }>(
      trx,
      `with xid as materialized (select pg_current_xact_id() as xid)
       insert into integration_task (id, guid, title, task_type, object_type, object_id, node_id, document_id,
                                     alias_path, site_name, data_type, process_type, data, trace_parent,
                                     connector_id, handler, partition, object_hash)
       select nextval('integration_task_id_seq'), $1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::json, $13,
              $14::int, $15::text, coalesce(${partitionOfSql('h.hash', '$16::int')}, 0), h.hash
         from xid cross join lateral (select case when $16::int > 0 then hashtextextended(
                ${objectKeySql('$4::text', '$5::text', '$6::text', '$2::text')}, 0) end as hash) h
       returning id, case when $17::text is null then null
                          else pg_notify('${QUEUE_CHANNEL}', ${
                            sync.partitions > 0
                              ? `($17::jsonb || jsonb_build_object('partitions', jsonb_build_object(connector_id::text, jsonb_build_array(partition))))::text`
                              : '$17'
                          }) end`,
      [...taskColumnValues(task), sync.connectorId, sync.handler, sync.partitions, notification],
    );
    return new Map([[task.guid, Number(row!.id)]]);
  }

  /**
   * The rows of a bulk flush by `COPY … FROM STDIN` on the flush's own connection, instead of the
   * JSON statement, whose `json_to_recordset` alone took a third of its time (3.5 of 10.3 ms for
   * 1,000 tasks; the whole write went from 11.3 to 9.2 ms). The ids are taken first, after the
   * transaction id (the `xid` step, as in the JSON statement), in one statement that also sends the
   * notification; then the rows are copied with them, in change order.
   */
  private async copy(
    trx: SqlExecutor,
    tasks: readonly NewTask[],
    notification: string | null,
  ): Promise<Map<string, number>> {
    const [row] = await this.db.preparedIn<{ ids: string[] }>(
      trx,
      `with xid as materialized (select pg_current_xact_id() as xid)
       select array(select nextval('integration_task_id_seq') from xid, generate_series(1, $1::int))::text[] as ids,
              case when $2::text is null then null else pg_notify('${QUEUE_CHANNEL}', $2) end as n`,
      [tasks.length, notification],
    );
    const ids = row!.ids;
    let body = '';
    for (const [i, task] of tasks.entries()) {
      const sync = task.synchronizations[0]!;
      body +=
        [ids[i], ...taskColumnValues(task), String(sync.connectorId), sync.handler]
          .map(copyField)
          .join('\t') + '\n';
    }
    await this.db.copyIn(
      trx,
      `copy integration_task (id, guid, title, task_type, object_type, object_id, node_id, document_id,
                              alias_path, site_name, data_type, process_type, data, trace_parent,
                              connector_id, handler) from stdin`,
      body,
    );
    return new Map(tasks.map((task, i) => [task.guid, Number(ids[i])]));
  }

  /**
   * Takes `count` task ids inside the caller's transaction, for tasks inserted later in it with their
   * `id` set: after the transaction's own id, as every insert takes them (the `xid` step). Ids not
   * used in the end are gaps, as a rolled-back insert leaves.
   */
  async takeIds(trx: SqlExecutor, count: number): Promise<number[]> {
    if (count === 0) return [];
    const [row] = await this.db.preparedIn<{ ids: string[] }>(
      trx,
      `with xid as materialized (select pg_current_xact_id() as xid)
       select array(select nextval('integration_task_id_seq') from xid, generate_series(1, $1::int))::text[] as ids`,
      [count],
    );
    return row!.ids.map(Number);
  }

  /** Inserts tasks in a transaction of their own. */
  insertOwnTransaction(
    tasks: readonly NewTask[],
    notifyAs?: string,
    options: InsertOptions = {},
  ): Promise<Map<string, number>> {
    if (tasks.length === 0) return Promise.resolve(new Map());
    return this.db.transaction((trx) => this.insert(trx, tasks, notifyAs, options));
  }
}
