import { Inject, Injectable, Logger } from '@nestjs/common';
import { InstanceId } from '../connectors/instance-id.js';
import { ConnectorBusyError } from '../errors/connector-busy.error.js';
import { describeError } from '../events/integration-event-publisher.js';
import { RESOLVED_OPTIONS } from '../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../interfaces/integration-bus-options.interface.js';
import { LeaseStore, type LeaseScope } from '../persistence/lease.store.js';
import { keepRenewing } from './lease-renewal.js';
import { ProcessingClaim } from './processing-claim.js';

/**
 * The cross-instance half of "one processor per connector" (R-OUT-7, R-DEL-2) or per partition
 * (R-ORD-2): a lease on the connector's row per direction, or on the partition's row, with a fencing epoch, renewed every third of `leaseMs` while the
 * work lasts and released after it. A crashed instance stops renewing, so its lease runs out within
 * `leaseMs`; a paused one finds its claim gone when it wakes (see `ProcessingClaim`).
 */
@Injectable()
export class ConnectorLease {
  readonly #logger = new Logger('IntegrationBus');
  /** Identifies this process in `integration_connector.*lease_owner` (see `InstanceId`). */
  readonly owner: string;

  constructor(
    instanceId: InstanceId,
    private readonly store: LeaseStore,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedIntegrationBusOptions,
  ) {
    this.owner = instanceId.value;
  }

  /**
   * Runs `work` holding the lease; a `ConnectorBusyError` (saying when the holder's lease ends) when
   * another instance holds it.
   */
  async run<T>(
    scope: LeaseScope,
    codeName: string,
    work: (claim: ProcessingClaim) => Promise<T>,
  ): Promise<T> {
    const { leaseMs } = this.options;
    const { direction } = scope;
    const sentAt = performance.now();
    const grant = await this.store.claim(scope, this.owner, leaseMs);
    if (!grant.granted) throw new ConnectorBusyError(codeName, grant.expiresInMs);
    const token = { ...scope, owner: this.owner, epoch: grant.epoch };
    const claim = new ProcessingClaim(token, grant.claimedAt, sentAt + validFor(leaseMs));
    const renewal = keepRenewing(
      leaseMs,
      // Held() first: a timer that fires late, after a pause, finds the claim already gone.
      (renewSentAt) =>
        claim.held()
          ? this.store.renew(token, leaseMs).then((renewed) => {
              if (renewed) claim.extend(renewSentAt, renewSentAt + validFor(leaseMs));
              else claim.lose('another instance took the connector over');
            })
          : null,
      // The database is unreachable: the claim stays valid until its lease would have run out.
      (error) =>
        this.#logger.debug(`Could not renew the ${direction} lease of ${codeName}: ${describeError(error)}`),
    );
    try {
      return await work(claim);
    } finally {
      renewal.stop();
      const released = claim.released;
      // A call the run abandoned (timed out, interrupted) may still be running: its fence must fail
      // from now on, since the next holder may start at once.
      claim.lose('the run ended');
      if (!released)
        await this.store.release(token).catch((error: unknown) => {
          // Unreleased, the lease simply runs out.
          this.#logger.debug(
            `Could not release the ${direction} lease of ${codeName}: ${describeError(error)}`,
          );
        });
    }
  }
}

/**
 * How long after a (re)claim was sent this process may rely on it. The database sets the lease's end
 * at `leaseMs` after it received the statement, so counting from the moment it was sent is on the
 * safe side; a tenth (at most a second) is kept back for clock drift between the two.
 */
export function validFor(leaseMs: number): number {
  return leaseMs - Math.min(1000, leaseMs / 10);
}
