import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Channel, ChannelModel, GetMessage } from 'amqplib';
import { HTTP, type CloudEventV1 } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Connector,
  NatsJetStreamRelayConnector,
  RabbitMqRelayConnector,
  RELAY_CLOUDEVENT_DATA_SCHEMA_ID,
  relayMessageId,
  setRelayTraceContextInjector,
  Subscribe,
  type RelayCloudEventData,
  type RelayEnvelope,
} from 'nestjs-integration-bus';
import { withBusApp } from '../support/bus-app.js';
import { changeUsers, drained } from './support/relay-traffic.js';
import { SHARED_NATS_URL } from './support/nats-server.js';
import { openRabbitMqAdmin, RABBITMQ_URL } from './support/rabbitmq.js';
import { expectValid, relaySchemaValidator } from './support/schema-validator.js';
import { deleteStream, natsClient } from './support/stream-reader.js';

const id = randomUUID().replaceAll('-', '').slice(0, 10);
const CE_PREFIX = `bustest_ce_${id}`;
const CE_STREAM = `BUSTEST_CE_${id}`;
const KEY_PREFIX = `bustest_key_${id}`;
const KEY_STREAM = `BUSTEST_KEY_${id}`;
const CE_EXCHANGE = `bustest.ce.${id}`;
const KEY_EXCHANGE = `bustest.key.${id}`;
const TYPE_PREFIX = 'com.example.crm';

@Connector('CeNatsRelay')
@Subscribe({ objectType: 'cms.user' })
class CeNatsRelay extends NatsJetStreamRelayConnector {
  constructor() {
    super({
      servers: SHARED_NATS_URL,
      subjectPrefix: CE_PREFIX,
      stream: { name: CE_STREAM },
      format: 'cloudevents',
      cloudEvents: { typePrefix: TYPE_PREFIX },
    });
  }
}

@Connector('KeyedNatsRelay')
@Subscribe({ objectType: 'cms.user' })
class KeyedNatsRelay extends NatsJetStreamRelayConnector {
  constructor() {
    super({
      servers: SHARED_NATS_URL,
      subjectPrefix: KEY_PREFIX,
      stream: { name: KEY_STREAM },
      routeBy: 'objectKey',
    });
  }
}

@Connector('CeRabbitRelay')
@Subscribe({ objectType: 'cms.user' })
class CeRabbitRelay extends RabbitMqRelayConnector {
  constructor() {
    super({
      url: RABBITMQ_URL,
      exchange: CE_EXCHANGE,
      format: 'cloudevents',
      cloudEvents: { typePrefix: TYPE_PREFIX },
    });
  }
}

@Connector('KeyedRabbitRelay')
@Subscribe({ objectType: 'cms.user' })
class KeyedRabbitRelay extends RabbitMqRelayConnector {
  constructor() {
    super({ url: RABBITMQ_URL, exchange: KEY_EXCHANGE, routeBy: 'objectKey' });
  }
}

/** A NATS message as stored, with all its headers. */
interface StoredNatsMessage {
  subject: string;
  headers: Record<string, string>;
  body: string;
}

async function readAll(nc: NatsConnection, stream: string): Promise<StoredNatsMessage[]> {
  const jsm = await jetstreamManager(nc);
  const { state } = await jsm.streams.info(stream);
  const messages: StoredNatsMessage[] = [];
  for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
    const stored = await jsm.streams.getMessage(stream, { seq });
    if (!stored) continue;
    const headers: Record<string, string> = {};
    for (const name of stored.header.keys()) headers[name] = stored.header.get(name);
    messages.push({ subject: stored.subject, headers, body: stored.string() });
  }
  return messages;
}

/**
 * The NATS binding's binary mode read as the SDK's HTTP message (the same `ce-` names): each `ce-`
 * header, percent-decoded (NATS binding 1.0.3 §3.1.3.2). Nothing else: `Content-Type` is no attribute.
 */
function natsAsCloudEventMessage(message: StoredNatsMessage) {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (name.toLowerCase().startsWith('ce-')) headers[name.toLowerCase()] = decodeURIComponent(value);
  }
  return { headers, body: message.body };
}

/** The AMQP binding's binary mode as the SDK's message: `cloudEvents:x` → `ce-x`, content-type. */
function amqpAsCloudEventMessage(message: GetMessage) {
  const headers: Record<string, string> = { 'content-type': message.properties.contentType as string };
  for (const [name, value] of Object.entries(message.properties.headers ?? {})) {
    if (name.startsWith('cloudEvents:')) headers[`ce-${name.slice('cloudEvents:'.length)}`] = String(value);
  }
  return { headers, body: message.content.toString('utf8') };
}

/** Parses with the official SDK (strict: attribute names, specversion, required attributes). */
function sdkEvent(message: {
  headers: Record<string, string>;
  body: string;
}): CloudEventV1<RelayCloudEventData> {
  const event = HTTP.toEvent<RelayCloudEventData>(message);
  if (Array.isArray(event)) throw new Error('one event expected');
  return event;
}

const traceparentOf = (messageId: string) =>
  `00-${messageId.slice(0, 36).replaceAll('-', '')}-00f067aa0ba902b7-01`;

/** Checks one relayed CloudEvent against what the task's bus headers say. */
function expectRelayedEvent(
  event: CloudEventV1<RelayCloudEventData>,
  busHeaders: Record<string, unknown>,
  connector: string,
  messageId: string,
): void {
  const data = event.data!;
  expect(messageId).toMatch(new RegExp(`^[0-9a-f-]{36}:${connector}$`));
  expect(event).toMatchObject({
    specversion: '1.0',
    id: messageId,
    source: `/integration-bus/${connector}`,
    type: `${TYPE_PREFIX}.cms.user.${data.taskType}`,
    subject: busHeaders['Bus-Object-Key'],
    datacontenttype: 'application/json',
    dataschema: RELAY_CLOUDEVENT_DATA_SCHEMA_ID,
    partitionkey: `cms.user:${String(busHeaders['Bus-Object-Key'])}`,
    sequence: String(busHeaders['Bus-Sequence']).padStart(19, '0'),
    traceparent: traceparentOf(messageId),
    tracestate: 'bus=test',
  });
  expect(new Date(event.time!).getTime()).toBeGreaterThan(Date.now() - 60_000);
  expect(data).toMatchObject({
    objectType: 'cms.user',
    dataType: 'SIMPLE',
    object: { userName: expect.any(String) },
  });
}

let nc: NatsConnection;
let admin: ChannelModel;
let channel: Channel;
const queues = { ce: `${CE_EXCHANGE}.all`, key: `${KEY_EXCHANGE}.all` };

beforeAll(async () => {
  nc = await natsClient(SHARED_NATS_URL);
  ({ connection: admin, channel } = await openRabbitMqAdmin());
  for (const [exchange, queue] of [
    [CE_EXCHANGE, queues.ce],
    [KEY_EXCHANGE, queues.key],
  ] as const) {
    await channel.assertExchange(exchange, 'topic', { durable: true });
    await channel.assertQueue(queue, { durable: true });
    await channel.bindQueue(queue, exchange, '#');
  }
});

afterAll(async () => {
  await deleteStream(nc, CE_STREAM).catch(() => undefined);
  await deleteStream(nc, KEY_STREAM).catch(() => undefined);
  await nc?.close();
  for (const queue of Object.values(queues)) await channel?.deleteQueue(queue);
  for (const exchange of [CE_EXCHANGE, KEY_EXCHANGE]) await channel?.deleteExchange(exchange);
  await admin?.close();
});

/** Groups items by key, in their order. */
function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

async function drainQueue(queue: string): Promise<GetMessage[]> {
  const messages: GetMessage[] = [];
  for (;;) {
    const message = await channel.get(queue, { noAck: true });
    if (message === false) return messages;
    messages.push(message);
  }
}

describe('relay formats (R-ECO-5)', () => {
  const USERS = 3;
  const ROUNDS = 3;
  const relayed = {
    ceNats: [] as StoredNatsMessage[],
    keyedNats: [] as StoredNatsMessage[],
    ceRabbit: [] as GetMessage[],
    keyedRabbit: [] as GetMessage[],
  };

  beforeAll(async () => {
    setRelayTraceContextInjector((task) => ({
      traceparent: `00-${task.guid.replaceAll('-', '')}-00f067aa0ba902b7-01`,
      tracestate: 'bus=test',
    }));
    try {
      await withBusApp(
        { providers: [CeNatsRelay, KeyedNatsRelay, CeRabbitRelay, KeyedRabbitRelay] },
        async (t) => {
          for (let round = 0; round < ROUNDS; round++) await changeUsers(t, USERS, round);
          await drained(t, 30_000);
        },
      );
    } finally {
      setRelayTraceContextInjector(null);
    }
    relayed.ceNats = await readAll(nc, CE_STREAM);
    relayed.keyedNats = await readAll(nc, KEY_STREAM);
    relayed.ceRabbit = await drainQueue(queues.ce);
    relayed.keyedRabbit = await drainQueue(queues.key);
    for (const [name, list] of Object.entries(relayed)) {
      if (list.length !== USERS * ROUNDS) throw new Error(`${name}: ${list.length} messages relayed`);
    }
  }, 60_000);

  it('R-ECO-5 NATS: every message of format cloudevents is a CloudEvent 1.0 in binary mode the official SDK accepts, with the expected attributes; its data validates against the shipped JSON Schema', () => {
    const validate = relaySchemaValidator('cloudEventData');
    for (const message of relayed.ceNats) {
      expect(message.headers['Content-Type']).toBe('application/json');
      expect(message.headers['ce-datacontenttype']).toBe('application/json');
      const event = sdkEvent(natsAsCloudEventMessage(message));
      expectRelayedEvent(event, message.headers, 'CeNatsRelay', message.headers['Nats-Msg-Id']!);
      expect(message.subject).toBe(`${CE_PREFIX}.cms.user.${event.data!.taskType}`);
      expectValid(validate, JSON.parse(message.body));
    }
    // Each user: created, then updated twice, in order.
    const byKey = groupBy(relayed.ceNats, (m) => m.headers['ce-subject']!);
    for (const messages of byKey.values()) {
      expect(messages.map((m) => (JSON.parse(m.body) as RelayCloudEventData).taskType)).toEqual([
        'CREATEOBJ',
        'UPDATEOBJ',
        'UPDATEOBJ',
      ]);
    }
  });

  it('R-ECO-5 RabbitMQ: every message of format cloudevents carries cloudEvents: application properties and content-type, the official SDK accepts it with the expected attributes; its data validates against the shipped JSON Schema', () => {
    const validate = relaySchemaValidator('cloudEventData');
    for (const message of relayed.ceRabbit) {
      const headers = message.properties.headers!;
      expect(message.properties.contentType).toBe('application/json');
      // The AMQP binding: datacontenttype is the content-type property, not an application property.
      expect(headers['cloudEvents:datacontenttype']).toBeUndefined();
      expect(headers['cloudEvents:specversion']).toBe('1.0');
      const event = sdkEvent(amqpAsCloudEventMessage(message));
      expectRelayedEvent(event, headers, 'CeRabbitRelay', message.properties.messageId as string);
      expect(message.fields.routingKey).toBe(`cms.user.${event.data!.taskType}`);
      expectValid(validate, JSON.parse(message.content.toString('utf8')));
    }
  });

  it('R-ECO-5 the default envelope validates against its shipped JSON Schema and says it is JSON: a Content-Type header on every NATS message, the content-type property on RabbitMQ', () => {
    const validate = relaySchemaValidator('envelope');
    for (const message of relayed.keyedNats) {
      expect(message.headers['Content-Type']).toBe('application/json');
      expectValid(validate, JSON.parse(message.body));
    }
    for (const message of relayed.keyedRabbit) {
      expect(message.properties.contentType).toBe('application/json');
      expectValid(validate, JSON.parse(message.content.toString('utf8')));
    }
  });

  it("R-ECO-5 routeBy: 'objectKey' puts the object key in the subject and routing key: all of one object's changes share one subject, in order, its task types in the headers", () => {
    const nats = relayed.keyedNats.map((m) => ({
      route: m.subject.slice(KEY_PREFIX.length + 1),
      envelope: JSON.parse(m.body) as RelayEnvelope,
      taskTypeHeader: m.headers['Bus-Task-Type'],
    }));
    const rabbit = relayed.keyedRabbit.map((m) => ({
      route: m.fields.routingKey,
      envelope: JSON.parse(m.content.toString('utf8')) as RelayEnvelope,
      taskTypeHeader: m.properties.headers?.['Bus-Task-Type'] as string,
    }));
    for (const [broker, messages] of [
      ['NATS', nats],
      ['RabbitMQ', rabbit],
    ] as const) {
      for (const { route, envelope, taskTypeHeader } of messages) {
        expect(`${broker} ${route}`).toBe(`${broker} cms.user.${envelope.objectKey}`);
        expect(taskTypeHeader).toBe(envelope.taskType);
        expect(relayMessageId({ guid: envelope.taskGuid }, envelope.connector)).toMatch(/:Keyed/);
      }
      const byRoute = groupBy<(typeof messages)[number]>(messages, (m) => m.route);
      expect(byRoute.size).toBe(USERS);
      // A consumer bound to one object's subject gets its create first, then its updates in order.
      for (const list of byRoute.values()) {
        expect(list.map((m) => m.envelope.taskType)).toEqual(['CREATEOBJ', 'UPDATEOBJ', 'UPDATEOBJ']);
        expect(list.map((m) => /-v(\d+)$/.exec(String(m.envelope.data.email))![1])).toEqual(['0', '1', '2']);
      }
    }
  });
});
