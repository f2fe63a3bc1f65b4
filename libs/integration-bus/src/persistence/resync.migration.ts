import { Migration } from '@mikro-orm/migrations';

/**
 * Resync (R-RES-1): one row per resync of an object type for a connector, holding what makes it
 * resumable and visible: its filter and chunk size, its position (the primary key of the last row
 * done, as a JSON array), the rows done and the total, the recent rate, and the lease of the
 * instance running it (owner, expiry and a fencing epoch, as the processing leases have: a chunk
 * commits only while its runner still holds the lease at that epoch, R-DEL-2).
 *
 * The partial unique index makes "one running resync per connector and object type" a fact of the
 * database: of two concurrent starts, the second fails on it. A connector's resyncs go with it.
 */
export class Migration20261207300000Resync extends Migration {
  override name = 'Migration20261207300000_Resync';

  up(): void {
    this.addSql(`create table "integration_resync" (
      "id" bigserial primary key,
      "connector_id" int not null,
      "object_type" varchar(200) not null,
      "filter" jsonb null,
      "chunk_size" int not null,
      "status" varchar(20) not null,
      "position" jsonb null,
      "done" bigint not null default 0,
      "total" bigint not null default 0,
      "chunks" int not null default 0,
      "rate" double precision null,
      "error_message" text null,
      "lease_owner" varchar(100) null,
      "lease_until" timestamptz null,
      "epoch" bigint not null default 0,
      "started_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now(),
      "finished_at" timestamptz null,
      constraint "integration_resync_connector_id_foreign" foreign key ("connector_id")
        references "integration_connector" ("id") on delete cascade
    );`);
    this.addSql(`create unique index "integration_resync_running_index" on "integration_resync"
      ("connector_id", "object_type") where "status" = 'running';`);
  }

  override down(): void {
    this.addSql(`drop table if exists "integration_resync";`);
  }
}
