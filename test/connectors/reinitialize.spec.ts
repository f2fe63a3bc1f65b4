import { describe, expect, inject, it } from 'vitest';
import { BaseIntegrationConnector, Connector } from 'nestjs-integration-bus';
import { createBusApp } from '../support/bus-app.js';
import { createTestDatabase } from '../support/database.js';
import { eventually } from '../support/recording-connector.js';

/** Instances of the connector, one per app, each counting its initialisations. */
const instances: InitCounting[] = [];

@Connector('Counted')
class InitCounting extends BaseIntegrationConnector {
  inits = 0;
  constructor() {
    super();
    instances.push(this);
  }
  override onConnectorInit(): void {
    this.inits += 1;
  }
}

const MANUAL = { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } };

describe('connector changes re-initialise the connectors of every instance (R-SET-2)', () => {
  it('editing a connector on one instance runs onConnectorInit on the other at once', async () => {
    const db = await createTestDatabase(inject('serverUrl'));
    const a = await createBusApp({ databaseUrl: db.url, providers: [InitCounting], bus: MANUAL });
    const b = await createBusApp({
      databaseUrl: db.url,
      providers: [InitCounting],
      bus: MANUAL,
      migrate: false,
    });
    try {
      const [onA, onB] = instances.slice(-2) as [InitCounting, InitCounting];
      expect([onA.inits, onB.inits]).toEqual([1, 1]);
      const started = performance.now();
      await a.bus.updateConnector('Counted', { displayName: 'Counted, renamed' });
      expect(onA.inits).toBe(2);
      await eventually(() => expect(onB.inits).toBe(2), 2000);
      console.log(
        `[connectors] re-initialised on the other instance after ${(performance.now() - started).toFixed(0)} ms`,
      );
      // Re-initialising does not echo back: A is not initialised a third time.
      await new Promise((r) => setTimeout(r, 200));
      expect([onA.inits, onB.inits]).toEqual([2, 2]);
    } finally {
      await b.close();
      await a.close();
      await db.drop();
    }
  });
});
