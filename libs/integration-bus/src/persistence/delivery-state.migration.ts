import { Migration } from '@mikro-orm/migrations';

/**
 * The delivery guarantees of SPEC §11: a fencing epoch on each processing lease (R-DEL-2), and on
 * each synchronization the state of its last attempt and the failures counted towards parking
 * (R-DEL-5..7). `next_attempt_at` already exists.
 *
 * The partial index holds only synchronizations that need attention (failed, retrying, skipped,
 * parked): the drain finds a connector's blocking head and the scheduler its next due retry there
 * without walking the queue, and logging a task (state null) never touches it.
 */
export class Migration20261201000000DeliveryState extends Migration {
  override name = 'Migration20261201000000_DeliveryState';

  up(): void {
    this.addSql(`alter table "integration_connector"
      add column "lease_epoch" bigint not null default 0,
      add column "incoming_lease_epoch" bigint not null default 0;`);
    this.addSql(`alter table "integration_synchronization"
      add column "state" varchar(20) null,
      add column "failures" int not null default 0;`);
    // Rows that already failed under the previous schema keep blocking as they did.
    this.addSql(
      `update "integration_synchronization" set "state" = 'failed', "failures" = "attempts" where "error_message" is not null and "attempts" > 0;`,
    );
    this.addSql(`create index "integration_synchronization_state_index" on "integration_synchronization"
      ("connector_id", "task_id") include ("state", "next_attempt_at") where "state" is not null;`);
  }

  override down(): void {
    this.addSql(`drop index if exists "integration_synchronization_state_index";`);
    this.addSql(`alter table "integration_synchronization" drop column "state", drop column "failures";`);
    this.addSql(
      `alter table "integration_connector" drop column "lease_epoch", drop column "incoming_lease_epoch";`,
    );
  }
}
