import { Client } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BusEventCodes,
  IntegrationBusModule,
  IntegrationBusRetention,
  InvalidOptionsError,
  type RetentionPass,
} from 'nestjs-integration-bus';
import { BusDatabase } from '../../libs/integration-bus/src/persistence/bus-database.js';
import { IntakeSequenceStore } from '../../libs/integration-bus/src/persistence/intake-sequence.store.js';
import { RetentionStore } from '../../libs/integration-bus/src/persistence/retention.store.js';
import { createBusApp, withBusApp, type BusTestApp } from '../support/bus-app.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';
import { createUsers as createUsersOf, emptyQueue, useManagementApp } from './management-app.js';

const DAY_MS = 86_400_000;
const log: CallLog = [];
const crm = recordingConnector('Crm', [{ objectType: 'cms.user' }], log);
const erp = recordingConnector('Erp', [{ objectType: 'cms.user' }], log);
const providers = [crm.provider, erp.provider];

// Sync log and event log: the defaults (30 days); parked tasks after 10 days, intake sequences after 20.
const { t, http } = useManagementApp({
  providers,
  bus: { retention: { parkedDays: 10, intakeSequenceDays: 20 } },
});

afterEach(async () => {
  log.length = 0;
  await emptyQueue(t);
  await t.sql(`delete from integration_sync_log`);
  await t.sql(`delete from integration_event_log`);
  await t.sql(`delete from integration_idempotency_key`);
  await t.sql(`delete from integration_intake_sequence`);
});

const createUsers = (names: string[]) => createUsersOf(t, names);
const retention = (app: BusTestApp = t) => app.app.get(IntegrationBusRetention);

async function count(app: BusTestApp, table: string, where = 'true'): Promise<number> {
  const [row] = await app.sql<{ n: number }>(`select count(*)::int as n from ${table} where ${where}`);
  return row!.n;
}

/** The synchronization of `connector` for the task of user `user` (every task is shared by Crm and Erp). */
async function syncOf(connector: string, user: string): Promise<string> {
  const [row] = await t.sql<{ id: string }>(
    `select s.id from integration_synchronization s
       join integration_connector c on c.id = s.connector_id join integration_task t on t.id = s.task_id
      where c.code_name = $1 and t.title like $2`,
    [connector, `%${user}%`],
  );
  return row!.id;
}

/** Sets a synchronization's state and last attempt, `daysAgo` days back. */
async function setState(syncId: string, state: string | null, daysAgo: number, failures = 1): Promise<void> {
  await t.sql(
    `update integration_synchronization
        set state = $2, last_run = now() - make_interval(days => $3), failures = $4, attempts = $4,
            error_message = 'it failed'
      where id = $1`,
    [syncId, state, daysAgo, failures],
  );
}

/** Adds sync-log entries to a synchronization, one per age in days, oldest first (ids rise with time). */
async function addLog(app: BusTestApp, syncId: string, daysAgo: number[]): Promise<void> {
  await app.sql(
    `insert into integration_sync_log (synchronization_id, time, error_message)
     select $1, now() - make_interval(days => d), 'failed ' || d || ' days ago'
       from unnest($2::int[]) as d order by d desc`,
    [syncId, daysAgo],
  );
}

/** Adds `n` event-log entries `daysAgo` days old. */
async function addEvents(app: BusTestApp, n: number, daysAgo: number, message = 'entry'): Promise<void> {
  await app.sql(
    `insert into integration_event_log (time, level, source, event_code, message)
     select now() - make_interval(days => $2), 'info', 'Test', 'TEST', $3 || ' ' || i
       from generate_series(1, $1) as i order by i`,
    [n, daysAgo, message],
  );
}

async function logAges(syncId: string): Promise<string[]> {
  const rows = await t.sql<{ message: string }>(
    `select error_message as message from integration_sync_log where synchronization_id = $1 order by id`,
    [syncId],
  );
  return rows.map((r) => r.message);
}

async function crmBlockedMs(): Promise<number | null> {
  const res = await http('GET', '/overview');
  const queue = res.body.queues.find(
    (q: { connectorName: string; direction: string }) =>
      q.connectorName === 'Crm' && q.direction === 'outgoing',
  );
  return queue.blockedMs;
}

function expectFinished(pass: RetentionPass): void {
  expect(pass.outcome).toBe('done');
  expect(pass.error).toBeUndefined();
}

describe('R-OPS-1 retention by age', () => {
  it('R-OPS-1 prunes sync-log entries older than syncLogDays, keeping the entry a failed task began blocking with', async () => {
    await createUsers(['ann', 'bob']);
    // ann's Crm synchronization is retrying: entries of 40, 35 and 5 days ago.
    const retrying = await syncOf('Crm', 'ann');
    await setState(retrying, 'retrying', 5);
    await addLog(t, retrying, [40, 35, 5]);
    // bob's is failed (it blocks Crm) for three attempts: 50, 45 and 1 day ago; the 60-day entry is
    // from before it was requeued.
    const failed = await syncOf('Crm', 'bob');
    await setState(failed, 'failed', 1, 3);
    await addLog(t, failed, [60, 50, 45, 1]);
    const blockedBefore = await crmBlockedMs();
    expect(blockedBefore).toBeGreaterThan(50 * DAY_MS - 60_000);

    const pass = await retention().prune();
    expectFinished(pass);
    expect(pass.removed.syncLog).toBe(4);
    expect(await logAges(retrying)).toEqual(['failed 5 days ago']);
    expect(await logAges(failed)).toEqual(['failed 50 days ago', 'failed 1 days ago']);
    // What the Overview and the health report say it has been blocked for is unchanged.
    expect(Math.abs((await crmBlockedMs())! - blockedBefore!)).toBeLessThan(60_000);

    // The next pass keeps the entry it is dated by, though fewer entries than failures are left.
    const again = await retention().prune();
    expect(again.removed.syncLog).toBe(0);
    expect(await logAges(failed)).toEqual(['failed 50 days ago', 'failed 1 days ago']);
    expect(Math.abs((await crmBlockedMs())! - blockedBefore!)).toBeLessThan(60_000);
    // The synchronizations themselves keep their last message and attempt.
    expect(await count(t, 'integration_synchronization', `error_message = 'it failed'`)).toBe(2);
  });

  it('R-OPS-1 prunes event-log entries older than eventLogDays and keeps younger ones', async () => {
    await addEvents(t, 5, 40, 'old');
    await addEvents(t, 3, 29, 'young');
    await addEvents(t, 2, 0, 'new');
    const pass = await retention().prune();
    expectFinished(pass);
    expect(pass.removed.eventLog).toBe(5);
    const left = await t.sql<{ message: string }>(`select message from integration_event_log order by id`);
    expect(left.map((r) => r.message)).toEqual(['young 1', 'young 2', 'young 3', 'new 1', 'new 2']);
  });

  it('R-OPS-1 removes idempotency keys older than idempotencyWindowMs, of every connector, and keeps live ones', async () => {
    await t.sql(
      `insert into integration_idempotency_key (connector_id, key, task, created_at)
       select c.id, c.code_name || '-' || k.age, '{}'::jsonb, now() - make_interval(days => k.age)
         from integration_connector c, (values (8), (30), (6), (0)) as k(age)`,
    );
    const pass = await retention().prune();
    expectFinished(pass);
    expect(pass.removed.idempotencyKeys).toBe(4);
    const keys = await t.sql<{ key: string }>(`select key from integration_idempotency_key order by key`);
    expect(keys.map((k) => k.key)).toEqual(['Crm-0', 'Crm-6', 'Erp-0', 'Erp-6']);
  });

  it('R-OPS-1 deletes parked synchronizations older than parkedDays, and their task once nothing else is queued', async () => {
    await createUsers(['ann', 'bob', 'cid', 'dan', 'eve']);
    // ann: parked for both connectors 20 days ago: both go, and the task.
    for (const c of ['Crm', 'Erp']) await setState(await syncOf(c, 'ann'), 'parked', 20, 5);
    await addLog(t, await syncOf('Crm', 'ann'), [25, 20]);
    // bob: parked for Crm 20 days ago, still waiting for Erp: the task stays, for Erp.
    await setState(await syncOf('Crm', 'bob'), 'parked', 20, 5);
    // cid: parked 5 days ago: kept.
    await setState(await syncOf('Crm', 'cid'), 'parked', 5, 5);
    // dan: failed 20 days ago, not parked: kept.
    await setState(await syncOf('Crm', 'dan'), 'failed', 20, 1);
    // eve: waiting since long ago: never pruned.
    await t.sql(
      `update integration_task set created_at = now() - interval '100 days' where title like '%eve%'`,
    );

    const pass = await retention().prune();
    expectFinished(pass);
    expect(pass.removed).toMatchObject({ parkedSynchronizations: 3, parkedTasks: 1 });
    const left = await t.sql<{ user: string; connector: string; state: string | null }>(
      `select substring(t.title from '(ann|bob|cid|dan|eve)') as user, c.code_name as connector, s.state
         from integration_synchronization s
         join integration_task t on t.id = s.task_id join integration_connector c on c.id = s.connector_id
        order by 1, 2`,
    );
    expect(left).toEqual([
      { user: 'bob', connector: 'Erp', state: null },
      { user: 'cid', connector: 'Crm', state: 'parked' },
      { user: 'cid', connector: 'Erp', state: null },
      { user: 'dan', connector: 'Crm', state: 'failed' },
      { user: 'dan', connector: 'Erp', state: null },
      { user: 'eve', connector: 'Crm', state: null },
      { user: 'eve', connector: 'Erp', state: null },
    ]);
    expect(await count(t, 'integration_task', `title like '%ann%'`)).toBe(0);
    expect(await count(t, 'integration_sync_log')).toBe(0);
    // Tasks never delivered: the event log says so.
    const [entry] = await t.sql<{ level: string; message: string; connector: string | null }>(
      `select level, message, connector_name as connector from integration_event_log where event_code = $1`,
      [BusEventCodes.ParkedPruned],
    );
    expect(entry).toMatchObject({ level: 'warning', connector: null });
    expect(entry!.message).toContain('3 parked synchronization(s)');
    expect(entry!.message).toContain('(Crm: 2, Erp: 1)');
    expect(entry!.message).toContain('1 task(s)');
  });

  it('R-OPS-1 forgets intake sequences not raised for intakeSequenceDays: an older message is then taken again', async () => {
    await t.sql(
      `insert into integration_intake_sequence (connector_id, sequence_key, sequence, updated_at)
       select c.id, k.key, 10, now() - make_interval(days => k.age)
         from integration_connector c, (values ('old', 25), ('young', 15)) as k(key, age)
        where c.code_name = 'Crm'`,
    );
    const pass = await retention().prune();
    expectFinished(pass);
    expect(pass.removed.intakeSequences).toBe(1);
    const keys = await t.sql<{ key: string }>(`select sequence_key as key from integration_intake_sequence`);
    expect(keys).toEqual([{ key: 'young' }]);
    const [connector] = await t.sql<{ id: number }>(
      `select id from integration_connector where code_name = 'Crm'`,
    );
    const sequences = t.app.get(IntakeSequenceStore);
    const pool = t.app.get(BusDatabase).pool;
    // Sequence 3 is older than the 10 logged for both, but only "young" still knows it.
    expect(await sequences.raise(pool, connector!.id, 'young', 3)).toBe(false);
    expect(await sequences.raise(pool, connector!.id, 'old', 3)).toBe(true);
  });
});

describe('R-OPS-1 retention defaults and count cap', () => {
  it('R-OPS-1 keeps parked tasks and intake sequences for ever by default, and caps the event log at eventLogMaxRows', async () => {
    await withBusApp(
      {
        providers,
        bus: {
          outgoing: { processAfterCommit: false, sweepIntervalMs: 0 },
          retention: { eventLogMaxRows: 100 },
        },
      },
      async (app) => {
        await createUsersOf(app, ['ann']);
        await app.sql(
          `update integration_synchronization set state = 'parked', last_run = now() - interval '400 days'`,
        );
        await app.sql(
          `insert into integration_intake_sequence (connector_id, sequence_key, sequence, updated_at)
           select id, 'ancient', 1, now() - interval '400 days' from integration_connector`,
        );
        await addEvents(app, 150, 1, 'first');
        await addEvents(app, 100, 0, 'last');
        const pass = await retention(app).prune();
        expectFinished(pass);
        expect(pass.removed).toEqual({
          syncLog: 0,
          eventLog: 150,
          idempotencyKeys: 0,
          parkedSynchronizations: 0,
          parkedTasks: 0,
          intakeSequences: 0,
        });
        const [events] = await app.sql<{ n: number; first: string }>(
          `select count(*)::int as n, min(message) as first from integration_event_log where message like 'last %'`,
        );
        expect(events).toEqual({ n: 100, first: 'last 1' });
        expect(await count(app, 'integration_event_log')).toBe(100);
        expect(await count(app, 'integration_synchronization', `state = 'parked'`)).toBe(2);
        expect(await count(app, 'integration_intake_sequence')).toBe(2);
        const status = await retention(app).status();
        expect(status.settings).toEqual({
          syncLogDays: 30,
          eventLogDays: 30,
          eventLogMaxRows: 100,
          parkedDays: null,
          intakeSequenceDays: null,
          idempotencyWindowMs: 7 * DAY_MS,
        });
      },
    );
  });
});

describe('R-OPS-1 bounded batches, one instance at a time', () => {
  it('R-OPS-1 deletes in batches of at most the given size, walking on until only young rows are left', async () => {
    await addEvents(t, 7, 40, 'old');
    await addEvents(t, 3, 1, 'young');
    await t.sql(
      `insert into integration_sync_log (synchronization_id, time, error_message)
       select 999999, now() - make_interval(days => 40 - i), 'orphan' from generate_series(1, 7) as i order by i`,
    );
    const store = t.app.get(RetentionStore);
    const eventBatches: number[] = [];
    let cursor: string | null = '0';
    while (cursor !== null) {
      const batch = await store.pruneEventLog({ days: 30, upToId: null }, cursor, 2);
      expect(batch.locked).toBe(true);
      eventBatches.push(batch.deleted);
      cursor = batch.next;
    }
    // Four windows of two old entries (the fourth holds the last old one and a young one), then done.
    expect(eventBatches).toEqual([2, 2, 2, 1]);
    expect(await count(t, 'integration_event_log')).toBe(3);
    const logBatches: number[] = [];
    cursor = '0';
    while (cursor !== null) {
      const batch = await store.pruneSyncLog(30, cursor, 3);
      logBatches.push(batch.deleted);
      cursor = batch.next;
    }
    // Entries 1..7 are 39..33 days old: all go, three at a time.
    expect(logBatches).toEqual([3, 3, 1]);

    // A pass over more than a batch (1,000 rows) takes several, and removes it all.
    await addEvents(t, 2_500, 40, 'bulk');
    const pass = await retention().prune();
    expectFinished(pass);
    expect(pass.removed.eventLog).toBe(2_500);
    expect(pass.batches).toBeGreaterThanOrEqual(3 + 4);
    expect(await count(t, 'integration_event_log')).toBe(3);
  });

  it('R-OPS-1 lets one instance at a time prune: a pass finding the lock taken removes nothing', async () => {
    await addEvents(t, 10, 40, 'old');
    const holder = new Client({ connectionString: t.databaseUrl });
    await holder.connect();
    try {
      await holder.query(`begin`);
      await holder.query(`select pg_advisory_xact_lock(hashtext('integration_bus.retention'))`);
      const pass = await retention().prune();
      expect(pass.outcome).toBe('skipped');
      expect(pass.removed.eventLog).toBe(0);
      expect(pass.batches).toBe(1);
      expect(await count(t, 'integration_event_log')).toBe(10);
      await holder.query(`commit`);
    } finally {
      await holder.end();
    }
    const after = await retention().prune();
    expectFinished(after);
    expect(after.removed.eventLog).toBe(10);
  });

  it('R-OPS-1 two instances pruning at once remove each row once, without an error', async () => {
    const second = await createBusApp({
      databaseUrl: t.databaseUrl,
      providers,
      bus: { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } },
    });
    try {
      await addEvents(t, 3_000, 40, 'old');
      await addEvents(t, 5, 0, 'new');
      await t.sql(
        `insert into integration_sync_log (synchronization_id, time, error_message)
         select i, now() - interval '40 days', 'old' from generate_series(1, 3000) as i order by i`,
      );
      const passes = await Promise.all([retention().prune(), retention(second).prune()]);
      for (const pass of passes) expect(pass.outcome).not.toBe('failed');
      expect(passes.reduce((n, p) => n + p.removed.eventLog, 0)).toBe(3_000);
      expect(passes.reduce((n, p) => n + p.removed.syncLog, 0)).toBe(3_000);
      // Whichever stopped early, another pass finds nothing left.
      const last = await retention(second).prune();
      expectFinished(last);
      expect(last.removed.eventLog + last.removed.syncLog).toBe(0);
      expect(await count(t, 'integration_event_log')).toBe(5);
      expect(await count(t, 'integration_sync_log')).toBe(0);
    } finally {
      await second.close();
    }
  });
});

describe('R-OPS-1 retention options', () => {
  it('R-OPS-1 rejects negative, fractional, zero, non-number and unknown retention options with InvalidOptionsError', () => {
    const cases: [unknown, RegExp][] = [
      [{ syncLogDays: -1 }, /retention\.syncLogDays must be a whole number from 1 to 3650, or null/],
      [{ eventLogDays: 1.5 }, /retention\.eventLogDays must be a whole number/],
      [{ parkedDays: 0 }, /retention\.parkedDays must be a whole number/],
      [{ eventLogMaxRows: '1000' }, /retention\.eventLogMaxRows must be a whole number from 1 to 1000000000/],
      [{ intakeSequenceDays: -3 }, /retention\.intakeSequenceDays/],
      [{ syncLogDay: 7 }, /retention\.syncLogDay is not an option; retention takes syncLogDays, /],
      ['30 days', /retention must be an object/],
    ];
    for (const [value, message] of cases) {
      const build = () => IntegrationBusModule.forRoot({ retention: value as { syncLogDays: number } });
      expect(build).toThrow(InvalidOptionsError);
      expect(build).toThrow(message);
    }
    expect(() =>
      IntegrationBusModule.forRoot({
        retention: { syncLogDays: null, eventLogDays: 3650, eventLogMaxRows: 1, parkedDays: 1 },
      }),
    ).not.toThrow();
  });
});

describe('R-OPS-1 retention in the API and the admin page', () => {
  it('R-OPS-1 GET /retention shows the limits in effect, the last pass and the oldest rows kept; POST /retention/prune runs a pass', async () => {
    await addEvents(t, 2, 40, 'old');
    await addEvents(t, 1, 2, 'kept');
    const before = await http('GET', '/retention');
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({
      settings: {
        syncLogDays: 30,
        eventLogDays: 30,
        eventLogMaxRows: null,
        parkedDays: 10,
        intakeSequenceDays: 20,
        idempotencyWindowMs: 7 * DAY_MS,
      },
      intervalMs: 300_000,
      oldest: { syncLog: null, parked: null, idempotencyKey: null },
    });
    expect(Date.now() - Date.parse(before.body.oldest.eventLog)).toBeGreaterThan(39 * DAY_MS);
    expect(Date.parse(before.body.nextPassAt)).toBeGreaterThan(Date.now() - 1000);

    const pruned = await http('POST', '/retention/prune');
    expect(pruned.status).toBe(200);
    expect(pruned.body).toMatchObject({ outcome: 'done', removed: { eventLog: 2, syncLog: 0 } });

    const after = await http('GET', '/retention');
    expect(after.body.lastPass).toEqual(pruned.body);
    expect(Date.now() - Date.parse(after.body.oldest.eventLog)).toBeLessThan(3 * DAY_MS);
    expect((await http('GET', '/retention', { token: null })).status).toBe(401);
  });

  it('R-OPS-1 documents the retention routes and shows a Retention card in the Settings tab', async () => {
    const docs = await http('GET', '/docs/openapi.json');
    expect(
      docs.body.paths['/integration/retention'].get.responses['200'].content['application/json'].schema,
    ).toMatchObject({ properties: { settings: { properties: { parkedDays: { nullable: true } } } } });
    expect(docs.body.paths['/integration/retention/prune'].post.responses['200']).toBeDefined();
    const page = await http('GET', '/admin', { token: null });
    expect(page.text).toContain('id="retention-facts"');
  });
});
