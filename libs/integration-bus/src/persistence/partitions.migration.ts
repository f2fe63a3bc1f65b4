import { Migration } from '@mikro-orm/migrations';

/**
 * Ordering per object and partitions (SPEC §12). Each outgoing synchronization of an
 * `ordering: 'object'` connector carries its partition (1..partitions) and its object's hash; those
 * of a connector with one FIFO stay in partition 0, so nothing changes for them and for incoming
 * tasks. The partial indexes cover only partitioned rows and failed objects: logging for a one-FIFO
 * connector does not pay for them. Partition leases live in a table of their own (a row per claimed partition), and
 * `integration_instance` lists the live instances, which share the partitions among them (R-ORD-3).
 */
export class Migration20261201100000Partitions extends Migration {
  override name = 'Migration20261201100000_Partitions';

  up(): void {
    this.addSql(`alter table "integration_synchronization"
      add column "partition" smallint not null default 0,
      add column "object_hash" bigint null;`);
    this.addSql(`create index "integration_synchronization_partition_index" on "integration_synchronization"
      ("connector_id", "partition", "task_id") where "partition" > 0;`);
    // The failed head of each object, found per candidate row by the drain's blocking check.
    this
      .addSql(`create index "integration_synchronization_failed_object_index" on "integration_synchronization"
      ("connector_id", "object_hash", "task_id") where "state" = 'failed' and "object_hash" is not null;`);
    this.addSql(`alter table "integration_connector" add column "partitions" smallint not null default 0;`);
    this.addSql(`create table "integration_partition_lease" (
      "connector_id" int not null, "partition" smallint not null, "owner" varchar(100) null,
      "lease_until" timestamptz null, "epoch" bigint not null default 0,
      constraint "integration_partition_lease_pkey" primary key ("connector_id", "partition"));`);
    this.addSql(`create table "integration_instance" (
      "owner" varchar(100) not null, "seen_until" timestamptz not null,
      constraint "integration_instance_pkey" primary key ("owner"));`);
  }

  override down(): void {
    this.addSql(`drop table if exists "integration_instance";`);
    this.addSql(`drop table if exists "integration_partition_lease";`);
    this.addSql(`alter table "integration_connector" drop column "partitions";`);
    this.addSql(`drop index if exists "integration_synchronization_partition_index";`);
    this.addSql(`drop index if exists "integration_synchronization_failed_object_index";`);
    this.addSql(
      `alter table "integration_synchronization" drop column "partition", drop column "object_hash";`,
    );
  }
}
