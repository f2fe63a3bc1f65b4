import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { MikroORM } from '@mikro-orm/core';
import { ConnectorRegistry } from '../connectors/connector-registry.js';
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
import { BusDatabase } from '../persistence/bus-database.js';
import { ChangeLogStore, type NewTask } from '../persistence/change-log.store.js';
import { RESOLVED_OPTIONS } from '../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../interfaces/integration-bus-options.interface.js';
import { checkIdempotencyKey } from './idempotency-key.js';
import { checkIntakeSequence } from './intake-sequence.js';
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
    const processType = options.processType ?? IntegrationProcessType.Default;
    const dataType = options.dataType ?? TaskDataType.Simple;
    validate(options.taskType, processType, dataType);
    const key = options.idempotencyKey === undefined ? null : checkIdempotencyKey(options.idempotencyKey);
    const sequence = checkIntakeSequence(options.sequence, options.sequenceKey);
    const connector = this.registry.get(connectorName);
    const row = await this.registry.row(connectorName);
    if (!row?.enabled) throw new ConnectorDisabledError(connectorName);
    if (!(await this.settings.effective()).logIncoming) return { task: null, reason: 'loggingOff' };
    const windowMs = this.options.idempotencyWindowMs;
    if (key !== null) {
      // A retry of a request already served: answered before the connector or a listener sees it.
      const logged = await this.idempotencyKeys.find(this.db.pool, row.id, key, windowMs);
      if (logged) return { task: logged, duplicate: true };
    }

    const siteName = options.siteName ?? null;
    const alreadyInternal =
      typeof obj === 'object' && obj !== null && getIntegrationDescriptor(obj.constructor);
    const entity = alreadyInternal
      ? (obj as object)
      : await connector.instance.prepareInternalObject(obj, {
          taskType: options.taskType,
          dataType,
          siteName,
        });
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
    assertIncomingTaskFits(options.taskType, descriptor, meta.className, siteName ?? subject.siteName);
    const data = await buildIncomingPayload(connector.instance, meta, entity, dataType);
    const info: IntegrationTaskInfo = {
      id: 0,
      guid: randomUUID(),
      title:
        `${options.taskType} ${subject.objectType} '${subject.codeName ?? ''}' from ${connectorName}`.slice(
          0,
          450,
        ),
      taskType: options.taskType,
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
      synchronizations: [{ connectorId: row.id, handler: null, partitions: 0 }],
    };
    traceTaskCreation([task]); // its create span, in the caller's trace (R-ECO-4)
    let logged: IntegrationTaskInfo | null;
    try {
      logged = await this.db.transaction(async (trx) => {
        // The key first: a concurrent call with the same key waits here for this transaction, then
        // gets this task instead of logging its own (the table's primary key decides, not a read).
        if (key !== null) {
          const holder = await this.idempotencyKeys.claim(trx, row.id, key, info, windowMs);
          if (holder) return holder;
        }
        // Then the sequence, before the insert: the task's id is taken under the lock of the object's
        // sequence row, so of two versions of one object logged at once the newer also gets the
        // higher id, the order incoming processing applies them in. An older one rolls back, its
        // idempotency key with it.
        if (
          sequence !== null &&
          !(await this.sequences.raise(trx, row.id, sequence.key, sequence.sequence))
        ) {
          throw new OlderSequence();
        }
        const ids = await this.tasks.insert(trx, [task]);
        info.id = ids.get(info.guid) ?? 0;
        if (key !== null) {
          await this.idempotencyKeys.setTaskId(trx, row.id, key, info.id);
          await this.idempotencyKeys.purgeExpired(trx, windowMs);
        }
        return null;
      });
    } catch (error) {
      if (!(error instanceof OlderSequence)) throw error;
      this.#logger.debug(
        `Incoming task for ${connectorName} dropped: sequence ${sequence!.sequence} of "${sequence!.key}" ` +
          'is not above the highest already logged for it (an older version arriving late).',
      );
      return { task: null, reason: 'olderSequence' };
    }
    if (logged) return { task: logged, duplicate: true };
    await this.events.after(
      IntegrationEvents.LogExternalTask.After,
      new IntegrationTaskEvent(info, entity, connectorName),
    );
    return { task: info, duplicate: false };
  }
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
