import { Injectable } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  BaseIntegrationConnector,
  Connector,
  InvalidConnectorError,
  InvalidOptionsError,
  IntegrationBusModule,
  Subscribe,
  TaskProcessType,
} from 'nestjs-integration-bus';
import { createBusApp, withBusApp } from '../support/bus-app.js';
import { createTestDatabase } from '../support/database.js';
import { recordingConnector } from '../support/recording-connector.js';

let server: string;
let db: { url: string; drop: () => Promise<void> };

beforeAll(async () => {
  server = inject('serverUrl');
  db = await createTestDatabase(server);
});
afterAll(async () => {
  await db?.drop();
});

describe('connector discovery (R-SET-2)', () => {
  it('creates a row per connector, keeps an existing row’s enabled flag, and reports rows without a provider', async () => {
    const crm = recordingConnector('Crm', [{ objectType: 'cms.user' }], [], { displayName: 'CRM' });
    const erp = recordingConnector('Erp', [{ objectType: 'cms.user' }], []);
    const firstRun = await createBusApp({ databaseUrl: db.url, providers: [crm.provider, erp.provider] });
    await firstRun.bus.updateConnector('Erp', { enabled: false });
    await firstRun.close();

    // Restart without Erp: its row stays, disabled, and is reported as not loaded.
    const secondRun = await createBusApp({ databaseUrl: db.url, providers: [crm.provider], migrate: true });
    try {
      const connectors = await secondRun.bus.getConnectors();
      expect(connectors.map((c) => [c.codeName, c.displayName, c.enabled, c.loaded])).toEqual([
        ['Crm', 'CRM', true, true],
        ['Erp', 'Erp', false, false],
      ]);
      expect(connectors[1]!.notLoadedReason).toMatch(/@Connector\('Erp'\)/);
      expect(connectors[0]!.className).toBe('CrmConnector');
    } finally {
      await secondRun.close();
    }
  });

  it('refuses two connectors with one code name', async () => {
    const one = recordingConnector('Twin', [], []);
    const two = recordingConnector('Twin', [], []);
    Object.defineProperty(two.provider, 'name', { value: 'OtherTwin' });
    await expect(
      createBusApp({ databaseUrl: db.url, providers: [one.provider, two.provider] }),
    ).rejects.toThrow(InvalidConnectorError);
  });

  it('refuses @Subscribe on a class that is not a connector', async () => {
    @Injectable()
    @Subscribe({ objectType: 'cms.user' })
    class NotAConnector {}
    await expect(createBusApp({ databaseUrl: db.url, providers: [NotAConnector] })).rejects.toThrow(
      /no @Connector/,
    );
  });

  it('refuses a connector that does not extend BaseIntegrationConnector', async () => {
    @Connector('Loose')
    class Loose {}
    await expect(createBusApp({ databaseUrl: db.url, providers: [Loose] })).rejects.toThrow(
      /extend BaseIntegrationConnector/,
    );
  });

  it('refuses a code name that cannot be stored or typed in a URL', () => {
    expect(() => Connector('bad name!')).toThrow(/code name/);
  });

  it('registers subscriptions made imperatively in onConnectorInit', async () => {
    @Connector('Imperative')
    class Imperative extends BaseIntegrationConnector {
      override onConnectorInit(): void {
        this.subscribeToObjects(TaskProcessType.AsyncSnapshot, ['cms.user', 'cms.role']);
        this.subscribeToAllDocuments(TaskProcessType.AsyncSimpleSnapshot, { siteName: 'CorpSite' });
      }
    }
    const app = await createBusApp({ databaseUrl: db.url, providers: [Imperative] });
    try {
      const id = await app.bus.logInternalTask(
        { objectType: 'cms.role', codeName: 'x', data: {} },
        'CREATEOBJ' as never,
      );
      expect(id).toHaveLength(1);
      const [row] = await app.sql<{ process_type: string }>(
        `select process_type from integration_task where id = $1`,
        [id[0]],
      );
      expect(row!.process_type).toBe(TaskProcessType.AsyncSnapshot);
      await app.sql(`delete from integration_task`);
    } finally {
      await app.close();
    }
  });
});

describe('re-initialisation (R-SET-2)', () => {
  it('runs onConnectorInit again when a connector is edited, replacing what it subscribed to', async () => {
    const config = { objectType: 'cms.role', inits: 0 };
    @Connector('Reloaded')
    class Reloaded extends BaseIntegrationConnector {
      override onConnectorInit(): void {
        config.inits += 1;
        this.subscribeToObjects(TaskProcessType.AsyncSimple, [config.objectType]);
      }
    }
    await withBusApp({ providers: [Reloaded] }, async (app) => {
      const log = (objectType: string): Promise<number[]> =>
        app.bus.logInternalTask({ objectType, codeName: 'x', data: {} }, 'CREATEOBJ' as never);
      expect(config.inits).toBe(1);
      expect(await log('cms.user')).toEqual([]);
      config.objectType = 'cms.user';
      await app.bus.updateConnector('Reloaded', { displayName: 'Reloaded connector' });
      expect(config.inits).toBe(2);
      expect(await log('cms.user')).toHaveLength(1);
      expect(await log('cms.role')).toEqual([]);
    });
  });
});

describe('module options', () => {
  it('rejects options that cannot work, naming the option', async () => {
    await expect(
      createBusApp({ databaseUrl: db.url, bus: { settings: { enabled: 'false' as unknown as boolean } } }),
    ).rejects.toThrow(InvalidOptionsError);
    await expect(createBusApp({ databaseUrl: db.url, bus: { batchSize: 0 } })).rejects.toThrow(/batchSize/);
  });

  it('exposes its entities and migration for the host config', () => {
    // with integration_intake_sequence (R-DEL-2), integration_flow_control (R-EXT-2), integration_resync (R-RES-1)
    expect(IntegrationBusModule.entities.length).toBe(12);
    expect(IntegrationBusModule.migrations[0]!.name).toMatch(/IntegrationBus/);
  });
});
