import { Injectable } from '@nestjs/common';
import { BusDatabase, isoTimestamp, optionalDate, sqlRows, type SqlExecutor } from './bus-database.js';
import { BLOCKED_BY_SQL, STATUS_SQL } from './queue-rules.js';
import { nothingQueuedSql, pageOfSynchronizations, SYNCHRONIZATIONS } from './synchronizations.js';

/** Where in a list of synchronizations a page starts: after this (task, connector) pair. */
export interface SynchronizationKey {
  taskId: number;
  connectorId: number;
}

/**
 * One status per synchronization, the same in the API, the admin page and the metrics (R-DEL-7):
 * - `waiting`: not attempted yet (or requeued), or held behind a failed task (`blockedBy`);
 * - `failed`: the last attempt answered Error (or threw, or timed out); it holds the connector's
 *   later tasks until its retry at `nextAttemptAt` (an incoming task in the Error process type
 *   waits until someone synchronizes it, R-IN-3);
 * - `retrying`: the last attempt answered ErrorAndSkip; tried again at `nextAttemptAt`, holding
 *   nothing up;
 * - `skipped`: the connector answered SkipNow (not a failure); tried again at `nextAttemptAt`;
 * - `parked`: failed `retry.maxAttempts` times; never retried automatically until requeued.
 */
export type SynchronizationStatus = 'waiting' | 'failed' | 'retrying' | 'skipped' | 'parked';

/** Every status, in the order lists show them. */
export const SYNCHRONIZATION_STATUSES: readonly SynchronizationStatus[] = [
  'waiting',
  'failed',
  'retrying',
  'skipped',
  'parked',
];

/** Which synchronizations a list, a bulk action or a count covers. */
export interface SynchronizationFilter {
  isInbound: boolean;
  /** Only this connector's synchronizations. */
  connectorId?: number;
  /** Only these tasks. */
  taskIds?: readonly number[];
  /** Only synchronizations with this status. */
  status?: SynchronizationStatus;
  /** Only tasks whose title or object type contains this text, ignoring case (taken literally). */
  search?: string;
}

/** `text` as a literal inside an `ilike … escape '\'` pattern: `%`, `_` and `\` lose their meaning (R-SEC-4). */
export function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** One row of a task list: a task waiting for one connector (SPEC §8). */
export interface SynchronizationListRow {
  taskId: number;
  connectorId: number;
  connectorName: string;
  connectorDisplayName: string;
  title: string;
  taskType: string;
  objectType: string;
  objectId: string | null;
  siteName: string | null;
  dataType: string;
  processType: string;
  createdAt: Date;
  attempts: number;
  lastRun: Date | null;
  errorMessage: string | null;
  status: SynchronizationStatus;
  nextAttemptAt: Date | null;
  /** The failed task this one waits behind (its connector's head), if any. */
  blockedBy: number | null;
}

/** A task row with its payload, for the detail view. */
export interface TaskRow {
  id: number;
  guid: string;
  title: string;
  taskType: string;
  objectType: string;
  objectId: string | null;
  nodeId: string | null;
  documentId: string | null;
  aliasPath: string | null;
  siteName: string | null;
  isInbound: boolean;
  dataType: string;
  processType: string;
  data: unknown;
  createdAt: Date;
}

/** A synchronization of one task with its most recent sync-log entries, newest first. */
export interface SynchronizationDetailRow {
  id: number;
  connectorId: number;
  connectorName: string;
  connectorDisplayName: string;
  attempts: number;
  lastRun: Date | null;
  errorMessage: string | null;
  nextAttemptAt: Date | null;
  status: SynchronizationStatus;
  blockedBy: number | null;
  log: { time: Date; errorMessage: string }[];
}

/** Queue depth of one connector in one direction. */
export interface QueueDepthRow {
  connectorName: string;
  isInbound: boolean;
  depth: number;
}

/** Sync-log entries returned per synchronization by `detail`: the newest ones. */
export const SYNC_LOG_LIMIT = 100;

/**
 * Where-clause of a synchronization filter over `s` (synchronization) and `t` (its task). Only fixed
 * SQL fragments are joined; every value the caller gives travels as a bind parameter (R-SEC-4).
 */
export function filterSql(filter: SynchronizationFilter, params: unknown[]): string {
  params.push(filter.isInbound);
  const where = [`t.is_inbound = $${params.length}`];
  if (filter.connectorId !== undefined) {
    params.push(filter.connectorId);
    where.push(`s.connector_id = $${params.length}`);
  }
  if (filter.taskIds !== undefined) {
    params.push(filter.taskIds);
    where.push(`s.task_id = any($${params.length}::bigint[])`);
  }
  if (filter.status !== undefined) {
    params.push(filter.status);
    // Outgoing statuses other than waiting are on the small partial state index.
    where.push(
      filter.isInbound
        ? `(${STATUS_SQL}) = $${params.length}`
        : filter.status === 'waiting'
          ? `s.state is null and $${params.length}::text = 'waiting'`
          : `s.state = $${params.length}`,
    );
  }
  if (filter.search) {
    params.push(`%${likeLiteral(filter.search)}%`);
    // No index serves a substring match: the keyset walk reads until a page of matches is found.
    where.push(
      `(t.title ilike $${params.length} escape '\\' or t.object_type ilike $${params.length} escape '\\')`,
    );
  }
  return where.join(' and ');
}

function keysetSql(after: SynchronizationKey | undefined, params: unknown[]): string {
  if (!after) return '';
  params.push(after.taskId, after.connectorId);
  const task = `$${params.length - 1}::bigint`;
  const connector = `$${params.length}::int`;
  // PostgreSQL carries equalities across a join but not ranges: the range is written on both sides
  // so that whichever index the plan walks (the task's primary key, its partial inbound index, or
  // the connector's (connector_id, task_id)) starts at the cursor instead of the first row. The
  // row comparison then breaks the tie within one task.
  return (
    ` and s.task_id >= ${task} and t.id >= ${task}` +
    ` and (s.task_id, s.connector_id) > (${task}, ${connector})`
  );
}

/**
 * The statement behind a page of a task list: fixed SQL and bind parameters. Exported for the test
 * that checks its plans.
 */
export function synchronizationListQuery(
  filter: SynchronizationFilter,
  after: SynchronizationKey | undefined,
  limit: number,
): { text: string; params: unknown[] } {
  const params: unknown[] = [];
  const where = filterSql(filter, params) + keysetSql(after, params);
  params.push(limit);
  const limitParam = `$${params.length}`;
  const text = pageOfSynchronizations(
    (source) => `select t.id as "taskId", s.connector_id as "connectorId", c.code_name as "connectorName",
              c.display_name as "connectorDisplayName", t.title, t.task_type as "taskType",
              t.object_type as "objectType", t.object_id as "objectId", t.site_name as "siteName",
              t.data_type as "dataType", t.process_type as "processType", ${isoTimestamp('t.created_at')} as "createdAt",
              s.attempts, ${isoTimestamp('s.last_run')} as "lastRun", s.error_message as "errorMessage",
              ${STATUS_SQL} as status, ${isoTimestamp('s.next_attempt_at')} as "nextAttemptAt",
              ${BLOCKED_BY_SQL} as "blockedBy"
         from ${source} s
         join integration_task t on t.id = s.task_id
         join integration_connector c on c.id = s.connector_id
        where ${where}
        order by s.task_id, s.connector_id
        limit ${limitParam}`,
    '"taskId", "connectorId"',
    limitParam,
  );
  return { text, params };
}

/**
 * Read-side SQL of the management API over tasks, synchronizations and the sync log, plus the bulk
 * delete. Lists are keyset-paginated on (task id, connector id): the order tasks are processed in,
 * and a page costs the same at row 10 and at row 1,000,000.
 *
 * Plans checked with 1,000,000 tasks and 1,100,000 synchronizations (EXPLAIN ANALYZE, PostgreSQL 15),
 * first page and a page at task 900,000 alike:
 * - outgoing, no connector: merge join of `integration_task_pkey` and
 *   `integration_synchronization_task_id_index`, both started at the cursor; ≈ 1.5 ms.
 * - incoming, no connector: index scan of the partial `integration_task_inbound_id_index`
 *   (migration `Migration20261126000000TaskListIndexes`), so outgoing rows are never walked; ≈ 4 ms
 *   (without it, a walk over every outgoing task: 200–500 ms).
 * - one connector: the unique (connector_id, task_id) index from the cursor, merged with the task's
 *   primary key; ≈ 1 ms.
 *
 * Those plans are of the synchronization rows. Tasks queued for one connector alone are read by a
 * second branch (`pageOfSynchronizations`), from the task's primary key at the cursor. Measured at
 * 600,000 such tasks: 4–12 ms a page without a connector filter. With one, 140–480 ms on a first
 * page or past that connector's last task: the primary key walk skips the other connectors' tasks,
 * and the queue index is ordered by partition before id. Not yet solved.
 */
@Injectable()
export class TaskQueryStore {
  constructor(private readonly db: BusDatabase) {}

  /** One page of synchronizations, oldest task first, then by connector. */
  async list(
    filter: SynchronizationFilter,
    after: SynchronizationKey | undefined,
    limit: number,
  ): Promise<SynchronizationListRow[]> {
    const query = synchronizationListQuery(filter, after, limit);
    const rows = await sqlRows<
      Omit<SynchronizationListRow, 'taskId' | 'createdAt' | 'lastRun' | 'nextAttemptAt' | 'blockedBy'> & {
        taskId: string;
        createdAt: string;
        lastRun: string | null;
        nextAttemptAt: string | null;
        blockedBy: string | null;
      }
    >(this.db.pool, query.text, query.params);
    return rows.map((r) => ({
      ...r,
      taskId: Number(r.taskId),
      createdAt: new Date(r.createdAt),
      lastRun: optionalDate(r.lastRun),
      nextAttemptAt: optionalDate(r.nextAttemptAt),
      blockedBy: r.blockedBy === null ? null : Number(r.blockedBy),
    }));
  }

  /**
   * The (task, connector) pairs of a filter, in processing order, a page at a time: what bulk
   * synchronization walks through.
   */
  async pairs(
    filter: SynchronizationFilter,
    after: SynchronizationKey | undefined,
    limit: number,
  ): Promise<(SynchronizationKey & { connectorName: string; objectHash: string | null })[]> {
    const params: unknown[] = [];
    const where = filterSql(filter, params) + keysetSql(after, params);
    params.push(limit);
    const limitParam = `$${params.length}`;
    const rows = await sqlRows<{
      taskId: string;
      connectorId: number;
      connectorName: string;
      objectHash: string | null;
    }>(
      this.db.pool,
      pageOfSynchronizations(
        (
          source,
        ) => `select s.task_id as "taskId", s.connector_id as "connectorId", c.code_name as "connectorName",
                s.object_hash::text as "objectHash"
           from ${source} s
           join integration_task t on t.id = s.task_id
           join integration_connector c on c.id = s.connector_id
          where ${where}
          order by s.task_id, s.connector_id
          limit ${limitParam}`,
        '"taskId", "connectorId"',
        limitParam,
      ),
      params,
    );
    return rows.map((r) => ({ ...r, taskId: Number(r.taskId) }));
  }

  /** A task by id, whatever its direction; `null` when it is gone. */
  async task(taskId: number): Promise<TaskRow | null> {
    const [row] = await sqlRows<Omit<TaskRow, 'id' | 'createdAt'> & { id: string; createdAt: string }>(
      this.db.pool,
      `select id, guid, title, task_type as "taskType", object_type as "objectType", object_id as "objectId",
              node_id as "nodeId", document_id as "documentId", alias_path as "aliasPath",
              site_name as "siteName", is_inbound as "isInbound", data_type as "dataType",
              process_type as "processType", data, ${isoTimestamp('created_at')} as "createdAt"
         from integration_task where id = $1`,
      [taskId],
    );
    return row ? { ...row, id: Number(row.id), createdAt: new Date(row.createdAt) } : null;
  }

  /** A task's synchronizations with the newest `SYNC_LOG_LIMIT` sync-log entries of each. */
  async synchronizations(taskId: number): Promise<SynchronizationDetailRow[]> {
    const rows = await sqlRows<
      Omit<SynchronizationDetailRow, 'id' | 'lastRun' | 'nextAttemptAt' | 'blockedBy'> & {
        id: string;
        lastRun: string | null;
        nextAttemptAt: string | null;
        blockedBy: string | null;
      }
    >(
      this.db.pool,
      `select s.id, s.connector_id as "connectorId", c.code_name as "connectorName",
              c.display_name as "connectorDisplayName", s.attempts, ${isoTimestamp('s.last_run')} as "lastRun",
              s.error_message as "errorMessage", ${isoTimestamp('s.next_attempt_at')} as "nextAttemptAt",
              ${STATUS_SQL} as status, ${BLOCKED_BY_SQL} as "blockedBy",
              coalesce(l.entries, '[]'::json) as log
         from ${SYNCHRONIZATIONS} s
         join integration_task t on t.id = s.task_id
         join integration_connector c on c.id = s.connector_id
         left join lateral (
           select json_agg(json_build_object('time', e.time, 'errorMessage', e.error_message) order by e.id desc)
                  as entries
             from (select id, time, error_message from integration_sync_log
                    where synchronization_id = s.id order by id desc limit $2) e
         ) l on true
        where s.task_id = $1
        order by c.code_name`,
      [taskId, SYNC_LOG_LIMIT],
    );
    return rows.map((r) => ({
      ...r,
      id: Number(r.id),
      lastRun: optionalDate(r.lastRun),
      nextAttemptAt: optionalDate(r.nextAttemptAt),
      blockedBy: r.blockedBy === null ? null : Number(r.blockedBy),
      log: r.log.map((e) => ({ time: new Date(e.time), errorMessage: e.errorMessage })),
    }));
  }

  /**
   * Deletes the synchronizations a filter with `taskIds` selects, and those tasks once no
   * synchronization is left, in one transaction. Task rows are locked first, in id order, as
   * `QueueStore.complete` does, so a processor finishing the same task at that moment cannot leave
   * it behind without synchronizations.
   * @returns synchronizations and tasks removed
   */
  async deleteSelected(
    filter: SynchronizationFilter & { taskIds: readonly number[] },
  ): Promise<{ synchronizations: number; tasks: number }> {
    if (filter.taskIds.length === 0) return { synchronizations: 0, tasks: 0 };
    return this.db.transaction(async (trx: SqlExecutor) => {
      await sqlRows(
        trx,
        `select id from integration_task where id = any($1::bigint[]) and is_inbound = $2 order by id for update`,
        [filter.taskIds, filter.isInbound],
      );
      const params: unknown[] = [];
      const where = filterSql(filter, params);
      // A lone synchronization goes with its task (see SYNCHRONIZATIONS); the others row by row.
      const removed = await sqlRows<{ taskId: string; lone: boolean }>(
        trx,
        `with lone as (
           delete from integration_task d using ${SYNCHRONIZATIONS} s, integration_task t
            where d.id = t.id and t.id = s.task_id and s.id < 0 and d.connector_id is not null and ${where}
           returning d.id
         ), rows as (
           delete from integration_synchronization s using integration_task t
            where t.id = s.task_id and ${where} returning s.task_id
         )
         select id as "taskId", true as lone from lone union all select task_id, false from rows`,
        params,
      );
      const touched = [...new Set(removed.filter((r) => !r.lone).map((r) => r.taskId))];
      const tasks =
        touched.length === 0
          ? []
          : await sqlRows(
              trx,
              `delete from integration_task t where t.id = any($1::bigint[]) and ${nothingQueuedSql()} returning id`,
              [touched],
            );
      const lone = removed.filter((r) => r.lone).length;
      return { synchronizations: removed.length, tasks: tasks.length + lone };
    });
  }

  /**
   * Sets the incoming tasks a filter covers that are in the Error state back to Default: what
   * synchronizing a whole incoming list does first, as synchronizing one task does (R-IN-3).
   * @returns tasks reset
   */
  async resetIncomingErrors(filter: SynchronizationFilter): Promise<number> {
    const params: unknown[] = [];
    const where = filterSql({ ...filter, isInbound: true }, params);
    const rows = await sqlRows(
      this.db.pool,
      `update integration_task set process_type = 'DEFAULT'
        where process_type = 'ERROR' and is_inbound
          and id in (select s.task_id from integration_synchronization s
                       join integration_task t on t.id = s.task_id where ${where})
        returning id`,
      params,
    );
    return rows.length;
  }

  /**
   * The next `limit` distinct task ids a filter covers after `afterTaskId`, in id order: how bulk
   * deletion of a whole list walks it in bounded transactions.
   */
  async taskIds(filter: SynchronizationFilter, afterTaskId: number, limit: number): Promise<number[]> {
    const params: unknown[] = [];
    const where = filterSql(filter, params);
    params.push(afterTaskId, limit);
    const limitParam = `$${params.length}`;
    // A task is lone or has rows, never both: the two reads give distinct ids.
    const rows = await sqlRows<{ taskId: string }>(
      this.db.pool,
      pageOfSynchronizations(
        (source) => `select distinct s.task_id as "taskId"
           from ${source} s
           join integration_task t on t.id = s.task_id
          where ${where} and s.task_id > $${params.length - 1}
          order by s.task_id
          limit ${limitParam}`,
        '"taskId"',
        limitParam,
      ),
      params,
    );
    return rows.map((r) => Number(r.taskId));
  }

  /**
   * Synchronizations waiting, per connector (every connector, zeros included) and direction.
   * Incoming counts come through the small partial index of inbound tasks, outgoing ones as the
   * rest: with 1,000,000 queued tasks this takes ≈ 0.2 s where a join and group-by over both
   * tables took ≈ 1 s.
   */
  async queueDepth(): Promise<QueueDepthRow[]> {
    const rows = await sqlRows<{ connectorName: string; outgoing: number; incoming: number }>(
      this.db.pool,
      `with total as (
         select connector_id, count(*) as n from ${SYNCHRONIZATIONS} s group by connector_id
       ), inbound as (
         select s.connector_id, count(*) as n
           from integration_task t join integration_synchronization s on s.task_id = t.id
          where t.is_inbound group by s.connector_id
       )
       select c.code_name as "connectorName",
              (coalesce(total.n, 0) - coalesce(inbound.n, 0))::int as outgoing,
              coalesce(inbound.n, 0)::int as incoming
         from integration_connector c
         left join total on total.connector_id = c.id
         left join inbound on inbound.connector_id = c.id
        order by c.code_name`,
    );
    return rows.flatMap((r) => [
      { connectorName: r.connectorName, isInbound: false, depth: r.outgoing },
      { connectorName: r.connectorName, isInbound: true, depth: r.incoming },
    ]);
  }

  /**
   * Synchronizations per connector, direction and status other than `waiting` (R-DEL-7), by the one
   * definition of a status (`STATUS_SQL`): outgoing ones from the small partial state index,
   * incoming ones that failed or are retried (Error process type, or an attempt that did not
   * succeed) through the partial index of inbound tasks. Waiting ones are the queue depth minus these.
   */
  async statusCounts(): Promise<
    { connectorName: string; isInbound: boolean; status: SynchronizationStatus; count: number }[]
  > {
    return sqlRows(
      this.db.pool,
      `select c.code_name as "connectorName", false as "isInbound", s.state as status, count(*)::int as count
         from integration_synchronization s join integration_connector c on c.id = s.connector_id
        where s.state is not null
        group by c.code_name, s.state
       union all
       select c.code_name, true, ${STATUS_SQL} as status, count(*)::int
         from integration_task t
         join integration_synchronization s on s.task_id = t.id
         join integration_connector c on c.id = s.connector_id
        where t.is_inbound and (t.process_type = 'ERROR' or s.error_message is not null)
        group by c.code_name, 3`,
    );
  }

  /** Answers when the database does: what `GET /{path}/health` checks. */
  async ping(): Promise<void> {
    await sqlRows(this.db.pool, 'select 1');
  }
}
