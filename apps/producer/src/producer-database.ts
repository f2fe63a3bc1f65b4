import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from 'pg';
import { startEmbeddedDatabase } from '../../demo/src/embedded-database.js';
import { UsageError } from './producer-args.js';

/** The database the producer logs into, and how to let go of it. */
export interface ProducerDatabase {
  url: string;
  /** Where it came from, for the producer's output. */
  description: string;
  /** Stops the embedded server if the producer started it; otherwise nothing. */
  release(): Promise<void>;
}

/**
 * The demo's database: `url` when given (`--database-url` or `DATABASE_URL`); else the demo's
 * embedded PostgreSQL (data in `.data/demo-pg`, port `DEMO_PG_PORT` [54329]) — used as it is while
 * the demo runs, started (and stopped again afterwards) while the demo is down. The embedded
 * server lives inside the demo's process, so without this a producer could not reach the queue
 * exactly when it matters: while the host is stopped.
 */
export async function openProducerDatabase(
  url: string | null,
  env: NodeJS.ProcessEnv,
): Promise<ProducerDatabase> {
  if (url) return { url, description: 'DATABASE_URL', release: async () => {} };
  const port = Number(env.DEMO_PG_PORT || 54329);
  const embeddedUrl = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
  if (await answers(embeddedUrl)) {
    return {
      url: embeddedUrl,
      description: `the demo's embedded PostgreSQL (port ${port})`,
      release: async () => {},
    };
  }
  const dataDir = join(repositoryRoot(), '.data', 'demo-pg');
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    throw new UsageError(
      `No DATABASE_URL, and the demo's embedded PostgreSQL has no data in ${dataDir} yet: ` +
        'start the demo once (npm run demo) so that it creates its tables, or set DATABASE_URL.',
    );
  }
  const server = await startEmbeddedDatabase({ dataDir, port });
  return {
    url: server.url,
    description: `the demo's embedded PostgreSQL, started for this run (port ${port})`,
    release: () => server.stop(),
  };
}

/** Whether a PostgreSQL server accepts a connection at `url`. */
async function answers(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The repository root: the nearest folder above this file holding `nest-cli.json`. */
function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'nest-cli.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new UsageError('Cannot find the repository root (nest-cli.json).');
    dir = parent;
  }
  return dir;
}
