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

/** SQL over `integration_connector`, including the processing lease of R-OUT-7. */
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
  async claimLease(connectorId: number, owner: string, leaseMs: number): Promise<boolean> {
    const rows = await sqlRows(
      this.db.pool,
      `update integration_connector
          set lease_owner = $2, lease_until = clock_timestamp() + make_interval(secs => $3::float8 / 1000)
        where id = $1 and (lease_owner is null or lease_owner = $2 or lease_until < clock_timestamp())
        returning id`,
      [connectorId, owner, leaseMs],
    );
    return rows.length === 1;
  }

  /** Extends our lease; `false` when another instance took it over. */
  async renewLease(connectorId: number, owner: string, leaseMs: number): Promise<boolean> {
    const rows = await sqlRows(
      this.db.pool,
      `update integration_connector
          set lease_until = clock_timestamp() + make_interval(secs => $3::float8 / 1000)
        where id = $1 and lease_owner = $2 returning id`,
      [connectorId, owner, leaseMs],
    );
    return rows.length === 1;
  }

  async releaseLease(connectorId: number, owner: string): Promise<void> {
    await sqlRows(
      this.db.pool,
      `update integration_connector set lease_owner = null, lease_until = null where id = $1 and lease_owner = $2`,
      [connectorId, owner],
    );
  }
}
