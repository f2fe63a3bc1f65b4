import { Injectable } from '@nestjs/common';
import { MikroORM, type EntityManager } from '@mikro-orm/core';
import type { LoadedConnector } from '../connectors/connector-registry.js';
import { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import { describeError, IntegrationEventPublisher } from '../events/integration-event-publisher.js';
import { IntegrationEvents } from '../events/integration-events.js';
import { IntegrationTaskEvent } from '../events/integration-task-event.js';
import { taskInfoOf, type QueuedSynchronization } from '../persistence/queue.store.js';
import { guardCall } from './call-guard.js';
import { ConnectorCallHook } from './connector-call-hook.js';
import { invokeConnector, invokeConnectorBatch, type NormalizedOutcome } from './invoke-connector.js';
import type { ProcessingClaim } from './processing-claim.js';
import { QueuedOutgoingTask } from './queued-outgoing-task.js';

/**
 * One queued outgoing task handed to its connector (R-OUT-6): the ProcessInternalTask Before/After
 * events around the call when they are listened to, the connector's `callTimeoutMs`, the claim's and
 * shutdown's interruptions (`guardCall`), the call hook (metrics, tracing), and the translation cache
 * cleared after it when the connector asks for it. A connector that answers synchronously is
 * answered without a promise (the drain's hot path).
 */
@Injectable()
export class OutgoingCall {
  #factory: EntityManager | undefined;

  constructor(
    private readonly orm: MikroORM,
    private readonly events: IntegrationEventPublisher,
    private readonly calls: ConnectorCallHook,
  ) {}

  /**
   * Calls the connector with the task of `row`. Rejects (or throws) with `CallInterrupted` when the
   * claim or `interrupted` aborts the wait, or with the `ClaimLostError` of the task's fence: the
   * task is then left as it was.
   */
  call(
    connector: LoadedConnector,
    row: QueuedSynchronization,
    claim: ProcessingClaim,
    interrupted: AbortSignal,
  ): NormalizedOutcome | Promise<NormalizedOutcome> {
    const watched = this.calls.start(connector, 'outgoing', row); // metrics, tracing
    const task = new QueuedOutgoingTask(row, this.factory, claim, connector.codeName);
    let pending: NormalizedOutcome | Promise<NormalizedOutcome>;
    try {
      // Inside the watchers' context: the process span is the parent of what the handler traces.
      pending = watched
        ? watched.run(() => this.withEvents(connector, row, task))
        : this.withEvents(connector, row, task);
    } catch (error) {
      // A fence refused the write (`ClaimLostError`, see invokeConnector): the call ends as interrupted.
      pending = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    if (!(pending instanceof Promise)) return ConnectorCallHook.settle(pending, watched);
    const guarded = guardCall(pending, connector.callTimeoutMs, [claim.signal, interrupted], (reason) =>
      task.abort(reason),
    );
    return ConnectorCallHook.settle(guarded, watched);
  }

  /**
   * Calls a batch connector with the tasks of `rows` in one call (R-EXT-1) and resolves with an
   * outcome per row, in order. Each task has its events, its call-hook start and end, and its fence,
   * as a task called alone; a task whose Before event is vetoed answers SkipNow and is left out of the
   * call. The connector's `callTimeoutMs` covers the whole call. Rejects like `call` when interrupted
   * or fenced off: no outcome of the batch is then known, and every task stays as it was.
   * @param tasks the tasks of `rows` if the drain built them ahead (`batchTasks`)
   */
  async callBatch(
    connector: LoadedConnector,
    rows: readonly QueuedSynchronization[],
    claim: ProcessingClaim,
    interrupted: AbortSignal,
    tasks: readonly QueuedOutgoingTask[] = this.batchTasks(connector, rows, claim),
  ): Promise<NormalizedOutcome[]> {
    const watched = rows.map((row) => this.calls.start(connector, 'outgoing', row));
    const settleAll = (outcomes: Promise<NormalizedOutcome[]>) =>
      outcomes.then(
        (answers) =>
          answers.map((answer, i) => ConnectorCallHook.settle(answer, watched[i]) as NormalizedOutcome),
        (error: unknown) => {
          for (const end of watched)
            void ConnectorCallHook.settle(Promise.reject(error), end).catch(() => {});
          throw error;
        },
      );
    const { Before, After } = IntegrationEvents.ProcessInternalTask;
    const announced = this.events.has(Before) || this.events.has(After);
    const pending = announced
      ? this.announcedBatch(connector, rows, tasks, claim, interrupted)
      : this.guardedBatch(connector, rows[0]!.handler, tasks, claim, interrupted);
    return settleAll(pending);
  }

  /**
   * The tasks a batch call hands the connector for `rows`: built by the drain ahead of the call, while
   * the previous call is in flight, or by `callBatch` itself.
   */
  batchTasks(
    connector: LoadedConnector,
    rows: readonly QueuedSynchronization[],
    claim: ProcessingClaim,
  ): QueuedOutgoingTask[] {
    return rows.map((row) => new QueuedOutgoingTask(row, this.factory, claim, connector.codeName));
  }

  /** The batch call under the connector's timeout and the claim's and shutdown's interruptions. */
  private guardedBatch(
    connector: LoadedConnector,
    handler: string | null,
    tasks: readonly QueuedOutgoingTask[],
    claim: ProcessingClaim,
    interrupted: AbortSignal,
  ): Promise<NormalizedOutcome[]> {
    let pending: NormalizedOutcome[] | Promise<NormalizedOutcome[]>;
    try {
      tasks[0]?.fence(); // as in `invoke`: the claim asked again right before the handler
      pending = invokeConnectorBatch(connector, handler, tasks);
    } catch (error) {
      pending = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const answered = Promise.resolve(pending).finally(() => {
      if (connector.clearTranslationsAfterEachTask) connector.instance.clearInternalTranslations();
    });
    return guardCall(
      answered,
      connector.callTimeoutMs,
      [claim.signal, interrupted],
      (reason) => tasks.forEach((task) => task.abort(reason)),
      (outcome) => tasks.map(() => outcome),
    );
  }

  /** `guardedBatch` between each task's Before and After events. */
  private async announcedBatch(
    connector: LoadedConnector,
    rows: readonly QueuedSynchronization[],
    tasks: readonly QueuedOutgoingTask[],
    claim: ProcessingClaim,
    interrupted: AbortSignal,
  ): Promise<NormalizedOutcome[]> {
    const { Before, After } = IntegrationEvents.ProcessInternalTask;
    const outcomes: (NormalizedOutcome | undefined)[] = rows.map(() => undefined);
    const events: (IntegrationTaskEvent | undefined)[] = [];
    const called: number[] = [];
    for (const [i, row] of rows.entries()) {
      let object: object;
      try {
        object = tasks[i]!.object;
      } catch (error) {
        outcomes[i] = { result: IntegrationProcessResult.Error, errorMessage: describeError(error) };
        continue;
      }
      const event = new IntegrationTaskEvent(taskInfoOf(row, connector.codeName), object, connector.codeName);
      events[i] = event;
      if (await this.events.before(Before, event)) called.push(i);
      else outcomes[i] = { result: IntegrationProcessResult.SkipNow, errorMessage: null };
    }
    if (called.length > 0) {
      const answers = await this.guardedBatch(
        connector,
        rows[0]!.handler,
        called.map((i) => tasks[i]!),
        claim,
        interrupted,
      );
      called.forEach((i, k) => (outcomes[i] = answers[k]));
    }
    for (const [index, i] of called.entries()) {
      const { task: info, object: entity } = events[i]!;
      const { result, errorMessage } = outcomes[i]!;
      const batch = { index, size: called.length };
      await this.events.after(
        After,
        new IntegrationTaskEvent(info, entity, connector.codeName, result, errorMessage ?? undefined, batch),
      );
    }
    return outcomes as NormalizedOutcome[];
  }

  /** Builds detached entities: a fork whose identity map is never used (`merge: false`). */
  private get factory(): EntityManager {
    this.#factory ??= this.orm.em.fork({ clear: true });
    return this.#factory;
  }

  /**
   * The Before/After events around the call when they are listened to. Without listeners and with a
   * connector that answers synchronously, nothing is awaited.
   */
  private withEvents(
    connector: LoadedConnector,
    row: QueuedSynchronization,
    task: QueuedOutgoingTask,
  ): NormalizedOutcome | Promise<NormalizedOutcome> {
    const { Before, After } = IntegrationEvents.ProcessInternalTask;
    if (this.events.has(Before) || this.events.has(After)) return this.announced(connector, row, task);
    return this.invoke(connector, row, task);
  }

  private async announced(
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
    // The run asked `held()` before this call; asked again here, right before the handler, so that a
    // process paused in between (SIGSTOP, a GC pause) calls nobody beside its successor (R-DEL-2).
    task.fence();
    const outcome = invokeConnector(connector, row.handler, task, false);
    if (!connector.clearTranslationsAfterEachTask) return outcome;
    if (outcome instanceof Promise) {
      return outcome.finally(() => connector.instance.clearInternalTranslations());
    }
    connector.instance.clearInternalTranslations();
    return outcome;
  }
}
