import { Injectable } from '@nestjs/common';
import { BusDatabase } from './bus-database.js';

/** Which queue of a connector a processing lease covers: each direction has its own. */
export type LeaseDirection = 'outgoing' | 'incoming';

/**
 * What a lease covers: a connector's queue in one direction, or one partition of an
 * `ordering: 'object'` connector's outgoing queue (R-ORD-2). Partition 0 is the whole queue.
 */
export interface LeaseScope {
  direction: LeaseDirection;
  connectorId: number;
  partition: number;
}

/** A lease taken: its fencing epoch and the database's clock when it was taken. */
export interface LeaseGrant {
  granted: true;
  /** Incremented by every claim: a write carrying an older epoch is refused (R-DEL-2). */
  epoch: string;
  /** The database's `clock_timestamp()` at the claim, as ISO 8601. */
  claimedAt: string;
}

/** A lease held by another instance, and how long it lasts unless renewed. */
export interface LeaseRefusal {
  granted: false;
  /** Milliseconds until the holder's lease runs out (0 or less: already out). */
  expiresInMs: number;
}

/** The identity a fenced write checks: this scope's lease, held by this owner at this epoch. */
export interface LeaseToken extends LeaseScope {
  owner: string;
  epoch: string;
}

/**
 * Where a scope's lease is kept. A connector's queue leases live on its row (one set of columns
 * per direction); partition leases have a row each in `integration_partition_lease`, created when
 * the connector's partitions are laid out. Every statement takes the connector id as `$1` and the
 * partition as `$2`, so one statement shape serves both.
 */
interface LeaseColumns {
  table: string;
  key: string;
  owner: string;
  until: string;
  epoch: string;
}

const QUEUE_LEASES: Record<LeaseDirection, LeaseColumns> = {
  outgoing: {
    table: 'integration_connector',
    key: 'id = $1 and $2::smallint = 0',
    owner: 'lease_owner',
    until: 'lease_until',
    epoch: 'lease_epoch',
  },
  incoming: {
    table: 'integration_connector',
    key: 'id = $1 and $2::smallint = 0',
    owner: 'incoming_lease_owner',
    until: 'incoming_lease_until',
    epoch: 'incoming_lease_epoch',
  },
};

const PARTITION_LEASES: LeaseColumns = {
  table: 'integration_partition_lease',
  key: 'connector_id = $1 and partition = $2::smallint',
  owner: 'owner',
  until: 'lease_until',
  epoch: 'epoch',
};

function columnsOf(scope: LeaseScope): LeaseColumns {
  return scope.partition === 0 ? QUEUE_LEASES[scope.direction] : PARTITION_LEASES;
}

/** Renumbers `$1`, `$2`… of a lease statement to start at `$first`. */
function shift(sql: string, first: number): string {
  return sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + first - 1}`);
}

/**
 * The where-clause fragment that holds only while `token` is still the lease, for statements that
 * write a run's outcome. The lease row is locked `for share`, so a concurrent claim waits for the
 * writing statement's transaction instead of slipping between the check and the write. `$n`
 * placeholders are numbered from `first`: connector id, partition, owner, epoch.
 */
export function leaseHeldSql(token: LeaseScope, first: number): string {
  const c = columnsOf(token);
  return shift(
    `select 1 from ${c.table} where ${c.key} and ${c.owner} = $3 and ${c.epoch} = $4::bigint for share`,
    first,
  );
}

/**
 * The statement that gives the lease back while `token` still holds it, numbered from `first` like
 * `leaseHeldSql` (the same parameters): for a run's last write to release its lease in the same
 * round trip.
 */
export function leaseReleaseSql(token: LeaseScope, first: number): string {
  const c = columnsOf(token);
  return shift(
    `update ${c.table} set ${c.owner} = null, ${c.until} = null
      where ${c.key} and ${c.owner} = $3 and ${c.epoch} = $4::bigint`,
    first,
  );
}

/** The parameters of `leaseHeldSql`, in order. */
export function leaseHeldParams(token: LeaseToken): unknown[] {
  return [token.connectorId, token.partition, token.owner, token.epoch];
}

/** SQL over the processing leases of R-OUT-7 and R-ORD-2. */
@Injectable()
export class LeaseStore {
  constructor(private readonly db: BusDatabase) {}

  /**
   * Takes the lease if it is free, expired, or already ours, with a new fencing epoch. A crashed
   * instance's lease simply runs out, so no queue stays blocked longer than `leaseMs`; a refusal
   * says when the holder's lease ends, so the caller can try again then.
   */
  async claim(scope: LeaseScope, owner: string, leaseMs: number): Promise<LeaseGrant | LeaseRefusal> {
    const c = columnsOf(scope);
    const [row] = await this.db.prepared<{ granted: boolean; epoch: string; at: string; left: number }>(
      `with claimed as (
         update ${c.table}
            set ${c.owner} = $3, ${c.until} = clock_timestamp() + make_interval(secs => $4::float8 / 1000),
                ${c.epoch} = ${c.epoch} + 1
          where ${c.key} and (${c.owner} is null or ${c.owner} = $3 or ${c.until} < clock_timestamp())
          returning ${c.epoch}::text as epoch
       )
       select true as granted, epoch, to_json(clock_timestamp()) #>> '{}' as at, 0::float8 as left
         from claimed
       union all
       select false, null, null,
              coalesce(extract(epoch from ${c.until} - clock_timestamp()) * 1000, 0)::float8
         from ${c.table} where ${c.key} and not exists (select 1 from claimed)`,
      [scope.connectorId, scope.partition, owner, leaseMs],
    );
    if (row?.granted) return { granted: true, epoch: row.epoch, claimedAt: row.at };
    return { granted: false, expiresInMs: row?.left ?? 0 };
  }

  /** Extends our lease; `false` when another instance took it over (our epoch is gone). */
  async renew(token: LeaseToken, leaseMs: number): Promise<boolean> {
    const c = columnsOf(token);
    const rows = await this.db.prepared(
      `update ${c.table} set ${c.until} = clock_timestamp() + make_interval(secs => $5::float8 / 1000)
        where ${c.key} and ${c.owner} = $3 and ${c.epoch} = $4::bigint returning 1`,
      [...leaseHeldParams(token), leaseMs],
    );
    return rows.length === 1;
  }

  /** Gives the lease back, if it is still ours at this epoch. */
  async release(token: LeaseToken): Promise<void> {
    await this.db.prepared(leaseReleaseSql(token, 1), leaseHeldParams(token));
  }
}
