import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import type { Channel, ChannelModel } from 'amqplib';
import { CloudEvent, HTTP } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntakeCounters, NatsJetStreamTaskConsumer, RabbitMqTaskConsumer } from 'nestjs-integration-bus';
import { CrmInConnector } from '../incoming-http/incoming-http-app.js';
import { withBusApp } from '../support/bus-app.js';
import { eventually } from '../support/recording-connector.js';
import { SHARED_NATS_URL } from '../relay/support/nats-server.js';
import { openRabbitMqAdmin, RABBITMQ_URL } from '../relay/support/rabbitmq.js';
import { deleteStream, natsClient } from '../relay/support/stream-reader.js';
import { loggedLogins, poisonEntriesOnce, RecordingLogger } from './consumer-checks.js';

const id = randomUUID().replaceAll('-', '').slice(0, 12);
const STREAM = `BUSCE_${id}`;
const SUBJECT = `busce_${id}.people`;
const QUEUE = `bustest.ce.in.${id}`;

@Injectable()
class CloudEventsNatsConsumer extends NatsJetStreamTaskConsumer {
  protected override readonly logger = new RecordingLogger();

  constructor() {
    super({
      connectorName: 'Crm',
      servers: SHARED_NATS_URL,
      stream: STREAM,
      consumer: 'bus',
      retryDelayMs: 100,
    });
  }
}

@Injectable()
class CloudEventsRabbitConsumer extends RabbitMqTaskConsumer {
  protected override readonly logger = new RecordingLogger();

  constructor() {
    super({ connectorName: 'Crm', url: RABBITMQ_URL, queue: QUEUE, retryDelayMs: 100 });
  }
}

/** A CloudEvent as another system builds it with the official SDK: a new user for the CRM connector. */
function personEvent(login: string, eventId: string, extra: Partial<Record<string, unknown>> = {}) {
  return new CloudEvent({
    specversion: '1.0',
    id: eventId,
    source: '/erp/people',
    // The task type is the type's last part; the data is the body of the ingest route.
    type: 'com.example.erp.cms.user.CREATEOBJ',
    subject: login,
    datacontenttype: 'application/json',
    data: { object: { login } },
    ...extra,
  });
}

let nc: NatsConnection;
let admin: ChannelModel;
let channel: Channel;

beforeAll(async () => {
  nc = await natsClient(SHARED_NATS_URL);
  await (await jetstreamManager(nc)).streams.add({ name: STREAM, subjects: [`busce_${id}.>`] });
  ({ connection: admin, channel } = await openRabbitMqAdmin());
  await channel.assertQueue(QUEUE, { durable: true });
});

afterAll(async () => {
  if (nc) {
    await deleteStream(nc, STREAM);
    await nc.close();
  }
  await channel?.deleteQueue(QUEUE);
  await admin?.close();
});

/** Publishes an SDK message on NATS: its `ce-` headers (ASCII here) and content type as NATS headers. */
async function publishOnNats(message: { headers: Record<string, unknown>; body: unknown }): Promise<void> {
  const h = natsHeaders();
  for (const [name, value] of Object.entries(message.headers)) h.set(name, String(value));
  await jetstream(nc).publish(SUBJECT, String(message.body), { headers: h });
}

/** Publishes an SDK message on RabbitMQ per the AMQP binding: `cloudEvents:` properties, content-type. */
function publishOnRabbit(
  message: { headers: Record<string, unknown>; body: unknown },
  messageId: string,
): void {
  const properties: Record<string, string> = {};
  let contentType = '';
  for (const [name, value] of Object.entries(message.headers)) {
    if (name === 'content-type') contentType = String(value);
    else if (name.startsWith('ce-')) properties[`cloudEvents:${name.slice(3)}`] = String(value);
  }
  channel.sendToQueue(QUEUE, Buffer.from(String(message.body)), {
    messageId,
    contentType,
    headers: properties,
    persistent: true,
  });
}

describe('consumers read CloudEvents (R-ECO-5)', () => {
  it('R-ECO-5 NATS: a CloudEvent built by the official SDK, binary or structured, becomes a task; the same source and id again is a duplicate; an invalid one is poison', async () => {
    await withBusApp({ providers: [CrmInConnector, CloudEventsNatsConsumer] }, async (t) => {
      await publishOnNats(HTTP.binary(personEvent('ce-nats-binary', 'nats-ev-1')));
      await publishOnNats(
        HTTP.structured(
          personEvent('ce-nats-structured', 'nats-ev-2', {
            type: 'com.example.erp.person.created',
            data: { object: { login: 'ce-nats-structured' }, taskType: 'CREATEOBJ' },
          }),
        ),
      );
      // The first event sent again: another NATS message (no Nats-Msg-Id), the same event.
      await publishOnNats(HTTP.binary(personEvent('ce-nats-binary', 'nats-ev-1')));
      // Not CloudEvents 1.0: poison, not retried forever.
      const old = HTTP.binary(personEvent('ce-nats-old', 'nats-ev-3'));
      await publishOnNats({ headers: { ...old.headers, 'ce-specversion': '0.3' }, body: old.body });
      await publishOnNats(HTTP.binary(personEvent('ce-nats-last', 'nats-ev-4')));
      await eventually(
        async () =>
          expect(await loggedLogins(t)).toEqual(['ce-nats-binary', 'ce-nats-structured', 'ce-nats-last']),
        10_000,
      );
      // The poison message is written down and counted as its batch is settled, after the commit.
      const [poison] = await poisonEntriesOnce(t, 1);
      await eventually(() =>
        expect(t.app.get(IntakeCounters).of('CloudEventsNatsConsumer')).toMatchObject({
          accepted: 3,
          duplicate: 1,
          poison: 1,
        }),
      );
      expect(poison!.message).toMatch(/specversion "0.3" is not supported/);
    });
  }, 60_000);

  it('R-ECO-5 RabbitMQ: a CloudEvent built by the official SDK, binary (cloudEvents: application properties) or structured (content-type application/cloudevents+json), becomes a task; its source and id dedupe it', async () => {
    await withBusApp({ providers: [CrmInConnector, CloudEventsRabbitConsumer] }, async (t) => {
      publishOnRabbit(HTTP.binary(personEvent('ce-rabbit-binary', 'rabbit-ev-1')), 'amqp-1');
      publishOnRabbit(HTTP.structured(personEvent('ce-rabbit-structured', 'rabbit-ev-2')), 'amqp-2');
      // The same event under another AMQP message id: the event's identity decides.
      publishOnRabbit(HTTP.binary(personEvent('ce-rabbit-binary', 'rabbit-ev-1')), 'amqp-3');
      publishOnRabbit(HTTP.binary(personEvent('ce-rabbit-last', 'rabbit-ev-4')), 'amqp-4');
      await eventually(
        async () =>
          expect(await loggedLogins(t)).toEqual([
            'ce-rabbit-binary',
            'ce-rabbit-structured',
            'ce-rabbit-last',
          ]),
        10_000,
      );
      // Counted once the commit's answer is back, which may be a moment after the rows are seen.
      await eventually(() =>
        expect(t.app.get(IntakeCounters).of('CloudEventsRabbitConsumer')).toMatchObject({
          accepted: 3,
          duplicate: 1,
          poison: 0,
        }),
      );
      const debug = (t.app.get(CloudEventsRabbitConsumer)['logger'] as RecordingLogger).at('debug');
      expect(debug).toEqual([expect.stringMatching(/^Message amqp-3 from queue .* is a duplicate for Crm/)]);
    });
  }, 60_000);
});
