import { InvalidOptionsError } from '../errors/invalid-options.error.js';

/** Largest `batchSize` a consumer takes: a batch is one transaction and one JSON parameter per statement. */
export const MAX_CONSUMER_BATCH_SIZE = 1_000;

/**
 * A consumer's `batchSize` by default: per batch the intake runs a handful of statements whose
 * cost (planning, round trips, the commit) is spread over the batch; 500 measured about 1.5× the
 * throughput of 100 (bench `relay`, issue 21).
 */
export const DEFAULT_CONSUMER_BATCH_SIZE = 500;

/** How a consumer cuts its messages into batches (`BrokerTaskConsumerOptions`). */
export interface ConsumerBatching {
  batchSize: number;
  maxBatchWaitMs: number;
}

/**
 * Checks and defaults a consumer's `batchSize` (1 to 1,000, default 500) and `maxBatchWaitMs`
 * (0 to 60,000, default 10).
 * @throws InvalidOptionsError naming the option at fault
 */
export function consumerBatching(options: { batchSize?: number; maxBatchWaitMs?: number }): ConsumerBatching {
  const { batchSize = DEFAULT_CONSUMER_BATCH_SIZE, maxBatchWaitMs = 10 } = options;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > MAX_CONSUMER_BATCH_SIZE) {
    throw new InvalidOptionsError(
      `Consumer option batchSize must be an integer from 1 to ${MAX_CONSUMER_BATCH_SIZE}; got ${JSON.stringify(batchSize)}.`,
    );
  }
  if (!Number.isFinite(maxBatchWaitMs) || maxBatchWaitMs < 0 || maxBatchWaitMs > 60_000) {
    throw new InvalidOptionsError(
      `Consumer option maxBatchWaitMs must be a number of milliseconds from 0 to 60000; got ${JSON.stringify(maxBatchWaitMs)}.`,
    );
  }
  return { batchSize, maxBatchWaitMs };
}

/**
 * Messages as the broker hands them over, taken in batches: `next` waits for a first message, then
 * up to `maxBatchWaitMs` for the batch to fill, and returns at most `batchSize` messages in the
 * order they came. What is buffered is bounded by the broker (prefetch, max ack pending), not here.
 */
export class MessageBatches<T> {
  #items: T[] = [];
  #closed = false;
  /** Wakes the waiting `next` once this many messages are buffered (or at close). */
  #want = Infinity;
  #wake: (() => void) | null = null;

  constructor(private readonly batching: ConsumerBatching) {}

  /** A message arrived. */
  push(item: T): void {
    if (this.#closed) return;
    this.#items.push(item);
    if (this.#items.length >= this.#want) this.#notify();
  }

  /**
   * No more messages: a waiting `next` returns null.
   * @returns the messages buffered and not taken, for the caller to give back to the broker
   */
  close(): T[] {
    this.#closed = true;
    this.#notify();
    return this.#items.splice(0);
  }

  /** The next batch, in order; null once closed. */
  async next(): Promise<T[] | null> {
    const { batchSize, maxBatchWaitMs } = this.batching;
    if (this.#items.length === 0) await this.#until(1);
    if (this.#items.length < batchSize && maxBatchWaitMs > 0) await this.#until(batchSize, maxBatchWaitMs);
    if (this.#closed) return null;
    return this.#items.splice(0, batchSize);
  }

  #until(count: number, timeoutMs?: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = timeoutMs === undefined ? null : setTimeout(() => this.#notify(), timeoutMs);
      this.#want = count;
      this.#wake = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    this.#want = Infinity;
    wake?.();
  }
}
