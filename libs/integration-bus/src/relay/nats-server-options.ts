/** Where and how the NATS relay and consumer connect. */
export interface NatsServerOptions {
  /** NATS server URL(s), e.g. `nats://127.0.0.1:4222`. */
  servers: string | string[];
  /**
   * Further options of `@nats-io/transport-node`'s `connect` (`user`, `pass`, `token`, `tls`, `name`,
   * …). By default the connection reconnects forever, every second, without async traces
   * (`noAsyncTraces: true`: they cost a stack trace per publish).
   */
  connectionOptions?: Readonly<Record<string, unknown>>;
}
