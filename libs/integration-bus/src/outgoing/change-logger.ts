import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ChangeSetType, type ChangeSet, type EntityMetadata } from '@mikro-orm/core';
import { InstanceId } from '../connectors/instance-id.js';
import {
  ConnectorRegistry,
  storedPartitions,
  type ConnectorMatch,
} from '../connectors/connector-registry.js';
import { dataTypeOf, isAsyncProcessType, type TaskProcessType } from '../enums/task-process-type.enum.js';
import { TaskDataType } from '../enums/task-data-type.enum.js';
import { TaskType } from '../enums/task-type.enum.js';
import { IntegrationBusError } from '../errors/integration-bus.error.js';
import { IntegrationEventPublisher } from '../events/integration-event-publisher.js';
import { IntegrationEvents } from '../events/integration-events.js';
import { IntegrationTaskEvent, type IntegrationTaskInfo } from '../events/integration-task-event.js';
import { traceTaskCreation } from '../events/trace-context.js';
import { incomingOrigin } from '../connectors/incoming-origin.js';
import {
  describeEntity,
  describePlainObject,
  getIntegrationDescriptor,
  type IntegrationDescriptor,
  type IntegrationSubject,
  type PlainIntegrationObject,
} from '../metadata/integration-subject.js';
import { BusDatabase, type SqlExecutor } from '../persistence/bus-database.js';
import { ChangeLogStore, type InsertOptions, type NewTask } from '../persistence/change-log.store.js';
import type { TaskPayload } from '../persistence/task-payload.js';
import { SettingsService } from '../settings/settings.service.js';
import { EntityRowReader } from '../translation/entity-row-reader.js';
import { readSiteName } from '../translation/site-name-reader.js';
import { SnapshotBuilder } from '../translation/snapshot-builder.js';
import { lifecycleChanges } from './lifecycle-changes.js';
import { TasksCommitted, type SyncDelivery } from '../delivery/tasks-committed.js';

/** One change to log: what it is, and the connectors it goes to. */
export interface OutgoingChange {
  subject: IntegrationSubject;
  taskType: TaskType;
  /** MikroORM metadata of the entity, `undefined` for a plain object. */
  meta: EntityMetadata | undefined;
  matches: ConnectorMatch[];
  /** Data captured when the change was seen (deletes: before the rows are gone). */
  payload?: TaskPayload;
  /** The first word of the task's title, instead of the task type's (a resync's: `Resync`). */
  verb?: string;
}

/** Work to run once the logging transaction has committed. */
export type AfterCommitWork = () => Promise<void>;

/** What logging some changes produced. */
export interface LoggedChanges {
  /** Ids of the tasks inserted, in change order. */
  taskIds: number[];
  /** LogInternalTask.After, then `TasksCommitted`: to run once the tasks are committed. */
  afterCommit: AfterCommitWork;
}

/** Where and how `ChangeLogger.logInternal` logs. */
export interface InternalChangeOptions {
  /** The open transaction to log in; `undefined`: a transaction of its own. */
  transaction?: SqlExecutor;
  /** Overrides the site the object belongs to. */
  siteName?: string | null;
}

const CHANGE_TASK_TYPES: Record<string, [object: TaskType, document: TaskType]> = {
  [ChangeSetType.CREATE]: [TaskType.CreateObject, TaskType.CreateDocument],
  [ChangeSetType.UPDATE]: [TaskType.UpdateObject, TaskType.UpdateDocument],
  [ChangeSetType.DELETE]: [TaskType.DeleteObject, TaskType.DeleteDocument],
};

const VERBS: Partial<Record<TaskType, string>> = {
  [TaskType.CreateObject]: 'Create',
  [TaskType.UpdateObject]: 'Update',
  [TaskType.DeleteObject]: 'Delete',
  [TaskType.AddToSite]: 'Add',
  [TaskType.RemoveFromSite]: 'Remove',
  [TaskType.CreateDocument]: 'Create document',
  [TaskType.UpdateDocument]: 'Update document',
  [TaskType.DeleteDocument]: 'Delete document',
  [TaskType.DeleteAllCultures]: 'Delete all cultures of document',
  [TaskType.PublishDocument]: 'Publish document',
  [TaskType.ArchiveDocument]: 'Archive document',
  [TaskType.MoveDocument]: 'Move document',
  [TaskType.RejectDocument]: 'Reject document',
};

const DATA_TYPE_ORDER = [TaskDataType.Snapshot, TaskDataType.SimpleSnapshot, TaskDataType.Simple];

/**
 * Turns changes into outgoing tasks (R-OUT-1, R-OUT-4): describe → match → snapshot → build →
 * insert, for the changes of a MikroORM flush (`ChangeFlushSubscriber` decides when) and for
 * `IntegrationBus.logInternalTask` alike. The tasks are inserted with the caller's transaction, so a
 * rollback takes them with it and a failing insert fails the change. What must wait for the commit
 * (LogInternalTask.After, synchronous connectors, the processors' nudge) is returned, not run: the
 * caller runs it once the transaction has committed, and the `TasksCommitted` signal reaches the sync
 * dispatcher (R-OUT-5) and the processors (R-OUT-8 a) without this class knowing them.
 */
@Injectable()
export class ChangeLogger {
  readonly #descriptors = new WeakMap<EntityMetadata, IntegrationDescriptor | null>();

  constructor(
    private readonly registry: ConnectorRegistry,
    private readonly settings: SettingsService,
    private readonly tasks: ChangeLogStore,
    private readonly events: IntegrationEventPublisher,
    private readonly db: BusDatabase,
    private readonly instance: InstanceId,
    private readonly committed: TasksCommitted,
  ) {}

  /**
   * The changes some change sets stand for, with the connectors they go to (describe → match), for
   * `onFlush`: new rows have no ids yet, and deletes are captured now. `trx`: the flush's
   * transaction, if one is open (the subjects' sites are read on it).
   */
  async collect(
    changeSets: Iterable<ChangeSet<object>>,
    trx: SqlExecutor | undefined,
  ): Promise<OutgoingChange[]> {
    let match: Awaited<ReturnType<ConnectorRegistry['matcher']>> | undefined;
    let sites: EntityRowReader | undefined;
    const changes: OutgoingChange[] = [];
    for (const changeSet of changeSets) {
      const descriptor = this.descriptorOf(changeSet.meta);
      const taskTypes = CHANGE_TASK_TYPES[changeSet.type];
      if (!descriptor || !taskTypes) continue;
      if (!match) {
        if (!(await this.settings.effective()).logOutgoing) return [];
        match = await this.registry.matcher(incomingOrigin());
      }
      sites ??= new EntityRowReader(trx ?? this.db.pool);
      const subject = await this.describe(changeSet.meta, changeSet.entity, descriptor, sites);
      const kinds =
        changeSet.type === ChangeSetType.UPDATE
          ? await lifecycleChanges(changeSet, descriptor, subject, sites)
          : [{ subject, taskType: taskTypes[descriptor.isDocument ? 1 : 0] }];
      for (const kind of kinds) {
        const matches = match(kind.subject, kind.taskType);
        if (matches.length === 0) continue;
        // A delete's rows (its children's too) are gone once the flush has run: capture them now.
        const payload =
          changeSet.type === ChangeSetType.DELETE
            ? await this.snapshot(
                changeSet.meta,
                changeSet.entity,
                matches,
                new EntityRowReader(this.db.pool),
              )
            : undefined;
        changes.push({ ...kind, meta: changeSet.meta, matches, payload });
      }
    }
    return changes;
  }

  /**
   * Logs one change no change set produces (`IntegrationBus.logInternalTask`): an integration entity
   * (`meta`: its MikroORM metadata) or a plain `{ objectType, codeName, data }` object.
   * @returns what was logged, or `null` when no connector subscribes or logging is off
   * @throws IntegrationBusError when `obj` is neither
   */
  async logInternal(
    obj: object,
    meta: EntityMetadata | undefined,
    taskType: TaskType,
    options: InternalChangeOptions = {},
  ): Promise<LoggedChanges | null> {
    const descriptor = getIntegrationDescriptor(obj.constructor);
    let subject: IntegrationSubject;
    if (descriptor && meta) {
      const reader = new EntityRowReader(options.transaction ?? this.db.pool);
      subject = await this.describe(meta, obj, descriptor, reader);
    } else if (isPlainObject(obj)) {
      subject = describePlainObject(obj);
    } else {
      throw new IntegrationBusError(
        `logInternalTask: ${obj.constructor.name} is not marked with @IntegrationObject/@IntegrationDocument, ` +
          'and is not a plain { objectType, codeName, data } object.',
      );
    }
    if (options.siteName !== undefined) subject = { ...subject, siteName: options.siteName };
    if (!(await this.settings.effective()).logOutgoing) return null;
    const matches = await this.registry.match(subject, taskType, incomingOrigin());
    if (matches.length === 0) return null;
    const change = { subject, taskType, meta: descriptor ? meta : undefined, matches };
    // No row change orders two transactions logging for this object: a lock per object does (R-DEL-1).
    return this.log([change], options.transaction, { lockObjects: true });
  }

  /**
   * Writes the tasks of some changes with `trx` (or in a transaction of its own when `undefined`):
   * snapshot → build → insert. LogInternalTask.Before may change or cancel each task.
   * @returns the task ids, and what must run once they are committed
   */
  async log(
    changes: readonly OutgoingChange[],
    trx: SqlExecutor | undefined,
    options: InsertOptions = {},
  ): Promise<LoggedChanges> {
    const queued: { task: NewTask; matches: ConnectorMatch[]; object: object; info?: IntegrationTaskInfo }[] =
      [];
    const syncDeliveries: SyncDelivery[] = [];
    const reader = new EntityRowReader(trx ?? this.db.pool);
    const announce = this.events.has(IntegrationEvents.LogInternalTask.Before);
    for (const change of changes) {
      change.payload ??= change.meta
        ? await this.snapshot(change.meta, change.subject.entity, change.matches, reader)
        : { entity: null, fields: { ...change.subject.entity }, translations: [], children: {} };
      const { sync, byProcessType } = splitMatches(change.matches);
      if (sync.length > 0)
        syncDeliveries.push({ subject: change.subject, taskType: change.taskType, matches: sync });
      for (const [processType, matches] of byProcessType) {
        const task = buildTask(change, processType, matches);
        const item: (typeof queued)[number] = { task, matches, object: change.subject.entity };
        if (announce) {
          item.info = taskInfo(task, matches);
          const event = new IntegrationTaskEvent(item.info, change.subject.entity);
          if (!(await this.events.before(IntegrationEvents.LogInternalTask.Before, event))) continue;
          task.title = item.info.title;
          task.siteName = item.info.siteName;
        }
        queued.push(item);
      }
    }
    const tasks = queued.map((q) => q.task);
    traceTaskCreation(tasks); // their create spans, in the caller's trace (R-ECO-4)
    const ids = trx
      ? await this.tasks.insert(trx, tasks, this.instance.value, options)
      : await this.tasks.insertOwnTransaction(tasks, this.instance.value, options);
    const taskIds = tasks.map((task) => ids.get(task.guid) ?? 0);
    const afterCommit = async (): Promise<void> => {
      if (this.events.has(IntegrationEvents.LogInternalTask.After)) {
        for (const [i, q] of queued.entries()) {
          const info = q.info ?? taskInfo(q.task, q.matches);
          info.id = taskIds[i]!;
          await this.events.after(
            IntegrationEvents.LogInternalTask.After,
            new IntegrationTaskEvent(info, q.object),
          );
        }
      }
      if (tasks.length === 0 && syncDeliveries.length === 0) return;
      const connectorIds = new Set<number>();
      for (const task of tasks) for (const s of task.synchronizations) connectorIds.add(s.connectorId);
      await this.committed.publish({ connectorIds, syncDeliveries });
    };
    return { taskIds, afterCommit };
  }

  /**
   * The subject of an entity, its site read through relations that are not loaded when the path
   * crosses one (`reader`: on the transaction the change is in, so it sees rows written before).
   */
  async describe(
    meta: EntityMetadata,
    entity: object,
    descriptor: IntegrationDescriptor,
    reader: EntityRowReader,
  ): Promise<IntegrationSubject> {
    const subject = describeEntity(entity, descriptor);
    const path = descriptor.options.site;
    if (subject.siteName !== null || !path?.includes('.')) return subject;
    const siteName = await readSiteName(reader, meta, entity, path);
    return siteName === null ? subject : { ...subject, siteName };
  }

  /** Captures the change's data at the richest data type any of its async connectors needs. */
  private async snapshot(
    meta: EntityMetadata,
    entity: object,
    matches: ConnectorMatch[],
    reader: EntityRowReader,
  ): Promise<TaskPayload | undefined> {
    let richest: TaskDataType | undefined;
    for (const m of matches) {
      if (!isAsyncProcessType(m.processType)) continue;
      const dataType = dataTypeOf(m.processType);
      if (richest === undefined || DATA_TYPE_ORDER.indexOf(dataType) < DATA_TYPE_ORDER.indexOf(richest))
        richest = dataType;
    }
    if (richest === undefined) return undefined;
    return new SnapshotBuilder(reader).build(meta, entity, richest);
  }

  private descriptorOf(meta: EntityMetadata): IntegrationDescriptor | undefined {
    let descriptor = this.#descriptors.get(meta);
    if (descriptor === undefined) {
      descriptor = getIntegrationDescriptor(meta.class) ?? null;
      this.#descriptors.set(meta, descriptor);
    }
    return descriptor ?? undefined;
  }
}

/** A change's synchronous matches, and its asynchronous ones by process type (one task each). */
function splitMatches(matches: ConnectorMatch[]): {
  sync: ConnectorMatch[];
  byProcessType: Map<TaskProcessType, ConnectorMatch[]>;
} {
  const sync: ConnectorMatch[] = [];
  const byProcessType = new Map<TaskProcessType, ConnectorMatch[]>();
  for (const match of matches) {
    if (!isAsyncProcessType(match.processType)) {
      sync.push(match);
      continue;
    }
    const group = byProcessType.get(match.processType);
    if (group) group.push(match);
    else byProcessType.set(match.processType, [match]);
  }
  return { sync, byProcessType };
}

/** The task of one change for the connectors of one process type, its payload narrowed to their data type. */
function buildTask(change: OutgoingChange, processType: TaskProcessType, matches: ConnectorMatch[]): NewTask {
  const { subject, meta } = change;
  const data = SnapshotBuilder.narrow(change.payload!, dataTypeOf(processType));
  const { fields } = data;
  const objectId = meta ? primaryKeyString(meta, fields) : null;
  const name = subject.isDocument ? subject.aliasPath : `'${subject.codeName ?? objectId ?? ''}'`;
  const label = subject.isDocument ? '' : ` ${meta?.className ?? subject.objectType}`;
  return {
    guid: randomUUID(),
    title: `${change.verb ?? VERBS[change.taskType] ?? change.taskType}${label} ${name ?? ''}`
      .trim()
      .slice(0, 450),
    taskType: change.taskType,
    objectType: subject.objectType,
    objectId,
    nodeId: subject.isDocument && meta ? nodeIdOf(change, fields) : null,
    documentId: subject.isDocument ? objectId : null,
    aliasPath: subject.aliasPath,
    siteName: subject.siteName,
    isInbound: false,
    dataType: dataTypeOf(processType),
    processType,
    data,
    synchronizations: matches.map((m) => ({
      connectorId: m.connectorId,
      handler: m.handler,
      partitions: storedPartitions(m.connector),
    })),
  };
}

function primaryKeyString(meta: EntityMetadata, fields: Record<string, unknown>): string | null {
  const values = meta.primaryKeys.map((key) => fields[key]);
  return values.some((v) => v === null || v === undefined) ? null : values.join(':');
}

function nodeIdOf(change: OutgoingChange, fields: Record<string, unknown>): string | null {
  const descriptor = getIntegrationDescriptor(change.meta?.class);
  const property = descriptor?.isDocument ? descriptor.options.nodeId : undefined;
  const value = property ? fields[property] : undefined;
  return value === null || value === undefined ? null : String(value);
}

function taskInfo(task: NewTask, matches: ConnectorMatch[]): IntegrationTaskInfo {
  return {
    id: 0,
    guid: task.guid,
    title: task.title,
    taskType: task.taskType,
    objectType: task.objectType,
    objectId: task.objectId,
    siteName: task.siteName,
    dataType: task.dataType,
    processType: task.processType,
    isInbound: false,
    connectorNames: matches.map((m) => m.connector.codeName),
  };
}

function isPlainObject(obj: object): obj is PlainIntegrationObject {
  const candidate = obj as Partial<PlainIntegrationObject>;
  return (
    typeof candidate.objectType === 'string' &&
    typeof candidate.codeName === 'string' &&
    typeof candidate.data === 'object' &&
    candidate.data !== null
  );
}
