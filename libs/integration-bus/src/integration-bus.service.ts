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
import {
  ExternalTaskLogger,
  type ExternalTaskOptions,
  type ExternalTaskOutcome,
} from './incoming/external-task-logger.js';
import { ExternalTaskBatch } from './incoming/external-task-batch.js';
import { IncomingProcessor } from './incoming/incoming-processor.js';
import type { IntegrationBusSettings } from './interfaces/integration-bus-options.interface.js';
import type { PlainIntegrationObject } from './metadata/integration-subject.js';
import type { ConnectorRecord } from './persistence/connector.store.js';
import type { SqlExecutor } from './persistence/bus-database.js';
import { TaskAdminStore } from './persistence/task-admin.store.js';
import type { ResultCounts } from './delivery/invoke-connector.js';
import { OutgoingProcessor } from './delivery/outgoing-processor.js';
import { ChangeLogger } from './outgoing/change-logger.js';
import { ChangeFlushSubscriber } from './outgoing/flush-subscriber.js';
import { QueueSignals } from './delivery/queue-signal.js';
import type { ResyncOptions, ResyncProgress } from './resync/resync-progress.js';
import { ResyncService } from './resync/resync.service.js';
import { TaskRefresh } from './resync/task-refresh.js';
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
    private readonly changes: ChangeLogger,
    private readonly flushes: ChangeFlushSubscriber,
    private readonly processor: OutgoingProcessor,
    private readonly registry: ConnectorRegistry,
    private readonly settings: SettingsService,
    private readonly tasks: TaskAdminStore,
    private readonly externalLogger: ExternalTaskLogger,
    private readonly incoming: IncomingProcessor,
    private readonly signals: QueueSignals,
    private readonly eventLog: EventLogStore,
    private readonly resyncs: ResyncService,
    private readonly refresh: TaskRefresh,
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
    const transaction = options.em?.isInTransaction()
      ? options.em.getTransactionContext<object>()
      : undefined;
    const logged = await this.changes.logInternal(
      obj,
      this.orm.getMetadata().find(obj.constructor),
      taskType,
      {
        transaction: transaction as SqlExecutor | undefined,
        siteName: options.siteName,
      },
    );
    if (!logged) return [];
    // In the caller's transaction: LogInternalTask.After and the rest wait for it to commit.
    if (transaction) this.flushes.deferUntilCommit(transaction, logged.afterCommit);
    else await logged.afterCommit();
    return logged.taskIds;
  }

  /**
   * Brings a connector up to date with the rows that already exist (R-RES-1): every row of
   * `options.objectType` (those `options.where` selects) becomes an outgoing task for this connector
   * only, in the data type its subscription asks for, chunk after chunk, in the background. The
   * position is stored: after a crash or restart an instance goes on from there (at most one chunk
   * repeated). A row changed meanwhile reaches the connector in commit order with its resync task,
   * so a resync never overwrites a newer change (R-RES-2). Tasks are `UpdateObject` (or
   * `UpdateDocument`), titled `Resync …`.
   * @returns the resync, just started; follow it with `getResync` / `getResyncs`
   * @throws ConnectorNotFoundError, ConnectorDisabledError, InvalidResyncError (the object type is
   *   no integration entity or is not subscribed to by the connector, a bad `where` or `chunkSize`),
   *   ResyncConflictError when a resync of this connector and object type is running
   */
  resync(connectorName: string, options: ResyncOptions): Promise<ResyncProgress> {
    return this.resyncs.start(connectorName, options);
  }

  /**
   * Cancels the running resync of an object type for a connector; the tasks already logged stay.
   * @throws ResyncNotFoundError when none is running
   */
  cancelResync(connectorName: string, objectType: string): Promise<ResyncProgress> {
    return this.resyncs.cancel(connectorName, objectType);
  }

  /** One resync: rows done and total, rate and ETA. @throws ResyncNotFoundError */
  getResync(id: number): Promise<ResyncProgress> {
    return this.resyncs.get(id);
  }

  /** The resyncs of one connector (or of all), newest first. */
  getResyncs(connectorName?: string): Promise<ResyncProgress[]> {
    return this.resyncs.list(connectorName);
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
   *
   * With `options.idempotencyKey` the call is idempotent (R-ECO-3): within `idempotencyWindowMs`
   * (7 days by default) a second call for the same connector and key logs nothing and returns the
   * task the first one logged, also when both run at the same time (a unique key decides).
   *
   * With `options.sequence` and `options.sequenceKey` an older version of an object is dropped
   * (R-DEL-2): the task is logged only if the sequence is above the highest logged for the key, in
   * the same transaction, so concurrent calls cannot both pass; otherwise nothing is logged.
   * @returns the logged task (or the one already logged with the key), or `null` when nothing was
   *   logged (incoming logging off, the connector returned `null`, a LogExternalTask.Before
   *   listener cancelled, or a sequence not above the highest logged for its key)
   * @throws ConnectorNotFoundError for an unknown connector, ConnectorDisabledError for a disabled
   *   one, InvalidExternalTaskError for a bad option (an idempotency key that is not 1 to 200
   *   visible ASCII characters, a sequence that is not a non-negative safe integer, a sequence
   *   without its key among them)
   */
  processExternalTask(
    connectorName: string,
    obj: unknown,
    options: ExternalTaskOptions,
  ): Promise<IntegrationTaskInfo | null> {
    return this.externalLogger.log(connectorName, obj, options);
  }

  /**
   * `processExternalTask`, telling what the call came to: the task and whether the idempotency key
   * had already logged it (`duplicate`: nothing new was logged), or why nothing was logged. What the
   * broker consumers use to count and log their intake.
   * @throws as `processExternalTask`
   */
  processExternalTaskWithOutcome(
    connectorName: string,
    obj: unknown,
    options: ExternalTaskOptions,
  ): Promise<ExternalTaskOutcome> {
    return this.externalLogger.logWithOutcome(connectorName, obj, options);
  }

  /**
   * A batch of `size` incoming tasks of `connectorName` logged in one transaction (what the broker
   * consumers use for their batches of messages): each item is given with `add(position, object,
   * options)`, which resolves with the item's outcome, as `processExternalTaskWithOutcome` would
   * answer it, once the batch committed. With `after` (the `done` of the batch before), its
   * transaction waits for that one's: a batch can be prepared while the one before commits. See
   * `ExternalTaskBatch`.
   */
  externalTaskBatch(connectorName: string, size: number, after?: Promise<unknown>): ExternalTaskBatch {
    return new ExternalTaskBatch(this.externalLogger, connectorName, size, after);
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
    const removed = await this.tasks.delete(taskId, await this.connectorIdOf(connectorName));
    // The task may have been what held its connectors up: they go on at once, on every instance.
    await this.wake(removed);
    return removed.length;
  }

  /**
   * Makes a parked, failed, retrying or skipped task waiting again for one connector or for all
   * (R-DEL-6): its backoff and failure count are cleared (the attempts and the log are kept), and
   * its connectors process it at once, on whichever instance holds them.
   *
   * With `options.refresh` (R-RES-3), a SimpleSnapshot or Snapshot task goes back with the object's
   * current state instead of its stored snapshot (the row was fixed since it failed or was
   * skipped): its synchronization is replaced by a new task for that connector, read and logged in
   * commit order with the object's live changes, like a resync's (so never older than them).
   * @returns the number of synchronizations requeued (0 when none was parked, failed or postponed)
   * @throws TaskNotFoundError when the task does not exist; with `refresh`, TaskRefreshError when it
   *   cannot be refreshed (incoming, Simple, a delete, a plain object, its object gone)
   */
  async requeueTask(
    taskId: number,
    connectorName?: string,
    options: { refresh?: boolean } = {},
  ): Promise<number> {
    const direction = await this.tasks.direction(taskId);
    if (!direction) throw new TaskNotFoundError(taskId, connectorName);
    const connectorId = await this.connectorIdOf(connectorName);
    const { count, connectorIds } = options.refresh
      ? await this.refresh.requeue(taskId, connectorId)
      : await this.tasks.requeue({
          isInbound: direction === 'incoming',
          connectorId,
          taskIds: [taskId],
        });
    await this.wake(connectorIds);
    return count;
  }

  /** Processes these connectors' outgoing queues now, here and on every other instance. */
  async wake(connectorIds: readonly number[]): Promise<void> {
    if (connectorIds.length === 0) return;
    this.processor.wake(connectorIds);
    await this.signals.wake(connectorIds);
  }

  private async connectorIdOf(connectorName: string | undefined): Promise<number | undefined> {
    if (connectorName === undefined) return undefined;
    const id = (await this.registry.row(connectorName))?.id;
    if (id === undefined) throw new ConnectorNotFoundError(connectorName);
    return id;
  }

  /** The five switches. */
  getSettings(): Promise<IntegrationBusSettings> {
    return this.settings.get();
  }

  /**
   * Changes some of the five switches. Every instance sees the change at once (a notification) or,
   * should that be lost, within a second; processing switched on starts at once everywhere (R-DEL-3).
   */
  async updateSettings(patch: Partial<IntegrationBusSettings>): Promise<IntegrationBusSettings> {
    const settings = await this.settings.update(patch);
    this.processor.wakeAll();
    await this.signals.wake('all');
    return settings;
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
    await this.signals.reinitializeEverywhere();
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
