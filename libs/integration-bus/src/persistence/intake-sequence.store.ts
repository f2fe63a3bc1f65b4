import { Injectable } from '@nestjs/common';
import { sqlRows, type SqlExecutor } from './bus-database.js';

/**
 * SQL over `integration_intake_sequence` (R-DEL-2): the highest sequence an incoming task was logged
 * with, per connector and object key (as the sender keys its objects).
 */
@Injectable()
export class IntakeSequenceStore {
  /**
   * Raises the object's highest sequence to `sequence` inside the caller's transaction, if it is
   * higher: one statement, so two concurrent intakes of one key cannot both pass. The second waits
   * on the row (or on the first's insert of it) until the first transaction ends, then compares with
   * what it committed; the row stays locked until the caller's transaction ends, so the task the
   * caller inserts next takes its id after any older intake's.
   * @returns whether it was raised (the intake is newer than anything logged for the key); false
   *   when a sequence at least as high was logged before: the intake must be dropped
   */
  async raise(trx: SqlExecutor, connectorId: number, key: string, sequence: number): Promise<boolean> {
    const raised = await sqlRows(
      trx,
      `insert into integration_intake_sequence as s (connector_id, sequence_key, sequence) values ($1, $2, $3)
       on conflict (connector_id, sequence_key) do update set sequence = excluded.sequence, updated_at = now()
         where s.sequence < excluded.sequence
       returning 1`,
      [connectorId, key, sequence],
    );
    return raised.length > 0;
  }
}
