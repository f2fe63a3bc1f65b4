import { Migration } from '@mikro-orm/migrations';

/**
 * SkipNow's own bound (R-EXT-4): each synchronization counts the SkipNow answers since it was last
 * requeued, towards `retry.skipNow.maxAttempts`, apart from the failures that `retry.maxAttempts`
 * counts. `attempts` could not serve: requeueing keeps it, and it mixes both kinds.
 */
export class Migration20261207200000SkipCount extends Migration {
  override name = 'Migration20261207200000_SkipCount';

  up(): void {
    this.addSql(`alter table "integration_synchronization" add column "skips" int not null default 0;`);
  }

  override down(): void {
    this.addSql(`alter table "integration_synchronization" drop column "skips";`);
  }
}
