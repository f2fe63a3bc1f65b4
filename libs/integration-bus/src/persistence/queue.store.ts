import { Injectable } from '@nestjs/common';
import type { IntegrationTaskInfo } from '../events/integration-task-event.js';
import { ClaimLostError } from '../errors/claim-lost.error.js';
import { BUS_EVENT_SOURCE, BusEventCodes } from '../events/bus-event-codes.js';
import { BusDatabase, sqlRows, type SqlExecutor } from './bus-database.js';
import type { LeaseScope, LeaseToken } from './lease-scope.js';
import { decodeQueuedRows, type QueuedSynchronization, type SynchronizationState } from './queued-row.js';
import {
  dueSql,
  heldBackSql,
  objectKeySql,
  leaseArguments,
  leaseHeldSql,
  leaseReleaseSql,
  nextRunDueSql,
  notPausedSql,
  perLeaseShape,
  type LeaseParameter,
} from './queue-rules.js';
import { SqlStatement, type PlaceParameter } from './sql-statement.js';
import { isLoneId, loneTaskId, nothingQueuedSql, rowTaskIds, SYNCHRONIZATIONS } from './synchronizations.js';
import { retryOnWriteConflict } from './write-conflict.js';
import type { TaskPayload } from './task-payload.js';

export type { QueuedSynchronization, SynchronizationState } from './queued-row.js';

/** The payload of a queued task. */
export function parseTaskPayload(row: Pick<QueuedSynchronization, 'dataJson'>): TaskPayload {
  return JSON.parse(row.dataJson) as TaskPayload;
}

/** An attempt that did not succeed, as written back. */
export interface UnsuccessfulAttempt {
  syncId: string;
  /** Null for incoming tasks, whose process type says what happens next (R-IN-3). */
  state: SynchronizationState | null;
  /** For the row and the sync log; null writes no log entry (SkipNow without a message). */
  message: string | null;
  /** When the task is due again, in milliseconds from now; null: no automatic retry scheduled. */
  retryInMs: number | null;
  /** Whether it counts towards `retry.maxAttempts` (everything but SkipNow). */
  failure: boolean;
  /** Whether it counts towards `retry.skipNow.maxAttempts` (SkipNow). */
  skip: boolean;
}

/** The outcome of a batch, written back in one transaction. */
export interface BatchCompletion {
  /** Synchronizations processed successfully (deleted, and their tasks once no synchronization is left). */
  done: { syncId: string; taskId: string }[];
  /** Attempts that did not succeed: attempts + 1, state, next attempt, message on the row and in the log. */
  unsuccessful: UnsuccessfulAttempt[];
  /**
   * Tasks completed by an earlier batch that may have been left with no synchronization (another
   * connector completed them at the same instant): deleted now if none is left.
   */
  recheck?: string[];
  /**
   * Synchronizations superseded by a later queued change of their object (R-EXT-3, `coalesce:
   * 'latest'`): deleted like the done ones, never delivered, an event-log entry each. Written by
   * `complete` under the run's lease.
   */
  superseded?: SupersededSynchronization[];
}

/** A synchronization superseded by a later queued change of the same object (R-EXT-3). */
export interface SupersededSynchronization {
  syncId: string;
  taskId: string;
  title: string;
  /** The later task, still queued, that carries the object's newer state. */
  by: string;
}

/** The latest queued snapshot task per object of a queue (see `QueueStore.latestQueued`). */
export interface LatestQueued {
  /** Object key (`objectKeyOf`) → its latest queued task id. */
  latest: Map<string, string>;
  /** The highest task id the read saw, or null when it saw none. */
  horizon: string | null;
}

/** A completion written only while the run still holds its lease (R-DEL-2); see `leaseHeldSql`. */
export type FencedBy = LeaseToken | undefined;

/**
 * Gives the lone synchronizations among `attempts` a row of their own (their state must be kept),
 * moving them off their task, and returns the attempts with their rows' ids.
 */
async function giveRows(trx: SqlExecutor, attempts: UnsuccessfulAttempt[]): Promise<UnsuccessfulAttempt[]> {
  const lone = attempts.filter((a) => isLoneId(a.syncId));
  if (lone.length === 0) return attempts;
  const rows = await sqlRows<{ id: string; taskId: string }>(
    trx,
    `with src as (
       select id, connector_id, handler, partition, object_hash from integration_task
        where id = any($1::bigint[]) and connector_id is not null order by id for update
     ), moved as (
       update integration_task t set connector_id = null, handler = null, partition = 0, object_hash = null
         from src where t.id = src.id
     )
     insert into integration_synchronization (task_id, connector_id, handler, partition, object_hash)
     select id, connector_id, handler, partition, object_hash from src
     returning id, task_id as "taskId"`,
    [lone.map((a) => loneTaskId(a.syncId))],
  );
  const idOf = new Map(rows.map((r) => [`-${r.taskId}`, r.id]));
  return attempts.map((a) => (isLoneId(a.syncId) ? { ...a, syncId: idOf.get(a.syncId) ?? a.syncId } : a));
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

/** One outgoing FIFO: a connector's whole queue (partition 0) or one of its partitions. */
export interface OutgoingQueue {
  connectorId: number;
  partition: number;
}

/** The reading statement's snapshot, once per statement (an uncorrelated sub-select). */
const SNAPSHOT_COLUMN = `(select pg_snapshot_xmin(c) || ':' || pg_snapshot_xmax(c) from pg_current_snapshot() as c) as snapshot`;

/** A task's columns as a processor reads them. */
const TASK_COLUMNS = `t.id as "taskId", t.guid, t.title,
         t.task_type as "taskType", t.object_type as "objectType", t.object_id as "objectId",
         t.node_id as "nodeId", t.site_name as "siteName", t.data_type as "dataType", t.process_type as "processType",
         t.is_inbound as "isInbound", t.data::text as "dataJson", t.trace_parent as "traceParent",
         (extract(epoch from t.created_at) * 1000)::float8 as "createdAtMs"`;
const QUEUED_COLUMNS = `
         s.id as "syncId", s.attempts, s.failures, s.skips, s.state, s.partition, s.object_hash as "objectHash",
         s.handler, ${TASK_COLUMNS}`;
/** The same for a lone task, which holds its one synchronization (see `SYNCHRONIZATIONS`). */
const LONE_COLUMNS = `
         -t.id as "syncId", 0 as attempts, 0 as failures, 0 as skips, null as state, t.partition,
         t.object_hash as "objectHash", t.handler, ${TASK_COLUMNS}`;
/** Every synchronization, lone or with a row, joined with its task. */
const SELECT_QUEUED = `select ${QUEUED_COLUMNS} from ${SYNCHRONIZATIONS} s join integration_task t on t.id = s.task_id`;
/** Synchronizations that have a row (all of the incoming ones) and their tasks. */
const ROWS_FROM = `from integration_synchronization s join integration_task t on t.id = s.task_id`;
const SELECT_ROWS = `select ${QUEUED_COLUMNS} ${ROWS_FROM}`;

/** The parameters of the drain's reads. */
export type FetchParameter = 'connectorId' | 'partition' | 'asOf' | 'limit' | 'excluded' | 'floor';

/**
 * Which outgoing synchronizations a run may take, head of the queue first (see `fetchOutgoing`):
 * the rows of `integration_synchronization` and the lone tasks, each read in task order from its
 * own index and merged. `excluded`: synchronization ids to leave out; `floor`: the task id below
 * which nothing can still appear (`DrainFloor`); `partition` 0 is the connector's one FIFO. After a
 * completion in the same statement, `extra` is added to both branches and `excluded` is the done
 * synchronizations: the statement's snapshot still sees the rows it deletes. What a failed synchronization holds back is the queue's rule
 * (`heldBackSql`); a failed synchronization always has a row: the attempt that failed gave it one.
 */
export function selectOutgoing(
  param: PlaceParameter<Exclude<FetchParameter, 'excluded'>>,
  excluded: string,
  extra = '',
): string {
  const connector = param('connectorId', 'int');
  const partition = param('partition', 'smallint');
  const floor = param('floor', 'bigint');
  const limit = param('limit', 'int');
  const held = (taskId: string, objectHash: string) =>
    heldBackSql({ connector, partition, taskId, objectHash, except: excluded });
  const callable = notPausedSql(connector);
  return `select q.*, ${SNAPSHOT_COLUMN} from (
    (select ${QUEUED_COLUMNS}
       ${ROWS_FROM}
      where s.connector_id = ${connector} and s.partition = ${partition}${extra}
        and not t.is_inbound and s.task_id > ${floor} and ${callable}
        and not ${held('s.task_id', 's.object_hash')}
        and ${dueSql(param('asOf', 'timestamptz'))}
        and s.id <> all(${excluded})
      order by s.task_id
      limit ${limit})
    union all
    (select ${LONE_COLUMNS}
       from integration_task t
      where t.connector_id = ${connector} and t.partition = ${partition}${extra}
        and t.id > ${floor} and ${callable}
        and not ${held('t.id', 't.object_hash')}
        and -t.id <> all(${excluded})
      order by t.id
      limit ${limit})
  ) q
  order by q."taskId"
  limit ${limit}`;
}

/** The parameters of a batch's completion, beyond the lease's. */
type CompletionParameter = 'done' | 'shared';

/**
 * A batch's done synchronizations written under the run's lease, as the CTEs `lease`, `locked`,
 * `done`, `lone` and `gone` of one statement (see `completeAndFetch`): done lone tasks are deleted
 * with their synchronization, the others' rows first and their tasks once nothing is left. `done`:
 * the done synchronization ids; `shared`: the tasks that other connectors may be finishing at the
 * same time (`completionArguments`).
 *
 * Lock order (R-DEL-2, no deadlock between the bus's own writes): a task row before its
 * synchronization rows, and task rows in id order, as in `complete` and `delete`. `locked` takes, in
 * id order, the locks of the shared tasks this write deletes (none is left for another connector in
 * its snapshot); `done` waits for it (its sub-select of `locked` is evaluated once, before its first
 * row). Two connectors that both found the same tasks finished (two rechecks after a race, see
 * `completeAndFetch`) used to delete them in whatever order each plan met them, and PostgreSQL broke
 * the cycle by failing one statement: the victim's batch was delivered again. Only the rows deleted
 * are locked, so connectors finishing shared tasks side by side do not wait for each other. Lone
 * tasks are not locked first: no other connector writes them.
 */
function completionCtes(
  lease: LeaseScope,
  param: PlaceParameter<CompletionParameter | LeaseParameter>,
): string {
  const done = param('done', 'bigint[]');
  return `with lease as (${leaseHeldSql(lease, param)}
       ), locked as materialized (
         select t.id from integration_task t
          where t.id = any(${param('shared', 'bigint[]')}) and ${nothingQueuedSql(done)}
            and exists (select 1 from lease)
          order by t.id for update
       ), done as (
         delete from integration_synchronization
          where id = any(${done}) and exists (select 1 from lease) and (select count(*) from locked) >= 0
         returning task_id
       ), lone as (
         delete from integration_task
          where id = any(array(select -d from unnest(${done}) as d where d < 0)) and connector_id is not null
            and exists (select 1 from lease)
       ), gone as (
         delete from integration_task t using locked where t.id = locked.id
       )`;
}

/** The drain's reads and writes, each built once (per lease shape for the fenced ones). */
const FETCH_OUTGOING = new SqlStatement<FetchParameter>((param) =>
  selectOutgoing(param, param('excluded', 'bigint[]')),
);
const COMPLETE_AND_FETCH = perLeaseShape<CompletionParameter | FetchParameter>(
  (lease, param) =>
    `${completionCtes(lease, param)} ${selectOutgoing(param, param('excluded', 'bigint[]'), ' and exists (select 1 from lease)')}`,
);
const COMPLETE_LAST = perLeaseShape<CompletionParameter>(
  (lease, param) => `${completionCtes(lease, param)},
       released as (${leaseReleaseSql(lease, param)} and exists (select 1 from lease))
       select exists (select 1 from lease) as held`,
);
const LEASE_HELD = perLeaseShape<never>((lease, param) => leaseHeldSql(lease, param));

/** Shared tasks with nothing queued any more, deleted in id order (see `deleteFinished`). */
const DELETE_FINISHED = new SqlStatement<'taskIds'>(
  (param) => `with finished as materialized (
       select t.id from integration_task t
        where t.id = any(${param('taskIds', 'bigint[]')}) and ${nothingQueuedSql()}
        order by t.id for update of t skip locked
     )
     delete from integration_task t using finished where t.id = finished.id`,
);

/**
 * Ids as one `bigint[]` parameter in PostgreSQL's array syntax. Not a JavaScript array: the driver
 * would quote and escape its elements one by one (a tenth of the drain's allocations, profiled).
 * Not a comma-separated text split in SQL either: in a prepared statement's generic plan, the split
 * is evaluated again for every row the filter looks at.
 */
export function idArray(ids: readonly string[]): string {
  return `{${ids.join(',')}}`;
}

/**
 * The arguments of `completionCtes`. The tasks to lock and maybe delete: those of the done
 * synchronizations that have a row (a shared task, or one that failed before), and the tasks to
 * recheck; each is deleted once no synchronization is left.
 */
function completionArguments(
  batch: BatchCompletion,
  lease: LeaseToken,
): Record<CompletionParameter | LeaseParameter, unknown> {
  const shared = new Set([...(batch.recheck ?? []), ...rowTaskIds(batch.done)]);
  return {
    ...leaseArguments(lease),
    done: idArray(batch.done.map((d) => d.syncId)),
    shared: idArray([...shared]),
  };
}

/**
 * The queue as the processors see it (R-OUT-6, R-DEL-1..6, R-IN-2): what a run reads, and how it
 * writes a batch's outcome under its lease. SQL over `integration_task`, `integration_synchronization`
 * and `integration_sync_log`; the change log (`ChangeLogStore`) writes the tasks, the administration
 * (`TaskAdminStore`) acts on them by hand.
 */
@Injectable()
export class QueueStore {
  constructor(private readonly db: BusDatabase) {}

  /**
   * The incoming synchronizations of a connector after `afterTaskId`, oldest task first: one index
   * range scan on (connector_id, task_id). Incoming tasks are processed and completed one at a time,
   * so a run keeps its place with this cursor (a task skipped this run stays behind it).
   */
  fetchIncoming(connectorId: number, afterTaskId: string, limit: number): Promise<QueuedSynchronization[]> {
    return sqlRows<QueuedSynchronization>(
      this.db.pool,
      `${SELECT_ROWS}
        where s.connector_id = $1 and s.task_id > $2 and t.is_inbound
        order by s.task_id
        limit $3`,
      [connectorId, afterTaskId, limit],
    );
  }

  /**
   * The next outgoing synchronizations a run may process, oldest task first (R-OUT-6, R-DEL-1,
   * R-DEL-5), above `floor`.
   *
   * Why not simply after the last task processed: task ids come from a sequence when the change is
   * flushed, not when it commits, so a transaction that stays open after its flush commits a task
   * below ids the drain has already passed. A plain cursor skipped it until a later run, by which
   * time the object's next change (a higher id, logged once the row lock was released) had been
   * delivered: the external system ended on the older version (issue 10: 3 of 6 attempts). Reading
   * from the head of the queue every time fixes that (one object's changes are serialised by its
   * row lock, so the later change commits after the earlier one is visible, and no batch can hold
   * the later without the earlier), but each read then walks the index entries of every task the
   * run has deleted: measured on the bench, PostgreSQL's CPU per 1,000 tasks went from 18 to 47 ms.
   * So each read starts at a floor below which no task can appear any more: `DrainFloor` moves it
   * up to a point the run passed once every transaction that was open then has ended (the
   * snapshot's `xmin` has passed that read's `xmax`). With short transactions it trails the run by
   * a batch or two; a long-open transaction holds it back (more to walk, never a task skipped).
   *
   * Which rows: waiting ones, and failed, retrying or skipped ones whose `next_attempt_at` had come
   * when the run started (`asOf`, the database's clock at the claim: what fails during the run is
   * not retried within it). Nothing at or after the first `failed` synchronization unless that one
   * is due: Error holds the connector's later tasks until its retry. Parked ones never.
   */
  fetchOutgoing(
    queue: OutgoingQueue,
    asOf: string,
    floor: string,
    limit: number,
    inHand: readonly string[] = [],
  ): Promise<QueuedSynchronization[]> {
    const args = {
      connectorId: queue.connectorId,
      partition: queue.partition,
      asOf,
      limit,
      floor,
      excluded: idArray(inHand),
    };
    return this.db.preparedDecoded(FETCH_OUTGOING.text, FETCH_OUTGOING.values(args), decodeQueuedRows);
  }

  /**
   * Writes a batch's outcome and reads the next batch in one round trip (the drain's hot path),
   * fenced by the run's lease: once another instance has claimed the connector, nothing is deleted
   * and no batch is returned.
   *
   * Measured on the bench (one no-op connector, batches of 100): the separate complete-in-a-
   * transaction (BEGIN, lock, two deletes, COMMIT) plus fetch cost six round trips per batch and
   * capped the drain near 8,500 tasks/s; one statement per batch removes five. The price: two
   * connectors finishing the same shared task at the same instant may each still see the other's
   * synchronization and both leave the task (no list or processor sees such a task: it has no
   * synchronization left). The processor therefore passes the previous batch's tasks back as
   * `recheck` when connectors share tasks: by then the other completion has committed. What still
   * slips through (both connectors racing twice in a row) is deleted by the sweep
   * (`deleteOrphans`). Unsuccessful attempts (rare) are written first, separately.
   * `inHand`: synchronization ids the read leaves out besides the done ones (a batch connector's call
   * still in flight, whose outcomes are written with the next batch).
   */
  async completeAndFetch(
    batch: BatchCompletion,
    lease: LeaseToken,
    asOf: string,
    floor: string,
    limit: number,
    inHand: readonly string[] = [],
  ): Promise<QueuedSynchronization[]> {
    if (batch.unsuccessful.length > 0 || batch.superseded?.length) {
      await this.complete(
        { done: [], unsuccessful: batch.unsuccessful, superseded: batch.superseded },
        lease,
      );
    }
    if (batch.done.length === 0 && !batch.recheck?.length) {
      return this.fetchOutgoing(lease, asOf, floor, limit, inHand);
    }
    const statement = COMPLETE_AND_FETCH(lease);
    const excluded =
      inHand.length === 0 ? undefined : idArray([...batch.done.map((d) => d.syncId), ...inHand]);
    const completion = completionArguments(batch, lease);
    const args = { ...completion, excluded: excluded ?? completion.done, asOf, limit, floor };
    return retryOnWriteConflict(() =>
      this.db.preparedDecoded(statement.text, statement.values(args), decodeQueuedRows),
    );
  }

  /**
   * Writes a run's last batch and gives the run's lease back, in one statement (no next batch to
   * read), fenced like `completeAndFetch`: a `ClaimLostError` when the lease is gone, and nothing
   * written. For a connector whose tasks no other connector shares and a batch without unsuccessful
   * attempts: the common end of a run, one round trip instead of the locking transaction of
   * `complete` and the release after it.
   * @returns whether the lease was released (otherwise the caller releases it)
   */
  async completeLast(batch: BatchCompletion, lease: LeaseToken): Promise<boolean> {
    if (
      batch.unsuccessful.length > 0 ||
      batch.superseded?.length ||
      (batch.done.length === 0 && !batch.recheck?.length)
    ) {
      await this.complete(batch, lease);
      return false;
    }
    const statement = COMPLETE_LAST(lease);
    const values = statement.values(completionArguments(batch, lease));
    const [row] = await retryOnWriteConflict(() =>
      this.db.prepared<{ held: boolean }>(statement.text, values),
    );
    if (!row?.held) throw new ClaimLostError(`#${lease.connectorId}`, 'its epoch is gone');
    return true;
  }

  /**
   * Deletes those of `taskIds` that no connector is queued for any more, after the caller's own
   * completion has committed: the cleanup of shared tasks at a run's end, in place of locking every
   * done task before the write (`complete`), where four connectors finishing the same tasks queued
   * behind each other's transactions (measured under live traffic with `ordering: 'object'`: 71 ms
   * per lock wait, the partitions' lease renewals stuck behind them).
   *
   * Why nothing is left behind: of two connectors finishing the last two synchronizations of a
   * task, the one that commits second runs this after its commit, which is after the other's, so
   * its snapshot sees both gone. A task another completion holds locked is passed over (`skip
   * locked`, never a lock cycle): that completion locked it to delete it. What a crash between the
   * commit and this statement leaves is deleted by the sweep (`sweepOrphans`).
   */
  async deleteFinished(taskIds: readonly string[]): Promise<void> {
    if (taskIds.length === 0) return;
    await this.db.prepared(DELETE_FINISHED.text, DELETE_FINISHED.values({ taskIds: idArray(taskIds) }));
  }

  /**
   * For coalescing (R-EXT-3): the latest queued snapshot task (SimpleSnapshot, Snapshot) of each
   * object in `queue` among those after task `afterTaskId`, and the highest task id seen. With
   * `minTasks` 2, objects with a single task there are left out (nothing of theirs can be superseded
   * by what the read saw). Parked synchronizations are not queued work and count for nothing. One
   * range scan of the queue's two indexes from `afterTaskId`, so a run reads each task once.
   */
  async latestQueued(queue: OutgoingQueue, afterTaskId: string, minTasks: 1 | 2): Promise<LatestQueued> {
    const key = objectKeySql('t.object_type', 't.object_id', 't.node_id', 't.title');
    const rows = await sqlRows<{ key: string | null; taskId: string }>(
      this.db.pool,
      `with q as (
         select ${key} as key, t.id as task_id from integration_task t
          where t.connector_id = $1 and t.partition = $2 and t.id > $3
            and t.data_type in ('SIMPLESNAPSHOT', 'SNAPSHOT')
         union all
         select ${key}, s.task_id from integration_synchronization s join integration_task t on t.id = s.task_id
          where s.connector_id = $1 and s.partition = $2 and s.task_id > $3 and s.state is distinct from 'parked'
            and not t.is_inbound and t.data_type in ('SIMPLESNAPSHOT', 'SNAPSHOT')
       ), g as (select key, max(task_id) as last, count(*) as n from q group by key)
       select key, last::text as "taskId" from g where n >= $4
       union all
       select null, max(last)::text from g`,
      [queue.connectorId, queue.partition, afterTaskId, minTasks],
    );
    const latest = new Map<string, string>();
    let horizon: string | null = null;
    for (const row of rows) {
      if (row.key === null) horizon = row.taskId;
      else latest.set(row.key, row.taskId);
    }
    return { latest, horizon };
  }

  /** One synchronization of a task for a connector, if still queued, whatever its state. */
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
      `select connector_id as "connectorId" from ${SYNCHRONIZATIONS} s where task_id = $1 order by id`,
      [taskId],
    );
    return rows.map((r) => r.connectorId);
  }

  /**
   * When a connector's next automatic retry is due, in milliseconds from now (0 or less: due now);
   * null when none is scheduled. Read from the partial state index.
   */
  async nextRetryInMs(connectorId: number): Promise<number | null> {
    const [row] = await sqlRows<{ due: number | null }>(
      this.db.pool,
      // While the connector is paused (R-EXT-2), nothing is due before the pause ends.
      `select ${nextRunDueSql('$1')} as due`,
      [connectorId],
    );
    return row?.due ?? null;
  }

  /**
   * Writes a batch's outcome in one transaction; with `lease`, only while the run still holds it
   * (a `ClaimLostError` otherwise, and nothing written). Task rows are locked first, in id order
   * (the lock order of `completionCtes`), so that two connectors finishing the same task at once
   * cannot both leave it behind with no synchronization. A deadlock or serialization failure writes
   * it again (`retryOnWriteConflict`).
   * Synchronizations parked by this batch leave an entry in the event log, and so do superseded
   * ones (R-EXT-3), which are deleted like the done ones in the same transaction.
   */
  async complete(
    given: BatchCompletion,
    lease?: FencedBy,
    extra?: (trx: SqlExecutor) => Promise<void>,
  ): Promise<void> {
    const superseded = given.superseded ?? [];
    const batch = { ...given, done: [...given.done, ...superseded] };
    const recheck = batch.recheck ?? [];
    const empty = [batch.done, batch.unsuccessful, recheck].every((list) => list.length === 0);
    if (empty && !extra) return;
    if (superseded.length > 0 && !lease) throw new Error("Superseded tasks are written under a run's lease.");
    await retryOnWriteConflict(() =>
      this.db.transaction(async (trx) => {
        if (lease) {
          const fence = LEASE_HELD(lease);
          const held = await sqlRows(trx, fence.text, fence.values(leaseArguments(lease)));
          if (held.length === 0) throw new ClaimLostError(`#${lease.connectorId}`, 'its epoch is gone');
        }
        if (batch.done.length > 0 || recheck.length > 0) {
          const taskIds = [...new Set([...batch.done.map((d) => d.taskId), ...recheck])];
          await sqlRows(
            trx,
            `select id from integration_task where id = any($1::bigint[]) order by id for update`,
            [taskIds],
          );
          const lone = batch.done.filter((d) => isLoneId(d.syncId));
          await sqlRows(
            trx,
            `with lone as (delete from integration_task where id = any($2::bigint[]) and connector_id is not null)
           delete from integration_synchronization where id = any($1::bigint[])`,
            [batch.done.filter((d) => !isLoneId(d.syncId)).map((d) => d.syncId), lone.map((d) => d.taskId)],
          );
          await sqlRows(
            trx,
            `delete from integration_task t where t.id = any($1::bigint[]) and ${nothingQueuedSql()}`,
            [taskIds],
          );
        }
        if (batch.unsuccessful.length > 0) {
          const list = await giveRows(trx, batch.unsuccessful);
          await sqlRows(
            trx,
            `with f as (select * from unnest($1::bigint[], $2::text[], $3::text[], $4::float8[], $5::bool[], $6::bool[])
                                   as f(id, state, message, retry_in, failure, skip)),
                u as (update integration_synchronization s
                         set attempts = s.attempts + 1, failures = s.failures + f.failure::int,
                             skips = s.skips + f.skip::int,
                             last_run = now(), error_message = f.message, state = f.state,
                             next_attempt_at = now() + make_interval(secs => f.retry_in / 1000)
                        from f where s.id = f.id
                      returning s.id, s.task_id, s.connector_id, s.failures, s.skips, f.skip, f.state, f.message),
                l as (insert into integration_sync_log (synchronization_id, error_message)
                      select id, message from u where message is not null)
           insert into integration_event_log (level, source, event_code, message, connector_name, task_id)
           select 'warning', '${BUS_EVENT_SOURCE}', '${BusEventCodes.TaskParked}',
                  format('Task %s "%s" parked for %s after %s: %s', t.id, t.title, c.code_name,
                         case when u.skip then u.skips || ' SkipNow answers' else u.failures || ' failed attempts' end,
                         coalesce(u.message, '(no message)')),
                  c.code_name, t.id
             from u join integration_task t on t.id = u.task_id join integration_connector c on c.id = u.connector_id
            where u.state = 'parked'`,
            [
              list.map((f) => f.syncId),
              list.map((f) => f.state),
              list.map((f) => f.message),
              list.map((f) => f.retryInMs),
              list.map((f) => f.failure),
              list.map((f) => f.skip),
            ],
          );
        }
        if (superseded.length > 0 && lease) {
          await sqlRows(
            trx,
            `insert into integration_event_log (level, source, event_code, message, connector_name, task_id)
             select 'info', '${BUS_EVENT_SOURCE}', '${BusEventCodes.TaskSuperseded}',
                    format('Task %s "%s" superseded for %s by task %s, a later change of the same object (coalesce: latest)',
                           x.task_id, x.title, c.code_name, x.by),
                    c.code_name, x.task_id
               from unnest($1::bigint[], $2::text[], $3::bigint[]) as x(task_id, title, by)
               join integration_connector c on c.id = $4`,
            [
              superseded.map((x) => x.taskId),
              superseded.map((x) => x.title),
              superseded.map((x) => x.by),
              lease.connectorId,
            ],
          );
        }
        await extra?.(trx);
      }),
    );
  }

  /**
   * One step of the sweep's orphan check: the next `limit` tasks after `afterTaskId` (a primary-key
   * range and one index probe each), deleting those no connector is queued for any more (two
   * connectors finishing a shared task at the same instant can leave one, see `completeAndFetch`).
   * One instance at a time: the others skip the step. A task locked by a completion is passed over
   * (`skip locked`), never waited for: the sweep takes no part in a lock cycle. Successive steps walk the whole table and
   * start over, so a sweep never scans a large queue in full.
   * @returns how many were deleted, and where the next step starts (`'0'`: from the beginning)
   */
  async sweepOrphans(afterTaskId: string, limit: number): Promise<{ deleted: number; next: string }> {
    const [row] = await sqlRows<{ locked: boolean; deleted: number; scanned: number; last: string | null }>(
      this.db.pool,
      `with lock as materialized (
         select pg_try_advisory_xact_lock(hashtext('integration_bus.orphan_sweep')) as locked
       ), scan as (
         select id from integration_task where id > $1::bigint and (select locked from lock) order by id limit $2
       ), orphans as (
         select t.id from integration_task t join scan on scan.id = t.id
          where ${nothingQueuedSql()} order by t.id for update of t skip locked
       ), gone as (
         delete from integration_task t using orphans where t.id = orphans.id returning t.id
       )
       select (select locked from lock) as locked, (select count(*) from gone)::int as deleted,
              (select count(*) from scan)::int as scanned, (select max(id)::text from scan) as last`,
      [afterTaskId, limit],
    );
    if (!row?.locked) return { deleted: 0, next: afterTaskId };
    return { deleted: row.deleted, next: row.scanned < limit || !row.last ? '0' : row.last };
  }
}
