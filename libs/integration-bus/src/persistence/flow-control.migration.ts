import { Migration } from '@mikro-orm/migrations';

/**
 * Flow control (R-EXT-2), held in the database so that every instance sharing it obeys the same
 * pace: per connector, when its next call may start under its `rateLimit` (`next_call_at`), and
 * until when it is paused by an answer with `pauseConnector` (`paused_until`). A row is created on
 * first use; a connector's row goes with it.
 */
export class Migration20261207400000FlowControl extends Migration {
  override name = 'Migration20261207400000_FlowControl';

  up(): void {
    this.addSql(`create table "integration_flow_control" (
      "connector_id" int not null primary key,
      "next_call_at" timestamptz null,
      "paused_until" timestamptz null,
      constraint "integration_flow_control_connector_id_foreign" foreign key ("connector_id")
        references "integration_connector" ("id") on update cascade on delete cascade
    );`);
  }

  override down(): void {
    this.addSql(`drop table if exists "integration_flow_control";`);
  }
}
