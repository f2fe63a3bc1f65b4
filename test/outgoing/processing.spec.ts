import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  BaseIntegrationConnector,
  Connector,
  IntegrationBus,
  IntegrationBusModule,
  IntegrationEventLog,
  InvalidOptionsError,
  IntegrationEvents,
  IntegrationProcessResult,
  IntegrationTaskEvent,
  ProcessingDisabledError,
  Subscribe,
  TaskProcessType,
  TaskType,
  type OutgoingTask,
} from 'nestjs-integration-bus';
import { createBusApp, useBusApp, withBusApp } from '../support/bus-app.js';
import { createTestDatabase } from '../support/database.js';
import { Role, User } from '../support/entities.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';

const R = IntegrationProcessResult;
const log: CallLog = [];
const cancel = { names: new Set<string>(), failOn: new Set<string>() };

const first = recordingConnector('First', [{ objectType: 'cms.user' }], log);
const second = recordingConnector('Second', [{ objectType: 'cms.user' }], log);
const syncA = recordingConnector(
  'SyncA',
  [{ objectType: 'cms.role', processType: TaskProcessType.SyncSnapshot }],
  log,
);
const syncB = recordingConnector(
  'SyncB',
  [{ objectType: 'cms.role', processType: TaskProcessType.SyncSnapshot }],
  log,
);

/** Method-level subscriptions route to their method; the class-level one to processInternalTaskAsync. */
@Connector('Routed')
@Subscribe({ objectType: 'cms.site' })
class RoutedConnector extends BaseIntegrationConnector {
  readonly calls: string[] = [];
  @Subscribe({ objectType: 'cms.user', objectCodeName: 'routed%', taskType: TaskType.CreateObject })
  onUserCreated(task: OutgoingTask<User>) {
    this.calls.push(`onUserCreated:${task.object.userName}`);
    return R.OK;
  }
  @Subscribe({ objectType: 'cms.user', objectCodeName: 'routed%', taskType: TaskType.DeleteObject })
  async onUserDeleted(task: OutgoingTask<User>) {
    this.calls.push(`onUserDeleted:${task.object.userName}`);
    return { result: R.OK };
  }
  override processInternalTaskAsync(task: OutgoingTask) {
    this.calls.push(`default:${task.objectType}`);
    return R.OK;
  }
}

@Injectable()
class CancelSpy {
  @OnEvent(IntegrationEvents.ProcessInternalTask.Before)
  before(event: IntegrationTaskEvent<User>): void {
    if (cancel.names.has(event.object.userName)) event.cancel();
  }
  // With suppressErrors off, a listener's exception reaches the bus (by default Nest logs it).
  @OnEvent(IntegrationEvents.ProcessInternalTask.Before, { suppressErrors: false })
  failing(event: IntegrationTaskEvent<User>): void {
    if (cancel.failOn.has(event.object.userName)) throw new Error('listener bug');
  }
}

const t = useBusApp({
  providers: [first.provider, second.provider, syncA.provider, syncB.provider, RoutedConnector, CancelSpy],
  bus: { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 }, batchSize: 3 },
});
afterEach(async () => {
  log.length = 0;
  cancel.names.clear();
  cancel.failOn.clear();
  for (const c of [first, second, syncA, syncB]) c.control.respond = () => R.OK;
  await t.bus.updateSettings({ enabled: true, processOutgoing: true, logOutgoing: true });
  await t.sql(`delete from integration_task`);
  await t.sql(`delete from integration_event_log`);
});

async function createUsers(...names: string[]): Promise<void> {
  const em = t.em();
  for (const userName of names) {
    em.create(User, { userName });
    await em.flush(); // one flush each: one task each, in this order
  }
}

function namesFor(connector: string): string[] {
  return log.filter((c) => c.connector === connector).map((c) => (c.task.object as User).userName);
}

function queued(
  connector: string,
): Promise<{ user_name: string; attempts: number; error_message: string | null }[]> {
  return t.sql(
    `select t.data->'fields'->>'userName' as user_name, s.attempts, s.error_message
       from ${ALL_SYNCHRONIZATIONS_SQL} s join integration_task t on t.id = s.task_id
       join integration_connector c on c.id = s.connector_id where c.code_name = $1 order by t.id`,
    [connector],
  );
}

describe('asynchronous processing (R-OUT-6)', () => {
  it('processes oldest first across batches and deletes what succeeded', async () => {
    await createUsers('u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7');
    const counts = await t.bus.processOutgoingTasks('First');
    expect(counts).toEqual({ OK: 7, ERROR: 0, ERRORANDSKIP: 0, SKIPNOW: 0 });
    expect(namesFor('First')).toEqual(['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7']);
    expect(await queued('First')).toEqual([]);
    expect(log[0]!.task.object).toBeInstanceOf(User);
    expect(log[0]!.task).toMatchObject({
      taskType: TaskType.CreateObject,
      objectType: 'cms.user',
      attempt: 1,
    });
  });

  it('keeps a task shared by two connectors until the last one has processed it', async () => {
    await createUsers('shared');
    await t.bus.processOutgoingTasks('First');
    expect(await t.sql(`select id from integration_task`)).toHaveLength(1);
    await t.bus.processOutgoingTasks('Second');
    expect(await t.sql(`select id from integration_task`)).toHaveLength(0);
  });

  it('Error: logs the message, stops the run, and retries the same task first once its retry is due', async () => {
    await createUsers('a', 'b', 'c');
    first.control.respond = (task) =>
      (task.object as User).userName === 'b' ? { result: R.Error, errorMessage: 'CRM is down' } : R.OK;
    expect(await t.bus.processOutgoingTasks('First')).toMatchObject({ OK: 1, ERROR: 1 });
    expect(namesFor('First')).toEqual(['a', 'b']);
    expect(await queued('First')).toEqual([
      { user_name: 'b', attempts: 1, error_message: 'CRM is down' },
      { user_name: 'c', attempts: 0, error_message: null },
    ]);
    const syncLog = await t.sql(`select error_message from integration_sync_log`);
    expect(syncLog).toEqual([{ error_message: 'CRM is down' }]);
    log.length = 0;
    first.control.respond = () => R.OK;
    // Before its retry is due (R-DEL-5), the failed task holds the connector: nothing runs.
    await t.bus.processOutgoingTasks('First');
    expect(namesFor('First')).toEqual([]);
    await t.sql(`update integration_synchronization set next_attempt_at = now() - interval '1 ms'`);
    await t.bus.processOutgoingTasks('First');
    expect(namesFor('First')).toEqual(['b', 'c']);
    expect(log[0]!.task.attempt).toBe(2);
  });

  it('a thrown exception counts as Error with its message', async () => {
    await createUsers('x', 'y');
    first.control.respond = () => {
      throw new Error('socket hang up');
    };
    expect(await t.bus.processOutgoingTasks('First')).toMatchObject({ ERROR: 1, OK: 0 });
    expect((await queued('First'))[0]).toMatchObject({ user_name: 'x', error_message: 'socket hang up' });
  });

  it('a rejected promise counts as Error with its message, and an awaited OK as OK', async () => {
    await createUsers('ok-later', 'rejected');
    first.control.respond = async (task) => {
      await new Promise((r) => setTimeout(r, 1));
      if ((task.object as User).userName === 'rejected') throw new Error('gateway timeout');
      return R.OK;
    };
    expect(await t.bus.processOutgoingTasks('First')).toMatchObject({ ERROR: 1, OK: 1 });
    expect(await queued('First')).toEqual([
      { user_name: 'rejected', attempts: 1, error_message: 'gateway timeout' },
    ]);
  });

  it('deletes a shared task another connector completed at the same instant, with its next batch', async () => {
    await createUsers('r1', 'r2', 'r3', 'r4');
    // Second completes r1..r3 while First's first batch is being written, each seeing the other's
    // synchronization: both leave the tasks. Simulated by deleting Second's rows behind the bus.
    first.control.respond = async (task) => {
      if ((task.object as User).userName === 'r4') {
        await t.sql(
          `delete from integration_synchronization s using integration_connector c, integration_task t
            where c.id = s.connector_id and t.id = s.task_id and c.code_name = 'Second'
              and t.data->'fields'->>'userName' in ('r1', 'r2', 'r3')`,
        );
      }
      return R.OK;
    };
    expect(await t.bus.processOutgoingTasks('First')).toMatchObject({ OK: 4 });
    const left = await t.sql<{ user_name: string }>(
      `select data->'fields'->>'userName' as user_name from integration_task order by id`,
    );
    expect(left.map((r) => r.user_name)).toEqual(['r4']);
  });

  it('a failing ProcessInternalTask.Before listener fails the run, keeping what the batch finished', async () => {
    await createUsers('f1', 'f2', 'f3', 'f4');
    cancel.failOn.add('f3');
    expect(await t.bus.processOutgoingTasks('First')).toMatchObject({ OK: 0 }); // logged, not thrown
    expect(namesFor('First')).toEqual(['f1', 'f2']);
    expect((await queued('First')).map((q) => q.user_name)).toEqual(['f3', 'f4']);
    cancel.failOn.clear();
    log.length = 0;
    expect(await t.bus.processOutgoingTasks('First')).toMatchObject({ OK: 2 });
    expect(namesFor('First')).toEqual(['f3', 'f4']);
  });

  it('a task whose entity cannot be rebuilt fails with a clear message, also with event listeners', async () => {
    await t.sql(
      `with t as (insert into integration_task (guid, title, task_type, object_type, data_type, process_type, data)
                  values (gen_random_uuid(), 'Broken', 'CREATEOBJ', 'cms.user', 'SIMPLE', 'ASYNCSIMPLE',
                          '{"entity": "NoSuchEntity", "fields": {}, "translations": [], "children": {}}')
                  returning id)
       insert into integration_synchronization (task_id, connector_id)
       select t.id, c.id from t, integration_connector c where c.code_name = 'First'`,
    );
    expect(await t.bus.processOutgoingTasks('First')).toMatchObject({ ERROR: 1, OK: 0 });
    const [row] = await t.sql<{ error_message: string }>(
      `select error_message from ${ALL_SYNCHRONIZATIONS_SQL} s`,
    );
    expect(row!.error_message).toMatch(/Cannot rebuild the task's object: .*NoSuchEntity/);
  });

  it('ErrorAndSkip: logs, goes on, and the task stays queued', async () => {
    await createUsers('p', 'q', 'r');
    first.control.respond = (task) =>
      (task.object as User).userName === 'p' ? { result: R.ErrorAndSkip, errorMessage: 'bad email' } : R.OK;
    expect(await t.bus.processOutgoingTasks('First')).toMatchObject({ OK: 2, ERRORANDSKIP: 1 });
    expect(await queued('First')).toEqual([{ user_name: 'p', attempts: 1, error_message: 'bad email' }]);
    expect(await t.sql(`select error_message from integration_sync_log`)).toEqual([
      { error_message: 'bad email' },
    ]);
  });

  it('SkipNow: goes on, the task stays queued, the attempt is counted, nothing is logged', async () => {
    await createUsers('s1', 's2');
    first.control.respond = (task) => ((task.object as User).userName === 's1' ? R.SkipNow : R.OK);
    expect(await t.bus.processOutgoingTasks('First')).toMatchObject({ OK: 1, SKIPNOW: 1 });
    expect(await queued('First')).toEqual([{ user_name: 's1', attempts: 1, error_message: null }]);
    expect(await t.sql(`select * from integration_sync_log`)).toEqual([]);
  });

  it('SkipNow with a message keeps the message on the row and in the log without counting a failure', async () => {
    await createUsers('later');
    first.control.respond = () => ({ result: R.SkipNow, errorMessage: 'account not open yet' });
    await t.bus.processOutgoingTasks('First');
    expect(await queued('First')).toEqual([
      { user_name: 'later', attempts: 1, error_message: 'account not open yet' },
    ]);
    const states = `select state, failures from ${ALL_SYNCHRONIZATIONS_SQL} s
                      join integration_connector c on c.id = s.connector_id where c.code_name = 'First'`;
    expect(await t.sql(states)).toEqual([{ state: 'skipped', failures: 0 }]);
    expect(await t.sql(`select error_message from integration_sync_log`)).toEqual([
      { error_message: 'account not open yet' },
    ]);
  });

  it('an answer that is not a result is an Error naming the method', async () => {
    await createUsers('odd');
    first.control.respond = () => 'DONE' as IntegrationProcessResult;
    await t.bus.processOutgoingTasks('First');
    expect((await queued('First'))[0]!.error_message).toMatch(/processInternalTaskAsync returned "DONE"/);
  });

  it('ProcessInternalTask.Before can cancel: the task is skipped this run and stays', async () => {
    await createUsers('skipme', 'next');
    cancel.names.add('skipme');
    await t.bus.processOutgoingTasks('First');
    expect(namesFor('First')).toEqual(['next']);
    expect((await queued('First')).map((r) => r.user_name)).toEqual(['skipme']);
  });

  it('processes nothing while processing or the bus is switched off, and synchronizeTask refuses', async () => {
    await createUsers('held');
    await t.bus.updateSettings({ processOutgoing: false });
    expect(await t.bus.processOutgoingTasks()).toMatchObject({ OK: 0 });
    const [task] = await t.sql<{ id: string }>(`select id from integration_task`);
    await expect(t.bus.synchronizeTask(Number(task!.id))).rejects.toBeInstanceOf(ProcessingDisabledError);
    await t.bus.updateSettings({ processOutgoing: true, enabled: false });
    expect(await t.bus.processOutgoingTasks()).toMatchObject({ OK: 0 });
    expect(log).toEqual([]);
  });

  it('processes nothing for a disabled connector', async () => {
    await createUsers('waiting');
    await t.bus.updateConnector('First', { enabled: false });
    try {
      await t.bus.processOutgoingTasks();
      expect(namesFor('First')).toEqual([]);
      expect(namesFor('Second')).toEqual(['waiting']);
    } finally {
      await t.bus.updateConnector('First', { enabled: true });
    }
  });

  it('synchronizes one chosen task, and deletes one for a connector', async () => {
    await createUsers('one', 'two');
    const [, two] = await t.sql<{ id: string }>(`select id from integration_task order by id`);
    expect(await t.bus.synchronizeTask(Number(two!.id), 'First')).toMatchObject({ OK: 1 });
    expect(namesFor('First')).toEqual(['two']);
    expect(await t.bus.deleteTask(Number(two!.id), 'Second')).toBe(1);
    expect(await t.sql(`select id from integration_task where id = $1`, [two!.id])).toEqual([]);
  });

  it('routes method-level subscriptions to their method', async () => {
    const routed = t.app.get(RoutedConnector);
    const em = t.em();
    const user = em.create(User, { userName: 'routed' });
    await em.flush();
    em.remove(user);
    await em.flush();
    await t.bus.processOutgoingTasks('Routed');
    expect(routed.calls).toEqual(['onUserCreated:routed', 'onUserDeleted:routed']);
  });
});

async function createRoles(...names: string[]): Promise<void> {
  const em = t.em();
  for (const name of names) em.create(Role, { name });
  await em.flush();
}

function calls(): string[] {
  return log.map((c) => `${c.connector}:${(c.task.object as Role).name}`);
}

describe('synchronous processing (R-OUT-5)', () => {
  it('hands the live entity to each connector in turn after commit and stores nothing', async () => {
    const em = t.em();
    const role = em.create(Role, { name: 'editors' });
    await em.flush();
    expect(calls()).toEqual(['SyncA:editors', 'SyncB:editors']);
    expect(log[0]!.task.object).toBe(role);
    expect(log[0]!.mode).toBe('sync');
    expect(await t.sql(`select * from integration_task`)).toEqual([]);
  });

  it('Error: event log, and no other connector gets this change', async () => {
    syncA.control.respond = (task) =>
      (task.object as Role).name === 'r1' ? { result: R.Error, errorMessage: 'ERP refused' } : R.OK;
    await createRoles('r1', 'r2');
    expect(calls()).toEqual(['SyncA:r1', 'SyncA:r2', 'SyncB:r2']);
    const entries = await t.app.get(IntegrationEventLog).list();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ level: 'error', connectorName: 'SyncA' });
    expect(entries[0]!.message).toMatch(/ERP refused/);
  });

  it('ErrorAndSkip: event log, this connector gets nothing more from the flush, others go on', async () => {
    syncA.control.respond = (task) => ((task.object as Role).name === 'k1' ? R.ErrorAndSkip : R.OK);
    await createRoles('k1', 'k2');
    expect(calls()).toEqual(['SyncA:k1', 'SyncB:k1', 'SyncB:k2']);
    expect(await t.app.get(IntegrationEventLog).list()).toHaveLength(1);
  });

  it('SkipNow: the task is dropped, nothing logged', async () => {
    syncA.control.respond = () => R.SkipNow;
    await createRoles('z');
    expect(calls()).toEqual(['SyncA:z', 'SyncB:z']);
    expect(await t.app.get(IntegrationEventLog).list()).toEqual([]);
  });

  it('a thrown exception counts as Error', async () => {
    syncA.control.respond = () => {
      throw new Error('boom');
    };
    await createRoles('thrown');
    expect(calls()).toEqual(['SyncA:thrown']);
    expect((await t.app.get(IntegrationEventLog).list())[0]!.message).toMatch(/boom/);
  });

  it('does not run when the change rolls back', async () => {
    await expect(
      t.em().transactional(async (tx) => {
        tx.create(Role, { name: 'never' });
        await tx.flush();
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(calls()).toEqual([]);
  });
});

describe('triggers and the processing claim (R-OUT-7, R-OUT-8)', () => {
  it('processes on commit (a) and on the sweep (c) without being asked', async () => {
    const callLog: CallLog = [];
    const auto = recordingConnector('Auto', [{ objectType: 'cms.user' }], callLog);
    await withBusApp(
      { providers: [auto.provider], bus: { outgoing: { processAfterCommit: true, sweepIntervalMs: 200 } } },
      async (app) => {
        const em = app.em();
        em.create(User, { userName: 'instant' });
        await em.flush();
        await expectEventually(() => callLog.length === 1);
        // Tasks written behind the bus's back (no commit hook) are found by the sweep.
        auto.control.respond = () => R.OK;
        await app.bus.updateSettings({ processOutgoing: false });
        em.create(User, { userName: 'later' });
        await em.flush();
        await new Promise((r) => setTimeout(r, 300));
        expect(callLog).toHaveLength(1);
        await app.bus.updateSettings({ processOutgoing: true });
        await expectEventually(() => callLog.length === 2);
      },
    );
  });

  it('wakes other instances through LISTEN/NOTIFY when tasks are committed (b)', async () => {
    const other = await createTestDatabase(inject('serverUrl'));
    const callLog: CallLog = [];
    const shared = recordingConnector('Shared', [{ objectType: 'cms.user' }], callLog);
    // The writer never processes; the worker only learns of the task through the notification.
    const writer = await createBusApp({
      databaseUrl: other.url,
      providers: [shared.provider],
      bus: { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } },
    });
    const worker = await createBusApp({
      databaseUrl: other.url,
      providers: [shared.provider],
      bus: { outgoing: { processAfterCommit: true, sweepIntervalMs: 0 } },
      migrate: false,
    });
    try {
      await new Promise((r) => setTimeout(r, 200)); // the worker's LISTEN connection is up
      const em = writer.em();
      em.create(User, { userName: 'notified' });
      await em.flush();
      await expectEventually(() => callLog.length === 1);
      expect((callLog[0]!.task.object as User).userName).toBe('notified');
    } finally {
      await worker.close();
      await writer.close();
      await other.drop();
    }
  });

  it('lets one instance at a time process a connector, and frees a dead instance’s claim when it expires', async () => {
    await createUsers('leased');
    await t.sql(
      `update integration_connector set lease_owner = 'dead-instance', lease_until = clock_timestamp() + interval '1 second'
        where code_name = 'First'`,
    );
    expect(await t.bus.processOutgoingTasks('First')).toMatchObject({ OK: 0 });
    expect(namesFor('First')).toEqual([]);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await t.bus.processOutgoingTasks('First')).toMatchObject({ OK: 1 });
    const [row] = await t.sql<{ lease_owner: string | null }>(
      `select lease_owner from integration_connector where code_name = 'First'`,
    );
    expect(row!.lease_owner).toBeNull();
  });

  it('two instances draining one queue process every task exactly once, in order', async () => {
    await createUsers(...Array.from({ length: 30 }, (_, i) => `c${String(i).padStart(2, '0')}`));
    const secondInstance = await createBusApp({
      databaseUrl: t.databaseUrl,
      providers: [first.provider, second.provider],
      bus: { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 }, batchSize: 3 },
      migrate: false,
    });
    try {
      first.control.respond = async () => {
        await new Promise((r) => setTimeout(r, 2));
        return R.OK;
      };
      let total = 0;
      while ((await queued('First')).length > 0) {
        const results = await Promise.all([
          t.bus.processOutgoingTasks('First'),
          secondInstance.bus.processOutgoingTasks('First'),
        ]);
        total += results[0].OK + results[1].OK;
      }
      expect(total).toBe(30);
      const names = namesFor('First');
      expect(names).toEqual([...names].sort());
      expect(new Set(names).size).toBe(30);
    } finally {
      await secondInstance.close();
    }
  });
});

describe('auto-synchronization recipe (reference 004)', () => {
  it('synchronizes a task from a LogInternalTask.After handler', async () => {
    const callLog: CallLog = [];
    const target = recordingConnector('MyConnector', [{ objectType: 'cms.user' }], callLog);

    @Injectable()
    class AutoSync {
      constructor(private readonly bus: IntegrationBus) {}
      @OnEvent(IntegrationEvents.LogInternalTask.After)
      async synchronize(event: IntegrationTaskEvent): Promise<void> {
        if (event.task.connectorNames.includes('MyConnector'))
          await this.bus.synchronizeTask(event.task.id, 'MyConnector');
      }
    }
    await withBusApp(
      {
        providers: [target.provider, AutoSync],
        bus: { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } },
      },
      async (app) => {
        const em = app.em();
        em.create(User, { userName: 'auto' });
        await em.flush();
        expect(callLog.map((c) => (c.task.object as User).userName)).toEqual(['auto']);
        expect(await app.sql(`select * from integration_task`)).toEqual([]);
      },
    );
  });
});

async function expectEventually(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('batches cut short by time (batchMaxDurationMs)', () => {
  it('writes the outcome of a slow batch before the batch is finished, and keeps the order', async () => {
    const callLog: CallLog = [];
    const slow = recordingConnector('Slow', [{ objectType: 'cms.user' }], callLog);
    await withBusApp(
      {
        providers: [slow.provider],
        bus: { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 }, batchMaxDurationMs: 40 },
      },
      async (app) => {
        const em = app.em();
        for (const userName of ['s1', 's2', 's3', 's4', 's5', 's6']) {
          em.create(User, { userName });
          await em.flush();
        }
        // Each call takes 25 ms; the queue left when the fifth call starts shows what was written.
        const queuedAtCall: number[] = [];
        slow.control.respond = async () => {
          const [row] = await app.sql<{ n: number }>(
            `select count(*)::int as n from ${ALL_SYNCHRONIZATIONS_SQL} s`,
          );
          queuedAtCall.push(row!.n);
          await new Promise((r) => setTimeout(r, 25));
          return R.OK;
        };
        // One batch of 500 would hold all six outcomes until its end; cut at 40 ms, it writes every two.
        expect(await app.bus.processOutgoingTasks('Slow')).toMatchObject({ OK: 6 });
        expect(callLog.map((c) => (c.task.object as User).userName)).toEqual([
          's1',
          's2',
          's3',
          's4',
          's5',
          's6',
        ]);
        expect(queuedAtCall[0]).toBe(6);
        expect(queuedAtCall[4]).toBeLessThan(6);
        expect(await app.sql(`select * from ${ALL_SYNCHRONIZATIONS_SQL} s`)).toEqual([]);
      },
    );
  });

  it('rejects a batchMaxDurationMs that is not a positive integer when the module is declared', () => {
    expect(() => IntegrationBusModule.forRoot({ batchMaxDurationMs: 0 })).toThrow(InvalidOptionsError);
    expect(() => IntegrationBusModule.forRoot({ batchMaxDurationMs: 0 })).toThrow(/batchMaxDurationMs/);
  });
});
