import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { ConnectorCallHook } from '../delivery/connector-call-hook.js';
import { ConnectorLease } from '../delivery/connector-lease.js';
import { ConnectorRegistry, type LoadedConnector } from '../connectors/connector-registry.js';
import { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import { IntegrationProcessType } from '../enums/integration-process-type.enum.js';
import { BUS_EVENT_SOURCE, BusEventCodes } from '../events/bus-event-codes.js';
import { describeError, IntegrationEventPublisher } from '../events/integration-event-publisher.js';
import { IntegrationEvents } from '../events/integration-events.js';
import { IntegrationTaskEvent } from '../events/integration-task-event.js';
import { RESOLVED_OPTIONS } from '../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../interfaces/integration-bus-options.interface.js';
import type { ResultCounts } from '../delivery/invoke-connector.js';
import {
  QueueStore,
  parseTaskPayload,
  taskInfoOf,
  type QueuedSynchronization,
} from '../persistence/queue.store.js';
import type { ProcessingClaim } from '../delivery/processing-claim.js';
import { EventLogStore } from '../persistence/event-log.store.js';
import { TaskAdminStore } from '../persistence/task-admin.store.js';
import { SettingsService } from '../settings/settings.service.js';
import type { Drainer, DrainResult, DrainRun, ProcessingTarget } from '../delivery/drainer.js';
import { emptyCounts } from '../delivery/invoke-connector.js';
import { QueueScheduler } from '../delivery/queue-scheduler.js';
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
export class IncomingProcessor implements Drainer, OnApplicationShutdown {
  readonly direction = 'incoming';
  /** Incoming tasks are processed on the schedule, on notify and by hand, never on timers. */
  readonly automatic = false;
  readonly #scheduler: QueueScheduler;

  constructor(
    registry: ConnectorRegistry,
    private readonly settings: SettingsService,
    private readonly tasks: QueueStore,
    lease: ConnectorLease,
    private readonly applier: IncomingApplier,
    private readonly events: IntegrationEventPublisher,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedIntegrationBusOptions,
    private readonly eventLog: EventLogStore,
    private readonly calls: ConnectorCallHook,
    private readonly admin: TaskAdminStore,
  ) {
    this.#scheduler = new QueueScheduler(this, registry, tasks, lease, options.shutdownTimeoutMs);
  }

  onApplicationShutdown(): Promise<void> {
    return this.#scheduler.shutdown();
  }

  /** Processes the queue of one connector, or of every enabled connector; resolves with the counts. */
  process(connectorName?: string): Promise<ResultCounts> {
    return this.#scheduler.process(connectorName);
  }

  /** Processes one task now, for one connector or for every enabled connector it is queued for. */
  synchronizeTask(taskId: number, connectorName?: string): Promise<ResultCounts> {
    return this.#scheduler.synchronizeTask(taskId, connectorName);
  }

  async enabled(): Promise<boolean> {
    return (await this.settings.effective()).processIncoming;
  }

  /** By hand: an Error (or SkipOnce) task is reset to Default first, then processed (R-IN-3). */
  async processOne(
    target: ProcessingTarget,
    claim: ProcessingClaim,
    row: QueuedSynchronization,
  ): Promise<IntegrationProcessResult> {
    if (row.processType === P.Error || row.processType === P.SkipOnce) {
      await this.admin.setProcessType(row.taskId, P.Default);
      row.processType = P.Default;
    }
    return (await this.processRow(target.connector, claim, row)).result;
  }

  /**
   * Oldest first, one transaction per task; stops where a task fails or is in the Error state, and
   * before the next task once the run's lease may be gone (R-DEL-2).
   */
  async drain(target: ProcessingTarget, claim: ProcessingClaim, run: DrainRun): Promise<DrainResult> {
    const counts = emptyCounts();
    const done = { counts, handOver: null };
    let cursor = '0';
    for (;;) {
      const batch = await this.tasks.fetchIncoming(target.connectorId, cursor, this.options.batchSize);
      for (const row of batch) {
        if (!claim.held() || run.interrupted.aborted) return done;
        cursor = row.taskId;
        const step = await this.processRow(target.connector, claim, row);
        counts[step.result] += 1;
        if (step.stop || run.stopping()) return done;
      }
      if (batch.length < this.options.batchSize) return done;
    }
  }

  /** One task, by its process type (the table of R-IN-3). */
  private async processRow(
    connector: LoadedConnector,
    claim: ProcessingClaim,
    row: QueuedSynchronization,
  ): Promise<Step> {
    switch (row.processType) {
      case P.Error:
        return { result: R.Error, stop: true }; // blocked until someone synchronizes or deletes it
      case P.SkipOnce:
        await this.admin.setProcessType(row.taskId, P.Default);
        return { result: R.SkipNow, stop: false };
      default:
        break;
    }
    const info = taskInfoOf(row, connector.codeName);
    const payload = parseTaskPayload(row);
    const before = new IntegrationTaskEvent(info, payload.fields, connector.codeName);
    if (!(await this.events.before(IntegrationEvents.ProcessExternalTask.Before, before))) {
      return { result: R.SkipNow, stop: false };
    }
    const watched = this.calls.start(connector, 'incoming', row); // metrics, tracing
    let error: string | null = null;
    try {
      await ConnectorCallHook.run(watched, () => this.applier.apply(connector.codeName, row, payload));
      await this.tasks.complete(
        { done: [{ syncId: row.syncId, taskId: row.taskId }], unsuccessful: [] },
        claim.token,
      );
    } catch (thrown) {
      error = describeError(thrown);
    }
    const step =
      error === null ? { result: R.OK, stop: false } : await this.fail(claim, connector.codeName, row, error);
    watched?.end({ result: step.result, errorMessage: error });
    await this.events.after(
      IntegrationEvents.ProcessExternalTask.After,
      new IntegrationTaskEvent(info, payload.fields, connector.codeName, step.result, error ?? undefined),
    );
    return step;
  }

  private async fail(
    claim: ProcessingClaim,
    connectorName: string,
    row: QueuedSynchronization,
    message: string,
  ): Promise<Step> {
    // The process type says what comes next (R-IN-3), not a retry state.
    const attempt = { syncId: row.syncId, state: null, message, retryInMs: null, failure: true, skip: false };
    await this.tasks.complete({ done: [], unsuccessful: [attempt] }, claim.token);
    switch (row.processType) {
      case P.SkipOnError:
        return { result: R.ErrorAndSkip, stop: false };
      case P.DeleteOnError:
        // The sync log goes with the task: the event log is the only trace an operator can find.
        await this.eventLog.write({
          level: 'error',
          source: BUS_EVENT_SOURCE,
          eventCode: BusEventCodes.DeletedOnError,
          message: `${row.title}: ${message} (DeleteOnError: the task was deleted).`,
          connectorName,
          taskId: Number(row.taskId),
        });
        await this.admin.delete(Number(row.taskId));
        return { result: R.ErrorAndSkip, stop: false };
      default:
        await this.admin.setProcessType(row.taskId, P.Error);
        return { result: R.Error, stop: true };
    }
  }
}
