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
import { invokeConnector, type NormalizedOutcome } from './invoke-connector.js';
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
    const outcome = invokeConnector(connector, row.handler, task, false);
    if (!connector.clearTranslationsAfterEachTask) return outcome;
    if (outcome instanceof Promise) {
      return outcome.finally(() => connector.instance.clearInternalTranslations());
    }
    connector.instance.clearInternalTranslations();
    return outcome;
  }
}
