import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'pg';

/**
 * Polls `sql` (one row, column `n`) every 5 ms until it reads 0: how the peers' clocks wait for
 * completions they batch after the handler returned. Only polled once every handler has run, so it
 * adds no load while the queue drains.
 */
export async function waitUntilZero(client: Client, sql: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await client.query<{ n: number }>(sql);
    if (rows[0]?.n === 0) return;
    if (Date.now() > deadline) throw new Error(`Still ${rows[0]?.n} rows after ${timeoutMs} ms: ${sql}`);
    await sleep(5);
  }
}
