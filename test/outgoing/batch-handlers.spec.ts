import { describe, expect, it } from 'vitest';
import {
  BaseIntegrationConnector,
  Connector,
  IntegrationProcessResult,
  InvalidConnectorError,
  Subscribe,
  type BatchOutcome,
  type ConnectorOptions,
  type OutgoingTask,
  type ProcessOutcome,
} from 'nestjs-integration-bus';
import { ALL_SYNCHRONIZATIONS_SQL, drainQueue } from 'nestjs-integration-bus/testing';
import { ThroughputRecorder } from '../../libs/integration-bus/src/management/overview/throughput-recorder.js';
import { withBusApp, type BusTestApp } from '../support/bus-app.js';
import { Role, User } from '../support/entities.js';
import { objectsHandedTwiceAtOnce, someCallsOverlapped, type TimedCall } from '../support/timed-calls.js';

const R = IntegrationProcessResult;
const MANUAL = { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } };

/** A batch connector on users: records each call's tasks as `name:email`, answers with `answer`. */
function batchConnector(codeName: string, options: ConnectorOptions) {
  const calls: string[][] = [];
  const control = {
    answer: (tasks: readonly OutgoingTask<User>[]): BatchOutcome => tasks.map(() => R.OK),
  };
  @Connector(codeName, options)
  class UserBatchConnector extends BaseIntegrationConnector {
    @Subscribe({ entity: User })
    users(tasks: readonly OutgoingTask<User>[]) {
      calls.push(tasks.map((t) => `${t.object.userName}:${t.object.email}`));
      return control.answer(tasks);
    }
  }
  return { provider: UserBatchConnector, calls, control };
}

async function createUsers(t: BusTestApp, ...names: string[]): Promise<void> {
  const em = t.em();
  for (const userName of names) em.create(User, { userName, email: `${userName}@v1` });
  await em.flush();
}

async function updateUser(t: BusTestApp, userName: string, email: string): Promise<void> {
  const em = t.em();
  const user = await em.findOneOrFail(User, { userName });
  user.email = email;
  await em.flush();
}

/** Each synchronization's state and attempts, by user name (from the task's title). */
async function states(t: BusTestApp): Promise<Record<string, string>> {
  const rows = await t.sql<{ title: string; state: string | null; attempts: number }>(
    `select t.title, s.state, s.attempts from ${ALL_SYNCHRONIZATIONS_SQL} s
       join integration_task t on t.id = s.task_id order by t.id`,
  );
  return Object.fromEntries(rows.map((r) => [nameIn(r.title), `${r.state ?? 'waiting'}/${r.attempts}`]));
}

/** The code name in a task title such as `Create User 'ada'`. */
function nameIn(title: string): string {
  return /'(.*)'/.exec(title)?.[1] ?? title;
}

/** Declares a connector class with `options`, when called. */
const declare = (options: ConnectorOptions) => () => {
  @Connector('BadBatch', options)
  class BadBatch extends BaseIntegrationConnector {}
  return BadBatch;
};

/** A batch connector whose calls take a while, so that the bus's work overlaps them. */
function slowBatchConnector(codeName: string, options: ConnectorOptions) {
  const calls: string[][] = [];
  const control = {
    answer: (name: string): ProcessOutcome => (name === '' ? R.Error : R.OK),
    onCall: async (_handed: number): Promise<void> => {},
  };
  let handed = 0;
  @Connector(codeName, { maxBatchSize: 2, ...options })
  class SlowBatch extends BaseIntegrationConnector {
    @Subscribe({ entity: User })
    async users(tasks: readonly OutgoingTask<User>[]): Promise<BatchOutcome> {
      const call = tasks.map((t) => t.object.userName);
      calls.push(call);
      handed += call.length;
      await control.onCall(handed);
      await new Promise((r) => setTimeout(r, 30));
      return call.map((name) => control.answer(name));
    }
  }
  return { provider: SlowBatch, calls, control };
}

describe('batch handlers (R-EXT-1)', () => {
  it('R-EXT-1 a batch is a prefix of the queue cut before the second change of an object', async () => {
    const c = batchConnector('Batches', { maxBatchSize: 10 });
    await withBusApp({ providers: [c.provider], bus: MANUAL }, async (t) => {
      await createUsers(t, 'a', 'b');
      await updateUser(t, 'a', 'a@v2');
      await createUsers(t, 'c');
      await updateUser(t, 'a', 'a@v3');
      const counts = await t.bus.processOutgoingTasks('Batches');
      expect(c.calls).toEqual([['a:a@v1', 'b:b@v1'], ['a:a@v2', 'c:c@v1'], ['a:a@v3']]);
      expect(counts[R.OK]).toBe(5);
      expect(await states(t)).toEqual({});
    });
  });

  it('R-EXT-1 a batch holds at most maxBatchSize tasks', async () => {
    const c = batchConnector('Small', { maxBatchSize: 2 });
    await withBusApp({ providers: [c.provider], bus: MANUAL }, async (t) => {
      await createUsers(t, 'a', 'b', 'c', 'd', 'e');
      await t.bus.processOutgoingTasks('Small');
      expect(c.calls.map((call) => call.length)).toEqual([2, 2, 1]);
    });
  });

  it("R-EXT-1 with ordering: 'connector', tasks after the first Error stay queued behind it unless answered OK", async () => {
    const c = batchConnector('Ordered', { maxBatchSize: 10, retry: { initialDelayMs: 0 } });
    c.control.answer = (tasks) =>
      tasks.map((t): ProcessOutcome => {
        const name = t.object.userName;
        if (name === 'b') return { result: R.Error, errorMessage: 'b refused' };
        if (name === 'd') return R.SkipNow;
        if (name === 'e') return { result: R.ErrorAndSkip, errorMessage: 'e later' };
        return R.OK;
      });
    await withBusApp({ providers: [c.provider], bus: MANUAL }, async (t) => {
      await createUsers(t, 'a', 'b', 'c', 'd', 'e', 'f');
      await t.bus.processOutgoingTasks('Ordered');
      // One call; a, c and f were taken; b failed and holds d and e, untouched, behind it.
      expect(c.calls).toEqual([['a:a@v1', 'b:b@v1', 'c:c@v1', 'd:d@v1', 'e:e@v1', 'f:f@v1']]);
      const s = await states(t);
      expect(s).toEqual({ b: 'failed/1', d: 'waiting/0', e: 'waiting/0' });

      // The retry takes the failed head first, alone (what it held back is read after it), then the rest.
      c.control.answer = (tasks) => tasks.map(() => R.OK);
      await t.bus.processOutgoingTasks('Ordered');
      expect(c.calls.slice(1)).toEqual([['b:b@v1'], ['d:d@v1', 'e:e@v1']]);
      expect(await states(t)).toEqual({});
    });
  });

  it("R-EXT-1 with ordering: 'object', an Error holds its object's later changes only", async () => {
    const c = batchConnector('PerObject', {
      maxBatchSize: 10,
      ordering: 'object',
      partitions: 1,
      retry: { initialDelayMs: 60_000 },
    });
    c.control.answer = (tasks) =>
      tasks.map((t) => (t.object.email === 'a@v1' ? { result: R.Error, errorMessage: 'no' } : R.OK));
    await withBusApp({ providers: [c.provider], bus: MANUAL }, async (t) => {
      await createUsers(t, 'a', 'b');
      await updateUser(t, 'a', 'a@v2');
      await createUsers(t, 'c');
      await t.bus.processOutgoingTasks('PerObject');
      // a's second change is never handed over while its first is failed; c still goes.
      expect(c.calls.flat()).toEqual(['a:a@v1', 'b:b@v1', 'c:c@v1']);
      // Left: a's two changes, in order, the first failed and the second never handed over.
      const left = await t.sql<{ title: string; state: string | null; attempts: number }>(
        `select t.title, s.state, s.attempts from ${ALL_SYNCHRONIZATIONS_SQL} s
           join integration_task t on t.id = s.task_id order by t.id`,
      );
      expect(left.map((r) => [nameIn(r.title), r.state, r.attempts])).toEqual([
        ['a', 'failed', 1],
        ['a', null, 0],
      ]);
    });
  });

  it('R-EXT-1 a throw answers every task of the call (onThrow), a wrong number of outcomes is an Error for each', async () => {
    const c = batchConnector('Throws', { maxBatchSize: 10, onThrow: R.ErrorAndSkip });
    c.control.answer = () => {
      throw new Error('bulk endpoint down');
    };
    await withBusApp({ providers: [c.provider], bus: MANUAL }, async (t) => {
      await createUsers(t, 'a', 'b');
      const counts = await t.bus.processOutgoingTasks('Throws');
      expect(counts[R.ErrorAndSkip]).toBe(2);
      const messages = await t.sql<{ error_message: string }>(
        `select error_message from integration_synchronization order by id`,
      );
      expect(messages.map((m) => m.error_message)).toEqual(['bulk endpoint down', 'bulk endpoint down']);

      // By hand, a task goes alone: two outcomes for it are an Error naming the method.
      const [first] = await t.sql<{ id: number }>(
        `select min(task_id)::int as id from integration_synchronization`,
      );
      c.control.answer = () => [R.OK, R.OK];
      expect((await t.bus.synchronizeTask(first!.id, 'Throws'))[R.Error]).toBe(1);
      const [wrong] = await t.sql<{ error_message: string }>(
        `select error_message from integration_synchronization where task_id = $1`,
        [first!.id],
      );
      expect(wrong?.error_message).toBe(
        'UserBatchConnector.users answered 2 outcomes for 1 tasks; expected one per task, in order.',
      );
    });
  });

  it('R-EXT-1 maxBatchWaitMs waits for more tasks when the queue holds fewer than a batch', async () => {
    const c = batchConnector('Waits', { maxBatchSize: 10, maxBatchWaitMs: 400 });
    await withBusApp({ providers: [c.provider], bus: MANUAL }, async (t) => {
      await createUsers(t, 'a');
      const run = t.bus.processOutgoingTasks('Waits');
      await new Promise((r) => setTimeout(r, 100));
      await createUsers(t, 'b');
      await run;
      expect(c.calls).toEqual([['a:a@v1', 'b:b@v1']]);
    });
  });

  it('R-EXT-1 drainQueue groups the deliveries by call, each with its outcome', async () => {
    const c = batchConnector('Kit', { maxBatchSize: 3 });
    c.control.answer = (tasks) => tasks.map((t) => (t.object.userName === 'b' ? R.SkipNow : R.OK));
    await withBusApp({ providers: [c.provider], bus: MANUAL }, async (t) => {
      await createUsers(t, 'a', 'b', 'c', 'd');
      const drained = await drainQueue(t.app, { connectorName: 'Kit' });
      expect(drained.calls.map((call) => call.map((d) => [nameIn(d.task.title), d.result, d.batch]))).toEqual(
        [
          [
            ['a', R.OK, { index: 0, size: 3 }],
            ['b', R.SkipNow, { index: 1, size: 3 }],
            ['c', R.OK, { index: 2, size: 3 }],
          ],
          [['d', R.OK, { index: 0, size: 1 }]],
        ],
      );
    });
  });

  it('R-EXT-1 the Overview counts the tasks a batch call delivered, not the calls', async () => {
    const c = batchConnector('Counted', { maxBatchSize: 10 });
    await withBusApp({ providers: [c.provider], bus: MANUAL }, async (t) => {
      const recorder = t.app.get(ThroughputRecorder);
      recorder.read('Counted', 'outgoing', 2); // recording starts at the first read
      await createUsers(t, 'a', 'b', 'c', 'd');
      await t.bus.processOutgoingTasks('Counted');
      expect(c.calls).toHaveLength(1);
      const { perMinute } = recorder.read('Counted', 'outgoing', 2);
      expect(perMinute[0]! + perMinute[1]!).toBe(4);
    });
  });

  it('R-EXT-1 class-level subscriptions reach processInternalTasksAsync; without it every task is an Error', async () => {
    const seen: string[][] = [];
    @Connector('ClassBatch', { maxBatchSize: 5 })
    @Subscribe({ entity: Role })
    class ClassBatch extends BaseIntegrationConnector {
      override processInternalTasksAsync(tasks: readonly OutgoingTask[]) {
        seen.push(tasks.map((t) => nameIn(t.title)));
        return R.OK;
      }
    }
    @Connector('NoBatchHandler', { maxBatchSize: 5 })
    @Subscribe({ entity: Role })
    class NoBatchHandler extends BaseIntegrationConnector {}
    await withBusApp({ providers: [ClassBatch, NoBatchHandler], bus: MANUAL }, async (t) => {
      const em = t.em();
      em.create(Role, { name: 'editor' });
      em.create(Role, { name: 'admin' });
      await em.flush();
      expect((await t.bus.processOutgoingTasks('ClassBatch'))[R.OK]).toBe(2);
      expect(seen).toEqual([['editor', 'admin']]);
      expect((await t.bus.processOutgoingTasks('NoBatchHandler'))[R.Error]).toBe(1);
      const [row] = await t.sql<{ error_message: string }>(
        `select error_message from integration_synchronization s join integration_connector c on c.id = s.connector_id
          where c.code_name = 'NoBatchHandler' limit 1`,
      );
      expect(row?.error_message).toMatch(/does not override processInternalTasksAsync/);
    });
  });

  describe('with the next batch read while the last call of a batch is in flight', () => {
    // Reads of 6 rows, calls of 2: the third call of a read goes out with the outcomes before it being
    // written and the next 4 rows read beside it; its own outcomes are written with the next read's.
    const PIPELINED = { bus: { ...MANUAL, batchSize: 6 } };
    const names = 'abcdefghij'.split('');

    it('R-DEL-2 each task is delivered once, in order, and at most one read of tasks is ever delivered and unwritten', async () => {
      const c = slowBatchConnector('Pipelined', {});
      await withBusApp({ providers: [c.provider], ...PIPELINED }, async (t) => {
        await createUsers(t, ...names, 'k', 'l', 'm', 'n', 'o');
        let mostUnwritten = 0;
        c.control.onCall = async (handed) => {
          const [queued] = await t.sql<{ n: number }>(
            `select count(*)::int as n from ${ALL_SYNCHRONIZATIONS_SQL} s`,
          );
          mostUnwritten = Math.max(mostUnwritten, handed - (15 - queued!.n));
        };
        const counts = await t.bus.processOutgoingTasks('Pipelined');
        expect(counts[R.OK]).toBe(15);
        expect(c.calls.flat()).toEqual([...names, 'k', 'l', 'm', 'n', 'o']);
        expect(mostUnwritten).toBeLessThanOrEqual(6);
        expect(await states(t)).toEqual({});
      });
    });

    it('R-EXT-1 an Error in a call whose outcomes were carried to the next read holds the rest behind it', async () => {
      const c = slowBatchConnector('PipelinedError', { retry: { initialDelayMs: 0 } });
      c.control.answer = (name) => (name === 'g' ? R.Error : R.OK);
      await withBusApp({ providers: [c.provider], ...PIPELINED }, async (t) => {
        await createUsers(t, ...names);
        await t.bus.processOutgoingTasks('PipelinedError');
        // e and f went out with the next read; g failed in the first call of that read; h was taken.
        expect(c.calls).toEqual([
          ['a', 'b'],
          ['c', 'd'],
          ['e', 'f'],
          ['g', 'h'],
        ]);
        expect(await states(t)).toEqual({ g: 'failed/1', i: 'waiting/0', j: 'waiting/0' });
        c.control.answer = () => R.OK;
        await t.bus.processOutgoingTasks('PipelinedError');
        expect(c.calls.slice(4).flat()).toEqual(['g', 'i', 'j']);
        expect(await states(t)).toEqual({});
      });
    });

    it('R-EXT-1 an Error in the call the next read went out beside ends the run with everything before it written', async () => {
      const c = slowBatchConnector('PipelinedLast', { retry: { initialDelayMs: 60_000 } });
      c.control.answer = (name) => (name === 'f' ? R.Error : R.OK);
      await withBusApp({ providers: [c.provider], ...PIPELINED }, async (t) => {
        await createUsers(t, ...names);
        await t.bus.processOutgoingTasks('PipelinedLast');
        expect(c.calls).toEqual([
          ['a', 'b'],
          ['c', 'd'],
          ['e', 'f'],
        ]);
        expect(await states(t)).toEqual({
          f: 'failed/1',
          g: 'waiting/0',
          h: 'waiting/0',
          i: 'waiting/0',
          j: 'waiting/0',
        });
      });
    });

    it('R-EXT-1 a task left for later in a carried call is written so, and not read again in the run', async () => {
      const c = slowBatchConnector('PipelinedSkip', { retry: { initialDelayMs: 60_000 } });
      c.control.answer = (name) => (name === 'f' ? { result: R.ErrorAndSkip, errorMessage: 'later' } : R.OK);
      await withBusApp({ providers: [c.provider], ...PIPELINED }, async (t) => {
        await createUsers(t, ...names);
        await t.bus.processOutgoingTasks('PipelinedSkip');
        expect(c.calls.flat()).toEqual(names);
        expect(await states(t)).toEqual({ f: 'retrying/1' });
      });
    });
  });

  it('R-EXT-1 an object that cannot be rebuilt, built ahead of its call, fails that call as if read there', async () => {
    const seen: string[][] = [];
    @Connector('BuiltAhead', { maxBatchSize: 2 })
    @Subscribe({ entity: User })
    class BuiltAhead extends BaseIntegrationConnector {
      override async processInternalTasksAsync(tasks: readonly OutgoingTask[]): Promise<BatchOutcome> {
        seen.push(tasks.map((t) => (t.object as User).userName));
        await new Promise((r) => setTimeout(r, 20));
        return R.OK;
      }
    }
    await withBusApp({ providers: [BuiltAhead], bus: MANUAL }, async (t) => {
      await createUsers(t, 'a', 'b', 'c', 'd');
      // Objects read in the first call: the third call's are built while the second is in flight.
      await t.sql(
        `with t as (insert into integration_task (guid, title, task_type, object_type, data_type, process_type, data)
                    values (gen_random_uuid(), 'Broken', 'CREATEOBJ', 'cms.user', 'SIMPLE', 'ASYNCSIMPLE',
                            '{"entity": "NoSuchEntity", "fields": {}, "translations": [], "children": {}}')
                    returning id)
         insert into integration_synchronization (task_id, connector_id)
         select t.id, c.id from t, integration_connector c where c.code_name = 'BuiltAhead'`,
      );
      const counts = await t.bus.processOutgoingTasks('BuiltAhead');
      expect(seen).toEqual([
        ['a', 'b'],
        ['c', 'd'],
      ]);
      expect(counts).toMatchObject({ OK: 4, ERROR: 1 });
      const [row] = await t.sql<{ error_message: string }>(
        `select error_message from ${ALL_SYNCHRONIZATIONS_SQL} s`,
      );
      expect(row!.error_message).toMatch(/Cannot rebuild the task's object: .*NoSuchEntity/);
    });
  });

  it('R-EXT-1 rejects batch options that cannot work', () => {
    expect(declare({ maxBatchSize: 0 })).toThrow(InvalidConnectorError);
    expect(declare({ maxBatchSize: 1001 })).toThrow(/maxBatchSize must be an integer from 1 to 1000/);
    expect(declare({ maxBatchWaitMs: 50 })).toThrow(/maxBatchWaitMs applies only to a batch connector/);
    expect(declare({ maxBatchSize: 10, maxCallsInFlight: 3 })).toThrow(
      /maxCallsInFlight must be an integer from 1 to 2, got 3/,
    );
    expect(declare({ maxCallsInFlight: 2 })).toThrow(/maxCallsInFlight applies only to a batch connector/);
    expect(declare({ maxBatchSize: 10, maxCallsInFlight: 2, coalesce: 'latest' })).toThrow(
      /maxCallsInFlight above 1 does not combine with coalesce/,
    );
  });

  describe('with maxCallsInFlight: 2', () => {
    it('R-DEL-1 the calls overlap, across reads too, never over one object: each change once, in order', async () => {
      // Reads of 6 rows, calls of 2: e and f change again right after the first read, so the next
      // read's first call must wait for the call that still holds them.
      const c = overlappingConnector('Overlapping', { maxBatchSize: 2, maxCallsInFlight: 2 }, 80);
      await withBusApp({ providers: [c.provider], bus: { ...MANUAL, batchSize: 6 } }, async (t) => {
        await createUsers(t, 'a', 'b', 'c', 'd', 'e', 'f');
        await updateUser(t, 'e', 'e@v2');
        await updateUser(t, 'f', 'f@v2');
        const later = 'ghijklmnopqrstuv'.split('');
        await createUsers(t, ...later);
        const counts = await t.bus.processOutgoingTasks('Overlapping');
        expect(counts[R.OK]).toBe(24);
        const first = ['a@v1', 'b@v1', 'c@v1', 'd@v1', 'e@v1', 'f@v1', 'e@v2', 'f@v2'];
        expect(c.calls.flatMap((call) => call.tasks)).toEqual([
          ...first,
          ...later.map((name) => `${name}@v1`),
        ]);
        expect(objectsHandedTwiceAtOnce(c.calls)).toEqual([]);
        // Every call but the one held back for e and f started while the call before was in flight,
        // at the reads' seams too (the last call of a read is carried into the next): without that,
        // every few calls would wait for the one before.
        const started = c.calls.slice(1).map((call, i) => call.startedAt < c.calls[i]!.answeredAt);
        expect(started.filter((overlapped) => !overlapped).length).toBeLessThanOrEqual(2);
        expect(started[2]).toBe(false); // e@v2 and f@v2 waited for the call that held e@v1 and f@v1
        expect(await states(t)).toEqual({});
      });
    });

    it("R-EXT-1 with ordering: 'connector', an Error holds behind it the tasks of the overlapping call not answered OK", async () => {
      const c = overlappingConnector(
        'OverlappingError',
        { maxBatchSize: 2, maxCallsInFlight: 2, retry: { initialDelayMs: 0 } },
        60,
      );
      c.control.answer = (email) => {
        if (email.startsWith('a@')) return { result: R.Error, errorMessage: 'a refused' };
        if (email.startsWith('d@')) return { result: R.ErrorAndSkip, errorMessage: 'd later' };
        return R.OK;
      };
      await withBusApp({ providers: [c.provider], bus: MANUAL }, async (t) => {
        await createUsers(t, 'a', 'b', 'c', 'd', 'e', 'f');
        await t.bus.processOutgoingTasks('OverlappingError');
        // [c, d] went out while [a, b] was in flight: c was taken, d stays as if never handed over,
        // and nothing after them was handed over.
        expect(c.calls.map((call) => call.tasks)).toEqual([
          ['a@v1', 'b@v1'],
          ['c@v1', 'd@v1'],
        ]);
        expect(await states(t)).toEqual({ a: 'failed/1', d: 'waiting/0', e: 'waiting/0', f: 'waiting/0' });
        c.control.answer = () => R.OK;
        await t.bus.processOutgoingTasks('OverlappingError');
        expect(c.calls.slice(2).flatMap((call) => call.tasks)).toEqual(['a@v1', 'd@v1', 'e@v1', 'f@v1']);
        expect(await states(t)).toEqual({});
      });
    });

    it('R-EXT-2 overlapping calls still take one rateLimit slot each', async () => {
      // One call per 100 ms, each taking 250 ms: only overlapping calls can keep that pace.
      const c = overlappingConnector(
        'OverlappingPaced',
        { maxBatchSize: 2, maxCallsInFlight: 2, rateLimit: { requests: 10, perMs: 1000 } },
        250,
      );
      await withBusApp({ providers: [c.provider], bus: MANUAL }, async (t) => {
        await createUsers(t, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j');
        await t.bus.processOutgoingTasks('OverlappingPaced');
        expect(c.calls.flatMap((call) => call.tasks)).toHaveLength(10);
        const gaps = c.calls.slice(1).map((call, i) => call.startedAt - c.calls[i]!.startedAt);
        // The slots are 100 ms apart by the database's clock; the process sees each start a little
        // after its slot, so one gap may look shorter: the median shows the pace.
        expect([...gaps].sort((x, y) => x - y)[Math.floor(gaps.length / 2)]).toBeGreaterThan(75);
        expect(someCallsOverlapped(c.calls)).toBe(true);
        expect(objectsHandedTwiceAtOnce(c.calls)).toEqual([]);
      });
    });
  });
});

/** A call of `overlappingConnector`: its tasks (`email`), its users, and when it started and answered. */
interface UserCall extends TimedCall {
  tasks: string[];
}

/** A batch connector whose calls take `callMs` and are timed, answering each task with `answer`. */
function overlappingConnector(codeName: string, options: ConnectorOptions, callMs: number) {
  const calls: UserCall[] = [];
  const control = { answer: (_email: string): ProcessOutcome => R.OK };
  @Connector(codeName, options)
  class Overlapping extends BaseIntegrationConnector {
    @Subscribe({ entity: User })
    async users(tasks: readonly OutgoingTask<User>[]): Promise<BatchOutcome> {
      const call: UserCall = {
        tasks: tasks.map((t) => String(t.object.email)),
        objects: tasks.map((t) => t.object.userName),
        startedAt: performance.now(),
        answeredAt: Infinity,
      };
      calls.push(call);
      await new Promise((r) => setTimeout(r, callMs));
      call.answeredAt = performance.now();
      return call.tasks.map((email) => control.answer(email));
    }
  }
  return { provider: Overlapping, calls, control };
}
