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

/** SQL over `integration_connector` (its processing leases: see `LeaseStore`). */
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
}
