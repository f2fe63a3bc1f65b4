import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { loadAmqpClient, openAmqpConnection, type AmqpClient } from '../relay/amqp-client.js';
import { hostsOf, type BrokerChannel } from '../relay/broker-channel.js';
import { BrokerTaskConsumer, type BrokerTaskConsumerOptions } from './broker-task-consumer.js';
import type { BrokerMessage } from './incoming-message.js';
import { UnsettledDeliveries } from './unsettled-deliveries.js';
import { MessageBatches } from './message-batches.js';
import { deliveryContext, type DeliveryContext } from './message-tracing.js';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';

/** Options of `RabbitMqTaskConsumer`. */
export interface RabbitMqTaskConsumerOptions extends BrokerTaskConsumerOptions {
  /** AMQP URL, e.g. `amqp://guest:guest@127.0.0.1:5672`. */
  url: string;
  /** The queue to consume. */
  queue: string;
  /** Declare the queue (durable) at connection. @default true */
  assertQueue?: boolean;
  /** Bindings to declare for the queue, e.g. `[{ exchange: 'erp', pattern: 'cms.user.#' }]`. */
  bindings?: readonly { exchange: string; pattern: string }[];
  /** Wait between reconnection attempts after the connection was lost, in milliseconds. @default 1000 */
  reconnectDelayMs?: number;
  /**
   * What becomes of a poison message once it is in the event log: `'dead-letter'` rejects it without
   * requeue (`nack(requeue=false)`), so that RabbitMQ moves it to the queue's dead-letter exchange
   * (its `x-dead-letter-exchange` argument or a policy) where it can be inspected and replayed; on a
   * queue without one RabbitMQ discards it, as an ack would. `'ack'` acknowledges it: it is gone even
   * where a dead-letter exchange is configured.
   * @default 'dead-letter'
   */
  poison?: 'dead-letter' | 'ack';
  /**
   * The queue's dead-letter exchange, declared with it (`x-dead-letter-exchange`) when the consumer
   * declares the queue. RabbitMQ refuses a declaration whose arguments differ from the existing
   * queue's: give it exactly when the queue has it, or set `assertQueue: false`.
   */
  deadLetterExchange?: string;
  /**
   * Unacknowledged messages the broker hands over at most (`basic.qos`): the next batch arrives
   * while one commits. At least `batchSize`. @default twice `batchSize`
   */
  prefetch?: number;
}

/** A message and the channel it came on (acknowledged there, or not at all once that channel closed). */
interface Delivery {
  channel: Channel;
  message: ConsumeMessage;
  /** The context amqplib's instrumentation (if any) delivered it in. */
  context: DeliveryContext;
}

/** What the consumer holds while connected. */
interface RabbitConsumerSession {
  model: ChannelModel;
  channel: Channel;
  /** The channel's deliveries not settled yet: when acks may go as one (see `UnsettledDeliveries`). */
  unsettled: UnsettledDeliveries;
}

/**
 * Consumes a RabbitMQ queue into incoming tasks (see `BrokerTaskConsumer`), in batches of up to
 * `batchSize` messages, with up to `prefetch` unacknowledged messages handed over (with `batchSize:
 * 1` and `prefetch: 1`, one message at a time, as before batches existed). The idempotency key is the
 * message's `messageId` property (a message without one is logged without a key: RabbitMQ itself
 * drops no duplicates, so publishers should set it; the bus's relay does). A poison message is
 * logged, then rejected without requeue so that the queue's dead-letter exchange keeps it (or
 * acknowledged, `poison: 'ack'`); a transient failure is requeued after `retryDelayMs`. A lost
 * connection is opened again every `reconnectDelayMs`; the messages it had not acknowledged come
 * again, and their keys dedupe them.
 *
 * Needs the optional package `amqplib`.
 */
export abstract class RabbitMqTaskConsumer extends BrokerTaskConsumer {
  #client: AmqpClient | null = null;
  #session: RabbitConsumerSession | null = null;
  #stopping = false;
  #reconnectTimer: NodeJS.Timeout | null = null;
  /** Messages delivered and not yet taken. */
  #deliveries: MessageBatches<Delivery> | null = null;
  /** Takes the batches one after the other until `stop`. */
  #work: Promise<void> = Promise.resolve();

  /** @throws InvalidOptionsError for a `batchSize`, `maxBatchWaitMs` or `prefetch` out of range */
  protected constructor(private readonly options: RabbitMqTaskConsumerOptions) {
    super(options);
    const { prefetch } = options;
    if (
      prefetch !== undefined &&
      (!Number.isSafeInteger(prefetch) || prefetch < this.batching.batchSize || prefetch > 65_535)
    ) {
      throw new InvalidOptionsError(
        `RabbitMqTaskConsumer option prefetch must be an integer from batchSize (${this.batching.batchSize}) to 65535; got ${JSON.stringify(prefetch)}.`,
      );
    }
  }

  /** Unacknowledged messages handed over at most. */
  private get prefetch(): number {
    return this.options.prefetch ?? Math.min(2 * this.batching.batchSize, 65_535);
  }

  override describeChannel(): BrokerChannel {
    const base = super.describeChannel();
    return {
      ...base,
      protocol: 'amqp',
      hosts: hostsOf(this.options.url),
      address: this.options.queue,
      bindings: {
        amqp: { is: 'queue', queue: { name: this.options.queue, durable: true }, bindingVersion: '0.3.0' },
      },
      description: `${base.description} Queue ${this.options.queue}.`,
    };
  }

  protected async start(): Promise<void> {
    this.#stopping = false;
    this.#client = await loadAmqpClient('RabbitMqTaskConsumer');
    const deliveries = new MessageBatches<Delivery>(this.batching);
    this.#deliveries = deliveries;
    await this.connect();
    this.#work = this.work(deliveries);
  }

  protected async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    // What was delivered and not taken goes back to the queue when the connection closes.
    this.#deliveries?.close();
    await this.#work;
    const session = this.#session;
    this.#session = null;
    await session?.model.close().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const model = await openAmqpConnection(this.#client!, this.options.url, 5_000);
    try {
      const channel = await model.createChannel();
      channel.on('error', () => {});
      // A channel the broker closed (the connection still open) would consume nothing more: close
      // the connection too, which reconnects.
      channel.on('close', () => void model.close().catch(() => undefined));
      await channel.prefetch(this.prefetch);
      if (this.options.assertQueue !== false) {
        const { deadLetterExchange } = this.options;
        await channel.assertQueue(this.options.queue, {
          durable: true,
          ...(deadLetterExchange ? { deadLetterExchange } : {}),
        });
      }
      for (const binding of this.options.bindings ?? []) {
        await channel.bindQueue(this.options.queue, binding.exchange, binding.pattern);
      }
      const session: RabbitConsumerSession = { model, channel, unsettled: new UnsettledDeliveries() };
      model.on('close', () => {
        if (this.#session === session) this.#session = null;
        this.reconnectLater();
      });
      this.#session = session;
      await channel.consume(this.options.queue, (message) => {
        if (message === null) return void model.close().catch(() => undefined); // cancelled by the broker
        session.unsettled.delivered(message.fields.deliveryTag);
        this.#deliveries?.push({ channel, message, context: deliveryContext() });
      });
    } catch (error) {
      await model.close().catch(() => undefined);
      throw error;
    }
  }

  private reconnectLater(): void {
    if (this.#stopping || this.#reconnectTimer) return;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      if (this.#stopping) return;
      this.connect().catch((error: unknown) => {
        this.logger.warn(`RabbitMQ ${this.options.queue}: reconnection failed: ${(error as Error).message}`);
        this.reconnectLater();
      });
    }, this.options.reconnectDelayMs ?? 1_000);
  }

  private get deadLettersPoison(): boolean {
    return (this.options.poison ?? 'dead-letter') === 'dead-letter';
  }

  protected override get poisonFate(): string {
    return this.deadLettersPoison ? "rejected (to the queue's dead-letter exchange, if any)" : 'dropped';
  }

  /** Takes the batches of messages until `stop`. */
  private work(deliveries: MessageBatches<Delivery>): Promise<void> {
    return this.takeBatches(
      deliveries,
      async (batch) => {
        // A message of a closed channel can no longer be acknowledged: the broker delivers it again.
        const session = this.#session;
        const live = batch.filter((delivery) => delivery.channel === session?.channel);
        if (session && live.length > 0) await this.onMessages(live, session.unsettled);
      },
      () => false,
    );
  }

  /**
   * Logs a batch, then settles each message by its disposition, in delivery order: the acks of
   * consecutive messages go as one where nothing else is unsettled below them (`UnsettledDeliveries`),
   * a poison message is rejected by itself, and a retried one is requeued after `retryDelayMs`.
   */
  private async onMessages(deliveries: readonly Delivery[], unsettled: UnsettledDeliveries): Promise<void> {
    const dispositions = await this.handleBatch(
      deliveries.map(({ message }) => this.toBrokerMessage(message)),
      deliveries.map(({ context }) => context),
    );
    const retried: Delivery[] = [];
    let acks: Delivery[] = [];
    const acknowledge = (): void => {
      const last = acks[acks.length - 1];
      if (!last) return;
      if (unsettled.settleRun(acks.map(({ message }) => message.fields.deliveryTag))) {
        last.channel.ack(last.message, true);
      } else for (const { channel, message } of acks) channel.ack(message);
      acks = [];
    };
    try {
      for (const [i, delivery] of deliveries.entries()) {
        const disposition = dispositions[i];
        if (disposition === 'retry') {
          acknowledge();
          retried.push(delivery);
        } else if (disposition === 'poison' && this.deadLettersPoison) {
          acknowledge();
          unsettled.settle(delivery.message.fields.deliveryTag);
          delivery.channel.nack(delivery.message, false, false); // to the queue's dead-letter exchange, if it has one
        } else acks.push(delivery);
      }
      acknowledge();
      if (retried.length === 0) return;
      await new Promise((resolve) => setTimeout(resolve, this.retryDelayMs));
      // Requeued in order: RabbitMQ puts each back at its place in the queue.
      for (const { channel, message } of retried) {
        unsettled.settle(message.fields.deliveryTag);
        channel.nack(message, false, true);
      }
    } catch (error) {
      // The channel is gone: the broker delivers the messages again on the next connection.
      this.logger.warn(`RabbitMQ ${this.options.queue}: ack failed: ${(error as Error).message}`);
    }
  }

  private toBrokerMessage(message: ConsumeMessage): BrokerMessage {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(message.properties.headers ?? {})) {
      if (value !== undefined && value !== null) headers[name] = String(value);
    }
    const messageId = typeof message.properties.messageId === 'string' ? message.properties.messageId : null;
    return {
      body: message.content,
      messageId,
      headers,
      contentType: typeof message.properties.contentType === 'string' ? message.properties.contentType : null,
      origin: `queue ${this.options.queue}`,
      destination: { system: 'rabbitmq', name: rabbitDestination(message, this.options.queue) },
    };
  }
}

/**
 * `{exchange}:{routing key}:{queue}`, empty parts left out and the routing key once when it names
 * the queue (the RabbitMQ semantic conventions for consumer spans).
 */
function rabbitDestination(message: ConsumeMessage, queue: string): string {
  const { exchange, routingKey } = message.fields;
  return [exchange, routingKey, routingKey === queue ? '' : queue].filter((part) => part !== '').join(':');
}
