import { Controller, Get, Module } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntegrationBusHealthIndicator, IntegrationProcessResult } from 'nestjs-integration-bus';
import { PostgresServer } from '../faults/support/harness.js';
import { createBusApp, type BusTestApp } from '../support/bus-app.js';
import { User } from '../support/entities.js';
import { eventually, recordingConnector } from '../support/recording-connector.js';
import { listen, type HttpClient } from './http-client.js';

const R = IntegrationProcessResult;
const crm = recordingConnector('Crm', [{ objectType: 'cms.user' }], []);

/** How a host wires the indicator into its own Terminus endpoint. */
@Controller('ready')
class ReadinessController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly bus: IntegrationBusHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.bus.isHealthy('integrationBus')]);
  }
}

@Module({ imports: [TerminusModule], controllers: [ReadinessController] })
class ReadinessModule {}

/** A PostgreSQL of this file's own, so that it can be stopped. */
let pg: PostgresServer;
let t: BusTestApp;
let http: HttpClient;

beforeAll(async () => {
  pg = await PostgresServer.start();
  t = await createBusApp({
    databaseUrl: pg.url,
    providers: [crm.provider],
    imports: [ReadinessModule],
    bus: {
      outgoing: { processAfterCommit: false, sweepIntervalMs: 0 },
      health: { maxBlockedMs: 30_000, maxTaskAgeMs: 60_000 },
    },
  });
  http = await listen(t.app, null);
}, 120_000);

afterAll(async () => {
  await t?.close();
  await pg?.quit();
}, 60_000);

describe('IntegrationBusHealthIndicator with @nestjs/terminus', () => {
  it('is up with the database, the LISTEN connection and the queues in detail', async () => {
    await eventually(async () => expect((await http.request('GET', '/ready')).status).toBe(200));
    const ready = await http.request('GET', '/ready');
    expect(ready.body.status).toBe('ok');
    expect(ready.body.info.integrationBus).toMatchObject({
      status: 'up',
      database: { status: 'up' },
      listener: { status: 'up' },
      problems: [],
    });
    expect(ready.body.info.integrationBus.queues).toEqual([
      expect.objectContaining({ connector: 'Crm', direction: 'outgoing', status: 'up', blockedMs: null }),
      expect.objectContaining({ connector: 'Crm', direction: 'incoming', status: 'up' }),
    ]);
    expect((await http.request('GET', '/integration/health')).body).toEqual({ status: 'ok' });
  });

  it('turns down when a failed task blocks a connector past health.maxBlockedMs, and up once it is gone', async () => {
    const em = t.em();
    em.create(User, { userName: 'stuck' });
    await em.flush();
    crm.control.respond = () => ({ result: R.Error, errorMessage: 'CRM refuses' });
    await t.bus.processOutgoingTasks('Crm');
    const indicator = t.app.get(IntegrationBusHealthIndicator);
    // Blocked, but not for long yet.
    const fresh = await indicator.isHealthy();
    expect(fresh.integrationBus.status).toBe('up');
    expect(fresh.integrationBus.queues[0]).toMatchObject({
      connector: 'Crm',
      failed: 1,
      blockedMs: expect.any(Number),
    });

    await t.sql(`update integration_sync_log set time = now() - interval '60 seconds'`);
    const blocked = await indicator.isHealthy('bus');
    expect(blocked.bus.status).toBe('down');
    expect(blocked.bus.queues[0]).toMatchObject({ connector: 'Crm', direction: 'outgoing', status: 'down' });
    expect(blocked.bus.queues[0]!.blockedMs).toBeGreaterThanOrEqual(59_000);
    expect(blocked.bus.problems).toEqual([
      expect.stringMatching(
        /^Crm \(outgoing\): a failed task has blocked the queue for \d+ ms \(health\.maxBlockedMs 30000\)\.$/,
      ),
    ]);
    const ready = await http.request('GET', '/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.error.integrationBus.status).toBe('down');
    const open = await http.request('GET', '/integration/health');
    expect(open.status).toBe(503);
    // The open route names no connector.
    expect(open.body).toEqual({ status: 'error', message: 'A connector queue is past a health threshold.' });

    crm.control.respond = () => R.OK;
    await t.sql(`delete from integration_task`);
    expect((await indicator.isHealthy()).integrationBus.status).toBe('up');
    expect((await http.request('GET', '/ready')).status).toBe(200);
  });

  it('R-OPS-2 names a switched-off direction or a disabled connector as the cause of an old queue', async () => {
    const em = t.em();
    em.create(User, { userName: 'waiting' });
    await em.flush();
    await t.sql(`update integration_task set created_at = now() - interval '90 seconds'`);
    const indicator = t.app.get(IntegrationBusHealthIndicator);
    const age = String.raw`the oldest task waits for \d+ ms \(health\.maxTaskAgeMs 60000\)\.$`;
    try {
      // Processing on: only the age.
      const old = await indicator.isHealthy();
      expect(old.integrationBus.problems).toEqual([
        expect.stringMatching(new RegExp(`^Crm \\(outgoing\\): ${age}`)),
      ]);
      expect(old.integrationBus.queues[0]!.stoppedBy).toBeNull();

      await t.bus.updateSettings({ processOutgoing: false });
      const off = await indicator.isHealthy();
      expect(off.integrationBus.queues.map((q) => [q.direction, q.stoppedBy])).toEqual([
        ['outgoing', 'setting processOutgoing'],
        ['incoming', null],
      ]);
      expect(off.integrationBus.problems).toEqual([
        expect.stringMatching(
          new RegExp(`^Crm \\(outgoing\\): not processed, setting processOutgoing is off; ${age}`),
        ),
      ]);

      await t.bus.updateSettings({ processOutgoing: true });
      await t.bus.updateConnector('Crm', { enabled: false });
      const disabled = await indicator.isHealthy();
      expect(disabled.integrationBus.queues[0]!.stoppedBy).toBe('connector disabled');
      expect(disabled.integrationBus.problems).toEqual([
        expect.stringMatching(
          new RegExp(`^Crm \\(outgoing\\): not processed, the connector is disabled; ${age}`),
        ),
      ]);
    } finally {
      await t.bus.updateSettings({ processOutgoing: true });
      await t.bus.updateConnector('Crm', { enabled: true });
      await t.sql(`delete from integration_task`);
    }
  });

  it('turns down while PostgreSQL is stopped, and up again once it is back', async () => {
    await pg.stop();
    try {
      const indicator = t.app.get(IntegrationBusHealthIndicator);
      await eventually(async () => {
        const down = await indicator.isHealthy();
        expect(down.integrationBus).toMatchObject({
          status: 'down',
          database: { status: 'down' },
          listener: { status: 'down' },
          queues: [],
        });
      }, 10_000);
      const open = await http.request('GET', '/integration/health');
      expect(open.status).toBe(503);
      expect(open.body).toEqual({ status: 'error', message: 'The database does not answer.' });
      expect((await http.request('GET', '/ready')).status).toBe(503);
    } finally {
      await pg.restart();
    }
    await eventually(async () => {
      expect((await http.request('GET', '/integration/health')).status).toBe(200);
      expect((await http.request('GET', '/ready')).status).toBe(200);
    }, 15_000);
  });
});
