import {
  ChangeLogStore,
  type NewTask,
} from '../../../libs/integration-bus/dist/persistence/change-log.store.js';
import type {
  BusDatabase,
  SqlExecutor,
} from '../../../libs/integration-bus/dist/persistence/bus-database.js';

/*
 * PROTOTYPE (issue 25), not the library: WAL capture. With it on, the change log writes no task row
 * in the change's transaction: it emits the tasks the bus built (the same snapshot, the same
 * `NewTask`s) as one transactional logical-decoding message, `pg_logical_emit_message(true, …)`,
 * which is a WAL record only (no heap row, no index entry) and is decoded at commit, in commit
 * order. `WalReader` moves the messages into the queue tables. The switch patches
 * `ChangeLogStore.insert` for the whole process, so one process can measure both modes in turn.
 */

/** The prefix of the bus's logical-decoding messages. */
export const WAL_PREFIX = 'integration_bus';

type Insert = ChangeLogStore['insert'];

/** The library's own insert (a task row per change, in the change's transaction). */
export const tableInsert: Insert = ChangeLogStore.prototype.insert;

let walCapture = false;

/** Turns WAL capture on or off for every `ChangeLogStore` of this process. */
export function setWalCapture(on: boolean): void {
  walCapture = on;
}

const EMIT = `select pg_logical_emit_message(true, '${WAL_PREFIX}', $1::text)`;

ChangeLogStore.prototype.insert = async function (
  this: ChangeLogStore,
  trx: SqlExecutor,
  tasks: readonly NewTask[],
  notifyAs?: string,
  options?: Parameters<Insert>[3],
): Promise<Map<string, number>> {
  if (!walCapture) return tableInsert.call(this, trx, tasks, notifyAs, options);
  if (tasks.length === 0) return new Map();
  const db = (this as unknown as { db: BusDatabase }).db;
  await db.preparedIn(trx, EMIT, [JSON.stringify(tasks)]);
  // The ids are handed out when the reader queues the tasks; nothing reads them in a flush.
  return new Map();
};
