import { InvalidBrokerMessageError } from '../errors/invalid-broker-message.error.js';
import type { RelayCloudEventAttributes } from './relay-cloud-event.js';

/**
 * CloudEvents 1.0 over the brokers' headers, both ways (R-ECO-5), per the official protocol
 * bindings: NATS binary mode puts each attribute in a `ce-<name>` header, its value percent-encoded
 * (NATS binding 1.0.3 §3.1.3); AMQP binary mode puts each attribute but `datacontenttype` in an
 * application property `cloudEvents:<name>` (RabbitMQ: the headers table) and `datacontenttype` in
 * the `content-type` property (AMQP binding §3.1). Structured mode is the JSON event format in the
 * body with content type `application/cloudevents+json`.
 */

/** Prefix of the NATS (and HTTP) binary-mode headers. */
export const NATS_CLOUDEVENT_PREFIX = 'ce-';

/** Prefix of the AMQP binary-mode application properties. */
export const AMQP_CLOUDEVENT_PREFIX = 'cloudEvents:';

/** Media type of the JSON event format (structured mode). */
export const CLOUDEVENTS_JSON_TYPE = 'application/cloudevents+json';

/**
 * The prefixes a received message's attributes may carry: `ce-` (NATS, HTTP), `cloudEvents:` and
 * `cloudEvents_` (AMQP), `ce_` (Kafka-style, which some AMQP producers use). Matched without regard
 * to case; only `ce-` values are percent-encoded.
 */
const RECEIVED_PREFIXES = [
  { prefix: 'ce-', percentEncoded: true },
  { prefix: 'cloudevents:', percentEncoded: false },
  { prefix: 'cloudevents_', percentEncoded: false },
  { prefix: 'ce_', percentEncoded: false },
] as const;

/** The NATS headers of a CloudEvent's attributes (binary mode), `datacontenttype` included. */
export function natsCloudEventHeaders(attributes: RelayCloudEventAttributes): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(attributes)) {
    headers[`${NATS_CLOUDEVENT_PREFIX}${name}`] = percentEncode(value);
  }
  return headers;
}

/**
 * The AMQP application properties of a CloudEvent's attributes (binary mode): all but
 * `datacontenttype`, which is the message's `content-type` property.
 */
export function amqpCloudEventHeaders(attributes: RelayCloudEventAttributes): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(attributes)) {
    if (name !== 'datacontenttype') headers[`${AMQP_CLOUDEVENT_PREFIX}${name}`] = value;
  }
  return headers;
}

/** A character `percentEncode` escapes: outside printable ASCII, space, `"` or `%`. */
const NEEDS_PERCENT_ENCODING = /[^\x21\x23\x24\x26-\x7e]/;

/**
 * Percent-encodes a header value as the NATS binding requires: space, `"`, `%` and every character
 * outside printable ASCII, as the bytes of its UTF-8 form (`%E2%82%AC`).
 */
export function percentEncode(value: string): string {
  // Most values (ids, types, times, URIs) need no escape: one test instead of a loop per character.
  if (!NEEDS_PERCENT_ENCODING.test(value)) return value;
  let encoded = '';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (code > 0x20 && code < 0x7f && char !== '"' && char !== '%') encoded += char;
    else
      for (const byte of Buffer.from(char, 'utf8'))
        encoded += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}

/**
 * Decodes a percent-encoded header value (after unquoting a double-quoted one, which older senders
 * may use).
 * @throws InvalidBrokerMessageError for a bad escape or bytes that are not UTF-8
 */
export function percentDecode(value: string): string {
  let text = value.trim();
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) {
    text = text.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  if (!text.includes('%')) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%') {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex))
        throw new InvalidBrokerMessageError(`bad percent-encoding in "${value}"`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(...Buffer.from(text[i]!, 'utf8'));
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    throw new InvalidBrokerMessageError(`percent-encoded bytes that are not UTF-8 in "${value}"`);
  }
}

/** A CloudEvent as a consumer received it. */
export interface ReceivedCloudEvent {
  /** How it came: attributes in headers (`binary`) or all in the body (`structured`). */
  mode: 'binary' | 'structured';
  /** Its attributes as text, by lowercase name (`id`, `source`, `type`, …, extensions). */
  attributes: Record<string, string>;
  /** Its data: parsed JSON when the content type is JSON (or not given), else the raw bytes. */
  data: unknown;
}

/** What `readCloudEvent` looks at in a message. */
export interface CloudEventCarrier {
  headers: Readonly<Record<string, string>>;
  /** The broker's own content-type property (AMQP); NATS carries it in a `Content-Type` header. */
  contentType?: string | null;
  body: Uint8Array;
}

/**
 * Reads a CloudEvent from a broker message, in binary mode (a `specversion` attribute among the
 * headers, with any of the bindings' prefixes) or structured mode (content type
 * `application/cloudevents+json`); null when the message is no CloudEvent.
 * @throws InvalidBrokerMessageError when it is one but not a valid CloudEvent 1.0 (a poison message)
 */
export function readCloudEvent(message: CloudEventCarrier): ReceivedCloudEvent | null {
  const contentType = message.contentType ?? headerOf(message.headers, 'content-type') ?? null;
  if (contentType?.toLowerCase().startsWith('application/cloudevents'))
    return readStructured(message, contentType);
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    const lower = name.toLowerCase();
    const binding = RECEIVED_PREFIXES.find(({ prefix }) => lower.startsWith(prefix));
    if (!binding) continue;
    const attribute = lower.slice(binding.prefix.length);
    attributes[attribute] = binding.percentEncoded ? percentDecode(value) : value;
  }
  if (attributes.specversion === undefined) return null;
  if (attributes.datacontenttype === undefined && contentType) attributes.datacontenttype = contentType;
  checkAttributes(attributes);
  const body = Buffer.from(message.body);
  return {
    mode: 'binary',
    attributes,
    data: body.length === 0 ? undefined : isJson(attributes.datacontenttype) ? parseJson(body, 'data') : body,
  };
}

function readStructured(message: CloudEventCarrier, contentType: string): ReceivedCloudEvent {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  // The NATS binding names the bare `application/cloudevents`; JSON is the format all must read.
  if (type !== CLOUDEVENTS_JSON_TYPE && type !== 'application/cloudevents') {
    throw new InvalidBrokerMessageError(
      `content type ${contentType}: only the JSON event format (${CLOUDEVENTS_JSON_TYPE}) is read`,
    );
  }
  const event = parseJson(Buffer.from(message.body), 'structured CloudEvent');
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new InvalidBrokerMessageError('a structured CloudEvent must be a JSON object');
  }
  const attributes: Record<string, string> = {};
  let data: unknown;
  for (const [name, value] of Object.entries(event as Record<string, unknown>)) {
    if (name === 'data') data = value;
    else if (name === 'data_base64') {
      const bytes = Buffer.from(String(value), 'base64');
      data = isJson((event as Record<string, unknown>).datacontenttype as string | undefined)
        ? parseJson(bytes, 'data_base64')
        : bytes;
    } else if (value !== null && value !== undefined) attributes[name] = String(value);
  }
  checkAttributes(attributes);
  return { mode: 'structured', attributes, data };
}

/** The attributes every CloudEvent 1.0 must have. */
function checkAttributes(attributes: Record<string, string>): void {
  if (attributes.specversion !== '1.0') {
    throw new InvalidBrokerMessageError(
      `CloudEvents specversion ${JSON.stringify(attributes.specversion)} is not supported: 1.0 is`,
    );
  }
  for (const name of ['id', 'source', 'type'] as const) {
    if (!attributes[name]) throw new InvalidBrokerMessageError(`the CloudEvent has no ${name} attribute`);
  }
}

/** Whether a content type is JSON (`application/json`, `…+json`); a missing one is taken as JSON. */
function isJson(contentType: string | undefined): boolean {
  if (!contentType) return true;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || type.endsWith('+json') || type === 'text/json';
}

function parseJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new InvalidBrokerMessageError(`the ${what} is not JSON (${(error as Error).message})`);
  }
}

function headerOf(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}
