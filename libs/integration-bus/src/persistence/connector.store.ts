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

const LEASE_COLUMNS: Record<LeaseDirection, { owner: string; until: string }> = {
  outgoing: { owner: 'lease_owner', until: 'lease_until' },
  incoming: { owner: 'incoming_lease_owner', until: 'incoming_lease_until' },
};

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
   * Takes the connector's processing lease if it is free, expired, or already ours. A crashed
   * instance's lease simply runs out, so no connector stays blocked longer than `leaseMs`.
   */
  async claimLease(
    direction: LeaseDirection,
    connectorId: number,
    owner: string,
    leaseMs: number,
  ): Promise<boolean> {
    const c = LEASE_COLUMNS[direction];
    const rows = await sqlRows(
      this.db.pool,
      `update integration_connector
          set ${c.owner} = $2, ${c.until} = clock_timestamp() + make_interval(secs => $3::float8 / 1000)
        where id = $1 and (${c.owner} is null or ${c.owner} = $2 or ${c.until} < clock_timestamp())
        returning id`,
      [connectorId, owner, leaseMs],
    );
    return rows.length === 1;
  }

  /** Extends our lease; `false` when another instance took it over. */
  async renewLease(
    direction: LeaseDirection,
    connectorId: number,
    owner: string,
    leaseMs: number,
  ): Promise<boolean> {
    const c = LEASE_COLUMNS[direction];
    const rows = await sqlRows(
      this.db.pool,
      `update integration_connector
          set ${c.until} = clock_timestamp() + make_interval(secs => $3::float8 / 1000)
        where id = $1 and ${c.owner} = $2 returning id`,
      [connectorId, owner, leaseMs],
    );
    return rows.length === 1;
  }

  async releaseLease(direction: LeaseDirection, connectorId: number, owner: string): Promise<void> {
    const c = LEASE_COLUMNS[direction];
    await sqlRows(
      this.db.pool,
      `update integration_connector set ${c.owner} = null, ${c.until} = null where id = $1 and ${c.owner} = $2`,
      [connectorId, owner],
    );
  }
}
