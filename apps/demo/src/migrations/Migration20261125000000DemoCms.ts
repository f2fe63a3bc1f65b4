import { Migration } from '@mikro-orm/migrations';

/**
 * Creates the demo's own tables: the CMS (sites, users, documents) and the two custom tables of
 * reference 000. Runs after the bus's migration (see `DEMO_MIGRATIONS`).
 *
 * Foreign keys use `on delete no action` on purpose: a cascade done by the database would change
 * rows the unit of work never sees, so the bus could not log those changes.
 */
export class Migration20261125000000DemoCms extends Migration {
  override name = 'Migration20261125000000_DemoCms';

  up(): void {
    this.addSql(`create table "cms_site" (
      "id" serial primary key,
      "name" varchar(100) not null,
      "display_name" varchar(200) not null,
      "created_at" timestamptz not null,
      constraint "cms_site_name_unique" unique ("name")
    );`);
    this.addSql(`create table "cms_user" (
      "id" serial primary key,
      "user_name" varchar(100) not null,
      "email" varchar(254) null,
      "first_name" varchar(100) null,
      "last_name" varchar(100) null,
      "site_id" int null,
      "created_at" timestamptz not null,
      constraint "cms_user_user_name_unique" unique ("user_name"),
      constraint "cms_user_site_id_foreign" foreign key ("site_id") references "cms_site" ("id") on delete no action
    );`);
    this.addSql(`create table "cms_document" (
      "id" serial primary key,
      "parent_id" int null,
      "alias_path" varchar(450) not null,
      "culture" varchar(10) not null,
      "class_name" varchar(100) not null,
      "node_guid" uuid not null,
      "title" varchar(200) not null,
      "site_id" int not null,
      "created_at" timestamptz not null,
      constraint "cms_document_site_id_alias_path_culture_unique" unique ("site_id", "alias_path", "culture"),
      constraint "cms_document_parent_id_foreign" foreign key ("parent_id") references "cms_document" ("id") on delete no action,
      constraint "cms_document_site_id_foreign" foreign key ("site_id") references "cms_site" ("id") on delete no action
    );`);
    this.addSql(`create table "mynamespace_usersync" (
      "id" serial primary key,
      "item_guid" uuid not null,
      "acct_number" int not null,
      "user_name" varchar(100) not null,
      "email" varchar(254) not null,
      "created_at" timestamptz not null,
      constraint "mynamespace_usersync_item_guid_unique" unique ("item_guid")
    );`);
    this.addSql(`create table "mynamespace_emailpreferencesync" (
      "id" serial primary key,
      "item_guid" uuid not null,
      "acct_number" int not null,
      "receive_balance_within" boolean not null,
      "receive_exceed_balance" boolean not null,
      "exceed_balance" double precision not null,
      "receive_payment_alert" boolean not null,
      constraint "mynamespace_emailpreferencesync_item_guid_unique" unique ("item_guid")
    );`);
  }

  override down(): void {
    this.addSql('drop table if exists "mynamespace_emailpreferencesync";');
    this.addSql('drop table if exists "mynamespace_usersync";');
    this.addSql('drop table if exists "cms_document";');
    this.addSql('drop table if exists "cms_user";');
    this.addSql('drop table if exists "cms_site";');
  }
}
