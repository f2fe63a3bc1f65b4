import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { MikroORM, type EntityManager } from '@mikro-orm/core';
import { ConnectorCallHook } from '../connectors/connector-call-hook.js';
import { ConnectorLease } from '../connectors/connector-lease.js';
import {
  ConnectorRegistry,
  storedPartitions,
  type LoadedConnector,
} from '../connectors/connector-registry.js';
import { InstanceMembership } from '../connectors/instance-membership.js';
import { PartitionStore } from '../persistence/partition.store.js';
import { isLoneId } from '../persistence/synchronizations.js';
import { QueueSignals } from './queue-signal.js';
import { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import { describeError, IntegrationEventPublisher } from '../events/integration-event-publisher.js';
import { IntegrationEvents } from '../events/integration-events.js';
import { IntegrationTaskEvent } from '../events/integration-task-event.js';
import { RESOLVED_OPTIONS } from '../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../interfaces/integration-bus-options.interface.js';
import type { ProcessingClaim } from '../connectors/processing-claim.js';
import {
  QueueStore,
  taskInfoOf,
  type BatchCompletion,
  type QueuedSynchronization,
  type UnsuccessfulAttempt,
} from '../persistence/queue.store.js';
import { SettingsService } from '../settings/settings.service.js';
import { QueueProcessor, type ProcessingTarget } from '../support/queue-processor.js';
import { QueuedOutgoingTask } from './queued-outgoing-task.js';
import { CallInterrupted, guardCall } from './call-guard.js';
import { DrainFloor } from './drain-floor.js';
import { invokeConnector, type NormalizedOutcome, type ResultCounts } from './invoke-connector.js';
import type { RetryPolicy } from './retry-policy.js';
import { TasksCommitted } from './tasks-committed.js';

/** Tasks the sweep looks at for orphans each time: a bounded step, never the whole table. */
const ORPHAN_SWEEP_STEP = 20_000;

/**
 * Asynchronous processing of outgoing tasks (R-OUT-6..8, R-DEL-1..5).
 *
 * Per connector, one run at a time: in this process through a `SerialRunner`, across processes
 * through a fenced lease on the connector's row (`ConnectorLease`). A run reads the connector's
 * queue from its head, oldest task first, a batch per round trip, and writes each batch's outcome in
 * one statement that holds only while the lease is still the run's; a crash therefore repeats at
 * most one batch, and a run that lost its lease writes nothing. Connectors run independently: a slow
 * one never delays another. What did not succeed is tried again when the connector's retry policy
 * says, on a timer of this process (and of whichever instance runs the connector next).
 */
@Injectable()
export class OutgoingProcessor extends QueueProcessor implements OnModuleInit, OnApplicationBootstrap {
  #sweep: NodeJS.Timeout | undefined;
  #factory: EntityManager | undefined;
  /** Where the sweep's next orphan check starts (see `QueueStore.sweepOrphans`). */
  #orphanCursor = '0';

  constructor(
    private readonly orm: MikroORM,
    registry: ConnectorRegistry,
    private readonly settings: SettingsService,
    tasks: QueueStore,
    lease: ConnectorLease,
    private readonly events: IntegrationEventPublisher,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedIntegrationBusOptions,
    private readonly partitions: PartitionStore,
    private readonly membership: InstanceMembership,
    private readonly signals: QueueSignals,
    private readonly calls: ConnectorCallHook,
    private readonly committed: TasksCommitted,
  ) {
    super('outgoing', registry, tasks, lease, options.shutdownTimeoutMs);
  }

  onModuleInit(): void {
    this.committed.subscribe(({ connectorIds }) => this.nudge(connectorIds));
  }

  onApplicationBootstrap(): void {
    const { sweepIntervalMs } = this.options.outgoing;
    if (sweepIntervalMs > 0) {
      this.#sweep = setInterval(() => void this.sweep(), sweepIntervalMs);
      this.#sweep.unref();
    }
    // Tasks left by an earlier run of the application, and retries it scheduled, are picked up at
    // once, not a period later.
    if (this.automatic) void this.sweep();
  }

  override async onApplicationShutdown(): Promise<void> {
    clearInterval(this.#sweep);
    await super.onApplicationShutdown();
    // The partitions this instance ran are handed back (their leases released by the runs): the
    // other instances are told to take them now rather than at their next look (R-ORD-3).
    const partitioned = this.partitionedConnectors;
    if (partitioned.length > 0) {
      await this.signals.wake(partitioned).catch((error: unknown) => {
        this.logger.debug(
          `Could not tell the other instances to take the partitions: ${describeError(error)}`,
        );
      });
    }
  }

  /** New tasks were committed for these connectors: process them now if `processAfterCommit` (R-OUT-8 a, b). */
  nudge(connectorIds: Iterable<number>): void {
    if (this.options.outgoing.processAfterCommit) this.wake(connectorIds);
  }

  /**
   * Starts processing of the given connectors without waiting, after something that may have
   * unblocked them (a task deleted or requeued): unless the host drives processing by hand.
   */
  wake(connectorIds: Iterable<number>): void {
    if (!this.automatic || this.stopping) return;
    for (const id of connectorIds) void this.trigger(id);
  }

  /** Starts processing of every enabled connector without waiting (the database is back, a switch on). */
  wakeAll(): void {
    if (!this.automatic || this.stopping) return;
    void this.process().catch((error: unknown) => {
      this.logger.error(`Outgoing processing failed: ${describeError(error)}`);
    });
  }

  protected get automatic(): boolean {
    return this.options.outgoing.processAfterCommit || this.options.outgoing.sweepIntervalMs > 0;
  }

  protected async processingEnabled(): Promise<boolean> {
    return (await this.settings.effective()).processOutgoing;
  }

  protected override nextRunInMs(connectorId: number): Promise<number | null> {
    return this.tasks.nextRetryInMs(connectorId);
  }

  protected override handedOver(connectorId: number): void {
    void this.signals.wake([connectorId]).catch((error: unknown) => {
      this.logger.debug(`Could not tell the other instances to take a partition: ${describeError(error)}`);
    });
  }

  protected override partitionsToRun({ connector, connectorId }: ProcessingTarget): Promise<number[]> {
    const partitions = storedPartitions(connector);
    return partitions === 0 ? Promise.resolve([0]) : this.partitions.withWork(connectorId, partitions);
  }

  /** Up to `concurrency` partitions at once, and no more than this instance's share (R-ORD-2, R-ORD-3). */
  protected override partitionLimit({ connector }: ProcessingTarget): number {
    return Math.min(connector.concurrency, this.membership.shareOf(connector.partitions));
  }

  protected async processOne(
    target: ProcessingTarget,
    claim: ProcessingClaim,
    row: QueuedSynchronization,
  ): Promise<IntegrationProcessResult> {
    const outcome = await this.callOrAnswer(target.connector, row, claim);
    await this.tasks.complete(completionOf(target.connector.retry, [{ row, outcome }]), claim.token);
    return outcome.result;
  }

  /**
   * Head of the queue first, a batch per round trip, each batch's outcome written in one fenced
   * statement: a crash repeats at most one batch. A batch that takes longer than
   * `batchMaxDurationMs` is cut short: its done tasks are written and the rest read again. Error
   * stops the run; the task waits for its retry and holds the connector's later tasks until then.
   * Before each call the run checks that its lease still holds; when it does not (the process was
   * paused past it, or another instance took over), or when shutdown stops waiting, the run writes
   * what it finished (refused if another instance has claimed the connector) and stops.
   */
  protected async drain(
    target: ProcessingTarget,
    claim: ProcessingClaim,
    counts: ResultCounts,
  ): Promise<void> {
    const { batchSize, batchMaxDurationMs } = this.options;
    const { connector } = target;
    // With other connectors enabled, tasks may be shared: each completion rechecks the shared tasks
    // of the one before (see QueueStore.completeAndFetch). With one connector, nothing is shared; a
    // task queued for one connector only (a lone synchronization) never is.
    const shared = (await this.registry.enabledConnectors()).length > 1;
    const sharedDone = (completion: BatchCompletion) =>
      shared ? completion.done.filter((d) => !isLoneId(d.syncId)).map((d) => d.taskId) : [];
    let recheck: string[] = [];
    const floor = new DrainFloor();
    // In a partition, an Error holds only its object's later tasks (R-ORD-1): the objects held back
    // so far in this run, whose later tasks in a batch already read are passed over.
    const heldObjects = new Set<string>();
    let batch = await this.tasks.fetchOutgoing(claim.token, claim.claimedAt, floor.value, batchSize);
    for (;;) {
      const done: { row: QueuedSynchronization; outcome: NormalizedOutcome }[] = [];
      const deadline = performance.now() + batchMaxDurationMs;
      let stop = false;
      let cut = false;
      for (const row of batch) {
        if (!claim.held() || this.interrupted.aborted) {
          stop = true;
          break;
        }
        if (row.objectHash !== null && heldObjects.has(row.objectHash)) continue;
        let outcome: NormalizedOutcome;
        try {
          // A synchronous answer is taken as it is: no promise, no tick per task (the hot path).
          const pending = this.callOrAnswer(connector, row, claim);
          outcome = pending instanceof Promise ? await pending : pending;
        } catch (error) {
          // Interrupted (lease gone, shutdown) or refused by the task's fence (`ClaimLostError`,
          // logged by the scheduler): the task is left as it was. Otherwise only an event listener
          // can throw here: the run fails. Either way, what this batch finished so far is written, so
          // the next run starts at this task instead of repeating them.
          await this.tasks.complete(completionOf(connector.retry, done, recheck), claim.token);
          if (error instanceof CallInterrupted) return;
          throw error;
        }
        counts[outcome.result] += 1;
        done.push({ row, outcome });
        // Error holds the connector's later tasks, unless this failure parked the task (R-DEL-6).
        const holds =
          outcome.result === IntegrationProcessResult.Error && !connector.retry.parks(row.failures + 1);
        if (holds && row.objectHash !== null) {
          heldObjects.add(row.objectHash);
        } else if (holds) {
          stop = true;
          break;
        }
        if (this.stopping) {
          stop = true;
          break;
        }
        if (performance.now() >= deadline) {
          cut = true;
          break;
        }
      }
      // A short batch means the queue is done, unless it ended at a failed head that has now been
      // retried: what it held back is read next.
      const exhausted = !cut && batch.length < batchSize && !batch.some((r) => r.state === 'failed');
      // A partition is handed over after a batch when this instance runs more than its share or
      // when others wait here for a slot (R-ORD-3).
      const partition = claim.token.partition;
      const reason = partition > 0 && !exhausted ? this.yieldReason(target.connectorId) : null;
      const yielding = reason !== null;
      if (reason) this.yielded(target.connectorId, partition, reason);
      stop ||= exhausted || yielding || !(await this.processingEnabled());
      const completion = completionOf(connector.retry, done, recheck);
      if (stop) {
        // Shared tasks are completed in the locking transaction: two connectors finishing one task
        // at the same instant must not both leave it behind (see QueueStore.complete).
        if (sharedDone(completion).length > 0) await this.tasks.complete(completion, claim.token);
        else if (await this.tasks.completeLast(completion, claim.token)) claim.markReleased();
        return;
      }
      const last = done.at(-1);
      if (last) floor.processed(resumeAfter(last.row.taskId, batch), batch[0]?.snapshot);
      batch = await this.tasks.completeAndFetch(
        completion,
        claim.token,
        claim.claimedAt,
        floor.value,
        batchSize,
      );
      recheck = sharedDone(completion);
    }
  }

  /** Builds detached entities: a fork whose identity map is never used (`merge: false`). */
  private get factory(): EntityManager {
    this.#factory ??= this.orm.em.fork({ clear: true });
    return this.#factory;
  }

  private async sweep(): Promise<void> {
    try {
      const step = await this.tasks.sweepOrphans(this.#orphanCursor, ORPHAN_SWEEP_STEP);
      this.#orphanCursor = step.next;
      await this.process();
    } catch (error) {
      this.logger.error(`Outgoing sweep failed: ${describeError(error)}`);
    }
  }

  /**
   * The drain's call: a connector that answers synchronously is answered without a promise (the
   * hot path); a pending answer is awaited within the connector's `callTimeoutMs`.
   */
  private callOrAnswer(
    connector: LoadedConnector,
    row: QueuedSynchronization,
    claim: ProcessingClaim,
  ): NormalizedOutcome | Promise<NormalizedOutcome> {
    const watched = this.calls.start(connector, 'outgoing', row); // metrics, tracing
    const task = new QueuedOutgoingTask(row, this.factory, claim, connector.codeName);
    let pending: NormalizedOutcome | Promise<NormalizedOutcome>;
    try {
      pending = this.processRow(connector, row, task);
    } catch (error) {
      // A fence refused the write (`ClaimLostError`, see invokeConnector): the call ends as interrupted.
      pending = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    if (!(pending instanceof Promise)) return ConnectorCallHook.settle(pending, watched);
    const guarded = guardCall(pending, connector.callTimeoutMs, [claim.signal, this.interrupted], (reason) =>
      task.abort(reason),
    );
    return ConnectorCallHook.settle(guarded, watched);
  }

  /**
   * Hands a queued task to its connector, with the Before/After events around the call when they
   * are listened to. Without listeners and with a connector that answers synchronously, nothing is
   * awaited (the drain's hot path).
   */
  private processRow(
    connector: LoadedConnector,
    row: QueuedSynchronization,
    task: QueuedOutgoingTask,
  ): NormalizedOutcome | Promise<NormalizedOutcome> {
    const { Before, After } = IntegrationEvents.ProcessInternalTask;
    if (this.events.has(Before) || this.events.has(After)) {
      return this.processRowWithEvents(connector, row, task);
    }
    return this.invoke(connector, row, task);
  }

  private async processRowWithEvents(
    connector: LoadedConnector,
    row: QueuedSynchronization,
    task: QueuedOutgoingTask,
  ): Promise<NormalizedOutcome> {
    const { Before, After } = IntegrationEvents.ProcessInternalTask;
    const info = taskInfoOf(row, connector.codeName);
    let object: object;
    try {
      object = task.object;
    } catch (error) {
      // The events carry the entity: one that cannot be rebuilt fails its task, as for the connector.
      return { result: IntegrationProcessResult.Error, errorMessage: describeError(error) };
    }
    if (!(await this.events.before(Before, new IntegrationTaskEvent(info, object, connector.codeName)))) {
      return { result: IntegrationProcessResult.SkipNow, errorMessage: null };
    }
    const outcome = await this.invoke(connector, row, task);
    await this.events.after(
      After,
      new IntegrationTaskEvent(
        info,
        object,
        connector.codeName,
        outcome.result,
        outcome.errorMessage ?? undefined,
      ),
    );
    return outcome;
  }

  /** The connector call, then the translation cache cleared when the connector asks for it. */
  private invoke(
    connector: LoadedConnector,
    row: QueuedSynchronization,
    task: QueuedOutgoingTask,
  ): NormalizedOutcome | Promise<NormalizedOutcome> {
    const outcome = invokeConnector(connector, row.handler, task, false);
    if (!connector.clearTranslationsAfterEachTask) return outcome;
    if (outcome instanceof Promise) {
      return outcome.finally(() => connector.instance.clearInternalTranslations());
    }
    connector.instance.clearInternalTranslations();
    return outcome;
  }
}

/**
 * A batch's results as written back: OK completes the task for the connector; anything else is
 * tried again when `policy` says (R-DEL-5) — Error as `failed` (holding the connector's later
 * tasks), ErrorAndSkip as `retrying`, SkipNow as `skipped` (not a failure) — or parked once the
 * failures reach `maxAttempts` (R-DEL-6).
 */
function completionOf(
  policy: RetryPolicy,
  results: readonly { row: QueuedSynchronization; outcome: NormalizedOutcome }[],
  recheck: string[] = [],
): BatchCompletion {
  const completion: BatchCompletion = { done: [], unsuccessful: [], recheck };
  for (const { row, outcome } of results) {
    if (outcome.result === IntegrationProcessResult.OK) {
      completion.done.push({ syncId: row.syncId, taskId: row.taskId });
    } else {
      completion.unsuccessful.push(unsuccessfulAttempt(policy, row, outcome));
    }
  }
  return completion;
}

function unsuccessfulAttempt(
  policy: RetryPolicy,
  row: QueuedSynchronization,
  outcome: NormalizedOutcome,
): UnsuccessfulAttempt {
  const retryInMs = policy.delayAfter(row.attempts + 1);
  if (outcome.result === IntegrationProcessResult.SkipNow) {
    return { syncId: row.syncId, state: 'skipped', message: outcome.errorMessage, retryInMs, failure: false };
  }
  const message = outcome.errorMessage ?? outcome.result;
  if (policy.parks(row.failures + 1)) {
    return { syncId: row.syncId, state: 'parked', message, retryInMs: null, failure: true };
  }
  const state = outcome.result === IntegrationProcessResult.Error ? 'failed' : 'retrying';
  return { syncId: row.syncId, state, message, retryInMs, failure: true };
}

/**
 * Where the next read of a run may start after a batch that ended at `lastTaskId`: no later than a
 * failed synchronization it retried, since tasks its failure held back (its object's later ones, in
 * a partition) were not read with the batch and may come due now.
 */
function resumeAfter(lastTaskId: string, batch: readonly QueuedSynchronization[]): string {
  const retried = batch.find((row) => row.state === 'failed')?.taskId;
  return retried !== undefined && BigInt(retried) < BigInt(lastTaskId) ? retried : lastTaskId;
}
