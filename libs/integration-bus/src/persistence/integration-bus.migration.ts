import { Migration } from '@mikro-orm/migrations';
import { CLEANUP_TRIGGERS } from './cleanup-triggers.js';

/**
 * Creates the bus's tables (SPEC §7). Shipped with the library: add it to the host's MikroORM
 * config through `IntegrationBusModule.migrations`.
 */
export class Migration20261124000000IntegrationBus extends Migration {
  override name = 'Migration20261124000000_IntegrationBus';

  up(): void {
    this.addSql(`create table "integration_connector" (
      "id" serial primary key,
      "code_name" varchar(100) not null,
      "display_name" varchar(200) not null,
      "class_name" varchar(200) not null,
      "enabled" boolean not null default true,
      "lease_owner" varchar(100) null,
      "lease_until" timestamptz null,
      "created_at" timestamptz not null default now(),
      constraint "integration_connector_code_name_unique" unique ("code_name")
    );`);
    this.addSql(`create table "integration_task" (
      "id" bigserial primary key,
      "guid" uuid not null,
      "title" varchar(450) not null,
      "task_type" varchar(50) not null,
      "object_type" varchar(200) not null,
      "object_id" varchar(100) null,
      "node_id" varchar(100) null,
      "document_id" varchar(100) null,
      "alias_path" varchar(450) null,
      "site_name" varchar(100) null,
      "is_inbound" boolean not null default false,
      "data_type" varchar(50) not null,
      "process_type" varchar(50) not null,
      "data" jsonb not null,
      "created_at" timestamptz not null default now()
    );`);
    this.addSql(`create table "integration_synchronization" (
      "id" bigserial primary key,
      "task_id" bigint not null,
      "connector_id" int not null,
      "handler" varchar(200) null,
      "attempts" int not null default 0,
      "last_run" timestamptz null,
      "error_message" text null,
      "next_attempt_at" timestamptz null,
      constraint "integration_synchronization_connector_task_unique" unique ("connector_id", "task_id")
    );`);
    this.addSql(
      `create index "integration_synchronization_task_id_index" on "integration_synchronization" ("task_id");`,
    );
    this.addSql(`create table "integration_sync_log" (
      "id" bigserial primary key,
      "synchronization_id" bigint not null,
      "time" timestamptz not null default now(),
      "error_message" text not null
    );`);
    this.addSql(
      `create index "integration_sync_log_synchronization_id_index" on "integration_sync_log" ("synchronization_id");`,
    );
    // No foreign keys between the queue tables: a row-level RI check or cascade runs one internal
    // query per row, and the drain deletes thousands of rows a second (measured here: deleting
    // 100,000 synchronizations and their tasks took 2.5 s with cascading keys, 0.5 s without). The
    // bus deletes synchronizations before their tasks itself; statement-level triggers keep the
    // cascades, once per statement instead of once per row (persistence/cleanup-triggers.ts).
    for (const [table, trigger] of Object.entries(CLEANUP_TRIGGERS)) {
      this.addSql(
        `create function "${table}_${trigger.name}_fn"() returns trigger language plpgsql as $$ begin ${trigger.body}; end $$;`,
      );
      this.addSql(`create trigger "${trigger.name}" after delete on "${table}"
        referencing old table as gone for each statement execute function "${table}_${trigger.name}_fn"();`);
    }
    this.addSql(`create table "integration_setting" (
      "key" varchar(100) primary key,
      "value" boolean not null,
      "updated_at" timestamptz not null default now()
    );`);
    this.addSql(`create table "integration_event_log" (
      "id" bigserial primary key,
      "time" timestamptz not null default now(),
      "level" varchar(20) not null,
      "source" varchar(200) not null,
      "event_code" varchar(100) not null,
      "message" text not null,
      "connector_name" varchar(100) null,
      "task_id" bigint null
    );`);
  }

  override down(): void {
    for (const table of [
      'integration_event_log',
      'integration_setting',
      'integration_sync_log',
      'integration_synchronization',
      'integration_task',
      'integration_connector',
    ]) {
      this.addSql(`drop table if exists "${table}" cascade;`);
    }
    for (const [table, trigger] of Object.entries(CLEANUP_TRIGGERS)) {
      this.addSql(`drop function if exists "${table}_${trigger.name}_fn"();`);
    }
  }
}
