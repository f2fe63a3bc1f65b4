import { Logger } from '@nestjs/common';
import type { ConnectorLease } from './connector-lease.js';
import type { ConnectorRegistry } from '../connectors/connector-registry.js';
import { ClaimLostError } from '../errors/claim-lost.error.js';
import { ConnectorBusyError } from '../errors/connector-busy.error.js';
import { ProcessingDisabledError } from '../errors/processing-disabled.error.js';
import { TaskNotFoundError } from '../errors/task-not-found.error.js';
import { describeError } from '../events/integration-event-publisher.js';
import { addCounts, emptyCounts, type ResultCounts } from './invoke-connector.js';
import type { QueueStore } from '../persistence/queue.store.js';
import type { Drainer, DrainResult, DrainRun, HandOver, ProcessingTarget } from './drainer.js';
import type { PartitionGroupLease } from './partition-group-lease.js';
import { SerialRunner } from './serial-runner.js';
import { Slots } from './slots.js';
import { settlesWithin } from '../support/settles-within.js';

/** A connector's queue, or one partition of it (0: the whole queue). */
const queueKey = (connectorId: number, partition: number): string => `${connectorId}/${partition}`;

/** Margin added to a foreign lease's end before trying to take it over. */
const TAKEOVER_MARGIN_MS = 50;

/**
 * When each queue runs, for one direction's drainer (`Drainer`): one serial runner per queue in this
 * process (a connector's queue, or each partition of an `ordering: 'object'` connector), the queue's
 * lease for the direction across processes, run triggers that coalesce, timed runs (a retry that
 * comes due, another instance's lease that runs out), by-hand synchronization of one task, and a
 * shutdown bounded by `shutdownTimeoutMs`. It holds no delivery rule: what a run reads and writes is
 * the drainer's.
 */
export class QueueScheduler {
  readonly #logger = new Logger('IntegrationBus');
  readonly #runners = new Map<string, SerialRunner<ResultCounts>>();
  /** Per connector whose partitions run in groups: its group runs, one at a time (see `#runGroup`). */
  readonly #groupRunners = new Map<number, SerialRunner<ResultCounts>>();
  /** Per connector: the partitions commits wrote to that its next group run takes. */
  readonly #groupPending = new Map<number, Set<number>>();
  /** Per partitioned connector: how many of its partitions this process runs at once. */
  readonly #slots = new Map<number, Slots>();
  /** Connectors seen with one FIFO (partition 0 only). A connector keeps its layout while it runs. */
  readonly #oneFifo = new Set<number>();
  readonly #timers = new Map<number, { at: number; timer: NodeJS.Timeout }>();
  readonly #interrupt = new AbortController();
  /**
   * Queues (a connector's, or one partition) another instance was found holding, by queue key: until
   * when (this process's `performance.now()`), as that instance's lease said. See `trigger`.
   */
  readonly #heldElsewhere = new Map<string, number>();
  /** See `heldConnectors`. */
  readonly #held = new Set<number>();
  /** Connectors whose last run failed: their next failures are not logged again. */
  readonly #failing = new Set<number>();
  #stopping = false;

  constructor(
    private readonly drainer: Drainer,
    private readonly registry: ConnectorRegistry,
    private readonly queue: QueueStore,
    private readonly lease: ConnectorLease,
    private readonly shutdownTimeoutMs: number,
    private readonly groupLease?: PartitionGroupLease,
  ) {}

  /** Connectors whose queue, or one of whose partitions, this process has held. */
  get heldConnectors(): number[] {
    return [...this.#held];
  }

  /** Whether shutdown has begun: no new work is taken. */
  get stopping(): boolean {
    return this.#stopping;
  }

  /** Aborted when shutdown stops waiting for the runs under way: they stop waiting for connectors. */
  get interrupted(): AbortSignal {
    return this.#interrupt.signal;
  }

  /**
   * Whether a partition run should hand its partition over after its batch (see `HandOver`): when
   * this process runs more of the connector's partitions than its share, or others wait for a slot.
   */
  #handOverReason(connectorId: number): HandOver | null {
    const slots = this.#slots.get(connectorId);
    if (slots?.over) return 'share';
    return slots?.contended ? 'turn' : null;
  }

  /**
   * Stops taking new work and waits for the runs under way, before MikroORM closes its pool — in all
   * at most `shutdownTimeoutMs`: runs still going at four fifths of it are interrupted (what they
   * finished is written, the leases handed back) and given the rest to do so.
   */
  async shutdown(): Promise<void> {
    this.#stopping = true;
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    const runners = [...this.#runners.values(), ...this.#groupRunners.values()];
    const idle = Promise.all(runners.map((r) => r.idle()));
    // The last fifth (at most a second) is kept for interrupted runs to write what they finished and
    // hand their leases back, so that the whole wait stays within shutdownTimeoutMs.
    const grace = Math.min(1000, Math.floor(this.shutdownTimeoutMs / 5));
    if (await settlesWithin(idle, this.shutdownTimeoutMs - grace)) return;
    this.#logger.warn(
      `${this.drainer.direction} processing still running ${this.shutdownTimeoutMs - grace} ms into shutdown: interrupting it (shutdownTimeoutMs ${this.shutdownTimeoutMs})`,
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
    const { direction } = this.drainer;
    if (!(await this.drainer.enabled())) {
      throw new ProcessingDisabledError(
        `Processing of ${direction} tasks is switched off (settings enabled / process${direction === 'outgoing' ? 'Outgoing' : 'Incoming'}).`,
      );
    }
    if (connectorName) this.registry.get(connectorName);
    const waiting = new Set(await this.queue.connectorsOf(taskId));
    const targets = (await this.registry.enabledConnectors()).filter(
      (t) => waiting.has(t.connectorId) && (!connectorName || t.connector.codeName === connectorName),
    );
    if (targets.length === 0) throw new TaskNotFoundError(taskId, connectorName);
    const counts = emptyCounts();
    for (const target of targets) {
      // Which queue the task is in decides which lease to take (a partition, R-ORD-2).
      const queued = await this.queue.findOne(target.connectorId, taskId);
      if (!queued) continue;
      const scope = {
        direction,
        connectorId: target.connectorId,
        partition: queued.partition,
      };
      const result = await this.runnerFor(target.connectorId, queued.partition).exclusive(() =>
        this.lease.run(scope, leaseName(target, queued.partition), async (claim) => {
          const row = await this.queue.findOne(target.connectorId, taskId);
          return row ? this.drainer.processOne(target, claim, row) : null;
        }),
      );
      if (result) counts[result] += 1;
      // A task processed by hand may have been what held the connector up.
      if (this.drainer.automatic && result) this.runLater(target.connectorId, 0);
    }
    return counts;
  }

  /**
   * Starts (or joins) a run for a connector: for a partitioned one, a run for each partition that
   * has work, at most `partitionLimit` at once. A failed run is logged once by the run itself (see
   * `run`), never by each trigger that joined it, and never thrown at the trigger.
   *
   * `committed`: the trigger is a commit's signal (this instance's, or another's by NOTIFY), with
   * the partitions its tasks were written to when it named them (`QueueSignal.partitions`). Then
   * only those run, without asking the database which partitions have work, and none that another
   * instance was found holding: every instance is told of every commit, so the holder sees the new
   * tasks itself, and if it dies, the takeover timer set when it was found holding the queue runs it
   * here (`runOnce`). Under live traffic with `ordering: 'object'` this is what each commit cost
   * each instance: a look at every partition of every connector it touched, and claims the holders
   * had already made.
   */
  async trigger(connectorId: number, committed?: { written?: readonly number[] }): Promise<ResultCounts> {
    // A connector with one FIFO, once known, goes straight to its run (the hot path after a commit):
    // the run itself checks the switches and the connector.
    if (this.#oneFifo.has(connectorId)) {
      if (committed && this.#isHeldElsewhere(connectorId, 0)) return emptyCounts();
      return this.runnerFor(connectorId, 0)
        .trigger()
        .catch(() => emptyCounts());
    }
    try {
      if (this.#stopping || !(await this.drainer.enabled())) return emptyCounts();
      const target = (await this.registry.enabledConnectors()).find((t) => t.connectorId === connectorId);
      if (!target) return emptyCounts();
      const written = committed?.written;
      const partitions = written
        ? (this.drainer.writtenPartitions?.(target, written) ?? [0]).filter(
            (p) => !this.#isHeldElsewhere(connectorId, p),
          )
        : ((await this.drainer.partitions?.(target)) ?? [0]);
      if (partitions.length === 1 && partitions[0] === 0) this.#oneFifo.add(connectorId);
      if (written && partitions.length > 0 && this.groupLease && this.drainer.groupsPartitions?.(target)) {
        return await this.#triggerGroup(connectorId, partitions);
      }
      // Nothing due (a run finished the work this trigger's timer was set for, and found that timer
      // earlier than its own next retry, so set none): without a run, nothing would set the next
      // timer, and the connector's later retries would wait for the sweep.
      if (partitions.length === 0 && !written) void this.scheduleNextRun(connectorId);
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

  /**
   * Queues `partitions` for the connector's next group run and triggers it: triggers while a group
   * runs are taken by the one after it, together (what a burst of commits wrote is run at once).
   */
  #triggerGroup(connectorId: number, partitions: readonly number[]): Promise<ResultCounts> {
    let pending = this.#groupPending.get(connectorId);
    if (!pending) this.#groupPending.set(connectorId, (pending = new Set()));
    for (const partition of partitions) pending.add(partition);
    let runner = this.#groupRunners.get(connectorId);
    if (!runner) {
      runner = new SerialRunner(() => this.#runGroup(connectorId));
      this.#groupRunners.set(connectorId, runner);
    }
    return runner.trigger().catch(() => emptyCounts());
  }

  /**
   * One group run (`Drainer.drainGroup`) over the partitions commits wrote to since the last. A
   * partition that has a run of its own here (running, or waiting to) is left to it: triggered
   * again, so it reads the new tasks. The others' own runners are held while the group runs, so that
   * a run of one of them started meanwhile (a timer, a sweep, by hand) waits for the group instead
   * of claiming its lease beside it: a claim of a lease this process holds takes it over, and the
   * group's write would then be refused after its calls. Partitions whose read may have left work
   * behind (`GroupDrainResult.more`) are run by themselves afterwards.
   */
  async #runGroup(connectorId: number): Promise<ResultCounts> {
    const pending = this.#groupPending.get(connectorId);
    const wanted = pending ? [...pending].sort((a, b) => a - b) : [];
    pending?.clear();
    const counts = emptyCounts();
    if (wanted.length === 0 || this.#stopping || !(await this.drainer.enabled())) return counts;
    const target = (await this.registry.enabledConnectors()).find((t) => t.connectorId === connectorId);
    if (!target) return counts;
    const own = wanted.filter((p) => this.runnerFor(connectorId, p).busy);
    const available = wanted.filter((p) => !own.includes(p) && !this.#isHeldElsewhere(connectorId, p));
    // No more partitions at once than a partition run's slots would give this instance (its share,
    // R-ORD-3): the others are left to the instances their commits signal too, or to the next group.
    const limit = this.drainer.partitionLimit?.(target) ?? 1;
    const free = available.slice(0, limit);
    const deferred = available.slice(limit);
    for (const partition of own)
      void this.runnerFor(connectorId, partition)
        .trigger()
        .catch(() => {});
    if (free.length === 0) return counts;
    let release!: () => void;
    const finished = new Promise<void>((resolve) => (release = resolve));
    const holds = free.map(
      (partition) =>
        new Promise<void>((started) => {
          void this.runnerFor(connectorId, partition).exclusive(() => {
            started();
            return finished;
          });
        }),
    );
    let more: number[] = [];
    let nextRunInMs: number | null | undefined;
    try {
      await Promise.all(holds);
      ({ more, nextRunInMs } = await this.#groupPass(target, free, counts));
    } catch (error) {
      this.#noteFailure(connectorId, error);
    } finally {
      release();
    }
    for (const partition of more)
      void this.runnerFor(connectorId, partition)
        .trigger()
        .catch(() => {});
    if (deferred.length > 0) void this.#triggerGroup(connectorId, deferred);
    // The group's write said when the connector is due again; without a write, it is asked.
    if (nextRunInMs === undefined) void this.scheduleNextRun(connectorId);
    else if (nextRunInMs !== null && this.drainer.automatic) this.runLater(connectorId, nextRunInMs);
    return counts;
  }

  /**
   * Claims `partitions` as a group and drains them; returns the partitions to run by themselves, and
   * when the connector is due again if the group wrote (undefined: not known).
   */
  async #groupPass(
    target: ProcessingTarget,
    partitions: number[],
    counts: ResultCounts,
  ): Promise<{ more: number[]; nextRunInMs?: number | null }> {
    const { connectorId, connector } = target;
    const run: DrainRun = {
      interrupted: this.#interrupt.signal,
      stopping: () => this.#stopping,
      handOverReason: () => null,
    };
    let outcome;
    try {
      outcome = await this.slotsFor(target).run(() =>
        this.groupLease!.run(connectorId, partitions, connector.codeName, (group) =>
          this.drainer.drainGroup!(target, group, run),
        ),
      );
    } catch (error) {
      if (!(error instanceof ClaimLostError)) throw error;
      this.#logger.warn(
        `${this.drainer.direction} run of ${connector.codeName} (partitions) stopped: ${error.message}`,
      );
      return { more: [] };
    }
    const { result, refused } = outcome;
    for (const { partition, expiresInMs } of refused) {
      // As in `runOnce` for a partition another instance holds: its holder sees the commits too.
      this.runLater(connectorId, expiresInMs + TAKEOVER_MARGIN_MS);
      this.#heldElsewhere.set(queueKey(connectorId, partition), performance.now() + expiresInMs);
    }
    if (!result) return { more: [] };
    this.#held.add(connectorId);
    for (const partition of partitions) {
      if (!refused.some((r) => r.partition === partition))
        this.#heldElsewhere.delete(queueKey(connectorId, partition));
    }
    for (const partition of result.lost) {
      this.#logger.warn(
        `${this.drainer.direction} run of ${leaseName(target, partition)} stopped: its lease was taken over; nothing written`,
      );
    }
    addCounts(counts, result.counts);
    if (this.#failing.delete(connectorId)) {
      this.#logger.log(`${this.drainer.direction} processing of connector #${connectorId} works again`);
    }
    return { more: result.more, nextRunInMs: result.nextRunInMs };
  }

  /** Whether another instance was last found holding the queue, and its lease has not run out since. */
  #isHeldElsewhere(connectorId: number, partition: number): boolean {
    const key = queueKey(connectorId, partition);
    const until = this.#heldElsewhere.get(key);
    if (until === undefined) return false;
    if (until > performance.now()) return true;
    this.#heldElsewhere.delete(key);
    return false;
  }

  /** Starts a run for the connector in `inMs` milliseconds, unless one is set to start earlier. */
  runLater(connectorId: number, inMs: number): void {
    if (this.#stopping || !this.drainer.automatic) return;
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
      slots = new Slots(() => this.drainer.partitionLimit?.(target) ?? 1);
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
      for (;;) {
        const { counts: more, handOver } = await this.runOnce(connectorId, partition);
        addCounts(counts, more);
        if (!handOver || this.#stopping) break;
        // Handed over to another instance: it is told once the lease is released. A process that
        // drives processing by hand goes on with it if nobody took it; others leave it to them.
        if (handOver === 'share') {
          this.drainer.handedOver?.(connectorId);
          if (this.drainer.automatic) break;
        }
        // Handed over to partitions waiting here for a slot: queued again behind them at once, so
        // that a trigger ends with the queue done (or held elsewhere) and no slot idles meanwhile.
      }
      if (this.#failing.delete(connectorId)) {
        this.#logger.log(`${this.drainer.direction} processing of connector #${connectorId} works again`);
      }
      return counts;
    } catch (error) {
      this.#noteFailure(connectorId, error);
      throw error;
    }
  }

  #noteFailure(connectorId: number, error: unknown): void {
    const message = `${this.drainer.direction} processing of connector #${connectorId} failed: ${describeError(error)}`;
    if (this.#failing.has(connectorId)) this.#logger.debug(message);
    else this.#logger.error(message);
    this.#failing.add(connectorId);
  }

  private async runOnce(connectorId: number, partition: number): Promise<DrainResult> {
    const idle: DrainResult = { counts: emptyCounts(), handOver: null };
    if (this.#stopping || !(await this.drainer.enabled())) return idle;
    const target = (await this.registry.enabledConnectors()).find((t) => t.connectorId === connectorId);
    if (!target) return idle;
    const { direction } = this.drainer;
    const scope = { direction, connectorId, partition };
    const run: DrainRun = {
      interrupted: this.#interrupt.signal,
      stopping: () => this.#stopping,
      handOverReason: () => (partition === 0 ? null : this.#handOverReason(connectorId)),
    };
    const drain = () =>
      this.lease.run(scope, leaseName(target, partition), (claim) => this.drainer.drain(target, claim, run));
    let result: DrainResult;
    const key = queueKey(connectorId, partition);
    try {
      result = await (partition === 0 ? drain() : this.slotsFor(target).run(drain));
      this.#heldElsewhere.delete(key);
      this.#held.add(connectorId);
    } catch (error) {
      if (error instanceof ConnectorBusyError) {
        // Another instance is processing this connector. If it dies, its lease runs out: look again
        // then, so that its work is taken over at once rather than at the next sweep (R-DEL-3).
        this.runLater(connectorId, error.leaseEndsInMs + TAKEOVER_MARGIN_MS);
        this.#heldElsewhere.set(key, performance.now() + error.leaseEndsInMs);
        return idle;
      }
      if (error instanceof ClaimLostError) {
        this.#logger.warn(`${direction} run of ${leaseName(target, partition)} stopped: ${error.message}`);
        return idle;
      }
      throw error;
    }
    // Off the connector's serial path: a run triggered meanwhile need not wait for this read.
    void this.scheduleNextRun(connectorId);
    return result;
  }

  /** Sets the timer of the connector's next automatic run, if one is due (a retry). */
  private async scheduleNextRun(connectorId: number): Promise<void> {
    if (!this.drainer.automatic || !this.drainer.nextRunInMs) return;
    try {
      const next = await this.drainer.nextRunInMs(connectorId);
      if (next !== null) this.runLater(connectorId, next);
    } catch (error) {
      // The database is away: the LISTEN connection's return processes every connector.
      this.#logger.debug(`Could not read when connector #${connectorId} is due: ${describeError(error)}`);
    }
  }
}

/** How a queue's lease is named in messages: the connector, and its partition if it has several. */
function leaseName(target: ProcessingTarget, partition: number): string {
  return partition === 0
    ? target.connector.codeName
    : `${target.connector.codeName} (partition ${partition})`;
}
