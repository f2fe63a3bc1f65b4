/**
 * A broker session opened on first use and opened again once it is no longer usable (closed for
 * good, lost): what each relay holds. A failed opening is forgotten, so that the next call (the
 * bus's next attempt) tries again instead of getting the old failure.
 */
export class ReopeningSession<S> {
  #current: Promise<S> | null = null;
  /** The session `#current` resolved to, for `ready` (no promise, no tick per message). */
  #opened: S | null = null;

  /**
   * @param open opens a session
   * @param usable whether an opened session can still be used
   * @param dispose closes a session no longer wanted
   */
  constructor(
    private readonly open: () => Promise<S>,
    private readonly usable: (session: S) => boolean,
    private readonly dispose: (session: S) => Promise<void>,
  ) {}

  /**
   * The open session when it is usable, without waiting: what a publish takes on the hot path
   * before falling back to `get` (each `await` costs a tick per message).
   */
  ready(): S | null {
    const session = this.#opened;
    return session !== null && this.usable(session) ? session : null;
  }

  /** The usable session, opened if needed. */
  async get(): Promise<S> {
    const current = this.#current;
    if (current) {
      const session = await current.catch(() => null);
      if (session !== null && this.usable(session)) return session;
      if (this.#current === current) {
        this.#current = null;
        this.#opened = null;
      }
      // A channel lost while its connection lives on: close what is left of it.
      if (session !== null) void this.dispose(session).catch(() => undefined);
    }
    if (this.#current === null) {
      const opening: Promise<S> = this.open().then((session) => {
        // Not when closed (or replaced) meanwhile: `close` disposes of it.
        if (this.#current === opening) this.#opened = session;
        return session;
      });
      this.#current = opening;
    }
    const opening = this.#current;
    return opening.catch((error: unknown) => {
      if (this.#current === opening) this.#current = null;
      throw error;
    });
  }

  /** Closes the session, if one is open; the next `get` opens a new one. */
  async close(): Promise<void> {
    const current = this.#current;
    this.#current = null;
    this.#opened = null;
    const session = await current?.catch(() => null);
    if (session !== null && session !== undefined) await this.dispose(session);
  }
}
