import { Injectable } from '@nestjs/common';
import { LockMode, MikroORM, type EntityManager, type FilterQuery } from '@mikro-orm/core';
import { ConnectorRegistry, type ConnectorMatch } from '../connectors/connector-registry.js';
import { TaskProcessType, isAsyncProcessType } from '../enums/task-process-type.enum.js';
import { ConnectorDisabledError } from '../errors/connector-disabled.error.js';
import { BusDatabase, sqlRows, type SqlExecutor } from '../persistence/bus-database.js';
import { ChangeLogger, type AfterCommitWork, type OutgoingChange } from '../outgoing/change-logger.js';
import { EntityRowReader } from '../translation/entity-row-reader.js';
import { ResyncStore, type ResyncToken } from './resync.store.js';
import {
  allOf,
  keyBound,
  keyEquals,
  keyOf,
  keyOrder,
  keyText,
  type ResyncTarget,
  type RowKey,
} from './resync-target.js';

/*
 * Why a resync task never overwrites a newer change (R-RES-2)
 * ===========================================================
 *
 * The bus logs a live change's task in the transaction of the change, after MikroORM has written
 * the row: the UPDATE or DELETE takes the row's lock first (`FOR NO KEY UPDATE` or `FOR UPDATE`),
 * and the task's id is drawn from `integration_task_id_seq` afterwards, lock held, commit to follow
 * (flush-subscriber.ts). Ids are drawn in increasing order across sessions (the sequence has no
 * per-session cache), and the drain delivers one object's tasks in id order (R-DEL-1). So a
 * resync task is in commit order with the live changes of its row when the chunk reads the row
 * with a lock that conflicts with theirs (`FOR SHARE`) and draws the resync task's id in that same
 * transaction, lock held. Take a row R the chunk read, and a live change L of R:
 *
 * - L committed before the chunk locked R. The chunk read the latest committed version of R (in
 *   READ COMMITTED a locking read follows an update committed after its snapshot to the newest
 *   version, and checks the filter again), so its snapshot is L's version or newer. L drew its id
 *   before it committed, so before the chunk drew its own: L's task comes first, then the resync's,
 *   which is at least as new.
 * - L had written R and not committed when the chunk came to R. R was locked, so the chunk did not
 *   read it (below); when it reads it later, L has committed: the case above.
 * - L writes R after the chunk locked it. L's write waits for the chunk's transaction to end, and
 *   L draws its id after its write, so after the chunk drew every one of its ids: the resync's task
 *   comes first, then L's, which is newer. A DELETE is such a write: the resync snapshot, then
 *   the delete.
 *
 * The cases are exhaustive because R's lock orders L's write and the chunk's read one way or the
 * other, and on each side of it the id order follows. Rows the chunk does not read get no resync
 * task, so nothing can be stale about them: a row deleted before the chunk (its delete task
 * stands), one created after the chunk's read (its create task carries it), one that leaves the
 * `where` filter before the read (its update carries what it became), or one that enters it only
 * after (the same). Snapshot children and translation records are read in the same transaction,
 * unlocked: they are as fresh as the row, but ordered by their own tasks, not the row's lock.
 * What this cannot order is a task logged without a write to R's row (`logInternalTask` on an
 * unchanged entity, or a change of a child alone): no row lock is involved there, only the
 * advisory lock `logInternalTask` takes per object, which a chunk does not take (a thousand lock
 * entries per chunk would exhaust the shared lock table). Nor a flush with MikroORM's
 * `implicitTransactions` off, whose rows commit before its tasks are logged (the bus's own per-object
 * order, R-DEL-1, needs the transaction too).
 *
 * Never waiting while holding locks
 * ---------------------------------
 * The chunk locks many rows; an application transaction may hold one of them and wait for another
 * one the chunk holds (it updates B, then A), a deadlock PostgreSQL would break by failing either
 * side, possibly the application's. So the chunk never waits: it locks `FOR SHARE SKIP LOCKED`,
 * within the key range (position, upper] that an unlocked read of the next `chunkSize` keys gave.
 * Keys of that read that the locked read did not return (locked by a live change at that moment,
 * or deleted, or out of the filter since) are read again one by one, each in a transaction of its
 * own that holds nothing else while it waits for that one row's lock (`lock_timeout`, then again):
 * a transaction that holds no lock cannot close a cycle.
 *
 * Position, and at most one chunk repeated
 * ----------------------------------------
 * The position (the last key done) is written in the transaction that logs the tasks, fenced by
 * the runner's lease (resync.store.ts), so position and tasks commit together or not at all: a
 * crash repeats nothing of a chunk that committed, and a runner that lost its lease commits
 * nothing. When keys were left for the one-by-one pass, the chunk's transaction moves the position
 * only to the key before the first of them; each one-by-one transaction moves it to the key before
 * the next one left, the last to the chunk's upper key. A crash in between repeats the rows of
 * that one chunk logged after the position: at most one chunk.
 *
 * Two chunks at once
 * ------------------
 * A chunk alternates between the database (the locked read, the insert, the commit) and this
 * process (building the tasks); the runner overlaps two chunks so that each side works while the
 * other does. Chunk k+1 starts once chunk k's locked read is done and left no key for the one-by-one
 * pass (its range, and so k+1's start, is then fixed); k+1 reads, locks and logs its own range,
 * disjoint from k's, and writes its position only after k has committed (`after`), so positions
 * still advance in key order, and a failure of k rolls k+1 back with it (at most one chunk is left
 * to repeat, as above). k+1 waits for k in this process, not in the database; that cannot close a
 * cycle with a live transaction, because k then waits for no row lock (its read skips locked rows,
 * it left no key to wait for, and its insert and position write take no lock a live change holds).
 * When k does leave keys, the runner lets it finish, one-by-one pass included, before k+1 starts.
 */

/** What one resync reads and logs, fixed for its life. */
export interface ResyncPlan {
  target: ResyncTarget;
  /** The caller's filter, or `undefined`. */
  where: FilterQuery<object> | undefined;
  connectorName: string;
  chunkSize: number;
}

/** How a chunk runs beside the runner. */
export interface ChunkOptions {
  leaseMs: number;
  /** Rows per second to record with the position (the runner's measure). */
  rate: number | null;
  /** Whether the runner must stop (checked between one-by-one reads). */
  stopped: () => boolean;
  /**
   * The chunk before this one, still committing: this one's position is written only once it has
   * (and not at all if it failed), so that positions advance in key order.
   */
  after?: Promise<unknown>;
  /**
   * Called once the chunk's locked read is done, with the upper key of its range and whether keys
   * were left for the one-by-one pass (`null`: no row was left after the position). From then on
   * the next chunk may start, when none was left (see "Two chunks at once" above).
   */
  onRead?: (read: ChunkRead | null) => void;
}

/** A chunk's range, once read: its upper key, and whether it left keys for the one-by-one pass. */
export interface ChunkRead {
  upper: RowKey;
  leftovers: boolean;
}

/** What a chunk did. */
export interface ChunkResult {
  /** No row was left after the position: the resync is complete. */
  finished: boolean;
  /** The position now (unchanged when finished). */
  position: RowKey | null;
  /** Rows read (one task each, unless their subscription did not match them). */
  rows: number;
  /** Tasks logged. */
  logged: number;
}

/** The runner must stop: it lost the resync (cancelled, taken over) or the application is stopping. */
export class ResyncStopped extends Error {
  constructor(reason: string) {
    super(`Resync stopped: ${reason}.`);
    this.name = 'ResyncStopped';
  }
}

/** How long a one-by-one read waits for a row's lock before it lets go and tries again. */
const ROW_LOCK_TIMEOUT_MS = 2000;

/** PostgreSQL's lock_not_available: the one-by-one read timed out on a row lock. */
function isLockTimeout(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === '55P03';
}

/** Reads a resync's chunks and logs their tasks, with the guarantees written above. */
@Injectable()
export class ResyncChunks {
  constructor(
    private readonly orm: MikroORM,
    private readonly registry: ConnectorRegistry,
    private readonly changes: ChangeLogger,
    private readonly store: ResyncStore,
    private readonly db: BusDatabase,
  ) {}

  /**
   * Does the next chunk after `position`: its rows' tasks and the new position, committed together.
   * @throws ResyncStopped when the runner no longer holds the resync, or must stop (nothing of the
   *   step under way commits)
   */
  async next(
    plan: ResyncPlan,
    token: ResyncToken,
    position: RowKey | null,
    options: ChunkOptions,
  ): Promise<ChunkResult> {
    const { meta } = plan.target;
    const order = keyOrder(meta);
    const after = position === null ? undefined : keyBound(meta, position, 'after');
    let afterCommit: AfterCommitWork | undefined;
    const first = await this.transaction(async (em, trx) => {
      // The next keys, unlocked: they fix the chunk's range (position, upper].
      const keyed = await em.find(meta.class, allOf(plan.target.base, plan.where, after), {
        fields: meta.primaryKeys as never[],
        orderBy: order,
        limit: plan.chunkSize,
        disableIdentityMap: true,
        ctx: trx as never,
      });
      if (keyed.length === 0) return undefined;
      const keys = keyed.map((row) => keyOf(meta, row));
      const upper = keys.at(-1)!;
      // The range, locked; rows a live change holds at this moment are skipped, not waited for.
      const rows = await em.find(
        meta.class,
        allOf(plan.target.base, plan.where, after, keyBound(meta, upper, 'upTo')),
        { orderBy: order, ctx: trx as never, ...this.lock(plan, LockMode.PESSIMISTIC_PARTIAL_READ) },
      );
      const read = new Set(rows.map((row) => keyText(keyOf(meta, row))));
      const left = keys.filter((key) => !read.has(keyText(key)));
      const firstLeft = left.length === 0 ? keys.length : keys.findIndex((k) => k === left[0]);
      options.onRead?.({ upper, leftovers: left.length > 0 });
      const logged = await this.log(plan, rows, trx);
      afterCommit = logged.afterCommit;
      // The chunk before commits first: positions advance in order.
      await options.after;
      const reached = firstLeft === keys.length ? upper : firstLeft === 0 ? position : keys[firstLeft - 1]!;
      await this.advance(trx, token, {
        position: reached,
        done: firstLeft,
        chunk: left.length === 0,
        rate: options.rate,
        leaseMs: options.leaseMs,
      });
      return { keys, left, reached, rows: rows.length, logged: logged.count };
    });
    if (!first) {
      options.onRead?.(null);
      await options.after;
      return { finished: true, position, rows: 0, logged: 0 };
    }
    await afterCommit?.();
    let { reached, rows, logged } = first;
    // The keys left, one by one, each waiting for its row's lock with nothing else held.
    for (const [i, key] of first.left.entries()) {
      const next = first.left[i + 1];
      const upTo = next === undefined ? first.keys.length : first.keys.indexOf(next);
      const from = first.keys.indexOf(key);
      for (;;) {
        if (options.stopped()) throw new ResyncStopped('the runner is stopping');
        try {
          const single = await this.transaction(async (em, trx) => {
            await sqlRows(trx, `select set_config('lock_timeout', $1, true)`, [String(ROW_LOCK_TIMEOUT_MS)]);
            const found = await em.find(
              meta.class,
              allOf(plan.target.base, plan.where, keyEquals(meta, key)),
              { ctx: trx as never, ...this.lock(plan, LockMode.PESSIMISTIC_READ) },
            );
            const done = await this.log(plan, found, trx);
            const moved = next === undefined ? first.keys.at(-1)! : first.keys[upTo - 1]!;
            await this.advance(trx, token, {
              position: moved,
              done: upTo - from,
              chunk: next === undefined,
              rate: options.rate,
              leaseMs: options.leaseMs,
            });
            return { position: moved, found: found.length, done };
          });
          await single.done.afterCommit();
          reached = single.position;
          rows += single.found;
          logged += single.done.count;
          break;
        } catch (error) {
          if (!isLockTimeout(error)) throw error;
        }
      }
    }
    return { finished: false, position: reached, rows, logged };
  }

  /**
   * Runs `work` in one of the bus's own transactions (its row locks cannot outlive a process stopped
   * in the middle, see `BusDatabase.transaction`), with an entity manager of its own whose reads pass
   * that transaction as their `ctx`. Not `em.transactional`: a connection PostgreSQL cut off under it
   * (a paused runner's, past the idle limit) stayed checked out of the pool for good, which then kept
   * the application from closing.
   */
  private transaction<T>(work: (em: EntityManager, trx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.db.transaction((trx) => work(this.orm.em.fork(), trx));
  }

  /** The lock of a read: on the entity's own rows only, not on the rows a filter joins. */
  private lock<M extends LockMode.PESSIMISTIC_READ | LockMode.PESSIMISTIC_PARTIAL_READ>(
    plan: ResyncPlan,
    lockMode: M,
  ): { lockMode: M; lockTableAliases: string[] } {
    const alias = this.orm.config.getNamingStrategy().aliasName(plan.target.meta.className, 0);
    return { lockMode, lockTableAliases: [alias] };
  }

  private async advance(
    trx: SqlExecutor,
    token: ResyncToken,
    step: Parameters<ResyncStore['advance']>[2],
  ): Promise<void> {
    if (!(await this.store.advance(trx, token, step))) {
      throw new ResyncStopped('the resync was cancelled, or another instance took it over');
    }
  }

  /** Logs a task per row for the plan's connector, in `trx`; rows its subscriptions do not match get none. */
  private async log(
    plan: ResyncPlan,
    rows: readonly object[],
    trx: SqlExecutor,
  ): Promise<{ count: number; afterCommit: AfterCommitWork }> {
    if (rows.length === 0) return { count: 0, afterCommit: async () => {} };
    const row = await this.registry.row(plan.connectorName);
    if (!row?.enabled) throw new ConnectorDisabledError(plan.connectorName);
    const match = await this.registry.matcher();
    const { meta, descriptor, taskType } = plan.target;
    const reader = new EntityRowReader(trx);
    const changes: OutgoingChange[] = [];
    const verb = descriptor.isDocument ? 'Resync document' : 'Resync';
    for (const entity of rows) {
      const subject = await this.changes.describe(meta, entity, descriptor, reader);
      const found = match(subject, taskType).find((m) => m.connector.codeName === plan.connectorName);
      if (found) changes.push({ subject, taskType, meta, matches: [queued(found)], verb });
    }
    const logged = await this.changes.log(changes, trx);
    return { count: logged.taskIds.length, afterCommit: logged.afterCommit };
  }
}

/**
 * A match as a queued task: a SyncSnapshot subscription has no request to run in during a resync,
 * so its rows are queued as Snapshot tasks, handed to the same handler (`processInternalTaskSync`
 * for a class subscription).
 */
function queued(match: ConnectorMatch): ConnectorMatch {
  if (isAsyncProcessType(match.processType)) return match;
  return {
    ...match,
    processType: TaskProcessType.AsyncSnapshot,
    handler: match.handler ?? 'processInternalTaskSync',
  };
}
