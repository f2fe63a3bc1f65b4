import { randomUUID } from 'node:crypto';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import {
  ChangeSetType,
  MikroORM,
  type EntityMetadata,
  type EventSubscriber,
  type FlushEventArgs,
  type TransactionEventArgs,
  type UnitOfWork,
} from '@mikro-orm/core';
import { InstanceId } from '../connectors/instance-id.js';
import {
  ConnectorRegistry,
  storedPartitions,
  type ConnectorMatch,
} from '../connectors/connector-registry.js';
import { dataTypeOf, isAsyncProcessType, type TaskProcessType } from '../enums/task-process-type.enum.js';
import { TaskType } from '../enums/task-type.enum.js';
import { IntegrationEventPublisher } from '../events/integration-event-publisher.js';
import { IntegrationEvents } from '../events/integration-events.js';
import { IntegrationTaskEvent, type IntegrationTaskInfo } from '../events/integration-task-event.js';
import {
  describeEntity,
  getIntegrationDescriptor,
  type IntegrationDescriptor,
  type IntegrationSubject,
} from '../metadata/integration-subject.js';
import { ChangeLogStore, type InsertOptions, type NewTask } from '../persistence/change-log.store.js';
import { traceTaskCreation } from '../events/trace-context.js';
import { SettingsService } from '../settings/settings.service.js';
import { TaskDataType } from '../enums/task-data-type.enum.js';
import { BusDatabase, type SqlExecutor } from '../persistence/bus-database.js';
import type { TaskPayload } from '../persistence/task-payload.js';
import { EntityRowReader } from '../translation/entity-row-reader.js';
import { readSiteName } from '../translation/site-name-reader.js';
import { lifecycleChanges } from './lifecycle-changes.js';
import { SnapshotBuilder } from '../translation/snapshot-builder.js';
import { incomingOrigin } from '../incoming/incoming-origin.js';
import { TasksCommitted, type SyncDelivery } from './tasks-committed.js';

/** One change to log: what it is, and the connectors it goes to. */
export interface OutgoingChange {
  subject: IntegrationSubject;
  taskType: TaskType;
  /** MikroORM metadata of the entity, `undefined` for a plain object. */
  meta: EntityMetadata | undefined;
  matches: ConnectorMatch[];
  /** Data captured when the change was seen (deletes: before the rows are gone). */
  payload?: TaskPayload;
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

type AfterCommitWork = () => Promise<void>;

const DATA_TYPE_ORDER = [TaskDataType.Snapshot, TaskDataType.SimpleSnapshot, TaskDataType.Simple];

/** What logging some changes produced. */
export interface LoggedChanges {
  /** Ids of the tasks inserted, in change order. */
  taskIds: number[];
  /** Events, synchronous connectors and the processing nudge: to run once the tasks are committed. */
  afterCommit: AfterCommitWork;
}

/**
 * Turns MikroORM flushes into outgoing tasks (R-OUT-1, R-OUT-4).
 *
 * Lifecycle, following MikroORM's `UnitOfWork.doCommit()`:
 * 1. `onFlush`: change sets are known but new rows have no ids yet; we match subscriptions and
 *    capture deletes (their data is gone afterwards).
 * 2. The rows are written; then, still inside the transaction, we insert the tasks: in
 *    `beforeTransactionCommit` when the flush opened its own transaction, or in `afterFlush` when
 *    the flush ran inside the caller's transaction. A failing insert fails the flush; a rollback
 *    takes the tasks with it.
 * 3. After the commit (`afterTransactionCommit`): LogInternalTask.After, then `TasksCommitted`:
 *    synchronous connectors (R-OUT-5), and a nudge to the processors of the touched connectors
 *    (R-OUT-8 a). A nested
 *    `transactional` is a savepoint: its work moves to the enclosing transaction when it is
 *    released, and runs when the outermost one commits (or is dropped if any of them rolls back).
 * We never flush from inside these hooks.
 */
@Injectable()
export class OutgoingTaskLogger implements EventSubscriber, OnModuleInit {
  readonly #pending = new WeakMap<UnitOfWork, OutgoingChange[]>();
  readonly #afterCommit = new WeakMap<object, AfterCommitWork[]>();
  /** A savepoint's enclosing transaction, and the one an entity manager is opening a savepoint in. */
  readonly #enclosing = new WeakMap<object, object>();
  readonly #opening = new WeakMap<object, object>();
  readonly #descriptors = new WeakMap<EntityMetadata, IntegrationDescriptor | null>();

  constructor(
    private readonly orm: MikroORM,
    private readonly registry: ConnectorRegistry,
    private readonly settings: SettingsService,
    private readonly tasks: ChangeLogStore,
    private readonly events: IntegrationEventPublisher,
    private readonly db: BusDatabase,
    private readonly instance: InstanceId,
    private readonly committed: TasksCommitted,
  ) {}

  onModuleInit(): void {
    this.orm.em.getEventManager().registerSubscriber(this);
  }

  async onFlush({ em, uow }: FlushEventArgs): Promise<void> {
    const changeSets = [...uow.getChangeSets()];
    if (changeSets.length === 0) return;
    let match: Awaited<ReturnType<ConnectorRegistry['matcher']>> | undefined;
    let sites: EntityRowReader | undefined;
    const changes: OutgoingChange[] = [];
    for (const changeSet of changeSets) {
      const descriptor = this.descriptorOf(changeSet.meta);
      const taskTypes = CHANGE_TASK_TYPES[changeSet.type];
      if (!descriptor || !taskTypes) continue;
      if (!match) {
        if (!(await this.settings.effective()).logOutgoing) return;
        match = await this.registry.matcher(incomingOrigin());
      }
      sites ??= new EntityRowReader(em.getTransactionContext<SqlExecutor>() ?? this.db.pool);
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
    if (changes.length > 0) this.#pending.set(uow, [...(this.#pending.get(uow) ?? []), ...changes]);
  }

  async beforeTransactionCommit({ uow, transaction }: TransactionEventArgs): Promise<void> {
    const changes = uow && this.#pending.get(uow);
    if (!changes || !transaction) return;
    this.#pending.delete(uow);
    this.deferUntilCommit(
      transaction,
      (await this.log(changes, transaction as unknown as SqlExecutor)).afterCommit,
    );
  }

  async afterFlush({ em, uow }: FlushEventArgs): Promise<void> {
    const changes = this.#pending.get(uow);
    if (!changes) return;
    this.#pending.delete(uow);
    const transaction = em.getTransactionContext<object>();
    if (transaction) {
      this.deferUntilCommit(transaction, (await this.log(changes, transaction as SqlExecutor)).afterCommit);
    } else {
      // implicitTransactions is off: there is no transaction to join, the rows are already saved.
      await (await this.log(changes, undefined)).afterCommit();
    }
  }

  /** A transaction started inside another one is a savepoint: remember what encloses it. */
  beforeTransactionStart({ em, transaction }: TransactionEventArgs): void {
    if (transaction) this.#opening.set(em, transaction);
  }

  afterTransactionStart({ em, transaction }: TransactionEventArgs): void {
    const enclosing = this.#opening.get(em);
    this.#opening.delete(em);
    if (enclosing && transaction && enclosing !== transaction) this.#enclosing.set(transaction, enclosing);
  }

  async afterTransactionCommit({ transaction }: TransactionEventArgs): Promise<void> {
    const work = transaction && this.#afterCommit.get(transaction);
    if (!work) return;
    this.#afterCommit.delete(transaction);
    // A released savepoint commits nothing: its work waits for the enclosing transaction.
    const enclosing = this.#enclosing.get(transaction);
    if (enclosing) {
      for (const step of work) this.deferUntilCommit(enclosing, step);
      return;
    }
    for (const step of work) await step();
  }

  afterTransactionRollback({ transaction }: TransactionEventArgs): void {
    if (transaction) this.#afterCommit.delete(transaction);
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

  /** Matches a change made outside a flush (`IntegrationBus.logInternalTask`). */
  async matchChange(subject: IntegrationSubject, taskType: TaskType): Promise<ConnectorMatch[]> {
    if (!(await this.settings.effective()).logOutgoing) return [];
    return this.registry.match(subject, taskType, incomingOrigin());
  }

  /**
   * Writes the tasks of some changes with `trx` (or in a transaction of its own when `undefined`)
   * and returns what must run once they are committed.
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
        const task = this.buildTask(change, processType, matches);
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

  /** Runs `work` when `transaction` commits; forgets it if it rolls back. */
  deferUntilCommit(transaction: object, work: AfterCommitWork): void {
    const list = this.#afterCommit.get(transaction) ?? [];
    list.push(work);
    this.#afterCommit.set(transaction, list);
  }

  private buildTask(
    change: OutgoingChange,
    processType: TaskProcessType,
    matches: ConnectorMatch[],
  ): NewTask {
    const { subject, meta } = change;
    const data = SnapshotBuilder.narrow(change.payload!, dataTypeOf(processType));
    const { fields } = data;
    const objectId = meta ? primaryKeyString(meta, fields) : null;
    const name = subject.isDocument ? subject.aliasPath : `'${subject.codeName ?? objectId ?? ''}'`;
    const label = subject.isDocument ? '' : ` ${meta?.className ?? subject.objectType}`;
    return {
      guid: randomUUID(),
      title: `${VERBS[change.taskType] ?? change.taskType}${label} ${name ?? ''}`.trim().slice(0, 450),
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
