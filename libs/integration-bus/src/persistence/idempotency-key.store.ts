import { Injectable } from '@nestjs/common';
import type { IntegrationTaskInfo } from '../events/integration-task-event.js';
import { sqlRows, type SqlExecutor } from './bus-database.js';

/** Expired keys removed per new key: enough to keep up with any intake rate, small enough to stay cheap. */
const PURGE_BATCH = 100;

/**
 * SQL over `integration_idempotency_key` (R-ECO-3). A key is live for `windowMs` after the task it
 * logged; an expired key may be taken again, as if it had never been used.
 */
@Injectable()
export class IdempotencyKeyStore {
  /**
   * The task a live key logged, or null. A fast path only (no prepareInternalObject, no events for
   * a plain retry); `claim` is what enforces the uniqueness.
   */
  async find(
    db: SqlExecutor,
    connectorId: number,
    key: string,
    windowMs: number,
  ): Promise<IntegrationTaskInfo | null> {
    const [row] = await sqlRows<{ task: IntegrationTaskInfo }>(
      db,
      `select task from integration_idempotency_key
        where connector_id = $1 and key = $2 and created_at > now() - $3 * interval '1 millisecond'`,
      [connectorId, key, windowMs],
    );
    return row?.task ?? null;
  }

  /** `find` for several keys in one query: the task of each live key, by key. */
  async findMany(
    db: SqlExecutor,
    connectorId: number,
    keys: readonly string[],
    windowMs: number,
  ): Promise<Map<string, IntegrationTaskInfo>> {
    if (keys.length === 0) return new Map();
    const rows = await sqlRows<{ key: string; task: IntegrationTaskInfo }>(
      db,
      `select key, task from integration_idempotency_key
        where connector_id = $1 and key = any($2::text[]) and created_at > now() - $3 * interval '1 millisecond'`,
      [connectorId, keys, windowMs],
    );
    return new Map(rows.map((row) => [row.key, row.task]));
  }

  /**
   * Takes `key` for `task` inside the caller's transaction, or returns the task that holds it.
   * `insert … on conflict`: a concurrent transaction holding the same key makes this statement wait
   * for its end, then see its row; an expired row is taken over in the same statement.
   * @returns `null` when the key is now this transaction's; else the task already logged with it
   */
  async claim(
    trx: SqlExecutor,
    connectorId: number,
    key: string,
    task: IntegrationTaskInfo,
    windowMs: number,
  ): Promise<IntegrationTaskInfo | null> {
    const taken = await sqlRows(
      trx,
      `insert into integration_idempotency_key as k (connector_id, key, task) values ($1, $2, $3::jsonb)
       on conflict (connector_id, key) do update set task = excluded.task, created_at = now()
         where k.created_at <= now() - $4 * interval '1 millisecond'
       returning 1`,
      [connectorId, key, JSON.stringify(task), windowMs],
    );
    if (taken.length > 0) return null;
    const [row] = await sqlRows<{ task: IntegrationTaskInfo }>(
      trx,
      `select task from integration_idempotency_key where connector_id = $1 and key = $2`,
      [connectorId, key],
    );
    // The conflicting row was committed (on conflict waited for it), so it is there to read.
    return row!.task;
  }

  /**
   * `claim` for several keys in one statement (a consumer's batch, R-ECO-3): each key not live is
   * taken for its task; the keys held by a live row answer that row's task. The keys are taken in
   * sorted order, so that two batches sharing keys wait on each other without a deadlock.
   * @param claims distinct keys
   * @returns the task of each key that was already held; the others are now this transaction's
   */
  async claimMany(
    trx: SqlExecutor,
    connectorId: number,
    claims: readonly { key: string; task: IntegrationTaskInfo }[],
    windowMs: number,
  ): Promise<Map<string, IntegrationTaskInfo>> {
    if (claims.length === 0) return new Map();
    const sorted = [...claims].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const taken = await sqlRows<{ key: string }>(
      trx,
      `insert into integration_idempotency_key as k (connector_id, key, task)
       select $1, c.key, c.task from json_to_recordset($2::json) as c(key text, task jsonb)
       on conflict (connector_id, key) do update set task = excluded.task, created_at = now()
         where k.created_at <= now() - $3 * interval '1 millisecond'
       returning key`,
      [connectorId, JSON.stringify(sorted), windowMs],
    );
    const mine = new Set(taken.map((row) => row.key));
    const held = sorted.filter((claim) => !mine.has(claim.key)).map((claim) => claim.key);
    if (held.length === 0) return new Map();
    const rows = await sqlRows<{ key: string; task: IntegrationTaskInfo }>(
      trx,
      `select key, task from integration_idempotency_key where connector_id = $1 and key = any($2::text[])`,
      [connectorId, held],
    );
    return new Map(rows.map((row) => [row.key, row.task]));
  }

  /**
   * Gives keys claimed in this transaction back (their task was not logged after all): as if they
   * had never been used, which an expired row taken over also is.
   */
  async release(trx: SqlExecutor, connectorId: number, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await sqlRows(
      trx,
      `delete from integration_idempotency_key where connector_id = $1 and key = any($2::text[])`,
      [connectorId, keys],
    );
  }

  /** Records the id the claimed key's task got (known only after the task's insert). */
  async setTaskId(trx: SqlExecutor, connectorId: number, key: string, taskId: number): Promise<void> {
    await sqlRows(
      trx,
      `update integration_idempotency_key set task = jsonb_set(task, '{id}', to_jsonb($3::bigint))
        where connector_id = $1 and key = $2`,
      [connectorId, key, taskId],
    );
  }

  /**
   * Deletes a batch of expired keys, of any connector. Rows another transaction is purging are
   * skipped rather than waited for: two intakes never queue behind each other's clean-up.
   */
  async purgeExpired(trx: SqlExecutor, windowMs: number): Promise<void> {
    await sqlRows(
      trx,
      `delete from integration_idempotency_key where (connector_id, key) in (
         select connector_id, key from integration_idempotency_key
          where created_at <= now() - $1 * interval '1 millisecond'
          order by created_at limit ${PURGE_BATCH} for update skip locked)`,
      [windowMs],
    );
  }
}
