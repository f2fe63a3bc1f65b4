import { Migration } from '@mikro-orm/migrations';

/**
 * Intake that drops an older version (R-DEL-2): one row per object an incoming task was logged for
 * with a `sequence` (`processExternalTask`'s `sequence` + `sequenceKey`, the broker consumers'
 * `Bus-Sequence` + `Bus-Object-Key` headers), holding the highest sequence logged for it. An intake
 * whose sequence is not above it logs nothing.
 *
 * The primary key (connector, key) is what makes the check race-free: the intake raises the row with
 * `insert … on conflict do update … where sequence < excluded.sequence` in the task's transaction, so
 * of two concurrent intakes of one object the second waits for the first and then compares with what
 * it committed. Unlike the queue tables, the connector is a real foreign key: an intake writes one
 * row, and a connector's rows go with it.
 */
export class Migration20261207100000IntakeSequence extends Migration {
  override name = 'Migration20261207100000_IntakeSequence';

  up(): void {
    this.addSql(`create table "integration_intake_sequence" (
      "connector_id" int not null,
      "sequence_key" text not null,
      "sequence" bigint not null,
      "updated_at" timestamptz not null default now(),
      constraint "integration_intake_sequence_pkey" primary key ("connector_id", "sequence_key"),
      constraint "integration_intake_sequence_connector_id_foreign" foreign key ("connector_id")
        references "integration_connector" ("id") on delete cascade
    );`);
  }

  override down(): void {
    this.addSql(`drop table if exists "integration_intake_sequence";`);
  }
}
