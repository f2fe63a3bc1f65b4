import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import {
  BaseIntegrationConnector,
  Connector,
  IntegrationProcessResult,
  InvalidConnectorError,
  Subscribe,
  TaskProcessType,
  type ConnectorOptions,
  type OutgoingTask,
  type ProcessOutcome,
} from 'nestjs-integration-bus';
import { createBusApp, type BusTestApp } from '../support/bus-app.js';
import { createTestDatabase } from '../support/database.js';
import { User } from '../support/entities.js';
import { FakeCrmServer } from '../support/fake-crm-server.js';

const R = IntegrationProcessResult;

/** The backoff of the first failure: what a connector without a probe waits out after an outage. */
const BACKOFF_MS = 10_000;
/** How often the probing connector asks whether the system is back. */
const PROBE_INTERVAL_MS = 250;

/**
 * A fake external system on loopback: `POST /records` takes a record (200) while it is up and
 * answers 503 while it is down; `GET /health` answers the same way. It records what it received and
 * when, and how often its health endpoint was asked.
 */
class FakeCrm extends FakeCrmServer {
  readonly received: { connector: string; user: string; at: number }[] = [];
  readonly healthChecks: number[] = [];

  protected take(req: IncomingMessage, body: string): void {
    if (req.url === '/health') this.healthChecks.push(Date.now());
    else if (this.up)
      this.received.push({ ...(JSON.parse(body) as { connector: string; user: string }), at: Date.now() });
  }

  /** When the last of `count` records of `connector` arrived, or undefined. */
  drainedAt(connector: string, count: number): number | undefined {
    const mine = this.received.filter((r) => r.connector === connector);
    return mine.length >= count ? mine[count - 1]!.at : undefined;
  }
}

/** A connector sending each user to the fake CRM; with `probe`, it asks the CRM's health endpoint. */
function crmConnector(codeName: string, crm: FakeCrm, withProbe: boolean, options: ConnectorOptions = {}) {
  @Connector(codeName, {
    retry: { initialDelayMs: BACKOFF_MS, maxDelayMs: BACKOFF_MS, jitter: false },
    ...options,
  })
  class CrmConnector extends BaseIntegrationConnector {
    @Subscribe({ entity: User, processType: TaskProcessType.AsyncSimple })
    async user(task: OutgoingTask<User>): Promise<ProcessOutcome> {
      const response = await fetch(`${crm.url}/records`, {
        method: 'POST',
        body: JSON.stringify({ connector: codeName, user: task.object.userName }),
      });
      return response.ok ? R.OK : { result: R.Error, errorMessage: `CRM answered ${response.status}` };
    }
  }
  if (withProbe) {
    // A probe that throws while the system is down: counted as false.
    Object.defineProperty(CrmConnector.prototype, 'probe', {
      value: async () => {
        const response = await fetch(`${crm.url}/health`);
        if (!response.ok) throw new Error(`health answered ${response.status}`);
        return true;
      },
    });
  }
  return CrmConnector;
}

async function createUsers(t: BusTestApp, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const em = t.em();
    em.create(User, { userName: `u${i}`, email: `u${i}@example.com` });
    await em.flush();
  }
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** The connector without a probe drains once its retry comes due, about BACKOFF_MS after its failure. */
async function controlWaitsOutBackoff(crm: FakeCrm, backAt: number): Promise<void> {
  await waitFor(() => crm.drainedAt('UnprobedCrm', 8) !== undefined, BACKOFF_MS + 5000);
  expect(crm.drainedAt('UnprobedCrm', 1)! - backAt).toBeGreaterThan(5000);
}

const declareWithProbeInterval = (probeIntervalMs: number) => () => {
  @Connector('BadProbe', { probeIntervalMs })
  class BadProbe extends BaseIntegrationConnector {}
  return BadProbe;
};

describe('recovery probe (R-EXT-2)', () => {
  it.each([
    ['connector', {}],
    ['object', { ordering: 'object', partitions: 4, concurrency: 4 }],
  ] as const)(
    "R-EXT-2: with a probe the backlog drains within a second of the external system's return; without one it waits out the backoff (ordering: '%s')",
    async (_ordering, options) => {
      const crm = new FakeCrm();
      await crm.start();
      const probed = crmConnector('ProbedCrm', crm, true, { probeIntervalMs: PROBE_INTERVAL_MS, ...options });
      const unprobed = crmConnector('UnprobedCrm', crm, false, options);
      const db = await createTestDatabase(inject('serverUrl'));
      // Two instances sharing the database, processing by themselves after each commit.
      const first = await createBusApp({ providers: [probed, unprobed], databaseUrl: db.url });
      const second = await createBusApp({ providers: [probed, unprobed], databaseUrl: db.url });
      try {
        crm.up = false;
        await createUsers(first, 8);
        // Every backlog is held behind a failed task whose retry is BACKOFF_MS away.
        await waitFor(async () => {
          const [row] = await first.sql<{ n: number }>(
            `select count(distinct connector_id)::int as n from integration_synchronization
              where state = 'failed' and next_attempt_at > clock_timestamp() + interval '5 seconds'`,
          );
          return row!.n === 2;
        }, 5000);
        // Down long enough for several probes to answer false (they throw).
        await sleep(1500);
        const probesWhileDown = crm.healthChecks.length;
        expect(probesWhileDown).toBeGreaterThanOrEqual(3);
        // One probe per interval across both instances, never one per instance.
        expect(probesWhileDown).toBeLessThanOrEqual(Math.ceil(2500 / PROBE_INTERVAL_MS));
        expect(crm.received).toEqual([]);

        const backAt = Date.now();
        crm.up = true;
        await waitFor(() => crm.drainedAt('ProbedCrm', 8) !== undefined, 3000);
        const drainedInMs = crm.drainedAt('ProbedCrm', 8)! - backAt;
        expect(drainedInMs).toBeLessThanOrEqual(1000);
        expect(new Set(crm.received.filter((r) => r.connector === 'ProbedCrm').map((r) => r.user)).size).toBe(
          8,
        );

        // The control waits out its backoff: still nothing a second and a half after the return…
        await sleep(1500);
        expect(crm.drainedAt('UnprobedCrm', 1)).toBeUndefined();
        const [control] = await first.sql<{ aheadMs: number }>(
          `select min(extract(epoch from s.next_attempt_at - clock_timestamp()) * 1000)::float8 as "aheadMs"
             from integration_synchronization s join integration_connector c on c.id = s.connector_id
            where c.code_name = 'UnprobedCrm' and s.state = 'failed'`,
        );
        expect(control!.aheadMs).toBeGreaterThan(BACKOFF_MS - 6000);
        await controlWaitsOutBackoff(crm, backAt);
        // The probing stopped with the backoff: no probe after the drain.
        const probesAfter = crm.healthChecks.filter((at) => at > backAt + 1000).length;
        expect(probesAfter).toBe(0);
      } finally {
        await first.close();
        await second.close();
        await db.drop();
        await crm.close();
      }
    },
    40_000,
  );

  it('R-EXT-2: probeIntervalMs is validated when the connector is declared', () => {
    const declare = declareWithProbeInterval;
    expect(declare(10)).toThrow(InvalidConnectorError);
    expect(declare(1.5)).toThrow(/probeIntervalMs must be an integer from 50 to 3600000/);
    expect(declare(500)).not.toThrow();
  });
});
