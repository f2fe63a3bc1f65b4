import type { IntegrationBus, ResyncProgress } from 'nestjs-integration-bus';
import type { BusTestApp } from '../support/bus-app.js';

/** Tests drive processing themselves: nothing runs unless a test asks. */
export const MANUAL = { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } };

/**
 * Inserts `count` counters with plain SQL, as rows that existed before any connector: no task is
 * logged for them. Codes `c-00001`…, version 1, ids from `firstId`.
 */
export async function seedCounters(
  t: Pick<BusTestApp, 'sql'>,
  count: number,
  options: { firstId?: number; tag?: (id: number) => string | null; siteId?: number | null } = {},
): Promise<void> {
  const first = options.firstId ?? 1;
  const ids = Array.from({ length: count }, (_, i) => first + i);
  await t.sql(
    `insert into t_counter (id, code, version, tag, site_id)
     select id, 'c-' || lpad(id::text, 5, '0'), 1, tag, $3 from unnest($1::int[], $2::text[]) as x(id, tag)`,
    [ids, ids.map((id) => options.tag?.(id) ?? null), options.siteId ?? null],
  );
}

/** Waits until the resync is no longer running; returns its last progress. */
export async function settled(bus: IntegrationBus, id: number, timeoutMs = 20_000): Promise<ResyncProgress> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const progress = await bus.getResync(id);
    if (progress.status !== 'running') return progress;
    if (Date.now() > deadline) throw new Error(`Resync ${id} still running: ${JSON.stringify(progress)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Queued tasks of a connector, oldest first, with what the tests compare. */
export function queuedTasks(t: Pick<BusTestApp, 'sql'>, connector: string) {
  return t.sql<{ id: string; title: string; task_type: string; data_type: string; object_id: string }>(
    `select t.id::text, t.title, t.task_type, t.data_type, t.object_id
       from integration_task t join integration_connector c on c.id = t.connector_id
      where c.code_name = $1 order by t.id`,
    [connector],
  );
}
