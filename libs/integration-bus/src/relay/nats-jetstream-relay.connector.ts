import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { BrokerRelayConnector, type BrokerRelayOptions } from './broker-relay.connector.js';
import { loadNatsClient, openNatsConnection, type NatsClient } from './nats-client.js';
import type { NatsServerOptions } from './nats-server-options.js';
import { hostsOf, type BrokerChannel } from './broker-channel.js';
import { natsCloudEventHeaders } from './cloud-event-binding.js';
import { RELAY_CONTENT_TYPE, type RelayMessage } from './relay-message.js';
import type { PublishDestination } from './publish-tracing.js';
import { ReopeningSession } from './reopening-session.js';
import { JetStreamPublisher } from './jetstream-publisher.js';

/** JetStream's deduplication header: the message id (`jetstream.publish`'s `msgID`). */
const MSG_ID_HEADER = 'Nats-Msg-Id';

/** Options of `NatsJetStreamRelayConnector`. */
export interface NatsJetStreamRelayOptions extends BrokerRelayOptions, NatsServerOptions {
  /** First token(s) of every subject: `<subjectPrefix>.<route>`, e.g. `bus.cms.user.UPDATEOBJ`. */
  subjectPrefix: string;
  /**
   * The stream that captures `<subjectPrefix>.>`: created at the first publish when missing (an
   * existing stream is used as it is). Leave it out when the stream is managed elsewhere.
   */
  stream?: {
    name: string;
    /**
     * How long JetStream remembers message ids to drop duplicates, in milliseconds: longer than
     * any outage the relay should retry through without a duplicate. @default 120000 (JetStream's)
     */
    duplicateWindowMs?: number;
  };
}

/** Adds a header after `own`'s: appended when `own` has none of that name, else set (replacing it). */
function addHeader(
  headers: MsgHdrs,
  own: Readonly<Record<string, string>>,
  name: string,
  value: string,
): void {
  if (name in own) headers.set(name, value);
  else headers.append(name, value);
}

/** What the relay holds while connected. */
interface NatsSession {
  connection: NatsConnection;
  /** Publishes and settles each message by its PubAck. */
  publisher: JetStreamPublisher;
  client: NatsClient;
}

/**
 * Relays outgoing tasks to NATS JetStream (R-ECO-2). Each task is published on
 * `<subjectPrefix>.<route>` with `Nats-Msg-Id` = task GUID + connector code name, so that JetStream
 * drops a task published twice within the stream's duplicate window; OK only after the stream's
 * PubAck. The connection reconnects by itself; a publish during an outage times out into an Error
 * and the connector's retry policy (`@Connector(…, { retry })`) tries again.
 *
 * Needs the optional packages `@nats-io/transport-node` and `@nats-io/jetstream`.
 *
 * ```ts
 * @Connector('ErpRelay')
 * @Subscribe({ objectType: 'cms.user' })
 * export class ErpRelay extends NatsJetStreamRelayConnector {
 *   constructor() {
 *     super({ servers: 'nats://127.0.0.1:4222', subjectPrefix: 'bus', stream: { name: 'BUS' } });
 *   }
 * }
 * ```
 */
export abstract class NatsJetStreamRelayConnector extends BrokerRelayConnector {
  protected readonly brokerName = 'NATS JetStream';
  readonly #session = new ReopeningSession<NatsSession>(
    () => this.open(),
    (session) => !session.connection.isClosed(),
    (session) => session.connection.close(),
  );

  protected constructor(private readonly options: NatsJetStreamRelayOptions) {
    super(options);
  }

  protected publish(message: RelayMessage, _signal: AbortSignal, fence: () => void): Promise<void> {
    // Not `async`: once the session is open, no tick (and no promise of its own) per message.
    const session = this.#session.ready();
    if (session !== null) return this.send(session, message, fence);
    return this.#session.get().then((opened) => this.send(opened, message, fence));
  }

  private send(session: NatsSession, message: RelayMessage, fence: () => void): Promise<void> {
    const headers = session.client.core.headers();
    const own = message.headers;
    // The keys of `own` are distinct: appended, not `set` (which looks each up twice). The headers
    // added after them replace one of the same name, as `set` would (a trace injector's, say).
    for (const name in own) headers.append(name, own[name]!);
    // Every message says what its body is (R-ECO-5); not `application/cloudevents`, which would
    // mean structured mode to a CloudEvents reader, while the CloudEvents format is binary mode.
    addHeader(headers, own, 'Content-Type', RELAY_CONTENT_TYPE);
    if (message.cloudEvent) {
      const attributes = natsCloudEventHeaders(message.cloudEvent.attributes);
      for (const name in attributes) addHeader(headers, own, name, attributes[name]!);
    }
    addHeader(headers, own, MSG_ID_HEADER, message.messageId); // last, where `jetstream.publish` puts it
    fence(); // after the connection wait, right before the message leaves (R-DEL-2)
    return session.publisher.publish(this.subjectOf(message), message.body, headers);
  }

  close(): Promise<void> {
    return this.#session.close();
  }

  override describeChannel(): BrokerChannel {
    const base = super.describeChannel();
    const stream = this.options.stream ? `, captured by stream ${this.options.stream.name}` : '';
    return {
      ...base,
      protocol: 'nats',
      hosts: hostsOf(this.options.servers),
      address: `${this.options.subjectPrefix}.${this.routePattern}`,
      description: `${base.description} JetStream subject with Nats-Msg-Id = task GUID:connector${stream}.`,
    };
  }

  /** The subject, for the publish span. */
  protected override destinationOf(message: RelayMessage): PublishDestination {
    return { system: 'nats', name: this.subjectOf(message) };
  }

  private subjectOf(message: RelayMessage): string {
    return `${this.options.subjectPrefix}.${message.route}`;
  }

  private async open(): Promise<NatsSession> {
    const client = await loadNatsClient('NatsJetStreamRelayConnector');
    const connection = await openNatsConnection(client, this.options, this.publishTimeoutMs);
    try {
      if (this.options.stream) {
        const manager = await client.jetstream.jetstreamManager(connection);
        const { name, duplicateWindowMs } = this.options.stream;
        try {
          await manager.streams.info(name);
        } catch {
          await manager.streams.add({
            name,
            subjects: [`${this.options.subjectPrefix}.>`],
            ...(duplicateWindowMs ? { duplicate_window: client.core.nanos(duplicateWindowMs) } : {}),
          });
        }
      }
      const inboxPrefix = this.options.connectionOptions?.inboxPrefix;
      const publisher = new JetStreamPublisher(
        client,
        connection,
        this.publishTimeoutMs,
        typeof inboxPrefix === 'string' ? inboxPrefix : undefined,
      );
      return { connection, client, publisher };
    } catch (error) {
      await connection.close();
      throw error;
    }
  }
}
