import type { Type } from '@nestjs/common';
import {
  BaseIntegrationConnector,
  Connector,
  IntegrationProcessResult,
  Subscribe,
  TaskProcessType,
  type ConnectorOptions,
  type OutgoingTask,
} from 'nestjs-integration-bus';
import type { BenchItem } from '../host/bench-item.entity.js';

/** The four connectors of the live-ordering scenario, as in the fault tests' multi-instance runs. */
export const LIVE_CONNECTORS = ['Alpha', 'Bravo', 'Charlie', 'Delta'];

/**
 * Connections of each process's pool: the fault tests' processes run with 30 (four connectors ×
 * `concurrency` 4 partitions can hold 16 at once in one instance, beside the producers' lanes).
 */
export const LIVE_POOL_MAX = 30;

/** The two orderings compared (`ConnectorOptions.ordering`). */
export type LiveOrdering = NonNullable<ConnectorOptions['ordering']>;

/** What every process of the scenario is started with (JSON in argv). */
export interface LiveProcessConfig {
  databaseUrl: string;
  ordering: LiveOrdering;
}

/** Called on every delivery with the object's id and the version the task carries. */
export type DeliveryListener = (connector: string, objectId: number, version: number) => void;

/**
 * A connector subscribed to `bench.item` that does nothing but tell `onDelivery` and answer OK;
 * `@Connector` options other than `ordering` are the bus's defaults (16 partitions, concurrency 4).
 */
export function liveConnector(
  codeName: string,
  ordering: LiveOrdering,
  onDelivery?: DeliveryListener,
): Type<BaseIntegrationConnector> {
  @Connector(codeName, { ordering })
  @Subscribe({ objectType: 'bench.item', processType: TaskProcessType.AsyncSimple })
  class LiveConnector extends BaseIntegrationConnector {
    override processInternalTaskAsync(task: OutgoingTask<BenchItem>): IntegrationProcessResult {
      onDelivery?.(codeName, task.object.id, task.object.version);
      return IntegrationProcessResult.OK;
    }
  }
  Object.defineProperty(LiveConnector, 'name', { value: `Live${codeName}Connector` });
  return LiveConnector;
}
