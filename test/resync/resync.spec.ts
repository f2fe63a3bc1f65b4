import { afterEach, describe, expect, it } from 'vitest';
import {
  IntegrationProcessResult,
  TaskDataType,
  TaskProcessType,
  TaskType,
  type OutgoingTask,
} from 'nestjs-integration-bus';
import { Client } from 'pg';
import { withBusApp } from '../support/bus-app.js';
import type { Article, Counter, Page, User } from '../support/entities.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';
import { MANUAL, queuedTasks, seedCounters, settled } from './resync-support.js';

const log: CallLog = [];
afterEach(() => {
  log.length = 0;
});

const counterOf = (task: OutgoingTask) => task.object as Counter;
const got = (name: string) => log.find((c) => c.connector === name)!.task;

describe('bus.resync (R-RES-1)', () => {
  it('R-RES-1 every existing row becomes a task for that connector only, in chunks, with its position stored', async () => {
    const a = recordingConnector('Erp', [{ objectType: 'test.counter' }], log);
    const b = recordingConnector('Crm', [{ objectType: 'test.counter' }], log);
    await withBusApp({ providers: [a.provider, b.provider], bus: MANUAL }, async (t) => {
      await seedCounters(t, 25);
      expect(await t.sql(`select count(*)::int as n from integration_task`)).toEqual([{ n: 0 }]);

      const started = await t.bus.resync('Erp', { objectType: 'test.counter', chunkSize: 7 });
      expect(started).toMatchObject({ connectorName: 'Erp', objectType: 'test.counter', total: 25 });
      const done = await settled(t.bus, started.id);
      expect(done).toMatchObject({ status: 'done', done: 25, total: 25, percent: 100, chunks: 4 });
      expect(await t.sql(`select position from integration_resync where id = $1`, [started.id])).toEqual([
        { position: [25] },
      ]);

      // One task per row, for Erp alone (a lone task: no synchronization row), none for Crm.
      const tasks = await queuedTasks(t, 'Erp');
      expect(tasks).toHaveLength(25);
      // Row 1's task, wherever its chunk landed (two chunks log at once, see below).
      expect(tasks.find((task) => task.object_id === '1')).toMatchObject({
        title: "Resync Counter 'c-00001'",
        task_type: TaskType.UpdateObject,
        data_type: TaskDataType.Simple,
        object_id: '1',
      });
      expect(await t.sql(`select count(*)::int as n from integration_synchronization`)).toEqual([{ n: 0 }]);

      await t.bus.processOutgoingTasks();
      expect(log.every((c) => c.connector === 'Erp')).toBe(true);
      // Every row once. Two chunks are logged at once, so chunks may reach the queue out of key order.
      expect(log.map((c) => counterOf(c.task).id).sort((x, y) => x - y)).toEqual(
        Array.from({ length: 25 }, (_, i) => i + 1),
      );
      expect(log[0]!.task.taskType).toBe(TaskType.UpdateObject);
    });
  });

  it('R-RES-1 a where filter selects the rows; rows the subscription does not match get no task', async () => {
    const a = recordingConnector('Erp', [{ objectType: 'test.counter', siteName: 'main' }], log);
    await withBusApp({ providers: [a.provider], bus: MANUAL }, async (t) => {
      await t.sql(`insert into t_site (id, name) values (1, 'main'), (2, 'other')`);
      await seedCounters(t, 10, { siteId: 1, tag: (id) => (id % 2 === 0 ? 'even' : 'odd') });
      await seedCounters(t, 10, { firstId: 11, siteId: 2, tag: () => 'even' });

      const started = await t.bus.resync('Erp', {
        objectType: 'TEST.Counter',
        where: { tag: 'even', id: { $lte: 15 } },
        chunkSize: 3,
      });
      // Rows 2, 4, 6, 8, 10 of site main and 11…15 of site other.
      expect(started.total).toBe(10);
      expect(await settled(t.bus, started.id)).toMatchObject({ status: 'done', done: 10 });
      // The subscription is for site main: the other site's rows are done, with no task. Sorted: two
      // chunks run at once, and the later one may log its tasks first (resync-chunk.ts).
      const objects = (await queuedTasks(t, 'Erp')).map((r) => Number(r.object_id));
      expect(objects.toSorted((x, y) => x - y)).toEqual([2, 4, 6, 8, 10]);
    });
  });

  it('R-RES-1 a filter through a relation reads the related rows without locking them', async () => {
    const a = recordingConnector('Erp', [{ objectType: 'test.counter' }], log);
    await withBusApp({ providers: [a.provider], bus: MANUAL }, async (t) => {
      await t.sql(`insert into t_site (id, name) values (1, 'main'), (2, 'other')`);
      await seedCounters(t, 6, { siteId: 2 });
      await seedCounters(t, 4, { firstId: 7, siteId: 1 });
      // The site row is held by another transaction all along: a chunk that locked the joined rows
      // too would skip the counters and then wait on the site for ever.
      const holder = new Client({ connectionString: t.orm.config.get('clientUrl') });
      await holder.connect();
      try {
        await holder.query('begin');
        await holder.query(`select * from t_site where id = 1 for update`);
        const started = await t.bus.resync('Erp', {
          objectType: 'test.counter',
          where: { site: { name: 'main' } },
        });
        expect(await settled(t.bus, started.id, 5000)).toMatchObject({ status: 'done', done: 4, total: 4 });
      } finally {
        await holder.query('rollback');
        await holder.end();
      }
      expect((await queuedTasks(t, 'Erp')).map((r) => Number(r.object_id))).toEqual([7, 8, 9, 10]);
    });
  });

  it('R-RES-1 a Snapshot subscription gets snapshots with translations and children; a Simple one gets the columns', async () => {
    const snap = recordingConnector(
      'Snap',
      [{ objectType: 'cms.user', processType: TaskProcessType.AsyncSnapshot }],
      log,
    );
    const simple = recordingConnector('Plain', [{ objectType: 'cms.user' }], log);
    await withBusApp({ providers: [snap.provider, simple.provider], bus: MANUAL }, async (t) => {
      await t.sql(`insert into t_site (id, name) values (1, 'main')`);
      await t.sql(`insert into t_role (id, name) values (1, 'editor')`);
      await t.sql(`insert into t_user (id, user_name, site_id, created_at) values (1, 'ann', 1, now())`);
      await t.sql(`insert into t_user_role (id, user_id, role_id) values (1, 1, 1)`);

      await settled(t.bus, (await t.bus.resync('Snap', { objectType: 'cms.user' })).id);
      await settled(t.bus, (await t.bus.resync('Plain', { objectType: 'cms.user' })).id);
      await t.bus.processOutgoingTasks();

      const snapshot = got('Snap');
      expect(snapshot.dataType).toBe(TaskDataType.Snapshot);
      expect(snapshot.siteName).toBe('main');
      expect((snapshot.object as User).userName).toBe('ann');
      expect(snapshot.translations.records.map((r) => [r.property, r.codeName])).toEqual([['site', 'main']]);
      expect((snapshot.object as User).roles.getItems().map((r) => r.id)).toEqual([1]);
      const plain = got('Plain');
      expect(plain.dataType).toBe(TaskDataType.Simple);
      expect(plain.translations.records).toEqual([]);
    });
  });

  it('R-RES-1 documents too: a document type by its constant class, or by the class column', async () => {
    const docs = recordingConnector(
      'Cms',
      [{ document: true, processType: TaskProcessType.AsyncSimpleSnapshot }],
      log,
    );
    await withBusApp({ providers: [docs.provider], bus: MANUAL }, async (t) => {
      await t.sql(`insert into t_article (id, alias_path, culture, node_guid, title, published, archived)
                   values (1, '/news/a', 'en-US', 'g1', 'A', false, false), (2, '/news/b', 'en-US', 'g2', 'B', false, false)`);
      await t.sql(`insert into t_document (id, class_name, alias_path, culture, node_guid, title)
                   values (1, 'cms.menuitem', '/home', 'en-US', 'p1', 'Home'),
                          (2, 'cms.news', '/news', 'en-US', 'p2', 'News'),
                          (3, 'cms.menuitem', '/about', 'en-US', 'p3', 'About')`);

      expect(
        await settled(t.bus, (await t.bus.resync('Cms', { objectType: 'cms.article' })).id),
      ).toMatchObject({
        done: 2,
      });
      expect(
        await settled(t.bus, (await t.bus.resync('Cms', { objectType: 'cms.menuitem' })).id),
      ).toMatchObject({
        done: 2,
      });
      await t.bus.processOutgoingTasks();
      expect(
        log.map((c) => [
          c.task.taskType,
          c.task.objectType,
          c.task.title,
          c.task.dataType,
          c.task.isDocument,
        ]),
      ).toEqual([
        [
          TaskType.UpdateDocument,
          'cms.article',
          'Resync document /news/a',
          TaskDataType.SimpleSnapshot,
          true,
        ],
        [
          TaskType.UpdateDocument,
          'cms.article',
          'Resync document /news/b',
          TaskDataType.SimpleSnapshot,
          true,
        ],
        [TaskType.UpdateDocument, 'cms.menuitem', 'Resync document /home', TaskDataType.SimpleSnapshot, true],
        [
          TaskType.UpdateDocument,
          'cms.menuitem',
          'Resync document /about',
          TaskDataType.SimpleSnapshot,
          true,
        ],
      ]);
      expect((log[2]!.task.object as Page).title).toBe('Home');
      expect((log[0]!.task.object as Article).title).toBe('A');
    });
  });

  it('R-RES-1 a SyncSnapshot subscription gets queued Snapshot tasks, handed to its sync handler', async () => {
    const sync = recordingConnector(
      'Live',
      [{ objectType: 'test.counter', processType: TaskProcessType.SyncSnapshot }],
      log,
    );
    await withBusApp({ providers: [sync.provider], bus: MANUAL }, async (t) => {
      await seedCounters(t, 3);
      await settled(t.bus, (await t.bus.resync('Live', { objectType: 'test.counter' })).id);
      expect(log).toEqual([]); // nothing delivered synchronously: the tasks are queued
      await t.bus.processOutgoingTasks('Live');
      expect(log.map((c) => [c.mode, c.task.dataType, counterOf(c.task).code])).toEqual([
        ['sync', TaskDataType.Snapshot, 'c-00001'],
        ['sync', TaskDataType.Snapshot, 'c-00002'],
        ['sync', TaskDataType.Snapshot, 'c-00003'],
      ]);
    });
  });

  it('R-RES-1 an empty table finishes at once with nothing logged', async () => {
    const a = recordingConnector('Erp', [{ objectType: 'test.counter' }], log);
    await withBusApp({ providers: [a.provider], bus: MANUAL }, async (t) => {
      const done = await settled(t.bus, (await t.bus.resync('Erp', { objectType: 'test.counter' })).id);
      expect(done).toMatchObject({ status: 'done', done: 0, total: 0, percent: 100 });
      expect(await queuedTasks(t, 'Erp')).toEqual([]);
      a.control.respond = () => IntegrationProcessResult.OK;
    });
  });
});
