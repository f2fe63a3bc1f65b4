import { Migration } from '@mikro-orm/migrations';

/**
 * Adds the tables that exercise foreign-key translation: roles and the user-role bindings (Snapshot
 * children of a user), polls and their answers (Snapshot children of a poll). Runs after
 * `Migration20261125000000DemoCms`, whose tables it references.
 *
 * Foreign keys use `on delete no action` for the same reason as there: the services remove child
 * rows through the unit of work, so that the bus sees every change.
 */
export class Migration20261126000000DemoPollsRoles extends Migration {
  override name = 'Migration20261126000000_DemoPollsRoles';

  up(): void {
    this.addSql(`create table "cms_role" (
      "id" serial primary key,
      "name" varchar(100) not null,
      "display_name" varchar(200) not null,
      "created_at" timestamptz not null,
      constraint "cms_role_name_unique" unique ("name")
    );`);
    this.addSql(`create table "cms_userrole" (
      "id" serial primary key,
      "user_id" int not null,
      "role_id" int not null,
      constraint "cms_userrole_user_id_role_id_unique" unique ("user_id", "role_id"),
      constraint "cms_userrole_user_id_foreign" foreign key ("user_id") references "cms_user" ("id") on delete no action,
      constraint "cms_userrole_role_id_foreign" foreign key ("role_id") references "cms_role" ("id") on delete no action
    );`);
    this.addSql(`create table "polls_poll" (
      "id" serial primary key,
      "code_name" varchar(100) not null,
      "question" varchar(450) not null,
      "site_id" int null,
      "created_at" timestamptz not null,
      constraint "polls_poll_code_name_unique" unique ("code_name"),
      constraint "polls_poll_site_id_foreign" foreign key ("site_id") references "cms_site" ("id") on delete no action
    );`);
    this.addSql(`create table "polls_pollanswer" (
      "id" serial primary key,
      "poll_id" int not null,
      "code_name" varchar(100) not null,
      "text" varchar(200) not null,
      constraint "polls_pollanswer_poll_id_code_name_unique" unique ("poll_id", "code_name"),
      constraint "polls_pollanswer_poll_id_foreign" foreign key ("poll_id") references "polls_poll" ("id") on delete no action
    );`);
  }

  override down(): void {
    this.addSql('drop table if exists "polls_pollanswer";');
    this.addSql('drop table if exists "polls_poll";');
    this.addSql('drop table if exists "cms_userrole";');
    this.addSql('drop table if exists "cms_role";');
  }
}
