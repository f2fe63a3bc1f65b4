import { Utils, helper } from '@mikro-orm/core';
import type { TaskDataType } from '../enums/task-data-type.enum.js';
import type { TaskType } from '../enums/task-type.enum.js';
import { describeEntity, getIntegrationDescriptor } from '../metadata/integration-subject.js';
import type { OutgoingTask } from '../connectors/outgoing-task.interface.js';
import type { TaskPayload } from '../persistence/task-payload.js';
import { payloadOf } from '../translation/task-object.js';
import type { TranslationRecord } from '../persistence/translation-record.js';
import { storedObjectOf } from './stored-object.js';

/**
 * The body of every message a relay publishes: JSON, versioned by `v` so that consumers can tell
 * a later layout apart. Version 1 carries what an `OutgoingTask` holds. Fields are only ever added
 * to a version, never changed or removed: a reader of version 1 ignores fields it does not know and
 * treats the optional ones as possibly absent.
 */
export interface RelayEnvelope {
  v: 1;
  /** The task's GUID: with `connector`, the message id brokers deduplicate on. */
  taskGuid: string;
  taskType: TaskType;
  /** Object type (`cms.user`), or the document's class name. */
  objectType: string;
  /** The object's code name (a document's alias path), when it has one. */
  codeName: string | null;
  siteName: string | null;
  dataType: TaskDataType;
  /** The relay connector's code name. */
  connector: string;
  /** The object's key (primary key, or node GUID and culture): what per-object order is kept by. */
  objectKey: string | null;
  /**
   * The task's `sequence` (R-DEL-2), as in the `Bus-Sequence` header: it grows with commit order per
   * object (`objectType` + `objectKey`), so a receiver can refuse a write whose sequence is not above
   * the last it applied for the object. Across objects it says nothing; treat it as an opaque number.
   *
   * Added to version 1 without changing `v` (an additive field, which a version-1 reader may
   * ignore): absent in messages from relays that predate it, and for a synchronous task, which has
   * no sequence. A reader must therefore treat it as optional.
   */
  sequence?: number;
  /** The object's own columns, foreign keys as local ids (as stored with the task). */
  data: Record<string, unknown>;
  /** Translation data of the foreign keys (SimpleSnapshot and Snapshot). */
  translations: readonly TranslationRecord[];
  /** Snapshot mode: the child collections, each child `{ fields, translations, children }`. */
  children?: Record<string, TaskPayload[]>;
  /** When the change was logged, ISO 8601. */
  createdAt: string;
}

/**
 * The message id of a task relayed by a connector: the task's GUID and the connector's code name,
 * so that a task delivered twice (a retry after a lost ack, a crash before the outcome was
 * written) has one id, and two relay connectors of one task have two.
 */
export function relayMessageId(task: Pick<OutgoingTask, 'guid'>, connectorName: string): string {
  return `${task.guid}:${connectorName}`;
}

/**
 * The key of the task's object: a document's node GUID and culture, an entity's primary key (a
 * composite one joined with `:`), or null for a plain object logged by hand.
 */
export function objectKeyOf(task: OutgoingTask): string | null {
  const stored = storedObjectOf(task);
  if (stored !== undefined) return stored.objectKey;
  const descriptor = getIntegrationDescriptor(task.object.constructor);
  if (!descriptor) return null;
  if (descriptor.isDocument) {
    const subject = describeEntity(task.object, descriptor);
    return subject.nodeGuid === null ? null : `${subject.nodeGuid}:${subject.culture ?? ''}`;
  }
  const pk = helper(task.object)?.getPrimaryKey();
  if (pk === null || pk === undefined) return null;
  return Utils.isPlainObject(pk) ? Object.values(pk).join(':') : String(pk);
}

/**
 * The envelope of a task, as a relay connector publishes it.
 * @param objectKey the object's key, when the caller has it already (`objectKeyOf` otherwise)
 */
export function buildRelayEnvelope(
  task: OutgoingTask,
  connectorName: string,
  objectKey: string | null = objectKeyOf(task),
): RelayEnvelope {
  // Read from the stored fields when they hold what the entity would: no entity rebuilt per message.
  const stored = storedObjectOf(task);
  let payload: TaskPayload | undefined;
  let codeName: string | null;
  if (stored !== undefined) ({ payload, codeName } = stored);
  else {
    const descriptor = getIntegrationDescriptor(task.object.constructor);
    payload = payloadOf(task.object);
    codeName = descriptor ? describeEntity(task.object, descriptor).codeName : null;
  }
  const envelope: RelayEnvelope = {
    v: 1,
    taskGuid: task.guid,
    taskType: task.taskType,
    objectType: task.objectType,
    codeName,
    siteName: task.siteName,
    dataType: task.dataType,
    connector: connectorName,
    objectKey,
    // `0` is a synchronous task's: no sequence, rather than one every later message is "above".
    ...(task.sequence > 0 ? { sequence: task.sequence } : {}),
    // A synchronous task's object is the live entity, not rebuilt from a payload: its JSON form.
    data: payload?.fields ?? (JSON.parse(JSON.stringify(task.object)) as Record<string, unknown>),
    translations: task.translations.records,
    createdAt: task.time.toISOString(),
  };
  if (payload && Object.keys(payload.children ?? {}).length > 0) envelope.children = payload.children;
  return envelope;
}
