/**
 * A value read from the database and kept for `ttlMs`, so that hot paths (every flush, every batch)
 * do not query it each time while changes made by other instances still show within `ttlMs`.
 * Concurrent readers of a stale value share one load.
 */
export class RefreshingValue<T> {
  #value: T | undefined;
  #loadedAt = 0;
  #loading: Promise<T> | undefined;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly ttlMs: number,
  ) {}

  /** The value, loaded again when older than `ttlMs`; while a load is under way, what it loads. */
  async get(): Promise<T> {
    // A load under way was asked for because the value may have changed (`refresh`): the cached one
    // is not given out meanwhile.
    if (this.#loading) return this.#loading;
    if (this.#value !== undefined && Date.now() - this.#loadedAt < this.ttlMs) return this.#value;
    return this.refresh();
  }

  /** Loads now, whatever the age of the cached value. */
  refresh(): Promise<T> {
    this.#loading ??= this.load()
      .then((value) => {
        this.#value = value;
        this.#loadedAt = Date.now();
        return value;
      })
      .finally(() => {
        this.#loading = undefined;
      });
    return this.#loading;
  }

  /** Replaces the cached value after a local change. */
  set(value: T): void {
    this.#value = value;
    this.#loadedAt = Date.now();
  }
}
