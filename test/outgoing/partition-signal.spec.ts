import { Client } from 'pg';
import { IntegrationProcessResult } from 'nestjs-integration-bus';
import { afterEach, describe, expect, it } from 'vitest';
import { parseQueueSignal } from '../../libs/integration-bus/src/delivery/queue-signal.js';
import { createBusApp, useBusApp } from '../support/bus-app.js';
import { User } from '../support/entities.js';
import { eventually, recordingConnector, type CallLog } from '../support/recording-connector.js';

const log: CallLog = [];
afterEach(() => {
  log.length = 0;
});

const perObject = recordingConnector('PerObject', [{ objectType: 'cms.user' }], log, {
  ordering: 'object',
  partitions: 8,
});
const fifo = recordingConnector('Fifo', [{ objectType: 'cms.user' }], [], {});
/** An instance that logs changes and processes nothing: what it commits reaches others by signal. */
const PRODUCER = {
  settings: { processOutgoing: false },
  outgoing: { processAfterCommit: false, sweepIntervalMs: 0 },
};

/** The signals on the bus's channel, as an independent client receives them. */
async function listenToSignals(databaseUrl: string) {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  const payloads: string[] = [];
  client.on('notification', (message) => payloads.push(message.payload ?? ''));
  await client.query('listen integration_bus_queue');
  return { payloads, close: () => client.end() };
}

/** Each connector's partitions of the queued synchronizations (lone tasks and rows alike). */
async function queuedPartitions(sql: (text: string) => Promise<{ connector_id: number; p: number[] }[]>) {
  const rows = await sql(
    `select connector_id, array_agg(distinct partition order by partition)::int[] as p
       from (select connector_id, partition from integration_synchronization
             union all select connector_id, partition from integration_task where connector_id is not null) q
      group by connector_id`,
  );
  return new Map(rows.map((r) => [r.connector_id, r.p]));
}

describe('commit signals name the partitions written (R-ORD-2, R-OUT-8 b)', () => {
  const t = useBusApp({ providers: [perObject.provider, fifo.provider], bus: PRODUCER });

  it('a flush of several changes tells the partitions each partitioned connector got', async () => {
    const signals = await listenToSignals(t.databaseUrl);
    try {
      const em = t.em();
      for (let i = 1; i <= 6; i++) em.create(User, { userName: `signal-${i}`, email: `s${i}@x` });
      await em.flush();
      await eventually(() => expect(signals.payloads).toHaveLength(1));
      const connectors = await t.sql<{ id: number; code_name: string }>(
        `select id, code_name from integration_connector`,
      );
      const idOf = (name: string) => connectors.find((c) => c.code_name === name)!.id;
      const signal = parseQueueSignal(signals.payloads[0]);
      const queued = await queuedPartitions(t.sql);
      expect(queued.get(idOf('PerObject'))!.length).toBeGreaterThan(1);
      expect(signal).toMatchObject({
        committed: true,
        connectors: expect.arrayContaining([idOf('PerObject'), idOf('Fifo')]),
      });
      // The partitioned connector's partitions, exactly; the one-FIFO connector is named, not hinted.
      expect([...signal!.partitions!.entries()]).toEqual([
        [idOf('PerObject'), queued.get(idOf('PerObject'))],
      ]);
    } finally {
      await signals.close();
    }
  });
});

describe('a commit signal too long for NOTIFY (R-ORD-2)', () => {
  const wide = recordingConnector('Wide', [{ objectType: 'cms.user' }], [], {
    ordering: 'object',
    partitions: 1024,
  });
  const wider = recordingConnector('Wider', [{ objectType: 'cms.user' }], [], {
    ordering: 'object',
    partitions: 1024,
  });
  const t = useBusApp({ providers: [wide.provider, wider.provider], bus: PRODUCER });

  it('goes without its partitions: the flush commits, and the signal still names the connector', async () => {
    const signals = await listenToSignals(t.databaseUrl);
    try {
      // 3,000 changes over 1,024 partitions of two connectors: more than NOTIFY's 8,000 bytes.
      const em = t.em();
      for (let i = 1; i <= 3000; i++) em.create(User, { userName: `wide-${i}`, email: `w${i}@x` });
      await em.flush();
      await eventually(() => expect(signals.payloads).toHaveLength(1));
      const signal = parseQueueSignal(signals.payloads[0]);
      const connectors = await t.sql<{ id: number }>(`select id from integration_connector order by id`);
      expect(signal).toMatchObject({ committed: true });
      expect([...signal!.connectors!].sort()).toEqual(connectors.map((c) => c.id).sort());
      expect(signal!.partitions).toBeUndefined();
      const [queued] = await t.sql<{ n: number }>(
        `select count(distinct (connector_id, partition))::int as n from integration_synchronization`,
      );
      expect(queued!.n).toBeGreaterThan(1800);
    } finally {
      await signals.close();
    }
  });
});

describe('a commit signal with partitions (R-ORD-2)', () => {
  const t = useBusApp({ providers: [perObject.provider], bus: PRODUCER });

  it('a single change for a single partitioned connector (the one-row statement) names its partition; a processing instance delivers it', async () => {
    const signals = await listenToSignals(t.databaseUrl);
    const worker = await createBusApp({
      databaseUrl: t.databaseUrl,
      providers: [perObject.provider],
      bus: { outgoing: { sweepIntervalMs: 0 } },
    });
    try {
      // The call answers SkipNow: the task stays queued (as a row of its own), in its partition.
      perObject.control.respond = () => IntegrationProcessResult.SkipNow;
      const em = t.em();
      em.create(User, { userName: 'lone-signal', email: 'l@x' });
      await em.flush();
      await eventually(() => expect(signals.payloads).toHaveLength(1));
      // Delivered by the other instance, told by the signal alone (it does not process on its own).
      await eventually(() =>
        expect(log.map((c) => (c.task.object as User).userName)).toEqual(['lone-signal']),
      );
      const [row] = await t.sql<{ connector_id: number; partition: number }>(
        `select connector_id, partition from integration_task where connector_id is not null
         union all select connector_id, partition from integration_synchronization`,
      );
      expect(row).toBeDefined();
      expect([...parseQueueSignal(signals.payloads[0])!.partitions!.entries()]).toEqual([
        [row!.connector_id, [row!.partition]],
      ]);
    } finally {
      perObject.control.respond = () => IntegrationProcessResult.OK;
      await worker.close();
      await signals.close();
    }
  });

  it('reads a malformed partitions entry as no hint at all, and a missing one as none', () => {
    expect(
      parseQueueSignal('{"from":"a","connectors":[1],"partitions":{"1":[2,"x"]}}')?.partitions,
    ).toBeUndefined();
    expect(parseQueueSignal('{"from":"a","connectors":[1],"partitions":null}')?.partitions).toBeUndefined();
    expect([
      ...parseQueueSignal('{"from":"a","connectors":[1],"partitions":{"1":[2,5]}}')!.partitions!,
    ]).toEqual([[1, [2, 5]]]);
  });
});
