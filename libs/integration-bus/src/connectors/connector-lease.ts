import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConnectorBusyError } from '../errors/connector-busy.error.js';
import { describeError } from '../events/integration-event-publisher.js';
import { RESOLVED_OPTIONS } from '../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../interfaces/integration-bus-options.interface.js';
import { ConnectorStore, type LeaseDirection } from '../persistence/connector.store.js';

/**
 * The cross-instance half of "one processor per connector" (R-OUT-7): a lease on the connector's
 * row, per direction, renewed every third of `leaseMs` while the work lasts and released after it.
 * A crashed instance stops renewing, so its lease runs out within `leaseMs`.
 */
@Injectable()
export class ConnectorLease {
  readonly #logger = new Logger('IntegrationBus');
  /** Identifies this process in `integration_connector.*lease_owner`. */
  readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  constructor(
    private readonly store: ConnectorStore,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedIntegrationBusOptions,
  ) {}

  /** Runs `work` holding the lease; a `ConnectorBusyError` when another instance holds it. */
  async run<T>(
    direction: LeaseDirection,
    connectorId: number,
    codeName: string,
    work: () => Promise<T>,
  ): Promise<T> {
    const { leaseMs } = this.options;
    if (!(await this.store.claimLease(direction, connectorId, this.owner, leaseMs))) {
      throw new ConnectorBusyError(codeName);
    }
    const renewal = setInterval(
      () => {
        this.store.renewLease(direction, connectorId, this.owner, leaseMs).catch((error: unknown) => {
          this.#logger.warn(`Could not renew the ${direction} lease of ${codeName}: ${describeError(error)}`);
        });
      },
      Math.floor(leaseMs / 3),
    );
    renewal.unref();
    try {
      return await work();
    } finally {
      clearInterval(renewal);
      await this.store.releaseLease(direction, connectorId, this.owner);
    }
  }
}
