import { Migration } from '@mikro-orm/migrations';
import { CLEANUP_TRIGGERS } from './cleanup-triggers.js';

/**
 * One row per change (SPEC §10's logging and throughput bars): an outgoing task with a single
 * connector carries that connector's synchronization itself, in `connector_id`, `handler`,
 * `partition` and `object_hash`, while it is waiting for its first attempt. It gets a row in
 * `integration_synchronization` only once an attempt did not succeed (state must be kept), so the
 * common change writes one row and two index entries instead of two rows and five. Tasks shared by
 * several connectors and incoming tasks keep one synchronization row per connector.
 *
 * Existing queues need no rewrite: their synchronization rows stay valid, and the columns are
 * nullable or have a constant default (no table rewrite on PostgreSQL 11+).
 */
export class Migration20261201400000LoneTasks extends Migration {
  override name = 'Migration20261201400000_LoneTasks';

  up(): void {
    this.addSql(`alter table "integration_task"
      add column "connector_id" int null,
      add column "handler" varchar(200) null,
      add column "partition" smallint not null default 0,
      add column "object_hash" bigint null;`);
    this.addSql(`create index "integration_task_queue_index" on "integration_task"
      ("connector_id", "partition", "id") where "connector_id" is not null;`);
    // A deleted connector now also takes the tasks that wait for it alone.
    this.addSql(
      `create or replace function "integration_connector_cleanup_fn"() returns trigger language plpgsql as $$ begin ${CLEANUP_TRIGGERS.integration_connector.body}; end $$;`,
    );
  }

  override down(): void {
    // Lone tasks get their synchronization row back before the columns go.
    this
      .addSql(`insert into "integration_synchronization" (task_id, connector_id, handler, partition, object_hash)
      select id, connector_id, handler, partition, object_hash from "integration_task" where connector_id is not null;`);
    this
      .addSql(`create or replace function "integration_connector_cleanup_fn"() returns trigger language plpgsql as $$ begin
      delete from "integration_synchronization" s using gone g where s."connector_id" = g."id"; return null; end $$;`);
    this.addSql(`drop index if exists "integration_task_queue_index";`);
    this.addSql(`alter table "integration_task"
      drop column "connector_id", drop column "handler", drop column "partition", drop column "object_hash";`);
  }
}
