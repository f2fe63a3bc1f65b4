import { beforeAll, describe, expect, it } from 'vitest';
// The statement of a list page, to check its plans; the API tests below go through HTTP.
import { synchronizationListQuery } from '../../libs/integration-bus/src/persistence/task-query.store.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';
import { useManagementApp } from './management-app.js';

const TASKS = 10_000;
const log: CallLog = [];
const crm = recordingConnector('Crm', [{ objectType: 'cms.user' }], log);
const erp = recordingConnector('Erp', [{ objectType: 'cms.user' }], log);

const { t, http } = useManagementApp({ providers: [crm.provider, erp.provider] });

interface Item {
  taskId: number;
  connectorName: string;
  title: string;
}

/** Walks a list to its end through `nextCursor`, returning every item and the number of pages. */
async function walk(query: string): Promise<{ items: Item[]; pages: number }> {
  const items: Item[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res = await http('GET', `/tasks?${query}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status).toBe(200);
    items.push(...(res.body.items as Item[]));
    cursor = res.body.nextCursor;
    pages += 1;
  } while (cursor);
  return { items, pages };
}

beforeAll(async () => {
  // 10,000 outgoing tasks, each waiting for both connectors, and 30 incoming ones for Erp, in one
  // statement each.
  await t.sql(
    `with c as (select id from integration_connector where code_name in ('Crm', 'Erp')),
          t as (insert into integration_task (guid, title, task_type, object_type, data_type, process_type, data)
                select gen_random_uuid(), 'Task ' || g, 'UPDATEOBJ', 'cms.user', 'SIMPLE', 'ASYNCSIMPLE',
                       '{"entity":null,"fields":{},"translations":[],"children":{}}'
                  from generate_series(1, $1::int) g
                returning id)
     insert into integration_synchronization (task_id, connector_id) select t.id, c.id from t cross join c`,
    [TASKS],
  );
  await t.sql(
    `with t as (insert into integration_task (guid, title, task_type, object_type, is_inbound, data_type,
                                              process_type, data)
                select gen_random_uuid(), 'Incoming ' || g, 'CREATEOBJ', 'cms.user', true, 'SIMPLE', 'DEFAULT', '{}'
                  from generate_series(1, 30) g
                returning id)
     insert into integration_synchronization (task_id, connector_id)
     select t.id, c.id from t, integration_connector c where c.code_name = 'Erp'`,
  );
  await t.sql('analyze integration_task');
  await t.sql('analyze integration_synchronization');
});

describe('pagination over 10,000 tasks', () => {
  it('walks every synchronization once, oldest task first, in pages of the asked size', async () => {
    const { items, pages } = await walk('limit=500');
    expect(items).toHaveLength(2 * TASKS);
    expect(pages).toBe(40);
    const keys = items.map((i) => `${i.taskId}:${i.connectorName}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (let i = 1; i < items.length; i += 1) {
      const [a, b] = [items[i - 1]!, items[i]!];
      expect(a.taskId < b.taskId || (a.taskId === b.taskId && a.connectorName < b.connectorName)).toBe(true);
    }
    expect(items[0]!.title).toBe('Task 1');
    expect(items.at(-1)!.title).toBe(`Task ${TASKS}`);
  });

  it("walks one connector's tasks", async () => {
    const { items, pages } = await walk('connectorName=Crm&limit=500');
    expect(items).toHaveLength(TASKS);
    expect(pages).toBe(20);
    expect(items.every((i) => i.connectorName === 'Crm')).toBe(true);
  });

  it('keeps incoming tasks in their own list', async () => {
    const { items } = await walk('direction=incoming&limit=7');
    expect(items).toHaveLength(30);
    expect(items.every((i) => i.title.startsWith('Incoming'))).toBe(true);
    expect((await walk('direction=incoming&connectorName=Crm')).items).toEqual([]);
  });

  it('starts a page at the cursor in the middle of a task shared by two connectors', async () => {
    const first = await http('GET', '/tasks?limit=3');
    const next = await http('GET', `/tasks?limit=3&cursor=${first.body.nextCursor}`);
    const keys = [...first.body.items, ...next.body.items].map((i: Item) => [i.title, i.connectorName]);
    expect(keys).toEqual([
      ['Task 1', 'Crm'],
      ['Task 1', 'Erp'],
      ['Task 2', 'Crm'],
      ['Task 2', 'Erp'],
      ['Task 3', 'Crm'],
      ['Task 3', 'Erp'],
    ]);
  });

  it('reads a page through indexes, never by scanning the queue', async () => {
    const [{ id: crmId }] = (await t.sql<{ id: number }>(
      `select id from integration_connector where code_name = 'Crm'`,
    )) as [{ id: number }];
    const [{ id: middle }] = (await t.sql<{ id: string }>(
      `select id from integration_task where title = 'Task 9000'`,
    )) as [{ id: string }];
    const after = { taskId: Number(middle), connectorId: crmId };
    for (const [filter, cursor] of [
      [{ isInbound: false }, undefined],
      [{ isInbound: false }, after],
      [{ isInbound: false, connectorId: crmId }, after],
      [{ isInbound: true }, undefined],
    ] as const) {
      const query = synchronizationListQuery(filter, cursor, 51);
      const plan = (await t.sql<{ 'QUERY PLAN': string }>(`explain ${query.text}`, query.params))
        .map((row) => row['QUERY PLAN'])
        .join('\n');
      expect(plan).not.toMatch(/Seq Scan on integration_(task|synchronization)/);
      expect(plan).toMatch(/Index (Only )?Scan/);
    }
  });
});
