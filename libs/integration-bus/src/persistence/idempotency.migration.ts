import { Migration } from '@mikro-orm/migrations';

/**
 * Idempotent intake (R-ECO-3): one row per idempotency key an incoming task was logged with, kept
 * for `idempotencyWindowMs` after the task itself has been processed and deleted, so that a retried
 * request or a redelivered broker message is answered with the task it already produced.
 *
 * The primary key (connector, key) is what makes the intake idempotent under concurrency: two
 * requests with one key both try to insert, the second waits for the first's transaction and then
 * finds the key taken (`insert … on conflict`), instead of both reading "absent" and both logging.
 * `task` is the logged task as the API returned it: the answer for the duplicates, even once the
 * task row is gone. The `created_at` index serves the purge of expired keys.
 */
export class Migration20261201200000Idempotency extends Migration {
  override name = 'Migration20261201200000_Idempotency';

  up(): void {
    this.addSql(`create table "integration_idempotency_key" (
      "connector_id" int not null,
      "key" varchar(200) not null,
      "task" jsonb not null,
      "created_at" timestamptz not null default now(),
      constraint "integration_idempotency_key_pkey" primary key ("connector_id", "key")
    );`);
    this.addSql(
      `create index "integration_idempotency_key_created_at_index" on "integration_idempotency_key" ("created_at");`,
    );
  }

  override down(): void {
    this.addSql(`drop table if exists "integration_idempotency_key";`);
  }
}
