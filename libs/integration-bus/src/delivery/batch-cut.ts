import type { QueuedSynchronization } from '../persistence/queue.store.js';
import { objectKeyOf } from '../persistence/queue-rules.js';

/**
 * The next batch a batch connector is handed (R-EXT-1), from the rows a drain read, head first.
 *
 * A batch is a prefix of the connector's queue (of the partition's, with `ordering: 'object'`): the
 * rows from `start` on, in task order, all for the same handler, at most `maxSize`, and cut before
 * the second change of any object. So it holds at most one change per object, and per-object order
 * (R-DEL-1) holds whatever outcome each task gets: an object's next change is only handed over in a
 * later call, after this one's outcome is known and, if that outcome holds the object, not at all in
 * this run. Rows of objects already held back in this run (`held`) are passed over, as in the
 * one-task drain: they are not part of the batch and do not cut it; so are rows a later change of
 * their object supersedes (`superseded`, by sync id, R-EXT-3), which the drain writes without a call.
 *
 * The object key is the one the partitions hash (`objectKeySql`): object type and key, or the
 * document node, or the title.
 *
 * A call still in flight (`inFlight`, its `objects`; a pipelined connector's, see `OutgoingDrain`)
 * cuts the batch the same way: it stops before the first row of an object the call holds, whose
 * outcome is not known yet. `blocked` says the batch stopped there.
 */
export function nextBatch(
  rows: readonly QueuedSynchronization[],
  start: number,
  maxSize: number,
  held: ReadonlySet<string>,
  superseded: ReadonlyMap<string, unknown> = new Map(),
  inFlight: ReadonlySet<string> = NOTHING_IN_FLIGHT,
): BatchCut {
  const batch: QueuedSynchronization[] = [];
  const objects = new Set<string>();
  let next = start;
  let blocked = false;
  for (; next < rows.length && batch.length < maxSize; next++) {
    const row = rows[next]!;
    if (row.objectHash !== null && held.has(row.objectHash)) continue;
    if (superseded.has(row.syncId)) continue;
    if (batch.length > 0 && row.handler !== batch[0]!.handler) break;
    const key = objectKeyOf(row);
    if (objects.has(key)) break;
    if (inFlight.has(key)) {
      blocked = true;
      break;
    }
    objects.add(key);
    batch.push(row);
  }
  return { batch, next, objects, blocked };
}

/** A batch cut by `nextBatch`. */
export interface BatchCut {
  /** Its rows, in queue order. */
  batch: QueuedSynchronization[];
  /** Where the cut after this one starts. */
  next: number;
  /** The object keys of `batch`. */
  objects: ReadonlySet<string>;
  /** Whether it stopped before an object of the call in flight. */
  blocked: boolean;
}

const NOTHING_IN_FLIGHT: ReadonlySet<string> = new Set();
