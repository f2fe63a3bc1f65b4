import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Injectable } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Ajv as AjvType } from 'ajv';
import type { Ajv2020 as Ajv2020Type } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Connector,
  NatsJetStreamRelayConnector,
  RabbitMqRelayConnector,
  RabbitMqTaskConsumer,
  relaySchema,
  Subscribe,
} from 'nestjs-integration-bus';
import { CrmInConnector } from '../incoming-http/incoming-http-app.js';
import { listen } from '../management/http-client.js';
import { withBusApp } from '../support/bus-app.js';
import { changeUsers, drained } from './support/relay-traffic.js';
import { SHARED_NATS_URL } from './support/nats-server.js';
import { openRabbitMqAdmin, RABBITMQ_URL } from './support/rabbitmq.js';
import { deleteStream, natsClient } from './support/stream-reader.js';

const require = createRequire(import.meta.url);
const { Ajv2020 } = require('ajv/dist/2020') as { Ajv2020: typeof Ajv2020Type };
const { Ajv } = require('ajv') as { Ajv: typeof AjvType };
const addFormats = require('ajv-formats') as <T>(ajv: T) => T;
const asyncApiSpecs = require('@asyncapi/specs') as { schemas: Record<string, object> };

const TOKEN = 'schemas-token';
const id = randomUUID().replaceAll('-', '').slice(0, 10);
const PREFIX = `bustest_sch_${id}`;
const STREAM = `BUSTEST_SCH_${id}`;
const EXCHANGE = `bustest.sch.${id}`;
const QUEUE = `bustest.sch.${id}.in`;

@Connector('SchemaNatsRelay')
@Subscribe({ objectType: 'cms.user' })
class SchemaNatsRelay extends NatsJetStreamRelayConnector {
  constructor() {
    super({
      servers: SHARED_NATS_URL,
      subjectPrefix: PREFIX,
      stream: { name: STREAM },
      format: 'cloudevents',
    });
  }
}

@Connector('SchemaRabbitRelay')
@Subscribe({ objectType: 'cms.user' })
class SchemaRabbitRelay extends RabbitMqRelayConnector {
  constructor() {
    super({ url: RABBITMQ_URL, exchange: EXCHANGE, routeBy: 'objectKey' });
  }
}

@Injectable()
class ErpQueueConsumer extends RabbitMqTaskConsumer {
  constructor() {
    super({ connectorName: 'Crm', url: RABBITMQ_URL, queue: QUEUE });
  }
}

let nc: NatsConnection;

beforeAll(async () => {
  nc = await natsClient(SHARED_NATS_URL);
  const { connection, channel } = await openRabbitMqAdmin();
  await channel.assertQueue(QUEUE, { durable: true });
  await channel.assertExchange(EXCHANGE, 'topic', { durable: true });
  await channel.bindQueue(QUEUE, EXCHANGE, '#');
  await connection.close();
});

afterAll(async () => {
  await deleteStream(nc, STREAM);
  await nc?.close();
  const { connection, channel } = await openRabbitMqAdmin();
  await channel.deleteQueue(QUEUE);
  await channel.deleteExchange(EXCHANGE);
  await connection.close();
});

describe('schemas and AsyncAPI beside the OpenAPI document (R-ECO-5)', () => {
  it('R-ECO-5 serves the JSON Schemas of both bodies and an AsyncAPI 3 document of the relays and consumers that the official AsyncAPI 3.0.0 schema accepts; a relayed message validates against the served schema', async () => {
    await withBusApp(
      {
        // The consumers' connector (Crm) must exist before they start: a stream the relay creates first.
        providers: [SchemaNatsRelay, SchemaRabbitRelay, CrmInConnector, ErpQueueConsumer],
        bus: { http: { adminToken: TOKEN } },
      },
      async (t) => {
        const client = await listen(t.app, TOKEN);
        // The relay creates the stream; a message relayed through it is what the served schema checks.
        await changeUsers(t, 1, 0);
        await drained(t, 20_000);

        for (const [name, which] of [
          ['relay-envelope.json', 'envelope'],
          ['relay-cloudevent-data.json', 'cloudEventData'],
        ] as const) {
          const served = await client.request('GET', `/integration/docs/schemas/${name}`);
          expect(served.status).toBe(200);
          expect(served.body).toEqual(relaySchema(which));
          expect(
            (await client.request('GET', `/integration/docs/schemas/${name}`, { token: null })).status,
          ).toBe(401);
        }
        expect((await client.request('GET', '/integration/docs/schemas/nothing.json')).status).toBe(404);

        // A relayed CloudEvent's data, validated against the schema as served.
        const served = await client.request('GET', '/integration/docs/schemas/relay-cloudevent-data.json');
        const validate = addFormats(new Ajv2020({ allowUnionTypes: true, allErrors: true })).compile(
          served.body,
        );
        const { jetstreamManager } = await import('@nats-io/jetstream');
        const stored = await (await jetstreamManager(nc)).streams.getMessage(STREAM, { seq: 1 });
        const data: unknown = stored!.json();
        validate(data);
        expect(validate.errors ?? null).toBeNull();
        // And the schema does say something: a body without its object fails.
        expect(validate({ ...(data as object), object: undefined })).toBe(false);

        const asyncApi = await client.request('GET', '/integration/docs/asyncapi.json');
        expect(asyncApi.status).toBe(200);
        expect((await client.request('GET', '/integration/docs/asyncapi.json', { token: null })).status).toBe(
          401,
        );
        // The spec's bundle carries its own copy of the draft-07 meta-schema: not ajv's as well.
        const ajv = addFormats(
          new Ajv({ strict: false, allErrors: true, meta: false, validateSchema: false }),
        );
        const validAsyncApi = ajv.compile(asyncApiSpecs.schemas['3.0.0']!);
        validAsyncApi(asyncApi.body);
        expect(validAsyncApi.errors ?? null).toBeNull();
        // The official schema does check: AsyncAPI 2's `publish` is no AsyncAPI 3 action.
        const op = { action: 'publish', channel: { $ref: '#/channels/relay-SchemaNatsRelay' } };
        expect(validAsyncApi({ ...asyncApi.body, operations: { old: op } })).toBe(false);
        const doc = asyncApi.body;
        expect(doc.asyncapi).toBe('3.0.0');
        expect(doc.channels['relay-SchemaNatsRelay']).toMatchObject({
          address: `${PREFIX}.{objectType}.{taskType}`,
          servers: [{ $ref: '#/servers/nats-127.0.0.1_4222' }],
          messages: {
            task: { name: 'RelayCloudEvent', payload: { $ref: 'schemas/relay-cloudevent-data.json' } },
          },
        });
        expect(doc.channels['relay-SchemaNatsRelay'].messages.task.headers.properties).toHaveProperty(
          'ce-id',
        );
        expect(doc.channels['relay-SchemaRabbitRelay']).toMatchObject({
          address: '{objectType}.{objectKey}',
          bindings: { amqp: { is: 'routingKey', exchange: { name: EXCHANGE } } },
          messages: { task: { name: 'RelayEnvelope', payload: { $ref: 'schemas/relay-envelope.json' } } },
        });
        expect(doc.channels['consumer-ErpQueueConsumer']).toMatchObject({
          address: QUEUE,
          messages: { task: { name: 'IncomingTask' } },
        });
        expect(doc.operations).toMatchObject({
          'relay-SchemaNatsRelay-send': { action: 'send' },
          'relay-SchemaRabbitRelay-send': { action: 'send' },
          'consumer-ErpQueueConsumer-receive': { action: 'receive' },
        });
        expect(doc.servers['amqp-127.0.0.1_5672']).toEqual({ host: '127.0.0.1:5672', protocol: 'amqp' });
        // The AMQP URL's credentials stay out of the document.
        expect(asyncApi.text).not.toContain('guest');
      },
    );
  }, 60_000);

  it('R-ECO-5 the package ships the schemas as files: listed in `files` and exported as nestjs-integration-bus/schemas/*', () => {
    const manifest = JSON.parse(
      readFileSync(new URL('../../libs/integration-bus/package.json', import.meta.url), 'utf8'),
    ) as { files: string[]; exports: Record<string, unknown> };
    expect(manifest.files).toContain('schemas');
    expect(manifest.exports['./schemas/*']).toBe('./schemas/*');
    const file = require.resolve('nestjs-integration-bus/schemas/relay-envelope.schema.json');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(relaySchema('envelope'));
  });
});
