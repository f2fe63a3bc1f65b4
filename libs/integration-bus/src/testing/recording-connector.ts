import type { Type } from '@nestjs/common';
import { BaseIntegrationConnector } from '../connectors/base-integration-connector.js';
import { Connector, type ConnectorOptions } from '../connectors/connector.decorator.js';
import { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import type { OutgoingTask, ProcessOutcome } from '../connectors/outgoing-task.interface.js';
import type { SubscriptionInput } from '../subscriptions/subscription-input.js';

/** One call a {@link RecordingConnector} received. */
export interface RecordedTask<T extends object = object> {
  /** `sync` for SyncSnapshot subscriptions (the live entity), `async` for queued tasks. */
  mode: 'async' | 'sync';
  task: OutgoingTask<T>;
}

/** What a {@link RecordingConnector} answers: a fixed outcome, or a function of the task. */
export type RecordingAnswer =
  ProcessOutcome | ((task: OutgoingTask) => ProcessOutcome | Promise<ProcessOutcome>);

/**
 * A connector that records every task it is handed and answers `OK` (or what
 * {@link RecordingConnector.answerWith} says). Stand it in for a real connector, or next to one, to
 * see what the bus delivers. Subclass it with `@Connector` and `@Subscribe`, or build one with
 * {@link recordingConnector}; read it back with `app.get(YourRecorder)`.
 */
export abstract class RecordingConnector extends BaseIntegrationConnector {
  /** Every call so far, in order. */
  readonly received: RecordedTask[] = [];
  #answer: RecordingAnswer = IntegrationProcessResult.OK;

  /** Sets what the connector answers from now on. */
  answerWith(answer: RecordingAnswer): this {
    this.#answer = answer;
    return this;
  }

  /** Forgets the calls received so far. */
  clear(): void {
    this.received.length = 0;
  }

  /** The objects of the tasks received so far (`task.object`), in order. */
  objects<T extends object = object>(): T[] {
    return this.received.map((call) => call.task.object as T);
  }

  override processInternalTaskAsync(task: OutgoingTask): ProcessOutcome | Promise<ProcessOutcome> {
    return this.record('async', task);
  }

  override processInternalTaskSync(task: OutgoingTask): ProcessOutcome | Promise<ProcessOutcome> {
    return this.record('sync', task);
  }

  private record(mode: 'async' | 'sync', task: OutgoingTask): ProcessOutcome | Promise<ProcessOutcome> {
    this.received.push({ mode, task });
    return typeof this.#answer === 'function' ? this.#answer(task) : this.#answer;
  }
}

/**
 * Defines a {@link RecordingConnector} class with a code name and subscriptions, ready to list in a
 * test module's `providers`.
 *
 * ```ts
 * const Recorder = recordingConnector('Recorder', [{ objectType: 'shop.order' }]);
 * // providers: [Recorder] … then app.get(Recorder).received
 * ```
 */
export function recordingConnector(
  codeName: string,
  subscriptions: SubscriptionInput[],
  options?: ConnectorOptions,
): Type<RecordingConnector> {
  @Connector(codeName, options)
  class Recorder extends RecordingConnector {
    override onConnectorInit(): void {
      for (const subscription of subscriptions) this.subscribeTo(subscription);
    }
  }
  Object.defineProperty(Recorder, 'name', { value: `${codeName}RecordingConnector` });
  return Recorder;
}
