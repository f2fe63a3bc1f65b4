import { ConflictException, Injectable } from '@nestjs/common';
import { codeNameKey } from '../../connectors/connector-code-name.js';
import { ConnectorRegistry, type ConnectorStatus } from '../../connectors/connector-registry.js';
import { ConnectorNotFoundError } from '../../errors/connector-not-found.error.js';
import { BUS_EVENT_SOURCE, BusEventCodes } from '../../events/bus-event-codes.js';
import { EventLogStore } from '../../persistence/event-log.store.js';
import { IntegrationBus } from '../../integration-bus.service.js';
import { ConnectorAdminStore } from '../../persistence/connector-admin.store.js';
import { TaskAdminStore } from '../../persistence/task-admin.store.js';
import {
  PartitionStore,
  type BlockedObject,
  type PartitionStatus,
} from '../../persistence/partition.store.js';
import { InstanceMembership } from '../../delivery/instance-membership.js';
import { QueueSignals } from '../../delivery/queue-signal.js';
import type { ConnectorOrdering } from '../../connectors/connector.decorator.js';

/** How a connector's outgoing queue is split and who processes it (R-ORD-1..3). */
export interface ConnectorPartitions {
  codeName: string;
  ordering: ConnectorOrdering;
  /** Partitions one instance processes at once. */
  concurrency: number;
  /** Instances sharing the partitions now, this one included. */
  liveInstances: number;
  partitions: PartitionStatus[];
  /** Objects held back by a failed task, oldest first (at most 100). */
  blockedObjects: BlockedObject[];
}

/** What deleting a connector removed. */
export interface ConnectorDeletion {
  codeName: string;
  synchronizationsDeleted: number;
  tasksDeleted: number;
}

/**
 * Connector rows as the admin API manages them (SPEC §8, R-SET-2).
 *
 * "Re-initialising the connectors" after a change means: on this instance, every connector's
 * `onConnectorInit` runs again over its decorators' subscriptions and the registry's rows are
 * reloaded (`ConnectorRegistry.reinitialize`); other instances see the rows within a second.
 */
@Injectable()
export class ConnectorManagementService {
  constructor(
    private readonly bus: IntegrationBus,
    private readonly registry: ConnectorRegistry,
    private readonly store: ConnectorAdminStore,
    private readonly tasks: TaskAdminStore,
    private readonly eventLog: EventLogStore,
    private readonly partitionStore: PartitionStore,
    private readonly membership: InstanceMembership,
    private readonly signals: QueueSignals,
  ) {}

  /** A loaded connector's partitions, who holds each, and what is blocked in them. */
  async partitions(codeName: string): Promise<ConnectorPartitions> {
    const connector = this.registry.get(codeName);
    const row = await this.registry.row(codeName);
    if (!row) throw new ConnectorNotFoundError(codeName);
    const [partitions, blockedObjects] = await Promise.all([
      this.partitionStore.status(row.id),
      this.partitionStore.blockedObjects(row.id, 100),
    ]);
    return {
      codeName,
      ordering: connector.ordering,
      concurrency: connector.concurrency,
      liveInstances: this.membership.liveInstances,
      partitions,
      blockedObjects,
    };
  }

  /** Every connector row, loaded or not, with the reason when not. */
  list(): Promise<ConnectorStatus[]> {
    return this.bus.getConnectors();
  }

  /** One connector's status, or a `ConnectorNotFoundError`. */
  async get(codeName: string): Promise<ConnectorStatus> {
    const status = (await this.bus.getConnectors()).find((c) => c.codeName === codeName);
    if (!status) throw new ConnectorNotFoundError(codeName);
    return status;
  }

  /**
   * Registers a connector row for a code name, e.g. ahead of deploying its provider. It shows as
   * loaded only when a provider with that code name runs in this application.
   */
  async create(input: {
    codeName: string;
    displayName?: string;
    className?: string;
    enabled?: boolean;
  }): Promise<ConnectorStatus> {
    const clash = (await this.bus.getConnectors()).find(
      (c) => codeNameKey(c.codeName) === codeNameKey(input.codeName) && c.codeName !== input.codeName,
    );
    if (clash) {
      throw new ConflictException(
        `A connector named "${clash.codeName}" exists already: code names differing only in case would be ` +
          'taken for one another.',
      );
    }
    const provider = this.registry.loaded.find((c) => c.codeName === input.codeName);
    const created = await this.store.insert({
      codeName: input.codeName,
      displayName: input.displayName ?? provider?.displayName ?? input.codeName,
      className: provider?.className ?? input.className ?? '',
      enabled: input.enabled ?? true,
    });
    if (!created) throw new ConflictException(`A connector named "${input.codeName}" exists already.`);
    await this.eventLog.write({
      level: 'info',
      source: BUS_EVENT_SOURCE,
      eventCode: BusEventCodes.ConnectorCreated,
      message: `Connector ${created.codeName} ("${created.displayName}") registered, ${created.enabled ? 'enabled' : 'disabled'}.`,
      connectorName: created.codeName,
    });
    await this.signals.reinitializeEverywhere();
    return this.get(input.codeName);
  }

  /** Enables, disables or renames a connector. */
  async update(
    codeName: string,
    patch: { enabled?: boolean; displayName?: string },
  ): Promise<ConnectorStatus> {
    await this.bus.updateConnector(codeName, patch);
    return this.get(codeName);
  }

  /**
   * Deletes a connector that no provider of this application loads: its row, its synchronizations
   * with their sync logs, and the tasks no other connector waits for. A loaded connector is refused
   * (409): its row would come back at the next start-up (R-SET-2), so the way to stop it is to
   * disable it, and the way to empty its queue is a bulk delete.
   */
  async delete(codeName: string): Promise<ConnectorDeletion> {
    const status = await this.get(codeName);
    if (status.loaded) {
      throw new ConflictException(
        `Connector "${codeName}" is loaded from provider ${status.className}: disable it instead, or remove ` +
          'the provider from the application before deleting its row.',
      );
    }
    const synchronizationsDeleted = await this.store.delete(codeName);
    if (synchronizationsDeleted === null) throw new ConnectorNotFoundError(codeName);
    const tasksDeleted = await this.tasks.deleteOrphans();
    await this.eventLog.write({
      level: 'warning',
      source: BUS_EVENT_SOURCE,
      eventCode: BusEventCodes.ConnectorDeleted,
      message:
        `Connector ${codeName} deleted with ${synchronizationsDeleted} queued synchronization(s); ` +
        `${tasksDeleted} task(s) no other connector waited for were deleted.`,
      connectorName: codeName,
    });
    await this.signals.reinitializeEverywhere();
    return { codeName, synchronizationsDeleted, tasksDeleted };
  }
}
