import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { ConnectorRegistry, storedPartitions } from '../connectors/connector-registry.js';
import type { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import { describeError } from '../events/integration-event-publisher.js';
import { RESOLVED_OPTIONS } from '../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../interfaces/integration-bus-options.interface.js';
import { PartitionStore } from '../persistence/partition.store.js';
import { FlowControlStore } from '../persistence/flow-control.store.js';
import { QueueStore, type QueuedSynchronization } from '../persistence/queue.store.js';
import { SettingsService } from '../settings/settings.service.js';
import { ConnectorLease } from './connector-lease.js';
import type { Drainer, DrainResult, DrainRun, GroupDrainResult, ProcessingTarget } from './drainer.js';
import { InstanceMembership } from './instance-membership.js';
import type { ResultCounts } from './invoke-connector.js';
import { OutgoingCall } from './outgoing-call.js';
import { OutgoingDrain, processOneOutgoing } from './outgoing-drain.js';
import { PartitionGroupDrain } from './partition-group-drain.js';
import { PartitionGroupLease, type GroupClaims } from './partition-group-lease.js';
import { PartitionGroupStore } from '../persistence/partition-group.store.js';
import type { ProcessingClaim } from './processing-claim.js';
import { QueueScheduler } from './queue-scheduler.js';
import { QueueSignals } from './queue-signal.js';
import { RecoveryProbe } from './recovery-probe.js';
import { SupersededTasks } from './latest-changes.js';
import { TasksCommitted } from './tasks-committed.js';

/** Tasks the sweep looks at for orphans each time: a bounded step, never the whole table. */
const ORPHAN_SWEEP_STEP = 20_000;

/** How long a group write's shared tasks wait for the connector's next group write to recheck them. */
const RECHECK_WAIT_MS = 1000;

/**
 * Asynchronous processing of outgoing tasks (R-OUT-6..8, R-DEL-1..5): the outgoing drainer.
 *
 * Per connector (or per partition, R-ORD-2), one run at a time: the `QueueScheduler` decides when a
 * queue runs and holds its fenced lease across processes; each run is an `OutgoingDrain`, which
 * reads the queue from its head and writes each batch's outcome in one statement that holds only
 * while the lease is the run's: a crash repeats at most one batch, and a run that lost its lease
 * writes nothing. Connectors run independently: a slow one never delays another. What did not
 * succeed is tried again when the connector's retry policy says, on a timer of this process (and of
 * whichever instance runs the connector next).
 */
@Injectable()
export class OutgoingProcessor
  implements Drainer, OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown
{
  readonly direction = 'outgoing';
  readonly #logger = new Logger('IntegrationBus');
  readonly #scheduler: QueueScheduler;
  #sweep: NodeJS.Timeout | undefined;
  /** Where the sweep's next orphan check starts (see `QueueStore.sweepOrphans`). */
  #orphanCursor = '0';
  /** Per connector: shared tasks a group write completed, waiting to be rechecked (see `#recheckLater`). */
  readonly #recheck = new Map<number, { taskIds: string[]; timer: NodeJS.Timeout }>();

  constructor(
    private readonly registry: ConnectorRegistry,
    private readonly settings: SettingsService,
    private readonly queue: QueueStore,
    lease: ConnectorLease,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedIntegrationBusOptions,
    private readonly partitionStore: PartitionStore,
    private readonly membership: InstanceMembership,
    private readonly signals: QueueSignals,
    private readonly call: OutgoingCall,
    private readonly committed: TasksCommitted,
    private readonly flow: FlowControlStore,
    private readonly probe: RecoveryProbe,
    private readonly superseded: SupersededTasks,
    private readonly groups: PartitionGroupStore,
    private readonly groupLease: PartitionGroupLease,
  ) {
    this.#scheduler = new QueueScheduler(this, registry, queue, lease, options.shutdownTimeoutMs, groupLease);
  }

  onModuleInit(): void {
    // After a commit, the change logger's signal: the touched connectors run now (R-OUT-8 a).
    this.committed.subscribe(({ connectorIds }) => this.nudge(connectorIds));
  }

  get automatic(): boolean {
    return this.options.outgoing.processAfterCommit || this.options.outgoing.sweepIntervalMs > 0;
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

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.#sweep);
    this.probe.stop();
    await this.#scheduler.shutdown();
    await Promise.all([...this.#recheck.keys()].map((id) => this.#recheckNow(id)));
    // The queues and partitions this instance held are handed back (their leases released by the
    // runs): the other instances are told to take them now (R-ORD-3), rather than when the leases
    // they last saw held would have run out (see `QueueScheduler.trigger`).
    const held = this.#scheduler.heldConnectors;
    if (held.length > 0) {
      await this.signals.wake(held).catch((error: unknown) => {
        this.#logger.debug(`Could not tell the other instances to take the queues: ${describeError(error)}`);
      });
    }
  }

  /** Processes the queue of one connector, or of every enabled connector; resolves with the counts. */
  process(connectorName?: string): Promise<ResultCounts> {
    return this.#scheduler.process(connectorName);
  }

  /** Processes one task now, for one connector or for every enabled connector it is queued for. */
  synchronizeTask(taskId: number, connectorName?: string): Promise<ResultCounts> {
    return this.#scheduler.synchronizeTask(taskId, connectorName);
  }

  /**
   * New tasks were committed for these connectors: process them now if `processAfterCommit` (R-OUT-8
   * a, b). `partitions`: where they were written, for partitioned connectors (see `QueueSignal`).
   */
  nudge(connectorIds: Iterable<number>, partitions?: ReadonlyMap<number, number[]>): void {
    if (this.options.outgoing.processAfterCommit) this.wake(connectorIds, partitions ?? new Map());
  }

  /**
   * Starts processing of the given connectors without waiting, after something that may have
   * unblocked them (a task deleted or requeued): unless the host drives processing by hand.
   * `committed`: the wake-up is a commit's, with the partitions it wrote to (see `nudge`).
   */
  wake(connectorIds: Iterable<number>, committed?: ReadonlyMap<number, number[]>): void {
    if (!this.automatic || this.#scheduler.stopping) return;
    for (const id of connectorIds) {
      void this.#scheduler.trigger(id, committed && { written: committed.get(id) });
    }
  }

  /** Starts processing of every enabled connector without waiting (the database is back, a switch on). */
  wakeAll(): void {
    if (!this.automatic || this.#scheduler.stopping) return;
    void this.process().catch((error: unknown) => {
      this.#logger.error(`Outgoing processing failed: ${describeError(error)}`);
    });
  }

  async enabled(): Promise<boolean> {
    return (await this.settings.effective()).processOutgoing;
  }

  /** See `OutgoingDrain`. */
  async drain(target: ProcessingTarget, claim: ProcessingClaim, run: DrainRun): Promise<DrainResult> {
    const { batchSize, batchMaxDurationMs } = this.options;
    const context = {
      queue: this.queue,
      flow: this.flow,
      call: this.call,
      batchSize,
      batchMaxDurationMs,
      // With other connectors enabled, tasks may be shared: each completion rechecks the shared tasks
      // of the one before (see QueueStore.completeAndFetch).
      shared: target.sharesTasks,
      enabled: () => this.enabled(),
      superseded: this.superseded,
    };
    return new OutgoingDrain(context, target, claim, run).drain();
  }

  /**
   * Commits' partitions run as groups for connectors whose runs need nothing a partition run alone
   * does: one call per task (no batch handler, whose batches wait and read ahead), no coalescing (read
   * per batch), no rate limit (paced per call).
   */
  groupsPartitions({ connector }: ProcessingTarget): boolean {
    return (
      storedPartitions(connector) > 0 &&
      connector.maxBatchSize <= 1 &&
      connector.coalesce === null &&
      connector.rateLimit === null
    );
  }

  /** See `PartitionGroupDrain`. */
  async drainGroup(target: ProcessingTarget, group: GroupClaims, run: DrainRun): Promise<GroupDrainResult> {
    const context = {
      queue: this.queue,
      recheck: this.#takeRecheck(target.connectorId),
      groups: this.groups,
      flow: this.flow,
      call: this.call,
      batchSize: this.options.batchSize,
      concurrency: this.partitionLimit(target),
      shared: target.sharesTasks,
      owner: this.groupLease.owner,
    };
    const { unchecked, ...result } = await new PartitionGroupDrain(context, target, group, run).drain();
    this.#recheckLater(target.connectorId, unchecked);
    return { ...result, nextRunInMs: this.#watchedUntil(target.connectorId, result.nextRunInMs) };
  }

  /**
   * Shared tasks a group write completed, which another connector may have been finishing at the same
   * instant (see `QueueStore.deleteFinished`), are rechecked after that write has committed: by the
   * connector's next group write, which under live traffic follows within milliseconds, rather than
   * by a statement of their own after every write; by `deleteFinished` if none comes within
   * `RECHECK_WAIT_MS`, or at shutdown. What a crash leaves unchecked is deleted by the sweep.
   */
  #recheckLater(connectorId: number, taskIds: string[]): void {
    const waiting = [...this.#takeRecheck(connectorId), ...taskIds];
    if (waiting.length === 0) return;
    const timer = setTimeout(() => void this.#recheckNow(connectorId), RECHECK_WAIT_MS);
    timer.unref();
    this.#recheck.set(connectorId, { taskIds: waiting, timer });
  }

  /** The shared tasks waiting to be rechecked for the connector, taken (see `#recheckLater`). */
  #takeRecheck(connectorId: number): string[] {
    const waiting = this.#recheck.get(connectorId);
    if (!waiting) return [];
    clearTimeout(waiting.timer);
    this.#recheck.delete(connectorId);
    return waiting.taskIds;
  }

  async #recheckNow(connectorId: number): Promise<void> {
    await this.queue.deleteFinished(this.#takeRecheck(connectorId)).catch((error: unknown) => {
      // Left to the sweep's orphan check.
      this.#logger.debug(`Could not clean up finished shared tasks: ${describeError(error)}`);
    });
  }

  processOne(
    target: ProcessingTarget,
    claim: ProcessingClaim,
    row: QueuedSynchronization,
  ): Promise<IntegrationProcessResult> {
    const context = { queue: this.queue, call: this.call };
    return processOneOutgoing(context, target.connector, claim, row, this.#scheduler.interrupted);
  }

  async nextRunInMs(connectorId: number): Promise<number | null> {
    return this.#watchedUntil(connectorId, await this.queue.nextRetryInMs(connectorId));
  }

  /** A retry ahead (`due` ms from now): a connector with a probe is probed meanwhile (R-EXT-2, see RecoveryProbe). */
  #watchedUntil(connectorId: number, due: number | null): number | null {
    const probing = due !== null && due > 0 && this.registry.loaded.some((c) => c.hasProbe);
    if (probing && !this.probe.watching(connectorId)) void this.watchRecovery(connectorId);
    return due;
  }

  /** Starts the connector's recovery probe; when it answers true, its queue runs here and elsewhere. */
  private async watchRecovery(connectorId: number): Promise<void> {
    let target;
    try {
      target = (await this.registry.enabledConnectors()).find((t) => t.connectorId === connectorId);
    } catch (error) {
      this.#logger.debug(`Could not start the recovery probe: ${describeError(error)}`);
      return;
    }
    if (!target?.connector.hasProbe) return;
    this.probe.watch(target, () => {
      this.wake([connectorId]);
      // Partitions this instance does not run are woken where they run (R-ORD-3).
      this.handedOver(connectorId);
    });
  }

  handedOver(connectorId: number): void {
    void this.signals.wake([connectorId]).catch((error: unknown) => {
      this.#logger.debug(`Could not tell the other instances to take a partition: ${describeError(error)}`);
    });
  }

  partitions({ connector, connectorId }: ProcessingTarget): Promise<number[]> {
    const partitions = storedPartitions(connector);
    return partitions === 0 ? Promise.resolve([0]) : this.partitionStore.withWork(connectorId, partitions);
  }

  writtenPartitions({ connector }: ProcessingTarget, written: readonly number[]): number[] {
    const partitions = storedPartitions(connector);
    return partitions === 0 ? [0] : written.filter((p) => p >= 1 && p <= partitions);
  }

  /** Up to `concurrency` partitions at once, and no more than this instance's share (R-ORD-2, R-ORD-3). */
  partitionLimit({ connector }: ProcessingTarget): number {
    return Math.min(connector.concurrency, this.membership.shareOf(connector.partitions));
  }

  private async sweep(): Promise<void> {
    try {
      const step = await this.queue.sweepOrphans(this.#orphanCursor, ORPHAN_SWEEP_STEP);
      this.#orphanCursor = step.next;
      await this.process();
    } catch (error) {
      this.#logger.error(`Outgoing sweep failed: ${describeError(error)}`);
    }
  }
}
