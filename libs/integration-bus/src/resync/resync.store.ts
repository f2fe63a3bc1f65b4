import { Injectable } from '@nestjs/common';
import { BusDatabase, isoTimestamp, sqlRows, type SqlExecutor } from '../persistence/bus-database.js';
import type { RowKey } from './resync-target.js';

/** Where a resync stands: `running` until every row is done, then `done`; or stopped. */
export type ResyncStatus = 'running' | 'done' | 'cancelled' | 'failed';

/** A row of `integration_resync`, as the bus reads it. */
export interface ResyncRecord {
  id: number;
  connectorId: number;
  connectorName: string;
  objectType: string;
  where: Record<string, unknown> | null;
  chunkSize: number;
  status: ResyncStatus;
  /** The primary key of the last row done; null before the first chunk. */
  position: RowKey | null;
  done: number;
  total: number;
  chunks: number;
  /** Rows per second over the recent chunks; null before the first. */
  rate: number | null;
  errorMessage: string | null;
  leaseOwner: string | null;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

/** The right to run a resync: its lease, held by `owner` at `epoch` (R-DEL-2). */
export interface ResyncToken {
  id: number;
  owner: string;
  epoch: string;
}

/** What a chunk moves forward. */
export interface ResyncAdvance {
  /** The new position: every row up to it is done (null: none yet). */
  position: RowKey | null;
  /** Rows done by this step (the rows up to the new position not counted before). */
  done: number;
  /** Whether this step ends a chunk (the chunk count grows). */
  chunk: boolean;
  rate: number | null;
  leaseMs: number;
}

interface ResyncRow {
  id: string;
  connector_id: number;
  code_name: string;
  object_type: string;
  filter: Record<string, unknown> | null;
  chunk_size: number;
  status: ResyncStatus;
  position: RowKey | null;
  done: string;
  total: string;
  chunks: number;
  rate: number | null;
  error_message: string | null;
  lease_owner: string | null;
  started_at: string;
  updated_at: string;
  finished_at: string | null;
}

const COLUMNS = `r.id, r.connector_id, c.code_name, r.object_type, r.filter, r.chunk_size, r.status, r.position,
  r.done, r.total, r.chunks, r.rate, r.error_message, r.lease_owner,
  ${isoTimestamp('r.started_at')} as started_at, ${isoTimestamp('r.updated_at')} as updated_at,
  ${isoTimestamp('r.finished_at')} as finished_at`;

const FROM = `integration_resync r join integration_connector c on c.id = r.connector_id`;

/** The fence of every write a runner makes: its lease, at its epoch, on a resync still running. */
const FENCE = `id = $1 and lease_owner = $2 and epoch = $3 and status = 'running'`;

function record(row: ResyncRow): ResyncRecord {
  return {
    id: Number(row.id),
    connectorId: row.connector_id,
    connectorName: row.code_name,
    objectType: row.object_type,
    where: row.filter,
    chunkSize: row.chunk_size,
    status: row.status,
    position: row.position,
    done: Number(row.done),
    total: Number(row.total),
    chunks: row.chunks,
    rate: row.rate,
    errorMessage: row.error_message,
    leaseOwner: row.lease_owner,
    startedAt: new Date(row.started_at),
    updatedAt: new Date(row.updated_at),
    finishedAt: row.finished_at === null ? null : new Date(row.finished_at),
  };
}

/** PostgreSQL's unique_violation: the running index refused a second resync. */
export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === '23505';
}

/**
 * SQL over `integration_resync` (Migration20261207300000Resync): a resync's row, its lease, and the
 * fenced writes of the instance running it. Every write of a runner carries its token in the
 * statement (`FENCE`): a runner that lost its lease, or whose resync was cancelled, changes nothing
 * and learns it from the row count.
 */
@Injectable()
export class ResyncStore {
  constructor(private readonly db: BusDatabase) {}

  /**
   * Inserts a running resync, leased to `owner` at once (the instance that starts it runs it).
   * @throws the database's unique violation when one of this connector and object type is running
   */
  async create(values: {
    connectorId: number;
    objectType: string;
    where: Record<string, unknown> | null;
    chunkSize: number;
    total: number;
    owner: string;
    leaseMs: number;
  }): Promise<{ id: number; epoch: string }> {
    const [row] = await sqlRows<{ id: string; epoch: string }>(
      this.db.pool,
      `insert into integration_resync (connector_id, object_type, filter, chunk_size, status, total,
                                       lease_owner, lease_until, epoch)
       values ($1, $2, $3::jsonb, $4, 'running', $5, $6,
               clock_timestamp() + make_interval(secs => $7::float8 / 1000), 1)
       returning id, epoch::text`,
      [
        values.connectorId,
        values.objectType,
        values.where === null ? null : JSON.stringify(values.where),
        values.chunkSize,
        values.total,
        values.owner,
        values.leaseMs,
      ],
    );
    return { id: Number(row!.id), epoch: row!.epoch };
  }

  /** One resync, or `undefined`. */
  async get(id: number): Promise<ResyncRecord | undefined> {
    const [row] = await sqlRows<ResyncRow>(this.db.pool, `select ${COLUMNS} from ${FROM} where r.id = $1`, [
      id,
    ]);
    return row ? record(row) : undefined;
  }

  /** Resyncs newest first, of one connector or of all; at most `limit`. */
  async list(connectorId: number | undefined, limit: number): Promise<ResyncRecord[]> {
    const rows = await sqlRows<ResyncRow>(
      this.db.pool,
      `select ${COLUMNS} from ${FROM}
        where ($1::int is null or r.connector_id = $1) order by r.id desc limit $2`,
      [connectorId ?? null, limit],
    );
    return rows.map(record);
  }

  /** The running resyncs (for the metrics). */
  async running(): Promise<ResyncRecord[]> {
    const rows = await sqlRows<ResyncRow>(
      this.db.pool,
      `select ${COLUMNS} from ${FROM} where r.status = 'running' order by r.id`,
    );
    return rows.map(record);
  }

  /** Running resyncs that nobody holds: never claimed, released, or their runner's lease ran out. */
  async orphans(): Promise<number[]> {
    const rows = await sqlRows<{ id: string }>(
      this.db.pool,
      `select id from integration_resync
        where status = 'running' and (lease_owner is null or lease_until < clock_timestamp())
        order by id`,
    );
    return rows.map((r) => Number(r.id));
  }

  /**
   * Takes a running resync's lease if it is free, expired or already ours, with a new epoch: a
   * runner that still holds the old epoch can no longer write.
   * @returns the new epoch, or `null` when another instance holds it (or it is no longer running)
   */
  async claim(id: number, owner: string, leaseMs: number): Promise<string | null> {
    const [row] = await sqlRows<{ epoch: string }>(
      this.db.pool,
      `update integration_resync
          set lease_owner = $2, epoch = epoch + 1,
              lease_until = clock_timestamp() + make_interval(secs => $3::float8 / 1000)
        where id = $1 and status = 'running'
          and (lease_owner is null or lease_owner = $2 or lease_until < clock_timestamp())
        returning epoch::text`,
      [id, owner, leaseMs],
    );
    return row?.epoch ?? null;
  }

  /** Extends the lease; `false` when it is lost (taken over, cancelled, finished). */
  async renew(token: ResyncToken, leaseMs: number): Promise<boolean> {
    const rows = await sqlRows(
      this.db.pool,
      `update integration_resync
          set lease_until = clock_timestamp() + make_interval(secs => $4::float8 / 1000)
        where ${FENCE} returning 1`,
      [token.id, token.owner, token.epoch, leaseMs],
    );
    return rows.length === 1;
  }

  /**
   * Moves the position forward, inside the chunk's transaction (so the position and the chunk's
   * tasks commit together), and extends the lease.
   * @returns `false` when the runner no longer holds the resync: the caller rolls the chunk back
   */
  async advance(trx: SqlExecutor, token: ResyncToken, step: ResyncAdvance): Promise<boolean> {
    const rows = await sqlRows(
      trx,
      `update integration_resync
          set position = $4::jsonb, done = done + $5, chunks = chunks + $6, rate = coalesce($7, rate),
              updated_at = clock_timestamp(),
              lease_until = clock_timestamp() + make_interval(secs => $8::float8 / 1000)
        where ${FENCE} returning 1`,
      [
        token.id,
        token.owner,
        token.epoch,
        step.position === null ? null : JSON.stringify(step.position),
        step.done,
        step.chunk ? 1 : 0,
        step.rate,
        step.leaseMs,
      ],
    );
    return rows.length === 1;
  }

  /**
   * Ends a resync the runner holds: `done` (the total becomes what was done: rows came and went
   * meanwhile) or `failed` with a message; the lease is given back.
   */
  async finish(token: ResyncToken, status: 'done' | 'failed', errorMessage: string | null): Promise<boolean> {
    const rows = await sqlRows(
      this.db.pool,
      `update integration_resync
          set status = $4::text, error_message = $5, total = case when $4::text = 'done' then done else total end,
              finished_at = clock_timestamp(), updated_at = clock_timestamp(),
              lease_owner = null, lease_until = null
        where ${FENCE} returning 1`,
      [token.id, token.owner, token.epoch, status, errorMessage],
    );
    return rows.length === 1;
  }

  /** Gives the lease back, so another instance (or this one again) may go on at once. */
  async release(token: ResyncToken): Promise<void> {
    await sqlRows(
      this.db.pool,
      `update integration_resync set lease_owner = null, lease_until = null where ${FENCE}`,
      [token.id, token.owner, token.epoch],
    );
  }

  /**
   * Cancels the running resync of an object type for a connector: its runner's next write fails
   * the fence, so the chunk under way rolls back; the tasks of the chunks done stay queued.
   * @returns the cancelled resync, or `undefined` when none was running
   */
  async cancel(connectorId: number, objectType: string): Promise<number | undefined> {
    const [row] = await sqlRows<{ id: string }>(
      this.db.pool,
      `update integration_resync
          set status = 'cancelled', finished_at = clock_timestamp(), updated_at = clock_timestamp(),
              lease_owner = null, lease_until = null
        where connector_id = $1 and object_type = $2 and status = 'running'
        returning id`,
      [connectorId, objectType],
    );
    return row ? Number(row.id) : undefined;
  }
}
