/**
 * The task id below which a drain needs not look any more (see `QueueStore.fetchOutgoing`).
 *
 * Every task id is allocated by a transaction that already has a transaction id (`ChangeLogStore.insert`
 * takes one first), and ids are allocated in increasing order. Say a read with snapshot
 * `xmin:xmax` returned the lowest queued tasks above the floor, and the run processed them up to
 * task `L`. A task below `L` that the read did not see belongs to a transaction that was open at
 * the read, so with an id below that read's `xmax`. Once a later read's `xmin` has passed that
 * `xmax`, every such transaction has ended and that later read saw what they committed; once the run
 * has processed that later read up to its own last task `M`, nothing can appear below `min(L, M)`
 * any more, and reads may start there. When no transaction was open at a read (`xmin = xmax`), the
 * floor follows the run exactly; a transaction left open holds it back — more index entries to walk,
 * never a task skipped.
 *
 * A floor lives for one run: tasks a run leaves behind (skipped, retrying) come due in later runs,
 * which start from the head of the queue.
 */
export class DrainFloor {
  #value = 0n;
  readonly #pending: { lastTaskId: bigint; xmax: bigint }[] = [];

  /** Task id after which the next read starts. */
  get value(): string {
    return String(this.#value);
  }

  /**
   * The run processed the tasks it read with `snapshot` up to `lastTaskId`, and will not read any
   * of them again in this run.
   */
  processed(lastTaskId: string, snapshot: string | undefined): void {
    const parsed = parseSnapshot(snapshot);
    if (!parsed) return;
    const last = BigInt(lastTaskId);
    this.#pending.push({ lastTaskId: last, xmax: parsed.xmax });
    while (this.#pending.length > 0 && this.#pending[0]!.xmax <= parsed.xmin) {
      const settled = this.#pending.shift()!.lastTaskId;
      const floor = settled < last ? settled : last;
      if (floor > this.#value) this.#value = floor;
    }
  }
}

function parseSnapshot(snapshot: string | undefined): { xmin: bigint; xmax: bigint } | undefined {
  const [xmin, xmax] = snapshot?.split(':') ?? [];
  if (!xmin || !xmax) return undefined;
  return { xmin: BigInt(xmin), xmax: BigInt(xmax) };
}
