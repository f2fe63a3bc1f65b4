import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { ConnectorLease } from '../connectors/connector-lease.js';
import { ConnectorRegistry, type LoadedConnector } from '../connectors/connector-registry.js';
import { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import { IntegrationProcessType } from '../enums/integration-process-type.enum.js';
import { ConnectorBusyError } from '../errors/connector-busy.error.js';
import { ProcessingDisabledError } from '../errors/processing-disabled.error.js';
import { TaskNotFoundError } from '../errors/task-not-found.error.js';
import { describeError, IntegrationEventPublisher } from '../events/integration-event-publisher.js';
import { IntegrationEvents } from '../events/integration-events.js';
import { IntegrationTaskEvent, type IntegrationTaskInfo } from '../events/integration-task-event.js';
import { RESOLVED_OPTIONS } from '../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../interfaces/integration-bus-options.interface.js';
import { addCounts, emptyCounts, type ResultCounts } from '../outgoing/invoke-connector.js';
import { TaskStore, type QueuedSynchronization } from '../persistence/task.store.js';
import { SettingsService } from '../settings/settings.service.js';
import { SerialRunner } from '../support/serial-runner.js';
import { IncomingApplier } from './incoming-applier.js';

const R = IntegrationProcessResult;
const P = IntegrationProcessType;

/** What became of one incoming task in a run, and whether the run goes on. */
interface Step {
  result: IntegrationProcessResult;
  stop: boolean;
}

/**
 * Processing of incoming tasks (R-IN-2, R-IN-3): per connector, oldest first, one transaction per
 * task, under the connector's incoming lease. Counts are reported as results: OK (applied), Error
 * (the run stopped: a Default task failed, or an Error task blocks the queue), ErrorAndSkip (a
 * SkipOnError or DeleteOnError task failed and the run went on), SkipNow (SkipOnce, or cancelled).
 */
@Injectable()
export class IncomingProcessor implements OnApplicationShutdown {
  readonly #logger = new Logger('IntegrationBus');
  readonly #runners = new Map<number, SerialRunner<ResultCounts>>();
  #stopping = false;

  constructor(
    private readonly registry: ConnectorRegistry,
    private readonly settings: SettingsService,
    private readonly tasks: TaskStore,
    private readonly lease: ConnectorLease,
    private readonly applier: IncomingApplier,
    private readonly events: IntegrationEventPublisher,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedIntegrationBusOptions,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    this.#stopping = true;
    await Promise.all([...this.#runners.values()].map((r) => r.idle()));
  }

  /** Processes the incoming queue of one connector or of every enabled one; resolves with the counts. */
  async process(connectorName?: string): Promise<ResultCounts> {
    if (connectorName) this.registry.get(connectorName);
    const targets = (await this.registry.enabledConnectors()).filter(
      (t) => !connectorName || t.connector.codeName === connectorName,
    );
    const results = await Promise.all(targets.map((t) => this.trigger(t.connectorId)));
    return results.reduce(addCounts, emptyCounts());
  }

  /** Processes one incoming task now; an Error task is reset to Default first (R-IN-3). */
  async synchronizeTask(taskId: number, connectorName?: string): Promise<ResultCounts> {
    if (!(await this.settings.effective()).processIncoming) {
      throw new ProcessingDisabledError(
        'Processing of incoming tasks is switched off (settings enabled / processIncoming).',
      );
    }
    if (connectorName) this.registry.get(connectorName);
    const waiting = new Set(await this.tasks.connectorsOf(taskId));
    const target = (await this.registry.enabledConnectors()).find(
      (t) => waiting.has(t.connectorId) && (!connectorName || t.connector.codeName === connectorName),
    );
    if (!target) throw new TaskNotFoundError(taskId, connectorName);
    const counts = emptyCounts();
    await this.runnerFor(target.connectorId).exclusive(() =>
      this.lease.run('incoming', target.connectorId, target.connector.codeName, async () => {
        const row = await this.tasks.findOne(target.connectorId, taskId);
        if (!row) throw new TaskNotFoundError(taskId, connectorName);
        if (row.processType === P.Error || row.processType === P.SkipOnce) {
          await this.tasks.setProcessType(row.taskId, P.Default);
          row.processType = P.Default;
        }
        counts[(await this.processRow(target.connector, row)).result] += 1;
      }),
    );
    return counts;
  }

  private trigger(connectorId: number): Promise<ResultCounts> {
    return this.runnerFor(connectorId)
      .trigger()
      .catch((error: unknown) => {
        this.#logger.error(
          `Incoming processing of connector #${connectorId} failed: ${describeError(error)}`,
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
    if (this.#stopping || !(await this.settings.effective()).processIncoming) return counts;
    const target = (await this.registry.enabledConnectors()).find((t) => t.connectorId === connectorId);
    if (!target) return counts;
    try {
      await this.lease.run('incoming', connectorId, target.connector.codeName, async () => {
        let cursor = '0';
        for (;;) {
          const batch = await this.tasks.fetchBatch(connectorId, true, cursor, this.options.batchSize);
          for (const row of batch) {
            cursor = row.taskId;
            const step = await this.processRow(target.connector, row);
            counts[step.result] += 1;
            if (step.stop || this.#stopping) return;
          }
          if (batch.length < this.options.batchSize) return;
        }
      });
    } catch (error) {
      if (!(error instanceof ConnectorBusyError)) throw error;
    }
    return counts;
  }

  /** One task, by its process type (the table of R-IN-3). */
  private async processRow(connector: LoadedConnector, row: QueuedSynchronization): Promise<Step> {
    switch (row.processType) {
      case P.Error:
        return { result: R.Error, stop: true }; // blocked until someone synchronizes or deletes it
      case P.SkipOnce:
        await this.tasks.setProcessType(row.taskId, P.Default);
        return { result: R.SkipNow, stop: false };
      default:
        break;
    }
    const info = taskInfoOf(row, connector.codeName);
    const before = new IntegrationTaskEvent(info, row.data.fields, connector.codeName);
    if (!(await this.events.before(IntegrationEvents.ProcessExternalTask.Before, before))) {
      return { result: R.SkipNow, stop: false };
    }
    let error: string | null = null;
    try {
      await this.applier.apply(connector.codeName, row);
      await this.tasks.complete({ done: [{ syncId: row.syncId, taskId: row.taskId }], failed: [] });
    } catch (thrown) {
      error = describeError(thrown);
    }
    const step = error === null ? { result: R.OK, stop: false } : await this.fail(row, error);
    await this.events.after(
      IntegrationEvents.ProcessExternalTask.After,
      new IntegrationTaskEvent(info, row.data.fields, connector.codeName, step.result, error ?? undefined),
    );
    return step;
  }

  private async fail(row: QueuedSynchronization, message: string): Promise<Step> {
    await this.tasks.complete({ done: [], failed: [{ syncId: row.syncId, errorMessage: message }] });
    switch (row.processType) {
      case P.SkipOnError:
        return { result: R.ErrorAndSkip, stop: false };
      case P.DeleteOnError:
        await this.tasks.delete(Number(row.taskId));
        return { result: R.ErrorAndSkip, stop: false };
      default:
        await this.tasks.setProcessType(row.taskId, P.Error);
        return { result: R.Error, stop: true };
    }
  }
}

function taskInfoOf(row: QueuedSynchronization, connectorName: string): IntegrationTaskInfo {
  return {
    id: Number(row.taskId),
    guid: row.guid,
    title: row.title,
    taskType: row.taskType,
    objectType: row.objectType,
    objectId: row.objectId,
    siteName: row.siteName,
    dataType: row.dataType,
    processType: row.processType,
    isInbound: true,
    connectorNames: [connectorName],
  };
}
