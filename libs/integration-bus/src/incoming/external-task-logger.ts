import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { MikroORM } from '@mikro-orm/core';
import { ConnectorRegistry } from '../connectors/connector-registry.js';
import type { LoadedConnector } from '../connectors/connector-registry.js';
import { IntegrationProcessType } from '../enums/integration-process-type.enum.js';
import { TaskDataType } from '../enums/task-data-type.enum.js';
import { TaskType } from '../enums/task-type.enum.js';
import { ConnectorDisabledError } from '../errors/connector-disabled.error.js';
import { IntegrationBusError } from '../errors/integration-bus.error.js';
import { InvalidExternalTaskError } from '../errors/invalid-external-task.error.js';
import { IntegrationEventPublisher } from '../events/integration-event-publisher.js';
import { IntegrationEvents } from '../events/integration-events.js';
import { IntegrationTaskEvent, type IntegrationTaskInfo } from '../events/integration-task-event.js';
import { traceTaskCreation } from '../events/trace-context.js';
import { describeEntity, getIntegrationDescriptor } from '../metadata/integration-subject.js';
import { IdempotencyKeyStore } from '../persistence/idempotency-key.store.js';
import { IntakeSequenceStore } from '../persistence/intake-sequence.store.js';
import { BusDatabase, type SqlExecutor } from '../persistence/bus-database.js';
import { ChangeLogStore, type NewTask } from '../persistence/change-log.store.js';
import { RESOLVED_OPTIONS } from '../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../interfaces/integration-bus-options.interface.js';
import { checkIdempotencyKey } from './idempotency-key.js';
import { checkIntakeSequence, type IntakeSequence } from './intake-sequence.js';
import { SettingsService } from '../settings/settings.service.js';
import { buildIncomingPayload } from './incoming-snapshot.js';
import { assertIncomingTaskFits } from './incoming-task-rules.js';

/** Options of `IntegrationBus.processExternalTask`. */
export interface ExternalTaskOptions {
  /** What to do with the object locally. */
  taskType: TaskType;
  /** How processing treats the task and its failure (R-IN-3). Default: `Default`. */
  processType?: IntegrationProcessType;
  /** Whether translation data (and children) are collected. Default: `Simple`. */
  dataType?: TaskDataType;
  /** Site the object belongs to, passed to `prepareInternalObject`. */
  siteName?: string | null;
  /**
   * Makes the call idempotent (R-ECO-3): a second call for the same connector with the same key,
   * within `idempotencyWindowMs` of the first, logs nothing and returns the task the first logged
   * (even once that task has been processed). 1 to 200 visible ASCII characters, e.g. the external
   * system's message or request id. Keys are per connector. Without a key every call logs a task.
   */
  idempotencyKey?: string;
  /**
   * Drops an older version of the object (R-DEL-2): with `sequenceKey`, the task is logged only if
   * `sequence` is above the highest sequence logged before for the same connector and key;
   * otherwise nothing is logged and the call returns `null` (reason `olderSequence`, written to the
   * log at debug level). A non-negative safe integer that grows with each version of the object at
   * its sender, such as the `sequence` of a task relayed by another bus (its `Bus-Sequence` header)
   * or the sender's row version. The check and the task's insert share one transaction: of two
   * concurrent calls for one key, the one with the lower sequence is dropped if the other committed
   * first, else logged before it. An idempotency key is looked at first: a repeated key returns
   * the task it logged, whatever the sequence.
   */
  sequence?: number;
  /**
   * The object's key as the sender knows it, 1 to 200 characters (e.g. `cms.user:42`): what
   * `sequence` is compared within. Keys are per connector; give the object type in it when one
   * connector receives several types whose keys can be equal. Required with `sequence`.
   */
  sequenceKey?: string;
}

/**
 * Why `processExternalTask` logged nothing: incoming logging is switched off (R-SET-1), the
 * connector's `prepareInternalObject` returned `null`, a `LogExternalTask.Before` listener
 * cancelled, or a version at least as new of the object was logged before (`sequence`).
 */
export type ExternalTaskSkipReason = 'loggingOff' | 'notPrepared' | 'cancelled' | 'olderSequence';

/** What logging an incoming task came to: the task, or the reason nothing was logged. */
export type ExternalTaskOutcome =
  | {
      task: IntegrationTaskInfo;
      reason?: undefined;
      /** True when the idempotency key had already logged `task`: nothing new was logged. */
      duplicate: boolean;
    }
  | { task: null; reason: ExternalTaskSkipReason; duplicate?: undefined };

const TASK_TYPES = new Set<string>(Object.values(TaskType).filter((t) => t !== TaskType.All));
const PROCESS_TYPES = new Set<string>(Object.values(IntegrationProcessType));
const DATA_TYPES = new Set<string>(Object.values(TaskDataType));

/** Thrown inside the intake's transaction to roll it back when its sequence is not the newest. */
class OlderSequence extends Error {}

/**
 * Logs incoming tasks (R-IN-1): converts the external object through the connector's
 * `prepareInternalObject`, collects translation data, and stores one task with one synchronization.
 * Works in any process that imports the module, including one running while the host app is down
 * (R-IN-6): it only needs the database.
 */
@Injectable()
export class ExternalTaskLogger {
  readonly #logger = new Logger('IntegrationBus');

  constructor(
    private readonly orm: MikroORM,
    private readonly registry: ConnectorRegistry,
    private readonly settings: SettingsService,
    private readonly tasks: ChangeLogStore,
    private readonly events: IntegrationEventPublisher,
    private readonly db: BusDatabase,
    private readonly idempotencyKeys: IdempotencyKeyStore,
    private readonly sequences: IntakeSequenceStore,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedIntegrationBusOptions,
  ) {}

  /**
   * @returns the logged task, or `null` when incoming logging is switched off, the connector's
   *   `prepareInternalObject` returned `null`, a LogExternalTask.Before listener cancelled, or
   *   `options.sequence` was not above the highest logged for `options.sequenceKey`
   * @throws ConnectorNotFoundError, ConnectorDisabledError, IntegrationBusError for bad options
   */
  async log(
    connectorName: string,
    obj: unknown,
    options: ExternalTaskOptions,
  ): Promise<IntegrationTaskInfo | null> {
    return (await this.logWithOutcome(connectorName, obj, options)).task;
  }

  /**
   * `log`, telling why nothing was logged when nothing was: what the HTTP ingest endpoint answers.
   * @throws as `log`; and whatever the connector's `prepareInternalObject` throws (an
   *   `ExternalObjectError` when it rejects the object)
   */
  async logWithOutcome(
    connectorName: string,
    obj: unknown,
    options: ExternalTaskOptions,
  ): Promise<ExternalTaskOutcome> {
    const checked = checkExternalTaskOptions(options);
    const target = await this.target(connectorName);
    if (!target.logging) return { task: null, reason: 'loggingOff' };
    if (checked.key !== null) {
      // A retry of a request already served: answered before the connector or a listener sees it.
      const logged = await this.idempotencyKeys.find(
        this.db.pool,
        target.connectorId,
        checked.key,
        this.windowMs,
      );
      if (logged) return { task: logged, duplicate: true };
    }
    const prepared = await this.prepare(target, obj, checked);
    if (!('entity' in prepared)) return prepared;
    const outcome = await this.commitOne(prepared);
    if (outcome.task && !outcome.duplicate) await this.announce(prepared);
    return outcome;
  }

  /** How long an idempotency key holds, in milliseconds. */
  get windowMs(): number {
    return this.options.idempotencyWindowMs;
  }

  /**
   * The connector an intake is for, checked: loaded and enabled, and whether incoming logging is on.
   * @throws ConnectorNotFoundError, ConnectorDisabledError
   */
  async target(connectorName: string): Promise<IntakeTarget> {
    const connector = this.registry.get(connectorName);
    const row = await this.registry.row(connectorName);
    if (!row?.enabled) throw new ConnectorDisabledError(connectorName);
    const logging = (await this.settings.effective()).logIncoming;
    return { connectorName, connector, connectorId: row.id, logging };
  }

  /** The tasks that live idempotency keys logged, by key: `find` for a batch's keys in one query. */
  findLogged(connectorId: number, keys: readonly string[]): Promise<Map<string, IntegrationTaskInfo>> {
    return this.idempotencyKeys.findMany(this.db.pool, connectorId, keys, this.windowMs);
  }

  /**
   * Turns the external object into the task to insert: the connector's `prepareInternalObject`,
   * translation data, the `LogExternalTask.Before` listeners and the task's create span (in the
   * caller's trace, R-ECO-4). Nothing is written.
   * @returns the prepared task, or the outcome when nothing is to be logged (`notPrepared`, `cancelled`)
   * @throws IntegrationBusError for an entity the bus cannot log; whatever `prepareInternalObject` throws
   */
  async prepare(
    target: IntakeTarget,
    obj: unknown,
    checked: CheckedExternalTaskOptions,
  ): Promise<PreparedExternalTask | ExternalTaskOutcome> {
    const { connectorName, connector } = target;
    const { taskType, dataType, processType } = checked;
    const siteName = checked.siteName ?? null;
    const alreadyInternal =
      typeof obj === 'object' && obj !== null && getIntegrationDescriptor(obj.constructor);
    const entity = alreadyInternal
      ? (obj as object)
      : await connector.instance.prepareInternalObject(obj, { taskType, dataType, siteName });
    if (entity === null || entity === undefined) return { task: null, reason: 'notPrepared' };
    const descriptor = getIntegrationDescriptor(entity.constructor);
    const meta = this.orm.getMetadata().find(entity.constructor);
    if (!descriptor || !meta) {
      throw new IntegrationBusError(
        `${connector.className}.prepareInternalObject() returned ${entity.constructor?.name ?? typeof entity}, ` +
          'which is not a MikroORM entity marked with @IntegrationObject or @IntegrationDocument.',
      );
    }
    const subject = describeEntity(entity, descriptor);
    assertIncomingTaskFits(taskType, descriptor, meta.className, siteName ?? subject.siteName);
    const data = await buildIncomingPayload(connector.instance, meta, entity, dataType);
    const info: IntegrationTaskInfo = {
      id: 0,
      guid: randomUUID(),
      title: `${taskType} ${subject.objectType} '${subject.codeName ?? ''}' from ${connectorName}`.slice(
        0,
        450,
      ),
      taskType,
      objectType: subject.objectType,
      objectId: null,
      siteName: siteName ?? subject.siteName,
      dataType,
      processType,
      isInbound: true,
      connectorNames: [connectorName],
    };
    if (
      !(await this.events.before(
        IntegrationEvents.LogExternalTask.Before,
        new IntegrationTaskEvent(info, entity, connectorName),
      ))
    ) {
      return { task: null, reason: 'cancelled' };
    }
    const task: NewTask = {
      guid: info.guid,
      title: info.title,
      taskType: info.taskType,
      objectType: info.objectType,
      objectId: null,
      nodeId: null,
      documentId: null,
      aliasPath: subject.aliasPath,
      siteName: info.siteName,
      isInbound: true,
      dataType,
      processType,
      data,
      // Incoming tasks keep one FIFO per connector (R-IN-2).
      synchronizations: [{ connectorId: target.connectorId, handler: null, partitions: 0 }],
    };
    traceTaskCreation([task]); // its create span, in the caller's trace (R-ECO-4)
    return { target, key: checked.key, sequence: checked.sequence, info, entity, task };
  }

  /** Logs one prepared task in a transaction of its own. */
  async commitOne(prepared: PreparedExternalTask): Promise<ExternalTaskOutcome> {
    const { target, key, sequence, info, task } = prepared;
    const connectorId = target.connectorId;
    let logged: IntegrationTaskInfo | null;
    try {
      logged = await this.db.transaction(async (trx) => {
        // The key first: a concurrent call with the same key waits here for this transaction, then
        // gets this task instead of logging its own (the table's primary key decides, not a read).
        if (key !== null) {
          const holder = await this.idempotencyKeys.claim(trx, connectorId, key, info, this.windowMs);
          if (holder) return holder;
        }
        // Then the sequence, before the insert: the task's id is taken under the lock of the object's
        // sequence row, so of two versions of one object logged at once the newer also gets the
        // higher id, the order incoming processing applies them in. An older one rolls back, its
        // idempotency key with it.
        if (
          sequence !== null &&
          !(await this.sequences.raise(trx, connectorId, sequence.key, sequence.sequence))
        ) {
          throw new OlderSequence();
        }
        const ids = await this.tasks.insert(trx, [task]);
        info.id = ids.get(info.guid) ?? 0;
        if (key !== null) {
          await this.idempotencyKeys.setTaskId(trx, connectorId, key, info.id);
          await this.idempotencyKeys.purgeExpired(trx, this.windowMs);
        }
        return null;
      });
    } catch (error) {
      if (!(error instanceof OlderSequence)) throw error;
      this.droppedAsOlder(prepared);
      return { task: null, reason: 'olderSequence' };
    }
    if (logged) return { task: logged, duplicate: true };
    return { task: info, duplicate: false };
  }

  /**
   * Logs prepared tasks in one transaction, in the order given, each as `commitOne` would have
   * one after the other: a key already held (by an earlier transaction or earlier in `batch`) logs
   * nothing and answers its task; a sequence not above the highest logged before its task (in the
   * database or earlier in `batch`) logs nothing, and its key is released with it. The tasks' ids
   * follow the order of `batch`, so the intake order per object is that of `batch`. Keys and
   * sequence rows are locked in sorted order, so that two batches never wait on each other in a
   * cycle. All or nothing: should the transaction fail, nothing of `batch` is logged.
   *
   * With keys, the tasks' ids are taken first, so that each key is claimed with its task's id: a key
   * row written once, not updated with the id after the insert (profiled: that update was about a
   * sixth of a consumer batch's transaction). The ids of tasks not logged are gaps.
   */
  async commitMany(batch: readonly PreparedExternalTask[]): Promise<ExternalTaskOutcome[]> {
    if (batch.length === 0) return [];
    const connectorId = batch[0]!.target.connectorId;
    const outcomes: (ExternalTaskOutcome | undefined)[] = batch.map(() => undefined);
    const keyed = batch.some((p) => p.key !== null);
    try {
      await this.db.transaction((trx) => this.#commitMany(trx, batch, connectorId, keyed, outcomes));
    } catch (error) {
      // Ids taken in a transaction that failed: a later attempt takes its own, after its own xid.
      if (keyed) for (const p of batch) forgetId(p);
      throw error;
    }
    return batch.map((p, i) => {
      const outcome = outcomes[i];
      if (outcome) {
        if (outcome.reason === 'olderSequence') this.droppedAsOlder(p);
        return outcome;
      }
      // A later message with a key the batch's first one took: what the first came to.
      const first = outcomes[batch.findIndex((q) => q.key === p.key)]!;
      return first.task ? { task: first.task, duplicate: true } : first;
    });
  }

  /** The transaction of `commitMany`, its outcomes written into `outcomes`. */
  async #commitMany(
    trx: SqlExecutor,
    batch: readonly PreparedExternalTask[],
    connectorId: number,
    keyed: boolean,
    outcomes: (ExternalTaskOutcome | undefined)[],
  ): Promise<void> {
    outcomes.fill(undefined);
    if (keyed) {
      const ids = await this.tasks.takeIds(trx, batch.length);
      for (const [i, p] of batch.entries()) p.info.id = p.task.id = ids[i]!;
    }
    // Keys: the first of each key in the batch claims it; a later one repeats the first.
    const firstOfKey = new Map<string, number>();
    for (const [i, { key }] of batch.entries())
      if (key !== null && !firstOfKey.has(key)) firstOfKey.set(key, i);
    const claims = [...firstOfKey].map(([key, i]) => ({ key, task: batch[i]!.info }));
    const holders = await this.idempotencyKeys.claimMany(trx, connectorId, claims, this.windowMs);
    const live = batch.map((p, i) => {
      if (p.key === null) return true;
      const holder = holders.get(p.key);
      if (holder) outcomes[i] = { task: holder, duplicate: true };
      return !holder && firstOfKey.get(p.key) === i;
    });
    // Sequences, in batch order, against what is logged and what the batch logs before each.
    const sequenced = batch.flatMap((p, i) => (live[i] && p.sequence ? [{ i, ...p.sequence }] : []));
    const raised = await this.sequences.raiseMany(trx, connectorId, sequenced);
    const released: string[] = [];
    for (const [n, { i }] of sequenced.entries()) {
      if (raised[n]) continue;
      live[i] = false;
      outcomes[i] = { task: null, reason: 'olderSequence' };
      if (batch[i]!.key !== null) released.push(batch[i]!.key!);
    }
    await this.idempotencyKeys.release(trx, connectorId, released);
    const logged = batch.filter((_, i) => live[i]);
    const ids = await this.tasks.insert(
      trx,
      logged.map((p) => p.task),
    );
    let claimed = false;
    for (const [i, p] of batch.entries()) {
      if (!live[i]) {
        forgetId(p); // not logged: its id is a gap
        continue;
      }
      p.info.id = ids.get(p.info.guid) ?? 0;
      outcomes[i] = { task: p.info, duplicate: false };
      if (p.key !== null) claimed = true;
    }
    if (claimed) await this.idempotencyKeys.purgeExpired(trx, this.windowMs);
  }

  /** The `LogExternalTask.After` listeners of a task that was logged (not of a duplicate). */
  async announce(prepared: PreparedExternalTask): Promise<void> {
    await this.events.after(
      IntegrationEvents.LogExternalTask.After,
      new IntegrationTaskEvent(prepared.info, prepared.entity, prepared.target.connectorName),
    );
  }

  private droppedAsOlder({ target, sequence }: PreparedExternalTask): void {
    this.#logger.debug(
      `Incoming task for ${target.connectorName} dropped: sequence ${sequence!.sequence} of "${sequence!.key}" ` +
        'is not above the highest already logged for it (an older version arriving late).',
    );
  }
}

/** `ExternalTaskOptions` checked, defaults filled in. */
export interface CheckedExternalTaskOptions {
  taskType: TaskType;
  processType: IntegrationProcessType;
  dataType: TaskDataType;
  siteName: string | null | undefined;
  key: string | null;
  sequence: IntakeSequence | null;
}

/**
 * Checks the options of `processExternalTask`.
 * @throws InvalidExternalTaskError naming the option at fault
 */
export function checkExternalTaskOptions(options: ExternalTaskOptions): CheckedExternalTaskOptions {
  const processType = options.processType ?? IntegrationProcessType.Default;
  const dataType = options.dataType ?? TaskDataType.Simple;
  validate(options.taskType, processType, dataType);
  return {
    taskType: options.taskType,
    processType,
    dataType,
    siteName: options.siteName,
    key: options.idempotencyKey === undefined ? null : checkIdempotencyKey(options.idempotencyKey),
    sequence: checkIntakeSequence(options.sequence, options.sequenceKey),
  };
}

/** The connector an intake is for, checked (`ExternalTaskLogger.target`). */
export interface IntakeTarget {
  connectorName: string;
  connector: LoadedConnector;
  connectorId: number;
  /** Whether incoming logging is on (R-SET-1). */
  logging: boolean;
}

/** A prepared task's id taken for a transaction that did not log it: 0 again, as before logging. */
function forgetId(prepared: PreparedExternalTask): void {
  prepared.info.id = 0;
  delete prepared.task.id;
}

/** An incoming task prepared for its transaction (`ExternalTaskLogger.prepare`). */

export interface PreparedExternalTask {
  target: IntakeTarget;
  key: string | null;
  sequence: IntakeSequence | null;
  info: IntegrationTaskInfo;
  entity: object;
  task: NewTask;
}

function validate(taskType: unknown, processType: unknown, dataType: unknown): void {
  if (!TASK_TYPES.has(taskType as string)) {
    throw new InvalidExternalTaskError(
      'taskType',
      `must be one of ${[...TASK_TYPES].join(', ')}; got ${JSON.stringify(taskType)}.`,
    );
  }
  if (!PROCESS_TYPES.has(processType as string)) {
    throw new InvalidExternalTaskError(
      'processType',
      `must be one of ${[...PROCESS_TYPES].join(', ')}; got ${JSON.stringify(processType)}.`,
    );
  }
  if (!DATA_TYPES.has(dataType as string)) {
    throw new InvalidExternalTaskError(
      'dataType',
      `must be one of ${[...DATA_TYPES].join(', ')}; got ${JSON.stringify(dataType)}.`,
    );
  }
}
