/**
 * A counting semaphore whose limit is read at each acquisition: how many partitions of a connector
 * this instance runs at once, which follows the number of live instances (R-ORD-2, R-ORD-3).
 * Waiters are served first come, first served.
 */
export class Slots {
  #busy = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(private readonly limit: () => number) {}

  /** Slots in use now. */
  get busy(): number {
    return this.#busy;
  }

  /** Whether more slots are in use than the limit allows now (the limit went down). */
  get over(): boolean {
    return this.#busy > this.limit();
  }

  /** Whether work waits for a slot. */
  get contended(): boolean {
    return this.#waiting.length > 0;
  }

  /** Runs `work` in a slot, waiting for one if all are taken. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#busy >= this.limit() || this.#waiting.length > 0) {
      // The slot is counted by whoever hands it over (`#admit`), so none is handed out twice.
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#busy += 1;
    }
    try {
      return await work();
    } finally {
      this.#busy -= 1;
      this.#admit();
    }
  }

  #admit(): void {
    while (this.#waiting.length > 0 && this.#busy < this.limit()) {
      this.#busy += 1;
      this.#waiting.shift()!();
    }
  }
}
