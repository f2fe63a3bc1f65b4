import { Injectable } from '@nestjs/common';
import { BusDatabase, sqlRows } from './bus-database.js';
import type { ConnectorRecord } from './connector.store.js';
import { SYNCHRONIZATIONS } from './synchronizations.js';

const COLUMNS = `id, code_name as "codeName", display_name as "displayName", class_name as "className", enabled`;

/** Creating and deleting connector rows, for the management API. */
@Injectable()
export class ConnectorAdminStore {
  constructor(private readonly db: BusDatabase) {}

  /** Inserts a connector row; `null` when one with the code name exists already. */
  async insert(row: Omit<ConnectorRecord, 'id'>): Promise<ConnectorRecord | null> {
    const [created] = await sqlRows<ConnectorRecord>(
      this.db.pool,
      `insert into integration_connector (code_name, display_name, class_name, enabled)
       values ($1, $2, $3, $4)
       on conflict (code_name) do nothing
       returning ${COLUMNS}`,
      [row.codeName, row.displayName, row.className, row.enabled],
    );
    return created ?? null;
  }

  /**
   * Deletes a connector row; its synchronizations and their sync logs go with it (the statement
   * triggers of the first migration). Tasks left with no synchronization are the caller's to remove.
   * @returns the number of synchronizations removed, or `null` when no row has the code name
   */
  async delete(codeName: string): Promise<number | null> {
    return this.db.transaction(async (trx) => {
      const [row] = await sqlRows<{ id: number }>(
        trx,
        `select id from integration_connector where code_name = $1 for update`,
        [codeName],
      );
      if (!row) return null;
      const [{ n }] = (await sqlRows<{ n: number }>(
        trx,
        `select count(*)::int as n from ${SYNCHRONIZATIONS} s where connector_id = $1`,
        [row.id],
      )) as [{ n: number }];
      await sqlRows(trx, `delete from integration_connector where id = $1`, [row.id]);
      return n;
    });
  }
}
