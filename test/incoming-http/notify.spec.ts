import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../support/recording-connector.js';
import { ADMIN_TOKEN, NOTIFY_TOKEN } from '../management/management-app.js';
import { closeGate, control, CrmInConnector, logPerson, useIncomingHttpApp } from './incoming-http-app.js';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';

const app = useIncomingHttpApp();
const { t, http } = app;

afterEach(async () => {
  control.gate = undefined;
  control.throwOnProcess = false;
  await t.bus.updateSettings({ enabled: true, processIncoming: true, logIncoming: true });
  await t.bus.updateConnector('Crm', { enabled: true });
  await t.sql(`delete from integration_task`);
  await t.sql(`delete from t_user`);
});

/** Incoming tasks still queued, per connector. */
async function queued(): Promise<Record<string, number>> {
  const rows = await t.sql<{ code_name: string; n: number }>(
    `select c.code_name, count(*)::int as n from integration_task t
       join ${ALL_SYNCHRONIZATIONS_SQL} s on s.task_id = t.id
       join integration_connector c on c.id = s.connector_id
      where t.is_inbound group by c.code_name`,
  );
  return Object.fromEntries(rows.map((r) => [r.code_name, r.n]));
}

async function users(): Promise<string[]> {
  return (await t.sql<{ user_name: string }>(`select user_name from t_user order by user_name`)).map(
    (u) => u.user_name,
  );
}

const notify = (query = '', token: string | null = NOTIFY_TOKEN) =>
  http('POST', `/notify${query}`, { token });

describe('POST /{path}/notify (R-IN-5)', () => {
  it('answers 202 at once and processes every connector in the background', async () => {
    await logPerson(t, 'Crm', 'ada');
    await logPerson(t, 'Erp', 'grace');
    const open = closeGate(); // processing waits at ProcessExternalTask.Before until opened
    const res = await notify();
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: true, connectorName: null });
    // Answered while processing is held: nothing is applied yet.
    expect(await users()).toEqual([]);
    expect(await queued()).toEqual({ Crm: 1, Erp: 1 });
    open();
    await eventually(async () => {
      expect(await users()).toEqual(['ada', 'grace']);
      expect(await queued()).toEqual({});
    });
  });

  it("processes only the named connector's tasks", async () => {
    await logPerson(t, 'Crm', 'ada');
    await logPerson(t, 'Crm', 'alan');
    await logPerson(t, 'Erp', 'grace');
    const res = await notify('?connectorName=Crm');
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: true, connectorName: 'Crm' });
    await eventually(async () => {
      expect(await users()).toEqual(['ada', 'alan']);
      expect(await queued()).toEqual({ Erp: 1 });
    });
    // Erp's task is untouched, also a while after Crm's run is over.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await queued()).toEqual({ Erp: 1 });
    expect(await users()).toEqual(['ada', 'alan']);
  });

  it('logs a failing background run and keeps serving; the tasks stay queued', async () => {
    await logPerson(t, 'Crm', 'ada');
    control.throwOnProcess = true;
    expect((await notify('?connectorName=Crm')).status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await queued()).toEqual({ Crm: 1 });
    expect((await http('GET', '/health', { token: null })).status).toBe(200);
    control.throwOnProcess = false;
    expect((await notify('?connectorName=Crm')).status).toBe(202);
    await eventually(async () => expect(await users()).toEqual(['ada']));
  });

  it('requires the notify token (R-SEC-2): missing, wrong or admin token → 401', async () => {
    await logPerson(t, 'Crm', 'ada');
    for (const token of [null, 'wrong-token', ADMIN_TOKEN]) {
      const res = await notify('', token);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await queued()).toEqual({ Crm: 1 });
  });

  it('rejects bad input with a 4xx naming the field or connector, and starts nothing', async () => {
    await logPerson(t, 'Crm', 'ada');
    const cases: [string, number, string | undefined][] = [
      ['?connectorName=bad%20name', 400, 'connectorName'],
      [`?connectorName=${'x'.repeat(101)}`, 400, 'connectorName'],
      ['?connectorName=Crm&connectorName=Erp', 400, 'connectorName'],
      ['?connector=Crm', 400, 'connector'],
    ];
    for (const [query, status, field] of cases) {
      const res = await notify(query);
      expect({ query, status: res.status, field: res.body.field }).toEqual({ query, status, field });
    }
    const withBody = await http('POST', '/notify', { token: NOTIFY_TOKEN, body: { connectorName: 'Crm' } });
    expect(withBody.status).toBe(400);
    expect(withBody.body.field).toBe('connectorName');
    expect(withBody.body.message).toContain('query string');

    const unknown = await notify('?connectorName=Nope');
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toContain('"Nope"');

    await t.bus.updateConnector('Crm', { enabled: false });
    const disabled = await notify('?connectorName=Crm');
    expect(disabled.status).toBe(409);
    expect(disabled.body.message).toContain('"Crm" is disabled');
    await t.bus.updateConnector('Crm', { enabled: true });

    await t.bus.updateSettings({ processIncoming: false });
    const off = await notify();
    expect(off.status).toBe(409);
    expect(off.body.message).toContain('switched off');

    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await queued()).toEqual({ Crm: 1 });
    expect(await users()).toEqual([]);
  });
});

describe('BaseIntegrationConnector.requestTasksProcessing (R-IN-5)', () => {
  it('calls notify on a running app with the connector name and the notify token, and returns the status', async () => {
    await logPerson(t, 'Crm', 'ada');
    await logPerson(t, 'Erp', 'grace');
    const connector = t.app.get(CrmInConnector);
    expect(await connector.requestTasksProcessing(app.baseUrl, 'Crm')).toBe(202);
    await eventually(async () => {
      expect(await users()).toEqual(['ada']);
      expect(await queued()).toEqual({ Erp: 1 }); // the task is deleted right after it is applied
    });

    expect(await connector.requestTasksProcessing(`${app.baseUrl}/`)).toBe(202);
    await eventually(async () => expect(await users()).toEqual(['ada', 'grace']));

    expect(await connector.requestTasksProcessing(app.baseUrl, 'Nope')).toBe(404);
  });
});
