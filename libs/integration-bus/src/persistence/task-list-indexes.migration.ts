import { Migration } from '@mikro-orm/migrations';

/**
 * Indexes for the management API's task lists (SPEC §8), shipped with the library next to the
 * first migration through `IntegrationBusModule.migrations`.
 *
 * `integration_task_inbound_id_index` covers incoming tasks only: the list of incoming tasks and
 * the incoming queue depth walk it instead of every outgoing task (see `TaskQueryStore`). Being
 * partial, it costs nothing when an outgoing task is logged, the hot path. Outgoing lists use the
 * primary key and the synchronization indexes the first migration creates.
 */
export class Migration20261126000000TaskListIndexes extends Migration {
  override name = 'Migration20261126000000_TaskListIndexes';

  up(): void {
    this.addSql(
      `create index if not exists "integration_task_inbound_id_index" on "integration_task" ("id") where "is_inbound";`,
    );
  }

  override down(): void {
    this.addSql(`drop index if exists "integration_task_inbound_id_index";`);
  }
}
