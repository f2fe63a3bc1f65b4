import type { OnApplicationShutdown } from '@nestjs/common';
import { BaseIntegrationConnector } from '../connectors/base-integration-connector.js';
import { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import { ClaimLostError } from '../errors/claim-lost.error.js';
import { describeError } from '../events/integration-event-publisher.js';
import type { OutgoingTask, ProcessOutcome } from '../connectors/outgoing-task.interface.js';
import { buildRelayEnvelope, objectKeyOf, relayMessageId } from './relay-envelope.js';
import {
  defaultRelayRoute,
  OBJECT_KEY_HEADER,
  OBJECT_TYPE_HEADER,
  SEQUENCE_HEADER,
  TASK_TYPE_HEADER,
  type RelayMessage,
  type RelayRoute,
} from './relay-message.js';
import { startPublishSpan, type PublishDestination } from './publish-tracing.js';
import { traceHeadersOf, type RelayTraceContextInjector } from './trace-context.js';

/** Options every broker relay takes. */
export interface BrokerRelayOptions {
  /**
   * The subject (after the prefix) or routing key of a task.
   * @default `<object type>.<task type>`, e.g. `cms.user.UPDATEOBJ` (see `defaultRelayRoute`)
   */
  route?: RelayRoute;
  /**
   * The object's key, sent in the `Bus-Object-Key` header and the envelope's `objectKey`.
   * @default the entity's primary key (a document's node GUID and culture); null for plain objects
   */
  objectKey?: (task: OutgoingTask) => string | null;
  /** Trace headers for this relay; by default the injector of `setRelayTraceContextInjector`. */
  traceContext?: RelayTraceContextInjector;
  /**
   * Longest wait for the broker's acknowledgement of one message, in milliseconds; past it the
   * attempt is an Error and the connector's retry policy applies.
   * @default 5000
   */
  publishTimeoutMs?: number;
}

/** `publishTimeoutMs` when not given. */
export const DEFAULT_PUBLISH_TIMEOUT_MS = 5_000;

/**
 * Base of the broker relays (R-ECO-2): a connector that publishes each task it receives as a
 * versioned JSON envelope (`RelayEnvelope`) and answers OK only once the broker has acknowledged
 * it. A broker that is down, refuses or does not answer in `publishTimeoutMs` makes the attempt an
 * Error with the reason: the task stays queued and the connector's `retry` policy schedules the
 * next attempt, so no task is lost. A task published but not acknowledged in time is published
 * again with the same message id (task GUID + connector), which the broker (JetStream) or the
 * consumer (the bus's idempotent intake) drops as a duplicate.
 *
 * Fencing (R-DEL-2): every message carries the task's `sequence` (`Bus-Sequence` header, envelope
 * `sequence`), and the task's `fence()` is called right before the message is handed to the broker.
 * A fence that refuses (`ClaimLostError`: this process may no longer deliver for the queue) is
 * thrown on, not turned into an Error: the bus leaves the task queued for whoever holds the queue now
 * and records nothing for the attempt.
 *
 * Subclasses implement `publish` for their broker and `close`. Subscribe it like any connector.
 */
export abstract class BrokerRelayConnector extends BaseIntegrationConnector implements OnApplicationShutdown {
  /** The broker's name, for error messages. */
  protected abstract readonly brokerName: string;

  protected constructor(private readonly baseOptions: BrokerRelayOptions) {
    super();
  }

  /** How long one acknowledgement may take, in milliseconds. */
  protected get publishTimeoutMs(): number {
    return this.baseOptions.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
  }

  /**
   * Publishes the message and resolves once the broker has acknowledged it; rejects otherwise.
   * @param signal aborted when the bus stops waiting for the call (the task's `signal`)
   * @param fence the task's `fence()`: call it right before handing the message to the broker
   *   client, after any wait for a connection, and let what it throws propagate. The base calls it
   *   once before `publish` too, so a subclass that ignores it is still fenced, only earlier.
   */
  protected abstract publish(message: RelayMessage, signal: AbortSignal, fence: () => void): Promise<void>;

  /** Closes the broker connection; the next task opens it again. */
  abstract close(): Promise<void>;

  /**
   * Where a message goes, for its `publish` span (R-ECO-4): `messaging.system` and
   * `messaging.destination.name`. Subclasses name their broker's destination (the subject,
   * `{exchange}:{routing key}`); by default the route under the broker's name.
   */
  protected destinationOf(message: RelayMessage): PublishDestination {
    return { system: this.brokerName.toLowerCase().replace(/[^a-z0-9]+/g, '_'), name: message.route };
  }

  override processInternalTaskAsync(task: OutgoingTask): Promise<ProcessOutcome> {
    return this.relay(task);
  }

  override processInternalTaskSync(task: OutgoingTask): Promise<ProcessOutcome> {
    return this.relay(task);
  }

  /**
   * The message a task is published as.
   * @param traceHeaders its trace context headers; by default those of `traceHeadersOf`
   */
  protected toMessage(
    task: OutgoingTask,
    traceHeaders: Readonly<Record<string, string>> = traceHeadersOf(task, this.baseOptions.traceContext),
  ): RelayMessage {
    const envelope = buildRelayEnvelope(task, this.connectorName);
    const objectKey = this.baseOptions.objectKey ? this.baseOptions.objectKey(task) : objectKeyOf(task);
    envelope.objectKey = objectKey;
    const headers: Record<string, string> = {
      ...traceHeaders,
      [TASK_TYPE_HEADER]: task.taskType,
      [OBJECT_TYPE_HEADER]: task.objectType,
    };
    if (objectKey !== null) headers[OBJECT_KEY_HEADER] = objectKey;
    if (envelope.sequence !== undefined) headers[SEQUENCE_HEADER] = String(envelope.sequence);
    return {
      route: (this.baseOptions.route ?? defaultRelayRoute)(task),
      messageId: relayMessageId(task, this.connectorName),
      objectKey,
      envelope,
      body: Buffer.from(JSON.stringify(envelope)),
      headers,
    };
  }

  /**
   * Publishes one task: OK once acknowledged, Error (with the broker's reason) otherwise.
   * @throws ClaimLostError when the task's fence refused the write: nothing was published
   */
  protected async relay(task: OutgoingTask): Promise<ProcessOutcome> {
    const untraced = this.toMessage(task, {});
    // The publish span, when tracing: the trace headers are its context, written inside it.
    const span = startPublishSpan(task, untraced.messageId, this.destinationOf(untraced));
    const own = this.baseOptions.traceContext;
    const trace = span ? span.run(() => traceHeadersOf(task, own)) : traceHeadersOf(task, own);
    const message: RelayMessage = { ...untraced, headers: { ...trace, ...untraced.headers } };
    const fence = (): void => task.fence();
    try {
      fence();
      const publish = () => this.publish(message, task.signal, fence);
      await (span ? span.run(publish) : publish());
      span?.end();
      return IntegrationProcessResult.OK;
    } catch (error) {
      span?.end(error);
      // Not the broker's answer but the end of this run's claim: the task stays queued as it was.
      if (error instanceof ClaimLostError) throw error;
      return {
        result: IntegrationProcessResult.Error,
        errorMessage: `${this.brokerName} did not acknowledge message ${message.messageId}: ${describeError(error)}`,
      };
    }
  }

  /** Closes the connection when the application stops. */
  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }
}
