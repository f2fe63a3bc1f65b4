import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { loadAmqpClient, openAmqpConnection, type AmqpClient } from '../relay/amqp-client.js';
import { hostsOf, type BrokerChannel } from '../relay/broker-channel.js';
import { BrokerTaskConsumer, type BrokerTaskConsumerOptions } from './broker-task-consumer.js';
import type { BrokerMessage } from './incoming-message.js';

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
}

/** What the consumer holds while connected. */
interface RabbitConsumerSession {
  model: ChannelModel;
  channel: Channel;
}

/**
 * Consumes a RabbitMQ queue into incoming tasks (see `BrokerTaskConsumer`), one unacknowledged
 * message at a time (`prefetch(1)`, which keeps the queue's order). The idempotency key is the
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
  /** The message in hand: messages are handled one after the other. */
  #inHand: Promise<void> = Promise.resolve();

  protected constructor(private readonly options: RabbitMqTaskConsumerOptions) {
    super(options);
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
    await this.connect();
  }

  protected async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    await this.#inHand;
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
      await channel.prefetch(1);
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
      const session: RabbitConsumerSession = { model, channel };
      model.on('close', () => {
        if (this.#session === session) this.#session = null;
        this.reconnectLater();
      });
      this.#session = session;
      await channel.consume(this.options.queue, (message) => {
        if (message === null) return void model.close().catch(() => undefined); // cancelled by the broker
        this.#inHand = this.#inHand.then(() => this.onMessage(channel, message));
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

  private async onMessage(channel: Channel, message: ConsumeMessage): Promise<void> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(message.properties.headers ?? {})) {
      if (value !== undefined && value !== null) headers[name] = String(value);
    }
    const messageId = typeof message.properties.messageId === 'string' ? message.properties.messageId : null;
    const disposition = await this.handle({
      body: message.content,
      messageId,
      headers,
      contentType: typeof message.properties.contentType === 'string' ? message.properties.contentType : null,
      origin: `queue ${this.options.queue}`,
      destination: { system: 'rabbitmq', name: rabbitDestination(message, this.options.queue) },
    } satisfies BrokerMessage);
    try {
      if (disposition === 'retry') {
        await new Promise((resolve) => setTimeout(resolve, this.retryDelayMs));
        channel.nack(message, false, true);
      } else if (disposition === 'poison' && this.deadLettersPoison) {
        channel.nack(message, false, false); // to the queue's dead-letter exchange, if it has one
      } else channel.ack(message);
    } catch (error) {
      // The channel is gone: the broker delivers the message again on the next connection.
      this.logger.warn(`RabbitMQ ${this.options.queue}: ack failed: ${(error as Error).message}`);
    }
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
