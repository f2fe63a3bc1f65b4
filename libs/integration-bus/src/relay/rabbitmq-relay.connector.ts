import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { BrokerRelayConnector, type BrokerRelayOptions } from './broker-relay.connector.js';
import { loadAmqpClient, openAmqpConnection } from './amqp-client.js';
import { hostsOf, type BrokerChannel } from './broker-channel.js';
import { amqpCloudEventHeaders } from './cloud-event-binding.js';
import { RELAY_CONTENT_TYPE, TASK_TYPE_HEADER, type RelayMessage } from './relay-message.js';
import type { PublishDestination } from './publish-tracing.js';
import { ReopeningSession } from './reopening-session.js';
import { PendingPublishes } from './pending-publishes.js';

/** Options of `RabbitMqRelayConnector`. */
export interface RabbitMqRelayOptions extends BrokerRelayOptions {
  /** AMQP URL, e.g. `amqp://guest:guest@127.0.0.1:5672`. */
  url: string;
  /** The exchange tasks are published to, with the route as routing key. */
  exchange: string;
  /** Its type, when the relay declares it. @default 'topic' */
  exchangeType?: 'topic' | 'direct' | 'fanout' | 'headers';
  /** Declare the exchange (durable) at connection. @default true */
  assertExchange?: boolean;
}

/** What the relay holds while connected. */
interface RabbitSession {
  model: ChannelModel;
  channel: ConfirmChannel;
  /** Ids of messages the broker returned as unroutable, until their confirm arrives. */
  returned: Set<string>;
  /** The messages waiting for their confirm, by publish number. */
  pending: PendingPublishes<number>;
  /** The number of the next publish. */
  next: number;
  open: boolean;
}

/**
 * Relays outgoing tasks to RabbitMQ (R-ECO-2): a confirm channel, persistent messages published
 * `mandatory` to `exchange` with the route as routing key and `messageId` = task GUID + connector
 * code name. OK only after the broker's confirm; a message no queue takes (returned), a nack, a
 * lost connection or no confirm within `publishTimeoutMs` is an Error, and the connector's retry
 * policy tries again. A lost connection is opened again at the next task. RabbitMQ does not drop
 * duplicates itself: a consumer does, by `messageId` (the bus's RabbitMQ consumer uses it as the
 * idempotency key).
 *
 * Needs the optional package `amqplib`.
 */
export abstract class RabbitMqRelayConnector extends BrokerRelayConnector {
  protected readonly brokerName = 'RabbitMQ';
  readonly #session = new ReopeningSession<RabbitSession>(
    () => this.open(),
    (session) => session.open,
    (session) => this.drop(session),
  );

  protected constructor(private readonly options: RabbitMqRelayOptions) {
    super(options);
  }

  protected publish(message: RelayMessage, _signal: AbortSignal, fence: () => void): Promise<void> {
    // Not `async`: once the session is open, no tick (and no promise of its own) per message.
    const session = this.#session.ready();
    if (session !== null) return this.send(session, message, fence);
    return this.#session.get().then((opened) => this.send(opened, message, fence));
  }

  private send(session: RabbitSession, message: RelayMessage, fence: () => void): Promise<void> {
    fence(); // after the connection wait, right before the message leaves (R-DEL-2)
    const { body, messageId, route } = message;
    const key = session.next++;
    return new Promise<void>((resolve, reject) => {
      session.pending.add(key, resolve, reject);
      try {
        session.channel.publish(
          this.options.exchange,
          route,
          // A view of the body, not a copy: amqplib copies it into its frame.
          Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
          {
            persistent: true,
            mandatory: true,
            messageId,
            contentType: RELAY_CONTENT_TYPE, // also the CloudEvent's datacontenttype (AMQP binding)
            type: message.headers[TASK_TYPE_HEADER],
            headers: message.cloudEvent
              ? { ...message.headers, ...amqpCloudEventHeaders(message.cloudEvent.attributes) }
              : message.headers,
          },
          (error: unknown) => {
            const pending = session.pending.take(key);
            if (pending === undefined) return; // timed out (or the channel failed) already
            if (error) pending.reject(error instanceof Error ? error : new Error(`nacked: ${String(error)}`));
            else if (session.returned.delete(messageId)) {
              pending.reject(
                new Error(
                  `unroutable: no queue is bound to exchange "${this.options.exchange}" for "${route}"`,
                ),
              );
            } else pending.resolve();
          },
        );
      } catch (error) {
        session.pending.take(key);
        void this.drop(session);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  close(): Promise<void> {
    return this.#session.close();
  }

  override describeChannel(): BrokerChannel {
    const base = super.describeChannel();
    return {
      ...base,
      protocol: 'amqp',
      hosts: hostsOf(this.options.url),
      bindings: {
        amqp: {
          is: 'routingKey',
          exchange: {
            name: this.options.exchange,
            type: this.options.exchangeType ?? 'topic',
            durable: true,
          },
          bindingVersion: '0.3.0',
        },
      },
      description: `${base.description} Routing key on exchange ${this.options.exchange}; persistent, messageId = task GUID:connector.`,
    };
  }

  /** `{exchange}:{routing key}` (the RabbitMQ semantic conventions), for the publish span. */
  protected override destinationOf(message: RelayMessage): PublishDestination {
    return {
      system: 'rabbitmq',
      name: `${this.options.exchange}:${message.route}`,
      attributes: { 'messaging.rabbitmq.destination.routing_key': message.route },
    };
  }

  private async open(): Promise<RabbitSession> {
    const client = await loadAmqpClient('RabbitMqRelayConnector');
    const model = await openAmqpConnection(client, this.options.url, this.publishTimeoutMs);
    try {
      const channel = await model.createConfirmChannel();
      const session: RabbitSession = {
        model,
        channel,
        returned: new Set(),
        // No confirm in time: the channel's state is unknown, a new one for the next task.
        pending: new PendingPublishes(
          this.publishTimeoutMs,
          `no confirm within ${this.publishTimeoutMs} ms`,
          () => {
            void this.drop(session);
          },
        ),
        next: 0,
        open: true,
      };
      const lost = () => (session.open = false);
      model.on('close', lost);
      channel.on('close', lost);
      channel.on('error', lost);
      channel.on('return', (returned: { properties: { messageId?: string } }) => {
        if (returned.properties.messageId) session.returned.add(returned.properties.messageId);
      });
      if (this.options.assertExchange !== false) {
        await channel.assertExchange(this.options.exchange, this.options.exchangeType ?? 'topic', {
          durable: true,
        });
      }
      return session;
    } catch (error) {
      await model.close().catch(() => {});
      throw error;
    }
  }

  private async drop(session: RabbitSession): Promise<void> {
    session.open = false;
    await session.model.close().catch(() => {});
  }
}
