import {
  Inject,
  Logger,
  Optional,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { InvalidBrokerMessageError } from '../errors/invalid-broker-message.error.js';
import { InvalidExternalTaskError } from '../errors/invalid-external-task.error.js';
import { BUS_EVENT_SOURCE, BusEventCodes } from '../events/bus-event-codes.js';
import { ConsumerIntakeHook, type ConsumerIntakeOutcome } from '../events/consumer-intake.js';
import { ExternalTaskLogger } from '../incoming/external-task-logger.js';
import { IntegrationEventLog } from '../persistence/integration-event-log.service.js';
import { describeError } from '../events/integration-event-publisher.js';
import { ExternalObjectError } from '../incoming/external-object.error.js';
import { IntegrationBus } from '../integration-bus.service.js';
import {
  decodeIncomingTaskRequest,
  idempotencyKeyOfMessage,
  sequenceOfMessage,
  type BrokerMessage,
  type IncomingTaskRequest,
} from './incoming-message.js';
import { traceMessageIntake } from './message-tracing.js';

/** Options every broker consumer takes. */
export interface BrokerTaskConsumerOptions {
  /** The connector whose incoming tasks the messages become. */
  connectorName: string;
  /**
   * Reads a message into an external object and its task options. Throw an
   * `InvalidBrokerMessageError` for a message that can never become a task (it is then logged and
   * acknowledged); anything else thrown is taken as transient and the message is delivered again.
   * @default JSON `{ object, taskType, dataType?, processType?, siteName? }`, as the HTTP ingest route
   *
   * Options it returns with a `sequence` or `sequenceKey` replace the ones read from the message's
   * `Bus-Sequence` / `Bus-Object-Key` headers (see `sequenceOfMessage`).
   */
  decode?: (message: BrokerMessage) => IncomingTaskRequest | Promise<IncomingTaskRequest>;
  /**
   * How long a message that could not be logged (database down, connector disabled) waits before
   * it is delivered again, in milliseconds. @default 5000
   */
  retryDelayMs?: number;
}

/** What becomes of a message: acknowledged, delivered again later, or dropped as poison. */
export type MessageDisposition = 'ack' | 'retry' | 'poison';

/** Errors that say the message itself is wrong: delivering it again would fail again. */
function isPoison(error: unknown): boolean {
  return (
    error instanceof InvalidBrokerMessageError ||
    error instanceof InvalidExternalTaskError ||
    error instanceof ExternalObjectError
  );
}

/**
 * Base of the broker consumers (R-ECO-2, R-ECO-3): each message becomes one incoming task of
 * `connectorName` through `IntegrationBus.processExternalTask`, with the message id as idempotency
 * key, and is acknowledged only after that task committed. A message redelivered (an ack lost, a
 * crash between commit and ack) or published twice therefore logs one task. A message with the
 * `Bus-Sequence` and `Bus-Object-Key` headers the bus's relays send is logged only if its sequence is
 * above the highest logged for that object (R-DEL-2): an older version arriving late (from a relay paused
 * past its lease that delivered after its successor) is dropped, acknowledged, and written to the
 * log at debug level, not retried. A poison message (not JSON, wrong shape, a bad `Bus-Sequence`,
 * refused by the connector) is written to the event log (`POISONMESSAGE`) and acknowledged instead
 * of coming back forever; a transient failure (database down, connector disabled) delivers the
 * message again after `retryDelayMs`. Messages are handled one at a time, in order.
 *
 * A Nest provider: register the subclass in a module; it starts consuming once the application has
 * started (`onApplicationBootstrap`: start-up fails if the broker cannot be reached) and stops
 * before the application's shutdown hooks close the database (`beforeApplicationShutdown`), after
 * the message in hand.
 */
export abstract class BrokerTaskConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  @Inject(IntegrationBus) protected readonly bus!: IntegrationBus;
  @Inject(IntegrationEventLog) protected readonly eventLog!: IntegrationEventLog;
  // Tells whether a message logged a task or was a duplicate (the intake metrics, R-OPS-2).
  @Inject(ExternalTaskLogger) private readonly externalTasks!: ExternalTaskLogger;
  @Optional() @Inject(ConsumerIntakeHook) private readonly intake?: ConsumerIntakeHook;
  protected readonly logger = new Logger(this.constructor.name);

  protected constructor(private readonly consumerOptions: BrokerTaskConsumerOptions) {}

  /** The connector the messages are logged for. */
  get connectorName(): string {
    return this.consumerOptions.connectorName;
  }

  /** Wait before a transient failure's message comes again, in milliseconds. */
  protected get retryDelayMs(): number {
    return this.consumerOptions.retryDelayMs ?? 5_000;
  }

  /** Connects and starts consuming. */
  protected abstract start(): Promise<void>;

  /** Stops consuming, after the message in hand, and closes the connection. */
  protected abstract stop(): Promise<void>;

  onApplicationBootstrap(): Promise<void> {
    this.intake?.started(this.intakeConsumer);
    return this.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.stop();
  }

  /**
   * Called once a message's task has committed, before the message is acknowledged. An error
   * thrown here leaves the message unacknowledged (delivered again, and then deduplicated by its
   * idempotency key).
   */
  protected afterTaskLogged(_message: BrokerMessage): void | Promise<void> {}

  /**
   * Turns one message into a task and says what to do with the message, inside the span that
   * continues the publisher's trace (R-ECO-4).
   */
  protected handle(message: BrokerMessage): Promise<MessageDisposition> {
    return traceMessageIntake(message, this.connectorName, (failed) => this.take(message, failed));
  }

  private async take(message: BrokerMessage, failed: (error: unknown) => void): Promise<MessageDisposition> {
    try {
      const request = await (this.consumerOptions.decode ?? decodeIncomingTaskRequest)(message);
      const { options } = request;
      const decoded = options.sequence !== undefined || options.sequenceKey !== undefined;
      // A message dropped as an older version logs nothing and is acknowledged like any other that
      // logs nothing by design (the intake writes the debug line).
      const logged = await this.externalTasks.logWithOutcome(this.connectorName, request.object, {
        ...(decoded ? {} : sequenceOfMessage(message)),
        ...options,
        idempotencyKey: idempotencyKeyOfMessage(message.messageId),
      });
      await this.afterTaskLogged(message);
      this.took(logged.duplicate ? 'duplicate' : logged.reason === 'olderSequence' ? 'stale' : 'accepted');
      return 'ack';
    } catch (error) {
      failed(error);
      if (isPoison(error)) return this.poison(message, error);
      this.took('retried');
      this.logger.warn(
        `Message ${message.messageId ?? '(no id)'} from ${message.origin} not logged for ${this.connectorName}, ` +
          `delivered again in ${this.retryDelayMs} ms: ${describeError(error)}`,
      );
      return 'retry';
    }
  }

  private async poison(message: BrokerMessage, error: unknown): Promise<MessageDisposition> {
    try {
      await this.eventLog.write({
        level: 'error',
        source: BUS_EVENT_SOURCE,
        eventCode: BusEventCodes.PoisonMessage,
        connectorName: this.connectorName,
        message:
          `Message ${message.messageId ?? '(no id)'} from ${message.origin} cannot become a task and was ` +
          `dropped: ${describeError(error)}. Body: ${Buffer.from(message.body).toString('utf8').slice(0, 1000)}`,
      });
      this.took('poison');
      return 'poison';
    } catch (logError) {
      this.took('retried');
      // Not even logged: keep the message rather than lose the trace of it.
      this.logger.warn(
        `Poison message ${message.messageId ?? '(no id)'} not logged: ${describeError(logError)}`,
      );
      return 'retry';
    }
  }

  /** This consumer, as the intake metrics label it. */
  private get intakeConsumer() {
    return { consumer: this.constructor.name, connector: this.connectorName };
  }

  private took(outcome: ConsumerIntakeOutcome): void {
    this.intake?.took(this.intakeConsumer, outcome);
  }
}
