import { Inject, Injectable, Logger } from '@nestjs/common';
import { InstanceId } from '../connectors/instance-id.js';
import { describeError } from '../events/integration-event-publisher.js';
import { RESOLVED_OPTIONS } from '../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../interfaces/integration-bus-options.interface.js';
import { PartitionGroupStore, type HeldPartition } from '../persistence/partition-group.store.js';
import { validFor } from './connector-lease.js';
import { keepRenewing } from './lease-renewal.js';
import { ProcessingClaim } from './processing-claim.js';

/** The partitions a group run holds: a claim each, and the database's clock when they were taken. */
export interface GroupClaims {
  claims: ReadonlyMap<number, ProcessingClaim>;
  claimedAt: string;
}

/** How a group claim went: the work's result if anything was granted, and the refusals. */
export interface GroupLeaseResult<T> {
  result: T | null;
  refused: { partition: number; expiresInMs: number }[];
}

/**
 * `ConnectorLease` for several partitions of one connector at once (a group run, see
 * `PartitionGroupDrain`): one statement claims them, one renews them every third of `leaseMs`, and
 * what the run did not give back with its write is released after it. Each partition keeps a
 * `ProcessingClaim` of its own, with its own epoch: a partition taken over is lost alone, the
 * others go on.
 */
@Injectable()
export class PartitionGroupLease {
  readonly #logger = new Logger('IntegrationBus');
  readonly owner: string;

  constructor(
    instanceId: InstanceId,
    private readonly store: PartitionGroupStore,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedIntegrationBusOptions,
  ) {
    this.owner = instanceId.value;
  }

  /** Runs `work` holding whichever of `partitions` could be claimed; not at all if none could. */
  async run<T>(
    connectorId: number,
    partitions: readonly number[],
    codeName: string,
    work: (group: GroupClaims) => Promise<T>,
  ): Promise<GroupLeaseResult<T>> {
    const { leaseMs } = this.options;
    const sentAt = performance.now();
    const grant = await this.store.claim(connectorId, partitions, this.owner, leaseMs);
    if (grant.granted.length === 0 || grant.claimedAt === null)
      return { result: null, refused: grant.refused };
    const held = new Map<number, { epoch: string; claim: ProcessingClaim }>();
    for (const { partition, epoch } of grant.granted) {
      const token = { direction: 'outgoing' as const, connectorId, partition, owner: this.owner, epoch };
      held.set(partition, {
        epoch,
        claim: new ProcessingClaim(token, grant.claimedAt, sentAt + validFor(leaseMs)),
      });
    }
    const live = (): HeldPartition[] =>
      [...held].filter(([, h]) => h.claim.held()).map(([partition, h]) => ({ partition, epoch: h.epoch }));
    const renewal = keepRenewing(
      leaseMs,
      (renewSentAt) => {
        const renewable = live();
        if (renewable.length === 0) return null;
        return this.store.renew(connectorId, renewable, this.owner, leaseMs).then((renewed) => {
          for (const { partition } of renewable) {
            const { claim } = held.get(partition)!;
            if (renewed.has(partition)) claim.extend(renewSentAt, renewSentAt + validFor(leaseMs));
            else claim.lose('another instance took the partition over');
          }
        });
      },
      // The database is unreachable: each claim stays valid until its lease would have run out.
      (error) =>
        this.#logger.debug(`Could not renew the partition leases of ${codeName}: ${describeError(error)}`),
    );
    const claims = new Map([...held].map(([partition, h]) => [partition, h.claim]));
    try {
      return { result: await work({ claims, claimedAt: grant.claimedAt }), refused: grant.refused };
    } finally {
      renewal.stop();
      const unreleased = [...held]
        .filter(([, h]) => !h.claim.released)
        .map(([partition, h]) => ({ partition, epoch: h.epoch }));
      // Calls the run abandoned may still be running: their fences fail from now on.
      for (const { claim } of held.values()) claim.lose('the run ended');
      await this.store.release(connectorId, unreleased, this.owner).catch((error: unknown) => {
        // Unreleased, the leases simply run out.
        this.#logger.debug(`Could not release the partition leases of ${codeName}: ${describeError(error)}`);
      });
    }
  }
}
