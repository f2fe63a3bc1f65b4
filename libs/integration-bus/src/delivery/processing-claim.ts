import type { LeaseToken } from '../persistence/lease.store.js';

const PAUSED = 'its lease may have run out while this process was paused or could not renew it';

/**
 * A processing lease while a run holds it (R-DEL-2). Two guards, because either alone is not enough:
 * every write of the run's outcome carries `token` and is refused by the database once another
 * instance has claimed the lease (a new epoch); and before each connector call the run asks
 * `held()`, and each handler's `task.fence()` asks again right before its external write: both turn
 * false by this process's own monotonic clock when the lease may have run out — after a GC pause, a
 * frozen VM or SIGSTOP, the process cannot know whether it was taken over, so it stops calling
 * connectors at once instead of delivering beside its successor. `signal` is aborted at that moment
 * too (a timer), so a call in flight learns it without asking.
 *
 * Why the successor cannot overtake a fenced write: the claim is valid until `validUntil`, counted
 * from the moment the (re)claim was *sent*, and a safety margin short of the lease's length
 * (`ConnectorLease`); the database ends the lease `leaseMs` after it *received* the statement, and no
 * other instance can claim it before then. So between the last moment `held()` can answer true here
 * and the successor's first call lies at least the margin: a write that leaves this process within it
 * after a passing fence lands first. One delayed longer (a pause between the fence and the write)
 * can land late; `task.sequence` is what lets the external system refuse it.
 */
export class ProcessingClaim {
  readonly #controller = new AbortController();
  #validUntil: number;
  #lostReason: string | null = null;
  #released = false;
  /** Aborts `signal` when the validity passes, without waiting for someone to ask. */
  #expiry: NodeJS.Timeout | undefined;

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
    this.#armExpiry();
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
    this.#armExpiry();
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
    clearTimeout(this.#expiry);
    this.#lostReason = reason;
    this.#controller.abort(new Error(reason));
  }

  #armExpiry(): void {
    clearTimeout(this.#expiry);
    // `lostReason` re-reads the clock: a timer that fires early or late decides nothing by itself.
    const check = (): void => {
      if (this.lostReason === null) this.#expiry = setTimeout(check, remaining(this.#validUntil));
      this.#expiry?.unref();
    };
    this.#expiry = setTimeout(check, remaining(this.#validUntil));
    this.#expiry.unref();
  }
}

/** Milliseconds until `at` (`performance.now()` scale), at least one. */
function remaining(at: number): number {
  return Math.max(1, Math.ceil(at - performance.now()));
}
