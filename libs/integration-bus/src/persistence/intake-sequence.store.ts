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

  /**
   * `raise` for the intakes of a batch, in the batch's order (R-DEL-2): each passes if its sequence
   * is above the highest logged for its key, in the database or by an intake before it in `intakes`.
   * The keys' rows are created if missing (at -1, below any sequence: each is raised before the
   * commit) and locked in sorted order, so that two batches never deadlock, and stay locked until
   * the caller's transaction ends, as with `raise`: the tasks the caller inserts next take their ids
   * after any older intake's.
   * @returns per intake, whether it passed
   */
  async raiseMany(
    trx: SqlExecutor,
    connectorId: number,
    intakes: readonly { key: string; sequence: number }[],
  ): Promise<boolean[]> {
    if (intakes.length === 0) return [];
    const keys = [...new Set(intakes.map((intake) => intake.key))].sort();
    await sqlRows(
      trx,
      `insert into integration_intake_sequence (connector_id, sequence_key, sequence)
       select $1, k, -1 from json_array_elements_text($2::json) as k
       on conflict (connector_id, sequence_key) do nothing`,
      [connectorId, JSON.stringify(keys)],
    );
    const rows = await sqlRows<{ sequence_key: string; sequence: string }>(
      trx,
      `select sequence_key, sequence from integration_intake_sequence
        where connector_id = $1 and sequence_key = any($2::text[]) order by sequence_key for update`,
      [connectorId, keys],
    );
    const stored = new Map(rows.map((row) => [row.sequence_key, Number(row.sequence)]));
    const highest = new Map(stored);
    const passed = intakes.map(({ key, sequence }) => {
      if (sequence <= (highest.get(key) ?? -1)) return false;
      highest.set(key, sequence);
      return true;
    });
    const raised = [...highest]
      .filter(([key, sequence]) => sequence > (stored.get(key) ?? -1))
      .map(([key, sequence]) => ({ key, sequence }));
    if (raised.length > 0) {
      await sqlRows(
        trx,
        `update integration_intake_sequence s set sequence = v.sequence, updated_at = now()
           from json_to_recordset($2::json) as v(key text, sequence bigint)
          where s.connector_id = $1 and s.sequence_key = v.key`,
        [connectorId, JSON.stringify(raised)],
      );
    }
    return passed;
  }
}
