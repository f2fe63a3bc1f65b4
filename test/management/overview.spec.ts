import { afterEach, describe, expect, it } from 'vitest';
import { IntegrationProcessResult } from 'nestjs-integration-bus';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';
import { createUsers as createUsersOf, emptyQueue, useManagementApp } from './management-app.js';

const R = IntegrationProcessResult;
const log: CallLog = [];
const crm = recordingConnector('Crm', [{ objectType: 'cms.user' }], log, { displayName: 'CRM' });
const erp = recordingConnector('Erp', [{ objectType: 'cms.user' }], log);

const { t, http } = useManagementApp({ providers: [crm.provider, erp.provider] });

afterEach(async () => {
  log.length = 0;
  crm.control.respond = () => R.OK;
  await emptyQueue(t);
});

const createUsers = (names: string[]) => createUsersOf(t, names);

/** Sets the state of `connector`'s synchronizations of the tasks titled like `title`. */
async function setState(connector: string, title: string, state: string): Promise<void> {
  await t.sql(
    `update integration_synchronization s set state = $3, error_message = 'failed', attempts = 1
       from integration_connector c, integration_task t
      where c.id = s.connector_id and t.id = s.task_id and c.code_name = $1 and t.title like $2`,
    [connector, `%${title}%`, state],
  );
}

describe('GET /overview', () => {
  it('counts each status per connector and direction, with the oldest age and blocked time', async () => {
    await createUsers(['ann', 'bob', 'cid', 'dan', 'eve', 'fay']);
    await setState('Crm', 'bob', 'failed');
    await setState('Crm', 'cid', 'retrying');
    await setState('Crm', 'dan', 'skipped');
    await setState('Crm', 'eve', 'parked');
    await t.sql(
      `update integration_task set created_at = now() - interval '10 minutes' where title like '%ann%'`,
    );
    const res = await http('GET', '/overview');
    expect(res.status).toBe(200);
    expect(res.body.minutes).toBe(15);
    const crmOut = res.body.queues.find(
      (q: { connectorName: string; direction: string }) =>
        q.connectorName === 'Crm' && q.direction === 'outgoing',
    );
    expect(crmOut).toMatchObject({
      connectorDisplayName: 'CRM',
      counts: { waiting: 2, failed: 1, retrying: 1, skipped: 1, parked: 1 },
      lastRunAt: null,
    });
    expect(crmOut.oldestTaskAgeMs).toBeGreaterThanOrEqual(599_000);
    expect(crmOut.oldestTaskAgeMs).toBeLessThan(700_000);
    expect(crmOut.blockedMs).toEqual(expect.any(Number));
    expect(crmOut.throughput).toEqual(Array.from({ length: 15 }, () => 0));
    const erpOut = res.body.queues.find(
      (q: { connectorName: string; direction: string }) =>
        q.connectorName === 'Erp' && q.direction === 'outgoing',
    );
    expect(erpOut).toMatchObject({
      counts: { waiting: 6, failed: 0, retrying: 0, skipped: 0, parked: 0 },
      blockedMs: null,
    });
    expect(
      res.body.queues.map(
        (q: { connectorName: string; direction: string }) => `${q.connectorName}/${q.direction}`,
      ),
    ).toEqual(['Crm/outgoing', 'Crm/incoming', 'Erp/outgoing', 'Erp/incoming']);
  });

  it('shows an incoming task whose attempt failed with one status in the list, the overview and the metrics (R-DEL-7)', async () => {
    // A SkipOnError task whose attempt failed, and a Default one not tried yet.
    await t.sql(
      `with task as (
         insert into integration_task (guid, title, task_type, object_type, is_inbound, data_type, process_type, data)
         select gen_random_uuid(), x.title, 'UPDATEOBJ', 'cms.user', true, 'SIMPLE', x.process_type, '{}'::jsonb
           from (values ('Update account ann', 'SKIPONERROR'), ('Update account bob', 'DEFAULT')) as x(title, process_type)
         returning id, process_type)
       insert into integration_synchronization (task_id, connector_id, attempts, error_message)
       select task.id, c.id, case when task.process_type = 'SKIPONERROR' then 1 else 0 end,
              case when task.process_type = 'SKIPONERROR' then 'account not found' end
         from task, integration_connector c where c.code_name = 'Crm'`,
    );
    const list = await http('GET', '/tasks?direction=incoming&connectorName=Crm');
    expect(list.body.items.map((i: { title: string; status: string }) => [i.title, i.status])).toEqual([
      ['Update account ann', 'retrying'],
      ['Update account bob', 'waiting'],
    ]);
    for (const [status, titles] of [
      ['retrying', ['Update account ann']],
      ['waiting', ['Update account bob']],
    ] as const) {
      const filtered = await http('GET', `/tasks?direction=incoming&connectorName=Crm&status=${status}`);
      expect(filtered.body.items.map((i: { title: string }) => i.title)).toEqual(titles);
    }
    const overview = await http('GET', '/overview');
    const crmIn = overview.body.queues.find(
      (q: { connectorName: string; direction: string }) =>
        q.connectorName === 'Crm' && q.direction === 'incoming',
    );
    expect(crmIn.counts).toMatchObject({ waiting: 1, retrying: 1, failed: 0 });
    const metrics = (await http('GET', '/metrics')).text;
    const series = (status: string) =>
      metrics
        .split('\n')
        .find((l) =>
          l.startsWith(`integration_bus_tasks{connector="Crm",direction="incoming",status="${status}"} `),
        );
    expect(series('retrying')).toMatch(/ 1$/);
    expect(series('waiting')).toMatch(/ 1$/);
  });

  it('records throughput and the last run from the first read on', async () => {
    expect((await http('GET', '/overview?minutes=5')).body.queues[0].throughput).toEqual([0, 0, 0, 0, 0]);
    await createUsers(['ann', 'bob', 'cid']);
    await t.bus.processOutgoingTasks('Erp');
    const res = await http('GET', '/overview?minutes=5');
    expect(res.body.throughputRecorded).toBe(true);
    const erpOut = res.body.queues.find(
      (q: { connectorName: string; direction: string }) =>
        q.connectorName === 'Erp' && q.direction === 'outgoing',
    );
    expect(erpOut.throughput.reduce((a: number, b: number) => a + b, 0)).toBe(3);
    expect(erpOut.throughput.at(-1) + erpOut.throughput.at(-2)).toBe(3); // this minute (or the last one)
    expect(Math.abs(Date.parse(erpOut.lastRunAt) - Date.now())).toBeLessThan(60_000);
    expect(erpOut.counts.waiting).toBe(0);
  });

  it('rejects a bad minutes parameter, naming it', async () => {
    for (const minutes of ['0', '61', 'ten']) {
      const res = await http('GET', `/overview?minutes=${minutes}`);
      expect({ minutes, status: res.status, field: res.body.field }).toEqual({
        minutes,
        status: 400,
        field: 'minutes',
      });
    }
    expect((await http('GET', '/overview?hours=1')).body.field).toBe('hours');
    expect((await http('GET', '/overview', { token: null })).status).toBe(401);
  });
});

describe('GET /tasks?search=', () => {
  it('finds tasks by title or object type, ignoring case, with % and _ taken literally', async () => {
    await createUsers(['Alice', 'alina', 'bob', '100%_sure']);
    const titles = async (search: string) =>
      (await http('GET', `/tasks?connectorName=Crm&search=${encodeURIComponent(search)}`)).body.items.map(
        (i: { title: string }) => i.title,
      );
    expect(await titles('ALI')).toHaveLength(2);
    expect((await titles('ali')).every((title: string) => /ali/i.test(title))).toBe(true);
    expect(await titles('cms.user')).toHaveLength(4);
    expect(await titles('%')).toEqual([expect.stringContaining('100%_sure')]);
    expect(await titles('_')).toEqual([expect.stringContaining('100%_sure')]);
    expect(await titles('nobody')).toEqual([]);
    const tooLong = await http('GET', `/tasks?search=${'x'.repeat(201)}`);
    expect({ status: tooLong.status, field: tooLong.body.field }).toEqual({ status: 400, field: 'search' });
  });
});
