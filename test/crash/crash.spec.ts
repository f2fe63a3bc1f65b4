import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createBusApp } from '../support/bus-app.js';
import { createTestDatabase } from '../support/database.js';

const TASKS = 600;
const BATCH = 50; // crash-worker.mjs's batchSize
const worker = join(import.meta.dirname, 'crash-worker.mjs');
const children: ChildProcess[] = [];

let db: { url: string; drop: () => Promise<void> };

beforeAll(async () => {
  // The worker runs the built library (built by the global setup), as a deployed app would.
  db = await createTestDatabase(inject('serverUrl'));
  const app = await createBusApp({ databaseUrl: db.url }); // creates the bus tables
  await app.sql(`create table t_crash_item (id int primary key, code text not null)`);
  await app.sql(
    `insert into integration_connector (code_name, display_name, class_name) values ('Crash', 'Crash', 'CrashConnector')`,
  );
  await app.sql(
    // Queued as the bus logs a change with one subscriber: the task holds its synchronization.
    `insert into integration_task (guid, title, task_type, object_type, object_id, is_inbound, data_type, process_type,
                                   data, connector_id)
     select gen_random_uuid(), 'Create crash.item ' || i, 'CREATEOBJ', 'crash.item', i::text, false, 'SIMPLE', 'ASYNCSIMPLE',
            jsonb_build_object('entity', 'CrashItem', 'fields', jsonb_build_object('id', i, 'code', 'c' || lpad(i::text, 4, '0')),
                               'translations', '[]'::jsonb, 'children', '{}'::jsonb),
            (select id from integration_connector where code_name = 'Crash')
       from generate_series(1, ${TASKS}) as g(i) order by g.i`,
  );
  await app.close();
}, 120_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await db?.drop();
});

function start(
  output: string,
  delayMs: number,
): { child: ChildProcess; ready: Promise<void>; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [worker, db.url, output, String(delayMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // A worker that dies before it is ready fails the test at once, rather than at its timeout.
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    void exit.then((code) => reject(new Error(`the crash worker exited (${code}) before it was ready`)));
  });
  return { child, ready, exit };
}

describe('crash safety (SPEC §10)', () => {
  it('kill -9 mid-run loses no task, keeps the order, and repeats at most one batch', async () => {
    const output = join(mkdtempSync(join(tmpdir(), 'crash-')), 'received.log');
    const first = start(output, 3);
    await first.ready;
    // Let it get well into the queue, then kill it without any chance to clean up.
    for (
      let i = 0;
      i < 200 && !(existsSync(output) && readFileSync(output, 'utf8').split('\n').length > 150);
      i++
    ) {
      await new Promise((r) => setTimeout(r, 25));
    }
    first.child.kill('SIGKILL');
    await first.exit;

    const second = start(output, 0);
    // Drained, after the dead instance's lease ran out. If not within a minute, what is left says why.
    const exitCode = await Promise.race([
      second.exit,
      new Promise<'stuck'>((resolve) => setTimeout(() => resolve('stuck'), 60_000).unref()),
    ]);
    if (exitCode === 'stuck') {
      const app = await createBusApp({
        databaseUrl: db.url,
        migrate: false,
        bus: { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } },
      });
      const left = await app.sql(
        `select (select count(*)::int from integration_task) as tasks,
                (select count(*)::int from integration_synchronization) as rows,
                (select json_agg(c) from (select lease_owner, lease_until, clock_timestamp() as now from integration_connector) c) as leases`,
      );
      await app.close();
      throw new Error(`the second instance did not drain the queue in 60 s: ${JSON.stringify(left)}`);
    }
    expect(exitCode).toBe(0);

    const lines = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(' '));
    const firstPid = String(first.child.pid);
    const byFirst = lines.filter(([pid]) => pid === firstPid).map(([, code]) => code!);
    const bySecond = lines.filter(([pid]) => pid !== firstPid).map(([, code]) => code!);
    expect(byFirst.length).toBeGreaterThan(0);
    expect(bySecond.length).toBeGreaterThan(0);

    const expected = Array.from({ length: TASKS }, (_, i) => `c${String(i + 1).padStart(4, '0')}`);
    // Nothing lost: every task reached the connector.
    expect(new Set([...byFirst, ...bySecond])).toEqual(new Set(expected));
    // Order kept within each instance, and the second picks up where the first's last committed batch ended.
    expect(byFirst).toEqual([...byFirst].sort());
    expect(bySecond).toEqual([...bySecond].sort());
    const repeated = bySecond.filter((code) => byFirst.includes(code));
    expect(repeated.length).toBeLessThanOrEqual(BATCH);
    expect(repeated).toEqual(byFirst.slice(byFirst.length - repeated.length));
  }, 120_000);
});
