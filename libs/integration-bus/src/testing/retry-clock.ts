import type { EntityManager, MikroORM } from '@mikro-orm/core';
import { entityManagerOf, type BusTarget } from './bus-target.js';

/**
 * The in-test clock of retry backoff. A failed synchronization is not retried automatically
 * before its `integration_synchronization.next_attempt_at`; instead of waiting, a test moves that
 * time earlier by `ms` for every waiting synchronization (of one connector if given), as if `ms`
 * had passed for the bus. The next run (`drainQueue`, `bus.processOutgoingTasks`, the sweep) then
 * takes the tasks whose time has come. Only `next_attempt_at` changes: attempts and logs stay.
 *
 * @returns how many synchronizations were moved
 */
export async function advanceRetryClock(
  target: BusTarget | MikroORM | EntityManager,
  ms: number,
  options: { connectorName?: string } = {},
): Promise<number> {
  if (!Number.isFinite(ms) || ms < 0) {
    throw new RangeError(`advanceRetryClock: ms must be a finite number ≥ 0; got ${ms}.`);
  }
  const em = entityManagerOf(target);
  const byConnector = options.connectorName
    ? ' and connector_id = (select id from integration_connector where code_name = ?)'
    : '';
  const params: unknown[] = [ms / 1000];
  if (options.connectorName) params.push(options.connectorName);
  const result = await em.getConnection().execute<{ affectedRows: number }>(
    `update integration_synchronization
         set next_attempt_at = next_attempt_at - make_interval(secs => ?)
       where next_attempt_at is not null${byConnector}`,
    params,
    'run',
  );
  return result.affectedRows;
}
