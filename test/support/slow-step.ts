import { Client } from 'pg';
import { busySessions } from './database-sessions.js';

/**
 * Awaits `step`; if it is still pending after `slowAfterMs`, prints which step it is and what the
 * server's busy sessions are doing then (`busySessions`), so that a test that times out in CI says
 * where it hung.
 */
export async function watchStep<T>(
  label: string,
  serverUrl: string,
  step: Promise<T>,
  slowAfterMs = 10_000,
): Promise<T> {
  const started = performance.now();
  const timer = setTimeout(() => void reportSlowStep(label, serverUrl, started), slowAfterMs);
  try {
    return await step;
  } finally {
    clearTimeout(timer);
  }
}

async function reportSlowStep(label: string, serverUrl: string, started: number): Promise<void> {
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const client = new Client({ connectionString: serverUrl, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  const sessions = await busySessions(async (text) => {
    await client.connect();
    return (await client.query<Record<string, unknown>>(text)).rows;
  }, 'server');
  await client.end().catch(() => undefined);
  console.warn(
    `[test set-up] ${label} still pending after ${seconds} s; the server's sessions:\n${sessions}`,
  );
}
