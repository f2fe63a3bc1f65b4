import { Migration } from '@mikro-orm/migrations';

/** Gives incoming processing a lease of its own, so a connector's two queues run independently. */
export class Migration20261124100000IncomingLease extends Migration {
  override name = 'Migration20261124100000_IncomingLease';

  up(): void {
    this.addSql(`alter table "integration_connector"
      add column "incoming_lease_owner" varchar(100) null,
      add column "incoming_lease_until" timestamptz null;`);
  }

  override down(): void {
    this.addSql(`alter table "integration_connector"
      drop column "incoming_lease_owner",
      drop column "incoming_lease_until";`);
  }
}
