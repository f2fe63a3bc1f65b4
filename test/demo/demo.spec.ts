import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntegrationBus, IntegrationProcessResult } from 'nestjs-integration-bus';
import { call, count, entriesOf, startDemo, type RunningDemo } from './demo-harness.js';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';

describe('demo app', () => {
  let demo: RunningDemo;
  beforeAll(async () => {
    demo = await startDemo({ autoSync: false });
  });
  afterAll(async () => {
    await demo?.close();
  });

  it('sends user and document changes to the SampleIntegrationConnector, in order', async () => {
    const site = await call(demo, 'POST', '/api/sites', { name: 'main', displayName: 'Main site' });
    expect(site.status).toBe(201);

    const user = await call(demo, 'POST', '/api/users', {
      userName: 'antonio',
      email: 'antonio@example.com',
      siteName: 'main',
    });
    expect(user.status).toBe(201);
    expect(user.json).toMatchObject({ userName: 'antonio', siteName: 'main' });
    const userId = user.json.id as number;

    const updated = await call(demo, 'PATCH', `/api/users/${userId}`, {
      firstName: 'Antonio',
      lastName: 'Vivaldi',
    });
    expect(updated.status).toBe(200);
    expect(updated.json).toMatchObject({ firstName: 'Antonio', lastName: 'Vivaldi' });

    const parent = await call(demo, 'POST', '/api/documents', { title: 'Products', siteName: 'main' });
    expect(parent.status).toBe(201);
    const child = await call(demo, 'POST', '/api/documents', {
      title: 'Apple iPad 2',
      parentId: parent.json.id,
    });
    expect(child.status).toBe(201);
    expect(child.json).toMatchObject({
      aliasPath: '/Products/Apple-iPad-2',
      parentId: parent.json.id,
      siteName: 'main',
      culture: 'en-US',
    });

    expect((await call(demo, 'DELETE', `/api/users/${userId}`)).status).toBe(204);
    expect((await call(demo, 'GET', '/api/users')).json).toEqual([]);

    const counts = await demo.app.get(IntegrationBus).processOutgoingTasks();
    // Five for the sample connector, and the three user tasks for ErpConnector.
    expect(counts[IntegrationProcessResult.OK]).toBe(8);

    const entries = await entriesOf(demo, 'SampleIntegrationConnector');
    expect(entries.map((e) => [e.eventCode, e.connectorName])).toEqual([
      ['CREATEOBJECT', 'SampleIntegrationConnector'],
      ['UPDATEOBJECT', 'SampleIntegrationConnector'],
      ['CREATEDOCUMENT', 'SampleIntegrationConnector'],
      ['CREATEDOCUMENT', 'SampleIntegrationConnector'],
      ['DELETEOBJECT', 'SampleIntegrationConnector'],
    ]);
    expect(entries.map((e) => e.message)).toEqual([
      "User 'antonio' created on site main.",
      "User 'antonio' updated on site main.",
      "Document 'Products' (/Products, en-US) created on site main.",
      "Document 'Apple iPad 2' (/Products/Apple-iPad-2, en-US) created on site main.",
      "User 'antonio' deleted on site main.",
    ]);
    // Everything the connector was given is done: nothing left in its queue.
    expect(
      await count(
        demo,
        `select 1 from ${ALL_SYNCHRONIZATIONS_SQL} s join integration_connector c on c.id = s.connector_id
          where c.code_name = 'SampleIntegrationConnector'`,
      ),
    ).toBe(0);
  });

  it('rejects bad input with 400 naming the field, and writes nothing', async () => {
    const tasksBefore = await count(demo, 'select 1 from integration_task');

    const missing = await call(demo, 'POST', '/api/users', { email: 'nobody@example.com' });
    expect(missing.status).toBe(400);
    expect(missing.json).toMatchObject({ field: 'userName' });
    expect(missing.json.message).toContain('userName');

    const wrongType = await call(demo, 'POST', '/api/users', { userName: 42 });
    expect(wrongType.status).toBe(400);
    expect(wrongType.json).toMatchObject({ field: 'userName' });
    expect(wrongType.json.message).toContain('userName');

    const badEmail = await call(demo, 'POST', '/api/users', { userName: 'maria', email: 5 });
    expect(badEmail.status).toBe(400);
    expect(badEmail.json.message).toContain('email');

    const unknownSite = await call(demo, 'POST', '/api/users', { userName: 'maria', siteName: 'nowhere' });
    expect(unknownSite.status).toBe(400);
    expect(unknownSite.json.message).toContain('siteName');

    const notAnObject = await call(demo, 'POST', '/api/users', ['maria']);
    expect(notAnObject.status).toBe(400);

    const badAcct = await call(demo, 'POST', '/api/custom-tables/usersync', {
      acctNumber: '12',
      userName: 'maria',
      email: 'maria@example.com',
    });
    expect(badAcct.status).toBe(400);
    expect(badAcct.json.message).toContain('acctNumber');

    expect((await call(demo, 'PATCH', '/api/users/abc', { userName: 'x' })).json.message).toContain('id');

    expect(await count(demo, `select 1 from cms_user where user_name in ('maria', '42')`)).toBe(0);
    expect(await count(demo, 'select 1 from mynamespace_usersync')).toBe(0);
    expect(await count(demo, 'select 1 from integration_task')).toBe(tasksBefore);
  });

  it('skips a custom-table row the account system refuses, and keeps it queued', async () => {
    const refused = await call(demo, 'POST', '/api/custom-tables/emailpreferencesync', {
      acctNumber: 0,
      receiveBalanceWithin: true,
      receiveExceedBalance: true,
      exceedBalance: 500,
      receivePaymentAlert: false,
    });
    expect(refused.status).toBe(201);
    const accepted = await call(demo, 'POST', '/api/custom-tables/usersync', {
      acctNumber: 1234,
      userName: 'antonio',
      email: 'antonio@example.com',
    });
    expect(accepted.status).toBe(201);

    const counts = await demo.app.get(IntegrationBus).processOutgoingTasks('CustomTableConnector');
    expect(counts[IntegrationProcessResult.SkipNow]).toBe(1);
    expect(counts[IntegrationProcessResult.OK]).toBe(1);

    const queued = await demo.pool.query<{ objectType: string }>(
      `select t.object_type as "objectType" from ${ALL_SYNCHRONIZATIONS_SQL} s
         join integration_task t on t.id = s.task_id
         join integration_connector c on c.id = s.connector_id
        where c.code_name = 'CustomTableConnector'`,
    );
    expect(queued.rows).toEqual([{ objectType: 'customtableitem.mynamespace.emailpreferencesync' }]);

    const entries = await entriesOf(demo, 'CustomTableConnector');
    expect(entries.map((e) => [e.level, e.message])).toEqual([
      ['warning', 'Error syncing email preferences for account 0. Error message: account 0 does not exist'],
      ['info', "User 'antonio' of account 1234 sent to the account system."],
    ]);
    // A row that made it leaves its staging table; the refused one stays for someone to fix.
    expect(await count(demo, 'select 1 from mynamespace_usersync')).toBe(0);
    expect(await count(demo, 'select 1 from mynamespace_emailpreferencesync')).toBe(1);
  });
});

describe('demo app conflicts', () => {
  let demo: RunningDemo;
  beforeAll(async () => {
    demo = await startDemo({ autoSync: false });
  });
  afterAll(async () => {
    await demo?.close();
  });

  it('answers 409 to a duplicate code name or a delete of a referenced row, and logs nothing', async () => {
    const site = await call(demo, 'POST', '/api/sites', { name: 'main' });
    const user = await call(demo, 'POST', '/api/users', { userName: 'antonio', siteName: 'main' });
    const root = await call(demo, 'POST', '/api/documents', { title: 'Home', siteName: 'main' });
    await call(demo, 'POST', '/api/documents', { title: 'News', parentId: root.json.id });
    const tasksBefore = await count(demo, 'select 1 from integration_task');

    expect((await call(demo, 'POST', '/api/users', { userName: 'antonio' })).status).toBe(409);
    expect((await call(demo, 'DELETE', `/api/sites/${site.json.id as number}`)).status).toBe(409);
    expect((await call(demo, 'DELETE', `/api/documents/${root.json.id as number}`)).status).toBe(409);
    expect((await call(demo, 'PATCH', '/api/users/999', { firstName: 'Nobody' })).status).toBe(404);

    expect(await count(demo, 'select 1 from integration_task')).toBe(tasksBefore);
    expect((await call(demo, 'GET', `/api/users`)).json).toEqual([
      expect.objectContaining({ id: user.json.id }),
    ]);
  });
});

describe('demo app with DEMO_AUTO_SYNC', () => {
  let demo: RunningDemo;
  beforeAll(async () => {
    demo = await startDemo({ autoSync: true });
  });
  afterAll(async () => {
    await demo?.close();
  });

  it('synchronizes a task as soon as it is logged, without processOutgoingTasks', async () => {
    const created = await call(demo, 'POST', '/api/users', { userName: 'lucia' });
    expect(created.status).toBe(201);

    const deadline = Date.now() + 2000;
    let messages: string[] = [];
    while (Date.now() < deadline) {
      messages = (await entriesOf(demo, 'SampleIntegrationConnector')).map((e) => e.message);
      if (messages.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(messages).toEqual(["User 'lucia' created."]);
    // Done for the sample connector; the task stays queued for ErpConnector, which is not auto-synced.
    // The connector writes its event-log entry before the bus completes the task: poll for that too.
    const queuedForSample = () =>
      count(
        demo,
        `select 1 from ${ALL_SYNCHRONIZATIONS_SQL} s join integration_connector c on c.id = s.connector_id
          where c.code_name = 'SampleIntegrationConnector'`,
      );
    let queued = await queuedForSample();
    while (queued > 0 && Date.now() < deadline + 2000) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      queued = await queuedForSample();
    }
    expect(queued).toBe(0);
  });
});
