import type { ConsumerMessages, Consumers, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { loadNatsClient, openNatsConnection, type NatsClient } from '../relay/nats-client.js';
import type { NatsServerOptions } from '../relay/nats-server-options.js';
import { hostsOf, type BrokerChannel } from '../relay/broker-channel.js';
import { BrokerTaskConsumer, type BrokerTaskConsumerOptions } from './broker-task-consumer.js';
import type { BrokerMessage } from './incoming-message.js';
import { MessageBatches } from './message-batches.js';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';

/** What the consumer subscribes with. */
interface NatsConsumerSession {
  client: NatsClient;
  manager: JetStreamManager;
  consumers: Consumers;
}

/** Options of `NatsJetStreamTaskConsumer`. */
export interface NatsJetStreamTaskConsumerOptions extends BrokerTaskConsumerOptions, NatsServerOptions {
  /** The stream to consume. */
  stream: string;
  /** The durable consumer's name: its position survives restarts. */
  consumer: string;
  /** Only the stream's messages on these subjects (when the consumer is created here). */
  filterSubject?: string;
  /**
   * Create the durable consumer when it does not exist, with explicit acks and `maxAckPending`
   * messages in flight; a consumer that exists with another `max_ack_pending` is updated to it.
   * @default true
   */
  createConsumer?: boolean;
  /**
   * How long JetStream waits for an ack before delivering again, in milliseconds: also the longest
   * stall after a server crash that lost acks (the messages come again after it and are dropped by
   * their idempotency keys).
   * @default 30000
   */
  ackWaitMs?: number;
  /**
   * Unacknowledged messages the server hands over at most (the consumer's `max_ack_pending`, and
   * what the subscription pulls at a time): the next batch arrives while one commits. At least
   * `batchSize`; `batchSize: 1` with `maxAckPending: 1` keeps the stream's order through any
   * redelivery. @default twice `batchSize`
   */
  maxAckPending?: number;
}

/**
 * Consumes a NATS JetStream stream into incoming tasks (see `BrokerTaskConsumer`). The idempotency
 * key is the message's `Nats-Msg-Id` header, or when it has none the stream, the stream's creation
 * time and the sequence (`BUS:2026-12-07T10:00:00.123456789Z:42`), so that a stream deleted and
 * created again does not reuse keys. Messages are taken in batches of up to `batchSize`, with up to
 * `maxAckPending` unacknowledged. A poison message is terminated (`term`), a transient failure
 * negatively acknowledged with a delay (`nak`), a logged one acknowledged (`ack`).
 *
 * Needs the optional packages `@nats-io/transport-node` and `@nats-io/jetstream`.
 *
 * ```ts
 * @Injectable()
 * export class ErpOrders extends NatsJetStreamTaskConsumer {
 *   constructor() {
 *     super({ connectorName: 'Erp', servers: 'nats://127.0.0.1:4222', stream: 'ERP', consumer: 'bus' });
 *   }
 * }
 * ```
 */
export abstract class NatsJetStreamTaskConsumer extends BrokerTaskConsumer {
  #connection: NatsConnection | null = null;
  #messages: ConsumerMessages | null = null;
  #loop: Promise<void> | null = null;
  #stopping = false;
  /**
   * When the consumed stream was created (its info's `created`), read at each subscription: part of
   * the key of a message without `Nats-Msg-Id`, since a stream deleted and created again numbers its
   * messages from 1 again.
   */
  #streamCreated = '';

  /** @throws InvalidOptionsError for a `batchSize`, `maxBatchWaitMs` or `maxAckPending` out of range */
  protected constructor(private readonly options: NatsJetStreamTaskConsumerOptions) {
    super(options);
    const { maxAckPending } = options;
    if (
      maxAckPending !== undefined &&
      (!Number.isSafeInteger(maxAckPending) ||
        maxAckPending < this.batching.batchSize ||
        maxAckPending > 100_000)
    ) {
      throw new InvalidOptionsError(
        `NatsJetStreamTaskConsumer option maxAckPending must be an integer from batchSize (${this.batching.batchSize}) to 100000; got ${JSON.stringify(maxAckPending)}.`,
      );
    }
  }

  /** Unacknowledged messages handed over at most. */
  private get maxAckPending(): number {
    return this.options.maxAckPending ?? 2 * this.batching.batchSize;
  }

  override describeChannel(): BrokerChannel {
    const base = super.describeChannel();
    return {
      ...base,
      protocol: 'nats',
      hosts: hostsOf(this.options.servers),
      address: this.options.filterSubject ?? null,
      description: `${base.description} JetStream stream ${this.options.stream}, durable consumer ${this.options.consumer}.`,
    };
  }

  protected async start(): Promise<void> {
    const client = await loadNatsClient('NatsJetStreamTaskConsumer');
    const connection = await openNatsConnection(client, this.options, 5_000);
    this.#connection = connection;
    try {
      const session: NatsConsumerSession = {
        client,
        manager: await client.jetstream.jetstreamManager(connection),
        consumers: client.jetstream.jetstream(connection).consumers,
      };
      this.#stopping = false;
      // The first subscription in start-up, so that a missing stream fails it loudly.
      const first = await this.subscribe(session);
      this.#loop = this.consumeUntilStopped(session, first);
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  protected async stop(): Promise<void> {
    this.#stopping = true;
    const messages = this.#messages;
    this.#messages = null;
    await messages?.close().catch(() => undefined);
    await this.#loop?.catch(() => undefined);
    this.#loop = null;
    const connection = this.#connection;
    this.#connection = null;
    await connection?.close();
  }

  /**
   * Creates the durable consumer when missing (and allowed), then subscribes. The subscription ends
   * with an error, rather than waiting forever, when the stream or the consumer disappears (a
   * server that lost its state, a consumer deleted by hand): the loop then creates it again.
   */
  private async subscribe({ client, manager, consumers }: NatsConsumerSession): Promise<ConsumerMessages> {
    if (this.options.createConsumer !== false) {
      let pending: number | undefined;
      try {
        pending = (await manager.consumers.info(this.options.stream, this.options.consumer)).config
          .max_ack_pending;
      } catch {
        await manager.consumers.add(this.options.stream, {
          durable_name: this.options.consumer,
          ack_policy: client.jetstream.AckPolicy.Explicit,
          max_ack_pending: this.maxAckPending,
          ack_wait: client.core.nanos(this.options.ackWaitMs ?? 30_000),
          ...(this.options.filterSubject ? { filter_subject: this.options.filterSubject } : {}),
        });
      }
      // A consumer created before batches (max_ack_pending 1), or with another batch size.
      if (pending !== undefined && pending !== this.maxAckPending) {
        await manager.consumers.update(this.options.stream, this.options.consumer, {
          max_ack_pending: this.maxAckPending,
        });
      }
    }
    // Read after the consumer exists: a stream created again in between removed the consumer too,
    // which ends this subscription, and the next one reads the new stream's time.
    this.#streamCreated = (await manager.streams.info(this.options.stream)).created;
    const consumer = await consumers.get(this.options.stream, this.options.consumer);
    const messages = await consumer.consume({
      max_messages: this.maxAckPending,
      abort_on_missing_resource: true,
    });
    this.#messages = messages;
    return messages;
  }

  /**
   * Handles the messages one after the other until `stop`. Should the subscription end or fail
   * (the consumer deleted and created again, a long outage), it is opened again after a second
   * rather than left ended: a consumer that silently stops consuming would hold messages forever.
   */
  private async consumeUntilStopped(session: NatsConsumerSession, first: ConsumerMessages): Promise<void> {
    let messages: ConsumerMessages | null = first;
    while (!this.#stopping) {
      try {
        messages ??= await this.subscribe(session);
        await this.consumeInBatches(messages);
      } catch (error) {
        if (this.#stopping) return;
        this.logger.warn(
          `Consuming ${this.options.stream}/${this.options.consumer} stopped: ${(error as Error).message}; again in 1 s`,
        );
      }
      messages = null;
      if (!this.#stopping) await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }

  /**
   * The id of a message without `Nats-Msg-Id`: stream, the stream's creation time and sequence. The
   * sequence alone would collide across incarnations of a stream (deleted and created again, its
   * sequences restart at 1): a new message would be dropped as a duplicate of an old one for the
   * whole idempotency window (issue 23).
   */
  private keyOfUnnamed(message: JsMsg): string {
    return `${message.info.stream}:${this.#streamCreated}:${message.info.streamSequence}`;
  }

  /**
   * Reads the subscription into batches and handles them (see `takeBatches`), until it ends. What
   * was read and not handled then is given back (`nak`), to come again at once rather than after
   * the ack wait.
   * @throws what ended the subscription
   */
  private async consumeInBatches(messages: ConsumerMessages): Promise<void> {
    const batches = new MessageBatches<JsMsg>(this.batching);
    const reading = (async () => {
      try {
        for await (const message of messages) batches.push(message);
      } finally {
        for (const message of batches.close()) giveBack(message);
      }
    })();
    reading.catch(() => undefined); // awaited below, once the batch in hand is done
    await this.takeBatches(
      batches,
      (batch) => this.onMessages(batch),
      () => this.#stopping,
      (batch) => batch.forEach(giveBack),
    );
    await reading;
  }

  private async onMessages(batch: readonly JsMsg[]): Promise<void> {
    const messages = batch.map((message) => this.toBrokerMessage(message));
    const dispositions = await this.handleBatch(messages);
    for (const [i, message] of batch.entries()) {
      const disposition = dispositions[i];
      try {
        // Not confirmed (`ack`, not `ackAck`): an ack that does not arrive brings the message again,
        // and its idempotency key dedupes it; waiting for each confirm would cost a round trip per message.
        if (disposition === 'ack') message.ack();
        // No reason string: servers before 2.10.4 ignore a `+TERM` that carries one.
        else if (disposition === 'poison') message.term();
        else message.nak(this.retryDelayMs);
      } catch (error) {
        this.logger.warn(`Ack of ${messages[i]!.origin} failed: ${(error as Error).message}`);
      }
    }
  }

  private toBrokerMessage(message: JsMsg): BrokerMessage {
    const headers: Record<string, string> = {};
    for (const name of message.headers?.keys() ?? []) headers[name] = message.headers!.get(name);
    return {
      body: message.data,
      messageId: headers['Nats-Msg-Id'] || this.keyOfUnnamed(message),
      headers,
      origin: `stream ${message.info.stream} seq ${message.info.streamSequence}`,
      destination: { system: 'nats', name: message.subject },
    };
  }
}

/** Gives an unhandled message back to come again at once; on a closed connection it comes after the ack wait. */
function giveBack(message: JsMsg): void {
  try {
    message.nak();
  } catch {
    // The connection is gone: the server delivers it again after the ack wait.
  }
}
