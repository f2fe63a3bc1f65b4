import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ConnectorLease } from '../connectors/connector-lease.js';
import type { ConnectorRegistry, LoadedConnector } from '../connectors/connector-registry.js';
import type { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import { ConnectorBusyError } from '../errors/connector-busy.error.js';
import { ProcessingDisabledError } from '../errors/processing-disabled.error.js';
import { TaskNotFoundError } from '../errors/task-not-found.error.js';
import { describeError } from '../events/integration-event-publisher.js';
import { addCounts, emptyCounts, type ResultCounts } from '../outgoing/invoke-connector.js';
import type { LeaseDirection } from '../persistence/connector.store.js';
import type { QueuedSynchronization, TaskStore } from '../persistence/task.store.js';
import { SerialRunner } from './serial-runner.js';

/** An enabled, loaded connector and the id of its row. */
export interface ProcessingTarget {
  connector: LoadedConnector;
  connectorId: number;
}

/**
 * What the outgoing and incoming processors share: one serial runner per connector in this process,
 * the connector's lease for the direction across processes, run triggers that coalesce, by-hand
 * synchronization of one task, and a shutdown that waits for the runs under way.
 */
export abstract class QueueProcessor implements OnApplicationShutdown {
  protected readonly logger = new Logger('IntegrationBus');
  readonly #runners = new Map<number, SerialRunner<ResultCounts>>();
  #stopping = false;

  protected constructor(
    protected readonly direction: LeaseDirection,
    protected readonly registry: ConnectorRegistry,
    protected readonly tasks: TaskStore,
    protected readonly lease: ConnectorLease,
  ) {}

  /** Whether the switches let this direction process now. */
  protected abstract processingEnabled(): Promise<boolean>;

  /** Works through a connector's queue, holding its lease; adds what happened to `counts`. */
  protected abstract drain(target: ProcessingTarget, counts: ResultCounts): Promise<void>;

  /** Processes one queued synchronization picked by hand, completing it. */
  protected abstract processOne(
    target: ProcessingTarget,
    row: QueuedSynchronization,
  ): Promise<IntegrationProcessResult>;

  protected get stopping(): boolean {
    return this.#stopping;
  }

  /** Stops taking new work and waits for the runs under way, before MikroORM closes its pool. */
  async onApplicationShutdown(): Promise<void> {
    this.#stopping = true;
    await Promise.all([...this.#runners.values()].map((r) => r.idle()));
  }

  /** Processes the queue of one connector, or of every enabled connector; resolves with the counts. */
  async process(connectorName?: string): Promise<ResultCounts> {
    if (connectorName) this.registry.get(connectorName);
    const targets = (await this.registry.enabledConnectors()).filter(
      (t) => !connectorName || t.connector.codeName === connectorName,
    );
    const results = await Promise.all(targets.map((t) => this.trigger(t.connectorId)));
    return results.reduce(addCounts, emptyCounts());
  }

  /** Processes one task now, for one connector or for every enabled connector it is queued for. */
  async synchronizeTask(taskId: number, connectorName?: string): Promise<ResultCounts> {
    if (!(await this.processingEnabled())) {
      throw new ProcessingDisabledError(
        `Processing of ${this.direction} tasks is switched off (settings enabled / process${this.direction === 'outgoing' ? 'Outgoing' : 'Incoming'}).`,
      );
    }
    if (connectorName) this.registry.get(connectorName);
    const waiting = new Set(await this.tasks.connectorsOf(taskId));
    const targets = (await this.registry.enabledConnectors()).filter(
      (t) => waiting.has(t.connectorId) && (!connectorName || t.connector.codeName === connectorName),
    );
    if (targets.length === 0) throw new TaskNotFoundError(taskId, connectorName);
    const counts = emptyCounts();
    for (const target of targets) {
      const result = await this.runnerFor(target.connectorId).exclusive(() =>
        this.lease.run(this.direction, target.connectorId, target.connector.codeName, async () => {
          const row = await this.tasks.findOne(target.connectorId, taskId);
          return row ? this.processOne(target, row) : null;
        }),
      );
      if (result) counts[result] += 1;
    }
    return counts;
  }

  /** Starts (or joins) a run for a connector; failures are logged, never thrown at the trigger. */
  protected trigger(connectorId: number): Promise<ResultCounts> {
    return this.runnerFor(connectorId)
      .trigger()
      .catch((error: unknown) => {
        this.logger.error(
          `${this.direction} processing of connector #${connectorId} failed: ${describeError(error)}`,
        );
        return emptyCounts();
      });
  }

  private runnerFor(connectorId: number): SerialRunner<ResultCounts> {
    let runner = this.#runners.get(connectorId);
    if (!runner) {
      runner = new SerialRunner(() => this.run(connectorId));
      this.#runners.set(connectorId, runner);
    }
    return runner;
  }

  private async run(connectorId: number): Promise<ResultCounts> {
    const counts = emptyCounts();
    if (this.#stopping || !(await this.processingEnabled())) return counts;
    const target = (await this.registry.enabledConnectors()).find((t) => t.connectorId === connectorId);
    if (!target) return counts;
    try {
      await this.lease.run(this.direction, connectorId, target.connector.codeName, () =>
        this.drain(target, counts),
      );
    } catch (error) {
      // Another instance is processing this connector: it will see the same tasks.
      if (!(error instanceof ConnectorBusyError)) throw error;
    }
    return counts;
  }
}
