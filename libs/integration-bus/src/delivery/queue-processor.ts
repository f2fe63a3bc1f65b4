import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ConnectorLease } from './connector-lease.js';
import type { ConnectorRegistry, LoadedConnector } from '../connectors/connector-registry.js';
import type { ProcessingClaim } from './processing-claim.js';
import type { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import { ClaimLostError } from '../errors/claim-lost.error.js';
import { ConnectorBusyError } from '../errors/connector-busy.error.js';
import { ProcessingDisabledError } from '../errors/processing-disabled.error.js';
import { TaskNotFoundError } from '../errors/task-not-found.error.js';
import { describeError } from '../events/integration-event-publisher.js';
import { addCounts, emptyCounts, type ResultCounts } from './invoke-connector.js';
import type { LeaseDirection } from '../persistence/lease.store.js';
import type { QueuedSynchronization, QueueStore } from '../persistence/queue.store.js';
import { SerialRunner } from './serial-runner.js';
import { Slots } from './slots.js';

/** An enabled, loaded connector and the id of its row. */
export interface ProcessingTarget {
  connector: LoadedConnector;
  connectorId: number;
}

/** A connector's queue, or one partition of it (0: the whole queue). */
const queueKey = (connectorId: number, partition: number): string => `${connectorId}/${partition}`;

/** Margin added to a foreign lease's end before trying to take it over. */
const TAKEOVER_MARGIN_MS = 50;

/**
 * What the outgoing and incoming processors share: one serial runner per queue in this process (a
 * connector's queue, or each partition of an `ordering: 'object'` connector), the queue's lease for
 * the direction across processes, run triggers that coalesce, timed runs (a retry that comes due,
 * another instance's lease that runs out), by-hand synchronization of one task, and a shutdown
 * bounded by `shutdownTimeoutMs`.
 */
export abstract class QueueProcessor implements OnApplicationShutdown {
  protected readonly logger = new Logger('IntegrationBus');
  readonly #runners = new Map<string, SerialRunner<ResultCounts>>();
  /** Per partitioned connector: how many of its partitions this process runs at once. */
  readonly #slots = new Map<number, Slots>();
  /** Connectors seen with one FIFO (partition 0 only). A connector keeps its layout while it runs. */
  readonly #oneFifo = new Set<number>();
  /** Partitions whose last run handed them over with work left (see `yielded`). */
  readonly #yielded = new Map<string, 'share' | 'turn'>();
  readonly #timers = new Map<number, { at: number; timer: NodeJS.Timeout }>();
  readonly #interrupt = new AbortController();
  /** Connectors whose last run failed: their next failures are not logged again. */
  readonly #failing = new Set<number>();
  #stopping = false;

  protected constructor(
    protected readonly direction: LeaseDirection,
    protected readonly registry: ConnectorRegistry,
    protected readonly tasks: QueueStore,
    protected readonly lease: ConnectorLease,
    private readonly shutdownTimeoutMs: number,
  ) {}

  /** Whether the switches let this direction process now. */
  protected abstract processingEnabled(): Promise<boolean>;

  /** Works through a connector's queue under `claim`; adds what happened to `counts`. */
  protected abstract drain(
    target: ProcessingTarget,
    claim: ProcessingClaim,
    counts: ResultCounts,
  ): Promise<void>;

  /** Processes one queued synchronization picked by hand, completing it. */
  protected abstract processOne(
    target: ProcessingTarget,
    claim: ProcessingClaim,
    row: QueuedSynchronization,
  ): Promise<IntegrationProcessResult>;

  /**
   * Whether this process starts runs by itself: on timers (retries coming due, a dead instance's
   * lease running out). Off when the host drives processing by hand.
   */
  protected abstract get automatic(): boolean;

  /** When the connector must run again by itself, in milliseconds from now; null: not by itself. */
  protected nextRunInMs(_connectorId: number): Promise<number | null> {
    return Promise.resolve(null);
  }

  /**
   * The partitions of the connector's queue that have work now; `[0]` (the whole queue, looked at by
   * its run) for a connector with one FIFO.
   */
  protected partitionsToRun(_target: ProcessingTarget): Promise<number[]> {
    return Promise.resolve([0]);
  }

  /** How many partitions of the connector this process may run at once (only asked when partitioned). */
  protected partitionLimit(_target: ProcessingTarget): number {
    return 1;
  }

  /**
   * Whether a partition run should hand its partition over after its batch, and why: `share`, this
   * process runs more of the connector's partitions than its share now (another instance joined,
   * R-ORD-3); `turn`, other partitions of the connector wait here for a slot, and take their turn
   * (a backlog in some partitions never starves the others, and all slots stay busy to the end).
   */
  protected yieldReason(connectorId: number): 'share' | 'turn' | null {
    const slots = this.#slots.get(connectorId);
    if (slots?.over) return 'share';
    return slots?.contended ? 'turn' : null;
  }

  /** Connectors whose partitions this process has run. */
  protected get partitionedConnectors(): number[] {
    return [...this.#slots.keys()];
  }

  /** A partition run handed its partition over with work left, for `reason` (see `yieldReason`). */
  protected yielded(connectorId: number, partition: number, reason: 'share' | 'turn'): void {
    this.#yielded.set(queueKey(connectorId, partition), reason);
  }

  /**
   * A partition was handed over because this process held more than its share, its lease now
   * released: the other instances should take it.
   */
  protected handedOver(_connectorId: number): void {}

  protected get stopping(): boolean {
    return this.#stopping;
  }

  /** Aborted when shutdown stops waiting for the runs under way: they stop waiting for connectors. */
  protected get interrupted(): AbortSignal {
    return this.#interrupt.signal;
  }

  /**
   * Stops taking new work and waits for the runs under way, before MikroORM closes its pool — in all
   * at most `shutdownTimeoutMs`: runs still going at four fifths of it are interrupted (what they
   * finished is written, the leases handed back) and given the rest to do so.
   */
  async onApplicationShutdown(): Promise<void> {
    this.#stopping = true;
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    const idle = Promise.all([...this.#runners.values()].map((r) => r.idle()));
    // The last fifth (at most a second) is kept for interrupted runs to write what they finished and
    // hand their leases back, so that the whole wait stays within shutdownTimeoutMs.
    const grace = Math.min(1000, Math.floor(this.shutdownTimeoutMs / 5));
    if (await settlesWithin(idle, this.shutdownTimeoutMs - grace)) return;
    this.logger.warn(
      `${this.direction} processing still running ${this.shutdownTimeoutMs - grace} ms into shutdown: interrupting it (shutdownTimeoutMs ${this.shutdownTimeoutMs})`,
    );
    this.#interrupt.abort(new Error('the application is shutting down'));
    await settlesWithin(idle, grace);
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
      // Which queue the task is in decides which lease to take (a partition, R-ORD-2).
      const queued = await this.tasks.findOne(target.connectorId, taskId);
      if (!queued) continue;
      const scope = {
        direction: this.direction,
        connectorId: target.connectorId,
        partition: queued.partition,
      };
      const result = await this.runnerFor(target.connectorId, queued.partition).exclusive(() =>
        this.lease.run(scope, leaseName(target, queued.partition), async (claim) => {
          const row = await this.tasks.findOne(target.connectorId, taskId);
          return row ? this.processOne(target, claim, row) : null;
        }),
      );
      if (result) counts[result] += 1;
      // A task processed by hand may have been what held the connector up.
      if (this.automatic && result) this.runLater(target.connectorId, 0);
    }
    return counts;
  }

  /**
   * Starts (or joins) a run for a connector: for a partitioned one, a run for each partition that
   * has work, at most `partitionLimit` at once. A failed run is logged once by the run itself (see
   * `run`), never by each trigger that joined it, and never thrown at the trigger.
   */
  protected async trigger(connectorId: number): Promise<ResultCounts> {
    // A connector with one FIFO, once known, goes straight to its run (the hot path after a commit):
    // the run itself checks the switches and the connector.
    if (this.#oneFifo.has(connectorId))
      return this.runnerFor(connectorId, 0)
        .trigger()
        .catch(() => emptyCounts());
    try {
      if (this.#stopping || !(await this.processingEnabled())) return emptyCounts();
      const target = (await this.registry.enabledConnectors()).find((t) => t.connectorId === connectorId);
      if (!target) return emptyCounts();
      const partitions = await this.partitionsToRun(target);
      if (partitions.length === 1 && partitions[0] === 0) this.#oneFifo.add(connectorId);
      const runs = partitions.map((partition) =>
        this.runnerFor(connectorId, partition)
          .trigger()
          .catch(() => emptyCounts()),
      );
      return (await Promise.all(runs)).reduce(addCounts, emptyCounts());
    } catch (error) {
      this.#noteFailure(connectorId, error);
      return emptyCounts();
    }
  }

  /** Starts a run for the connector in `inMs` milliseconds, unless one is set to start earlier. */
  protected runLater(connectorId: number, inMs: number): void {
    if (this.#stopping || !this.automatic) return;
    const delay = Math.min(Math.max(0, Math.ceil(inMs)), 2_147_483_647);
    const at = performance.now() + delay;
    const current = this.#timers.get(connectorId);
    if (current && current.at <= at) return;
    if (current) clearTimeout(current.timer);
    const timer = setTimeout(() => {
      this.#timers.delete(connectorId);
      void this.trigger(connectorId);
    }, delay);
    timer.unref();
    this.#timers.set(connectorId, { at, timer });
  }

  private runnerFor(connectorId: number, partition: number): SerialRunner<ResultCounts> {
    const key = queueKey(connectorId, partition);
    let runner = this.#runners.get(key);
    if (!runner) {
      runner = new SerialRunner(() => this.run(connectorId, partition));
      this.#runners.set(key, runner);
    }
    return runner;
  }

  private slotsFor(target: ProcessingTarget): Slots {
    let slots = this.#slots.get(target.connectorId);
    if (!slots) {
      slots = new Slots(() => this.partitionLimit(target));
      this.#slots.set(target.connectorId, slots);
    }
    return slots;
  }

  /**
   * One run, its failure logged here: at error level the first time, then quietly while the
   * connector keeps failing (a database restart fails every run triggered meanwhile: one line per
   * outage, not one per trigger), with one line when it works again.
   */
  private async run(connectorId: number, partition: number): Promise<ResultCounts> {
    try {
      const counts = emptyCounts();
      const key = queueKey(connectorId, partition);
      for (;;) {
        addCounts(counts, await this.runOnce(connectorId, partition));
        const reason = this.#yielded.get(key);
        this.#yielded.delete(key);
        if (!reason || this.#stopping) break;
        // Handed over to another instance: it is told once the lease is released. A process that
        // drives processing by hand goes on with it if nobody took it; others leave it to them.
        if (reason === 'share') {
          this.handedOver(connectorId);
          if (this.automatic) break;
        }
        // Handed over to partitions waiting here for a slot: queued again behind them at once, so
        // that a trigger ends with the queue done (or held elsewhere) and no slot idles meanwhile.
      }
      if (this.#failing.delete(connectorId)) {
        this.logger.log(`${this.direction} processing of connector #${connectorId} works again`);
      }
      return counts;
    } catch (error) {
      this.#noteFailure(connectorId, error);
      throw error;
    }
  }

  #noteFailure(connectorId: number, error: unknown): void {
    const message = `${this.direction} processing of connector #${connectorId} failed: ${describeError(error)}`;
    if (this.#failing.has(connectorId)) this.logger.debug(message);
    else this.logger.error(message);
    this.#failing.add(connectorId);
  }

  private async runOnce(connectorId: number, partition: number): Promise<ResultCounts> {
    const counts = emptyCounts();
    if (this.#stopping || !(await this.processingEnabled())) return counts;
    const target = (await this.registry.enabledConnectors()).find((t) => t.connectorId === connectorId);
    if (!target) return counts;
    const scope = { direction: this.direction, connectorId, partition };
    const drain = () =>
      this.lease.run(scope, leaseName(target, partition), (claim) => this.drain(target, claim, counts));
    try {
      await (partition === 0 ? drain() : this.slotsFor(target).run(drain));
    } catch (error) {
      if (error instanceof ConnectorBusyError) {
        // Another instance is processing this connector. If it dies, its lease runs out: look again
        // then, so that its work is taken over at once rather than at the next sweep (R-DEL-3).
        this.runLater(connectorId, error.leaseEndsInMs + TAKEOVER_MARGIN_MS);
        return counts;
      }
      if (error instanceof ClaimLostError) {
        this.logger.warn(
          `${this.direction} run of ${leaseName(target, partition)} stopped: ${error.message}`,
        );
        return counts;
      }
      throw error;
    }
    // Off the connector's serial path: a run triggered meanwhile need not wait for this read.
    void this.scheduleNextRun(connectorId);
    return counts;
  }

  /** Sets the timer of the connector's next automatic run, if one is due (a retry). */
  private async scheduleNextRun(connectorId: number): Promise<void> {
    if (!this.automatic) return;
    try {
      const next = await this.nextRunInMs(connectorId);
      if (next !== null) this.runLater(connectorId, next);
    } catch (error) {
      // The database is away: the LISTEN connection's return processes every connector.
      this.logger.debug(`Could not read when connector #${connectorId} is due: ${describeError(error)}`);
    }
  }
}

/** How a queue's lease is named in messages: the connector, and its partition if it has several. */
function leaseName(target: ProcessingTarget, partition: number): string {
  return partition === 0
    ? target.connector.codeName
    : `${target.connector.codeName} (partition ${partition})`;
}

/** Whether `promise` settles within `ms` milliseconds. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
