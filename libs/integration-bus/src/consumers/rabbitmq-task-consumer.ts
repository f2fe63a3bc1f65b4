import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { loadAmqpClient, openAmqpConnection, type AmqpClient } from '../relay/amqp-client.js';
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
 * acknowledged after being logged; a transient failure is requeued after `retryDelayMs`. A lost
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
      if (this.options.assertQueue !== false)
        await channel.assertQueue(this.options.queue, { durable: true });
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
      origin: `queue ${this.options.queue}`,
      destination: { system: 'rabbitmq', name: rabbitDestination(message, this.options.queue) },
    } satisfies BrokerMessage);
    try {
      if (disposition === 'retry') {
        await new Promise((resolve) => setTimeout(resolve, this.retryDelayMs));
        channel.nack(message, false, true);
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
