import { Client } from 'pg';

/**
 * Awaits `step`; if it is still pending after `slowAfterMs`, prints which step it is and what the
 * server's sessions are doing then (state, wait, blockers, query), so that a test that times out in
 * CI says where it hung. The report itself is bounded to 5 s.
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
  const client = new Client({
    connectionString: serverUrl,
    connectionTimeoutMillis: 5000,
    query_timeout: 5000,
  });
  client.on('error', () => undefined);
  let sessions = '';
  try {
    await client.connect();
    const { rows } = await client.query<Record<string, unknown>>(
      `select pid, datname, state, wait_event_type || ':' || wait_event as wait, pg_blocking_pids(pid) as blocked_by,
              round(extract(epoch from now() - xact_start)::numeric, 1) as xact_s, left(query, 120) as query
         from pg_stat_activity where pid <> pg_backend_pid() and backend_type = 'client backend'`,
    );
    sessions = rows.map((row) => `  ${JSON.stringify(row)}`).join('\n');
  } catch (error) {
    sessions = `  (could not read the sessions: ${(error as Error).message})`;
  } finally {
    await client.end().catch(() => undefined);
  }
  console.warn(
    `[test set-up] ${label} still pending after ${seconds} s; the server's sessions:\n${sessions}`,
  );
}
