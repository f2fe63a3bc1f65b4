/**
 * Runs work for one connector strictly one piece at a time, and coalesces run triggers: a trigger
 * while a run is waiting to start shares that run instead of queueing another. Commits, the sweep
 * and the API all start a connector's processing through this, so it never runs twice at once in
 * one process (the lease covers other processes).
 */
export class SerialRunner<T> {
  #tail: Promise<unknown> = Promise.resolve();
  #waitingRun: Promise<T> | undefined;
  /** Work queued or running. */
  #pending = 0;

  constructor(private readonly run: () => Promise<T>) {}

  /** Runs `work` after everything queued before it. */
  exclusive<R>(work: () => Promise<R>): Promise<R> {
    this.#pending += 1;
    const result = this.#tail.then(work, work);
    this.#tail = result
      .catch(() => undefined)
      .then(() => {
        this.#pending -= 1;
      });
    return result;
  }

  /** Whether work is queued or running. */
  get busy(): boolean {
    return this.#pending > 0;
  }

  /** Queues a run unless one is already waiting to start; resolves with that run's result. */
  trigger(): Promise<T> {
    if (this.#waitingRun) return this.#waitingRun;
    const run = this.exclusive(() => {
      this.#waitingRun = undefined;
      return this.run();
    });
    this.#waitingRun = run;
    return run;
  }

  /** Resolves once everything queued so far is done. */
  async idle(): Promise<void> {
    let tail: Promise<unknown>;
    do {
      tail = this.#tail;
      await tail;
    } while (tail !== this.#tail);
  }
}
