/**
 * Where a relay publishes or a consumer reads, described for the AsyncAPI document the management
 * API serves (R-ECO-5). Nothing secret: hosts come without user names or passwords.
 */
export interface BrokerChannel {
  /** `send` for a relay, `receive` for a consumer. */
  action: 'send' | 'receive';
  /** AsyncAPI protocol (`nats`, `amqp`); null for a transport the bus does not know. */
  protocol: string | null;
  /** The brokers' `host:port`, credentials left out. */
  hosts: string[];
  /**
   * The channel's address: a NATS subject (parameters in braces, e.g.
   * `bus.{objectType}.{taskType}`), a RabbitMQ routing key or queue; null when unknown (a stream
   * consumed without a subject filter).
   */
  address: string | null;
  /** What the messages are: a relay's envelope or CloudEvent, or a consumer's incoming task. */
  message: 'envelope' | 'cloudevents' | 'incoming';
  /** Broker details as AsyncAPI channel bindings (`amqp`: exchange or queue). */
  bindings?: Readonly<Record<string, unknown>>;
  /** A sentence on the channel: the stream, the exchange, the durable consumer. */
  description: string;
}

/** `host:port` of each broker URL, without credentials (a URL that does not parse is left out). */
export function hostsOf(urls: string | readonly string[]): string[] {
  const hosts: string[] = [];
  for (const url of typeof urls === 'string' ? [urls] : urls) {
    try {
      // NATS accepts a bare `host:port`: give it a scheme to parse.
      const parsed = new URL(url.includes('://') ? url : `nats://${url}`);
      hosts.push(parsed.port ? `${parsed.hostname}:${parsed.port}` : parsed.hostname);
    } catch {
      // Not a URL: nothing to show rather than something that might hold a secret.
    }
  }
  return hosts;
}
