import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Client } from 'pg';
import { ConnectorLease } from '../connectors/connector-lease.js';
import { describeError } from '../events/integration-event-publisher.js';
import { RESOLVED_OPTIONS } from '../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../interfaces/integration-bus-options.interface.js';
import { BusDatabase } from '../persistence/bus-database.js';
import { QUEUE_CHANNEL } from '../persistence/task.store.js';
import { OutgoingProcessor } from './outgoing-processor.js';

/** Delay before reconnecting the LISTEN connection after it broke. */
const RECONNECT_MS = 1000;

/**
 * R-OUT-8 (b): instances sharing the database learn of each other's new outgoing tasks through
 * PostgreSQL LISTEN/NOTIFY. The logging statement notifies on commit (`TaskStore.insert`); this keeps
 * one dedicated connection listening (a pooled one could be handed to someone else) and nudges the
 * processors of the connectors named, unless the notification is our own. The connection is
 * re-opened after a failure; tasks notified meanwhile are found by the sweep.
 */
@Injectable()
export class QueueListener implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly #logger = new Logger('IntegrationBus');
  #client: Client | undefined;
  #stopping = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: BusDatabase,
    private readonly lease: ConnectorLease,
    private readonly processor: OutgoingProcessor,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedIntegrationBusOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.options.outgoing.processAfterCommit) return;
    await this.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const c = this.db.connectionOptions;
    const client = new Client(
      c.clientUrl
        ? { connectionString: c.clientUrl }
        : { host: c.host, port: c.port, user: c.user, password: c.password, database: c.dbName },
    );
    client.on('notification', (message) => this.onNotification(message.payload));
    client.on('error', (error) => this.reconnect(error));
    try {
      await client.connect();
      await client.query(`listen ${QUEUE_CHANNEL}`);
      this.#client = client;
    } catch (error) {
      await client.end().catch(() => undefined);
      this.reconnect(error);
    }
  }

  private reconnect(error: unknown): void {
    if (this.#stopping) return;
    this.#logger.warn(`LISTEN connection lost (${describeError(error)}); reconnecting in ${RECONNECT_MS} ms`);
    const broken = this.#client;
    this.#client = undefined;
    void broken?.end().catch(() => undefined);
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => void this.connect(), RECONNECT_MS);
    this.#retry.unref();
  }

  /** Payload: `{ "from": owner, "connectors": [ids] }` (see `TaskStore.insert`). */
  private onNotification(payload: string | undefined): void {
    let message: { from?: unknown; connectors?: unknown };
    try {
      message = JSON.parse(payload ?? '') as typeof message;
    } catch {
      return; // not ours
    }
    if (message.from === this.lease.owner || !Array.isArray(message.connectors)) return;
    this.processor.nudge(message.connectors.filter((id): id is number => Number.isInteger(id)));
  }
}
