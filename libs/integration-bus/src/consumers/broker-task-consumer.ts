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
import { IntegrationEventLog } from '../persistence/integration-event-log.service.js';
import { describeError } from '../events/integration-event-publisher.js';
import { ExternalObjectError } from '../incoming/external-object.error.js';
import { IntegrationBus } from '../integration-bus.service.js';
import type { BrokerChannel } from '../relay/broker-channel.js';
import {
  decodeIncomingTaskRequest,
  idempotencyKeyOfMessage,
  sequenceOfMessage,
  type BrokerMessage,
  type IncomingTaskRequest,
} from './incoming-message.js';
import { consumerBatching, type ConsumerBatching, type MessageBatches } from './message-batches.js';
import { traceMessageIntake, type DeliveryContext } from './message-tracing.js';
import type { ExternalTaskBatch } from '../incoming/external-task-batch.js';

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
  /**
   * Messages taken at once (R-ECO-2, R-ECO-3): the tasks of a batch are logged in one transaction,
   * and each message is acknowledged only once that transaction committed. 1 to 1,000; 1 logs each
   * message in a transaction of its own, one message at a time, as before batches existed.
   * @default 500
   */
  batchSize?: number;
  /**
   * How long a batch waits for more messages after its first one, in milliseconds (0 to 60,000): a
   * lone message waits this long at most; under load batches fill without waiting. @default 10
   */
  maxBatchWaitMs?: number;
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
 * refused by the connector) is written to the event log (`POISONMESSAGE`) and to the application
 * log at error level, then settled instead of coming back forever (JetStream: terminated; RabbitMQ:
 * dead-lettered or acknowledged, its `poison` option); a transient failure (database down, connector
 * disabled) delivers the message again after `retryDelayMs`. A message whose idempotency key had
 * already logged a task (a redelivery, a message published twice) is acknowledged and written to the
 * log at debug level. Each message's outcome (accepted, duplicate, stale, poison, retried) is told
 * to `ConsumerIntakeHook`, which `IntakeCounters` and the metrics watch.
 *
 * Messages are taken in batches of up to `batchSize` (waiting at most `maxBatchWaitMs` for a batch
 * to fill): the batch's tasks are logged in one transaction, in the order of the messages (the
 * intake order per object), and each message is acknowledged once that transaction committed, never
 * before. The next batch is read and prepared while one commits; the transactions follow each
 * other in the order of the batches. Within a batch each message keeps its own outcome: a poison message is settled as poison
 * and the others are logged; a repeat of a message earlier in the batch is a duplicate; should the
 * batch's transaction fail, its tasks are logged one by one, so that a message the database refuses
 * is delivered again alone. A message delivered again after a transient failure can be logged after
 * messages that followed it; messages of the bus's relays keep their order per object by their
 * `Bus-Sequence` (an older version arriving late is dropped), and `batchSize: 1` keeps the broker's
 * order for any message.
 *
 * A Nest provider: register the subclass in a module; it starts consuming once the application has
 * started (`onApplicationBootstrap`: start-up fails if the broker cannot be reached) and stops
 * before the application's shutdown hooks close the database (`beforeApplicationShutdown`), after
 * the message in hand.
 */
export abstract class BrokerTaskConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  @Inject(IntegrationBus) protected readonly bus!: IntegrationBus;
  @Inject(IntegrationEventLog) protected readonly eventLog!: IntegrationEventLog;
  // Where each message's outcome is told: the intake counts and metrics watch it (R-OPS-2).
  @Optional() @Inject(ConsumerIntakeHook) private readonly intake?: ConsumerIntakeHook;
  protected readonly logger = new Logger(this.constructor.name);

  /** The batch handled last: the next one's transaction follows its. */
  #lastBatch: Promise<void> = Promise.resolve();

  /** Batches handled at once: one is prepared while the one before commits. */
  protected get batchesInFlight(): number {
    return this.batching.batchSize === 1 ? 1 : 2;
  }

  /** How messages are cut into batches, checked. */
  protected readonly batching: ConsumerBatching;

  /** @throws InvalidOptionsError for a `batchSize` or `maxBatchWaitMs` out of range */
  protected constructor(private readonly consumerOptions: BrokerTaskConsumerOptions) {
    this.batching = consumerBatching(consumerOptions);
  }

  /** The connector the messages are logged for. */
  get connectorName(): string {
    return this.consumerOptions.connectorName;
  }

  /** Wait before a transient failure's message comes again, in milliseconds. */
  protected get retryDelayMs(): number {
    return this.consumerOptions.retryDelayMs ?? 5_000;
  }

  /** Where this consumer reads, for the AsyncAPI document (R-ECO-5); the broker consumers say more. */
  describeChannel(): BrokerChannel {
    return {
      action: 'receive',
      protocol: null,
      hosts: [],
      address: null,
      message: 'incoming',
      description: `Incoming tasks for connector ${this.connectorName}.`,
    };
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

  /** What becomes of a poison message, for log lines: `dropped`, or `dead-lettered` where the broker keeps it. */
  protected get poisonFate(): string {
    return 'dropped';
  }

  /**
   * Turns one message into a task and says what to do with the message, inside the span that
   * continues the publisher's trace (R-ECO-4).
   */
  protected async handle(message: BrokerMessage, delivered?: DeliveryContext): Promise<MessageDisposition> {
    return traceMessageIntake(
      message,
      this.connectorName,
      async (failed) => {
        const outcome = await this.take(message, failed);
        return typeof outcome === 'string' ? outcome : this.poison(message, outcome.poison);
      },
      delivered,
    );
  }

  /**
   * Turns a batch of messages into tasks logged in one transaction (see the class) and says what to
   * do with each message, in order; each message's intake runs inside its own span (R-ECO-4),
   * continuing from the context it was delivered in (`delivered`, by position) when given. Batches
   * may be handled while the one before is not done (up to `batchesInFlight`): each one's
   * transaction waits for the one before's, so the intake order stays the order of the messages.
   */
  protected async handleBatch(
    messages: readonly BrokerMessage[],
    delivered: readonly DeliveryContext[] = [],
  ): Promise<MessageDisposition[]> {
    if (this.batching.batchSize === 1) return [await this.handle(messages[0]!, delivered[0])];
    const batch = this.bus.externalTaskBatch(this.connectorName, messages.length, this.#lastBatch);
    this.#lastBatch = batch.done;
    const taken = await Promise.all(
      messages.map((message, position) =>
        traceMessageIntake(
          message,
          this.connectorName,
          (failed) => this.take(message, failed, { batch, position }),
          delivered[position],
        ),
      ),
    );
    // Poison messages are written down in the order they came, one after the other.
    const dispositions: MessageDisposition[] = [];
    for (const [position, outcome] of taken.entries()) {
      dispositions.push(
        typeof outcome === 'string' ? outcome : await this.poison(messages[position]!, outcome.poison),
      );
    }
    return dispositions;
  }

  /**
   * Takes the batches of `batches` until it closes, handing each to `handle` with up to
   * `batchesInFlight` handled at once; returns once the last one is done.
   * @param refused what to do with a batch taken once `stopping()` (not handled)
   */
  protected async takeBatches<T>(
    batches: MessageBatches<T>,
    handle: (batch: T[]) => Promise<void>,
    stopping: () => boolean,
    refused: (batch: T[]) => void = () => undefined,
  ): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    for (let batch = await batches.next(); batch; batch = await batches.next()) {
      if (stopping()) {
        refused(batch);
        break;
      }
      const handled: Promise<void> = handle(batch)
        .catch((error: unknown) => {
          // Not expected (each message's failure is a disposition): its messages come again.
          this.logger.warn(`A batch of ${batch.length} messages was not handled: ${describeError(error)}`);
        })
        .finally(() => inFlight.delete(handled));
      inFlight.add(handled);
      if (inFlight.size >= this.batchesInFlight) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  }

  private async take(
    message: BrokerMessage,
    failed: (error: unknown) => void,
    within?: { batch: ExternalTaskBatch; position: number },
  ): Promise<Exclude<MessageDisposition, 'poison'> | { poison: unknown }> {
    try {
      let request;
      try {
        request = await (this.consumerOptions.decode ?? decodeIncomingTaskRequest)(message);
      } catch (error) {
        within?.batch.withdraw(within.position);
        throw error;
      }
      const { options } = request;
      const decoded = options.sequence !== undefined || options.sequenceKey !== undefined;
      // A message dropped as an older version logs nothing and is acknowledged like any other that
      // logs nothing by design (the intake writes the debug line).
      const idempotencyKey = request.idempotencyKey ?? idempotencyKeyOfMessage(message.messageId);
      let sequence;
      try {
        sequence = decoded ? {} : sequenceOfMessage(message);
      } catch (error) {
        within?.batch.withdraw(within.position);
        throw error;
      }
      const taskOptions = { ...sequence, ...options, idempotencyKey };
      const outcome = within
        ? await within.batch.add(within.position, request.object, taskOptions)
        : await this.bus.processExternalTaskWithOutcome(this.connectorName, request.object, taskOptions);
      await this.afterTaskLogged(message);
      if (outcome.duplicate) {
        // Not silent (issue 23): a message dropped as a repeat is visible in the debug log and counted.
        this.logger.debug(
          `Message ${message.messageId ?? '(no id)'} from ${message.origin} is a duplicate for ` +
            `${this.connectorName} (idempotency key ${idempotencyKey} logged task ${outcome.task.id}): acknowledged, nothing logged`,
        );
      }
      this.took(outcome.duplicate ? 'duplicate' : outcome.reason === 'olderSequence' ? 'stale' : 'accepted');
      return 'ack';
    } catch (error) {
      failed(error);
      if (isPoison(error)) return { poison: error };
      this.took('retried');
      this.logger.warn(
        `Message ${message.messageId ?? '(no id)'} from ${message.origin} not logged for ${this.connectorName}, ` +
          `delivered again in ${this.retryDelayMs} ms: ${describeError(error)}`,
      );
      return 'retry';
    }
  }

  private async poison(message: BrokerMessage, error: unknown): Promise<MessageDisposition> {
    const what =
      `Message ${message.messageId ?? '(no id)'} from ${message.origin} cannot become a task and was ` +
      `${this.poisonFate}: ${describeError(error)}`;
    try {
      await this.eventLog.write({
        level: 'error',
        source: BUS_EVENT_SOURCE,
        eventCode: BusEventCodes.PoisonMessage,
        connectorName: this.connectorName,
        message: `${what}. Body: ${Buffer.from(message.body).toString('utf8').slice(0, 1000)}`,
      });
      this.logger.error(`${what} (connector ${this.connectorName})`);
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
