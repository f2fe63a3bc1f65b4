import { Migration } from '@mikro-orm/migrations';

/**
 * The recovery probe's slot (R-EXT-2): when a connector's `probe()` may next be called
 * (`next_probe_at`), taken in one statement by whichever instance asks first, so that however many
 * instances run the connector's partitions, one probes it per `probeIntervalMs`.
 */
export class Migration20261207500000ProbeSlot extends Migration {
  override name = 'Migration20261207500000_ProbeSlot';

  up(): void {
    this.addSql(`alter table "integration_flow_control" add column "next_probe_at" timestamptz null;`);
  }

  override down(): void {
    this.addSql(`alter table "integration_flow_control" drop column if exists "next_probe_at";`);
  }
}
