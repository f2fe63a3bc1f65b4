import { afterEach, describe, expect, it } from 'vitest';
import { IntegrationProcessResult } from 'nestjs-integration-bus';
import { User } from '../support/entities.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';
import { useManagementApp } from './management-app.js';

// Issue 11, item 11: what an operator does leaves a trace in the bus's own event log.

const log: CallLog = [];
const crm = recordingConnector('Crm', [{ objectType: 'cms.user' }], log);

const { t, http } = useManagementApp({ providers: [crm.provider] });

afterEach(async () => {
  log.length = 0;
  await t.bus.updateSettings({ enabled: true, processOutgoing: true });
  await t.bus.updateConnector('Crm', { enabled: true, displayName: 'Crm' });
  await t.sql(`delete from integration_task`);
  await t.sql(`delete from integration_event_log`);
  await t.sql(`delete from t_user`);
});

async function entries(): Promise<
  { source: string; eventCode: string; message: string; connectorName: string | null }[]
> {
  const answer = await http('GET', '/event-log');
  expect(answer.status).toBe(200);
  return answer.body.items;
}

async function createUsers(names: string[]): Promise<number[]> {
  const em = t.em();
  for (const userName of names) em.create(User, { userName });
  await em.flush();
  const rows = await t.sql<{ id: string }>(`select id from integration_task order by id`);
  return rows.map((r) => Number(r.id));
}

describe('event-log entries of operator actions (issue 11, item 11)', () => {
  it('records a settings change with what changed, and nothing for a patch that changes nothing', async () => {
    expect((await http('PATCH', '/settings', { body: { processOutgoing: false } })).status).toBe(200);
    await t.bus.updateSettings({ processOutgoing: false });
    const found = await entries();
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ source: 'IntegrationBus', eventCode: 'SETTINGSCHANGED' });
    expect(found[0]!.message).toContain('processOutgoing true → false');
  });

  it('records enabling, disabling and renaming a connector, and registering and deleting a row', async () => {
    expect((await http('PATCH', '/connectors/Crm', { body: { enabled: false } })).status).toBe(200);
    await t.bus.updateConnector('Crm', { displayName: 'The CRM' });
    expect((await http('POST', '/connectors', { body: { codeName: 'Future' } })).status).toBe(201);
    expect((await http('DELETE', '/connectors/Future')).status).toBe(200);
    const found = (await entries()).toReversed();
    expect(found.map((e) => [e.eventCode, e.connectorName])).toEqual([
      ['CONNECTORUPDATED', 'Crm'],
      ['CONNECTORUPDATED', 'Crm'],
      ['CONNECTORCREATED', 'Future'],
      ['CONNECTORDELETED', 'Future'],
    ]);
    expect(found[0]!.message).toContain('disabled');
    expect(found[1]!.message).toContain('"The CRM"');
  });

  it('records bulk synchronization and bulk deletion with their selection and counts', async () => {
    const ids = await createUsers(['ada', 'bob', 'cy']);
    crm.control.respond = () => IntegrationProcessResult.OK;
    const synced = await http('POST', '/tasks/synchronize', {
      body: { direction: 'outgoing', connectorName: 'Crm', ids: [ids[0]] },
    });
    expect(synced.status).toBe(200);
    const deleted = await http('POST', '/tasks/delete', { body: { direction: 'outgoing', all: true } });
    expect(deleted.status).toBe(200);
    const found = (await entries()).toReversed();
    expect(found.map((e) => e.eventCode)).toEqual(['BULKSYNCHRONIZE', 'BULKDELETE']);
    expect(found[0]).toMatchObject({ connectorName: 'Crm' });
    expect(found[0]!.message).toContain(`outgoing tasks ${ids[0]} of Crm`);
    expect(found[0]!.message).toContain('OK: 1');
    expect(found[1]!.message).toContain('all outgoing tasks (every connector)');
    expect(found[1]!.message).toContain('2 synchronization(s)');
  });
});
