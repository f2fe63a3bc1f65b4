import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Channel, ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusMetrics, RabbitMqTaskConsumer } from 'nestjs-integration-bus';
import { personBody } from '../consumers/consumer-checks.js';
import { CrmInConnector } from '../incoming-http/incoming-http-app.js';
import { openRabbitMqAdmin, RABBITMQ_URL } from '../relay/support/rabbitmq.js';
import { useBusApp } from '../support/bus-app.js';
import { eventually } from '../support/recording-connector.js';

const QUEUE = `bustest.intake.${randomUUID().slice(0, 8)}`;

@Injectable()
class CrmIntake extends RabbitMqTaskConsumer {
  constructor() {
    super({ connectorName: 'Crm', url: RABBITMQ_URL, queue: QUEUE, retryDelayMs: 100 });
  }
}

let admin: ChannelModel;
let channel: Channel;

beforeAll(async () => {
  ({ connection: admin, channel } = await openRabbitMqAdmin());
  await channel.assertQueue(QUEUE, { durable: true });
});

const t = useBusApp({ providers: [CrmInConnector, CrmIntake] });

afterAll(async () => {
  await channel?.deleteQueue(QUEUE);
  await admin?.close();
});

const send = (body: string, messageId: string, headers?: Record<string, string>) =>
  channel.sendToQueue(QUEUE, Buffer.from(body), { messageId, contentType: 'application/json', headers });

/** The headers the bus's relays send for version `sequence` of one object. */
const version = (sequence: string) => ({ 'Bus-Sequence': sequence, 'Bus-Object-Key': '7' });

/** The consumer's intake counters, by outcome. */
async function intake(): Promise<Record<string, number>> {
  const text = await t.app.get(BusMetrics).render();
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(
    /^integration_bus_consumer_messages_total\{consumer="CrmIntake",connector="Crm",outcome="(\w+)"\} (\d+)$/gm,
  )) {
    counts[match[1]!] = Number(match[2]);
  }
  return counts;
}

describe('consumer intake metrics (R-OPS-2)', () => {
  it('R-OPS-2 counts accepted, duplicate, stale and poison messages per consumer, each from 0', async () => {
    expect(await intake()).toEqual({ accepted: 0, duplicate: 0, stale: 0, poison: 0, retried: 0 });
    send(personBody('intake-1'), 'intake-1');
    send(personBody('intake-1'), 'intake-1'); // published twice: one task
    send(personBody('intake-v5'), 'intake-v5', version('5'));
    send(personBody('intake-v3'), 'intake-v3', version('3')); // older than one logged: dropped
    send('not json {', 'intake-poison');
    await eventually(
      async () =>
        expect(await intake()).toEqual({ accepted: 2, duplicate: 1, stale: 1, poison: 1, retried: 0 }),
      10_000,
    );
  }, 30_000);
});
