import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { BUS_EVENT_SOURCE, BusEventCodes } from '../../events/bus-event-codes.js';
import { describeError } from '../../events/integration-event-publisher.js';
import { RESOLVED_OPTIONS } from '../../integration-bus.module-definition.js';
import type {
  ResolvedIntegrationBusOptions,
  ResolvedRetentionOptions,
} from '../../interfaces/integration-bus-options.interface.js';
import { EventLogStore } from '../../persistence/event-log.store.js';
import {
  RetentionStore,
  type IntakeSequenceKey,
  type PruneBatch,
  type RetainedOldest,
} from '../../persistence/retention.store.js';

/** Period of the retention passes. */
export const RETENTION_INTERVAL_MS = 5 * 60_000;
/** The first pass comes this long after start-up, out of the way of the start-up's own work. */
export const RETENTION_FIRST_PASS_MS = 60_000;
/** Rows one batch deletes at most: one statement of milliseconds, whatever a table's size. */
export const RETENTION_BATCH_SIZE = 1_000;
/** Parked synchronizations per batch: each takes its task's row lock too, so fewer at a time. */
const PARKED_BATCH_SIZE = 200;
/** Batches each kind gets per pass; what is left waits for the next pass. */
const MAX_BATCHES_PER_KIND = 100;

/** Rows a retention pass removed, by kind. */
export interface RetentionRemoved {
  syncLog: number;
  eventLog: number;
  idempotencyKeys: number;
  /** Parked synchronizations (with their sync log). */
  parkedSynchronizations: number;
  /** Tasks removed with them, once no connector was left queued for them. */
  parkedTasks: number;
  intakeSequences: number;
}

/**
 * A retention pass, as `IntegrationBusRetention.prune()` returns it.
 * - `done`: everything expired was removed;
 * - `more`: a kind reached its share of the pass (`MAX_BATCHES_PER_KIND` batches), the next pass goes on;
 * - `skipped`: another instance was pruning; this one stopped where it was, removing nothing more;
 * - `failed`: a statement failed (`error`); what the batches before it removed stays removed.
 */
export interface RetentionPass {
  startedAt: Date;
  finishedAt: Date;
  outcome: 'done' | 'more' | 'skipped' | 'failed';
  removed: RetentionRemoved;
  /** Statements run, each one bounded batch. */
  batches: number;
  error?: string;
}

/** What is kept, as `GET /{http.path}/retention` and the admin page show it. */
export interface RetentionStatus {
  /** The limits in effect: the `retention` options (`null`: kept for ever) and `idempotencyWindowMs`. */
  settings: ResolvedRetentionOptions & { idempotencyWindowMs: number };
  /** Period of the passes, in milliseconds. */
  intervalMs: number;
  /** The last pass of the instance that answers; null before its first. */
  lastPass: RetentionPass | null;
  /** When that instance's next pass is due; null while stopping. */
  nextPassAt: Date | null;
  /** The oldest of each kind the database still holds (null: none). */
  oldest: RetainedOldest;
}

type KindOutcome = 'done' | 'more' | 'skipped';

/** A batch of one kind: how many it removed, and whether that kind is done for this pass. */
type Step = PruneBatch & { over: boolean };

function nothingRemoved(): RetentionRemoved {
  return {
    syncLog: 0,
    eventLog: 0,
    idempotencyKeys: 0,
    parkedSynchronizations: 0,
    parkedTasks: 0,
    intakeSequences: 0,
  };
}

/**
 * Retention (R-OPS-1): every `RETENTION_INTERVAL_MS`, a pass prunes the sync log, the event log,
 * expired idempotency keys, parked tasks and (when configured) old intake sequences by the
 * `retention` options, in bounded batches (`RetentionStore`), each under a database lock that one
 * instance at a time holds. It runs on its own timer, one batch after the other on one pooled
 * connection, and never waits on a row lock: delivery is not held up by it.
 *
 * The walks over the sync log and the intake sequences remember where a pass that reached its share
 * stopped, so that kept rows at the start (the entries that date a blocked queue) cannot starve the
 * rest; a finished walk starts from the beginning again.
 */
@Injectable()
export class IntegrationBusRetention implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly #logger = new Logger('IntegrationBus');
  readonly #limits: ResolvedRetentionOptions;
  #timer: NodeJS.Timeout | undefined;
  #nextPassAt: Date | null = null;
  #running: Promise<RetentionPass> | undefined;
  #lastPass: RetentionPass | null = null;
  #stopping = false;
  #syncLogCursor = '0';
  #intakeSequenceCursor: IntakeSequenceKey | null = null;

  constructor(
    private readonly store: RetentionStore,
    private readonly eventLog: EventLogStore,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedIntegrationBusOptions,
  ) {
    this.#limits = options.retention;
  }

  onApplicationBootstrap(): void {
    this.schedule(RETENTION_FIRST_PASS_MS);
  }

  /** Stops the timer and lets a pass under way end after its current batch, before the pool closes. */
  async beforeApplicationShutdown(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    this.#nextPassAt = null;
    await this.#running;
  }

  /**
   * Runs a pass now (or joins the one under way on this instance) and resolves with what it removed.
   * For operators and tests; the timer runs the same passes.
   */
  prune(): Promise<RetentionPass> {
    this.#running ??= this.pass().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** The limits in effect, this instance's last pass, and the oldest rows kept. */
  async status(): Promise<RetentionStatus> {
    return {
      settings: { ...this.#limits, idempotencyWindowMs: this.options.idempotencyWindowMs },
      intervalMs: RETENTION_INTERVAL_MS,
      lastPass: this.#lastPass,
      nextPassAt: this.#nextPassAt,
      oldest: await this.store.oldest(),
    };
  }

  private schedule(delayMs: number): void {
    if (this.#stopping) return;
    this.#nextPassAt = new Date(Date.now() + delayMs);
    this.#timer = setTimeout(() => {
      void this.prune().finally(() => this.schedule(RETENTION_INTERVAL_MS));
    }, delayMs);
    this.#timer.unref();
  }

  private async pass(): Promise<RetentionPass> {
    const startedAt = new Date();
    const removed = nothingRemoved();
    const parkedByConnector: Record<string, number> = {};
    const counter = { batches: 0 };
    let outcome: RetentionPass['outcome'] = 'done';
    let error: string | undefined;
    try {
      for (const kind of this.kinds(removed, parkedByConnector)) {
        const result = await this.runKind(kind, counter);
        if (result === 'skipped') {
          outcome = 'skipped';
          break;
        }
        if (result === 'more') outcome = 'more';
      }
    } catch (failure) {
      outcome = 'failed';
      error = describeError(failure);
    }
    await this.logParked(removed, parkedByConnector);
    const pass: RetentionPass = {
      startedAt,
      finishedAt: new Date(),
      outcome,
      removed,
      batches: counter.batches,
      ...(error === undefined ? {} : { error }),
    };
    this.#lastPass = pass;
    this.report(pass);
    return pass;
  }

  /** The kinds to prune, as batch functions that add what they removed to `removed`. */
  private kinds(
    removed: RetentionRemoved,
    parkedByConnector: Record<string, number>,
  ): (() => Promise<Step>)[] {
    const { syncLogDays, eventLogDays, eventLogMaxRows, parkedDays, intakeSequenceDays } = this.#limits;
    const kinds: (() => Promise<Step>)[] = [];
    if (syncLogDays !== null) {
      kinds.push(async () => {
        const batch = await this.store.pruneSyncLog(syncLogDays, this.#syncLogCursor, RETENTION_BATCH_SIZE);
        if (batch.locked) this.#syncLogCursor = batch.next ?? '0';
        removed.syncLog += batch.deleted;
        return { ...batch, over: batch.next === null };
      });
    }
    if (eventLogDays !== null || eventLogMaxRows !== null) {
      // The count cap is read once per pass; entries logged during the pass count in the next one.
      let upToId: string | null | undefined;
      let cursor = '0';
      kinds.push(async () => {
        upToId ??= eventLogMaxRows === null ? null : await this.store.eventLogCapId(eventLogMaxRows);
        const batch = await this.store.pruneEventLog(
          { days: eventLogDays, upToId },
          cursor,
          RETENTION_BATCH_SIZE,
        );
        cursor = batch.next ?? '0';
        removed.eventLog += batch.deleted;
        return { ...batch, over: batch.next === null };
      });
    }
    kinds.push(async () => {
      const batch = await this.store.pruneIdempotencyKeys(
        this.options.idempotencyWindowMs,
        RETENTION_BATCH_SIZE,
      );
      removed.idempotencyKeys += batch.deleted;
      return { ...batch, over: batch.deleted < RETENTION_BATCH_SIZE };
    });
    if (parkedDays !== null) {
      kinds.push(async () => {
        const batch = await this.store.pruneParked(parkedDays, PARKED_BATCH_SIZE);
        removed.parkedSynchronizations += batch.deleted;
        removed.parkedTasks += batch.tasksDeleted;
        for (const [name, count] of Object.entries(batch.byConnector)) {
          parkedByConnector[name] = (parkedByConnector[name] ?? 0) + count;
        }
        return { ...batch, over: batch.deleted < PARKED_BATCH_SIZE };
      });
    }
    if (intakeSequenceDays !== null) {
      kinds.push(async () => {
        const batch = await this.store.pruneIntakeSequences(
          intakeSequenceDays,
          this.#intakeSequenceCursor,
          RETENTION_BATCH_SIZE,
        );
        if (batch.locked) this.#intakeSequenceCursor = batch.next;
        removed.intakeSequences += batch.deleted;
        return { ...batch, over: batch.next === null };
      });
    }
    return kinds;
  }

  /** Runs one kind's batches until it is done, has had its share, or another instance holds the lock. */
  private async runKind(step: () => Promise<Step>, counter: { batches: number }): Promise<KindOutcome> {
    for (let i = 0; i < MAX_BATCHES_PER_KIND; i++) {
      if (this.#stopping && i > 0) return 'more';
      const batch = await step();
      counter.batches++;
      if (!batch.locked) return 'skipped';
      if (batch.over) return 'done';
    }
    return 'more';
  }

  /**
   * Parked tasks removed are tasks never delivered: the event log says so once per pass, with the
   * connectors they were parked for. A failure to write it is logged, not thrown: they are gone.
   */
  private async logParked(removed: RetentionRemoved, byConnector: Record<string, number>): Promise<void> {
    if (removed.parkedSynchronizations === 0) return;
    const names = Object.keys(byConnector).sort();
    const detail = names.map((name) => `${name}: ${byConnector[name]}`).join(', ');
    try {
      await this.eventLog.write({
        level: 'warning',
        source: BUS_EVENT_SOURCE,
        eventCode: BusEventCodes.ParkedPruned,
        message:
          `Retention removed ${removed.parkedSynchronizations} parked synchronization(s) whose last attempt was ` +
          `more than ${this.#limits.parkedDays} day(s) ago (${detail}), and ${removed.parkedTasks} task(s) ` +
          'no connector was left queued for. They were never delivered.',
        connectorName: names.length === 1 ? names[0] : null,
      });
    } catch (error) {
      this.#logger.warn(`Could not write the retention's event-log entry: ${describeError(error)}`);
    }
  }

  private report(pass: RetentionPass): void {
    const counts = Object.entries(pass.removed)
      .filter(([, n]) => n > 0)
      .map(([kind, n]) => `${n} ${kind}`);
    const took = pass.finishedAt.getTime() - pass.startedAt.getTime();
    if (pass.outcome === 'failed') {
      this.#logger.warn(`Retention pass failed after ${pass.batches} batch(es): ${pass.error ?? ''}`);
    } else if (pass.outcome === 'skipped') {
      this.#logger.debug('Retention pass skipped: another instance is pruning.');
    } else if (counts.length > 0) {
      this.#logger.log(
        `Retention removed ${counts.join(', ')} in ${pass.batches} batch(es), ${took} ms` +
          (pass.outcome === 'more' ? '; the next pass goes on.' : '.'),
      );
    } else {
      this.#logger.debug(`Retention pass: nothing to remove (${took} ms).`);
    }
  }
}
