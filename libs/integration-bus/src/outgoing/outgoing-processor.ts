import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { MikroORM, type EntityManager } from '@mikro-orm/core';
import { ConnectorLease } from '../connectors/connector-lease.js';
import { ConnectorRegistry, type LoadedConnector } from '../connectors/connector-registry.js';
import { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import { describeError, IntegrationEventPublisher } from '../events/integration-event-publisher.js';
import { IntegrationEvents } from '../events/integration-events.js';
import { IntegrationTaskEvent } from '../events/integration-task-event.js';
import { RESOLVED_OPTIONS } from '../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../interfaces/integration-bus-options.interface.js';
import {
  TaskStore,
  taskInfoOf,
  type BatchCompletion,
  type QueuedSynchronization,
} from '../persistence/task.store.js';
import { SettingsService } from '../settings/settings.service.js';
import { QueueProcessor, type ProcessingTarget } from '../support/queue-processor.js';
import { QueuedOutgoingTask } from './queued-outgoing-task.js';
import { invokeConnector, type NormalizedOutcome, type ResultCounts } from './invoke-connector.js';

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
export class OutgoingProcessor extends QueueProcessor implements OnApplicationBootstrap {
  #sweep: NodeJS.Timeout | undefined;
  #factory: EntityManager | undefined;

  constructor(
    private readonly orm: MikroORM,
    registry: ConnectorRegistry,
    private readonly settings: SettingsService,
    tasks: TaskStore,
    lease: ConnectorLease,
    private readonly events: IntegrationEventPublisher,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedIntegrationBusOptions,
  ) {
    super('outgoing', registry, tasks, lease);
  }

  onApplicationBootstrap(): void {
    const { sweepIntervalMs } = this.options.outgoing;
    if (sweepIntervalMs > 0) {
      this.#sweep = setInterval(() => void this.sweep(), sweepIntervalMs);
      this.#sweep.unref();
      // Tasks left by an earlier run of the application are picked up at once, not a period later.
      void this.sweep();
    }
  }

  override async onApplicationShutdown(): Promise<void> {
    clearInterval(this.#sweep);
    await super.onApplicationShutdown();
  }

  /** Starts processing of the given connectors without waiting (R-OUT-8 a, b). */
  nudge(connectorIds: Iterable<number>): void {
    if (!this.options.outgoing.processAfterCommit || this.stopping) return;
    for (const id of connectorIds) void this.trigger(id);
  }

  protected async processingEnabled(): Promise<boolean> {
    return (await this.settings.effective()).processOutgoing;
  }

  protected async processOne(
    target: ProcessingTarget,
    row: QueuedSynchronization,
  ): Promise<IntegrationProcessResult> {
    const outcome = await this.processRow(target.connector, row);
    await this.tasks.complete(completionOf([{ row, outcome }]));
    return outcome.result;
  }

  /**
   * Oldest task first, a batch per round trip, each batch's outcome written in one transaction: a
   * crash repeats at most one batch. A batch that takes longer than `batchMaxDurationMs` is cut
   * short: its done tasks are written and the rest read again. Error stops the run; the task is
   * first in line next time.
   */
  protected async drain(target: ProcessingTarget, counts: ResultCounts): Promise<void> {
    const { batchSize, batchMaxDurationMs } = this.options;
    // With other connectors enabled, tasks may be shared: each completion rechecks the tasks of the
    // one before (see TaskStore.completeAndFetch). With one connector, nothing is shared.
    const shared = (await this.registry.enabledConnectors()).length > 1;
    let recheck: string[] = [];
    let cursor = '0';
    let batch = await this.tasks.fetchBatch(target.connectorId, false, cursor, batchSize);
    for (;;) {
      const done: { row: QueuedSynchronization; outcome: NormalizedOutcome }[] = [];
      const deadline = performance.now() + batchMaxDurationMs;
      let stop = false;
      let cut = false;
      for (const row of batch) {
        cursor = row.taskId;
        let outcome: NormalizedOutcome;
        try {
          const pending = this.processRow(target.connector, row);
          outcome = pending instanceof Promise ? await pending : pending;
        } catch (error) {
          // Only an event listener can throw here: the run fails, but what this batch finished so
          // far is written, so the next run starts at this task instead of repeating them.
          await this.tasks.complete(completionOf(done, recheck));
          throw error;
        }
        counts[outcome.result] += 1;
        done.push({ row, outcome });
        if (outcome.result === IntegrationProcessResult.Error || this.stopping) {
          stop = true;
          break;
        }
        if (performance.now() >= deadline) {
          cut = true;
          break;
        }
      }
      stop ||= (!cut && batch.length < batchSize) || !(await this.processingEnabled());
      const completion = completionOf(done, recheck);
      if (stop) {
        await this.tasks.complete(completion);
        return;
      }
      batch = await this.tasks.completeAndFetch(completion, target.connectorId, false, cursor, batchSize);
      if (shared) recheck = completion.done.map((d) => d.taskId);
    }
  }

  /** Builds detached entities: a fork whose identity map is never used (`merge: false`). */
  private get factory(): EntityManager {
    this.#factory ??= this.orm.em.fork({ clear: true });
    return this.#factory;
  }

  private async sweep(): Promise<void> {
    try {
      await this.tasks.deleteOrphans();
      await this.process();
    } catch (error) {
      this.logger.error(`Outgoing sweep failed: ${describeError(error)}`);
    }
  }

  /**
   * Hands a queued task to its connector, with the Before/After events around the call when they
   * are listened to. Without listeners and with a connector that answers synchronously, nothing is
   * awaited (the drain's hot path).
   */
  private processRow(
    connector: LoadedConnector,
    row: QueuedSynchronization,
  ): NormalizedOutcome | Promise<NormalizedOutcome> {
    const task = new QueuedOutgoingTask(row, this.factory);
    const { Before, After } = IntegrationEvents.ProcessInternalTask;
    if (this.events.has(Before) || this.events.has(After)) {
      return this.processRowWithEvents(connector, row, task);
    }
    return this.invoke(connector, row, task);
  }

  private async processRowWithEvents(
    connector: LoadedConnector,
    row: QueuedSynchronization,
    task: QueuedOutgoingTask,
  ): Promise<NormalizedOutcome> {
    const { Before, After } = IntegrationEvents.ProcessInternalTask;
    const info = taskInfoOf(row, connector.codeName);
    let object: object;
    try {
      object = task.object;
    } catch (error) {
      // The events carry the entity: one that cannot be rebuilt fails its task, as for the connector.
      return { result: IntegrationProcessResult.Error, errorMessage: describeError(error) };
    }
    if (!(await this.events.before(Before, new IntegrationTaskEvent(info, object, connector.codeName)))) {
      return { result: IntegrationProcessResult.SkipNow, errorMessage: null };
    }
    const outcome = await this.invoke(connector, row, task);
    await this.events.after(
      After,
      new IntegrationTaskEvent(
        info,
        object,
        connector.codeName,
        outcome.result,
        outcome.errorMessage ?? undefined,
      ),
    );
    return outcome;
  }

  /** The connector call, then the translation cache cleared when the connector asks for it. */
  private invoke(
    connector: LoadedConnector,
    row: QueuedSynchronization,
    task: QueuedOutgoingTask,
  ): NormalizedOutcome | Promise<NormalizedOutcome> {
    const outcome = invokeConnector(connector, row.handler, task, false);
    if (!connector.clearTranslationsAfterEachTask) return outcome;
    if (outcome instanceof Promise) {
      return outcome.finally(() => connector.instance.clearInternalTranslations());
    }
    connector.instance.clearInternalTranslations();
    return outcome;
  }
}

function completionOf(
  results: readonly { row: QueuedSynchronization; outcome: NormalizedOutcome }[],
  recheck: string[] = [],
): BatchCompletion {
  const completion: BatchCompletion = { done: [], failed: [], postponed: [], recheck };
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
