import { afterEach, describe, expect, it } from 'vitest';
import { IntegrationProcessResult, TaskProcessType, TaskType } from 'nestjs-integration-bus';
import { Role, Site, User } from '../support/entities.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';
import { useManagementApp } from './management-app.js';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';

const R = IntegrationProcessResult;
const log: CallLog = [];
// Crm takes users with translation data (its own task); Erp and Audit share the Simple task.
const crm = recordingConnector(
  'Crm',
  [{ objectType: 'cms.user', processType: TaskProcessType.AsyncSimpleSnapshot }],
  log,
  { displayName: 'CRM' },
);
const erp = recordingConnector('Erp', [{ objectType: 'cms.user' }, { objectType: 'cms.role' }], log, {
  displayName: 'ERP',
});
const audit = recordingConnector('Audit', [{ objectType: 'cms.user' }], log);

const { t, http } = useManagementApp({ providers: [crm.provider, erp.provider, audit.provider] });

afterEach(async () => {
  log.length = 0;
  for (const c of [crm, erp, audit]) c.control.respond = () => R.OK;
  await t.bus.updateSettings({ enabled: true, processOutgoing: true, processIncoming: true });
  for (const name of ['Crm', 'Erp', 'Audit']) await t.bus.updateConnector(name, { enabled: true });
  await t.sql(`delete from integration_task`);
  await t.sql(`delete from t_user`);
  await t.sql(`delete from t_role`);
  await t.sql(`delete from t_site`);
});

async function createUsers(names: string[], siteName?: string): Promise<void> {
  const em = t.em();
  const site = siteName ? em.create(Site, { name: siteName }) : null;
  for (const userName of names) em.create(User, { userName, email: `${userName}@example.com`, site });
  await em.flush();
}

async function taskIdsOf(connector: string): Promise<number[]> {
  const rows = await t.sql<{ id: string }>(
    `select t.id from integration_task t join ${ALL_SYNCHRONIZATIONS_SQL} s on s.task_id = t.id
       join integration_connector c on c.id = s.connector_id where c.code_name = $1 order by t.id`,
    [connector],
  );
  return rows.map((r) => Number(r.id));
}

async function queued(): Promise<number> {
  const [row] = await t.sql<{ n: number }>(`select count(*)::int as n from ${ALL_SYNCHRONIZATIONS_SQL} s`);
  return row!.n;
}

describe('GET /tasks', () => {
  it('lists each task once per connector waiting for it, oldest task first, outgoing by default', async () => {
    await createUsers(['ann', 'bob']);
    const res = await http('GET', '/tasks');
    expect(res.status).toBe(200);
    expect(res.body.nextCursor).toBeNull();
    const rows = res.body.items.map((i: { title: string; connectorName: string }) => [
      i.title,
      i.connectorName,
    ]);
    // Per user: the SimpleSnapshot task (Crm) and the shared Simple task (Audit, Erp), in id order.
    expect(rows).toHaveLength(6);
    expect(new Set(rows.map((r: string[]) => r[1]))).toEqual(new Set(['Crm', 'Erp', 'Audit']));
    const ids = res.body.items.map((i: { taskId: number }) => i.taskId);
    expect(ids).toEqual([...ids].sort((a: number, b: number) => a - b));
    expect(res.body.items[0]).toMatchObject({
      taskType: TaskType.CreateObject,
      objectType: 'cms.user',
      status: 'waiting',
      attempts: 0,
      errorMessage: null,
      lastRun: null,
    });
    expect(res.body.items[0].createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Math.abs(Date.parse(res.body.items[0].createdAt) - Date.now())).toBeLessThan(60_000);
  });

  it("filters by connector and shows the connector's display name", async () => {
    await createUsers(['ann', 'bob', 'cid']);
    const res = await http('GET', '/tasks?connectorName=Crm');
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(3);
    expect(
      res.body.items.every((i: { connectorDisplayName: string }) => i.connectorDisplayName === 'CRM'),
    ).toBe(true);
    expect(res.body.items.map((i: { taskId: number }) => i.taskId)).toEqual(await taskIdsOf('Crm'));
  });

  it('marks failed rows with the error message', async () => {
    await createUsers(['ann']);
    crm.control.respond = () => ({ result: R.Error, errorMessage: 'CRM said no' });
    await t.bus.processOutgoingTasks('Crm');
    const res = await http('GET', '/tasks?connectorName=Crm');
    expect(res.body.items[0]).toMatchObject({ status: 'failed', errorMessage: 'CRM said no', attempts: 1 });
    expect(res.body.items[0].lastRun).not.toBeNull();
  });

  it('lists incoming tasks apart from outgoing ones', async () => {
    await createUsers(['ann']);
    await t.bus.processExternalTask('Erp', Object.assign(new Role(), { name: 'imported' }), {
      taskType: TaskType.CreateObject,
    });
    const incoming = await http('GET', '/tasks?direction=incoming');
    expect(incoming.body.items).toHaveLength(1);
    expect(incoming.body.items[0]).toMatchObject({ objectType: 'cms.role', connectorName: 'Erp' });
    const outgoing = await http('GET', '/tasks?direction=outgoing');
    expect(outgoing.body.items.some((i: { objectType: string }) => i.objectType === 'cms.role')).toBe(false);
  });

  it('rejects bad parameters with a 400 naming the field', async () => {
    for (const [query, field] of [
      ['direction=sideways', 'direction'],
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['limit=ten', 'limit'],
      ['cursor=not-a-cursor', 'cursor'],
      ['cursor=ZXZlbnRzOjE', 'cursor'], // an event-log cursor
      ["connectorName=x'%3B%20drop%20table%20integration_task--", 'connectorName'],
      ['connectorName=a&connectorName=b', 'connectorName'],
      ['color=red', 'color'],
    ] as const) {
      const res = await http('GET', `/tasks?${query}`);
      expect({ query, status: res.status, field: res.body.field }).toEqual({ query, status: 400, field });
      expect(res.body.message.startsWith(`${field} `)).toBe(true);
    }
  });

  it('answers 404 for an unknown connector', async () => {
    const res = await http('GET', '/tasks?connectorName=Nobody');
    expect(res.status).toBe(404);
    expect(res.body.message).toContain('Nobody');
  });
});

describe('GET /tasks/:id', () => {
  it('shows the data, the related data and each synchronization with its log', async () => {
    await createUsers(['ann'], 'CorpSite');
    const [taskId] = await taskIdsOf('Crm');
    crm.control.respond = () => ({ result: R.Error, errorMessage: 'first failure' });
    await t.bus.processOutgoingTasks('Crm');
    crm.control.respond = () => ({ result: R.Error, errorMessage: 'second failure' });
    // By hand: a run would wait for the retry the first failure scheduled.
    await t.bus.synchronizeTask(taskId!, 'Crm');

    const res = await http('GET', `/tasks/${taskId}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: taskId,
      direction: 'outgoing',
      taskType: TaskType.CreateObject,
      objectType: 'cms.user',
      siteName: 'CorpSite',
      dataType: 'SIMPLESNAPSHOT',
      processType: 'ASYNCSIMPLESNAPSHOT',
      entity: 'User',
    });
    expect(res.body.data).toMatchObject({ userName: 'ann', email: 'ann@example.com' });
    expect(res.body.relatedData).toEqual([
      expect.objectContaining({ property: 'site', objectType: 'cms.site', codeName: 'CorpSite' }),
    ]);
    expect(res.body.synchronizations).toEqual([
      expect.objectContaining({
        connectorName: 'Crm',
        connectorDisplayName: 'CRM',
        attempts: 2,
        status: 'failed',
        errorMessage: 'second failure',
        log: [
          expect.objectContaining({ errorMessage: 'second failure' }),
          expect.objectContaining({ errorMessage: 'first failure' }),
        ],
      }),
    ]);
  });

  it('answers 404 for a task that is gone and 400 for an id that is not one', async () => {
    expect((await http('GET', '/tasks/987654')).status).toBe(404);
    const bad = await http('GET', '/tasks/12abc');
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe('id');
  });
});

describe('POST /tasks/:id/synchronize', () => {
  it('processes a task for one connector and reports the result', async () => {
    await createUsers(['ann']);
    const [shared] = await taskIdsOf('Erp');
    const res = await http('POST', `/tasks/${shared}/synchronize`, { body: { connectorName: 'Erp' } });
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual({ OK: 1, ERROR: 0, ERRORANDSKIP: 0, SKIPNOW: 0 });
    expect(log.map((c) => c.connector)).toEqual(['Erp']);
    expect(await taskIdsOf('Erp')).toEqual([]);
    expect(await taskIdsOf('Audit')).toEqual([shared]); // still waiting for the other connector
  });

  it('processes a task for every connector waiting for it when no connector is given', async () => {
    await createUsers(['ann']);
    const [shared] = await taskIdsOf('Erp');
    const res = await http('POST', `/tasks/${shared}/synchronize`);
    expect(res.body.results.OK).toBe(2);
    expect((await http('GET', `/tasks/${shared}`)).status).toBe(404);
  });

  it('reports a failure and keeps the task with its log', async () => {
    await createUsers(['ann']);
    const [taskId] = await taskIdsOf('Crm');
    crm.control.respond = () => ({ result: R.Error, errorMessage: 'down' });
    const res = await http('POST', `/tasks/${taskId}/synchronize`, { body: { connectorName: 'Crm' } });
    expect(res.body.results.ERROR).toBe(1);
    const detail = await http('GET', `/tasks/${taskId}`);
    expect(detail.body.synchronizations[0]).toMatchObject({ errorMessage: 'down', attempts: 1 });
  });

  it('synchronizes an incoming task', async () => {
    const info = await t.bus.processExternalTask('Erp', Object.assign(new Role(), { name: 'imported' }), {
      taskType: TaskType.CreateObject,
    });
    const res = await http('POST', `/tasks/${info!.id}/synchronize`, { body: { connectorName: 'Erp' } });
    expect(res.status).toBe(200);
    expect(res.body.results.OK).toBe(1);
    expect(await t.sql(`select name from t_role`)).toEqual([{ name: 'imported' }]);
  });

  it('answers 409 while processing is switched off, or for a disabled connector', async () => {
    await createUsers(['ann']);
    const [taskId] = await taskIdsOf('Crm');
    await t.bus.updateSettings({ processOutgoing: false });
    const off = await http('POST', `/tasks/${taskId}/synchronize`);
    expect(off.status).toBe(409);
    expect(off.body.message).toMatch(/switched off/);
    await t.bus.updateSettings({ processOutgoing: true });
    await t.bus.updateConnector('Crm', { enabled: false });
    const disabled = await http('POST', `/tasks/${taskId}/synchronize`, { body: { connectorName: 'Crm' } });
    expect(disabled.status).toBe(409);
    expect(disabled.body.message).toMatch(/disabled/);
    expect(log).toEqual([]);
  });

  it('answers 404 for an unknown task or connector, 400 for a bad body', async () => {
    await createUsers(['ann']);
    const [taskId] = await taskIdsOf('Crm');
    expect((await http('POST', '/tasks/424242/synchronize')).status).toBe(404);
    const unknown = await http('POST', `/tasks/${taskId}/synchronize`, { body: { connectorName: 'Nobody' } });
    expect(unknown.status).toBe(404);
    const bad = await http('POST', `/tasks/${taskId}/synchronize`, { body: { connector: 'Crm' } });
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe('connector');
    const notObject = await http('POST', `/tasks/${taskId}/synchronize`, { body: '[1,2]' });
    expect(notObject.status).toBe(400);
    expect(notObject.body.field).toBe('body');
    expect(log).toEqual([]);
  });
});

describe('DELETE /tasks/:id', () => {
  it("deletes one connector's synchronization, then the task with the last one", async () => {
    await createUsers(['ann']);
    const [shared] = await taskIdsOf('Erp');
    const one = await http('DELETE', `/tasks/${shared}?connectorName=Erp`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual({ deleted: 1 });
    expect(await taskIdsOf('Audit')).toEqual([shared]);
    const rest = await http('DELETE', `/tasks/${shared}`);
    expect(rest.body).toEqual({ deleted: 1 });
    expect(await t.sql(`select id from integration_task where id = $1`, [shared])).toEqual([]);
    expect(log).toEqual([]);
  });

  it('answers 404 when nothing is queued, 400 for unknown parameters', async () => {
    expect((await http('DELETE', '/tasks/31337')).status).toBe(404);
    const bad = await http('DELETE', '/tasks/1?connector=Erp');
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe('connector');
  });
});

describe('POST /tasks/synchronize (bulk)', () => {
  it('synchronizes the selected tasks in creation order, whatever order they are given in', async () => {
    await createUsers(['ann', 'bob', 'cid']);
    const ids = await taskIdsOf('Erp');
    const res = await http('POST', '/tasks/synchronize', {
      body: { direction: 'outgoing', connectorName: 'Erp', ids: [ids[2], ids[0], ids[1]] },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      results: { OK: 3, ERROR: 0, ERRORANDSKIP: 0, SKIPNOW: 0 },
      notQueued: 0,
      skipped: 0,
    });
    expect(log.map((c) => c.task.id)).toEqual(ids);
  });

  it("skips a connector's later tasks after an Error, so that none overtakes the failed one", async () => {
    await createUsers(['ann', 'bob', 'cid']);
    const ids = await taskIdsOf('Erp');
    erp.control.respond = (task) => (task.id === ids[1] ? R.Error : R.OK);
    const res = await http('POST', '/tasks/synchronize', {
      body: { direction: 'outgoing', connectorName: 'Erp', ids },
    });
    expect(res.body.results).toMatchObject({ OK: 1, ERROR: 1 });
    expect(res.body.skipped).toBe(1);
    expect(await taskIdsOf('Erp')).toEqual([ids[1], ids[2]]);
  });

  it('synchronizes all tasks of a list, per connector', async () => {
    await createUsers(['ann', 'bob']);
    const res = await http('POST', '/tasks/synchronize', { body: { direction: 'outgoing', all: true } });
    expect(res.body.results.OK).toBe(6);
    expect(await queued()).toBe(0);
  });

  it('synchronizes all tasks of one connector only', async () => {
    await createUsers(['ann', 'bob']);
    const res = await http('POST', '/tasks/synchronize', {
      body: { direction: 'outgoing', connectorName: 'Audit', all: true },
    });
    expect(res.body.results.OK).toBe(2);
    expect(new Set(log.map((c) => c.connector))).toEqual(new Set(['Audit']));
    expect(await queued()).toBe(4);
  });

  it('answers 409 while processing is off and writes nothing', async () => {
    await createUsers(['ann']);
    await t.bus.updateSettings({ enabled: false });
    const res = await http('POST', '/tasks/synchronize', { body: { direction: 'outgoing', all: true } });
    expect(res.status).toBe(409);
    expect(log).toEqual([]);
  });

  it('rejects a bad selection with a 400 naming the field', async () => {
    for (const [body, field] of [
      [{ ids: [1] }, 'direction'],
      [{ direction: 'outgoing' }, 'ids'],
      [{ direction: 'outgoing', ids: [1], all: true }, 'ids'],
      [{ direction: 'outgoing', all: false }, 'all'],
      [{ direction: 'outgoing', all: 'yes' }, 'all'],
      [{ direction: 'outgoing', ids: [] }, 'ids'],
      [{ direction: 'outgoing', ids: [1, 'two'] }, 'ids[1]'],
      [{ direction: 'outgoing', ids: [1, -2] }, 'ids[1]'],
      [{ direction: 'outgoing', ids: [1.5] }, 'ids[0]'],
      [{ direction: 'outgoing', ids: [1], connectorName: 42 }, 'connectorName'],
      [{ direction: 'outgoing', ids: [1], extra: true }, 'extra'],
    ] as const) {
      const res = await http('POST', '/tasks/synchronize', { body });
      expect({ body, status: res.status, field: res.body.field }).toEqual({ body, status: 400, field });
    }
    const noBody = await http('POST', '/tasks/synchronize');
    expect(noBody.status).toBe(400);
    expect(noBody.body.field).toBe('body');
  });
});

describe('POST /tasks/delete (bulk)', () => {
  it("deletes the selected tasks of one connector and keeps other connectors' share", async () => {
    await createUsers(['ann', 'bob', 'cid']);
    const ids = await taskIdsOf('Erp');
    const res = await http('POST', '/tasks/delete', {
      body: { direction: 'outgoing', connectorName: 'Erp', ids: [ids[0], ids[2]] },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ deleted: 2, tasksDeleted: 0 });
    expect(await taskIdsOf('Erp')).toEqual([ids[1]]);
    expect(await taskIdsOf('Audit')).toEqual(ids);
  });

  it('deletes all tasks of a list, and the tasks no connector waits for any more', async () => {
    await createUsers(['ann', 'bob']);
    await t.bus.processExternalTask('Erp', Object.assign(new Role(), { name: 'imported' }), {
      taskType: TaskType.CreateObject,
    });
    const res = await http('POST', '/tasks/delete', { body: { direction: 'outgoing', all: true } });
    expect(res.body).toEqual({ deleted: 6, tasksDeleted: 4 });
    const left = await t.sql<{ is_inbound: boolean }>(`select is_inbound from integration_task`);
    expect(left).toEqual([{ is_inbound: true }]);
    expect(log).toEqual([]);
  });

  it('writes nothing when the selection is invalid', async () => {
    await createUsers(['ann']);
    const before = await queued();
    const res = await http('POST', '/tasks/delete', { body: { direction: 'outgoing', ids: [1, 'x'] } });
    expect(res.status).toBe(400);
    expect(await queued()).toBe(before);
  });
});
