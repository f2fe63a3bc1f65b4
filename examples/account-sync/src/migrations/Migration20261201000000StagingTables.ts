// src/migrations/Migration20261201000000StagingTables.ts
import { Migration } from '@mikro-orm/migrations';

/** The app's two staging tables. Runs after the bus's own migrations (see `app.module.ts`). */
export class Migration20261201000000StagingTables extends Migration {
  override name = 'Migration20261201000000_StagingTables';

  up(): void {
    this.addSql(`create table "user_sync" (
      "id" serial primary key,
      "item_guid" uuid not null unique,
      "acct_number" int not null,
      "user_name" varchar(100) not null,
      "email" varchar(254) not null
    );`);
    this.addSql(`create table "email_preference_sync" (
      "id" serial primary key,
      "item_guid" uuid not null unique,
      "acct_number" int not null,
      "payment_alerts" boolean not null,
      "alert_above_balance" double precision not null
    );`);
  }

  override down(): void {
    this.addSql(`drop table "email_preference_sync";`);
    this.addSql(`drop table "user_sync";`);
  }
}
