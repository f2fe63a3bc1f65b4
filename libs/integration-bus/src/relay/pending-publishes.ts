import { performance } from 'node:perf_hooks';

/** A publish waiting for the broker's answer. */
export interface PendingPublish {
  resolve(): void;
  reject(error: Error): void;
  /** `performance.now()` past which it has timed out. */
  readonly deadline: number;
  /** What the publisher keeps beside it (a NATS subject, for its error). */
  readonly about: string;
}

/**
 * The publishes of one broker session that wait for the broker's answer, each failed once the
 * timeout has passed without it. One timer serves them all, rather than a timer (and its clearing)
 * per message: all share one timeout, so they expire in the order they were added, and the timer
 * only ever watches the oldest.
 */
export class PendingPublishes<K> {
  readonly #entries = new Map<K, PendingPublish>();
  readonly #timeoutMs: number;
  readonly #timeoutMessage: string;
  readonly #onTimeout: (() => void) | undefined;
  #timer: NodeJS.Timeout | null = null;

  /**
   * @param timeoutMs how long each publish may wait
   * @param timeoutMessage the message of a timed-out publish's Error
   * @param onTimeout called once after publishes have timed out (and been rejected), e.g. to drop a
   *   channel whose state is unknown
   */
  constructor(timeoutMs: number, timeoutMessage: string, onTimeout?: () => void) {
    this.#timeoutMs = timeoutMs;
    this.#timeoutMessage = timeoutMessage;
    this.#onTimeout = onTimeout;
  }

  /** Waits for the answer to the publish `key` (new: keys are not reused while pending). */
  add(key: K, resolve: () => void, reject: (error: Error) => void, about = ''): void {
    this.#entries.set(key, { resolve, reject, deadline: performance.now() + this.#timeoutMs, about });
    this.#timer ??= setTimeout(() => this.#expire(), this.#timeoutMs);
  }

  /** Takes the publish `key` out, to settle it; undefined when it has timed out or failed already. */
  take(key: K): PendingPublish | undefined {
    const pending = this.#entries.get(key);
    if (pending !== undefined) this.#entries.delete(key);
    return pending;
  }

  /** Rejects every publish still waiting. */
  failAll(error: Error): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const pending = [...this.#entries.values()];
    this.#entries.clear();
    for (const { reject } of pending) reject(error);
  }

  /** Rejects the publishes past their deadline, then waits for the oldest one left. */
  #expire(): void {
    this.#timer = null;
    const now = performance.now();
    let expired = false;
    for (const [key, pending] of this.#entries) {
      if (pending.deadline > now) {
        this.#timer = setTimeout(() => this.#expire(), Math.max(1, Math.ceil(pending.deadline - now)));
        break;
      }
      this.#entries.delete(key);
      expired = true;
      pending.reject(new Error(this.#timeoutMessage));
    }
    if (expired) this.#onTimeout?.();
  }
}
