import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import type { Channel, ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IntakeCounters,
  InvalidOptionsError,
  NatsJetStreamTaskConsumer,
  RabbitMqTaskConsumer,
  type BrokerMessage,
} from 'nestjs-integration-bus';
import { CrmInConnector } from '../incoming-http/incoming-http-app.js';
import { withBusApp, type BusTestApp } from '../support/bus-app.js';
import { eventually } from '../support/recording-connector.js';
import { openRabbitMqAdmin, RABBITMQ_URL } from '../relay/support/rabbitmq.js';
import { SHARED_NATS_URL } from '../relay/support/nats-server.js';
import { deleteStream, natsClient } from '../relay/support/stream-reader.js';
import {
  loggedLogins,
  personBody,
  POISON_BODIES,
  poisonEntriesOnce,
  RecordingLogger,
} from './consumer-checks.js';

const id = randomUUID().replaceAll('-', '').slice(0, 12);
const QUEUE = `bustest.batch.${id}`;
const DLX = `${QUEUE}.dead`;
const DEAD_QUEUE = `${QUEUE}.dead-letters`;
const STREAM = `BUSBATCH_${id}`;
const SUBJECT = `busbatch_${id}.people`;

/** Message ids whose task committed, in the order `afterTaskLogged` saw them (just before the ack). */
const committed: string[] = [];

@Injectable()
class BatchRabbitConsumer extends RabbitMqTaskConsumer {
  protected override readonly logger = new RecordingLogger();

  constructor() {
    super({
      connectorName: 'Crm',
      url: RABBITMQ_URL,
      queue: QUEUE,
      deadLetterExchange: DLX,
      batchSize: 50,
      maxBatchWaitMs: 300,
      retryDelayMs: 100,
    });
  }

  protected override afterTaskLogged(message: BrokerMessage): void {
    committed.push(message.messageId!);
  }
}

@Injectable()
class BatchNatsConsumer extends NatsJetStreamTaskConsumer {
  constructor() {
    super({
      connectorName: 'Crm',
      servers: SHARED_NATS_URL,
      stream: STREAM,
      consumer: 'bus',
      batchSize: 50,
      maxBatchWaitMs: 300,
      retryDelayMs: 100,
    });
  }
}

let admin: ChannelModel;
let channel: Channel;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  ({ connection: admin, channel } = await openRabbitMqAdmin());
  await channel.assertExchange(DLX, 'fanout', { durable: true });
  await channel.assertQueue(DEAD_QUEUE, { durable: true });
  await channel.bindQueue(DEAD_QUEUE, DLX, '');
  await channel.assertQueue(QUEUE, { durable: true, deadLetterExchange: DLX });
  nc = await natsClient(SHARED_NATS_URL);
  jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: STREAM, subjects: [`busbatch_${id}.>`] });
});

afterAll(async () => {
  await channel?.deleteQueue(QUEUE);
  await channel?.deleteQueue(DEAD_QUEUE);
  await channel?.deleteExchange(DLX);
  await admin?.close();
  if (nc) {
    await deleteStream(nc, STREAM);
    await nc.close();
  }
});

const send = (body: string, messageId: string, headers?: Record<string, string>) =>
  channel.sendToQueue(QUEUE, Buffer.from(body), { messageId, persistent: true, headers });

/** The headers the bus's relays send for version `sequence` of user 42. */
const version = (sequence: number) => ({
  'Bus-Sequence': String(sequence),
  'Bus-Object-Key': '42',
  'Bus-Object-Type': 'cms.user',
});

/** Waits until the queue has no ready message (unacknowledged ones are not counted by AMQP). */
async function settled(): Promise<void> {
  await eventually(async () => {
    const { messageCount } = await channel.checkQueue(QUEUE);
    expect(messageCount).toBe(0);
  }, 10_000);
}

/** How many transactions wrote the incoming tasks: their rows' distinct `xmin`. */
async function transactionsOfTasks(t: BusTestApp): Promise<number> {
  const [row] = await t.sql<{ n: number }>(
    `select count(distinct xmin::text)::int as n from integration_task where is_inbound`,
  );
  return row!.n;
}

const intake = (t: BusTestApp, consumer: string) => t.app.get(IntakeCounters).of(consumer);

describe('broker consumers take messages in batches (R-ECO-2, R-ECO-3)', () => {
  it('R-ECO-2 logs many messages waiting in the queue in one transaction per batch, in order, each acknowledged after the commit', async () => {
    committed.length = 0;
    const logins = Array.from({ length: 50 }, (_, i) => `batch-user-${i}`);
    for (const [i, login] of logins.entries()) send(personBody(login), `batch-${i}`);
    await withBusApp({ providers: [CrmInConnector, BatchRabbitConsumer] }, async (t) => {
      await eventually(async () => expect(await loggedLogins(t)).toEqual(logins), 10_000);
      await settled();
      expect(await transactionsOfTasks(t)).toBe(1);
      expect(committed).toEqual(logins.map((_, i) => `batch-${i}`));
      expect(intake(t, 'BatchRabbitConsumer')).toMatchObject({ accepted: 50, duplicate: 0, retried: 0 });
    });
  }, 60_000);

  it('R-ECO-3 a message id repeated inside a batch and across batches logs one task; per object, an older version in the same batch is dropped', async () => {
    await withBusApp({ providers: [CrmInConnector, BatchRabbitConsumer] }, async (t) => {
      send(personBody('dup-a'), 'dup-a');
      send(personBody('dup-b'), 'dup-b');
      send(personBody('dup-a'), 'dup-a'); // the same message published twice, in the same batch
      send(personBody('v1'), 'v1', version(1));
      send(personBody('v3'), 'v3', version(3));
      send(personBody('v2'), 'v2', version(2)); // older than v3, before it in the batch
      send(personBody('v4'), 'v4', version(4));
      await eventually(
        async () => expect(await loggedLogins(t)).toEqual(['dup-a', 'dup-b', 'v1', 'v3', 'v4']),
        10_000,
      );
      await settled();
      expect(await transactionsOfTasks(t)).toBe(1);
      expect(intake(t, 'BatchRabbitConsumer')).toMatchObject({ accepted: 5, duplicate: 1, stale: 1 });
      // Across batches: the same ids again, in a later batch.
      send(personBody('dup-b'), 'dup-b');
      send(personBody('v1'), 'v1', version(1));
      send(personBody('after'), 'after');
      await eventually(async () => expect(await loggedLogins(t)).toContain('after'), 10_000);
      await settled();
      expect(await loggedLogins(t)).toEqual(['dup-a', 'dup-b', 'v1', 'v3', 'v4', 'after']);
      expect(intake(t, 'BatchRabbitConsumer')).toMatchObject({ accepted: 6, duplicate: 3, stale: 1 });
      expect(
        await t.sql(`select sequence_key, sequence::int as sequence from integration_intake_sequence`),
      ).toEqual([{ sequence_key: 'cms.user:42', sequence: 4 }]);
    });
  }, 60_000);

  it('R-ECO-2 a poison message in a batch is dead-lettered alone: the others of the batch are logged in its transaction', async () => {
    await withBusApp({ providers: [CrmInConnector, BatchRabbitConsumer] }, async (t) => {
      send(personBody('before-poison'), 'p-before');
      for (const [i, body] of POISON_BODIES.entries()) send(body, `p-poison-${i}`);
      send(personBody('after-poison'), 'p-after');
      await eventually(
        async () => expect(await loggedLogins(t)).toEqual(['before-poison', 'after-poison']),
        10_000,
      );
      await settled();
      expect(await transactionsOfTasks(t)).toBe(1);
      // `settled` sees the queue's ready messages only: a poison message may still be in hand,
      // its event-log entry written as it is settled.
      await poisonEntriesOnce(t, POISON_BODIES.length);
      const dead: string[] = [];
      await eventually(async () => {
        for (
          let m = await channel.get(DEAD_QUEUE, { noAck: true });
          m;
          m = await channel.get(DEAD_QUEUE, { noAck: true })
        )
          dead.push(m.content.toString('utf8'));
        expect(dead).toEqual([...POISON_BODIES]);
      }, 5_000);
      expect(intake(t, 'BatchRabbitConsumer')).toMatchObject({ accepted: 2, poison: POISON_BODIES.length });
    });
  }, 60_000);

  it('R-ECO-2 acknowledges a message only after its task committed: a commit that fails leaves the batch unacknowledged, delivered again and logged once; a message the database refuses fails alone', async () => {
    committed.length = 0;
    await withBusApp({ providers: [CrmInConnector, BatchRabbitConsumer] }, async (t) => {
      // Fails at COMMIT, after the inserts (a deferred constraint trigger): for every task while
      // `refuse_all`, else only for the user named 'refused'.
      await t.sql(`create table test_refuse (refuse_all bool not null)`);
      await t.sql(`insert into test_refuse values (true)`);
      await t.sql(`create function test_refuse_commit() returns trigger language plpgsql as $$
        begin
          if (select refuse_all from test_refuse) or new.data->'fields'->>'userName' = 'refused' then
            raise exception 'commit refused (test)';
          end if;
          return null;
        end $$`);
      await t.sql(`create constraint trigger test_refuse_commit after insert on integration_task
        deferrable initially deferred for each row execute function test_refuse_commit()`);
      // The refused one in the middle: the acks after it must not settle it (no ack with
      // `multiple` over a message still to be requeued).
      for (let i = 1; i <= 3; i++) send(personBody(`commit-${i}`), `commit-${i}`);
      send(personBody('refused'), 'refused');
      for (let i = 4; i <= 5; i++) send(personBody(`commit-${i}`), `commit-${i}`);
      // Tried and refused, more than once: nothing logged, nothing acknowledged, nothing lost.
      await eventually(
        async () => expect(intake(t, 'BatchRabbitConsumer')!.retried).toBeGreaterThanOrEqual(12),
        10_000,
      );
      expect(await loggedLogins(t)).toEqual([]);
      expect(committed).toEqual([]);
      // The database takes every task but one: the batch fails, its tasks are logged one by one.
      await t.sql(`update test_refuse set refuse_all = false`);
      await eventually(
        async () => expect(await loggedLogins(t)).toEqual([1, 2, 3, 4, 5].map((i) => `commit-${i}`)),
        10_000,
      );
      await eventually(() => expect(committed).toEqual([1, 2, 3, 4, 5].map((i) => `commit-${i}`)), 5_000);
      // The refused one keeps coming back; once the database takes it, it is logged once.
      await t.sql(`drop trigger test_refuse_commit on integration_task`);
      await eventually(async () => expect(await loggedLogins(t)).toContain('refused'), 10_000);
      await settled();
      expect((await loggedLogins(t)).sort()).toEqual([
        'commit-1',
        'commit-2',
        'commit-3',
        'commit-4',
        'commit-5',
        'refused',
      ]);
      expect(intake(t, 'BatchRabbitConsumer')).toMatchObject({ accepted: 6, duplicate: 0, poison: 0 });
    });
  }, 60_000);

  it('R-ECO-2 JetStream: messages waiting in the stream are logged in one transaction per batch, with max_ack_pending twice the batch size', async () => {
    const js = jetstream(nc);
    const logins = Array.from({ length: 40 }, (_, i) => `js-batch-${i}`);
    for (const [i, login] of logins.entries()) {
      const h = natsHeaders();
      h.set('Nats-Msg-Id', `js-${i}`);
      await js.publish(SUBJECT, personBody(login), { headers: h });
    }
    await withBusApp({ providers: [CrmInConnector, BatchNatsConsumer] }, async (t) => {
      await eventually(async () => expect(await loggedLogins(t)).toEqual(logins), 10_000);
      await eventually(async () => {
        const info = await jsm.consumers.info(STREAM, 'bus');
        expect(info.num_pending + info.num_ack_pending).toBe(0);
      }, 10_000);
      expect(ackPendingOf(await jsm.consumers.info(STREAM, 'bus'))).toEqual({ maxAckPending: 100 });
      expect(await transactionsOfTasks(t)).toBe(1);
      expect(intake(t, 'BatchNatsConsumer')).toMatchObject({ accepted: 40, duplicate: 0 });
    });
  }, 60_000);

  it('checks the batch options: batchSize 1 to 1000, maxBatchWaitMs 0 to 60000, prefetch at least batchSize', () => {
    expect(make({ batchSize: 0 })).toThrow(InvalidOptionsError);
    expect(make({ batchSize: 1.5 })).toThrow(/batchSize must be an integer from 1 to 1000/);
    expect(make({ batchSize: 1001 })).toThrow(InvalidOptionsError);
    expect(make({ maxBatchWaitMs: -1 })).toThrow(/maxBatchWaitMs must be/);
    expect(make({ batchSize: 10, prefetch: 5 })).toThrow(/prefetch must be an integer from batchSize \(10\)/);
    expect(make({ batchSize: 1, prefetch: 1, maxBatchWaitMs: 0 })).not.toThrow();
  });
});

/** The consumer's `max_ack_pending`, as the consumer set it. */
function ackPendingOf(consumer: { config: { max_ack_pending?: number } }) {
  return { maxAckPending: consumer.config.max_ack_pending };
}

/** Constructs a RabbitMQ consumer with `options`, later. */
function make(options: Record<string, unknown>): () => RabbitMqTaskConsumer {
  class Probe extends RabbitMqTaskConsumer {
    constructor() {
      super({ connectorName: 'Crm', url: RABBITMQ_URL, queue: 'q', ...options });
    }
  }
  return () => new Probe();
}
