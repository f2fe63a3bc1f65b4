import { Controller, HttpCode, Post, UseGuards, type INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { IntegrationBusModule, NotifyTokenGuard } from 'nestjs-integration-bus';
import { createTestDatabase } from '../support/database.js';
import { createCustomApp } from './custom-app.js';
import { listen, type HttpClient } from './http-client.js';

const ADMIN = 'the-admin-token-0123456789';
const NOTIFY = 'the-notify-token-abcdef';
const VIEWER = 'the-viewer-token-read-only';

/** Stands in for the notify endpoint: what `NotifyTokenGuard` protects. */
@Controller('probe')
@UseGuards(NotifyTokenGuard)
class NotifyProbeController {
  @Post()
  @HttpCode(202)
  notify(): { accepted: true } {
    return { accepted: true };
  }
}

/** Every admin route, with a body each would accept. */
const ADMIN_ROUTES: [string, string, unknown?][] = [
  ['GET', '/integration/connectors'],
  ['POST', '/integration/connectors', { codeName: 'Sneaky' }],
  ['PATCH', '/integration/connectors/Sneaky', { enabled: false }],
  ['DELETE', '/integration/connectors/Sneaky'],
  ['GET', '/integration/tasks'],
  ['GET', '/integration/tasks/1'],
  ['POST', '/integration/tasks/1/synchronize', {}],
  ['DELETE', '/integration/tasks/1'],
  ['POST', '/integration/tasks/synchronize', { direction: 'outgoing', all: true }],
  ['POST', '/integration/tasks/delete', { direction: 'outgoing', all: true }],
  ['GET', '/integration/settings'],
  ['PATCH', '/integration/settings', { enabled: false }],
  ['GET', '/integration/event-log'],
  ['GET', '/integration/retention'],
  ['POST', '/integration/retention/prune', {}],
  ['GET', '/integration/metrics'],
  ['GET', '/integration/docs/openapi.json'],
  ['GET', '/integration/access'],
];

let db: { url: string; drop: () => Promise<void> };
const apps: INestApplication[] = [];

async function start(http: Parameters<typeof IntegrationBusModule.forRoot>[0]['http']): Promise<HttpClient> {
  const app = await createCustomApp({
    databaseUrl: db.url,
    bus: IntegrationBusModule.forRoot({
      outgoing: { sweepIntervalMs: 0 },
      incoming: { enabled: false },
      http,
    }),
    controllers: [NotifyProbeController],
  });
  apps.push(app);
  return listen(app, null);
}

beforeAll(async () => {
  db = await createTestDatabase(inject('serverUrl'));
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await db?.drop();
});

describe('with an admin token and a notify token (R-SEC-1, R-SEC-2)', () => {
  let client: HttpClient;
  beforeAll(async () => {
    client = await start({ adminToken: ADMIN, notifyToken: NOTIFY });
  });

  it('answers 401 with a Bearer challenge to every admin route without the token, and writes nothing', async () => {
    for (const [method, path, body] of ADMIN_ROUTES) {
      const res = await client.request(method, path, { body });
      expect({ route: `${method} ${path}`, status: res.status }).toEqual({
        route: `${method} ${path}`,
        status: 401,
      });
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(res.body.message).toMatch(/Missing admin token/);
    }
    const connectors = await client.request('GET', '/integration/connectors', { token: ADMIN });
    expect(connectors.body).toEqual([]);
    const settings = await client.request('GET', '/integration/settings', { token: ADMIN });
    expect(settings.body.enabled).toBe(true);
  });

  it('answers 401 to a wrong token, a prefix of the right one, or another scheme', async () => {
    for (const authorization of [
      'Bearer wrong',
      `Bearer ${ADMIN.slice(0, -1)}`,
      `Bearer ${ADMIN}x`,
      `Basic ${Buffer.from(`admin:${ADMIN}`).toString('base64')}`,
      `Bearer ${NOTIFY}`,
      ADMIN,
    ]) {
      const res = await client.request('GET', '/integration/settings', { headers: { authorization } });
      expect({ authorization, status: res.status }).toEqual({ authorization, status: 401 });
    }
  });

  it('accepts the admin token, whatever the case of the scheme', async () => {
    for (const authorization of [`Bearer ${ADMIN}`, `bearer ${ADMIN}`, `BEARER  ${ADMIN} `]) {
      const res = await client.request('GET', '/integration/settings', { headers: { authorization } });
      expect({ authorization, status: res.status }).toEqual({ authorization, status: 200 });
    }
  });

  it('keeps health, the admin page and the docs page open', async () => {
    for (const path of ['/integration/health', '/integration/admin', '/integration/docs']) {
      expect((await client.request('GET', path)).status).toBe(200);
    }
  });

  it('guards notify endpoints with the notify token, not the admin token', async () => {
    expect((await client.request('POST', '/probe')).status).toBe(401);
    expect((await client.request('POST', '/probe', { token: ADMIN })).status).toBe(401);
    const ok = await client.request('POST', '/probe', { token: NOTIFY });
    expect(ok.status).toBe(202);
    expect(ok.body).toEqual({ accepted: true });
  });
});

describe('with an admin token and no notify token (R-IN-5)', () => {
  let client: HttpClient;
  beforeAll(async () => {
    client = await start({ adminToken: ADMIN });
  });

  it('R-IN-5 turns POST /integration/notify off (403), saying how to turn it on, while the admin API works', async () => {
    const res = await client.request('POST', '/integration/notify', { token: NOTIFY });
    expect(res.status).toBe(403);
    expect(res.body.message).toContain('http.notifyToken');
    // The admin token does not open it either: notify endpoints take the notify token only.
    expect((await client.request('POST', '/integration/notify', { token: ADMIN })).status).toBe(403);
    expect((await client.request('GET', '/integration/settings', { token: ADMIN })).status).toBe(200);
  });
});

describe('with a viewer token (R-OPS-2)', () => {
  let client: HttpClient;
  beforeAll(async () => {
    client = await start({ adminToken: ADMIN, viewerToken: VIEWER, notifyToken: NOTIFY });
  });

  it('R-OPS-2 the viewer token reads the API, metrics and the OpenAPI document, and gets 403 on every write', async () => {
    const answers = [];
    for (const [method, path, body] of ADMIN_ROUTES) {
      const res = await client.request(method, path, { body, token: VIEWER });
      // A read is served (task 1 does not exist: 404); a write is refused before its body is read.
      const refused = /viewer token .* needs the admin token/.test(String(res.body?.message));
      answers.push({ route: `${method} ${path}`, status: res.status, refused });
    }
    expect(answers).toEqual(
      ADMIN_ROUTES.map(([method, path]) => ({
        route: `${method} ${path}`,
        status: method !== 'GET' ? 403 : path === '/integration/tasks/1' ? 404 : 200,
        refused: method !== 'GET',
      })),
    );
    // Nothing was written.
    expect((await client.request('GET', '/integration/connectors', { token: ADMIN })).body).toEqual([]);
    expect((await client.request('GET', '/integration/settings', { token: ADMIN })).body.enabled).toBe(true);
    // Health and the admin page are open to it like to anyone; the notify endpoints are not.
    expect((await client.request('GET', '/integration/health', { token: VIEWER })).status).toBe(200);
    expect((await client.request('GET', '/integration/admin', { token: VIEWER })).status).toBe(200);
    expect((await client.request('POST', '/probe', { token: VIEWER })).status).toBe(401);
  });

  it('R-OPS-2 GET /access names the role of the token; the admin token still does everything', async () => {
    expect((await client.request('GET', '/integration/access', { token: VIEWER })).body).toEqual({
      role: 'viewer',
    });
    expect((await client.request('GET', '/integration/access', { token: ADMIN })).body).toEqual({
      role: 'admin',
    });
    const patched = await client.request('PATCH', '/integration/settings', {
      token: ADMIN,
      body: { logIncoming: true },
    });
    expect(patched.status).toBe(200);
    expect((await client.request('GET', '/integration/settings', { token: 'wrong' })).status).toBe(401);
  });

  it('R-OPS-2 refuses a viewer token equal to the admin token', () => {
    expect(() => IntegrationBusModule.forRoot({ http: { adminToken: ADMIN, viewerToken: ADMIN } })).toThrow(
      /http\.viewerToken must differ from http\.adminToken/,
    );
  });
});

describe('without tokens', () => {
  let client: HttpClient;
  beforeAll(async () => {
    client = await start({});
  });

  it('turns the admin API off (403) and says how to turn it on', async () => {
    for (const [method, path, body] of ADMIN_ROUTES) {
      const res = await client.request(method, path, { body, token: 'anything' });
      expect({ route: `${method} ${path}`, status: res.status }).toEqual({
        route: `${method} ${path}`,
        status: 403,
      });
    }
    const res = await client.request('GET', '/integration/tasks');
    expect(res.body.message).toContain('http.adminToken');
    expect(res.body.message).toContain('http.allowUnauthenticated');
  });

  it('turns notify endpoints off too, and keeps health open', async () => {
    const res = await client.request('POST', '/probe', { token: NOTIFY });
    expect(res.status).toBe(403);
    expect(res.body.message).toContain('http.notifyToken');
    expect((await client.request('GET', '/integration/health')).status).toBe(200);
  });
});

describe('with http.allowUnauthenticated', () => {
  it('serves the admin API and notify endpoints without a token when none is configured', async () => {
    const client = await start({ allowUnauthenticated: true });
    expect((await client.request('GET', '/integration/settings')).status).toBe(200);
    expect((await client.request('POST', '/probe')).status).toBe(202);
  });

  it('still requires a token that is configured', async () => {
    const client = await start({ allowUnauthenticated: true, adminToken: ADMIN });
    expect((await client.request('GET', '/integration/settings')).status).toBe(401);
    expect((await client.request('GET', '/integration/settings', { token: ADMIN })).status).toBe(200);
  });
});
