import { Migration } from '@mikro-orm/migrations';

/**
 * R-ECO-4: the W3C trace context of the `create` span of a task, stored with the task in the
 * transaction that logs it, so that the `process {connector}` span of each connector call can link
 * to it. `traceparent` is 55 characters (`00-<32 hex>-<16 hex>-<2 hex>`); null when no tracer was
 * registered. Nullable without a default: adding it rewrites no row.
 */
export class Migration20261201300000TraceContext extends Migration {
  override name = 'Migration20261201300000_TraceContext';

  up(): void {
    this.addSql(`alter table "integration_task" add column "trace_parent" varchar(55) null;`);
  }

  override down(): void {
    this.addSql(`alter table "integration_task" drop column "trace_parent";`);
  }
}
