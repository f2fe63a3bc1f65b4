import type { TaskDataType } from '../enums/task-data-type.enum.js';
import type { TaskType } from '../enums/task-type.enum.js';
import type { TaskPayload } from '../persistence/task-payload.js';
import type { TranslationRecord } from '../persistence/translation-record.js';
import type { RelayEnvelope } from './relay-envelope.js';
import { RELAY_CLOUDEVENT_DATA_SCHEMA_ID } from './relay-schemas.js';

/** How a relay lays out its messages: the bus's own envelope, or CloudEvents 1.0 (R-ECO-5). */
export type RelayFormat = 'envelope' | 'cloudevents';

/** Options of the CloudEvents format (`format: 'cloudevents'`). */
export interface RelayCloudEventOptions {
  /**
   * The `source` attribute: a URI-reference naming the producer.
   * @default `/integration-bus/<connector code name>`
   */
  source?: string;
  /**
   * First part of the `type` attribute, reverse-DNS of whoever owns the events:
   * `<typePrefix>.<objectType>.<taskType>`, e.g. `com.example.crm.cms.user.UPDATEOBJ`.
   * @default 'com.github.nestjs-integration-bus'
   */
  typePrefix?: string;
  /**
   * The `dataschema` attribute, a URI. Point it at the schema the management API serves
   * (`/{http.path}/docs/schemas/relay-cloudevent-data.json`) or a copy you publish.
   * @default the schema's `$id`, `urn:nestjs-integration-bus:schema:relay-cloudevent-data:1`
   */
  dataschema?: string;
}

/** `typePrefix` when not given. */
export const DEFAULT_CLOUDEVENT_TYPE_PREFIX = 'com.github.nestjs-integration-bus';

/**
 * A relayed CloudEvent's attributes, as their canonical strings by name (`specversion`, `id`,
 * `source`, `type`, `subject`, `time`, `datacontenttype`, `dataschema`, and the extensions
 * `partitionkey`, `sequence`, `traceparent`, `tracestate`). Each broker maps them to its headers.
 */
export type RelayCloudEventAttributes = Readonly<Record<string, string>>;

/**
 * The data of a relayed CloudEvent (JSON; schema `relay-cloudevent-data.schema.json`): what of the
 * envelope the attributes do not already say. Its shape is the body a bus consumer takes
 * (`{ object, taskType, dataType, siteName }`), so one bus consumes what another relays.
 */
export interface RelayCloudEventData {
  /** The object's own columns, foreign keys as local ids (the envelope's `data`). */
  object: Record<string, unknown>;
  taskType: TaskType;
  objectType: string;
  dataType: TaskDataType;
  codeName: string | null;
  siteName: string | null;
  translations: readonly TranslationRecord[];
  children?: Record<string, TaskPayload[]>;
}

/** Width the `sequence` attribute is zero-padded to: the extension orders values as text. */
const SEQUENCE_DIGITS = 19;

/**
 * The CloudEvent of a relayed task: its attributes and data.
 * @param traceHeaders the message's trace headers (`traceparent`, `tracestate`), carried as the
 *   distributed-tracing extension's attributes
 */
export function buildRelayCloudEvent(
  envelope: RelayEnvelope,
  messageId: string,
  traceHeaders: Readonly<Record<string, string>>,
  options: RelayCloudEventOptions = {},
): { attributes: RelayCloudEventAttributes; data: RelayCloudEventData } {
  const attributes: Record<string, string> = {
    specversion: '1.0',
    id: messageId,
    source: options.source ?? `/integration-bus/${encodeURIComponent(envelope.connector)}`,
    type: `${options.typePrefix ?? DEFAULT_CLOUDEVENT_TYPE_PREFIX}.${envelope.objectType}.${envelope.taskType}`,
    time: envelope.createdAt,
    datacontenttype: 'application/json',
    dataschema: options.dataschema ?? RELAY_CLOUDEVENT_DATA_SCHEMA_ID,
  };
  if (envelope.objectKey !== null) {
    attributes.subject = envelope.objectKey;
    // The type with the key: two types' primary keys can be equal (as `Bus-Object-Type` + key).
    attributes.partitionkey = `${envelope.objectType}:${envelope.objectKey}`;
  }
  if (envelope.sequence !== undefined) {
    attributes.sequence = String(envelope.sequence).padStart(SEQUENCE_DIGITS, '0');
  }
  addTraceAttributes(attributes, traceHeaders);
  const data: RelayCloudEventData = {
    object: envelope.data,
    taskType: envelope.taskType,
    objectType: envelope.objectType,
    dataType: envelope.dataType,
    codeName: envelope.codeName,
    siteName: envelope.siteName,
    translations: envelope.translations,
  };
  if (envelope.children) data.children = envelope.children;
  return { attributes, data };
}

/**
 * Carries trace headers (`traceparent`, `tracestate`) as the distributed-tracing extension's
 * attributes: at build time, or once the publish span has written its context (the relay).
 */
export function addTraceAttributes(
  attributes: Record<string, string>,
  traceHeaders: Readonly<Record<string, string>>,
): void {
  for (const [name, value] of Object.entries(traceHeaders)) {
    const lower = name.toLowerCase();
    if (lower === 'traceparent' || lower === 'tracestate') attributes[lower] = value;
  }
}
