import type { OutgoingTask } from '../connectors/outgoing-task.interface.js';
import type { RelayCloudEventAttributes, RelayCloudEventData, RelayFormat } from './relay-cloud-event.js';
import type { RelayEnvelope } from './relay-envelope.js';

/** What a relay hands its broker for one task. */
export interface RelayMessage {
  /** NATS subject (after the prefix) or RabbitMQ routing key. */
  route: string;
  /** Task GUID + connector code name (`relayMessageId`): the broker's deduplication id. */
  messageId: string;
  /** The object's key, for per-key routing or partitioning by the consumer; null when unknown. */
  objectKey: string | null;
  /** The envelope, for transports that serialise messages themselves. */
  envelope: RelayEnvelope;
  /** The body: `envelope` as JSON, or with `format: 'cloudevents'` the CloudEvent's data as JSON. */
  body: Uint8Array;
  /** The relay's format. @default 'envelope' */
  format?: RelayFormat;
  /** With `format: 'cloudevents'`: the event's attributes (each broker maps them to its headers) and data. */
  cloudEvent?: { attributes: RelayCloudEventAttributes; data: RelayCloudEventData };
  /**
   * Trace context and the bus's own headers (`Bus-Task-Type`, `Bus-Object-Type`, `Bus-Object-Key`,
   * `Bus-Sequence`), as text.
   */
  headers: Readonly<Record<string, string>>;
}

/** Content type of every relayed body (JSON), sent with each message (R-ECO-5). */
export const RELAY_CONTENT_TYPE = 'application/json';

/** Picks the subject / routing key of a task. */
export type RelayRoute = (task: OutgoingTask) => string;

/** Header naming the object's key (also in the envelope as `objectKey`). */
export const OBJECT_KEY_HEADER = 'Bus-Object-Key';

/** Header naming the task type, for consumers that route on headers. */
export const TASK_TYPE_HEADER = 'Bus-Task-Type';

/**
 * Header naming the object type (`cms.user`; also in the envelope as `objectType`): with
 * `Bus-Object-Key`, what tells one object from another when several types share one stream, since
 * two types' primary keys can be equal.
 */
export const OBJECT_TYPE_HEADER = 'Bus-Object-Type';

/**
 * Header carrying the task's `sequence` in decimal (also in the envelope as `sequence`), R-DEL-2:
 * of two messages of one object (`Bus-Object-Type` + `Bus-Object-Key`), the one committed later has
 * the higher sequence, so a receiver can refuse a write whose sequence is not above the last it
 * applied for that object: a late message (from a relay paused past its lease, or redelivered)
 * cannot overwrite a newer one. Across objects it says nothing. Absent for a synchronous task,
 * which has none.
 */
export const SEQUENCE_HEADER = 'Bus-Sequence';

/**
 * The default route: `<object type>.<task type>`, e.g. `cms.user.UPDATEOBJ`. Characters that are
 * not letters, digits, `_`, `-` or `.` become `_`: they would break a NATS subject (spaces, `*`,
 * `>`) or a topic pattern, and empty tokens are not allowed.
 */
export const defaultRelayRoute: RelayRoute = (task) =>
  `${routeToken(task.objectType)}.${routeToken(task.taskType)}`;

/**
 * The route with the object's key instead of the task type (`routeBy: 'objectKey'`):
 * `<object type>.<object key>`, e.g. `cms.user.42`; `<object type>._` for an object without a key.
 * The key becomes one token: characters other than letters, digits, `_` and `-` become `_` (a
 * document's `<node GUID>:<culture>` → `<node GUID>_<culture>`).
 */
export function objectKeyRelayRoute(objectType: string, objectKey: string | null): string {
  const key = objectKey === null || objectKey === '' ? '_' : objectKey.replace(/[^A-Za-z0-9_-]/g, '_');
  return `${routeToken(objectType)}.${key}`;
}

/** Tokens made safe already: object and task types are few, and each message needs two. */
const safeTokens = new Map<string, string>();
const SAFE_TOKENS_KEPT = 1024;

/** One part of a subject or routing key, made safe (see `defaultRelayRoute`). */
export function routeToken(value: string): string {
  let token = safeTokens.get(value);
  if (token === undefined) {
    token = value
      .replace(/[^A-Za-z0-9_.-]/g, '_')
      .replace(/\.{2,}/g, '.')
      .replace(/^\.|\.$/g, '');
    if (token === '') token = '_';
    if (safeTokens.size >= SAFE_TOKENS_KEPT) safeTokens.clear();
    safeTokens.set(value, token);
  }
  return token;
}
