import { Injectable } from '@nestjs/common';
import { TaskDataType } from '../enums/task-data-type.enum.js';
import type { OutgoingQueue, QueuedSynchronization, QueueStore } from '../persistence/queue.store.js';
import { objectKeyOf } from '../persistence/queue-rules.js';

/** Whether a task carries its whole object, so that a later one of the same object replaces it. */
function carriesWholeObject(row: QueuedSynchronization): boolean {
  return row.dataType === TaskDataType.SimpleSnapshot || row.dataType === TaskDataType.Snapshot;
}

/**
 * Coalescing for one run of a connector with `coalesce: 'latest'` (R-EXT-3): which rows of a read
 * a later queued change of the same object supersedes.
 *
 * The rule that keeps the latest: a row is superseded only by a task with a higher id, of the same
 * object, queued for the same connector (parked ones excepted) and seen by a committed read. That
 * task is still queued when the superseded row is deleted: only the run holding this queue's lease
 * delivers it (an object's changes all fall in one partition), and it does so later, in task
 * order. So the latest state is never lost and never overtaken: no older version is delivered after
 * it, since older ones are either delivered before it (a run that had not yet seen it) or deleted.
 *
 * Why the database's later tasks need no drain floor (`DrainFloor`): one object's changes are logged
 * one transaction after another under the object's lock (`ChangeLogStore.insert`), so an object's
 * task can only be committed after all its earlier ones are. A task not yet visible can only make
 * a row superseded that this read thought the latest; that row is then delivered, as without
 * coalescing. Nothing is superseded by a task the read did not see.
 *
 * Cost: the queue is read once per run (object keys and ids, grouped in the database, only objects
 * with several changes kept), then only what was logged after that read, when a batch reaches past
 * it. Memory: one entry per object with several queued changes.
 */
export class LatestChanges {
  /** Object key → its latest queued task id as the reads saw it. */
  readonly #latest = new Map<string, bigint>();
  /** The highest task id the reads covered; null before the first. */
  #horizon: bigint | null = null;

  constructor(
    private readonly queue: QueueStore,
    private readonly scope: OutgoingQueue,
  ) {}

  /** The rows of `rows` that a later queued change supersedes: sync id → that change's task id. */
  async superseded(rows: readonly QueuedSynchronization[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const candidates = rows.filter(carriesWholeObject);
    if (candidates.length === 0) return found;
    const top = candidates.reduce((max, row) => (BigInt(row.taskId) > max ? BigInt(row.taskId) : max), 0n);
    if (this.#horizon === null || top > this.#horizon) await this.#read();
    for (const row of candidates) {
      const key = objectKeyOf(row);
      const latest = this.#latest.get(key);
      if (latest === undefined) continue;
      const taskId = BigInt(row.taskId);
      if (latest > taskId) found.set(row.syncId, String(latest));
      else this.#latest.delete(key); // the latest itself: nothing of this object is left to supersede
    }
    return found;
  }

  /** Reads what was queued after the horizon (the whole queue the first time). */
  async #read(): Promise<void> {
    const first = this.#horizon === null;
    const { latest, horizon } = await this.queue.latestQueued(
      this.scope,
      String(this.#horizon ?? 0n),
      first ? 2 : 1,
    );
    for (const [key, taskId] of latest) {
      const id = BigInt(taskId);
      if (id > (this.#latest.get(key) ?? 0n)) this.#latest.set(key, id);
    }
    if (horizon !== null && (this.#horizon === null || BigInt(horizon) > this.#horizon)) {
      this.#horizon = BigInt(horizon);
    } else if (this.#horizon === null) {
      this.#horizon = 0n;
    }
  }
}

/** Told how many tasks a connector's runs superseded (see `SupersededTasks`). */
export type SupersededListener = (connector: string, count: number) => void;

/**
 * Where the runs report the tasks they superseded (R-EXT-3) once the write committed: the metrics
 * count them (`integration_bus_tasks_superseded_total`). A listener that throws is ignored.
 */
@Injectable()
export class SupersededTasks {
  #listeners: readonly SupersededListener[] = [];

  /** Adds a listener; returns the function that removes it. */
  watch(listener: SupersededListener): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /** `count` tasks of `connector` were superseded. */
  add(connector: string, count: number): void {
    if (count === 0) return;
    for (const listener of this.#listeners) {
      try {
        listener(connector, count);
      } catch {
        // Counting must never change delivery.
      }
    }
  }
}
