import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort } from './free-port.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of a server where each test file creates its own database. */
    serverUrl: string;
  }
}

/**
 * Uses the PostgreSQL of `DATABASE_URL` when set, else starts an embedded one for the whole run.
 * Each test file then creates a database of its own on that server (test/support/database.ts).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Tests that start other processes (crash, producer) run the built library, as a deployment would:
  // build it once here rather than in each of them, concurrently.
  execFileSync('npx', ['tsc', '-b', 'libs/integration-bus/tsconfig.build.json'], { stdio: 'inherit' });
  if (process.env.DATABASE_URL) {
    project.provide('serverUrl', process.env.DATABASE_URL);
    return async () => {};
  }
  // Imported only when needed, for its exit hook (see keepFailingExitCode).
  const { startEmbeddedPostgres } = await import('./embedded-postgres.js');
  keepFailingExitCode();
  const dir = await mkdtemp(join(tmpdir(), 'integration-bus-pg-'));
  const port = await freePort();
  const server = await startEmbeddedPostgres(dir, port);
  project.provide('serverUrl', server.url);
  return async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
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
