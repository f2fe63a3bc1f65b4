import { Injectable } from '@nestjs/common';
import { BusDatabase, isoTimestamp, optionalDate, sqlRows } from './bus-database.js';
import { failingSinceEntrySql } from './queue-rules.js';
import { nothingQueuedSql } from './synchronizations.js';

/**
 * Every batch of pruning takes this lock for its one statement, or does nothing: two instances never
 * prune at the same moment (R-OPS-1), and one that finds the lock taken stops its pass. A
 * transaction lock, so a process that dies or freezes cannot keep it.
 */
const LOCK = `select pg_try_advisory_xact_lock(hashtext('integration_bus.retention')) as locked`;

/** One batch of a prune that works from one end of its table. */
export interface PruneBatch {
  /** False when another instance held the lock: nothing was looked at. */
  locked: boolean;
  deleted: number;
}

/** One batch of a walk over a table in key order, and where the next batch starts. */
export interface PruneWalkBatch<K> extends PruneBatch {
  /** Where the next batch starts; null when the walk is over (the end, or only rows to keep after it). */
  next: K | null;
}

/** One batch of the parked synchronizations removed. */
export interface ParkedPruneBatch extends PruneBatch {
  /** Tasks removed with them, once no connector was left queued for them. */
  tasksDeleted: number;
  /** Synchronizations removed, by connector code name. */
  byConnector: Record<string, number>;
}

/** Where a walk over `integration_intake_sequence` stands: the last key looked at. */
export interface IntakeSequenceKey {
  connectorId: number;
  sequenceKey: string;
}

/** The oldest of each kind still kept (null: none). */
export interface RetainedOldest {
  syncLog: Date | null;
  eventLog: Date | null;
  parked: Date | null;
  idempotencyKey: Date | null;
}

type WalkRow = {
  locked: boolean;
  deleted: number;
  scanned: number;
  last: string | null;
  lastExpired: boolean;
};

/** The next start of an id walk: over when the window was short or its last row is kept. */
function nextId(row: WalkRow | undefined, limit: number): PruneWalkBatch<string> {
  if (!row?.locked) return { locked: false, deleted: 0, next: null };
  const over = row.scanned < limit || !row.lastExpired || row.last === null;
  return { locked: true, deleted: row.deleted, next: over ? null : row.last };
}

/**
 * The deletes of retention (R-OPS-1), each one bounded batch in one statement under the retention
 * lock (`LOCK`). They take no part in a lock cycle with delivery: rows someone else holds are skipped
 * (`skip locked`), never waited for, and the next pass takes them.
 *
 * The two logs are cut from their oldest end, by id: a window of `limit` rows after the last one
 * looked at (one primary-key range, no index on time needed), of which the expired ones go. Ids and
 * times rise together (a row's time is its transaction's start), so the walk ends at the first window
 * whose last row is kept; a row written by a long transaction is pruned once the rows before it are.
 */
@Injectable()
export class RetentionStore {
  constructor(private readonly db: BusDatabase) {}

  /**
   * Deletes sync-log entries older than `days` among the `limit` after id `afterId`. The entry a
   * failed synchronization's current run of failures began with is kept (`failingSinceEntrySql`): the
   * health report and the Overview date how long it has blocked its queue from it.
   */
  async pruneSyncLog(days: number, afterId: string, limit: number): Promise<PruneWalkBatch<string>> {
    const [row] = await sqlRows<WalkRow>(
      this.db.pool,
      `with lock as materialized (${LOCK}),
       scan as materialized (
         select id, synchronization_id, time < now() - make_interval(days => $3::int) as expired
           from integration_sync_log where id > $1::bigint and (select locked from lock) order by id limit $2
       ), kept as materialized (
         -- Once per failed synchronization in the window, not once per entry: the rule reads as
         -- many of its entries as it has failures.
         select ${failingSinceEntrySql('s', 'id')} as id from integration_synchronization s
          where s.id in (select synchronization_id from scan where expired) and s.state = 'failed'
       ), gone as (
         delete from integration_sync_log l using scan
          where l.id = scan.id and scan.expired and not exists (select 1 from kept where kept.id = scan.id)
         returning l.id
       )
       select (select locked from lock) as locked, (select count(*) from gone)::int as deleted,
              (select count(*) from scan)::int as scanned, (select max(id)::text from scan) as last,
              coalesce((select expired from scan order by id desc limit 1), false) as "lastExpired"`,
      [afterId, limit, days],
    );
    return nextId(row, limit);
  }

  /**
   * Deletes event-log entries older than `days` (null: none by age) or with an id up to `upToId`
   * (the count cap, see `eventLogCapId`; null: none by count) among the `limit` after id `afterId`.
   */
  async pruneEventLog(
    limits: { days: number | null; upToId: string | null },
    afterId: string,
    limit: number,
  ): Promise<PruneWalkBatch<string>> {
    const [row] = await sqlRows<WalkRow>(
      this.db.pool,
      `with lock as materialized (${LOCK}),
       scan as materialized (
         select id, coalesce(time < now() - make_interval(days => $3::int) or id <= $4::bigint, false) as expired
           from integration_event_log where id > $1::bigint and (select locked from lock) order by id limit $2
       ), gone as (
         delete from integration_event_log e using scan where e.id = scan.id and scan.expired returning e.id
       )
       select (select locked from lock) as locked, (select count(*) from gone)::int as deleted,
              (select count(*) from scan)::int as scanned, (select max(id)::text from scan) as last,
              coalesce((select expired from scan order by id desc limit 1), false) as "lastExpired"`,
      [afterId, limit, limits.days, limits.upToId],
    );
    return nextId(row, limit);
  }

  /**
   * The id of the newest event-log entry beyond the newest `maxRows`: it and every older one go.
   * Null when the log holds no more than that. Read once per pass (an index scan of `maxRows` ids).
   */
  async eventLogCapId(maxRows: number): Promise<string | null> {
    const [row] = await sqlRows<{ id: string }>(
      this.db.pool,
      // Ordered by the column, not by the text it is returned as.
      `select e.id::text as id from integration_event_log e order by e.id desc offset $1 limit 1`,
      [maxRows],
    );
    return row?.id ?? null;
  }

  /** Deletes up to `limit` idempotency keys older than `windowMs` (the oldest first, from their index). */
  async pruneIdempotencyKeys(windowMs: number, limit: number): Promise<PruneBatch> {
    const [row] = await sqlRows<PruneBatch>(
      this.db.pool,
      `with lock as materialized (${LOCK}),
       expired as (
         select connector_id, key from integration_idempotency_key
          where (select locked from lock) and created_at <= now() - $1 * interval '1 millisecond'
          order by created_at limit $2 for update skip locked
       ), gone as (
         delete from integration_idempotency_key k using expired e
          where k.connector_id = e.connector_id and k.key = e.key returning 1
       )
       select (select locked from lock) as locked, (select count(*) from gone)::int as deleted`,
      [windowMs, limit],
    );
    return row ?? { locked: false, deleted: 0 };
  }

  /**
   * Deletes up to `limit` parked synchronizations whose last attempt is older than `days`, with their
   * sync log (the cleanup trigger), and their tasks once no connector is left queued for them.
   *
   * Lock order as in `TaskAdminStore.delete` and the completions (`QueueStore`): task rows first, in
   * id order, then their synchronization rows. Both are taken with `skip locked`, so this statement
   * never waits: a task a completion or an operator is writing is left for the next pass, and a
   * synchronization requeued meanwhile is no longer parked when its row is read again.
   */
  async pruneParked(days: number, limit: number): Promise<ParkedPruneBatch> {
    const [row] = await sqlRows<ParkedPruneBatch>(
      this.db.pool,
      `with lock as materialized (${LOCK}),
       candidates as materialized (
         select s.id, s.task_id from integration_synchronization s
          where (select locked from lock) and s.state = 'parked'
            and s.last_run < now() - make_interval(days => $1::int)
          order by s.task_id, s.id limit $2
       ), tasks as materialized (
         select t.id from integration_task t where t.id in (select task_id from candidates)
          order by t.id for update of t skip locked
       ), parked as materialized (
         select s.id, s.task_id, s.connector_id from integration_synchronization s
          where s.id in (select id from candidates) and s.task_id in (select id from tasks)
            and s.state = 'parked' and s.last_run < now() - make_interval(days => $1::int)
          order by s.id for update of s skip locked
       ), gone as (
         delete from integration_synchronization s using parked p where s.id = p.id returning s.connector_id
       ), tasks_gone as (
         delete from integration_task t
          where t.id in (select task_id from parked) and ${nothingQueuedSql('array(select id from parked)')}
         returning t.id
       )
       select (select locked from lock) as locked, (select count(*) from gone)::int as deleted,
              (select count(*) from tasks_gone)::int as "tasksDeleted",
              coalesce((select json_object_agg(c.code_name, n.count)
                          from (select connector_id, count(*)::int as count from gone group by connector_id) n
                          join integration_connector c on c.id = n.connector_id), '{}'::json) as "byConnector"`,
      [days, limit],
    );
    return row ?? { locked: false, deleted: 0, tasksDeleted: 0, byConnector: {} };
  }

  /**
   * Deletes the intake sequences (R-DEL-2) not raised for `days` among the `limit` keys after
   * `after` (null: from the start). The table has no time order, so the walk goes over all of it.
   */
  async pruneIntakeSequences(
    days: number,
    after: IntakeSequenceKey | null,
    limit: number,
  ): Promise<PruneWalkBatch<IntakeSequenceKey>> {
    const [row] = await sqlRows<{
      locked: boolean;
      deleted: number;
      scanned: number;
      connectorId: number | null;
      sequenceKey: string | null;
    }>(
      this.db.pool,
      `with lock as materialized (${LOCK}),
       scan as materialized (
         select connector_id, sequence_key from integration_intake_sequence
          where (select locked from lock) and (connector_id, sequence_key) > ($1::int, $2::text)
          order by connector_id, sequence_key limit $3
       ), expired as (
         -- Locked, then compared: a sequence raised meanwhile is read again, and stays.
         select s.connector_id, s.sequence_key from integration_intake_sequence s
           join scan on scan.connector_id = s.connector_id and scan.sequence_key = s.sequence_key
          where s.updated_at < now() - make_interval(days => $4::int)
          for update of s skip locked
       ), gone as (
         delete from integration_intake_sequence s using expired e
          where s.connector_id = e.connector_id and s.sequence_key = e.sequence_key returning 1
       ), last as (
         select connector_id, sequence_key from scan order by connector_id desc, sequence_key desc limit 1
       )
       select (select locked from lock) as locked, (select count(*) from gone)::int as deleted,
              (select count(*) from scan)::int as scanned, (select connector_id from last) as "connectorId",
              (select sequence_key from last) as "sequenceKey"`,
      [after?.connectorId ?? 0, after?.sequenceKey ?? '', limit, days],
    );
    if (!row?.locked) return { locked: false, deleted: 0, next: null };
    const over = row.scanned < limit || row.connectorId === null || row.sequenceKey === null;
    return {
      locked: true,
      deleted: row.deleted,
      next: over ? null : { connectorId: row.connectorId!, sequenceKey: row.sequenceKey! },
    };
  }

  /** The oldest sync-log entry, event-log entry, parked synchronization's last attempt and idempotency key kept. */
  async oldest(): Promise<RetainedOldest> {
    const [row] = await sqlRows<Record<keyof RetainedOldest, string | null>>(
      this.db.pool,
      `select (select ${isoTimestamp('time')} from integration_sync_log order by id limit 1) as "syncLog",
              (select ${isoTimestamp('time')} from integration_event_log order by id limit 1) as "eventLog",
              (select ${isoTimestamp('min(last_run)')} from integration_synchronization
                where state = 'parked') as "parked",
              (select ${isoTimestamp('min(created_at)')} from integration_idempotency_key) as "idempotencyKey"`,
    );
    return {
      syncLog: optionalDate(row?.syncLog ?? null),
      eventLog: optionalDate(row?.eventLog ?? null),
      parked: optionalDate(row?.parked ?? null),
      idempotencyKey: optionalDate(row?.idempotencyKey ?? null),
    };
  }
}
