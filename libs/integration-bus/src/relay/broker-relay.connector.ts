import type { OnApplicationShutdown } from '@nestjs/common';
import { BaseIntegrationConnector } from '../connectors/base-integration-connector.js';
import { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import { ClaimLostError } from '../errors/claim-lost.error.js';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { describeError } from '../events/integration-event-publisher.js';
import type { OutgoingTask, ProcessOutcome } from '../connectors/outgoing-task.interface.js';
import { buildRelayEnvelope, objectKeyOf, relayMessageId } from './relay-envelope.js';
import {
  addTraceAttributes,
  buildRelayCloudEvent,
  type RelayCloudEventOptions,
  type RelayFormat,
} from './relay-cloud-event.js';
import {
  defaultRelayRoute,
  objectKeyRelayRoute,
  OBJECT_KEY_HEADER,
  OBJECT_TYPE_HEADER,
  SEQUENCE_HEADER,
  TASK_TYPE_HEADER,
  type RelayMessage,
  type RelayRoute,
} from './relay-message.js';
import { startPublishSpan, type PublishDestination, type PublishSpan } from './publish-tracing.js';
import { tracingApi } from '../events/trace-context.js';
import { traceHeadersOf, type RelayTraceContextInjector } from './trace-context.js';
import type { BrokerChannel } from './broker-channel.js';
import { allowPipelinedCalls } from '../connectors/pipelined-calls.js';

/** Options every broker relay takes. */
export interface BrokerRelayOptions {
  /**
   * The subject (after the prefix) or routing key of a task.
   * @default `<object type>.<task type>`, e.g. `cms.user.UPDATEOBJ` (see `defaultRelayRoute`)
   */
  route?: RelayRoute;
  /**
   * What the default route is made of, when `route` is not given: `'taskType'`,
   * `<object type>.<task type>` (`cms.user.UPDATEOBJ`); or `'objectKey'`, `<object type>.<object
   * key>` (`cms.user.42`, see `objectKeyRelayRoute`), the task type then only in the headers and
   * body. Why the key: a consumer that filters by task type (`*.UPDATEOBJ`) receives an object's
   * update without its create, or before it, on another subject or queue: per-object order holds
   * only within one subject (JetStream) or queue (RabbitMQ). Keyed routes make "all changes of this
   * object" one subject, and let the broker spread objects over partitions by key (a NATS subject
   * mapping with `partition()`, RabbitMQ's consistent-hash exchange) with each object's order kept.
   * @default 'taskType'
   */
  routeBy?: 'taskType' | 'objectKey';
  /**
   * The message layout: `'envelope'`, the bus's versioned JSON envelope (`RelayEnvelope`); or
   * `'cloudevents'`, a CloudEvent 1.0 in binary content mode (R-ECO-5): the attributes as `ce-`
   * headers on NATS and `cloudEvents:` application properties on AMQP, the data
   * (`RelayCloudEventData`) as the body. The `Bus-*` headers and the message id are sent either way.
   * @default 'envelope'
   */
  format?: RelayFormat;
  /** `source`, `type` prefix and `dataschema` of the CloudEvents (with `format: 'cloudevents'`). */
  cloudEvents?: RelayCloudEventOptions;
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

/** The body before it is written (`toMessage` always sets one). */
const EMPTY_BODY = new Uint8Array(0);

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
    allowPipelinedCalls(this);
    checkChoice('format', baseOptions.format, ['envelope', 'cloudevents']);
    checkChoice('routeBy', baseOptions.routeBy, ['taskType', 'objectKey']);
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
   * Where this relay publishes, for the AsyncAPI document (R-ECO-5). The broker relays say more;
   * a subclass of another transport may override it.
   */
  describeChannel(): BrokerChannel {
    return {
      action: 'send',
      protocol: null,
      hosts: [],
      address: this.routePattern,
      message: this.baseOptions.format ?? 'envelope',
      description: `Tasks relayed by connector ${this.connectorName} through ${this.brokerName}.`,
    };
  }

  /** The route as an AsyncAPI address, its variable parts as parameters. */
  protected get routePattern(): string {
    if (this.baseOptions.route) return '{route}';
    return this.baseOptions.routeBy === 'objectKey' ? '{objectType}.{objectKey}' : '{objectType}.{taskType}';
  }

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
   * A batch of tasks, for a relay declared with `maxBatchSize` above 1 (R-EXT-1): the messages are
   * pipelined — each sent without waiting for the confirm of the one before — and each task is OK
   * only once its own message is confirmed. A batch holds at most one change per object, so no
   * object's versions can pass each other. The bus may start the next batch while this one waits for
   * its confirms (`allowPipelinedCalls`): two batches at most, the second without any object of the
   * first, so at most twice `maxBatchSize` messages are unconfirmed. A task whose fence refuses leaves
   * the whole batch queued (at most one batch published twice; the broker's deduplication by message
   * id drops the repeats).
   */
  override processInternalTasksAsync(tasks: readonly OutgoingTask[]): Promise<ProcessOutcome[]> {
    return Promise.all(tasks.map((task) => this.relay(task)));
  }

  /**
   * The message a task is published as.
   * @param traceHeaders its trace context headers; by default those of `traceHeadersOf`
   */
  protected toMessage(
    task: OutgoingTask,
    traceHeaders: Readonly<Record<string, string>> = traceHeadersOf(task, this.baseOptions.traceContext),
  ): RelayMessage {
    const { route, routeBy, format = 'envelope', objectKey: keyOf, cloudEvents } = this.baseOptions;
    const connectorName = this.connectorName;
    const objectKey = keyOf ? keyOf(task) : objectKeyOf(task);
    const envelope = buildRelayEnvelope(task, connectorName, objectKey);
    const headers: Record<string, string> = {
      ...traceHeaders,
      [TASK_TYPE_HEADER]: task.taskType,
      [OBJECT_TYPE_HEADER]: task.objectType,
    };
    if (objectKey !== null) headers[OBJECT_KEY_HEADER] = objectKey;
    if (envelope.sequence !== undefined) headers[SEQUENCE_HEADER] = String(envelope.sequence);
    const messageId = relayMessageId(task, connectorName);
    const message: RelayMessage = {
      route: route
        ? route(task)
        : routeBy === 'objectKey'
          ? objectKeyRelayRoute(task.objectType, objectKey)
          : defaultRelayRoute(task),
      messageId,
      objectKey,
      envelope,
      body: EMPTY_BODY,
      headers,
      format,
    };
    // One JSON per message: the body is the envelope, or with CloudEvents the event's data.
    if (format === 'cloudevents') {
      message.cloudEvent = buildRelayCloudEvent(envelope, messageId, headers, cloudEvents);
      message.body = Buffer.from(JSON.stringify(message.cloudEvent.data));
    } else message.body = Buffer.from(JSON.stringify(envelope));
    return message;
  }

  /**
   * Publishes one task: OK once acknowledged, Error (with the broker's reason) otherwise.
   * @throws ClaimLostError when the task's fence refused the write: nothing was published
   */
  protected async relay(task: OutgoingTask): Promise<ProcessOutcome> {
    const own = this.baseOptions.traceContext;
    let message: RelayMessage;
    let span: PublishSpan | null = null;
    if (tracingApi() === null) {
      // No publish span to write the trace headers inside: the message is built once, with them.
      message = this.toMessage(task, traceHeadersOf(task, own));
    } else {
      const untraced = this.toMessage(task, {});
      // The publish span, when tracing: the trace headers are its context, written inside it.
      span = startPublishSpan(task, untraced.messageId, this.destinationOf(untraced));
      const trace = span ? span.run(() => traceHeadersOf(task, own)) : traceHeadersOf(task, own);
      message = { ...untraced, headers: { ...trace, ...untraced.headers } };
      if (message.cloudEvent)
        addTraceAttributes(message.cloudEvent.attributes as Record<string, string>, trace);
    }
    const fence = (): void => task.fence();
    try {
      fence();
      if (span === null) await this.publish(message, task.signal, fence);
      else {
        const traced = message;
        await span.run(() => this.publish(traced, task.signal, fence));
        span.end();
      }
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

/** Throws when an option given is not one of its values (a typo would otherwise pass silently). */
function checkChoice(name: string, value: string | undefined, allowed: readonly string[]): void {
  if (value !== undefined && !allowed.includes(value)) {
    throw new InvalidOptionsError(
      `Relay option ${name} must be ${allowed.map((a) => `'${a}'`).join(' or ')}; got ${JSON.stringify(value)}.`,
    );
  }
}
