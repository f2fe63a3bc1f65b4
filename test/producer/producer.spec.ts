import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { eventually } from '../support/recording-connector.js';
import { buildApps, killAll, runProducer, startHost, type HostProcess } from './processes.js';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';

const NOTIFY_TOKEN = 'producer-test-notify-token';
const HOST_ENV = {
  INTEGRATION_ADMIN_TOKEN: 'producer-test-admin-token',
  INTEGRATION_NOTIFY_TOKEN: NOTIFY_TOKEN,
};
/** A cron that does not fire during a test (midnight on January 1st). */
const NEVER = '0 0 0 1 1 *';

let db: { url: string; drop: () => Promise<void> };
let pool: Pool;
const dir = mkdtempSync(join(tmpdir(), 'producer-'));

beforeAll(async () => {
  db = await createTestDatabase(inject('serverUrl'));
  pool = new Pool({ connectionString: db.url, max: 2 });
  // The library is built by the global setup; the apps here, once (incremental: fast when up to date).
  await buildApps();
}, 180_000);

afterAll(async () => {
  killAll();
  await pool?.end();
  await db?.drop();
});

async function sql<R = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<R[]> {
  return (await pool.query(text, params)).rows as R[];
}

/** Incoming tasks still queued for a connector, oldest first. */
async function incomingTasks(connector = 'CrmConnector') {
  return sql<{ id: number; task_type: string; title: string; data_type: string; site_name: string | null }>(
    `select t.id::int as id, t.task_type, t.title, t.data_type, t.site_name
       from integration_task t join ${ALL_SYNCHRONIZATIONS_SQL} s on s.task_id = t.id
       join integration_connector c on c.id = s.connector_id
      where t.is_inbound and c.code_name = $1 order by t.id`,
    [connector],
  );
}

async function call(host: HostProcess, method: string, path: string, body?: unknown) {
  const res = await fetch(`${host.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as unknown };
}

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(content));
  return path;
}

describe('the producer, a separate process logging into the shared database (R-IN-6)', () => {
  it('logs people while the host is down; the host applies them when it is back', async () => {
    // The host creates its tables (migrations) and a site, then stops.
    const first = await startHost(db.url, { ...HOST_ENV, INTEGRATION_INCOMING_CRON: NEVER });
    expect((await call(first, 'POST', '/api/sites', { name: 'main', displayName: 'Main site' })).status).toBe(
      201,
    );
    expect(await first.stop()).toBe(0);
    expect(first.child.exitCode).toBe(0);

    const people = file('people.json', [
      { login: 'ada', email: 'ada@crm.example', firstName: 'Ada', lastName: 'Lovelace', siteId: 100 },
      { login: 'grace', email: 'grace@crm.example', firstName: 'Grace', siteId: 100 },
      { login: 'linus', firstName: 'Linus' },
    ]);
    const run = await runProducer(['--connector', 'CrmConnector', '--task', 'CREATEOBJ', people], {
      DATABASE_URL: db.url,
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const printed = [...run.stdout.matchAll(/^task (\d+) {2}(.*)$/gm)].map((m) => Number(m[1]));
    expect(printed).toHaveLength(3);

    // Queued, with no host running: the producer needed only the database.
    const queued = await incomingTasks();
    expect(queued.map((t) => t.id)).toEqual(printed);
    expect(queued.map((t) => [t.task_type, t.data_type, t.site_name])).toEqual([
      ['CREATEOBJ', 'SIMPLESNAPSHOT', 'main'],
      ['CREATEOBJ', 'SIMPLESNAPSHOT', 'main'],
      ['CREATEOBJ', 'SIMPLESNAPSHOT', null],
    ]);
    expect(queued[0]!.title).toContain("cms.user 'ada' from CrmConnector");
    expect(await sql(`select 1 from cms_user`)).toEqual([]);

    // Back up, with the job "Process external integration tasks" every second.
    const second = await startHost(db.url, { ...HOST_ENV, INTEGRATION_INCOMING_CRON: '*/1 * * * * *' });
    try {
      await eventually(async () => {
        const users = (await call(second, 'GET', '/api/users')).json as Record<string, unknown>[];
        expect(users.map((u) => [u.userName, u.email, u.firstName, u.lastName, u.siteName])).toEqual([
          ['ada', 'ada@crm.example', 'Ada', 'Lovelace', 'main'],
          ['grace', 'grace@crm.example', 'Grace', null, 'main'],
          ['linus', null, 'Linus', null, null],
        ]);
      }, 15_000);
      await eventually(async () => expect(await incomingTasks()).toEqual([]));
    } finally {
      expect(await second.stop()).toBe(0);
    }
  }, 120_000);

  it('asks a running host to process at once with --notify (requestTasksProcessing from another process)', async () => {
    const host = await startHost(db.url, { ...HOST_ENV, INTEGRATION_INCOMING_CRON: NEVER });
    try {
      const run = await runProducer(
        [
          '--task',
          'UPDATEOBJ',
          '--object',
          // grace of site main: the natural key is the code name and the site (R-IN-2).
          JSON.stringify({ login: 'grace', lastName: 'Hopper', siteId: 100 }),
          '--notify',
          host.url,
        ],
        { DATABASE_URL: db.url, INTEGRATION_NOTIFY_TOKEN: NOTIFY_TOKEN },
      );
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^task \d+ {2}UPDATEOBJ cms\.user 'grace'/m);
      expect(run.stdout).toContain('processing started (202)');
      await eventually(async () => {
        const users = (await call(host, 'GET', '/api/users')).json as Record<string, unknown>[];
        expect(users.find((u) => u.userName === 'grace')).toMatchObject({
          firstName: 'Grace', // not sent: left as it was
          lastName: 'Hopper',
          siteName: 'main',
        });
      }, 10_000);

      // A wrong token: the host refuses, the producer warns, the task stays queued.
      const refused = await runProducer(
        ['--task', 'DELETEOBJ', '--object', '{"login":"grace"}', '--notify', host.url],
        { DATABASE_URL: db.url, INTEGRATION_NOTIFY_TOKEN: 'not-the-token' },
      );
      expect(refused.code).toBe(0);
      expect(refused.stderr).toContain('answered 401');
      expect((await incomingTasks()).map((t) => t.task_type)).toEqual(['DELETEOBJ']);
    } finally {
      expect(await host.stop()).toBe(0);
    }
    await sql(`delete from integration_task`);
  }, 60_000);

  it('rejects a bad person or command line with a message, logging nothing', async () => {
    const env = { DATABASE_URL: db.url };
    const noLogin = await runProducer(['--task', 'CREATEOBJ', '--object', '{"email":"x@crm.example"}'], env);
    expect(noLogin.code).toBe(1);
    expect(noLogin.stderr).toContain('--object #1: External object field login is required.');

    const unknownSite = await runProducer(
      ['--task', 'CREATEOBJ', file('bad.json', [{ login: 'x', siteId: 7 }])],
      env,
    );
    expect(unknownSite.code).toBe(1);
    expect(unknownSite.stderr).toMatch(
      /bad\.json\[0\]: External object field siteId must be the CRM id of a site/,
    );

    const noTask = await runProducer([file('one.json', { login: 'x' })], env);
    expect(noTask.code).toBe(2);
    expect(noTask.stderr).toContain('--task is required');

    const badTask = await runProducer(['--task', 'ALL', '--object', '{"login":"x"}'], env);
    expect(badTask.code).toBe(2);
    expect(badTask.stderr).toContain('--task must be one of CREATEOBJ');

    const unknownConnector = await runProducer(
      ['--connector', 'Nope', '--task', 'CREATEOBJ', '--object', '{}'],
      env,
    );
    expect(unknownConnector.code).toBe(1);
    expect(unknownConnector.stderr).toContain('No connector named "Nope"');

    expect(await sql(`select id from integration_task`)).toEqual([]);
  }, 60_000);
});
