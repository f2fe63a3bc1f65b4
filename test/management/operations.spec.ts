import { afterEach, describe, expect, it } from 'vitest';
import { IntegrationEventLog, IntegrationProcessResult } from 'nestjs-integration-bus';
import { User } from '../support/entities.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';
import { useManagementApp } from './management-app.js';

const R = IntegrationProcessResult;
const log: CallLog = [];
const crm = recordingConnector('Crm', [{ objectType: 'cms.user' }], log);
const erp = recordingConnector('Erp', [{ objectType: 'cms.user' }], log);

const { t, http } = useManagementApp({ providers: [crm.provider, erp.provider] });

afterEach(async () => {
  log.length = 0;
  crm.control.respond = () => R.OK;
  await t.bus.updateSettings({
    enabled: true,
    logOutgoing: true,
    processOutgoing: true,
    logIncoming: true,
    processIncoming: true,
  });
  await t.sql(`delete from integration_task`);
  await t.sql(`delete from integration_event_log`);
  await t.sql(`delete from t_user`);
});

function stored(): Promise<unknown[]> {
  return t.sql(`select key, value, updated_at from integration_setting order by key`);
}

async function createUsers(names: string[]): Promise<void> {
  const em = t.em();
  for (const userName of names) em.create(User, { userName });
  await em.flush();
}

describe('settings', () => {
  it('reads and changes the five switches', async () => {
    const read = await http('GET', '/settings');
    expect(read.status).toBe(200);
    expect(read.body).toEqual({
      enabled: true,
      logOutgoing: true,
      processOutgoing: true,
      logIncoming: true,
      processIncoming: true,
    });
    const changed = await http('PATCH', '/settings', {
      body: { processOutgoing: false, logIncoming: false },
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ processOutgoing: false, logIncoming: false, enabled: true });
    expect(await t.bus.getSettings()).toMatchObject({ processOutgoing: false, logIncoming: false });
  });

  it('rejects unknown switches, non-booleans and an empty patch, writing nothing', async () => {
    const before = await stored();
    for (const [body, field] of [
      [{ enabeld: false }, 'enabeld'],
      [{ enabled: 'false' }, 'enabled'],
      [{ processOutgoing: 0 }, 'processOutgoing'],
      [{ enabled: false, extra: true }, 'extra'],
      [{}, 'body'],
    ] as const) {
      const res = await http('PATCH', '/settings', { body });
      expect({ body, status: res.status, field: res.body.field }).toEqual({ body, status: 400, field });
    }
    const notJson = await http('PATCH', '/settings', {
      body: 'enabled=false',
      headers: { 'content-type': 'text/plain' },
    });
    expect({ status: notJson.status, field: notJson.body.field }).toEqual({
      status: 415,
      field: 'Content-Type',
    });
    expect(await stored()).toEqual(before);
  });
});

describe('GET /event-log', () => {
  it('pages through the entries newest first', async () => {
    const events = t.app.get(IntegrationEventLog);
    for (let i = 1; i <= 5; i += 1) {
      await events.write({
        level: i === 3 ? 'error' : 'info',
        source: 'Test',
        eventCode: `E${i}`,
        message: `#${i}`,
      });
    }
    const first = await http('GET', '/event-log?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.items.map((e: { eventCode: string }) => e.eventCode)).toEqual(['E5', 'E4']);
    const second = await http('GET', `/event-log?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.items.map((e: { eventCode: string }) => e.eventCode)).toEqual(['E3', 'E2']);
    expect(second.body.items[0]).toMatchObject({ level: 'error', source: 'Test', message: '#3' });
    // ISO 8601 in UTC, and now give or take a minute.
    expect(second.body.items[0].time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Math.abs(Date.parse(second.body.items[0].time) - Date.now())).toBeLessThan(60_000);
    expect((await events.list({ limit: 1 }))[0]!.time).toBeInstanceOf(Date);
    const last = await http('GET', `/event-log?limit=2&cursor=${second.body.nextCursor}`);
    expect(last.body).toMatchObject({
      items: [expect.objectContaining({ eventCode: 'E1' })],
      nextCursor: null,
    });
  });

  it('rejects a bad limit or cursor', async () => {
    expect((await http('GET', '/event-log?limit=-1')).body.field).toBe('limit');
    expect((await http('GET', '/event-log?cursor=abc')).body.field).toBe('cursor');
  });
});

describe('GET /health', () => {
  it('answers without a token', async () => {
    const res = await http('GET', '/health', { token: null });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });
});

describe('GET /metrics', () => {
  it('reports queue depth per connector and direction, processed and failed counts, and latency', async () => {
    const first = await http('GET', '/metrics');
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    await createUsers(['ann', 'bob', 'cid']);
    crm.control.respond = (task) => ((task.object as User).userName === 'bob' ? R.ErrorAndSkip : R.OK);
    await t.bus.processOutgoingTasks('Crm');

    const text = (await http('GET', '/metrics')).text;
    expect(text).toContain('integration_bus_queue_depth{connector="Crm",direction="outgoing"} 1');
    expect(text).toContain('integration_bus_queue_depth{connector="Erp",direction="outgoing"} 3');
    expect(text).toContain('integration_bus_queue_depth{connector="Erp",direction="incoming"} 0');
    expect(text).toContain(
      'integration_bus_tasks_processed_total{connector="Crm",direction="outgoing",result="OK"} 2',
    );
    expect(text).toContain(
      'integration_bus_tasks_processed_total{connector="Crm",direction="outgoing",result="ERRORANDSKIP"} 1',
    );
    expect(text).toContain('integration_bus_tasks_failed_total{connector="Crm",direction="outgoing"} 1');
    expect(text).toContain(
      'integration_bus_task_processing_seconds_count{connector="Crm",direction="outgoing"} 3',
    );
  });

  it('keeps its metrics out of the global prom-client registry', async () => {
    const { register } = await import('prom-client');
    expect(await register.getSingleMetric('integration_bus_queue_depth')).toBeUndefined();
  });
});

describe('API docs', () => {
  it('serves the OpenAPI document of every route with the admin token', async () => {
    expect((await http('GET', '/docs/openapi.json', { token: null })).status).toBe(401);
    const res = await http('GET', '/docs/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.info.title).toBe('Integration bus');
    expect(res.body.servers).toEqual([{ url: '/' }]);
    expect(res.body.components.securitySchemes['admin-token']).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
    const routes = Object.entries(res.body.paths as Record<string, object>).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(routes.sort()).toEqual(
      [
        'GET /integration/access',
        'GET /integration/connectors',
        'POST /integration/connectors',
        'PATCH /integration/connectors/{codeName}',
        'DELETE /integration/connectors/{codeName}',
        'GET /integration/connectors/{codeName}/partitions',
        'GET /integration/tasks',
        'POST /integration/tasks/synchronize',
        'POST /integration/tasks/delete',
        'POST /integration/tasks/requeue',
        'GET /integration/tasks/{id}',
        'POST /integration/tasks/{id}/requeue',
        'POST /integration/tasks/{id}/synchronize',
        'DELETE /integration/tasks/{id}',
        'GET /integration/settings',
        'PATCH /integration/settings',
        'GET /integration/event-log',
        'GET /integration/health',
        'GET /integration/metrics',
        'GET /integration/overview',
        'GET /integration/retention',
        'POST /integration/retention/prune',
        'POST /integration/notify',
        'POST /integration/connectors/{codeName}/incoming',
        'POST /integration/connectors/{codeName}/resync',
        'GET /integration/connectors/{codeName}/resync',
        'POST /integration/connectors/{codeName}/resync/cancel',
        'GET /integration/resyncs',
      ].sort(),
    );
  });

  it('serves Swagger UI without a token: it asks for one', async () => {
    const page = await http('GET', '/docs', { token: null });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.text).toContain('docs/swagger-ui-bundle.js');
    const bundle = await http('GET', '/docs/swagger-ui-bundle.js', { token: null });
    expect(bundle.status).toBe(200);
    expect(bundle.text.length).toBeGreaterThan(100_000);
    expect((await http('GET', '/docs/docs.js', { token: null })).text).toContain('SwaggerUIBundle');
  });

  it('serves the docs page under the strict CSP of the admin page (issue 19)', async () => {
    const docs = await http('GET', '/docs', { token: null });
    const header = docs.headers.get('content-security-policy');
    const directives = new Map(
      (header ?? '').split(';').map((directive) => {
        const [name = '', ...sources] = directive.trim().split(/\s+/);
        return [name, sources.join(' ')] as const;
      }),
    );
    expect(directives.get('default-src')).toBe("'none'");
    expect(directives.get('script-src')).toBe("'self'");
    expect(directives.get('frame-ancestors')).toBe("'none'");
    expect(header).not.toContain('unsafe-eval');
    expect(header).not.toContain('unsafe-inline');
    expect(header).toBe(
      (await http('GET', '/admin', { token: null })).headers.get('content-security-policy'),
    );
    expect(docs.headers.get('x-content-type-options')).toBe('nosniff');
    expect(docs.headers.get('x-frame-options')).toBe('DENY');
  });
});

describe('GET /admin', () => {
  it('serves the page, its script and its style sheet without a token, under a strict CSP', async () => {
    const page = await http('GET', '/admin', { token: null });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.text).toContain('src="admin/app.js"');
    const slash = await http('GET', '/admin/', { token: null });
    expect(slash.text).toContain('src="app.js"');
    expect(page.text).toContain('<script type="module"');
    expect(page.text).toContain('data-token-key="integration-bus.admin-token"');
    const script = await http('GET', '/admin/app.js', { token: null });
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    // The entry module, compiled from admin-page/client/main.ts, imports the others beside it.
    expect(script.text).toContain("from './api.js'");
    const api = await http('GET', '/admin/api.js', { token: null });
    expect(api.status).toBe(200);
    expect(api.text).toContain('Bearer');
    for (const name of ['types.d.ts', 'main.ts', '..%2Fadmin-page.html.js', 'Main.js']) {
      expect({ name, status: (await http('GET', `/admin/${name}`, { token: null })).status }).toEqual({
        name,
        status: 404,
      });
    }
    expect((await http('GET', '/admin/app.css', { token: null })).headers.get('content-type')).toMatch(
      /^text\/css/,
    );
  });
});
