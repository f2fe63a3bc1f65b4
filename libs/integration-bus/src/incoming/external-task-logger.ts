import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
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
import { TaskStore, type NewTask } from '../persistence/task.store.js';
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
}

/**
 * Why `processExternalTask` logged nothing: incoming logging is switched off (R-SET-1), the
 * connector's `prepareInternalObject` returned `null`, or a `LogExternalTask.Before` listener
 * cancelled.
 */
export type ExternalTaskSkipReason = 'loggingOff' | 'notPrepared' | 'cancelled';

/** What logging an incoming task came to: the task, or the reason nothing was logged. */
export type ExternalTaskOutcome =
  { task: IntegrationTaskInfo; reason?: undefined } | { task: null; reason: ExternalTaskSkipReason };

const TASK_TYPES = new Set<string>(Object.values(TaskType).filter((t) => t !== TaskType.All));
const PROCESS_TYPES = new Set<string>(Object.values(IntegrationProcessType));
const DATA_TYPES = new Set<string>(Object.values(TaskDataType));

/**
 * Logs incoming tasks (R-IN-1): converts the external object through the connector's
 * `prepareInternalObject`, collects translation data, and stores one task with one synchronization.
 * Works in any process that imports the module, including one running while the host app is down
 * (R-IN-6): it only needs the database.
 */
@Injectable()
export class ExternalTaskLogger {
  constructor(
    private readonly orm: MikroORM,
    private readonly registry: ConnectorRegistry,
    private readonly settings: SettingsService,
    private readonly tasks: TaskStore,
    private readonly events: IntegrationEventPublisher,
  ) {}

  /**
   * @returns the logged task, or `null` when incoming logging is switched off, the connector's
   *   `prepareInternalObject` returned `null`, or a LogExternalTask.Before listener cancelled
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
    const connector = this.registry.get(connectorName);
    const row = await this.registry.row(connectorName);
    if (!row?.enabled) throw new ConnectorDisabledError(connectorName);
    if (!(await this.settings.effective()).logIncoming) return { task: null, reason: 'loggingOff' };

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
      synchronizations: [{ connectorId: row.id, handler: null }],
    };
    traceTaskCreation([task]); // its create span, in the caller's trace (R-ECO-4)
    const ids = await this.tasks.insertOwnTransaction([task]);
    info.id = ids.get(info.guid) ?? 0;
    await this.events.after(
      IntegrationEvents.LogExternalTask.After,
      new IntegrationTaskEvent(info, entity, connectorName),
    );
    return { task: info };
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
