import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { MikroORM } from '@mikro-orm/core';
import { ConnectorRegistry, type LoadedConnector } from '../connectors/connector-registry.js';
import { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import { TaskDataType } from '../enums/task-data-type.enum.js';
import { isDocumentTaskType } from '../enums/task-type.enum.js';
import { ConnectorBusyError } from '../errors/connector-busy.error.js';
import { ProcessingDisabledError } from '../errors/processing-disabled.error.js';
import { TaskNotFoundError } from '../errors/task-not-found.error.js';
import { describeError, IntegrationEventPublisher } from '../events/integration-event-publisher.js';
import { IntegrationEvents } from '../events/integration-events.js';
import { IntegrationTaskEvent, type IntegrationTaskInfo } from '../events/integration-task-event.js';
import { RESOLVED_OPTIONS } from '../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../interfaces/integration-bus-options.interface.js';
import { ConnectorLease } from '../connectors/connector-lease.js';
import { TaskStore, type BatchCompletion, type QueuedSynchronization } from '../persistence/task.store.js';
import { SettingsService } from '../settings/settings.service.js';
import { SerialRunner } from '../support/serial-runner.js';
import { TranslationHelper } from '../translation/translation-helper.js';
import { rebuildTaskObject } from '../translation/task-object.js';
import {
  addCounts,
  emptyCounts,
  invokeConnector,
  type NormalizedOutcome,
  type ResultCounts,
} from './invoke-connector.js';
import type { OutgoingTask } from './outgoing-task.interface.js';

/**
 * Asynchronous processing of outgoing tasks (R-OUT-6, R-OUT-7, R-OUT-8).
 *
 * Per connector, one run at a time: in this process through a `SerialRunner`, across processes
 * through a lease on the connector's row that is renewed while the run lasts and runs out within
 * `leaseMs` if the process dies. A run reads the connector's queue oldest task first, a batch per
 * round trip, and writes each batch's outcome in one transaction; a crash therefore repeats at most
 * one batch. Connectors run independently: a slow one never delays another.
 */
@Injectable()
export class OutgoingProcessor implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly #logger = new Logger('IntegrationBus');
  readonly #runners = new Map<number, SerialRunner<ResultCounts>>();
  #sweep: NodeJS.Timeout | undefined;
  #stopping = false;

  constructor(
    private readonly orm: MikroORM,
    private readonly registry: ConnectorRegistry,
    private readonly settings: SettingsService,
    private readonly tasks: TaskStore,
    private readonly lease: ConnectorLease,
    private readonly events: IntegrationEventPublisher,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedIntegrationBusOptions,
  ) {}

  onApplicationBootstrap(): void {
    const { sweepIntervalMs } = this.options.outgoing;
    if (sweepIntervalMs > 0) {
      this.#sweep = setInterval(() => void this.sweep(), sweepIntervalMs);
      this.#sweep.unref();
      // Tasks left by an earlier run of the application are picked up at once, not a period later.
      void this.sweep();
    }
  }

  /** Stops taking new batches and waits for the runs under way, before MikroORM closes its pool. */
  async onApplicationShutdown(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#sweep);
    await Promise.all([...this.#runners.values()].map((r) => r.idle()));
  }

  /** Starts processing of the given connectors without waiting (R-OUT-8 a). */
  nudge(connectorIds: Iterable<number>): void {
    if (!this.options.outgoing.processAfterCommit || this.#stopping) return;
    for (const id of connectorIds) void this.trigger(id);
  }

  /** Processes the queue of one connector, or of every enabled connector; resolves with the counts. */
  async process(connectorName?: string): Promise<ResultCounts> {
    const targets = await this.registry.enabledConnectors();
    if (connectorName) this.registry.get(connectorName);
    const selected = targets.filter((t) => !connectorName || t.connector.codeName === connectorName);
    const results = await Promise.all(selected.map((t) => this.trigger(t.connectorId)));
    return results.reduce(addCounts, emptyCounts());
  }

  /** Processes one queued task now, for one connector or for every connector it waits for (R-OUT-8 d). */
  async synchronizeTask(taskId: number, connectorName?: string): Promise<ResultCounts> {
    if (!(await this.settings.effective()).processOutgoing) {
      throw new ProcessingDisabledError(
        'Processing of outgoing tasks is switched off (settings enabled / processOutgoing).',
      );
    }
    const enabled = await this.registry.enabledConnectors();
    if (connectorName) this.registry.get(connectorName);
    const waiting = new Set(await this.tasks.connectorsOf(taskId));
    const targets = enabled.filter(
      (t) => waiting.has(t.connectorId) && (!connectorName || t.connector.codeName === connectorName),
    );
    if (targets.length === 0) throw new TaskNotFoundError(taskId, connectorName);
    const counts = emptyCounts();
    for (const { connector, connectorId } of targets) {
      const outcome = await this.runnerFor(connectorId).exclusive(() =>
        this.lease.run('outgoing', connectorId, connector.codeName, async () => {
          const row = await this.tasks.findOne(connectorId, taskId);
          if (!row) return null;
          const result = await this.processRow(connector, row);
          await this.tasks.complete(completionOf([{ row, outcome: result }]));
          return result;
        }),
      );
      if (outcome) counts[outcome.result] += 1;
    }
    return counts;
  }

  private async sweep(): Promise<void> {
    try {
      await this.tasks.deleteOrphans();
      await this.process();
    } catch (error) {
      this.#logger.error(`Outgoing sweep failed: ${describeError(error)}`);
    }
  }

  private trigger(connectorId: number): Promise<ResultCounts> {
    return this.runnerFor(connectorId)
      .trigger()
      .catch((error: unknown) => {
        this.#logger.error(`Processing of connector #${connectorId} failed: ${describeError(error)}`);
        return emptyCounts();
      });
  }

  private runnerFor(connectorId: number): SerialRunner<ResultCounts> {
    let runner = this.#runners.get(connectorId);
    if (!runner) {
      runner = new SerialRunner(() => this.run(connectorId));
      this.#runners.set(connectorId, runner);
    }
    return runner;
  }

  private async run(connectorId: number): Promise<ResultCounts> {
    const counts = emptyCounts();
    if (this.#stopping || !(await this.settings.effective()).processOutgoing) return counts;
    const target = (await this.registry.enabledConnectors()).find((t) => t.connectorId === connectorId);
    if (!target) return counts;
    try {
      await this.lease.run('outgoing', connectorId, target.connector.codeName, async () => {
        let cursor = '0';
        for (;;) {
          const batch = await this.tasks.fetchBatch(connectorId, false, cursor, this.options.batchSize);
          const done: { row: QueuedSynchronization; outcome: NormalizedOutcome }[] = [];
          let stop = batch.length < this.options.batchSize;
          for (const row of batch) {
            cursor = row.taskId;
            const outcome = await this.processRow(target.connector, row);
            counts[outcome.result] += 1;
            done.push({ row, outcome });
            if (outcome.result === IntegrationProcessResult.Error || this.#stopping) {
              stop = true;
              break;
            }
          }
          await this.tasks.complete(completionOf(done));
          if (stop || !(await this.settings.effective()).processOutgoing) break;
        }
      });
    } catch (error) {
      if (!(error instanceof ConnectorBusyError)) throw error;
      // Another instance is processing this connector; it will see our tasks.
    }
    return counts;
  }

  /** Rebuilds a queued task, runs the Before/After events around the connector call. */
  private async processRow(
    connector: LoadedConnector,
    row: QueuedSynchronization,
  ): Promise<NormalizedOutcome> {
    let task: OutgoingTask;
    try {
      task = this.toOutgoingTask(row);
    } catch (error) {
      return {
        result: IntegrationProcessResult.Error,
        errorMessage: `Cannot rebuild the task's object: ${describeError(error)}`,
      };
    }
    const info = taskInfoOf(row, connector.codeName);
    const before = new IntegrationTaskEvent(info, task.object, connector.codeName);
    if (!(await this.events.before(IntegrationEvents.ProcessInternalTask.Before, before))) {
      return { result: IntegrationProcessResult.SkipNow, errorMessage: null };
    }
    const outcome = await invokeConnector(connector, row.handler, task, false);
    if (connector.clearTranslationsAfterEachTask) connector.instance.clearInternalTranslations();
    await this.events.after(
      IntegrationEvents.ProcessInternalTask.After,
      new IntegrationTaskEvent(
        info,
        task.object,
        connector.codeName,
        outcome.result,
        outcome.errorMessage ?? undefined,
      ),
    );
    return outcome;
  }

  private toOutgoingTask(row: QueuedSynchronization): OutgoingTask {
    const { data } = row;
    return {
      id: Number(row.taskId),
      guid: row.guid,
      title: row.title,
      taskType: row.taskType,
      dataType: row.dataType ?? TaskDataType.Simple,
      objectType: row.objectType,
      siteName: row.siteName,
      time: new Date(row.createdAt),
      object: rebuildTaskObject(this.orm.em, data),
      translations: new TranslationHelper(data.translations ?? []),
      isDocument: isDocumentTaskType(row.taskType),
      attempt: row.attempts + 1,
    };
  }
}

function completionOf(
  results: readonly { row: QueuedSynchronization; outcome: NormalizedOutcome }[],
): BatchCompletion {
  const completion: BatchCompletion = { done: [], failed: [], postponed: [] };
  for (const { row, outcome } of results) {
    if (outcome.result === IntegrationProcessResult.OK) {
      completion.done.push({ syncId: row.syncId, taskId: row.taskId });
    } else if (outcome.result === IntegrationProcessResult.SkipNow) {
      // Not a failure: no attempt counted, nothing in the sync log; the message only says why it waits.
      if (outcome.errorMessage)
        completion.postponed!.push({ syncId: row.syncId, message: outcome.errorMessage });
    } else {
      completion.failed.push({ syncId: row.syncId, errorMessage: outcome.errorMessage ?? outcome.result });
    }
  }
  return completion;
}

function taskInfoOf(row: QueuedSynchronization, connectorName: string): IntegrationTaskInfo {
  return {
    id: Number(row.taskId),
    guid: row.guid,
    title: row.title,
    taskType: row.taskType,
    objectType: row.objectType,
    objectId: row.objectId,
    siteName: row.siteName,
    dataType: row.dataType,
    processType: row.processType,
    isInbound: row.isInbound,
    connectorNames: [connectorName],
  };
}
