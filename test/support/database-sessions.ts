/** Runs a query and resolves with its rows (a pool's, or a client's). */
type RowReader = (text: string) => Promise<Record<string, unknown>[]>;

/**
 * What the server's busy sessions are doing, one line each: state, wait, the sessions blocking it,
 * transaction age and query. For reports of something that hangs (most often a lock wait, and this
 * says whose). `database`: only the sessions of the database `read` is connected to. Never waits
 * more than 5 s, never throws: a server that does not answer is said so.
 */
export async function busySessions(read: RowReader, scope: 'database' | 'server'): Promise<string> {
  const where = scope === 'database' ? 'and datname = current_database()' : '';
  const report = read(
    `select pid, datname, state, wait_event_type || ':' || wait_event as wait, pg_blocking_pids(pid) as blocked_by,
            round(extract(epoch from now() - xact_start)::numeric, 1) as xact_s, left(query, 160) as query
       from pg_stat_activity
      where pid <> pg_backend_pid() and backend_type = 'client backend' and state <> 'idle' ${where}`,
  ).then(
    (rows) => rows.map((row) => `  ${JSON.stringify(row)}`).join('\n') || '  (none busy)',
    (error: unknown) => `  (not read: ${(error as Error).message})`,
  );
  const unread = new Promise<string>((resolve) =>
    setTimeout(() => resolve('  (not read within 5 s)'), 5000).unref(),
  );
  return Promise.race([report, unread]);
}
