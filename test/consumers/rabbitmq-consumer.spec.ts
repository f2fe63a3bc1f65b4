import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Channel, ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RabbitMqTaskConsumer, type BrokerMessage } from 'nestjs-integration-bus';
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
} from './consumer-checks.js';

const QUEUE = `bustest.in.${randomUUID().slice(0, 8)}`;
/** Where the consumer connects: the broker, or a proxy in front of it. */
const source = { url: RABBITMQ_URL };

const acks = new AckLoss();
const { seen, loseAckOnce } = acks;

@Injectable()
class TestRabbitConsumer extends RabbitMqTaskConsumer {
  constructor() {
    super({ connectorName: 'Crm', url: source.url, queue: QUEUE, retryDelayMs: 100, reconnectDelayMs: 200 });
  }

  protected override afterTaskLogged(message: BrokerMessage): void {
    acks.afterTaskLogged(message);
  }
}

let admin: ChannelModel;
let channel: Channel;

beforeAll(async () => {
  ({ connection: admin, channel } = await openRabbitMqAdmin());
  await channel.assertQueue(QUEUE, { durable: true });
});

afterAll(async () => {
  await channel?.deleteQueue(QUEUE);
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

describe('RabbitMqTaskConsumer (R-ECO-2, R-ECO-3)', () => {
  it('logs each message once, in order: a requeue after a lost ack and a message published twice make no second task', async () => {
    source.url = RABBITMQ_URL;
    await withBusApp({ providers: [CrmInConnector, TestRabbitConsumer] }, async (t) => {
      loseAckOnce.add('rabbit-2');
      for (let i = 1; i <= 5; i++) send(personBody(`rabbit-user-${i}`), `rabbit-${i}`);
      send(personBody('rabbit-user-3'), 'rabbit-3'); // RabbitMQ keeps both: the consumer must drop one
      await eventually(() => expect(seen.filter((s) => s === 'rabbit-3')).toHaveLength(2), 10_000);
      await queueEmpty();
      expect(seen.filter((s) => s === 'rabbit-2')).toHaveLength(2);
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

  it('logs a poison message to the event log and acknowledges it instead of requeuing it', async () => {
    source.url = RABBITMQ_URL;
    await withBusApp({ providers: [CrmInConnector, TestRabbitConsumer] }, async (t) => {
      for (const [i, body] of POISON_BODIES.entries()) send(body, `poison-${i}`);
      send(personBody('after-the-poison'), 'after-poison');
      await eventually(async () => expect(await loggedLogins(t)).toEqual(['after-the-poison']), 10_000);
      await queueEmpty();
      const entries = await poisonEntries(t);
      expect(entries).toHaveLength(POISON_BODIES.length);
      for (const [i, entry] of entries.entries()) {
        expect(entry.message).toMatch(POISON_REASONS[i]!);
        expect(entry.message).toContain(`poison-${i}`);
      }
      await new Promise((r) => setTimeout(r, 300)); // several retry delays: nothing comes back
      expect(await poisonEntries(t)).toHaveLength(POISON_BODIES.length);
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
      expect(seen).toEqual(['seq-5', 'seq-3', 'seq-no-key']);
      const entries = await poisonEntries(t);
      expect(entries).toHaveLength(1);
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
