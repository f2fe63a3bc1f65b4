import { afterEach, describe, expect, it } from 'vitest';
import {
  ClaimLostError,
  Connector,
  BaseIntegrationConnector,
  IntegrationBusModule,
  IntegrationEventLog,
  IntegrationProcessResult,
  InvalidConnectorError,
  InvalidOptionsError,
  TaskType,
  type OutgoingTask,
} from 'nestjs-integration-bus';
import { listen } from '../management/http-client.js';
import { createBusApp, withBusApp, type BusTestApp } from '../support/bus-app.js';
import { createTestDatabase } from '../support/database.js';
import { User } from '../support/entities.js';
import { eventually, recordingConnector, type CallLog } from '../support/recording-connector.js';
import { inject } from 'vitest';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';

const R = IntegrationProcessResult;
const log: CallLog = [];
afterEach(() => {
  log.length = 0;
});

const MANUAL = { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } };

async function createUsers(t: BusTestApp, ...names: string[]): Promise<void> {
  const em = t.em();
  for (const userName of names) em.create(User, { userName, email: `${userName}@example.com` });
  await em.flush();
}

/** The user names and emails a connector received, in order. */
function received(connector: string): string[] {
  return log
    .filter((c) => c.connector === connector)
    .map((c) => `${(c.task.object as User).userName}:${(c.task.object as User).email}`);
}

function nameOf(task: OutgoingTask): string {
  return (task.object as User).userName;
}

describe('per-object order (R-DEL-1)', () => {
  it('a change whose transaction stays open after its flush is delivered before the object’s next change', async () => {
    const c = recordingConnector('Ordered', [{ objectType: 'cms.user' }], log);
    await withBusApp({ providers: [c.provider], bus: { ...MANUAL, batchSize: 1 } }, async (t) => {
      await createUsers(t, 'x');
      await t.bus.processOutgoingTasks('Ordered');
      log.length = 0;

      // T1 changes x and flushes (its task id is taken now), then stays open.
      let commitT1!: () => void;
      const t1Open = new Promise<void>((resolve) => (commitT1 = resolve));
      let t1Flushed!: () => void;
      const flushed = new Promise<void>((resolve) => (t1Flushed = resolve));
      const t1 = t.orm.em.fork().transactional(async (em) => {
        const x = await em.findOneOrFail(User, { userName: 'x' });
        x.email = 'v1';
        await em.flush();
        t1Flushed();
        await t1Open;
      });
      await flushed;
      await createUsers(t, 'other1', 'other2');

      // While the run processes other1, T1 commits and x changes again (a higher task id).
      c.control.respond = async (task) => {
        if (nameOf(task) === 'other1') {
          commitT1();
          await t1;
          const em = t.em();
          const x = await em.findOneOrFail(User, { userName: 'x' });
          x.email = 'v2';
          await em.flush();
        }
        return R.OK;
      };
      await t.bus.processOutgoingTasks('Ordered');
      const forX = received('Ordered').filter((r) => r.startsWith('x:'));
      expect(forX).toEqual(['x:v1', 'x:v2']);
      expect(await t.sql(`select count(*)::int as n from ${ALL_SYNCHRONIZATIONS_SQL} s`)).toEqual([{ n: 0 }]);
    });
  });
});

describe('per-object order of tasks no row change produces (R-DEL-1)', () => {
  it('a second transaction logging for the same object waits for the first to end', async () => {
    const c = recordingConnector('Explicit', [{ objectType: 'cms.user' }], log);
    await withBusApp({ providers: [c.provider], bus: MANUAL }, async (t) => {
      await createUsers(t, 'e1');
      const user = await t.em().findOneOrFail(User, { userName: 'e1' });
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let firstLogged!: () => void;
      const logged = new Promise<void>((resolve) => (firstLogged = resolve));
      const first = t.orm.em.fork().transactional(async (em) => {
        await t.bus.logInternalTask(user, TaskType.AddToSite, { em, siteName: 'first' });
        firstLogged();
        await held;
      });
      await logged;
      let secondDone = false;
      const second = t.bus
        .logInternalTask(user, TaskType.AddToSite, { siteName: 'second' })
        .then(() => (secondDone = true));
      await new Promise((r) => setTimeout(r, 300));
      expect(secondDone).toBe(false);
      release();
      await first;
      await second;
      const tasks = await t.sql<{ site_name: string }>(
        `select site_name from integration_task where task_type = 'ADDTOSITE' order by id`,
      );
      expect(tasks.map((row) => row.site_name)).toEqual(['first', 'second']);
    });
  });
});

describe('retry policy (R-DEL-5) and parking (R-DEL-6)', () => {
  it('backs off exponentially: the next attempt is scheduled, and taken by itself when due', async () => {
    const c = recordingConnector('Backoff', [{ objectType: 'cms.user' }], log, {
      retry: { initialDelayMs: 400, multiplier: 2, jitter: false },
    });
    const times: number[] = [];
    c.control.respond = () => {
      times.push(performance.now());
      return times.length < 3 ? { result: R.Error, errorMessage: 'down' } : R.OK;
    };
    await withBusApp(
      { providers: [c.provider], bus: { outgoing: { processAfterCommit: true, sweepIntervalMs: 0 } } },
      async (t) => {
        await createUsers(t, 'b1');
        await eventually(() => expect(times).toHaveLength(3), 5000);
        const gaps = [times[1]! - times[0]!, times[2]! - times[1]!];
        console.log(
          `[delivery] retries after ${gaps.map((g) => g.toFixed(0)).join(' ms, ')} ms (400, 800 scheduled)`,
        );
        expect(gaps[0]).toBeGreaterThanOrEqual(390);
        expect(gaps[0]).toBeLessThan(1000);
        expect(gaps[1]).toBeGreaterThanOrEqual(790);
        expect(gaps[1]).toBeLessThan(1500);
        await eventually(async () =>
          expect(await t.sql(`select count(*)::int as n from ${ALL_SYNCHRONIZATIONS_SQL} s`)).toEqual([
            { n: 0 },
          ]),
        );
      },
    );
  });

  it('jitter spreads each wait over the upper half of its delay', async () => {
    const c = recordingConnector('Jitter', [{ objectType: 'cms.user' }], log, {
      retry: { initialDelayMs: 10_000, maxDelayMs: 10_000 },
    });
    c.control.respond = () => ({ result: R.ErrorAndSkip, errorMessage: 'no' });
    await withBusApp({ providers: [c.provider], bus: MANUAL }, async (t) => {
      await createUsers(t, 'j1', 'j2', 'j3', 'j4', 'j5', 'j6');
      await t.bus.processOutgoingTasks('Jitter');
      const waits = await t.sql<{ ms: number; state: string }>(
        `select extract(epoch from next_attempt_at - last_run) * 1000 as ms, state from ${ALL_SYNCHRONIZATIONS_SQL} s`,
      );
      expect(waits).toHaveLength(6);
      for (const w of waits) {
        expect(w.state).toBe('retrying');
        expect(Number(w.ms)).toBeGreaterThanOrEqual(4_990);
        expect(Number(w.ms)).toBeLessThanOrEqual(10_010);
      }
      expect(new Set(waits.map((w) => Math.round(Number(w.ms)))).size).toBeGreaterThan(1);
    });
  });

  it('parks a poison task after maxAttempts failures, goes on with the rest, and requeues it', async () => {
    const c = recordingConnector('Parking', [{ objectType: 'cms.user' }], log, {
      retry: { initialDelayMs: 0, maxAttempts: 3 },
    });
    let poisonFixed = false;
    c.control.respond = (task) =>
      nameOf(task) === 'poison' && !poisonFixed ? { result: R.Error, errorMessage: 'bad data' } : R.OK;
    await withBusApp(
      { providers: [c.provider], bus: { ...MANUAL, http: { adminToken: 'admin-token' } } },
      async (t) => {
        const client = await listen(t.app, 'admin-token');
        await createUsers(t, 'poison', 'after1', 'after2');
        for (let run = 0; run < 3; run++) await t.bus.processOutgoingTasks('Parking');
        expect(received('Parking')).toEqual([
          'poison:poison@example.com',
          'poison:poison@example.com',
          'poison:poison@example.com',
          'after1:after1@example.com',
          'after2:after2@example.com',
        ]);
        const parked = await client.request('GET', '/integration/tasks?status=parked');
        expect(parked.body.items).toEqual([
          expect.objectContaining({
            title: expect.stringContaining('poison'),
            status: 'parked',
            attempts: 3,
            nextAttemptAt: null,
          }),
        ]);
        const events = await t.app.get(IntegrationEventLog).list();
        expect(events).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ eventCode: 'TASKPARKED', connectorName: 'Parking', level: 'warning' }),
          ]),
        );
        const metrics = await client.request('GET', '/integration/metrics');
        expect(metrics.text).toContain(
          'integration_bus_tasks{connector="Parking",direction="outgoing",status="parked"} 1',
        );
        expect(metrics.text).toContain(
          'integration_bus_tasks{connector="Parking",direction="outgoing",status="waiting"} 0',
        );
        // Parked: never retried automatically.
        log.length = 0;
        await t.bus.processOutgoingTasks('Parking');
        expect(log).toEqual([]);

        poisonFixed = true;
        const requeued = await client.request('POST', '/integration/tasks/requeue', {
          body: { direction: 'outgoing', all: true, status: 'parked' },
        });
        expect(requeued.body).toEqual({ requeued: 1 });
        const detail = await client.request('GET', `/integration/tasks/${parked.body.items[0].taskId}`);
        expect(detail.body.synchronizations[0]).toMatchObject({ status: 'waiting', attempts: 3 });
        expect(detail.body.synchronizations[0].log).toHaveLength(3);
        await t.bus.processOutgoingTasks('Parking');
        expect(received('Parking')).toEqual(['poison:poison@example.com']);
        expect(await t.sql(`select count(*)::int as n from ${ALL_SYNCHRONIZATIONS_SQL} s`)).toEqual([
          { n: 0 },
        ]);
      },
    );
  });

  it('R-EXT-4 SkipNow is retried on the backoff for ever by default, never parked, not a failure', async () => {
    const c = recordingConnector('SkipForever', [{ objectType: 'cms.user' }], log, {
      retry: { initialDelayMs: 0, maxAttempts: 2 },
    });
    c.control.respond = () => ({ result: R.SkipNow, errorMessage: 'refused' });
    await withBusApp({ providers: [c.provider], bus: MANUAL }, async (t) => {
      await createUsers(t, 'refused');
      for (let run = 0; run < 5; run++) await t.bus.processOutgoingTasks('SkipForever');
      expect(received('SkipForever')).toHaveLength(5);
      expect(await t.sql(`select state, attempts, failures, skips from integration_synchronization`)).toEqual(
        [{ state: 'skipped', attempts: 5, failures: 0, skips: 5 }],
      );
    });
  });

  it('R-EXT-4 retry.skipNow: a fixed wait after each SkipNow, parked after skipNow.maxAttempts, counted afresh after a requeue', async () => {
    const c = recordingConnector('SkipBound', [{ objectType: 'cms.user' }], log, {
      retry: { initialDelayMs: 0, skipNow: { delayMs: 0, maxAttempts: 3 } },
    });
    c.control.respond = (task) =>
      nameOf(task) === 'refused' ? { result: R.SkipNow, errorMessage: 'the service refused it' } : R.OK;
    await withBusApp(
      { providers: [c.provider], bus: { ...MANUAL, http: { adminToken: 'admin-token' } } },
      async (t) => {
        const client = await listen(t.app, 'admin-token');
        await client.request('GET', '/integration/metrics'); // counters count from the first scrape
        await createUsers(t, 'refused', 'accepted');
        for (let run = 0; run < 4; run++) await t.bus.processOutgoingTasks('SkipBound');
        // Three SkipNow answers, then parked: the fourth run does not offer it again.
        expect(received('SkipBound')).toEqual([
          'refused:refused@example.com',
          'accepted:accepted@example.com',
          'refused:refused@example.com',
          'refused:refused@example.com',
        ]);
        const parked = await client.request('GET', '/integration/tasks?status=parked');
        expect(parked.body.items).toEqual([expect.objectContaining({ status: 'parked', attempts: 3 })]);
        const events = await t.app.get(IntegrationEventLog).list();
        expect(events).toEqual(
          expect.arrayContaining([
            expect.objectContaining({
              eventCode: 'TASKPARKED',
              message: expect.stringMatching(/after 3 SkipNow answers: the service refused it$/),
            }),
          ]),
        );
        const metrics = await client.request('GET', '/integration/metrics');
        expect(metrics.text).toContain(
          'integration_bus_tasks_parked_total{connector="SkipBound",direction="outgoing"} 1',
        );

        // A requeue counts the skips afresh: one more SkipNow leaves it skipped, not parked.
        await client.request('POST', '/integration/tasks/requeue', {
          body: { direction: 'outgoing', all: true, status: 'parked' },
        });
        await t.bus.processOutgoingTasks('SkipBound');
        expect(await t.sql(`select state, skips from integration_synchronization`)).toEqual([
          { state: 'skipped', skips: 1 },
        ]);
      },
    );
  });

  it('R-EXT-4 retry.skipNow.delayMs replaces the backoff for SkipNow only', async () => {
    const c = recordingConnector('SkipDelay', [{ objectType: 'cms.user' }], log, {
      retry: { initialDelayMs: 100, jitter: false, skipNow: { delayMs: 60_000 } },
    });
    c.control.respond = (task) =>
      nameOf(task) === 'skip' ? R.SkipNow : { result: R.ErrorAndSkip, errorMessage: 'down' };
    await withBusApp({ providers: [c.provider], bus: MANUAL }, async (t) => {
      await createUsers(t, 'skip', 'fail');
      await t.bus.processOutgoingTasks('SkipDelay');
      const waits = await t.sql<{ state: string; ms: number }>(
        `select state, round(extract(epoch from next_attempt_at - last_run) * 1000)::int as ms
           from integration_synchronization order by task_id`,
      );
      expect(waits).toEqual([
        { state: 'skipped', ms: 60_000 },
        { state: 'retrying', ms: 100 },
      ]);
    });
  });

  it('a failed head holds the tasks behind it, which the API shows as waiting behind it', async () => {
    const c = recordingConnector('Head', [{ objectType: 'cms.user' }], log, {
      retry: { initialDelayMs: 60_000 },
    });
    c.control.respond = (task) => (nameOf(task) === 'h1' ? { result: R.Error, errorMessage: 'nope' } : R.OK);
    await withBusApp(
      { providers: [c.provider], bus: { ...MANUAL, http: { adminToken: 'admin-token' } } },
      async (t) => {
        const client = await listen(t.app, 'admin-token');
        await createUsers(t, 'h1', 'h2');
        await t.bus.processOutgoingTasks('Head');
        await t.bus.processOutgoingTasks('Head');
        expect(received('Head')).toEqual(['h1:h1@example.com']);
        const list = await client.request('GET', '/integration/tasks?connectorName=Head');
        const [head, behind] = list.body.items;
        expect(head).toMatchObject({ status: 'failed', errorMessage: 'nope', blockedBy: null });
        expect(new Date(head.nextAttemptAt).getTime()).toBeGreaterThan(Date.now() + 20_000);
        expect(behind).toMatchObject({ status: 'waiting', blockedBy: head.taskId });
        // Deleting the head lets the rest go at once.
        await t.bus.deleteTask(head.taskId, 'Head');
        await t.bus.processOutgoingTasks('Head');
        expect(received('Head')).toEqual(['h1:h1@example.com', 'h2:h2@example.com']);
      },
    );
  });
});

describe('synchronizing by hand ignores the backoff (R-DEL-5)', () => {
  it('a whole list: what waits for its retry is processed now', async () => {
    const c = recordingConnector('ByHand', [{ objectType: 'cms.user' }], log, {
      retry: { initialDelayMs: 60_000 },
    });
    let down = true;
    c.control.respond = () => (down ? { result: R.Error, errorMessage: 'down' } : R.OK);
    await withBusApp(
      { providers: [c.provider], bus: { ...MANUAL, http: { adminToken: 'admin-token' } } },
      async (t) => {
        const client = await listen(t.app, 'admin-token');
        await createUsers(t, 'm1', 'm2');
        await t.bus.processOutgoingTasks('ByHand');
        down = false;
        await t.bus.processOutgoingTasks('ByHand');
        expect(received('ByHand')).toEqual(['m1:m1@example.com']);
        const res = await client.request('POST', '/integration/tasks/synchronize', {
          body: { direction: 'outgoing', connectorName: 'ByHand', all: true },
        });
        expect(res.body.results).toMatchObject({ OK: 2, ERROR: 0 });
        expect(received('ByHand')).toEqual(['m1:m1@example.com', 'm1:m1@example.com', 'm2:m2@example.com']);
      },
    );
  });
});

describe('timeouts and shutdown (R-DEL-4)', () => {
  it('a call that never answers times out as Error; what the batch finished before it is recorded', async () => {
    const c = recordingConnector('Hanging', [{ objectType: 'cms.user' }], log, { callTimeoutMs: 200 });
    let signal: AbortSignal | undefined;
    c.control.respond = async (task) => {
      if (nameOf(task) !== 'hang') return R.OK;
      signal = task.signal;
      return new Promise<never>(() => {});
    };
    await withBusApp({ providers: [c.provider], bus: MANUAL }, async (t) => {
      await createUsers(t, 'first', 'hang', 'last');
      const started = performance.now();
      expect(await t.bus.processOutgoingTasks('Hanging')).toMatchObject({ OK: 1, ERROR: 1 });
      expect(performance.now() - started).toBeLessThan(2000);
      expect(signal?.aborted).toBe(true);
      const rows = await t.sql(
        `select t.title, s.state, s.error_message from ${ALL_SYNCHRONIZATIONS_SQL} s
           join integration_task t on t.id = s.task_id order by t.id`,
      );
      expect(rows).toEqual([
        { title: expect.stringContaining('hang'), state: 'failed', error_message: 'timed out after 200 ms' },
        { title: expect.stringContaining('last'), state: null, error_message: null },
      ]);
    });
  });

  it('shutdown waits at most shutdownTimeoutMs for a hanging call, then hands the lease back', async () => {
    const c = recordingConnector('Stuck', [{ objectType: 'cms.user' }], log, { callTimeoutMs: 60_000 });
    c.control.respond = () => new Promise<never>(() => {});
    const db = await createTestDatabase(inject('serverUrl'));
    try {
      const t = await createBusApp({
        databaseUrl: db.url,
        providers: [c.provider],
        bus: { ...MANUAL, shutdownTimeoutMs: 300 },
      });
      await createUsers(t, 'stuck');
      void t.bus.processOutgoingTasks('Stuck');
      await eventually(() => expect(log).toHaveLength(1));
      const sql = await createBusApp({ databaseUrl: db.url, bus: MANUAL, migrate: false });
      const started = performance.now();
      await t.close();
      const took = performance.now() - started;
      console.log(
        `[delivery] shutdown with a hanging call took ${took.toFixed(0)} ms (shutdownTimeoutMs 300)`,
      );
      expect(took).toBeLessThan(600);
      expect(
        await sql.sql(`select lease_owner from integration_connector where code_name = 'Stuck'`),
      ).toEqual([{ lease_owner: null }]);
      expect(await sql.sql(`select attempts, state from ${ALL_SYNCHRONIZATIONS_SQL} s`)).toEqual([
        { attempts: 0, state: null },
      ]);
      await sql.close();
    } finally {
      await db.drop();
    }
  });
});

describe('fencing (R-DEL-2)', () => {
  it('a run whose lease another instance claimed stops before its next call and writes nothing', async () => {
    const c = recordingConnector('Fenced', [{ objectType: 'cms.user' }], log);
    await withBusApp({ providers: [c.provider], bus: { ...MANUAL, batchSize: 10 } }, async (t) => {
      await createUsers(t, 'f1', 'f2', 'f3');
      c.control.respond = async (task) => {
        if (nameOf(task) === 'f2') {
          // Another instance takes the connector over (as after this one's lease ran out).
          await t.sql(
            `update integration_connector set lease_owner = 'successor', lease_epoch = lease_epoch + 1,
                    lease_until = now() + interval '1 minute' where code_name = 'Fenced'`,
          );
        }
        return R.OK;
      };
      await t.bus.processOutgoingTasks('Fenced');
      // The renewal or the write found the new epoch: f1 and f2 stay queued for the successor.
      expect(log.map((call) => nameOf(call.task)).slice(0, 2)).toEqual(['f1', 'f2']);
      expect(await t.sql(`select count(*)::int as n from ${ALL_SYNCHRONIZATIONS_SQL} s`)).toEqual([{ n: 3 }]);
      expect(await t.sql(`select lease_owner from integration_connector where code_name = 'Fenced'`)).toEqual(
        [{ lease_owner: 'successor' }],
      );
    });
  });

  it('a process paused past its lease stops calling connectors when it wakes', async () => {
    const c = recordingConnector('Paused', [{ objectType: 'cms.user' }], log);
    c.control.respond = (task) => {
      if (nameOf(task) === 'p1') {
        // The event loop is blocked, as in a long GC pause or SIGSTOP: no renewal can run.
        const until = performance.now() + 1100;
        while (performance.now() < until);
      }
      return R.OK;
    };
    await withBusApp({ providers: [c.provider], bus: { ...MANUAL, leaseMs: 1000 } }, async (t) => {
      await createUsers(t, 'p1', 'p2');
      await t.bus.processOutgoingTasks('Paused');
      expect(log.map((call) => nameOf(call.task))).toEqual(['p1']);
      // Nobody took over meanwhile, so the fenced write of p1 went through; p2 waits for the next run.
      await t.bus.processOutgoingTasks('Paused');
      expect(log.map((call) => nameOf(call.task))).toEqual(['p1', 'p2']);
    });
  });

  it('exports ClaimLostError for hosts that watch runs', () => {
    expect(new ClaimLostError('X', 'why').message).toContain('X');
  });
});

describe('recovery without the sweep (R-DEL-3)', () => {
  it('takes a dead instance’s connector over when its lease runs out', async () => {
    const c = recordingConnector('Takeover', [{ objectType: 'cms.user' }], log);
    await withBusApp(
      { providers: [c.provider], bus: { outgoing: { processAfterCommit: true, sweepIntervalMs: 0 } } },
      async (t) => {
        await t.sql(
          `update integration_connector set lease_owner = 'dead-instance', lease_until = now() + interval '1500 ms'
            where code_name = 'Takeover'`,
        );
        const started = performance.now();
        await createUsers(t, 't1');
        await eventually(() => expect(received('Takeover')).toEqual(['t1:t1@example.com']), 5000);
        const took = performance.now() - started;
        console.log(`[delivery] took a dead lease over after ${took.toFixed(0)} ms (lease had 1500 ms left)`);
        expect(took).toBeGreaterThan(1300);
        expect(took).toBeLessThan(3000);
      },
    );
  });

  it('processing switched on, or a blocking task deleted, on one instance resumes another at once', async () => {
    const c = recordingConnector('Resume', [{ objectType: 'cms.user' }], log, {
      retry: { initialDelayMs: 100_000 },
    });
    c.control.respond = (task) => (nameOf(task) === 'block' ? { result: R.Error, errorMessage: 'no' } : R.OK);
    const db = await createTestDatabase(inject('serverUrl'));
    const worker = await createBusApp({
      databaseUrl: db.url,
      providers: [c.provider],
      bus: { outgoing: { processAfterCommit: true, sweepIntervalMs: 0 } },
    });
    // The other instance only manages: it never processes by itself.
    const admin = await createBusApp({
      databaseUrl: db.url,
      providers: [c.provider],
      bus: MANUAL,
      migrate: false,
    });
    try {
      await admin.bus.updateSettings({ processOutgoing: false });
      await createUsers(admin, 'block', 'next');
      await new Promise((r) => setTimeout(r, 300));
      expect(log).toEqual([]);
      let started = performance.now();
      await admin.bus.updateSettings({ processOutgoing: true });
      await eventually(() => expect(received('Resume')).toEqual(['block:block@example.com']), 3000);
      console.log(
        `[delivery] resumed ${(performance.now() - started).toFixed(0)} ms after processing was switched on elsewhere`,
      );
      expect(performance.now() - started).toBeLessThan(1000);

      const [{ id }] = await admin.sql<{ id: string }>(
        `select id from integration_task where title like '%block%'`,
      );
      started = performance.now();
      await admin.bus.deleteTask(Number(id));
      await eventually(() => expect(received('Resume')).toContain('next:next@example.com'), 3000);
      console.log(
        `[delivery] resumed ${(performance.now() - started).toFixed(0)} ms after the blocking task was deleted elsewhere`,
      );
      expect(performance.now() - started).toBeLessThan(1000);
    } finally {
      await admin.close();
      await worker.close();
      await db.drop();
    }
  });
});

/** Declares a connector class with `options`, when called. */
const declare = (options: Parameters<typeof Connector>[1]) => () => {
  @Connector('Invalid', options)
  class InvalidConnector extends BaseIntegrationConnector {}
  return InvalidConnector;
};

describe('option validation', () => {
  it('rejects connector options that cannot work, naming the connector and the option', () => {
    expect(declare({ callTimeoutMs: -1 })).toThrow(InvalidConnectorError);
    expect(declare({ callTimeoutMs: -1 })).toThrow(/@Connector\('Invalid'\): callTimeoutMs/);
    expect(declare({ retry: { maxAttempts: 0 } })).toThrow(
      /retry\.maxAttempts must be an integer ≥ 1, got 0/,
    );
    expect(declare({ retry: { initialDelayMs: 5000, maxDelayMs: 1000 } })).toThrow(/maxDelayMs/);
    expect(declare({ retry: { multiplier: 0.5 } })).toThrow(/multiplier/);
    expect(declare({ retry: { skipNow: { maxAttempts: 0 } } })).toThrow(
      /retry\.skipNow\.maxAttempts must be an integer ≥ 1, got 0/,
    );
    expect(declare({ retry: { skipNow: { delayMs: -1 } } })).toThrow(/retry\.skipNow\.delayMs/);
  });

  it('rejects module options that cannot work', () => {
    expect(() => IntegrationBusModule.forRoot({ shutdownTimeoutMs: -5 })).toThrow(InvalidOptionsError);
    expect(() => IntegrationBusModule.forRoot({ leaseMs: 10 })).toThrow(/leaseMs/);
    expect(() => IntegrationBusModule.forRoot({ preparedStatements: 'no' as unknown as boolean })).toThrow(
      /preparedStatements/,
    );
  });
});
