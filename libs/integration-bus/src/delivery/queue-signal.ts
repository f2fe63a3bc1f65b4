import { Injectable, Logger } from '@nestjs/common';
import { ConnectorRegistry } from '../connectors/connector-registry.js';
import { describeError } from '../events/integration-event-publisher.js';
import { InstanceId } from '../connectors/instance-id.js';
import { BusDatabase, sqlRows } from '../persistence/bus-database.js';
import { QUEUE_CHANNEL } from '../persistence/change-log.store.js';

/**
 * What instances tell each other on the LISTEN/NOTIFY channel (R-OUT-8 b, R-DEL-3, R-SET-2):
 * `connectors` have new or newly due work; `all` connectors may have (processing switched on,
 * a blocking task deleted or requeued); `reinitialize`: a connector was added, edited or deleted.
 * `from` is the sender's `InstanceId`, so that it can ignore its own signals. `committed`: the
 * `connectors` signal is a commit's (new tasks), not a wake-up (a queue handed over or unblocked).
 * `partitions`: for new tasks of partitioned connectors (R-ORD-2), the partitions they were written
 * to, per connector id: the only partitions of those connectors that this signal gives work to.
 */
export interface QueueSignal {
  from: string;
  connectors?: number[];
  committed?: true;
  partitions?: ReadonlyMap<number, number[]>;
  all?: true;
  reinitialize?: true;
}

/** Reads a notification's payload; null when it is not a signal of the bus. */
export function parseQueueSignal(payload: string | undefined): QueueSignal | null {
  let message: unknown;
  try {
    message = JSON.parse(payload ?? '');
  } catch {
    return null;
  }
  if (typeof message !== 'object' || message === null) return null;
  const { from, connectors, committed, partitions, all, reinitialize } = message as Record<string, unknown>;
  if (typeof from !== 'string') return null;
  return {
    from,
    connectors: Array.isArray(connectors) ? connectors.filter(isInteger) : undefined,
    committed: committed === true ? true : undefined,
    partitions: parsePartitions(partitions),
    all: all === true ? true : undefined,
    reinitialize: reinitialize === true ? true : undefined,
  };
}

const isInteger = (value: unknown): value is number => Number.isInteger(value);

/** `{ "<connector id>": [partition, …] }`, as the change log writes it; undefined when absent or malformed. */
function parsePartitions(value: unknown): ReadonlyMap<number, number[]> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const partitions = new Map<number, number[]>();
  for (const [key, list] of Object.entries(value)) {
    const connectorId = Number(key);
    // A malformed entry makes the whole hint unusable: the receiver then looks for itself.
    if (!Number.isInteger(connectorId) || !Array.isArray(list) || !list.every(isInteger)) return undefined;
    partitions.set(connectorId, list);
  }
  return partitions;
}

/** Sends signals to every instance sharing the database (this one ignores its own). */
@Injectable()
export class QueueSignals {
  readonly #logger = new Logger('IntegrationBus');

  constructor(
    private readonly db: BusDatabase,
    private readonly instanceId: InstanceId,
    private readonly registry: ConnectorRegistry,
  ) {}

  /** Tells the other instances to look at these connectors' queues, or at every queue. */
  async wake(connectorIds: readonly number[] | 'all'): Promise<void> {
    const signal: QueueSignal =
      connectorIds === 'all'
        ? { from: this.instanceId.value, all: true }
        : { from: this.instanceId.value, connectors: [...new Set(connectorIds)] };
    if (signal.connectors?.length === 0) return;
    await this.send(signal);
  }

  /**
   * After a connector was added, edited or deleted here: re-initialises the connectors in this
   * instance, then tells every other instance to do the same (R-SET-2) and to look at every queue
   * (a connector may have been enabled).
   */
  async reinitializeEverywhere(): Promise<void> {
    await this.registry.reinitialize();
    try {
      await this.send({ from: this.instanceId.value, reinitialize: true });
    } catch (error) {
      this.#logger.error(`Could not tell the other instances to re-initialise: ${describeError(error)}`);
    }
  }

  private async send(signal: QueueSignal): Promise<void> {
    await sqlRows(this.db.pool, `select pg_notify('${QUEUE_CHANNEL}', $1)`, [JSON.stringify(signal)]);
  }
}
