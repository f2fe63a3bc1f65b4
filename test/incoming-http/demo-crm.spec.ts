import type { INestApplication } from '@nestjs/common';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDemoApp } from '../../apps/demo/src/demo.js';
import { createTestDatabase } from '../support/database.js';
import { eventually } from '../support/recording-connector.js';

const NOTIFY = 'demo-crm-notify-token';

let db: { url: string; drop: () => Promise<void> };
let app: INestApplication;
let url: string;
let pool: Pool;

beforeAll(async () => {
  db = await createTestDatabase(inject('serverUrl'));
  app = await createDemoApp({
    databaseUrl: db.url,
    notifyToken: NOTIFY,
    adminToken: 'demo-crm-admin-token',
    logger: false,
    outgoing: { processAfterCommit: false, sweepIntervalMs: 0 },
    incoming: { enabled: false },
  });
  url = await app.getUrl();
  pool = new Pool({ connectionString: db.url, max: 2 });
});

afterAll(async () => {
  await app?.close();
  await pool?.end();
  await db?.drop();
});

async function post(path: string, body: unknown) {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${NOTIFY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const ingest = (body: unknown) => post('/integration/connectors/CrmConnector/incoming', body);

async function inboundTasks(): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `select count(*)::int as n from integration_task where is_inbound`,
  );
  return rows[0]!.n;
}

describe("the demo's CrmConnector over HTTP (R-IN-6)", () => {
  it('takes CRM people in through the ingest endpoint; notify applies them as users on their sites', async () => {
    const site = await fetch(`${url}/api/sites`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'intranet', displayName: 'Intranet' }),
    });
    expect(site.status).toBe(201);
    const logged = await ingest({
      object: { login: 'margaret', email: 'margaret@crm.example', lastName: 'Hamilton', siteId: 200 },
      taskType: 'CREATEOBJ',
      dataType: 'SIMPLESNAPSHOT',
    });
    expect(logged).toEqual({ status: 201, json: { taskId: expect.any(Number) } });
    expect((await post('/integration/notify?connectorName=CrmConnector', undefined)).status).toBe(202);
    await eventually(async () => {
      const users = (await (await fetch(`${url}/api/users`)).json()) as Record<string, unknown>[];
      expect(users).toEqual([
        expect.objectContaining({
          userName: 'margaret',
          email: 'margaret@crm.example',
          firstName: null,
          lastName: 'Hamilton',
          siteName: 'intranet',
        }),
      ]);
    });
    await eventually(async () => expect(await inboundTasks()).toBe(0));
  });

  it('answers a person the connector rejects with a 400 naming the field, writing nothing', async () => {
    const cases: [unknown, string, string][] = [
      [{ email: 'x@crm.example' }, 'SIMPLESNAPSHOT', 'object.login'],
      [{ login: 'has space' }, 'SIMPLESNAPSHOT', 'object.login'],
      [{ login: 'x', email: 'not-an-address' }, 'SIMPLESNAPSHOT', 'object.email'],
      [{ login: 'x', siteId: 7 }, 'SIMPLESNAPSHOT', 'object.siteId'],
      [{ login: 'x', siteId: 100 }, 'SIMPLE', 'object.siteId'], // no translation data to find the site
      [{ login: 'x' }, 'SNAPSHOT', 'object'], // the CRM sends no roles
    ];
    for (const [object, dataType, field] of cases) {
      const res = await ingest({ object, taskType: 'CREATEOBJ', dataType });
      expect({ object, status: res.status, field: res.json.field }).toEqual({ object, status: 400, field });
    }
    expect(await inboundTasks()).toBe(0);
  });
});
