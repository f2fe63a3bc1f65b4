import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Channel, ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntakeCounters, RabbitMqTaskConsumer, type BrokerMessage } from 'nestjs-integration-bus';
import { CrmInConnector } from '../incoming-http/incoming-http-app.js';
import { withBusApp } from '../support/bus-app.js';
import { eventually } from '../support/recording-connector.js';
import { openRabbitMqAdmin, RABBITMQ_PORT, RABBITMQ_URL, rabbitMqUrlVia } from '../relay/support/rabbitmq.js';
import { TcpProxy } from '../relay/support/tcp-proxy.js';
import {
  AckLoss,
  expectUsersApplied,
  loggedLogins,
  personBody,
  POISON_BODIES,
  POISON_REASONS,
  poisonEntries,
  poisonEntriesOnce,
  RecordingLogger,
} from './consumer-checks.js';

const QUEUE = `bustest.in.${randomUUID().slice(0, 8)}`;
/** Where the consumer connects: the broker, or a proxy in front of it. */
const source = { url: RABBITMQ_URL };

const acks = new AckLoss();
const { seen, loseAckOnce } = acks;

@Injectable()
class TestRabbitConsumer extends RabbitMqTaskConsumer {
  protected override readonly logger = new RecordingLogger();

  constructor() {
    super({ connectorName: 'Crm', url: source.url, queue: QUEUE, retryDelayMs: 100, reconnectDelayMs: 200 });
  }

  protected override afterTaskLogged(message: BrokerMessage): void {
    acks.afterTaskLogged(message);
  }
}

/** A queue with a dead-letter exchange, whose dead letters go to `DEAD_QUEUE`. */
const DLX_QUEUE = `${QUEUE}.dlx`;
const DLX = `${QUEUE}.dead`;
const DEAD_QUEUE = `${QUEUE}.dead-letters`;
/** What the dead-letter consumer does with poison: its default, or `'ack'`. */
const poisonSetting: { poison?: 'ack' | 'dead-letter' } = {};

@Injectable()
class DeadLetterConsumer extends RabbitMqTaskConsumer {
  protected override readonly logger = new RecordingLogger();

  constructor() {
    // Declares the queue as it is (with its dead-letter exchange): RabbitMQ refuses other arguments.
    super({
      connectorName: 'Crm',
      url: RABBITMQ_URL,
      queue: DLX_QUEUE,
      deadLetterExchange: DLX,
      retryDelayMs: 100,
      ...poisonSetting,
    });
  }
}

let admin: ChannelModel;
let channel: Channel;

beforeAll(async () => {
  ({ connection: admin, channel } = await openRabbitMqAdmin());
  await channel.assertQueue(QUEUE, { durable: true });
  await channel.assertExchange(DLX, 'fanout', { durable: true });
  await channel.assertQueue(DEAD_QUEUE, { durable: true });
  await channel.bindQueue(DEAD_QUEUE, DLX, '');
  await channel.assertQueue(DLX_QUEUE, { durable: true, deadLetterExchange: DLX });
});

afterAll(async () => {
  await channel?.deleteQueue(QUEUE);
  await channel?.deleteQueue(DLX_QUEUE);
  await channel?.deleteQueue(DEAD_QUEUE);
  await channel?.deleteExchange(DLX);
  await admin?.close();
});

const send = (body: string, messageId: string, headers?: Record<string, string>) =>
  channel.sendToQueue(QUEUE, Buffer.from(body), {
    messageId,
    persistent: true,
    contentType: 'application/json',
    headers,
  });

/** The headers the bus's relays send for version `sequence` of user 42. */
const relayed = (sequence: string) => ({
  'Bus-Sequence': sequence,
  'Bus-Object-Key': '42',
  'Bus-Object-Type': 'cms.user',
});

async function queueEmpty(): Promise<void> {
  await eventually(async () => {
    const { messageCount } = await channel.checkQueue(QUEUE);
    expect(messageCount).toBe(0);
  }, 10_000);
}

/** Takes every message of the dead-letter queue. */
const deadLetters = async (): Promise<string[]> => {
  const bodies: string[] = [];
  for (;;) {
    const message = await channel.get(DEAD_QUEUE, { noAck: true });
    if (message === false) return bodies;
    bodies.push(message.content.toString('utf8'));
  }
};
/** Sends to the queue with a dead-letter exchange. */
const sendHere = (body: string, messageId: string) =>
  channel.sendToQueue(DLX_QUEUE, Buffer.from(body), { messageId, persistent: true });
/** Waits until that queue is empty. */
const emptied = () =>
  eventually(async () => expect((await channel.checkQueue(DLX_QUEUE)).messageCount).toBe(0), 10_000);

describe('RabbitMqTaskConsumer (R-ECO-2, R-ECO-3)', () => {
  it('logs each message once, in order: a requeue after a lost ack and a message published twice make no second task', async () => {
    source.url = RABBITMQ_URL;
    await withBusApp({ providers: [CrmInConnector, TestRabbitConsumer] }, async (t) => {
      loseAckOnce.add('rabbit-2');
      for (let i = 1; i <= 5; i++) send(personBody(`rabbit-user-${i}`), `rabbit-${i}`);
      send(personBody('rabbit-user-3'), 'rabbit-3'); // RabbitMQ keeps both: the consumer must drop one
      await eventually(() => expect(seen.filter((s) => s === 'rabbit-3')).toHaveLength(2), 10_000);
      await queueEmpty();
      // Requeued after its batch was settled: it comes again after the messages that followed it.
      await eventually(() => expect(seen.filter((s) => s === 'rabbit-2')).toHaveLength(2), 10_000);
      expect(await loggedLogins(t)).toEqual([1, 2, 3, 4, 5].map((i) => `rabbit-user-${i}`));
      await expectUsersApplied(
        t,
        [1, 2, 3, 4, 5].map((i) => `rabbit-user-${i}`),
      );
      console.log(
        `RabbitMQ consumer: 6 messages, ${seen.length} handled (1 requeued after a lost ack, 1 published twice), 5 tasks`,
      );
    });
  }, 60_000);

  it('logs a poison message to the event log and settles it instead of requeuing it (a queue without a dead-letter exchange drops it)', async () => {
    source.url = RABBITMQ_URL;
    await withBusApp({ providers: [CrmInConnector, TestRabbitConsumer] }, async (t) => {
      for (const [i, body] of POISON_BODIES.entries()) send(body, `poison-${i}`);
      send(personBody('after-the-poison'), 'after-poison');
      await eventually(async () => expect(await loggedLogins(t)).toEqual(['after-the-poison']), 10_000);
      await queueEmpty();
      const entries = await poisonEntriesOnce(t, POISON_BODIES.length);
      for (const [i, entry] of entries.entries()) {
        expect(entry.message).toMatch(POISON_REASONS[i]!);
        expect(entry.message).toContain(`poison-${i}`);
      }
      await new Promise((r) => setTimeout(r, 300)); // several retry delays: nothing comes back
      expect(await poisonEntries(t)).toHaveLength(POISON_BODIES.length);
    });
  }, 60_000);

  it('R-ECO-2 rejects a poison message to the queue’s dead-letter exchange by default (logged at error level, counted); with poison: ack it is acknowledged', async () => {
    delete poisonSetting.poison;
    await withBusApp({ providers: [CrmInConnector, DeadLetterConsumer] }, async (t) => {
      for (const [i, body] of POISON_BODIES.entries()) sendHere(body, `dl-poison-${i}`);
      sendHere(personBody('after-dead-letters'), 'dl-after');
      await eventually(async () => expect(await loggedLogins(t)).toEqual(['after-dead-letters']), 10_000);
      await emptied();
      // The broker moved them, unchanged, to the dead-letter queue: nothing is lost.
      // Settled with their batch, after its commit: gathered as they arrive.
      const dead: string[] = [];
      await eventually(async () => {
        dead.push(...(await deadLetters()));
        expect(dead).toEqual([...POISON_BODIES]);
      }, 5_000);
      expect(await poisonEntries(t)).toHaveLength(POISON_BODIES.length);
      const errors = (t.app.get(DeadLetterConsumer)['logger'] as RecordingLogger).at('error');
      expect(errors).toHaveLength(POISON_BODIES.length);
      for (const [i, line] of errors.entries()) {
        expect(line).toMatch(
          new RegExp(`^Message dl-poison-${i} from queue ${DLX_QUEUE} .*dead-letter exchange`),
        );
        expect(line).toMatch(POISON_REASONS[i]!);
      }
      expect(t.app.get(IntakeCounters).of('DeadLetterConsumer')).toMatchObject({
        connectorName: 'Crm',
        accepted: 1,
        duplicate: 0,
        poison: POISON_BODIES.length,
      });
    });

    poisonSetting.poison = 'ack';
    await withBusApp({ providers: [CrmInConnector, DeadLetterConsumer] }, async (t) => {
      sendHere(POISON_BODIES[0], 'ack-poison');
      sendHere(personBody('after-acked-poison'), 'ack-after');
      await eventually(async () => expect(await loggedLogins(t)).toEqual(['after-acked-poison']), 10_000);
      await emptied();
      await new Promise((r) => setTimeout(r, 200));
      expect(await deadLetters()).toEqual([]);
      expect(t.app.get(IntakeCounters).of('DeadLetterConsumer')).toMatchObject({ accepted: 1, poison: 1 });
    });
  }, 60_000);

  it('drops an older version of an object arriving late (Bus-Sequence per Bus-Object-Key): acknowledged, not logged, not poison', async () => {
    source.url = RABBITMQ_URL;
    seen.length = 0;
    await withBusApp({ providers: [CrmInConnector, TestRabbitConsumer] }, async (t) => {
      // What the bus's relays send, published here by an independent client: version 5, then 3.
      send(personBody('user-42-v5'), 'seq-5', relayed('5'));
      send(personBody('user-42-v3'), 'seq-3', relayed('3'));
      // A bad sequence is poison; a sequence without an object key (a plain object) is no check.
      send(personBody('user-42-bad'), 'seq-bad', relayed('five'));
      send(personBody('user-43-v1'), 'seq-no-key', { 'Bus-Sequence': '1' });
      await eventually(
        async () => expect(await loggedLogins(t)).toEqual(['user-42-v5', 'user-43-v1']),
        10_000,
      );
      await queueEmpty();
      await eventually(() => expect(seen).toEqual(['seq-5', 'seq-3', 'seq-no-key']));
      const entries = await poisonEntriesOnce(t, 1);
      expect(entries[0]!.message).toMatch(/seq-bad.*Bus-Sequence must be a non-negative integer/);
      expect(
        await t.sql(`select sequence_key, sequence::int as sequence from integration_intake_sequence`),
      ).toEqual([{ sequence_key: 'cms.user:42', sequence: 5 }]);
      await new Promise((r) => setTimeout(r, 300)); // several retry delays: nothing comes back
      expect(seen).toHaveLength(3);
    });
  }, 60_000);

  it('reconnects after the connection is cut and logs what came meanwhile, once', async () => {
    const proxy = await TcpProxy.start(RABBITMQ_PORT);
    source.url = rabbitMqUrlVia(proxy.port);
    try {
      await withBusApp({ providers: [CrmInConnector, TestRabbitConsumer] }, async (t) => {
        send(personBody('before-cut'), 'cut-1');
        await eventually(async () => expect(await loggedLogins(t)).toEqual(['before-cut']), 10_000);
        await proxy.cut();
        for (let i = 2; i <= 4; i++) send(personBody(`during-cut-${i}`), `cut-${i}`);
        await new Promise((r) => setTimeout(r, 600)); // a few failed reconnection attempts
        const restoredAt = Date.now();
        await proxy.restore();
        await eventually(
          async () =>
            expect(await loggedLogins(t)).toEqual([
              'before-cut',
              'during-cut-2',
              'during-cut-3',
              'during-cut-4',
            ]),
          10_000,
        );
        await queueEmpty();
        console.log(
          `RabbitMQ consumer: reconnected and logged 3 messages ${Date.now() - restoredAt} ms after the cut ended`,
        );
      });
    } finally {
      await proxy.close();
    }
  }, 60_000);
});
