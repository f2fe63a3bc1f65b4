import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, NOTIFY_TOKEN } from '../management/management-app.js';
import { Site } from '../support/entities.js';
import { eventually } from '../support/recording-connector.js';
import { control, useIncomingHttpApp } from './incoming-http-app.js';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';

const { t, http } = useIncomingHttpApp();

afterEach(async () => {
  control.cancelLogging = false;
  await t.bus.updateSettings({ enabled: true, logIncoming: true, processIncoming: true });
  await t.bus.updateConnector('Crm', { enabled: true });
  await t.sql(`delete from integration_task`);
  await t.sql(`delete from t_user`);
});

const ingest = (codeName: string, body: unknown, token: string | null = NOTIFY_TOKEN) =>
  http('POST', `/connectors/${codeName}/incoming`, { token, body });

async function taskRows(): Promise<number> {
  const [row] = await t.sql<{ n: number }>(`select count(*)::int as n from integration_task`);
  return row!.n;
}

describe('POST /{path}/connectors/:codeName/incoming (R-IN-6)', () => {
  it('logs a valid object: 201 with the task id, and the task row with its synchronization', async () => {
    const res = await ingest('Crm', {
      object: { login: 'ada', mail: 'ada@crm' },
      taskType: 'CREATEOBJ',
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ taskId: expect.any(Number) });
    const [row] = await t.sql<Record<string, unknown> & { data: { fields: Record<string, unknown> } }>(
      `select t.id::int as id, t.task_type, t.object_type, t.is_inbound, t.data_type, t.process_type, t.data,
              c.code_name
         from integration_task t join ${ALL_SYNCHRONIZATIONS_SQL} s on s.task_id = t.id
         join integration_connector c on c.id = s.connector_id`,
    );
    expect(row).toMatchObject({
      id: res.body.taskId,
      task_type: 'CREATEOBJ',
      object_type: 'cms.user',
      is_inbound: true,
      data_type: 'SIMPLE',
      process_type: 'DEFAULT',
      code_name: 'Crm',
    });
    expect(row!.data.fields).toMatchObject({ userName: 'ada', email: 'ada@crm' });
  });

  it('passes dataType, processType and siteName on; SIMPLESNAPSHOT describes the foreign keys', async () => {
    const res = await ingest('Erp', {
      object: { login: 'grace', siteId: 701 },
      taskType: 'UPDATEOBJ',
      dataType: 'SIMPLESNAPSHOT',
      processType: 'SKIPONERROR',
      siteName: 'HttpSite',
    });
    expect(res.status).toBe(201);
    const [row] = await t.sql<{
      data_type: string;
      process_type: string;
      site_name: string;
      data: { translations: unknown[] };
    }>(`select data_type, process_type, site_name, data from integration_task where id = $1`, [
      res.body.taskId,
    ]);
    expect(row).toMatchObject({
      data_type: 'SIMPLESNAPSHOT',
      process_type: 'SKIPONERROR',
      site_name: 'HttpSite',
    });
    expect(row!.data.translations).toEqual([
      expect.objectContaining({ property: 'site', id: 701, codeName: 'HttpSite' }),
    ]);
  });

  it('rejects each bad field with a 400 naming it, and writes nothing', async () => {
    const valid = { object: { login: 'ada' }, taskType: 'CREATEOBJ' };
    const cases: [string, unknown, string][] = [
      ['no body', undefined, 'body'],
      ['an array body', [valid], 'body'],
      ['an unknown field', { ...valid, connector: 'Crm' }, 'connector'],
      ['no object', { taskType: 'CREATEOBJ' }, 'object'],
      ['a null object', { ...valid, object: null }, 'object'],
      ['a string object', { ...valid, object: 'ada' }, 'object'],
      ['an array object', { ...valid, object: [{ login: 'ada' }] }, 'object'],
      ['no task type', { object: { login: 'ada' } }, 'taskType'],
      ['an unknown task type', { ...valid, taskType: 'EXPLODE' }, 'taskType'],
      ['task type ALL', { ...valid, taskType: 'ALL' }, 'taskType'],
      ['a lower-case task type', { ...valid, taskType: 'createobj' }, 'taskType'],
      ['an unknown data type', { ...valid, dataType: 'FULL' }, 'dataType'],
      ['a numeric data type', { ...valid, dataType: 1 }, 'dataType'],
      ['an unknown process type', { ...valid, processType: 'NOW' }, 'processType'],
      ['process type ERROR', { ...valid, processType: 'ERROR' }, 'processType'],
      ['a numeric site name', { ...valid, siteName: 5 }, 'siteName'],
      ['an empty site name', { ...valid, siteName: ' ' }, 'siteName'],
      ['a long site name', { ...valid, siteName: 's'.repeat(101) }, 'siteName'],
      ['an object the connector rejects', { ...valid, object: { mail: 'x@y' } }, 'object.login'],
    ];
    for (const [what, body, field] of cases) {
      const res = await ingest('Crm', body);
      // The case's name goes into the compared value, so that a failure says which case it was.
      expect({ what, status: res.status, field: res.body.field }).toEqual({ what, status: 400, field });
      expect(res.body.message.startsWith(`${field} `)).toBe(true);
    }
    // A JSON string is refused by the host's body parser already (strict JSON: objects and arrays).
    expect((await ingest('Crm', '"CREATEOBJ"')).status).toBe(400);
    const badName = await ingest('bad%20name', valid);
    expect(badName.status).toBe(400);
    expect(badName.body.field).toBe('codeName');
    expect(await taskRows()).toBe(0);
  });

  it('answers 404 for an unknown connector and 409 for a disabled one, writing nothing', async () => {
    const valid = { object: { login: 'ada' }, taskType: 'CREATEOBJ' };
    const unknown = await ingest('Nope', valid);
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toContain('"Nope"');
    await t.bus.updateConnector('Crm', { enabled: false });
    const disabled = await ingest('Crm', valid);
    expect(disabled.status).toBe(409);
    expect(disabled.body.message).toContain('"Crm" is disabled');
    expect(await taskRows()).toBe(0);
  });

  it('answers 200 with taskId null and the reason when nothing is logged by design', async () => {
    const valid = { object: { login: 'ada' }, taskType: 'CREATEOBJ' };
    await t.bus.updateSettings({ logIncoming: false });
    const off = await ingest('Crm', valid);
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ taskId: null, reason: 'loggingOff' });
    expect(off.body.message).toContain('switched off');
    await t.bus.updateSettings({ logIncoming: true });

    const skipped = await ingest('Crm', { ...valid, object: { skip: true } });
    expect(skipped.status).toBe(200);
    expect(skipped.body).toMatchObject({ taskId: null, reason: 'notPrepared' });

    control.cancelLogging = true;
    const cancelled = await ingest('Crm', valid);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ taskId: null, reason: 'cancelled' });
    expect(await taskRows()).toBe(0);
  });

  it('requires the notify token: missing, wrong or admin token → 401, nothing written', async () => {
    const valid = { object: { login: 'ada' }, taskType: 'CREATEOBJ' };
    for (const token of [null, 'wrong-token', ADMIN_TOKEN]) {
      expect((await ingest('Crm', valid, token)).status).toBe(401);
    }
    expect(await taskRows()).toBe(0);
  });

  it('feeds the queue that notify processes: ingest, notify, the user exists with its site', async () => {
    const em = t.em();
    if (!(await em.findOne(Site, { name: 'HttpSite' }))) {
      em.create(Site, { name: 'HttpSite' });
      await em.flush();
    }
    for (const login of ['ada', 'alan']) {
      const res = await ingest('Crm', {
        object: { login, siteId: 701 },
        taskType: 'CREATEOBJ',
        dataType: 'SIMPLESNAPSHOT',
      });
      expect(res.status).toBe(201);
    }
    expect((await http('POST', '/notify?connectorName=Crm', { token: NOTIFY_TOKEN })).status).toBe(202);
    await eventually(async () => {
      expect(
        await t.sql(
          `select u.user_name, s.name as site from t_user u join t_site s on s.id = u.site_id order by u.user_name`,
        ),
      ).toEqual([
        { user_name: 'ada', site: 'HttpSite' },
        { user_name: 'alan', site: 'HttpSite' },
      ]);
      // Deleted once applied (the task's own statement, right after the applying transaction).
      expect(await taskRows()).toBe(0);
    });
  });

  it('is documented in the OpenAPI document under the notify-token scheme', async () => {
    const res = await http('GET', '/docs/openapi.json');
    const scheme = res.body.components.securitySchemes['notify-token'];
    expect(scheme).toMatchObject({ type: 'http', scheme: 'bearer' });
    const ingestOp = res.body.paths['/integration/connectors/{codeName}/incoming'].post;
    expect(ingestOp.security).toEqual([{ 'notify-token': [] }]);
    expect(Object.keys(ingestOp.responses)).toEqual(
      expect.arrayContaining(['200', '201', '400', '401', '403', '404', '409']),
    );
    const notifyOp = res.body.paths['/integration/notify'].post;
    expect(notifyOp.security).toEqual([{ 'notify-token': [] }]);
    expect(Object.keys(notifyOp.responses)).toEqual(
      expect.arrayContaining(['202', '400', '401', '403', '404', '409']),
    );
  });
});
