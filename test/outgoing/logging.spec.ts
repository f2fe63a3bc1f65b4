import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { afterEach, describe, expect, it } from 'vitest';
import {
  GLOBAL_OBJECTS,
  IntegrationEvents,
  IntegrationTaskEvent,
  TaskDataType,
  TaskProcessType,
  TaskType,
} from 'nestjs-integration-bus';
import { useBusApp } from '../support/bus-app.js';
import { Note, Page, Site, User } from '../support/entities.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';

const log: CallLog = [];
const eventsSeen: { name: string; taskId: number; committed: boolean }[] = [];
const hooks = { cancelBefore: (_e: IntegrationTaskEvent) => false };

// Alpha: two subscriptions on users; the higher priority (AsyncSnapshot) must win (R-OUT-3).
const alpha = recordingConnector(
  'Alpha',
  [
    { objectType: 'cms.user', processType: TaskProcessType.AsyncSimple },
    { objectType: 'CMS.USER', processType: TaskProcessType.AsyncSnapshot },
    { document: true, aliasPath: '/Home/%', processType: TaskProcessType.AsyncSimpleSnapshot },
  ],
  log,
);
// Beta: users with AsyncSimple only: same change, another process type, so a second task row.
const beta = recordingConnector('Beta', [{ objectType: 'cms.%', siteName: GLOBAL_OBJECTS }], log);
// Gamma: users with AsyncSnapshot: shares Alpha's task row.
const gamma = recordingConnector(
  'Gamma',
  [{ objectType: 'cms.user', processType: TaskProcessType.AsyncSnapshot }],
  log,
);
// Disabled from the start: must get nothing.
const off = recordingConnector('Off', [{ objectType: '%' }], log, { enabled: false });

@Injectable()
class EventSpy {
  @OnEvent(IntegrationEvents.LogInternalTask.Before)
  before(event: IntegrationTaskEvent): void {
    if (hooks.cancelBefore(event)) event.cancel();
    if ((event.object as { userName?: string }).userName === 'renamed') event.task.title = 'Custom title';
  }
  @OnEvent(IntegrationEvents.LogInternalTask.After)
  async after(event: IntegrationTaskEvent): Promise<void> {
    // Read on another connection: the task must already be committed when After fires.
    const rows = await t.sql(`select id from integration_task where id = $1`, [event.task.id]);
    eventsSeen.push({ name: 'after', taskId: event.task.id, committed: rows.length === 1 });
  }
}

const t = useBusApp({
  providers: [alpha.provider, beta.provider, gamma.provider, off.provider, EventSpy],
  bus: { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } },
});
afterEach(async () => {
  log.length = 0;
  eventsSeen.length = 0;
  hooks.cancelBefore = () => false;
  await t.bus.updateSettings({ enabled: true, logOutgoing: true, processOutgoing: true });
  await t.sql(`delete from integration_task`);
});

interface TaskRow {
  id: string;
  title: string;
  task_type: string;
  object_type: string;
  object_id: string;
  site_name: string | null;
  data_type: string;
  process_type: string;
  connectors: string[];
}

function tasks(): Promise<TaskRow[]> {
  return t.sql<TaskRow>(
    `select t.*, array(select c.code_name from ${ALL_SYNCHRONIZATIONS_SQL} s join integration_connector c on c.id = s.connector_id
                        where s.task_id = t.id order by c.code_name) as connectors
       from integration_task t order by t.id`,
  );
}

describe('logging outgoing tasks (R-OUT-1, R-OUT-3, R-OUT-4)', () => {
  it('logs one task per distinct process type, shared by the connectors of that type', async () => {
    const em = t.em();
    const user = em.create(User, { userName: 'antonio' });
    await em.flush();
    const rows = await tasks();
    expect(rows.map((r) => [r.process_type, r.data_type, r.connectors])).toEqual([
      [TaskProcessType.AsyncSnapshot, TaskDataType.Snapshot, ['Alpha', 'Gamma']],
      [TaskProcessType.AsyncSimple, TaskDataType.Simple, ['Beta']],
    ]);
    expect(rows[0]).toMatchObject({
      task_type: TaskType.CreateObject,
      object_type: 'cms.user',
      object_id: String(user.id),
    });
    expect(rows[0]!.title).toBe("Create User 'antonio'");
  });

  it('maps update and delete to UpdateObject and DeleteObject, documents to the document types', async () => {
    const em = t.em();
    const user = em.create(User, { userName: 'u1' });
    const page = em.create(Page, {
      className: 'cms.menuitem',
      aliasPath: '/Home/News',
      culture: 'en-US',
      nodeGuid: 'a0',
      title: 'News',
    });
    await em.flush();
    user.email = 'u1@example.com';
    page.title = 'Latest news';
    await em.flush();
    em.remove(user);
    em.remove(page);
    await em.flush();
    const rows = await tasks();
    const byType = (type: string) => rows.filter((r) => r.object_type === type).map((r) => r.task_type);
    expect(new Set(byType('cms.user'))).toEqual(
      new Set([TaskType.CreateObject, TaskType.UpdateObject, TaskType.DeleteObject]),
    );
    expect(byType('cms.menuitem')).toEqual([
      TaskType.CreateDocument,
      TaskType.UpdateDocument,
      TaskType.DeleteDocument,
    ]);
    expect(
      rows
        .filter((r) => r.object_type === 'cms.menuitem')
        .every((r) => r.data_type === TaskDataType.SimpleSnapshot),
    ).toBe(true);
  });

  it('writes the task in the same transaction: a rollback logs nothing', async () => {
    const em = t.em();
    await expect(
      em.transactional(async (tx) => {
        tx.create(User, { userName: 'ghost' });
        await tx.flush();
        expect(await tasks()).toHaveLength(0); // not visible outside before commit
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await tasks()).toHaveLength(0);
    expect(await t.sql(`select * from t_user where user_name = 'ghost'`)).toHaveLength(0);
  });

  it('logs every flush of an explicit transaction and fires After only once it commits', async () => {
    await t.em().transactional(async (tx) => {
      tx.create(User, { userName: 'first' });
      await tx.flush();
      tx.create(User, { userName: 'second' });
      await tx.flush();
      expect(eventsSeen).toHaveLength(0);
    });
    const rows = await tasks();
    expect(rows).toHaveLength(4);
    expect(eventsSeen).toHaveLength(4);
    expect(eventsSeen.every((e) => e.committed)).toBe(true);
  });

  it('in a nested transaction, fires After only when the outer transaction commits', async () => {
    await t.em().transactional(async (outer) => {
      await outer.transactional(async (inner) => {
        inner.create(User, { userName: 'nested' });
        await inner.flush();
      });
      expect(eventsSeen).toHaveLength(0); // the savepoint is released, nothing is committed yet
    });
    expect(await tasks()).toHaveLength(2);
    expect(eventsSeen).toHaveLength(2);
    expect(eventsSeen.every((e) => e.committed)).toBe(true);
  });

  it('in a nested transaction, fires nothing when the outer transaction rolls back', async () => {
    await expect(
      t.em().transactional(async (outer) => {
        await outer.transactional(async (inner) => {
          inner.create(User, { userName: 'nested-ghost' });
          await inner.flush();
        });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await new Promise((r) => setTimeout(r, 50));
    expect(eventsSeen).toEqual([]);
    expect(await tasks()).toEqual([]);
  });

  it('forgets the work of a nested transaction rolled back inside a committed one', async () => {
    await t.em().transactional(async (outer) => {
      await expect(
        outer.transactional(async (inner) => {
          inner.create(User, { userName: 'inner-ghost' });
          await inner.flush();
          throw new Error('inner abort');
        }),
      ).rejects.toThrow('inner abort');
      outer.create(User, { userName: 'outer-kept' });
      await outer.flush();
    });
    const rows = await tasks();
    expect(rows.map((r) => r.title)).toEqual(["Create User 'outer-kept'", "Create User 'outer-kept'"]);
    expect(eventsSeen).toHaveLength(2);
    expect(eventsSeen.every((e) => e.committed)).toBe(true);
  });

  it('fires LogInternalTask.After after the commit, with the task id', async () => {
    const em = t.em();
    em.create(User, { userName: 'after' });
    await em.flush();
    const rows = await tasks();
    expect(eventsSeen.map((e) => e.taskId).sort()).toEqual(rows.map((r) => Number(r.id)).sort());
    expect(eventsSeen.every((e) => e.committed)).toBe(true);
  });

  it('fails the change when logging fails', async () => {
    await t.sql(`alter table integration_task add constraint no_bob check (title not like '%bob%')`);
    try {
      const em = t.em();
      em.create(User, { userName: 'bob' });
      await expect(em.flush()).rejects.toThrow(/no_bob/);
      expect(await t.sql(`select * from t_user where user_name = 'bob'`)).toHaveLength(0);
    } finally {
      await t.sql(`alter table integration_task drop constraint no_bob`);
    }
  });

  it('logs nothing for entities without integration metadata or without a matching subscription', async () => {
    const em = t.em();
    em.create(Note, { text: 'hello' });
    await em.flush();
    expect(await tasks()).toHaveLength(0);
  });

  it('matches sites: GLOBAL_OBJECTS subscribers get global objects only', async () => {
    const em = t.em();
    const site = em.create(Site, { name: 'CorpSite' });
    await em.flush();
    await t.sql(`delete from integration_task`);
    em.create(User, { userName: 'sited', site });
    await em.flush();
    const rows = await tasks();
    expect(rows.flatMap((r) => r.connectors).sort()).toEqual(['Alpha', 'Gamma']); // Beta is GLOBAL_OBJECTS only
    expect(rows[0]!.site_name).toBe('CorpSite');
  });

  it('lets a Before handler cancel a task or change it', async () => {
    hooks.cancelBefore = (e) => (e.object as User).userName === 'cancelled';
    const em = t.em();
    em.create(User, { userName: 'cancelled' });
    em.create(User, { userName: 'renamed' });
    await em.flush();
    const rows = await tasks();
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => r.title === 'Custom title')).toBe(true);
  });

  it('logs nothing while the bus or outgoing logging is switched off (R-SET-1)', async () => {
    await t.bus.updateSettings({ logOutgoing: false });
    const em = t.em();
    em.create(User, { userName: 'quiet1' });
    await em.flush();
    await t.bus.updateSettings({ logOutgoing: true, enabled: false });
    em.create(User, { userName: 'quiet2' });
    await em.flush();
    expect(await tasks()).toHaveLength(0);
    await t.bus.updateSettings({ enabled: true });
    em.create(User, { userName: 'loud' });
    await em.flush();
    expect(await tasks()).toHaveLength(2);
  });

  it('logs nothing for a disabled connector, and resumes once it is enabled (R-SET-2)', async () => {
    const em = t.em();
    em.create(Note, { text: 'x' });
    em.create(User, { userName: 'x' });
    await em.flush();
    expect((await tasks()).flatMap((r) => r.connectors)).not.toContain('Off');
    await t.bus.updateConnector('Off', { enabled: true });
    try {
      em.create(User, { userName: 'y' });
      await em.flush();
      expect((await tasks()).flatMap((r) => r.connectors)).toContain('Off');
    } finally {
      await t.bus.updateConnector('Off', { enabled: false });
    }
  });

  it('logs explicit task types and plain objects with logInternalTask', async () => {
    const em = t.em();
    const user = em.create(User, { userName: 'joiner' });
    await em.flush();
    await t.sql(`delete from integration_task`);
    const ids = await t.bus.logInternalTask(user, TaskType.AddToSite, { siteName: 'CorpSite' });
    expect(ids).toHaveLength(1); // only Alpha+Gamma: Beta wants global objects and the site is set
    const plain = await t.bus.logInternalTask(
      { objectType: 'cms.role', codeName: 'editors', data: { name: 'editors' } },
      TaskType.CreateObject,
    );
    expect(plain).toHaveLength(1);
    const rows = await tasks();
    expect(rows.map((r) => [r.task_type, r.object_type, r.site_name, r.connectors])).toEqual([
      [TaskType.AddToSite, 'cms.user', 'CorpSite', ['Alpha', 'Gamma']],
      [TaskType.CreateObject, 'cms.role', null, ['Beta']],
    ]);
    await expect(t.bus.logInternalTask(new Note(), TaskType.CreateObject)).rejects.toThrow(/not marked/);
  });

  it('logs through logInternalTask inside a transaction: rolled back with it', async () => {
    await expect(
      t.em().transactional(async (tx) => {
        await t.bus.logInternalTask(
          { objectType: 'cms.role', codeName: 'r', data: {} },
          TaskType.CreateObject,
          { em: tx },
        );
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await tasks()).toHaveLength(0);
  });
});
