import { describe, expect, inject, it } from 'vitest';
import {
  BaseIntegrationConnector,
  Connector,
  IntegrationProcessResult,
  InvalidConnectorError,
  Subscribe,
  type ConnectorOptions,
  type OutgoingTask,
  type ProcessOutcome,
} from 'nestjs-integration-bus';
import {
  FlowControlStore,
  type CallSlot,
} from '../../libs/integration-bus/src/persistence/flow-control.store.js';
import { listen } from '../management/http-client.js';
import { createBusApp, withBusApp, type BusTestApp } from '../support/bus-app.js';
import { createTestDatabase } from '../support/database.js';
import { User } from '../support/entities.js';

const R = IntegrationProcessResult;
const MANUAL = { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } };

/** A connector on users recording when each call started and on which instance, answering `answer`. */
function pacedConnector(codeName: string, options: ConnectorOptions) {
  const calls: { at: number; user: string; instance: string }[] = [];
  const control = { answer: (_task: OutgoingTask<User>): ProcessOutcome => R.OK };
  @Connector(codeName, options)
  class PacedConnector extends BaseIntegrationConnector {
    @Subscribe({ entity: User })
    async user(task: OutgoingTask<User>) {
      calls.push({
        at: performance.now(),
        user: task.object.userName,
        instance: instanceOf.get(this) ?? '?',
      });
      return control.answer(task);
    }
  }
  const instanceOf = new WeakMap<object, string>();
  return { provider: PacedConnector, calls, control, instanceOf };
}

async function createUsers(t: BusTestApp, count: number, prefix = 'u'): Promise<void> {
  const em = t.em();
  for (let i = 0; i < count; i++)
    em.create(User, { userName: `${prefix}${i}`, email: `${prefix}${i}@example.com` });
  await em.flush();
}

/** `integration_bus_connector_paused_seconds` of the Pausing connector in a metrics answer. */
function pausedSeconds(metrics: { status: number; text: string }): number {
  expect(metrics.status).toBe(200);
  const line = /^integration_bus_connector_paused_seconds\{connector="Pausing"\} (\S+)$/m.exec(metrics.text);
  expect(line, 'the paused gauge of Pausing').not.toBeNull();
  return Number(line![1]);
}

/** Declares a connector class with `options`, when called. */
const declare = (options: ConnectorOptions) => () => {
  @Connector('BadPace', options)
  class BadPace extends BaseIntegrationConnector {}
  return BadPace;
};

describe('flow control (R-EXT-2)', () => {
  it('R-EXT-2 rateLimit is held across two instances sharing the database', async () => {
    const c = pacedConnector('Paced', {
      rateLimit: { requests: 4, perMs: 400 },
      ordering: 'object',
      partitions: 8,
      concurrency: 4,
    });
    const db = await createTestDatabase(inject('serverUrl'));
    const first = await createBusApp({ providers: [c.provider], bus: MANUAL, databaseUrl: db.url });
    const second = await createBusApp({ providers: [c.provider], bus: MANUAL, databaseUrl: db.url });
    try {
      for (const [name, app] of [
        ['first', first],
        ['second', second],
      ] as const) {
        c.instanceOf.set(app.app.get(c.provider), name);
      }
      await createUsers(first, 16);
      const began = performance.now();
      await Promise.all([first.bus.processOutgoingTasks('Paced'), second.bus.processOutgoingTasks('Paced')]);
      const tookMs = performance.now() - began;
      expect(new Set(c.calls.map((call) => call.user)).size).toBe(16);
      expect(new Set(c.calls.map((call) => call.instance))).toEqual(new Set(['first', 'second']));
      // Calls start at least perMs / requests = 100 ms apart by the database's clock; the process's
      // clock sees them within a few milliseconds of that.
      // 16 calls at one per 100 ms take at least 1.5 s however many instances make them (each
      // instance on its own pace would take half that). Every grant falls inside the drain, so its
      // length bounds the span of the grants from above, whatever a loaded machine delays. The
      // process's clock sees each start some time after the database granted it (two apps share one
      // event loop here), so single gaps may look shorter: their median still shows the pace.
      expect(tookMs).toBeGreaterThan(1500);
      const starts = c.calls.map((call) => call.at).sort((a, b) => a - b);
      const gaps = starts
        .slice(1)
        .map((at, i) => at - starts[i]!)
        .sort((a, b) => a - b);
      expect(gaps[Math.floor(gaps.length / 2)]).toBeGreaterThan(75);
    } finally {
      await first.close();
      await second.close();
      await db.drop();
    }
  });

  it('R-EXT-2 the database grants one call slot per interval, however many ask at once, back to back', async () => {
    await withBusApp({ providers: [], bus: MANUAL }, async (t) => {
      const flow = t.app.get(FlowControlStore);
      const [row] = await t.sql<{ id: number }>(
        `insert into integration_connector (code_name, display_name, class_name, enabled)
         values ('Slots', 'Slots', 'Slots', true) returning id`,
      );
      // Long enough that the twelve questions are all asked before the slots they get have passed.
      const INTERVAL_MS = 250;
      const slots: CallSlot[] = [];
      const asker = async () => {
        for (let i = 0; i < 3; i++) slots.push(await flow.takeCallSlot(row!.id, INTERVAL_MS));
      };
      const askedAt = Date.now();
      await Promise.all([asker(), asker(), asker(), asker()]);
      // Each question is given its own slot, an interval after the one before by the database's clock: never
      // closer, and, with slots asked for faster than they pass, never further apart either.
      const starts = slots.map((slot) => slot.startsAtMs).sort((a, b) => a - b);
      const gaps = starts.slice(1).map((at, i) => at - starts[i]!);
      expect(new Set(starts).size).toBe(12);
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(INTERVAL_MS - 0.01);
      expect(Math.max(...gaps)).toBeLessThanOrEqual(INTERVAL_MS + 0.01);
      // The first slot starts at once; the others are waited for, each as long as its slot is ahead.
      expect(starts[0]!).toBeLessThan(askedAt + 1000);
      expect(slots.filter((slot) => slot.waitMs === 0).length).toBeLessThanOrEqual(2);
      const last = slots.find((slot) => slot.startsAtMs === starts.at(-1))!;
      expect(last.waitMs).toBeGreaterThan(9 * INTERVAL_MS);
      // Asked again after they have passed, the next slot starts at once: no burst is saved up.
      await new Promise((resolve) => setTimeout(resolve, last.waitMs + INTERVAL_MS + 10));
      const later = await flow.takeCallSlot(row!.id, INTERVAL_MS);
      expect(later.waitMs).toBe(0);
      const [next] = await t.sql<{ ms: number }>(
        `select (extract(epoch from next_call_at) * 1000)::float8 as ms from integration_flow_control where connector_id = $1`,
        [row!.id],
      );
      expect(next!.ms - later.startsAtMs).toBeCloseTo(INTERVAL_MS, 1);
    });
  });

  it('R-EXT-2 retryAfterMs: the task waits that long instead of the backoff, and does not count towards parking', async () => {
    const c = pacedConnector('Quota', { retry: { maxAttempts: 1, initialDelayMs: 0 } });
    c.control.answer = () => ({
      result: R.Error,
      errorMessage: '429 Too Many Requests',
      retryAfterMs: 30_000,
    });
    await withBusApp({ providers: [c.provider], bus: MANUAL }, async (t) => {
      await createUsers(t, 1);
      await t.bus.processOutgoingTasks('Quota');
      const rows = await t.sql<{ state: string; failures: number; ms: number }>(
        `select state, failures, round(extract(epoch from next_attempt_at - last_run) * 1000)::int as ms
           from integration_synchronization`,
      );
      expect(rows).toEqual([{ state: 'failed', failures: 0, ms: 30_000 }]);
    });
  });

  it('R-EXT-2 pauseConnector pauses the whole connector, in the database, until retryAfterMs has passed', async () => {
    const c = pacedConnector('Pausing', { ordering: 'object', partitions: 1, retry: { initialDelayMs: 0 } });
    let quotaLeft = 0;
    c.control.answer = () =>
      quotaLeft-- > 0
        ? R.OK
        : { result: R.Error, errorMessage: '429', retryAfterMs: 800, pauseConnector: true };
    await withBusApp(
      { providers: [c.provider], bus: { ...MANUAL, http: { adminToken: 'admin-token' } } },
      async (t) => {
        const client = await listen(t.app, 'admin-token');
        await createUsers(t, 3);
        await t.bus.processOutgoingTasks('Pausing');
        // The first call was refused and paused the connector: nobody else was called.
        expect(c.calls.map((call) => call.user)).toEqual(['u0']);
        const listed = await client.request('GET', '/integration/connectors');
        const pausing = (listed.body as { codeName: string; pausedUntil: string | null }[]).find(
          (row) => row.codeName === 'Pausing',
        );
        expect(Date.parse(pausing!.pausedUntil!)).toBeGreaterThan(Date.now() + 300);
        expect(pausedSeconds(await client.request('GET', '/integration/metrics'))).toBeGreaterThan(0.3);

        quotaLeft = 10;
        await t.bus.processOutgoingTasks('Pausing');
        expect(c.calls).toHaveLength(1); // still paused, even for tasks that never failed

        await new Promise((r) => setTimeout(r, 900));
        await t.bus.processOutgoingTasks('Pausing');
        expect(c.calls.map((call) => call.user)).toEqual(['u0', 'u0', 'u1', 'u2']);
        const after = await client.request('GET', '/integration/connectors');
        expect(
          (after.body as { codeName: string; pausedUntil: string | null }[]).find(
            (r) => r.codeName === 'Pausing',
          )?.pausedUntil,
        ).toBeNull();
        expect(pausedSeconds(await client.request('GET', '/integration/metrics'))).toBe(0);
      },
    );
  });

  it('R-EXT-2 pauseConnector on an Error that holds a one-FIFO queue pauses the connector too, batch or not', async () => {
    for (const maxBatchSize of [1, 10]) {
      const codeName = `Held${maxBatchSize}`;
      const calls: number[] = [];
      @Connector(codeName, { maxBatchSize, retry: { initialDelayMs: 0 } })
      class QuotaConnector extends BaseIntegrationConnector {
        @Subscribe({ entity: User })
        users(tasks: OutgoingTask<User> | readonly OutgoingTask<User>[]): ProcessOutcome {
          calls.push(Array.isArray(tasks) ? tasks.length : 1);
          return { result: R.Error, errorMessage: '429', retryAfterMs: 60_000, pauseConnector: true };
        }
      }
      await withBusApp({ providers: [QuotaConnector], bus: MANUAL }, async (t) => {
        await createUsers(t, 2);
        await t.bus.processOutgoingTasks(codeName);
        const paused = await t.app.get(FlowControlStore).paused();
        expect(paused, `maxBatchSize ${maxBatchSize}`).toHaveLength(1);
        expect(paused[0]!.pausedUntilMs).toBeGreaterThan(Date.now() + 50_000);
        await t.bus.processOutgoingTasks(codeName);
        expect(calls).toEqual([maxBatchSize === 1 ? 1 : 2]); // nothing called while paused
      });
    }
  });

  it('R-EXT-2 rejects a rate limit or a retryAfterMs that cannot work', async () => {
    expect(declare({ rateLimit: { requests: 0, perMs: 1000 } })).toThrow(InvalidConnectorError);
    expect(declare({ rateLimit: { requests: 5 } as never })).toThrow(/rateLimit\.perMs must be an integer/);

    const c = pacedConnector('BadRetryAfter', {});
    c.control.answer = () => ({ result: R.Error, retryAfterMs: -5 });
    await withBusApp({ providers: [c.provider], bus: MANUAL }, async (t) => {
      await createUsers(t, 1);
      await t.bus.processOutgoingTasks('BadRetryAfter');
      const [row] = await t.sql<{ error_message: string }>(
        `select error_message from integration_synchronization`,
      );
      expect(row?.error_message).toMatch(/returned retryAfterMs -5; expected a number of milliseconds ≥ 0/);
    });
  });
});
