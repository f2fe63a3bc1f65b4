import { BrokerRelayConnector, type BrokerRelayOptions } from './broker-relay.connector.js';
import type { PublishDestination } from './publish-tracing.js';
import type { RelayMessage } from './relay-message.js';

/**
 * What the relay needs of a `@nestjs/microservices` `ClientProxy` (any transport: Redis, MQTT,
 * Kafka, NATS core, TCP…). Structural, so that the library does not depend on the package.
 */
export interface RelayClientProxy {
  connect?(): Promise<unknown>;
  emit(pattern: string, data: unknown): RelaySubscribable;
  close?(): unknown;
}

/** The part of an RxJS `Observable` the relay uses: `ClientProxy.emit` returns one. */
export interface RelaySubscribable {
  subscribe(observer: {
    next?: (value: unknown) => void;
    error?: (error: unknown) => void;
    complete?: () => void;
  }): { unsubscribe(): void };
}

/** What a `ClientProxyRelayConnector` emits for a task: the envelope with its identity beside it. */
export interface ClientProxyRelayPacket {
  /** Task GUID + connector: a consumer drops a repeated one (the bus's idempotent intake does). */
  messageId: string;
  /** The object's key: transports that partition by key keep each object's order. */
  objectKey: string | null;
  /**
   * The trace context and the bus's headers (`Bus-Task-Type`, `Bus-Object-Type`, `Bus-Object-Key`,
   * `Bus-Sequence`), as the broker relays send them.
   */
  headers: Record<string, string>;
  /** The `RelayEnvelope`, or with `format: 'cloudevents'` the CloudEvent in the JSON event format. */
  envelope: unknown;
}

/** Options of `ClientProxyRelayConnector`. */
export interface ClientProxyRelayOptions extends BrokerRelayOptions {
  /** The client to emit through, e.g. from `ClientProxyFactory.create(...)` or `ClientsModule`. */
  client: RelayClientProxy;
  /** The transport's name in error messages. @default 'the transport' */
  transportName?: string;
}

/**
 * Relays each task through a `@nestjs/microservices` `ClientProxy` (R-ECO-2): `client.emit(route,
 * packet)`, OK once the emit completes. **At-least-once only where the transport confirms**: the
 * emit of some transports completes when the message was handed to the broker and acknowledged
 * (Redis: its `PUBLISH` reply; Kafka: the producer's acknowledgement), of others when it was
 * written to a socket, and a message a transport drops after that is lost to the bus. For delivery
 * a broker confirms and keeps, use `NatsJetStreamRelayConnector` or `RabbitMqRelayConnector`.
 * Tasks are emitted one at a time, so one connector (or one partition with `ordering: 'object'`)
 * keeps its order.
 */
export class ClientProxyRelayConnector extends BrokerRelayConnector {
  protected readonly brokerName: string;

  constructor(private readonly proxyOptions: ClientProxyRelayOptions) {
    super(proxyOptions);
    this.brokerName = proxyOptions.transportName ?? 'the transport';
  }

  protected async publish(message: RelayMessage, signal: AbortSignal, fence: () => void): Promise<void> {
    const { client } = this.proxyOptions;
    await client.connect?.();
    const packet: ClientProxyRelayPacket = {
      messageId: message.messageId,
      objectKey: message.objectKey,
      headers: message.headers,
      // CloudEvents: the structured form (the JSON event format), as the transport serialises the packet.
      envelope: message.cloudEvent
        ? { ...message.cloudEvent.attributes, data: message.cloudEvent.data }
        : message.envelope,
    };
    fence(); // after the connection wait, right before the message leaves (R-DEL-2)
    await new Promise<void>((resolve, reject) => {
      const finish = (error?: unknown): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        subscription?.unsubscribe();
        if (error === undefined) resolve();
        else reject(error instanceof Error ? error : new Error(String(error)));
      };
      const onAbort = (): void => finish(new Error('the bus stopped waiting'));
      const timer = setTimeout(
        () => finish(new Error(`no completion within ${this.publishTimeoutMs} ms`)),
        this.publishTimeoutMs,
      );
      signal.addEventListener('abort', onAbort, { once: true });
      let subscription: { unsubscribe(): void } | undefined;
      subscription = client.emit(message.route, packet).subscribe({
        error: (error) => finish(error ?? new Error('the emit failed')),
        complete: () => finish(),
      });
    });
  }

  /** The pattern emitted to, under the transport's name (`redis`, `kafka`), for the publish span. */
  protected override destinationOf(message: RelayMessage): PublishDestination {
    const transport = this.proxyOptions.transportName?.toLowerCase().replace(/[^a-z0-9]+/g, '_');
    return { system: transport || 'nestjs_microservices', name: message.route };
  }

  async close(): Promise<void> {
    await this.proxyOptions.client.close?.();
  }
}
