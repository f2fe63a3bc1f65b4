import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { IntegrationProcessResult, type OutgoingTask } from 'nestjs-integration-bus';
import { withBusApp } from '../support/bus-app.js';
import { User } from '../support/entities.js';
import { eventually, recordingConnector, type CallLog } from '../support/recording-connector.js';
import { createUsers as createUsersOf, emptyQueue, useManagementApp } from './management-app.js';

const R = IntegrationProcessResult;
const log: CallLog = [];
/** Parks a task after two failed attempts, retried at once. */
const parking = recordingConnector('Parking', [{ objectType: 'cms.user' }], log, {
  retry: { initialDelayMs: 0, maxAttempts: 2 },
});
/** Never processed by these tests: its queue only grows. */
const idle = recordingConnector('Idle', [{ objectType: 'cms.user' }], log);

const { t, http } = useManagementApp({ providers: [parking.provider, idle.provider] });

afterEach(async () => {
  log.length = 0;
  parking.control.respond = () => R.OK;
  await emptyQueue(t);
});

const createUsers = (names: string[]) => createUsersOf(t, names);

const nameOf = (task: OutgoingTask) => (task.object as User).userName;

/** The value of one sample of the Prometheus text, or undefined when it is not there. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** The samples of `series`, by series. */
function samples(text: string, series: readonly string[]): Record<string, number | undefined> {
  return Object.fromEntries(series.map((s) => [s, sample(text, s)]));
}

/** `series`, each at 0. */
function zeros(series: readonly string[]): Record<string, number> {
  return Object.fromEntries(series.map((s) => [s, 0]));
}

async function scrape(): Promise<string> {
  const res = await http('GET', '/metrics');
  expect(res.status).toBe(200);
  return res.text;
}

/** Every counter series of a connector in one direction, as exported from 0 (R-OPS-2). */
function counterSeries(connector: string, direction: 'outgoing' | 'incoming'): string[] {
  const labels = `connector="${connector}",direction="${direction}"`;
  return [
    ...Object.values(R).map(
      (result) => `integration_bus_tasks_processed_total{${labels},result="${result}"}`,
    ),
    ...Object.values(R).map(
      (result) => `integration_bus_connector_call_duration_seconds_count{${labels},result="${result}"}`,
    ),
    `integration_bus_tasks_failed_total{${labels}}`,
    `integration_bus_task_retries_total{${labels}}`,
    `integration_bus_tasks_parked_total{${labels}}`,
    `integration_bus_task_processing_seconds_count{${labels}}`,
  ];
}

describe('GET /metrics: every counter from 0, due tasks, settings (R-OPS-2)', () => {
  // First in the file: the scrape right after start-up.
  it('R-OPS-2 a scrape right after start-up shows every counter at 0, per connector and direction', async () => {
    const text = await scrape();
    const series = ['Parking', 'Idle'].flatMap((connector) =>
      (['outgoing', 'incoming'] as const).flatMap((direction) => counterSeries(connector, direction)),
    );
    expect(samples(text, series)).toEqual(zeros(series));
    // The first event then counts from that 0.
    await createUsers(['first']);
    await t.bus.processOutgoingTasks('Parking');
    const after = await scrape();
    expect(
      sample(
        after,
        'integration_bus_tasks_processed_total{connector="Parking",direction="outgoing",result="OK"}',
      ),
    ).toBe(1);
  });

  it('R-OPS-2 counts due tasks apart from those backing off or held behind a failed head', async () => {
    await createUsers(['a', 'b']);
    parking.control.respond = () => ({ result: R.Error, errorMessage: 'down' });
    await t.bus.processOutgoingTasks('Parking'); // a fails and holds b
    await t.sql(`update integration_synchronization set next_attempt_at = now() + interval '1 hour'`);
    const backingOff = await scrape();
    const parkingQueue = 'connector="Parking",direction="outgoing"';
    expect(sample(backingOff, `integration_bus_queue_depth{${parkingQueue}}`)).toBe(2);
    expect(sample(backingOff, `integration_bus_tasks_due{${parkingQueue}}`)).toBe(0);
    expect(sample(backingOff, 'integration_bus_tasks_due{connector="Idle",direction="outgoing"}')).toBe(2);
    expect(sample(backingOff, 'integration_bus_tasks_due{connector="Idle",direction="incoming"}')).toBe(0);
    // Its retry time come: the failed head is due, b still waits behind it.
    await t.sql(`update integration_synchronization set next_attempt_at = now() - interval '1 second'`);
    expect(sample(await scrape(), `integration_bus_tasks_due{${parkingQueue}}`)).toBe(1);
  });

  it('R-OPS-2 exports the settings switches as gauges', async () => {
    const switches = ['enabled', 'logOutgoing', 'processOutgoing', 'logIncoming', 'processIncoming'].map(
      (setting) => `integration_bus_setting_enabled{setting="${setting}"}`,
    );
    expect(samples(await scrape(), switches)).toEqual(Object.fromEntries(switches.map((s) => [s, 1])));
    expect((await http('PATCH', '/settings', { body: { processOutgoing: false } })).status).toBe(200);
    try {
      const after = await scrape();
      expect(sample(after, 'integration_bus_setting_enabled{setting="processOutgoing"}')).toBe(0);
      expect(sample(after, 'integration_bus_setting_enabled{setting="enabled"}')).toBe(1);
    } finally {
      await http('PATCH', '/settings', { body: { processOutgoing: true } });
    }
  });
});

describe('GET /metrics: issue 15 metrics', () => {
  it('counts retries, parked tasks and connector calls by result', async () => {
    const before = await scrape(); // earlier tests of the file counted too: compare with this
    await createUsers(['poison', 'fine']);
    parking.control.respond = (task) =>
      nameOf(task) === 'poison' ? { result: R.Error, errorMessage: 'bad data' } : R.OK;
    await t.bus.processOutgoingTasks('Parking'); // poison fails once and holds the queue
    await t.bus.processOutgoingTasks('Parking'); // poison fails again: parked; fine goes through

    const text = await scrape();
    const labels = 'connector="Parking",direction="outgoing"';
    const counted = (series: string) => sample(text, series)! - sample(before, series)!;
    expect(counted(`integration_bus_task_retries_total{${labels}}`)).toBe(1);
    expect(counted(`integration_bus_tasks_parked_total{${labels}}`)).toBe(1);
    expect(counted(`integration_bus_connector_call_duration_seconds_count{${labels},result="ERROR"}`)).toBe(
      2,
    );
    expect(counted(`integration_bus_connector_call_duration_seconds_count{${labels},result="OK"}`)).toBe(1);
    expect(sample(text, `integration_bus_tasks{${labels},status="parked"}`)).toBe(1);
    // The parked task is not what the queue waits on: nothing is left to deliver.
    expect(sample(text, `integration_bus_oldest_task_age_seconds{${labels}}`)).toBe(0);
    expect(text).toContain('# TYPE integration_bus_connector_call_duration_seconds histogram');
    expect(text).toContain('# TYPE integration_bus_task_retries_total counter');
  });

  it('reports the oldest task age and how long a failed head has blocked a queue', async () => {
    await createUsers(['old', 'new']);
    await t.sql(`update integration_task set created_at = now() - interval '120 seconds'
                  where id = (select min(id) from integration_task)`);
    parking.control.respond = () => ({ result: R.Error, errorMessage: 'down' });
    await t.bus.processOutgoingTasks('Parking');
    // The first failure, 90 s ago.
    await t.sql(`update integration_sync_log set time = now() - interval '90 seconds'`);

    const text = await scrape();
    const idleAge = sample(
      text,
      'integration_bus_oldest_task_age_seconds{connector="Idle",direction="outgoing"}',
    );
    expect(idleAge).toBeGreaterThanOrEqual(119);
    expect(idleAge).toBeLessThan(150);
    expect(
      sample(text, 'integration_bus_oldest_task_age_seconds{connector="Idle",direction="incoming"}'),
    ).toBe(0);
    const blocked = sample(text, 'integration_bus_blocked_seconds{connector="Parking",direction="outgoing"}');
    expect(blocked).toBeGreaterThanOrEqual(89);
    expect(blocked).toBeLessThan(120);
    expect(sample(text, 'integration_bus_blocked_seconds{connector="Idle",direction="outgoing"}')).toBe(0);
  });

  it('shows the claims this instance holds while it processes a queue', async () => {
    await createUsers(['slow']);
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    let called = false;
    parking.control.respond = async () => {
      called = true;
      await answered;
      return R.OK;
    };
    const run = t.bus.processOutgoingTasks('Parking');
    await eventually(() => expect(called).toBe(true));
    const during = await scrape();
    expect(sample(during, 'integration_bus_claims_held{connector="Parking",direction="outgoing"}')).toBe(1);
    expect(sample(during, 'integration_bus_claims_held{connector="Idle",direction="outgoing"}')).toBe(0);
    answer();
    await run;
    const after = await scrape();
    expect(sample(after, 'integration_bus_claims_held{connector="Parking",direction="outgoing"}')).toBe(0);
  });
});

describe('metrics.registry', () => {
  it("registers the bus's metrics in the host's registry, counting from start-up", async () => {
    const host = new Registry();
    const c = recordingConnector('Hosted', [{ objectType: 'cms.user' }], []);
    await withBusApp(
      {
        providers: [c.provider],
        bus: { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 }, metrics: { registry: host } },
      },
      async (app) => {
        // Every counter from 0 at start-up, before anything happened.
        const series = counterSeries('Hosted', 'outgoing');
        expect(samples(await host.metrics(), series)).toEqual(zeros(series));
        const em = app.em();
        em.create(User, { userName: 'hosted' });
        await em.flush();
        await app.bus.processOutgoingTasks('Hosted');
        const text = await host.metrics(); // /metrics never scraped
        expect(
          sample(
            text,
            'integration_bus_tasks_processed_total{connector="Hosted",direction="outgoing",result="OK"}',
          ),
        ).toBe(1);
        expect(
          sample(
            text,
            'integration_bus_connector_call_duration_seconds_count{connector="Hosted",direction="outgoing",result="OK"}',
          ),
        ).toBe(1);
        expect(sample(text, 'integration_bus_queue_depth{connector="Hosted",direction="outgoing"}')).toBe(0);
      },
    );
  });

  it('rejects something that is not a registry, naming the option', async () => {
    await expect(
      withBusApp({ bus: { metrics: { registry: {} as Registry } } }, async () => undefined),
    ).rejects.toThrow(/metrics\.registry must be a prom-client Registry/);
  });
});
