import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ConnectorLease } from '../connectors/connector-lease.js';
import type { ConnectorRegistry, LoadedConnector } from '../connectors/connector-registry.js';
import type { ProcessingClaim } from '../connectors/processing-claim.js';
import type { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import { ClaimLostError } from '../errors/claim-lost.error.js';
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

/** Margin added to a foreign lease's end before trying to take it over. */
const TAKEOVER_MARGIN_MS = 50;

/**
 * What the outgoing and incoming processors share: one serial runner per connector in this process,
 * the connector's lease for the direction across processes, run triggers that coalesce, timed runs
 * (a retry that comes due, another instance's lease that runs out), by-hand synchronization of one
 * task, and a shutdown bounded by `shutdownTimeoutMs`.
 */
export abstract class QueueProcessor implements OnApplicationShutdown {
  protected readonly logger = new Logger('IntegrationBus');
  readonly #runners = new Map<number, SerialRunner<ResultCounts>>();
  readonly #timers = new Map<number, { at: number; timer: NodeJS.Timeout }>();
  readonly #interrupt = new AbortController();
  /** Connectors whose last run failed: their next failures are not logged again. */
  readonly #failing = new Set<number>();
  #stopping = false;

  protected constructor(
    protected readonly direction: LeaseDirection,
    protected readonly registry: ConnectorRegistry,
    protected readonly tasks: TaskStore,
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
      const result = await this.runnerFor(target.connectorId).exclusive(() =>
        this.lease.run(this.direction, target.connectorId, target.connector.codeName, async (claim) => {
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
   * Starts (or joins) a run for a connector. A failed run is logged once by the run itself (see
   * `run`), never by each trigger that joined it, and never thrown at the trigger.
   */
  protected trigger(connectorId: number): Promise<ResultCounts> {
    return this.runnerFor(connectorId)
      .trigger()
      .catch(() => emptyCounts());
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

  private runnerFor(connectorId: number): SerialRunner<ResultCounts> {
    let runner = this.#runners.get(connectorId);
    if (!runner) {
      runner = new SerialRunner(() => this.run(connectorId));
      this.#runners.set(connectorId, runner);
    }
    return runner;
  }

  /**
   * One run, its failure logged here: at error level the first time, then quietly while the
   * connector keeps failing (a database restart fails every run triggered meanwhile: one line per
   * outage, not one per trigger), with one line when it works again.
   */
  private async run(connectorId: number): Promise<ResultCounts> {
    try {
      const counts = await this.runOnce(connectorId);
      if (this.#failing.delete(connectorId)) {
        this.logger.log(`${this.direction} processing of connector #${connectorId} works again`);
      }
      return counts;
    } catch (error) {
      const message = `${this.direction} processing of connector #${connectorId} failed: ${describeError(error)}`;
      if (this.#failing.has(connectorId)) this.logger.debug(message);
      else this.logger.error(message);
      this.#failing.add(connectorId);
      throw error;
    }
  }

  private async runOnce(connectorId: number): Promise<ResultCounts> {
    const counts = emptyCounts();
    if (this.#stopping || !(await this.processingEnabled())) return counts;
    const target = (await this.registry.enabledConnectors()).find((t) => t.connectorId === connectorId);
    if (!target) return counts;
    try {
      await this.lease.run(this.direction, connectorId, target.connector.codeName, (claim) =>
        this.drain(target, claim, counts),
      );
    } catch (error) {
      if (error instanceof ConnectorBusyError) {
        // Another instance is processing this connector. If it dies, its lease runs out: look again
        // then, so that its work is taken over at once rather than at the next sweep (R-DEL-3).
        this.runLater(connectorId, error.leaseEndsInMs + TAKEOVER_MARGIN_MS);
        return counts;
      }
      if (error instanceof ClaimLostError) {
        this.logger.warn(`${this.direction} run of ${target.connector.codeName} stopped: ${error.message}`);
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
