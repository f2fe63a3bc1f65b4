import { createHash } from 'node:crypto';
import { InvalidBrokerMessageError } from '../errors/invalid-broker-message.error.js';
import type { ExternalTaskOptions } from '../incoming/external-task-logger.js';
import { IDEMPOTENCY_KEY_MAX_LENGTH } from '../incoming/idempotency-key.js';
import { sequenceOfHeaders } from '../incoming/intake-sequence.js';
import { readCloudEvent, type ReceivedCloudEvent } from '../relay/cloud-event-binding.js';
import { OBJECT_KEY_HEADER, OBJECT_TYPE_HEADER, SEQUENCE_HEADER } from '../relay/relay-message.js';

/** A message as a broker consumer received it, before it became a task. */
export interface BrokerMessage {
  /** The raw body. */
  body: Uint8Array;
  /**
   * The message's id: JetStream's `Nats-Msg-Id` header (else stream, stream creation time and sequence), RabbitMQ's
   * `messageId` property; null when the message has none.
   */
  messageId: string | null;
  /** Headers, as text. */
  headers: Readonly<Record<string, string>>;
  /**
   * The broker's content-type property (AMQP's `content-type`); NATS carries it as a `Content-Type`
   * header instead. Tells a structured-mode CloudEvent (`application/cloudevents+json`).
   */
  contentType?: string | null;
  /** Where it came from, for log lines: `stream BUS seq 12`, `queue erp.in`. */
  origin: string;
  /**
   * Where it was consumed from, for the consumer's span (R-ECO-4): `messaging.system` and
   * `messaging.destination.name` (the subject; `{exchange}:{routing key}:{queue}` on RabbitMQ).
   */
  destination?: { system: string; name: string };
}

/** What a message asks for: an external object and how to log it (`processExternalTask`). */
export interface IncomingTaskRequest {
  object: unknown;
  options: Omit<ExternalTaskOptions, 'idempotencyKey'>;
  /**
   * The idempotency key, when the message carries its own identity: a CloudEvent's `source` and
   * `id`. Without it the key is the broker's message id (`idempotencyKeyOfMessage`).
   */
  idempotencyKey?: string;
}

/**
 * The default reading of a message body: JSON `{ object, taskType, dataType?, processType?,
 * siteName? }`, the same body as the HTTP ingest route. The options are checked by
 * `processExternalTask` itself.
 *
 * A CloudEvent 1.0 (R-ECO-5) is read too, in binary mode (attributes in `ce-` headers on NATS,
 * `cloudEvents:` application properties on AMQP) or structured mode (`application/cloudevents+json`):
 * its data is the same JSON object, where `taskType` may be left out when the event's `type` ends
 * with it (`com.example.crm.cms.user.UPDATEOBJ`), and its `source` and `id` are the idempotency key
 * (the CloudEvents rule for one event). The data of a bus relay's CloudEvents has this shape.
 * @throws InvalidBrokerMessageError when the body is not JSON or has no `object`, or a CloudEvent is
 *   not valid (no `id`, `source` or `type`, a `specversion` other than 1.0)
 */
export function decodeIncomingTaskRequest(message: BrokerMessage): IncomingTaskRequest {
  const event = readCloudEvent(message);
  if (event) return requestOfCloudEvent(event);
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(message.body).toString('utf8'));
  } catch (error) {
    throw new InvalidBrokerMessageError(`the body is not JSON (${(error as Error).message})`);
  }
  return requestOfBody(body, 'the body');
}

/** The request a CloudEvent's data makes, keyed by the event's source and id. */
function requestOfCloudEvent(event: ReceivedCloudEvent): IncomingTaskRequest {
  const { source, id, type } = event.attributes;
  const request = requestOfBody(event.data, "the CloudEvent's data", type!.slice(type!.lastIndexOf('.') + 1));
  // A space cannot occur in a URI-reference: source and id cannot run into one another.
  return { ...request, idempotencyKey: idempotencyKeyOfMessage(`${source} ${id}`) };
}

/**
 * Reads `{ object, taskType, dataType?, processType?, siteName? }`.
 * @param taskTypeOf the task type when the body has none (a CloudEvent's type's last part)
 */
function requestOfBody(body: unknown, what: string, taskTypeOf?: string): IncomingTaskRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || body instanceof Uint8Array) {
    throw new InvalidBrokerMessageError(`${what} must be a JSON object { object, taskType, … }`);
  }
  const { object, taskType = taskTypeOf, dataType, processType, siteName } = body as Record<string, unknown>;
  if (typeof object !== 'object' || object === null || Array.isArray(object)) {
    throw new InvalidBrokerMessageError("object must be a JSON object: the external system's record");
  }
  return {
    object,
    options: {
      taskType: taskType as ExternalTaskOptions['taskType'],
      dataType: dataType as ExternalTaskOptions['dataType'],
      processType: processType as ExternalTaskOptions['processType'],
      siteName: siteName as string | null | undefined,
    },
  };
}

/**
 * The idempotency key of a message: its id when that is a valid key (1 to 200 visible ASCII
 * characters), else a SHA-256 of it, so that any id a broker carries dedupes the same way.
 */
export function idempotencyKeyOfMessage(messageId: string | null): string | undefined {
  if (messageId === null || messageId === '') return undefined;
  if (messageId.length <= IDEMPOTENCY_KEY_MAX_LENGTH && /^[\x21-\x7e]+$/.test(messageId)) return messageId;
  return `sha256:${createHash('sha256').update(messageId).digest('hex')}`;
}

/**
 * The sequence check a message asks for (R-DEL-2): with both a `Bus-Sequence` and a `Bus-Object-Key`
 * header (what the bus's relays send for a queued task of an entity or a document), the options that
 * make `processExternalTask` drop the message when a version at least as new of the object was
 * logged before: `sequence` from `Bus-Sequence`, `sequenceKey` from `Bus-Object-Type` and
 * `Bus-Object-Key` (see `sequenceOfHeaders`). Without both, none: a message of a synchronous task
 * or of a plain object carries no sequence or no key, and is logged as any other. Header names are
 * matched without regard to case.
 * @throws InvalidExternalTaskError when `Bus-Sequence` is not a non-negative integer in decimal or
 *   `Bus-Object-Key` is empty: a poison message
 */
export function sequenceOfMessage(
  message: Pick<BrokerMessage, 'headers'>,
): Pick<ExternalTaskOptions, 'sequence' | 'sequenceKey'> {
  const header = (name: string): string | undefined => {
    const wanted = name.toLowerCase();
    for (const [key, value] of Object.entries(message.headers))
      if (key.toLowerCase() === wanted) return value;
    return undefined;
  };
  const sequence = header(SEQUENCE_HEADER);
  const objectKey = header(OBJECT_KEY_HEADER);
  if (sequence === undefined || objectKey === undefined) return {};
  return sequenceOfHeaders({ sequence, objectKey, objectType: header(OBJECT_TYPE_HEADER) });
}
