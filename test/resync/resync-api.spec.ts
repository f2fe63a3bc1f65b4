import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { IntegrationEvents, type IntegrationTaskEvent, type ResyncProgress } from 'nestjs-integration-bus';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';
import { useManagementApp } from '../management/management-app.js';
import { queuedTasks, seedCounters, settled } from './resync-support.js';

const log: CallLog = [];
const erp = recordingConnector('Erp', [{ objectType: 'test.counter' }], log);
const crm = recordingConnector('Crm', [{ objectType: 'cms.user' }], log);
const { t, http } = useManagementApp({ providers: [erp.provider, crm.provider] });

beforeEach(async () => {
  await t.sql(`delete from integration_event_log`);
});
afterEach(async () => {
  await t.sql(`delete from integration_task`);
  await t.sql(`delete from integration_resync`);
  await t.sql(`delete from integration_event_log`);
  await t.sql(`delete from t_counter`);
  await t.bus.updateConnector('Erp', { enabled: true });
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** Slows a resync down to a few milliseconds per row, so that it is still running when looked at. */
const slow = async (event: IntegrationTaskEvent) => {
  if (event.task.title.startsWith('Resync')) await sleep(2);
};

describe('POST /connectors/:codeName/resync (R-RES-1)', () => {
  it('R-RES-1 starts a resync: 201 with its progress, then GET shows rows done of total', async () => {
    await seedCounters(t, 30);
    const res = await http('POST', '/connectors/Erp/resync', {
      body: { objectType: 'test.counter', where: { id: { $lte: 20 } }, chunkSize: 5 },
    });
    expect(res.status).toBe(201);
    const started = res.body as ResyncProgress;
    expect(started).toMatchObject({
      connectorName: 'Erp',
      objectType: 'test.counter',
      where: { id: { $lte: 20 } },
      chunkSize: 5,
      total: 20,
    });
    await settled(t.bus, started.id);
    const list = await http('GET', '/connectors/Erp/resync');
    expect(list.status).toBe(200);
    expect((list.body as { items: ResyncProgress[] }).items).toEqual([
      expect.objectContaining({
        id: started.id,
        status: 'done',
        done: 20,
        total: 20,
        percent: 100,
        chunks: 4,
      }),
    ]);
    const all = await http('GET', '/resyncs');
    expect((all.body as { items: ResyncProgress[] }).items.map((r) => r.id)).toEqual([started.id]);
    expect((await queuedTasks(t, 'Erp')).length).toBe(20);
  });

  it('R-SEC-1 needs the admin token', async () => {
    const res = await http('POST', '/connectors/Erp/resync', {
      token: null,
      body: { objectType: 'test.counter' },
    });
    expect(res.status).toBe(401);
    expect(await t.sql(`select count(*)::int as n from integration_resync`)).toEqual([{ n: 0 }]);
  });

  it('R-SEC-3 an unknown connector is a 404; a disabled one a 409', async () => {
    const unknown = await http('POST', '/connectors/Nobody/resync', { body: { objectType: 'test.counter' } });
    expect(unknown.status).toBe(404);
    expect(JSON.stringify(unknown.body)).toContain('Nobody');
    await t.bus.updateConnector('Erp', { enabled: false });
    const disabled = await http('POST', '/connectors/Erp/resync', { body: { objectType: 'test.counter' } });
    expect(disabled.status).toBe(409);
    expect(await t.sql(`select count(*)::int as n from integration_resync`)).toEqual([{ n: 0 }]);
  });

  it('R-SEC-3 an object type that is no integration entity, or that the connector does not subscribe to, is a 400 naming it', async () => {
    const none = await http('POST', '/connectors/Erp/resync', { body: { objectType: 'no.such.type' } });
    expect(none.status).toBe(400);
    expect(none.body).toMatchObject({ field: 'objectType' });
    expect(JSON.stringify(none.body)).toContain('no.such.type');
    const other = await http('POST', '/connectors/Erp/resync', { body: { objectType: 'cms.user' } });
    expect(other.status).toBe(400);
    expect(other.body).toMatchObject({ field: 'objectType' });
    expect(JSON.stringify(other.body)).toContain('cms.user');
    const missing = await http('POST', '/connectors/Erp/resync', { body: {} });
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ field: 'objectType' });
    expect(await t.sql(`select count(*)::int as n from integration_resync`)).toEqual([{ n: 0 }]);
  });

  it('R-SEC-3 R-SEC-4 a bad where is a 400 naming the part at fault; nothing reaches SQL as text', async () => {
    await seedCounters(t, 3);
    const cases: [unknown, string][] = [
      ['id > 1', 'where'],
      [[{ id: 1 }], 'where'],
      [{ 'lower(code)': 'x' }, 'where.lower(code)'],
      [{ nope: 1 }, 'where.nope'],
      [{ id: { $raw: '1=1' } }, 'where.id.$raw'],
      [{ $or: [] }, 'where.$or'],
      [{ code: { $in: 'c-00001' } }, 'where.code.$in'],
      [{ site: { $where: 'x' } }, 'where.site.$where'],
      [{ id: { $gt: { nested: 1 } } }, 'where.id.$gt'],
      [{ id: 'not a number' }, 'where'],
    ];
    for (const [where, field] of cases) {
      const res = await http('POST', '/connectors/Erp/resync', {
        body: { objectType: 'test.counter', where },
      });
      expect({ where, status: res.status, field: (res.body as { field?: string }).field }).toEqual({
        where,
        status: 400,
        field,
      });
    }
    const chunk = await http('POST', '/connectors/Erp/resync', {
      body: { objectType: 'test.counter', chunkSize: 0 },
    });
    expect(chunk.status).toBe(400);
    expect(chunk.body).toMatchObject({ field: 'chunkSize' });
    const extra = await http('POST', '/connectors/Erp/resync', {
      body: { objectType: 'test.counter', limit: 5 },
    });
    expect(extra.status).toBe(400);
    expect(await t.sql(`select count(*)::int as n from integration_resync`)).toEqual([{ n: 0 }]);
    expect(await t.sql(`select count(*)::int as n from t_counter`)).toEqual([{ n: 3 }]);
  });

  it('R-RES-1 a second resync of the same connector and object type while one runs is a 409; cancel ends it', async () => {
    await seedCounters(t, 400);
    const emitter = t.app.get(EventEmitter2);
    emitter.on(IntegrationEvents.LogInternalTask.Before, slow);
    try {
      const first = await http('POST', '/connectors/Erp/resync', {
        body: { objectType: 'test.counter', chunkSize: 10 },
      });
      expect(first.status).toBe(201);
      const second = await http('POST', '/connectors/Erp/resync', { body: { objectType: 'Test.Counter' } });
      expect(second.status).toBe(409);
      expect(JSON.stringify(second.body)).toContain('already running');

      // The metrics show the running resync (R-RES-1), its rate and ETA once a chunk has measured them.
      for (let i = 0; i < 200; i++) {
        const progress = (await http('GET', '/connectors/Erp/resync')).body as { items: ResyncProgress[] };
        if (progress.items[0]?.ratePerSecond) break;
        await sleep(5);
      }
      const text = (await http('GET', '/metrics')).text;
      const labels = '{connector="Erp",object_type="test.counter"}';
      const gauge = (name: string) => Number(new RegExp(`${name}\\{[^}]*\\} ([\\d.e+]+)`).exec(text)?.[1]);
      expect(text).toContain(`integration_bus_resync_rows_total${labels} 400`);
      const done = gauge('integration_bus_resync_rows_done');
      expect(done).toBeGreaterThan(0);
      expect(done).toBeLessThan(400);
      const rate = gauge('integration_bus_resync_rows_per_second');
      expect(rate).toBeGreaterThan(0);
      // The ETA is what is left at that rate (shown rounded to a row per second), in whole seconds.
      const eta = gauge('integration_bus_resync_eta_seconds');
      expect(eta).toBeGreaterThanOrEqual(Math.ceil((400 - done) / (rate + 0.5)));
      expect(eta).toBeLessThanOrEqual(Math.ceil((400 - done) / Math.max(rate - 0.5, 0.5)));

      const cancelled = await http('POST', '/connectors/Erp/resync/cancel', {
        body: { objectType: 'test.counter' },
      });
      expect(cancelled.status).toBe(200);
      expect(cancelled.body).toMatchObject({ id: (first.body as ResyncProgress).id, status: 'cancelled' });
      const again = await http('POST', '/connectors/Erp/resync/cancel', {
        body: { objectType: 'test.counter' },
      });
      expect(again.status).toBe(404);
    } finally {
      emitter.off(IntegrationEvents.LogInternalTask.Before, slow);
    }
    const events = await t.sql<{ event_code: string }>(
      `select event_code from integration_event_log where event_code like 'RESYNC%' order by id`,
    );
    expect(events.map((e) => e.event_code)).toEqual(['RESYNCSTARTED', 'RESYNCCANCELLED']);
  });
});
