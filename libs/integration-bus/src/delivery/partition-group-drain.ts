import { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import type { FlowControlStore } from '../persistence/flow-control.store.js';
import type { GroupDone, PartitionGroupStore } from '../persistence/partition-group.store.js';
import type { QueuedSynchronization, QueueStore } from '../persistence/queue.store.js';
import { rowTaskIds } from '../persistence/synchronizations.js';
import { ClaimLostError } from '../errors/claim-lost.error.js';
import { CallInterrupted } from './call-guard.js';
import type { DrainRun, GroupDrainResult, ProcessingTarget } from './drainer.js';
import { emptyCounts, type NormalizedOutcome } from './invoke-connector.js';
import type { OutgoingCall } from './outgoing-call.js';
import { completionOf, type Attempt } from './outgoing-drain.js';
import type { GroupClaims } from './partition-group-lease.js';

/** What a group run needs besides its claims and its run. */
export interface GroupDrainContext {
  queue: QueueStore;
  groups: PartitionGroupStore;
  flow: FlowControlStore;
  call: OutgoingCall;
  /** Rows read by a group in all, at most: one batch (see `perPartition`). */
  batchSize: number;
  /** How many partitions are called at once. */
  concurrency: number;
  /** Whether other connectors are enabled: their tasks may be shared with this one. */
  shared: boolean;
  /**
   * Shared tasks an earlier group write of the connector completed, rechecked by this one (see
   * `QueueStore.deleteFinished` for why they are, and `PartitionGroupDrain.drain` for when).
   */
  recheck: readonly string[];
  /** This instance's lease owner: what the group write is fenced with, beside each epoch. */
  owner: string;
}

/**
 * One pass of an `ordering: 'object'` connector over several partitions at once, under a lease per
 * partition (`PartitionGroupLease`). Under live traffic each commit writes a task or two into a
 * partition, and a run per partition paid a claim, a read, a write and the scheduling around them
 * for each task (measured on the live-ordering bench: 5.7 statements per delivery against 1.6 to 2.1
 * for one FIFO, and a third of its deliveries per second). A group pays them once for every partition written to since its last pass:
 *
 * 1. the partitions were claimed in one statement (by the lease, before this);
 * 2. their heads are read in one statement, one batch in all (`perPartition`);
 * 3. each partition's rows go to the connector in task order, as a partition run delivers them
 *    (an Error holds its object's later rows only, R-ORD-1), up to `concurrency` partitions at once;
 * 4. what did not succeed is written per partition (rare; `QueueStore.complete`, fenced), then every
 *    done synchronization in one statement, each fenced by its own partition's epoch, which also
 *    releases the leases and says when the connector is due again
 *    (`PartitionGroupStore.completeAndRelease`); the shared tasks it completed are rechecked by the
 *    connector's next group write (`unchecked`).
 *
 * What a group does not do, a partition run does: a partition whose batch was full, or whose head
 * was a failed task retried now (what it held back was not read), is named in `more` and run by
 * itself afterwards. So a backlog drains as before; the group only takes the small heads.
 *
 * Guarantees: a group's rows are written by one statement after they were delivered, so a crash
 * repeats at most the one batch it read; a partition whose lease was taken over writes nothing
 * (the database refuses its rows; the others are written); per-object order holds because each
 * partition is delivered in order and a partition is read again only after its write.
 */
export class PartitionGroupDrain {
  readonly #counts = emptyCounts();
  readonly #attempts = new Map<number, Attempt[]>();
  /** Partitions whose delivery stopped before their rows were done (claim lost, interrupted). */
  readonly #stopped = new Set<number>();
  /** What interrupted a call, thrown on once the outcomes are written unless benign. */
  #interruption: unknown;
  /** An answer that paused the connector (R-EXT-2): nothing more is called. */
  #pausing: NormalizedOutcome | null = null;

  constructor(
    private readonly context: GroupDrainContext,
    private readonly target: ProcessingTarget,
    private readonly group: GroupClaims,
    private readonly run: DrainRun,
  ) {}

  /**
   * Drains the group. `unchecked`: the shared tasks its write completed, which another connector may
   * have been finishing at the same instant: the caller has them rechecked after this write has
   * committed (the connector's next group write, or `deleteFinished`).
   */
  async drain(): Promise<GroupDrainResult & { unchecked: string[] }> {
    const { connectorId } = this.target;
    const partitions = [...this.group.claims.keys()];
    const limit = perPartition(this.context.batchSize, partitions.length);
    const rows = await this.context.groups.fetchHeads(connectorId, partitions, this.group.claimedAt, limit);
    const heads = new Map<number, QueuedSynchronization[]>();
    for (const row of rows) {
      let list = heads.get(row.partition);
      if (!list) heads.set(row.partition, (list = []));
      list.push(row);
    }
    const entries = [...heads];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < entries.length) {
        const [partition, list] = entries[next++]!;
        await this.#deliver(partition, list);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.context.concurrency, entries.length) }, worker));
    if (this.#pausing) await this.context.flow.pause(connectorId, this.#pausing.retryAfterMs ?? 0);
    const { lost, dueInMs, unchecked } = await this.#write();
    if (this.#interruption !== undefined && !(this.#interruption instanceof CallInterrupted)) {
      throw this.#interruption;
    }
    const goesOn = !this.#pausing && !this.run.stopping() && !this.run.interrupted.aborted;
    const more = goesOn
      ? entries
          .filter(
            ([partition, list]) =>
              !lost.includes(partition) && !this.#stopped.has(partition) && moreQueued(list, limit),
          )
          .map(([partition]) => partition)
      : [];
    return { counts: this.#counts, more, lost, nextRunInMs: dueInMs, unchecked };
  }

  /** Calls the connector for one partition's rows in order, until one must stop the partition. */
  async #deliver(partition: number, rows: readonly QueuedSynchronization[]): Promise<void> {
    const { connector } = this.target;
    const claim = this.group.claims.get(partition)!;
    const held = new Set<string>();
    const attempts: Attempt[] = [];
    this.#attempts.set(partition, attempts);
    for (const row of rows) {
      if (!claim.held() || this.run.interrupted.aborted || this.run.stopping() || this.#pausing) {
        this.#stopped.add(partition);
        return;
      }
      if (row.objectHash !== null && held.has(row.objectHash)) continue;
      let outcome: NormalizedOutcome;
      try {
        // A synchronous answer is taken as it is, as in `OutgoingDrain`.
        const pending = this.context.call.call(connector, row, claim, this.run.interrupted);
        outcome = pending instanceof Promise ? await pending : pending;
      } catch (error) {
        // As in `OutgoingDrain`: the task is left as it was; what was done before it is written.
        this.#interruption ??= error;
        this.#stopped.add(partition);
        return;
      }
      this.#counts[outcome.result] += 1;
      attempts.push({ row, outcome });
      if (outcome.pauseConnector) {
        this.#pausing ??= outcome;
        return;
      }
      const holds =
        outcome.result === IntegrationProcessResult.Error && !connector.retry.parksAfter(outcome, row);
      if (holds) {
        // In a partition an Error holds its object's later tasks only (R-ORD-1); a row without an
        // object hash (never in a partition) holds the rest of the partition.
        if (row.objectHash === null) return;
        held.add(row.objectHash);
      }
    }
  }

  /**
   * Writes every partition's outcome: the unsuccessful attempts per partition under its lease, then
   * the done ones of all partitions in one statement that releases the leases. Returns the
   * partitions whose lease was gone (nothing of theirs written), and when the connector is due again.
   */
  async #write(): Promise<{ lost: number[]; dueInMs: number | null; unchecked: string[] }> {
    const { queue, groups, owner } = this.context;
    const { connectorId, connector } = this.target;
    const lost: number[] = [];
    const done: GroupDone[] = [];
    for (const [partition, attempts] of this.#attempts) {
      const completion = completionOf(connector.retry, attempts);
      if (completion.unsuccessful.length > 0) {
        try {
          await queue.complete(
            { done: [], unsuccessful: completion.unsuccessful },
            this.group.claims.get(partition)!.token,
          );
        } catch (error) {
          if (!(error instanceof ClaimLostError)) throw error;
          lost.push(partition);
          continue;
        }
      }
      for (const d of completion.done) done.push({ ...d, partition });
    }
    const held = [...this.group.claims]
      .filter(([partition]) => !lost.includes(partition))
      .map(([partition, claim]) => ({ partition, epoch: claim.token.epoch }));
    const unchecked = this.context.shared ? rowTaskIds(done) : [];
    const shared = [...new Set([...unchecked, ...this.context.recheck])];
    const { held: holding, dueInMs } = await groups.completeAndRelease(
      connectorId,
      held,
      owner,
      done,
      shared,
    );
    for (const { partition } of held) {
      if (holding.has(partition)) this.group.claims.get(partition)!.markReleased();
      else lost.push(partition);
    }
    return { lost, dueInMs, unchecked };
  }
}

/**
 * Rows read per partition: a group reads one batch in all, shared by its partitions (at least a row
 * each). A group holds one of the connector's `concurrency` slots, so what a crash can repeat stays
 * what a partition run's can, one batch per slot; under live traffic a partition's head is a row or
 * two, far below its share, and one that fills its share goes on in a run of its own (`more`).
 */
function perPartition(batchSize: number, partitions: number): number {
  return Math.max(1, Math.floor(batchSize / partitions));
}

/** Whether a partition's read may have left work behind: its share full, or a failed head retried now. */
function moreQueued(rows: readonly QueuedSynchronization[], limit: number): boolean {
  return rows.length >= limit || rows.some((row) => row.state === 'failed');
}
