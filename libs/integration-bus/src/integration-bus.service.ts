import { Injectable } from '@nestjs/common';
import { MikroORM, type EntityManager } from '@mikro-orm/core';
import { ConnectorRegistry, type ConnectorStatus } from './connectors/connector-registry.js';
import { TaskType } from './enums/task-type.enum.js';
import { ConnectorNotFoundError } from './errors/connector-not-found.error.js';
import { BUS_EVENT_SOURCE, BusEventCodes } from './events/bus-event-codes.js';
import { EventLogStore } from './persistence/event-log.store.js';
import { IntegrationBusError } from './errors/integration-bus.error.js';
import { TaskNotFoundError } from './errors/task-not-found.error.js';
import type { IntegrationTaskInfo } from './events/integration-task-event.js';
import { ExternalTaskLogger, type ExternalTaskOptions } from './incoming/external-task-logger.js';
import { IncomingProcessor } from './incoming/incoming-processor.js';
import type { IntegrationBusSettings } from './interfaces/integration-bus-options.interface.js';
import {
  describePlainObject,
  getIntegrationDescriptor,
  type PlainIntegrationObject,
} from './metadata/integration-subject.js';
import type { ConnectorRecord } from './persistence/connector.store.js';
import { BusDatabase, type SqlExecutor } from './persistence/bus-database.js';
import { EntityRowReader } from './translation/entity-row-reader.js';
import { TaskStore } from './persistence/task.store.js';
import type { ResultCounts } from './outgoing/invoke-connector.js';
import { OutgoingProcessor } from './outgoing/outgoing-processor.js';
import { OutgoingTaskLogger } from './outgoing/outgoing-task-logger.js';
import { SettingsService } from './settings/settings.service.js';

/** Options of `IntegrationBus.logInternalTask`. */
export interface LogInternalTaskOptions {
  /** Log inside this entity manager's open transaction: the task commits (or rolls back) with it. */
  em?: EntityManager;
  /** Overrides the site the object belongs to. */
  siteName?: string | null;
}

/**
 * The bus's programmatic API: log tasks no change set produces, run processing on demand, manage
 * settings and connectors.
 */
@Injectable()
export class IntegrationBus {
  constructor(
    private readonly orm: MikroORM,
    private readonly logger: OutgoingTaskLogger,
    private readonly processor: OutgoingProcessor,
    private readonly registry: ConnectorRegistry,
    private readonly settings: SettingsService,
    private readonly tasks: TaskStore,
    private readonly externalLogger: ExternalTaskLogger,
    private readonly incoming: IncomingProcessor,
    private readonly eventLog: EventLogStore,
    private readonly db: BusDatabase,
  ) {}

  /**
   * Logs an outgoing task for an integration entity or a plain object, for the task types no
   * change set produces (AddToSite, PublishDocument, …) or any other.
   * @returns ids of the tasks logged (none when no connector subscribes or logging is off)
   */
  async logInternalTask(
    obj: object | PlainIntegrationObject,
    taskType: TaskType,
    options: LogInternalTaskOptions = {},
  ): Promise<number[]> {
    if (!Object.values(TaskType).includes(taskType) || taskType === TaskType.All) {
      throw new IntegrationBusError(
        `logInternalTask: "${String(taskType)}" is not a task type that can be logged.`,
      );
    }
    const meta = this.orm.getMetadata().find(obj.constructor);
    const descriptor = getIntegrationDescriptor(obj.constructor);
    let subject;
    const transaction = options.em?.isInTransaction()
      ? options.em.getTransactionContext<object>()
      : undefined;
    if (descriptor && meta) {
      const reader = new EntityRowReader((transaction as SqlExecutor | undefined) ?? this.db.pool);
      subject = await this.logger.describe(meta, obj, descriptor, reader);
    } else if (isPlainObject(obj)) {
      subject = describePlainObject(obj);
    } else {
      throw new IntegrationBusError(
        `logInternalTask: ${obj.constructor.name} is not marked with @IntegrationObject/@IntegrationDocument, ` +
          'and is not a plain { objectType, codeName, data } object.',
      );
    }
    if (options.siteName !== undefined) subject = { ...subject, siteName: options.siteName };
    const matches = await this.logger.matchChange(subject, taskType);
    if (matches.length === 0) return [];
    const change = { subject, taskType, meta: descriptor ? meta : undefined, matches };
    const logged = await this.logger.log([change], transaction as SqlExecutor | undefined);
    if (transaction) this.logger.deferUntilCommit(transaction, logged.afterCommit);
    else await logged.afterCommit();
    return logged.taskIds;
  }

  /** Processes the outgoing queue of one connector or of all; resolves when the run is over. */
  processOutgoingTasks(connectorName?: string): Promise<ResultCounts> {
    return this.processor.process(connectorName);
  }

  /**
   * Processes one task now, for one connector or for every connector it is queued for. An incoming
   * task in the Error state is reset to Default first (R-IN-3).
   */
  async synchronizeTask(taskId: number, connectorName?: string): Promise<ResultCounts> {
    const direction = await this.tasks.direction(taskId);
    if (!direction) throw new TaskNotFoundError(taskId, connectorName);
    return direction === 'incoming'
      ? this.incoming.synchronizeTask(taskId, connectorName)
      : this.processor.synchronizeTask(taskId, connectorName);
  }

  /**
   * Logs an incoming task for a connector (R-IN-1): the connector's `prepareInternalObject` turns
   * `obj` into a local entity (unless it already is one) and, for SimpleSnapshot and Snapshot,
   * `getInternalObjectParams` / `getInternalDocumentParams` describe its foreign keys.
   * @returns the logged task, or `null` when nothing was logged (incoming logging off, the
   *   connector returned `null`, or a LogExternalTask.Before listener cancelled)
   * @throws ConnectorNotFoundError for an unknown connector, ConnectorDisabledError for a disabled one
   */
  processExternalTask(
    connectorName: string,
    obj: unknown,
    options: ExternalTaskOptions,
  ): Promise<IntegrationTaskInfo | null> {
    return this.externalLogger.log(connectorName, obj, options);
  }

  /** Processes the incoming queue of one connector or of all; resolves when the run is over. */
  processIncomingTasks(connectorName?: string): Promise<ResultCounts> {
    return this.incoming.process(connectorName);
  }

  /**
   * Deletes a task for one connector or for all, without processing it.
   * @returns the number of synchronizations removed
   */
  async deleteTask(taskId: number, connectorName?: string): Promise<number> {
    const connectorId = connectorName ? (await this.registry.row(connectorName))?.id : undefined;
    if (connectorName && connectorId === undefined) throw new ConnectorNotFoundError(connectorName);
    return this.tasks.delete(taskId, connectorId);
  }

  /** The five switches. */
  getSettings(): Promise<IntegrationBusSettings> {
    return this.settings.get();
  }

  /** Changes some of the five switches; every instance sees the change within a second. */
  updateSettings(patch: Partial<IntegrationBusSettings>): Promise<IntegrationBusSettings> {
    return this.settings.update(patch);
  }

  /** Every connector row, with whether a provider is loaded for it. */
  getConnectors(): Promise<ConnectorStatus[]> {
    return this.registry.statuses();
  }

  /** Enables, disables or renames a connector; the change is written to the event log. */
  async updateConnector(
    codeName: string,
    patch: { enabled?: boolean; displayName?: string },
  ): Promise<ConnectorRecord> {
    const before = await this.registry.row(codeName);
    const after = await this.registry.update(codeName, patch);
    const changes: string[] = [];
    if (before?.enabled !== after.enabled) changes.push(after.enabled ? 'enabled' : 'disabled');
    if (before?.displayName !== after.displayName)
      changes.push(`renamed "${before?.displayName ?? ''}" → "${after.displayName}"`);
    if (changes.length > 0) {
      await this.eventLog.write({
        level: 'info',
        source: BUS_EVENT_SOURCE,
        eventCode: BusEventCodes.ConnectorUpdated,
        message: `Connector ${codeName} ${changes.join(', ')}.`,
        connectorName: codeName,
      });
    }
    return after;
  }
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
