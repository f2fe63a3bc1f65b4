import { Injectable } from '@nestjs/common';
import { BusDatabase, sqlRows } from './bus-database.js';

/** A connector row as the bus reads it. */
export interface ConnectorRecord {
  id: number;
  codeName: string;
  displayName: string;
  className: string;
  enabled: boolean;
}

const COLUMNS = `id, code_name as "codeName", display_name as "displayName", class_name as "className", enabled`;

/** Which queue of a connector a processing lease covers: each direction has its own. */
export type LeaseDirection = 'outgoing' | 'incoming';

const LEASE_COLUMNS: Record<LeaseDirection, { owner: string; until: string; epoch: string }> = {
  outgoing: { owner: 'lease_owner', until: 'lease_until', epoch: 'lease_epoch' },
  incoming: { owner: 'incoming_lease_owner', until: 'incoming_lease_until', epoch: 'incoming_lease_epoch' },
};

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

/** The identity a fenced write checks: this connector's lease, held by this owner at this epoch. */
export interface LeaseToken {
  direction: LeaseDirection;
  connectorId: number;
  owner: string;
  epoch: string;
}

/**
 * The where-clause fragment that holds only while `token` is still the lease, for statements that
 * write a run's outcome. The connector row is locked `for share`, so a concurrent claim waits for
 * the writing statement's transaction instead of slipping between the check and the write.
 * `$n` placeholders are numbered from `first`: connector id, owner, epoch.
 */
export function leaseHeldSql(direction: LeaseDirection, first: number): string {
  const c = LEASE_COLUMNS[direction];
  return `select 1 from integration_connector
           where id = $${first} and ${c.owner} = $${first + 1} and ${c.epoch} = $${first + 2}::bigint
             for share`;
}

/** The parameters of `leaseHeldSql`, in order. */
export function leaseHeldParams(token: LeaseToken): unknown[] {
  return [token.connectorId, token.owner, token.epoch];
}

/** SQL over `integration_connector`, including the processing leases of R-OUT-7. */
@Injectable()
export class ConnectorStore {
  constructor(private readonly db: BusDatabase) {}

  /** Creates the rows of discovered connectors that have none; an existing row keeps `enabled` (R-SET-2). */
  async ensure(connectors: readonly Omit<ConnectorRecord, 'id'>[]): Promise<void> {
    if (connectors.length === 0) return;
    await sqlRows(
      this.db.pool,
      `insert into integration_connector (code_name, display_name, class_name, enabled)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::bool[])
       on conflict (code_name) do update set class_name = excluded.class_name`,
      [
        connectors.map((c) => c.codeName),
        connectors.map((c) => c.displayName),
        connectors.map((c) => c.className),
        connectors.map((c) => c.enabled),
      ],
    );
  }

  list(): Promise<ConnectorRecord[]> {
    return sqlRows<ConnectorRecord>(
      this.db.pool,
      `select ${COLUMNS} from integration_connector order by code_name`,
    );
  }

  async update(
    codeName: string,
    patch: { enabled?: boolean; displayName?: string },
  ): Promise<ConnectorRecord | null> {
    const [row] = await sqlRows<ConnectorRecord>(
      this.db.pool,
      `update integration_connector
          set enabled = coalesce($2, enabled), display_name = coalesce($3, display_name)
        where code_name = $1 returning ${COLUMNS}`,
      [codeName, patch.enabled ?? null, patch.displayName ?? null],
    );
    return row ?? null;
  }

  /**
   * Takes the connector's processing lease if it is free, expired, or already ours, with a new
   * fencing epoch. A crashed instance's lease simply runs out, so no connector stays blocked longer
   * than `leaseMs`; a refusal says when the holder's lease ends, so the caller can try again then.
   */
  async claimLease(
    direction: LeaseDirection,
    connectorId: number,
    owner: string,
    leaseMs: number,
  ): Promise<LeaseGrant | LeaseRefusal> {
    const c = LEASE_COLUMNS[direction];
    const [row] = await sqlRows<{
      granted: boolean;
      epoch: string;
      at: string;
      left: number;
    }>(
      this.db.pool,
      `with claimed as (
         update integration_connector
            set ${c.owner} = $2, ${c.until} = clock_timestamp() + make_interval(secs => $3::float8 / 1000),
                ${c.epoch} = ${c.epoch} + 1
          where id = $1 and (${c.owner} is null or ${c.owner} = $2 or ${c.until} < clock_timestamp())
          returning ${c.epoch}::text as epoch
       )
       select true as granted, epoch, to_json(clock_timestamp()) #>> '{}' as at, 0::float8 as left
         from claimed
       union all
       select false, null, null,
              coalesce(extract(epoch from ${c.until} - clock_timestamp()) * 1000, 0)::float8
         from integration_connector where id = $1 and not exists (select 1 from claimed)`,
      [connectorId, owner, leaseMs],
    );
    if (row?.granted) return { granted: true, epoch: row.epoch, claimedAt: row.at };
    return { granted: false, expiresInMs: row?.left ?? 0 };
  }

  /** Extends our lease; `false` when another instance took it over (our epoch is gone). */
  async renewLease(token: LeaseToken, leaseMs: number): Promise<boolean> {
    const c = LEASE_COLUMNS[token.direction];
    const rows = await sqlRows(
      this.db.pool,
      `update integration_connector
          set ${c.until} = clock_timestamp() + make_interval(secs => $4::float8 / 1000)
        where id = $1 and ${c.owner} = $2 and ${c.epoch} = $3::bigint returning id`,
      [token.connectorId, token.owner, token.epoch, leaseMs],
    );
    return rows.length === 1;
  }

  /** Gives the lease back, if it is still ours at this epoch. */
  async releaseLease(token: LeaseToken): Promise<void> {
    const c = LEASE_COLUMNS[token.direction];
    await sqlRows(
      this.db.pool,
      `update integration_connector set ${c.owner} = null, ${c.until} = null
        where id = $1 and ${c.owner} = $2 and ${c.epoch} = $3::bigint`,
      [token.connectorId, token.owner, token.epoch],
    );
  }
}
