import type { BrokerChannel } from '../../relay/broker-channel.js';
import { RELAY_SCHEMA_FILES } from '../../relay/relay-schemas.js';

/** A relay or consumer of the application, under the name its channel gets in the document. */
export interface DescribedChannel {
  /** The relay's connector code name or the consumer's class name. */
  name: string;
  channel: BrokerChannel;
}

/** URL of the schemas, relative to the AsyncAPI document's (`docs/asyncapi.json` → `docs/schemas/…`). */
export const SCHEMA_ROUTE_PREFIX = 'schemas/';

/** The served file name of a shipped schema (`relay-envelope.json`). */
export function servedSchemaName(file: string): string {
  return file.replace(/\.schema\.json$/, '.json');
}

const BUS_HEADERS = {
  'Bus-Task-Type': { type: 'string', description: 'The task type (CREATEOBJ, UPDATEOBJ, …).' },
  'Bus-Object-Type': { type: 'string', description: 'The object type (cms.user).' },
  'Bus-Object-Key': { type: 'string', description: "The object's key: per-object order is kept by it." },
  'Bus-Sequence': {
    type: 'string',
    pattern: '^[0-9]+$',
    description: 'Grows with commit order per object: refuse a version not above the last applied.',
  },
  traceparent: { type: 'string', description: 'W3C trace context of the task.' },
  tracestate: { type: 'string' },
} as const;

/** The CloudEvents attributes a relay sends, as `ce-` (NATS) or `cloudEvents:` (AMQP) headers. */
const CLOUDEVENT_ATTRIBUTES = [
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'dataschema',
  'partitionkey',
  'sequence',
  'traceparent',
  'tracestate',
] as const;

function cloudEventHeaders(protocol: string | null): Record<string, unknown> {
  const prefix = protocol === 'amqp' ? 'cloudEvents:' : 'ce-';
  const names = protocol === 'amqp' ? CLOUDEVENT_ATTRIBUTES : [...CLOUDEVENT_ATTRIBUTES, 'datacontenttype'];
  return Object.fromEntries(names.map((name) => [`${prefix}${name}`, { type: 'string' }]));
}

const PARAMETERS: Record<string, { description: string }> = {
  objectType: { description: 'The object type, made safe for a subject (cms.user).' },
  taskType: { description: 'The task type (CREATEOBJ, UPDATEOBJ, DELETEOBJ, …).' },
  objectKey: { description: "The object's key as one token (characters other than A–Z, 0–9, _ and - as _)." },
  route: { description: "The relay's own `route` function decides." },
};

/** The message of a channel: payload schema and headers by what it carries. */
function messageOf(channel: BrokerChannel): Record<string, unknown> {
  if (channel.message === 'incoming') {
    return {
      name: 'IncomingTask',
      title: 'An incoming task',
      contentType: 'application/json',
      summary:
        'The body of the HTTP ingest route, or a CloudEvent 1.0 (binary or structured mode) whose data is that ' +
        "body; the task type may then be the last part of the event's type. The message id (a CloudEvent's " +
        'source and id) is the idempotency key.',
      payload: {
        type: 'object',
        required: ['object'],
        properties: {
          object: { type: 'object', description: "The external system's record." },
          taskType: { type: 'string' },
          dataType: { type: 'string', enum: ['SIMPLE', 'SIMPLESNAPSHOT', 'SNAPSHOT'] },
          processType: { type: 'string' },
          siteName: { type: ['string', 'null'] },
        },
      },
    };
  }
  const cloudEvents = channel.message === 'cloudevents';
  const file = cloudEvents ? RELAY_SCHEMA_FILES.cloudEventData : RELAY_SCHEMA_FILES.envelope;
  const headers: Record<string, unknown> = {
    ...BUS_HEADERS,
    ...(cloudEvents ? cloudEventHeaders(channel.protocol) : {}),
  };
  if (channel.protocol === 'nats') {
    headers['Nats-Msg-Id'] = {
      type: 'string',
      description: 'Task GUID:connector (JetStream drops a repeat).',
    };
    headers['Content-Type'] = { type: 'string', const: 'application/json' };
  }
  return {
    name: cloudEvents ? 'RelayCloudEvent' : 'RelayEnvelope',
    title: cloudEvents ? 'A relayed task as a CloudEvent 1.0 (binary content mode)' : 'A relayed task',
    contentType: 'application/json',
    headers: { type: 'object', properties: headers },
    payload: { $ref: `${SCHEMA_ROUTE_PREFIX}${servedSchemaName(file)}` },
  };
}

/** A key safe in a component name and a JSON pointer. */
function keyOf(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/**
 * The AsyncAPI 3.0 document of the application's relays (send) and consumers (receive), R-ECO-5:
 * one channel each with its address, server, message headers and payload schema (by reference to
 * the JSON Schemas served beside it).
 */
export function buildAsyncApiDocument(options: {
  version: string;
  relays: readonly DescribedChannel[];
  consumers: readonly DescribedChannel[];
}): Record<string, unknown> {
  const servers: Record<string, unknown> = {};
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const serverKeys = new Map<string, string>();
  const all = [
    ...options.relays.map((r) => ({ ...r, kind: 'relay' })),
    ...options.consumers.map((c) => ({ ...c, kind: 'consumer' })),
  ];
  for (const { name, channel, kind } of all) {
    const refs: { $ref: string }[] = [];
    for (const host of channel.protocol ? channel.hosts : []) {
      const id = `${channel.protocol}:${host}`;
      let key = serverKeys.get(id);
      if (!key) {
        key = keyOf(`${channel.protocol}-${host}`);
        serverKeys.set(id, key);
        servers[key] = { host, protocol: channel.protocol };
      }
      refs.push({ $ref: `#/servers/${key}` });
    }
    const channelKey = keyOf(`${kind}-${name}`);
    const parameters = Object.fromEntries(
      [...(channel.address ?? '').matchAll(/\{(\w+)\}/g)].map(([, p]) => [p!, PARAMETERS[p!] ?? {}]),
    );
    channels[channelKey] = {
      address: channel.address,
      title: `${kind === 'relay' ? 'Relay' : 'Consumer'} ${name}`,
      description: channel.description,
      ...(refs.length > 0 ? { servers: refs } : {}),
      ...(Object.keys(parameters).length > 0 ? { parameters } : {}),
      messages: { task: messageOf(channel) },
      ...(channel.bindings ? { bindings: channel.bindings } : {}),
    };
    operations[keyOf(`${channelKey}-${channel.action}`)] = {
      action: channel.action,
      channel: { $ref: `#/channels/${channelKey}` },
      messages: [{ $ref: `#/channels/${channelKey}/messages/task` }],
    };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Integration bus messages',
      version: options.version,
      description:
        'What the relays of this application publish (send) and its broker consumers read (receive). Payload ' +
        'schemas: JSON Schema draft 2020-12, served beside this document.',
    },
    defaultContentType: 'application/json',
    servers,
    channels,
    operations,
  };
}
