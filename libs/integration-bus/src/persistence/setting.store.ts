import { Injectable } from '@nestjs/common';
import type { IntegrationBusSettings } from '../interfaces/integration-bus-options.interface.js';
import { BusDatabase, sqlRows } from './bus-database.js';

/** SQL over `integration_setting`: only switches changed at run time have a row. */
@Injectable()
export class SettingStore {
  constructor(private readonly db: BusDatabase) {}

  async read(): Promise<Partial<IntegrationBusSettings>> {
    const rows = await sqlRows<{ key: keyof IntegrationBusSettings; value: boolean }>(
      this.db.pool,
      `select key, value from integration_setting`,
    );
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }

  async write(patch: Partial<IntegrationBusSettings>): Promise<void> {
    const entries = Object.entries(patch).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return;
    await sqlRows(
      this.db.pool,
      `insert into integration_setting (key, value, updated_at)
       select k, v, now() from unnest($1::text[], $2::bool[]) as x(k, v)
       on conflict (key) do update set value = excluded.value, updated_at = excluded.updated_at`,
      [entries.map(([k]) => k), entries.map(([, v]) => v)],
    );
  }
}
