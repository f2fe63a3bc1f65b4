import { CLEANUP_TRIGGERS } from './cleanup-triggers.js';
import { Migration20261124000000IntegrationBus } from './integration-bus.migration.js';

/**
 * The first migration as `IntegrationBusModule.migrations` runs it: the same tables, after dropping
 * cleanup-trigger functions a `schema.drop()` left behind (MikroORM drops the tables, whose
 * triggers go with them, but not the functions), which made `create function` fail when the
 * migrations ran again on that database. Nothing else can own those functions, so dropping them
 * before the tables exist loses nothing. A database that ran the first migration never runs this.
 */
export class Migration20261124000000IntegrationBusAfterDrop extends Migration20261124000000IntegrationBus {
  override up(): void {
    for (const [table, trigger] of Object.entries(CLEANUP_TRIGGERS)) {
      this.addSql(`drop function if exists "${table}_${trigger.name}_fn"();`);
    }
    super.up();
  }
}
