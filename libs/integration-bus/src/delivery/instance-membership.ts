import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { describeError } from '../events/integration-event-publisher.js';
import { RESOLVED_OPTIONS } from '../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../interfaces/integration-bus-options.interface.js';
import { InstanceStore } from '../persistence/instance.store.js';
import { InstanceId } from '../connectors/instance-id.js';
import { ConnectorRegistry } from '../connectors/connector-registry.js';

/**
 * This instance's membership of the cluster that shares partitions (R-ORD-3): it says it is alive
 * every third of `leaseMs` and learns how many instances are, so that each takes its fair share of
 * an `ordering: 'object'` connector's partitions without any configuration. A new instance is
 * counted by the others within a third of a lease; one that shuts down leaves at once, one that
 * dies is forgotten when its last beat runs out (`leaseMs`).
 */
@Injectable()
export class InstanceMembership implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly #logger = new Logger('IntegrationBus');
  #live = 1;
  #timer: NodeJS.Timeout | undefined;
  #failing = false;

  constructor(
    private readonly store: InstanceStore,
    private readonly instanceId: InstanceId,
    private readonly registry: ConnectorRegistry,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedIntegrationBusOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Only partitions are shared by count: an app without an `ordering: 'object'` connector writes
    // no heartbeat at all (connectors are loaded before bootstrap, and keep their options).
    if (!this.registry.loaded.some((c) => c.ordering === 'object')) return;
    await this.beat();
    this.#timer = setInterval(() => void this.beat(), Math.max(100, Math.floor(this.options.leaseMs / 3)));
    this.#timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    await this.store.leave(this.instanceId.value).catch((error: unknown) => {
      // Not removed, the row simply runs out.
      this.#logger.debug(`Could not leave the instance list: ${describeError(error)}`);
    });
  }

  /** How many instances are alive, this one included (at least 1). */
  get liveInstances(): number {
    return this.#live;
  }

  /** How many of `partitions` partitions this instance should hold at most: its fair share. */
  shareOf(partitions: number): number {
    return Math.max(1, Math.ceil(partitions / this.#live));
  }

  private async beat(): Promise<void> {
    try {
      this.#live = await this.store.beat(this.instanceId.value, this.options.leaseMs);
      this.#failing = false;
    } catch (error) {
      // The database is away: the last count stands until it is back.
      if (!this.#failing)
        this.#logger.debug(`Could not renew this instance's membership: ${describeError(error)}`);
      this.#failing = true;
    }
  }
}
