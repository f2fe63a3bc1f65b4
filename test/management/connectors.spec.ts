import { afterEach, describe, expect, it } from 'vitest';
import { User } from '../support/entities.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';
import { useManagementApp } from './management-app.js';

const log: CallLog = [];
const crm = recordingConnector('Crm', [{ objectType: 'cms.user' }], log, { displayName: 'CRM' });

const { t, http } = useManagementApp({ providers: [crm.provider] });

afterEach(async () => {
  await t.sql(`delete from integration_task`);
  await t.sql(`delete from integration_connector where code_name <> 'Crm'`);
  await t.bus.updateConnector('Crm', { enabled: true, displayName: 'CRM' });
  await t.sql(`delete from t_user`);
});

async function connectorRows(): Promise<{ code_name: string; display_name: string; enabled: boolean }[]> {
  return t.sql(`select code_name, display_name, enabled from integration_connector order by code_name`);
}

/** A connector row with no provider, holding a share of a task Crm also waits for. */
async function leftover(codeName: string): Promise<{ shared: number; own: number }> {
  const em = t.em();
  em.create(User, { userName: 'ann' });
  await em.flush();
  const [{ id: shared }] = (await t.sql<{ id: string }>(`select id from integration_task`)) as [
    { id: string },
  ];
  await http('POST', '/connectors', { body: { codeName: codeName, className: 'GoneConnector' } });
  const [own] = await t.sql<{ id: string }>(
    `insert into integration_task (guid, title, task_type, object_type, data_type, process_type, data)
     values (gen_random_uuid(), 'Only for the leftover', 'UPDATEOBJ', 'cms.user', 'SIMPLE', 'ASYNCSIMPLE', '{}')
     returning id`,
  );
  await t.sql(
    `insert into integration_synchronization (task_id, connector_id)
     select t.id, c.id from integration_task t, integration_connector c where c.code_name = $1`,
    [codeName],
  );
  return { shared: Number(shared), own: Number(own!.id) };
}

describe('GET /connectors', () => {
  it('lists every row with whether a provider is loaded for it', async () => {
    await t.sql(
      `insert into integration_connector (code_name, display_name, class_name) values ('Old', 'Old one', 'OldConnector')`,
    );
    const res = await http('GET', '/connectors');
    expect(res.status).toBe(200);
    expect(res.body).toEqual([
      expect.objectContaining({
        codeName: 'Crm',
        displayName: 'CRM',
        className: 'CrmConnector',
        enabled: true,
        loaded: true,
        notLoadedReason: null,
      }),
      expect.objectContaining({
        codeName: 'Old',
        loaded: false,
        notLoadedReason: expect.stringContaining('Old'),
      }),
    ]);
  });
});

describe('POST /connectors', () => {
  it('registers a row for a code name, not loaded without a provider', async () => {
    const res = await http('POST', '/connectors', {
      body: { codeName: 'Erp', displayName: 'ERP', className: 'ErpConnector', enabled: false },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ codeName: 'Erp', displayName: 'ERP', enabled: false, loaded: false });
    expect((await http('GET', '/connectors')).body.map((c: { codeName: string }) => c.codeName)).toEqual([
      'Crm',
      'Erp',
    ]);
  });

  it('defaults the display name to the code name and answers 409 for a code name in use', async () => {
    const res = await http('POST', '/connectors', { body: { codeName: 'Erp' } });
    expect(res.body).toMatchObject({ displayName: 'Erp', enabled: true });
    const again = await http('POST', '/connectors', { body: { codeName: 'Crm' } });
    expect(again.status).toBe(409);
  });

  it('rejects invalid input with a 400 naming the field, writing nothing', async () => {
    const before = await connectorRows();
    for (const [body, field] of [
      [{}, 'codeName'],
      [{ codeName: '' }, 'codeName'],
      [{ codeName: 'has space' }, 'codeName'],
      [{ codeName: "x'); drop table integration_task; --" }, 'codeName'],
      [{ codeName: 'a'.repeat(101) }, 'codeName'],
      [{ codeName: 7 }, 'codeName'],
      [{ codeName: 'Ok', enabled: 'false' }, 'enabled'],
      [{ codeName: 'Ok', displayName: 'x'.repeat(201) }, 'displayName'],
      [{ codeName: 'Ok', assembly: 'App_Code' }, 'assembly'],
    ] as const) {
      const res = await http('POST', '/connectors', { body });
      expect({ body, status: res.status, field: res.body.field }).toEqual({ body, status: 400, field });
    }
    expect(await connectorRows()).toEqual(before);
  });
});

describe('PATCH /connectors/:codeName', () => {
  it('disables, enables and renames a connector; a disabled one gets no tasks', async () => {
    const off = await http('PATCH', '/connectors/Crm', { body: { enabled: false, displayName: 'Old CRM' } });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ codeName: 'Crm', enabled: false, displayName: 'Old CRM', loaded: true });
    const em = t.em();
    em.create(User, { userName: 'ann' });
    await em.flush();
    expect(await t.sql(`select id from integration_task`)).toEqual([]);
    const on = await http('PATCH', '/connectors/Crm', { body: { enabled: true } });
    expect(on.body).toMatchObject({ enabled: true, displayName: 'Old CRM' });
  });

  it('answers 400 for an empty or invalid patch and 404 for an unknown connector', async () => {
    const empty = await http('PATCH', '/connectors/Crm', { body: {} });
    expect(empty.status).toBe(400);
    expect(empty.body.field).toBe('body');
    const bad = await http('PATCH', '/connectors/Crm', { body: { enabled: 1 } });
    expect(bad.body.field).toBe('enabled');
    const codeName = await http('PATCH', '/connectors/Crm', { body: { codeName: 'Other' } });
    expect(codeName.body.field).toBe('codeName');
    expect((await http('PATCH', '/connectors/Nobody', { body: { enabled: false } })).status).toBe(404);
    expect((await connectorRows())[0]).toMatchObject({ enabled: true, display_name: 'CRM' });
  });
});

describe('DELETE /connectors/:codeName', () => {
  it('removes a leftover row, its synchronizations and the tasks only it waited for', async () => {
    const { shared, own } = await leftover('Gone');
    const res = await http('DELETE', '/connectors/Gone');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ codeName: 'Gone', synchronizationsDeleted: 2, tasksDeleted: 1 });
    const tasks = await t.sql<{ id: string }>(`select id from integration_task order by id`);
    expect(tasks.map((r) => Number(r.id))).toEqual([shared]);
    expect(tasks.map((r) => Number(r.id))).not.toContain(own);
    expect((await http('GET', '/connectors')).body.map((c: { codeName: string }) => c.codeName)).toEqual([
      'Crm',
    ]);
  });

  it('refuses to delete a loaded connector (409) and answers 404 for an unknown one', async () => {
    const loaded = await http('DELETE', '/connectors/Crm');
    expect(loaded.status).toBe(409);
    expect(loaded.body.message).toMatch(/disable it instead/);
    expect((await http('DELETE', '/connectors/Nobody')).status).toBe(404);
    expect((await http('DELETE', '/connectors/bad%20name')).body.field).toBe('codeName');
  });
});
