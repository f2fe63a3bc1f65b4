import { Logger } from '@nestjs/common';
import { describeError } from '../events/integration-event-publisher.js';
import type { IntegrationTaskInfo } from '../events/integration-task-event.js';
import {
  checkExternalTaskOptions,
  type CheckedExternalTaskOptions,
  type ExternalTaskLogger,
  type ExternalTaskOptions,
  type ExternalTaskOutcome,
  type IntakeTarget,
  type PreparedExternalTask,
} from './external-task-logger.js';

/** A promise and what settles it. */
interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Awaited by each item; a batch-wide failure must not also surface as unhandled.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** What the batch learns once every item has arrived: the connector, and the keys already logged. */
interface Opened {
  target: IntakeTarget;
  logged: Map<string, IntegrationTaskInfo>;
  /** Per key, the position of its first item in the batch: a later one repeats it. */
  firstOfKey: Map<string, number>;
}

/** Each position of the batch: its key once it arrived, its prepared task once staged, its outcome. */
interface Slot {
  arrived: boolean;
  key: string | null;
  staged: boolean;
  prepared: PreparedExternalTask | null;
  settled: Deferred<ExternalTaskOutcome>;
}

/**
 * Logs the incoming tasks of a known number of items (a broker consumer's batch of messages) in one
 * transaction, each item's outcome as `processExternalTaskWithOutcome` would give it (R-ECO-3).
 * Each item calls `add` (or `withdraw` when it will not: its message could not be read), in its own
 * async context, so that its task's create span lands in its message's trace (R-ECO-4); the batch
 * then:
 * 1. once every item arrived, checks the connector once and looks up the items' idempotency keys
 *    in one query: an item whose key is live answers the task logged with it, before the connector
 *    or a listener sees it; a later item with the same key as an earlier one of the batch waits for
 *    that one and repeats its outcome (a duplicate of its task);
 * 2. prepares each remaining item (its connector's `prepareInternalObject`, the
 *    `LogExternalTask.Before` listeners): an item that throws fails alone;
 * 3. once every item is prepared or done, and the batch it comes `after` is over, logs the prepared ones in one transaction
 *    (`ExternalTaskLogger.commitMany`), in the order of their positions, which is then the intake
 *    order per object. Should that transaction fail, each item is logged in a transaction of its
 *    own, in order, so that one item the database refuses fails alone and the others are logged;
 * 4. after the commit, runs the `LogExternalTask.After` listeners of each logged task.
 *
 * `add` resolves only once the item's task committed: what its message may then be acknowledged on.
 * Obtain one with `IntegrationBus.externalTaskBatch`.
 */
export class ExternalTaskBatch {
  readonly #logger = new Logger('IntegrationBus');
  readonly #slots: Slot[];
  #arrived = 0;
  #staged = 0;
  readonly #opened = deferred<Opened>();
  readonly #committed = deferred<Map<number, ExternalTaskOutcome | { error: unknown }>>();

  /** @internal Use `IntegrationBus.externalTaskBatch`. */
  constructor(
    private readonly intake: ExternalTaskLogger,
    /** The connector the tasks are logged for. */
    readonly connectorName: string,
    /** How many items the batch waits for. */
    readonly size: number,
    /**
     * What this batch's transaction waits for: the batch before it, when batches are prepared
     * while the one before commits. Its tasks then take their ids after that batch's, so the
     * intake order per object stays the order of the batches.
     */
    private readonly after: Promise<unknown> = Promise.resolve(),
  ) {
    this.#slots = Array.from({ length: size }, () => ({
      arrived: false,
      key: null,
      staged: false,
      prepared: null,
      settled: deferred<ExternalTaskOutcome>(),
    }));
  }

  /** Settles once this batch's transaction is over (committed, or failed and retried one by one). */
  get done(): Promise<void> {
    return this.#committed.promise.then(
      () => undefined,
      () => undefined,
    );
  }

  /**
   * Adds the item at `position` (0 to `size - 1`, the order of intake) and resolves with its outcome
   * once its task committed.
   * @throws as `processExternalTaskWithOutcome`, for this item alone or (connector missing or
   *   disabled, database down) for the whole batch
   */
  async add(position: number, obj: unknown, options: ExternalTaskOptions): Promise<ExternalTaskOutcome> {
    const slot = this.#slot(position);
    try {
      const outcome = await this.#run(position, obj, options);
      slot.settled.resolve(outcome);
      return outcome;
    } catch (error) {
      slot.settled.reject(error);
      throw error;
    } finally {
      this.#arrive(position, null);
      this.#stage(position, null);
    }
  }

  /** The item at `position` will not be added (its message could not be read). */
  withdraw(position: number): void {
    const slot = this.#slot(position);
    if (!slot.arrived) slot.settled.reject(new Error('withdrawn'));
    this.#arrive(position, null);
    this.#stage(position, null);
  }

  async #run(position: number, obj: unknown, options: ExternalTaskOptions): Promise<ExternalTaskOutcome> {
    let checked: CheckedExternalTaskOptions;
    try {
      checked = checkExternalTaskOptions(options);
    } catch (error) {
      this.#arrive(position, null); // the others do not wait for an item whose options are wrong
      throw error;
    }
    this.#arrive(position, checked.key);
    const { target, logged, firstOfKey } = await this.#opened.promise;
    if (!target.logging) return { task: null, reason: 'loggingOff' };
    const key = checked.key;
    if (key !== null) {
      const known = logged.get(key);
      if (known) return { task: known, duplicate: true };
      const first = firstOfKey.get(key)!;
      if (first !== position) {
        this.#stage(position, null);
        // The same key earlier in the batch (a message published twice): what that one came to.
        const earlier = await this.#slots[first]!.settled.promise;
        return earlier.task ? { task: earlier.task, duplicate: true } : earlier;
      }
    }
    const prepared = await this.intake.prepare(target, obj, checked);
    if (!('entity' in prepared)) return prepared;
    this.#stage(position, prepared);
    const result = (await this.#committed.promise).get(position)!;
    if ('error' in result) throw result.error;
    if (result.task && !result.duplicate) await this.intake.announce(prepared);
    return result;
  }

  #slot(position: number): Slot {
    const slot = this.#slots[position];
    if (!slot) throw new RangeError(`No position ${position} in a batch of ${this.size}.`);
    return slot;
  }

  /** Counts the item as arrived (once); the last one opens the batch. */
  #arrive(position: number, key: string | null): void {
    const slot = this.#slots[position]!;
    if (slot.arrived) return;
    slot.arrived = true;
    slot.key = key;
    if (++this.#arrived === this.size) void this.#open();
  }

  /** Counts the item as staged (once), with its prepared task or none; the last one commits. */
  #stage(position: number, prepared: PreparedExternalTask | null): void {
    const slot = this.#slots[position]!;
    if (slot.staged) return;
    slot.staged = true;
    slot.prepared = prepared;
    if (++this.#staged === this.size) void this.#commit();
  }

  async #open(): Promise<void> {
    try {
      const target = await this.intake.target(this.connectorName);
      const firstOfKey = new Map<string, number>();
      for (const [position, slot] of this.#slots.entries()) {
        if (slot.key !== null && !firstOfKey.has(slot.key)) firstOfKey.set(slot.key, position);
      }
      const logged =
        target.logging && firstOfKey.size > 0
          ? await this.intake.findLogged(target.connectorId, [...firstOfKey.keys()])
          : new Map<string, IntegrationTaskInfo>();
      this.#opened.resolve({ target, logged, firstOfKey });
    } catch (error) {
      this.#opened.reject(error);
    }
  }

  async #commit(): Promise<void> {
    await this.after.catch(() => undefined);
    const positions = this.#slots.flatMap((slot, position) => (slot.prepared ? [position] : []));
    const results = new Map<number, ExternalTaskOutcome | { error: unknown }>();
    if (positions.length > 0) {
      const batch = positions.map((position) => this.#slots[position]!.prepared!);
      try {
        const outcomes = await this.intake.commitMany(batch);
        for (const [n, position] of positions.entries()) results.set(position, outcomes[n]!);
      } catch (error) {
        // One item the database refuses must not hold back the others: each alone, in order.
        this.#logger.warn(
          `A batch of ${batch.length} incoming tasks for ${this.connectorName} failed (${describeError(error)}): ` +
            'logging them one by one',
        );
        for (const [n, position] of positions.entries()) {
          try {
            results.set(position, await this.intake.commitOne(batch[n]!));
          } catch (alone) {
            results.set(position, { error: alone });
          }
        }
      }
    }
    this.#committed.resolve(results);
  }
}
