import type { LeaseToken } from '../persistence/lease.store.js';

const PAUSED = 'its lease may have run out while this process was paused or could not renew it';

/**
 * A processing lease while a run holds it (R-DEL-2). Two guards, because either alone is not enough:
 * every write of the run's outcome carries `token` and is refused by the database once another
 * instance has claimed the lease (a new epoch); and before each connector call the run asks
 * `held()`, which turns false by this process's own clock when the lease may have run out — after
 * a GC pause, a frozen VM or SIGSTOP, the process cannot know whether it was taken over, so it stops
 * calling connectors at once instead of delivering beside its successor.
 */
export class ProcessingClaim {
  readonly #controller = new AbortController();
  #validUntil: number;
  #lostReason: string | null = null;
  #released = false;

  /**
   * @param token what fenced writes check
   * @param claimedAt the database's clock at the claim (ISO 8601): what "due" means for this run
   * @param validUntil `performance.now()` after which the lease may have run out
   */
  constructor(
    readonly token: LeaseToken,
    readonly claimedAt: string,
    validUntil: number,
  ) {
    this.#validUntil = validUntil;
  }

  /** Aborted when the claim is known to be lost; a run awaiting a connector stops waiting. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Why the claim is gone, or null while it holds. */
  get lostReason(): string | null {
    if (this.#lostReason === null && performance.now() >= this.#validUntil) {
      this.lose(PAUSED);
    }
    return this.#lostReason;
  }

  /** Whether the run may still call a connector. */
  held(): boolean {
    return this.lostReason === null;
  }

  /**
   * A renewal sent at `sentAt` succeeded: valid until `until` (`performance.now()` scale). A renewal
   * sent only after the claim's validity had passed does not revive it: this process may have been
   * paused meanwhile, and a run that may have stopped must not go on as if it had not.
   */
  extend(sentAt: number, until: number): void {
    if (this.#lostReason !== null) return;
    if (sentAt >= this.#validUntil) {
      this.lose(PAUSED);
      return;
    }
    this.#validUntil = Math.max(this.#validUntil, until);
  }

  /** Whether the run's last write gave the lease back already (nothing left to release). */
  get released(): boolean {
    return this.#released;
  }

  /** The run's last write released the lease: the claim ends here. */
  markReleased(): void {
    this.#released = true;
    this.lose('the run released its lease');
  }

  /** The claim is gone: no more calls, no more writes. */
  lose(reason: string): void {
    if (this.#lostReason !== null) return;
    this.#lostReason = reason;
    this.#controller.abort(new Error(reason));
  }
}
