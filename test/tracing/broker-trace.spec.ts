// The tracing setup first: the instrumentations patch amqplib and http as they are loaded.
import { amqplibInstrumentation, sdk } from './support/instrument.js';
import { randomUUID } from 'node:crypto';
import { Controller, Injectable, Module, Post } from '@nestjs/common';
import { MikroORM } from '@mikro-orm/core';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { Channel, ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Connector,
  RabbitMqRelayConnector,
  RabbitMqTaskConsumer,
  Subscribe,
  type BrokerMessage,
  type RelayEnvelope,
} from 'nestjs-integration-bus';
import { CrmInConnector } from '../incoming-http/incoming-http-app.js';
import { listen, type HttpClient } from '../management/http-client.js';
import { openRabbitMqAdmin, RABBITMQ_URL } from '../relay/support/rabbitmq.js';
import { useBusApp } from '../support/bus-app.js';
import { User } from '../support/entities.js';
import { asChain, linksOf, parentIdOf } from '../support/otel-sdk.js';
import { eventually } from '../support/recording-connector.js';

const id = randomUUID().slice(0, 8);
const EXCHANGE = `bustest.trace.${id}`;
const QUEUE = `bustest.trace.${id}.in`;

/** A host route that changes an entity. */
@Controller('users')
class UsersController {
  constructor(private readonly orm: MikroORM) {}

  @Post()
  async create(): Promise<{ ok: true }> {
    const em = this.orm.em.fork();
    em.create(User, { userName: 'traced' });
    await em.flush();
    return { ok: true };
  }
}

@Module({ controllers: [UsersController] })
class UsersModule {}

/** Relays every user change to the exchange. */
@Connector('RabbitRelay')
@Subscribe({ objectType: 'cms.user' })
class TraceRelay extends RabbitMqRelayConnector {
  constructor() {
    super({ url: RABBITMQ_URL, exchange: EXCHANGE, publishTimeoutMs: 2000 });
  }
}

/** The other side: the relayed users come back as incoming tasks of `Crm`, renamed. */
@Injectable()
class TraceConsumer extends RabbitMqTaskConsumer {
  constructor() {
    super({
      connectorName: 'Crm',
      url: RABBITMQ_URL,
      queue: QUEUE,
      bindings: [{ exchange: EXCHANGE, pattern: 'cms.user.#' }],
      decode: (message: BrokerMessage) => {
        const envelope = JSON.parse(Buffer.from(message.body).toString('utf8')) as RelayEnvelope;
        return {
          object: { login: `${String(envelope.data.userName)}-mirrored` },
          options: { taskType: envelope.taskType },
        };
      },
    });
  }
}

let admin: ChannelModel;
let channel: Channel;

beforeAll(async () => {
  ({ connection: admin, channel } = await openRabbitMqAdmin());
  await channel.assertExchange(EXCHANGE, 'topic', { durable: true });
});

const t = useBusApp({
  providers: [TraceRelay, CrmInConnector, TraceConsumer],
  imports: [UsersModule],
  // Processed by hand, once: the user the consumer creates would be relayed again.
  bus: { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } },
});
let http: HttpClient;

beforeAll(async () => {
  http = await listen(t.app, null);
});

afterAll(async () => {
  await channel?.deleteQueue(QUEUE);
  await channel?.deleteExchange(EXCHANGE);
  await admin?.close();
  await sdk.stop();
});

/** The one span matching `match`. */
function only(match: (span: ReadableSpan) => boolean, what: string): ReadableSpan {
  const found = sdk.spans().filter(match);
  if (found.length !== 1) throw new Error(`${what}: ${found.length} spans, expected 1`);
  return found[0]!;
}

describe('one trace from an HTTP request through the queue and RabbitMQ to the consumer (R-ECO-4, R-ECO-2)', () => {
  it('R-ECO-4 links request, create, process, publish, the amqplib spans and the consumer into one trace', async () => {
    expect(amqplibInstrumentation.isEnabled()).toBe(true);
    expect((await http.request('POST', '/users')).status).toBe(201);
    // The relay publishes; the consumer logs the incoming task.
    await t.bus.processOutgoingTasks('RabbitRelay');
    await eventually(async () => {
      const rows = await t.sql(`select 1 from integration_task where is_inbound`);
      expect(rows).toHaveLength(1);
    }, 15_000);
    await t.bus.processIncomingTasks('Crm');

    const route = 'cms.user.CREATEOBJ';
    const server = only((s) => s.kind === SpanKind.SERVER, 'the HTTP server span');
    // (Applying the incoming task changes a user too: a second outgoing create span, under `process Crm`.)
    const created = only(
      (s) => s.name === 'create cms.user' && parentIdOf(s) === server.spanContext().spanId,
      'the create span of the change',
    );
    const relayed = only((s) => s.name === 'process RabbitRelay', 'the relay call');
    const publish = only((s) => s.name === `publish ${EXCHANGE}:${route}`, "the relay's publish span");
    const amqpPublish = only(
      (s) => s.name === `publish ${EXCHANGE}` && s.instrumentationScope.name.includes('amqplib'),
      "amqplib instrumentation's publish span",
    );
    const amqpProcess = only(
      (s) => s.name === `${QUEUE} process` && s.instrumentationScope.name.includes('amqplib'),
      "amqplib instrumentation's consume span",
    );
    const consumed = only(
      (s) => s.name === `process ${EXCHANGE}:${route}:${QUEUE}`,
      "the consumer's process span",
    );
    const incoming = only(
      (s) => s.name === 'create cms.user' && s.attributes['integration_bus.direction'] === 'incoming',
      'the create span of the incoming task',
    );
    const applied = only((s) => s.name === 'process Crm', 'the incoming call');

    // One trace, each span the child of the one before.
    const chain = [server, created, relayed, publish, amqpPublish, amqpProcess, consumed, incoming, applied];
    expect(linksOf(chain)).toEqual(asChain(chain));
    expect(parentIdOf(server)).toBeUndefined();

    // The messaging semantic conventions.
    expect(publish).toMatchObject({
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'rabbitmq',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'publish',
        'messaging.destination.name': `${EXCHANGE}:${route}`,
        'messaging.rabbitmq.destination.routing_key': route,
        'messaging.message.id': expect.stringMatching(/:RabbitRelay$/),
      },
      instrumentationScope: { name: 'nestjs-integration-bus' },
    });
    expect(consumed).toMatchObject({
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'rabbitmq',
        'messaging.operation.type': 'process',
        'messaging.destination.name': `${EXCHANGE}:${route}:${QUEUE}`,
        'messaging.message.id': publish.attributes['messaging.message.id'],
      },
    });
    // The consumer links the context the message carried (amqplib's publish span wrote it last).
    expect(consumed.links.map((l) => l.context.spanId)).toEqual([amqpPublish.spanContext().spanId]);
  }, 60_000);
});
