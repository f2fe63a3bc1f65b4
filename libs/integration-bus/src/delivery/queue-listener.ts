import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Client } from 'pg';
import { InstanceId } from '../connectors/instance-id.js';
import { ConnectorRegistry } from '../connectors/connector-registry.js';
import { describeError } from '../events/integration-event-publisher.js';
import { BusDatabase } from '../persistence/bus-database.js';
import { QUEUE_CHANNEL } from '../persistence/change-log.store.js';
import { SettingsService } from '../settings/settings.service.js';
import { OutgoingProcessor } from './outgoing-processor.js';
import { parseQueueSignal } from './queue-signal.js';

/** Pause between two attempts to re-open the LISTEN connection. */
const RECONNECT_MS = 250;

/**
 * R-OUT-8 (b), R-DEL-3: instances sharing the database learn of each other's new tasks, and of
 * queues that need a look, through PostgreSQL LISTEN/NOTIFY (`QueueSignals`). This keeps one
 * dedicated connection listening (a pooled one could be handed to someone else).
 *
 * The connection doubles as this instance's view of the database's health. When it breaks (a
 * database restart, a network cut), it is re-opened every `RECONNECT_MS`, with one log line when it
 * is lost and one when it is back; once back, every connector is processed at once, since the
 * notifications sent meanwhile are lost and a run cut short by the outage wrote nothing after it.
 */
@Injectable()
export class QueueListener implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly #logger = new Logger('IntegrationBus');
  #client: Client | undefined;
  #stopping = false;
  #retry: NodeJS.Timeout | undefined;
  /** When the connection was lost (`performance.now()`), while it is. */
  #lostAt: number | undefined;

  constructor(
    private readonly db: BusDatabase,
    private readonly instanceId: InstanceId,
    private readonly processor: OutgoingProcessor,
    private readonly registry: ConnectorRegistry,
    private readonly settings: SettingsService,
  ) {}

  /** Whether the LISTEN connection is open now. */
  get connected(): boolean {
    return this.#client !== undefined;
  }

  async onApplicationBootstrap(): Promise<void> {
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
    if (this.#stopping) return;
    const c = this.db.connectionOptions;
    const client = new Client(
      c.clientUrl
        ? { connectionString: c.clientUrl }
        : { host: c.host, port: c.port, user: c.user, password: c.password, database: c.dbName },
    );
    client.on('notification', (message) => this.onNotification(message.payload));
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`listen ${QUEUE_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      this.lost(undefined, error);
      return;
    }
    if (this.#stopping) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    if (this.#lostAt !== undefined) {
      const seconds = ((performance.now() - this.#lostAt) / 1000).toFixed(1);
      this.#lostAt = undefined;
      this.#logger.log(`LISTEN connection restored after ${seconds} s; processing every connector`);
      this.processor.wakeAll();
    }
  }

  /** The connection (or an attempt to open it) failed: try again shortly, logging once per loss. */
  private lost(client: Client | undefined, error: unknown): void {
    if (this.#stopping) return;
    if (client !== undefined) {
      if (client !== this.#client) return; // an old connection's late event
      this.#client = undefined;
      void client.end().catch(() => undefined);
    }
    if (this.#lostAt === undefined) {
      this.#lostAt = performance.now();
      this.#logger.warn(
        `LISTEN connection lost (${describeError(error)}); reconnecting every ${RECONNECT_MS} ms`,
      );
    }
    clearTimeout(this.#retry);
    // Not unref'd: in an app with no HTTP server (a worker), this timer is what keeps the process
    // alive while the database is away; without it the process would exit quietly.
    this.#retry = setTimeout(() => void this.connect(), RECONNECT_MS);
  }

  private onNotification(payload: string | undefined): void {
    const signal = parseQueueSignal(payload);
    if (!signal || signal.from === this.instanceId.value) return;
    if (signal.reinitialize || signal.all) void this.lookAgain(signal.reinitialize === true);
    else if (signal.committed) this.processor.nudge(signal.connectors ?? [], signal.partitions);
    // A queue handed over or unblocked elsewhere: taken here even if it was seen held (`trigger`).
    else if (signal.connectors) this.processor.wake(signal.connectors);
  }

  /** Another instance changed connectors or switches: read them again, then look at every queue. */
  private async lookAgain(reinitialize: boolean): Promise<void> {
    try {
      // Both loads start now, before a later signal is handled: a run that signal starts reads the new
      // switches, which wait for the load under way (`RefreshingValue.get`), not the cached ones.
      await Promise.all([
        reinitialize ? this.registry.reinitialize() : this.registry.refreshRows(),
        this.settings.refresh(),
      ]);
    } catch (error) {
      this.#logger.error(`Could not read the connectors and switches again: ${describeError(error)}`);
    }
    this.processor.wakeAll();
  }
}
