import type * as NatsJetStream from '@nats-io/jetstream';
import type * as NatsTransport from '@nats-io/transport-node';
import type { NatsServerOptions } from './nats-server-options.js';
import { importOptionalPackage } from './optional-package.js';

/** The two NATS packages, loaded on first use (optional peer dependencies). */
export interface NatsClient {
  core: typeof NatsTransport;
  jetstream: typeof NatsJetStream;
}

/** Loads `@nats-io/transport-node` and `@nats-io/jetstream`, naming the missing one. */
export async function loadNatsClient(usedBy: string): Promise<NatsClient> {
  const [core, jetstream] = await Promise.all([
    importOptionalPackage<typeof NatsTransport>('@nats-io/transport-node', usedBy),
    importOptionalPackage<typeof NatsJetStream>('@nats-io/jetstream', usedBy),
  ]);
  return { core, jetstream };
}

/**
 * Connects with reconnection forever (an outage of any length is ridden out rather than ending
 * the connection), the first attempt bounded by `timeoutMs`. Without async traces: the client would
 * otherwise build two Error objects, stack traces and all, for every request a JetStream publish
 * makes (a sixth of the relay's CPU and much of its garbage, profiled); a failed publish is told
 * by its message in the sync log, not by the client's stack.
 */
export function openNatsConnection(
  client: NatsClient,
  options: NatsServerOptions,
  timeoutMs: number,
): Promise<NatsTransport.NatsConnection> {
  return client.core.connect({
    servers: options.servers,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
    timeout: timeoutMs,
    noAsyncTraces: true,
    ...options.connectionOptions,
  });
}
