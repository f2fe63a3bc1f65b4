import { setTimeout as delay } from 'node:timers/promises';
import type { LoadedConnector } from '../connectors/connector-registry.js';
import type { RetryPolicy } from '../connectors/retry-policy.js';
import { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import type {
  BatchCompletion,
  QueuedSynchronization,
  QueueStore,
  UnsuccessfulAttempt,
} from '../persistence/queue.store.js';
import { LatestChanges, type SupersededTasks } from './latest-changes.js';
import type { FlowControlStore } from '../persistence/flow-control.store.js';
import { rowTaskIds } from '../persistence/synchronizations.js';
import { CallInterrupted } from './call-guard.js';
import { nextBatch } from './batch-cut.js';
import { DrainFloor } from './drain-floor.js';
import type { DrainResult, DrainRun, HandOver, ProcessingTarget } from './drainer.js';
import { emptyCounts, type NormalizedOutcome } from './invoke-connector.js';
import type { OutgoingCall } from './outgoing-call.js';
import type { ProcessingClaim } from './processing-claim.js';
import type { QueuedOutgoingTask } from './queued-outgoing-task.js';

/**
 * Why a batch ended. The drain is a loop of batches; each ends for one of these reasons, and every
 * reason reaches `writeBatch` exactly once — which is what makes "at most one batch repeated" true
 * (R-DEL-2): a crash, a lost claim or a failed write can only lose the outcomes of the batch in hand.
 *
 * Batches that go on to the next read:
 * - `read`: every row was looked at; more may be queued.
 * - `cut`: `batchMaxDurationMs` passed; the done tasks are written and the rest read again.
 *
 * Batches that end the run:
 * - `exhausted`: a short batch; the queue is done (unless it ended at a failed head that was retried
 *   now: what it held back is read next, so that is `read`).
 * - `heldHead`: an Error holds the connector's later tasks until its retry (R-OUT-6); in a
 *   partition the object's only, and the run goes on (R-ORD-1).
 * - `paused`: an answer paused the connector (`pauseConnector`, R-EXT-2) on every instance.
 * - `handOver`: the partition goes to another instance or waits for its turn (R-ORD-3).
 * - `claimLost`: the claim can no longer be held by this process's clock (R-DEL-2); the write is
 *   refused by the database if another instance claimed the queue meanwhile.
 * - `stopping`: the application is shutting down.
 * - `switchedOff`: processing was switched off.
 * - `interrupted`: a call was interrupted (claim lost, shutdown) or refused by its task's fence; the
 *   task is left queued as it was, what was done before it is written.
 */
export type BatchEnd =
  | 'read'
  | 'cut'
  | 'exhausted'
  | 'heldHead'
  | 'paused'
  | 'handOver'
  | 'claimLost'
  | 'stopping'
  | 'switchedOff'
  | 'interrupted';

/** What a drain needs besides its run: the queue, the connector call, and the batch settings. */
export interface OutgoingDrainContext {
  queue: QueueStore;
  /** The pace and pause of connectors across instances (R-EXT-2). */
  flow: FlowControlStore;
  call: OutgoingCall;
  batchSize: number;
  batchMaxDurationMs: number;
  /** Whether processing is still switched on (read once per batch). */
  enabled: () => Promise<boolean>;
  /** Whether other connectors are enabled: their tasks may be shared with this one. */
  shared: boolean;
  /** Where superseded tasks are counted (R-EXT-3). */
  superseded?: SupersededTasks;
}

/**
 * A task handled by the batch: the connector's outcome, or `superseded` by the later queued task
 * `by` of the same object (R-EXT-3), never handed to the connector.
 */
export interface Attempt {
  row: QueuedSynchronization;
  outcome: NormalizedOutcome | { superseded: string };
}

/** A batch call cut from the rows read, with its tasks: prepared ahead while the previous call is in flight. */
interface PreparedCall {
  rows: QueuedSynchronization[];
  /** Where the cut after this one starts. */
  next: number;
  tasks: QueuedOutgoingTask[];
  /** How many objects the run held back when it was cut: a hold since then cuts it again. */
  held: number;
  /** The object keys of `rows`. */
  objects: ReadonlySet<string>;
  /** Whether the cut stopped before an object of the call in flight (`nextBatch`). */
  blocked: boolean;
}

/** A pipelined connector's call under way (see `#processPipelined`). */
interface CallInFlight extends PreparedCall {
  pending: Promise<NormalizedOutcome[]>;
}

/** What a pipelined call's outcomes asked for once recorded, or null when the call was interrupted. */
type SettledCall = { heldHead: boolean; pausing: NormalizedOutcome | undefined } | null;

/** The next batch read while the last call of the batch in hand was in flight, and its first call. */
interface ReadAhead {
  rows: QueuedSynchronization[];
  /** The read's limit: fewer rows means the queue is done. */
  limit: number;
  first: PreparedCall;
}

/**
 * One run over one outgoing queue (a connector's, or one partition of it) under a claim: head of the
 * queue first, a batch per round trip, each batch's outcome written in one fenced statement
 * (`writeBatch`). See `BatchEnd` for how a batch ends and what follows.
 */
export class OutgoingDrain {
  readonly #counts = emptyCounts();
  readonly #floor = new DrainFloor();
  /** In a partition, the objects held back so far (R-ORD-1): their later tasks are passed over. */
  readonly #heldObjects = new Set<string>();
  /** Shared tasks the previous write completed: deleted at the next write if nothing is left. */
  #recheck: string[] = [];
  #done: Attempt[] = [];
  /** What interrupted a call (`interrupted`), thrown on once the batch is written unless benign. */
  #interruption: unknown;
  /** Why the partition is handed over (`handOver`), as the scheduler said at the batch's end. */
  #handOver: HandOver | null = null;
  /** With `coalesce: 'latest'`: what supersedes what (R-EXT-3); null otherwise. */
  readonly #latest: LatestChanges | null;
  /** The rows of the batch in hand that a later change supersedes: sync id → that task id. */
  #superseded: ReadonlyMap<string, string> = new Map();
  /**
   * Whether the batch connector read `task.object` in its last call: the objects of the next call
   * are then built while the previous call is in flight. A connector that never reads them (one
   * that forwards ids) is not made to pay for them.
   */
  #buildsObjects = false;
  /**
   * A batch connector's next batch, read while the last call of the batch in hand is in flight, in
   * the same statement as the outcomes before that call (`#writeAhead`); null when none is under way.
   */
  #ahead: Promise<ReadAhead> | null = null;
  /** The first call of a batch read ahead, prepared as soon as its rows came (see `#writeAhead`). */
  #firstCall: PreparedCall | null = null;
  /**
   * A pipelined connector's last call of the batch before, still in flight when the batch read ahead
   * beside it came (see `#processPipelined`): its outcomes are recorded while the next batch's first
   * call is under way, or before the run's last write (`#settleCarried`).
   */
  #carried: CallInFlight | null = null;
  /** The limit of the read that gave the batch in hand: fewer rows means the queue is done. */
  #readLimit = 0;

  constructor(
    private readonly context: OutgoingDrainContext,
    private readonly target: ProcessingTarget,
    private readonly claim: ProcessingClaim,
    private readonly run: DrainRun,
  ) {
    this.#latest =
      target.connector.coalesce === 'latest' ? new LatestChanges(context.queue, claim.token) : null;
  }

  /** Drains the queue until a batch ends the run; resolves with the counts and any hand-over. */
  async drain(): Promise<DrainResult> {
    let batch = await this.#read();
    for (;;) {
      let end = await this.#ending(await this.#process(batch), batch);
      if (end !== 'read' && end !== 'cut' && this.#carried !== null) end = await this.#settleCarried(end);
      if (end === 'read' || end === 'cut') {
        const ahead = this.#ahead;
        this.#ahead = null;
        if (ahead) {
          // Read while the last call was in flight; that call's outcomes are written with this batch's.
          ({ rows: batch, limit: this.#readLimit, first: this.#firstCall } = await ahead);
          continue;
        }
        batch = await this.#writeBatch('next', batch);
        if (this.#waitsForMore(batch)) batch = await this.#read(this.target.connector.maxBatchWaitMs);
        continue;
      }
      await this.#writeBatch(end === 'interrupted' ? 'keep' : 'last', batch);
      if (end === 'interrupted' && !(this.#interruption instanceof CallInterrupted)) throw this.#interruption;
      // Only a batch that ended for it hands the partition over: an exhausted one has nothing to hand.
      return { counts: this.#counts, handOver: end === 'handOver' ? this.#handOver : null };
    }
  }

  /** Rows per read: the module's `batchSize`, or a batch connector's `maxBatchSize` if larger. */
  get #readSize(): number {
    return Math.max(this.context.batchSize, this.target.connector.maxBatchSize);
  }

  /** Reads the head of the queue, after `waitMs` (cut short by the run's end). */
  async #read(waitMs = 0): Promise<QueuedSynchronization[]> {
    if (waitMs > 0) await delay(waitMs, undefined, { signal: this.run.interrupted }).catch(() => {});
    const batch = await this.context.queue.fetchOutgoing(
      this.claim.token,
      this.claim.claimedAt,
      this.#floor.value,
      this.#readSize,
    );
    this.#readLimit = this.#readSize;
    return waitMs === 0 && this.#waitsForMore(batch)
      ? this.#read(this.target.connector.maxBatchWaitMs)
      : batch;
  }

  /**
   * Whether a batch connector waits `maxBatchWaitMs` for more before this read is handed over: the
   * queue held some tasks, fewer than a full call (R-EXT-1). Nothing of the run is pending then (the
   * previous batch is written), so reading again after the wait loses nothing.
   */
  #waitsForMore(batch: readonly QueuedSynchronization[]): boolean {
    const { maxBatchWaitMs, maxBatchSize } = this.target.connector;
    return maxBatchWaitMs > 0 && batch.length > 0 && batch.length < maxBatchSize;
  }

  /** Calls the connector for the rows of `batch` that are not held back, until the batch must end. */
  async #process(batch: readonly QueuedSynchronization[]): Promise<BatchEnd> {
    const deadline = performance.now() + this.context.batchMaxDurationMs;
    if (this.#latest) this.#superseded = await this.#latest.superseded(batch);
    if (this.target.connector.maxBatchSize > 1) {
      return this.#pipelines
        ? this.#processPipelined(batch, deadline)
        : this.#processInCalls(batch, deadline);
    }
    const { connector } = this.target;
    for (const row of batch) {
      if (!this.claim.held()) return 'claimLost';
      if (this.run.interrupted.aborted) return 'stopping';
      if (row.objectHash !== null && this.#heldObjects.has(row.objectHash)) continue;
      if (this.#supersede(row)) continue;
      const unpaced = connector.rateLimit === null ? null : await this.#paced();
      if (unpaced !== null) return unpaced;
      let outcome: NormalizedOutcome;
      try {
        // A synchronous answer is taken as it is: no promise, no tick per task (the hot path).
        const pending = this.context.call.call(connector, row, this.claim, this.run.interrupted);
        outcome = pending instanceof Promise ? await pending : pending;
      } catch (error) {
        // Interrupted (lease gone, shutdown) or refused by the task's fence (`ClaimLostError`,
        // logged by the scheduler): the task is left as it was. Otherwise only an event listener can
        // throw here: the run fails. Either way what the batch finished so far is written, so the
        // next run starts at this task instead of repeating them.
        this.#interruption = error;
        return 'interrupted';
      }
      const holds = this.#record(row, outcome);
      // A pause is written even when the answer also holds the queue: it is what every instance
      // and the admin page see (R-EXT-2).
      if (outcome.pauseConnector) return this.#pause(outcome);
      if (holds) return 'heldHead';
      if (this.run.stopping()) return 'stopping';
      if (performance.now() >= deadline) return 'cut';
    }
    return 'read';
  }

  /**
   * The same for a batch connector (R-EXT-1): the rows go to the connector a call at a time, each
   * call a batch cut by `nextBatch`. An interrupted or fenced-off call leaves its whole batch queued
   * as it was (the external system may have taken some of it: at most one batch is delivered twice).
   *
   * While a call is in flight, the next one is prepared (`#prepareAhead`): the bus's own work hides
   * behind the external system's answer. What may overlap the call, and what may not:
   * - Cutting the next call and building its tasks (and their objects, see `#buildsObjects`) may: it
   *   writes nothing and decides nothing. The cut is taken only if no outcome of the call in flight
   *   held an object back (in a partition; in connector order an Error ends the run and the prepared
   *   call is dropped); otherwise it is cut again, as before.
   * - Starting the next call may not: with an Error the call's later tasks stay queued behind it
   *   (R-OUT-6, R-ORD-1), so the next call starts only once every outcome of this one is known and
   *   recorded.
   * - Writing outcomes and reading the next batch may, within R-DEL-2's bound: at any moment the
   *   tasks handed to the connector whose outcomes are not yet committed are at most one batch read
   *   (`#readSize` rows), so a crash repeats at most one batch. With the last call of a full batch in
   *   flight, the outcomes before it are written and the next batch read in one statement
   *   (`#writeAhead`), which leaves the call's rows out and reads only as many rows as fit beside them
   *   (`#readSize` less the call's). That call's outcomes are written with the next batch's: until then
   *   they and the next batch's calls are at most `#readSize` tasks. Every write stays fenced by the
   *   claim, and only outcomes known are written; writes happen one after the other, and a run ends
   *   only after the write ahead is in (`#writeBatch`), so nothing is claimed done that was not.
   */
  async #processInCalls(batch: readonly QueuedSynchronization[], deadline: number): Promise<BatchEnd> {
    const { connector } = this.target;
    let next = 0;
    let ahead: PreparedCall | null = this.#firstCall;
    this.#firstCall = null;
    while (next < batch.length) {
      if (!this.claim.held()) return 'claimLost';
      if (this.run.interrupted.aborted) return 'stopping';
      const prepared =
        ahead !== null && ahead.held === this.#heldObjects.size ? ahead : this.#cut(batch, next);
      ahead = null;
      const { rows, tasks } = prepared;
      // The superseded rows the cut passed over, in queue order, before the call's outcomes.
      for (let i = next; i < prepared.next; i++) this.#supersede(batch[i]!);
      next = prepared.next;
      if (rows.length === 0) continue;
      const unpaced = await this.#paced();
      if (unpaced !== null) return unpaced;
      const pending = this.context.call.callBatch(connector, rows, this.claim, this.run.interrupted, tasks);
      if (next === batch.length && this.#readsAhead(batch, rows.length))
        this.#ahead = this.#writeAhead(batch, rows);
      if (next < batch.length) {
        // Awaited below, once the next call is prepared: not an unhandled rejection meanwhile.
        pending.catch(() => {});
        ahead = await this.#prepareAhead(batch, next);
      }
      let outcomes: NormalizedOutcome[];
      try {
        outcomes = await pending;
      } catch (error) {
        this.#interruption = error; // as in `#process`
        return 'interrupted';
      }
      this.#buildsObjects = tasks.some((task) => task.objectAsked);
      let heldHead = false;
      for (const [i, row] of rows.entries()) {
        const outcome = outcomes[i]!;
        // Behind an Error that holds the connector's queue, only what the external system took (OK)
        // is done; the others stay queued behind it as they were, as if never handed over.
        if (heldHead && outcome.result !== IntegrationProcessResult.OK) continue;
        if (this.#record(row, outcome)) heldHead = true;
      }
      const pausing = outcomes.find((outcome) => outcome.pauseConnector);
      if (pausing) return this.#pause(pausing); // as in `#process`, before a held head ends the run
      if (heldHead) return 'heldHead';
      if (this.run.stopping()) return 'stopping';
      if (performance.now() >= deadline) return 'cut';
    }
    return 'read';
  }

  /**
   * Whether the next batch is read while the last call of `batch` (`calling` rows) is in flight: the
   * batch was full (more may be queued), and at least a full call fits beside the call's rows within
   * one batch read. Not with `coalesce: 'latest'` (what supersedes what is asked per batch read) nor
   * `maxBatchWaitMs` (a short read waits and reads again, which must not meet unwritten outcomes).
   */
  #readsAhead(batch: readonly QueuedSynchronization[], calling: number): boolean {
    const { maxBatchWaitMs, maxBatchSize } = this.target.connector;
    return (
      this.#latest === null &&
      maxBatchWaitMs === 0 &&
      batch.length === this.#readLimit &&
      this.#readSize - calling >= maxBatchSize
    );
  }

  /**
   * Writes the outcomes recorded so far and reads the next batch in one fenced statement, leaving out
   * the rows of the call in flight (`calling`) and reading no more than fit beside them (see
   * `#processInCalls`). Awaited by the drain loop, or by `#writeBatch` when the run ends instead.
   */
  #writeAhead(
    batch: readonly QueuedSynchronization[],
    calling: readonly QueuedSynchronization[],
  ): Promise<ReadAhead> {
    const completion = completionOf(this.target.connector.retry, this.#done, this.#recheck);
    const shared = this.#sharedDone(completion);
    const last = this.#done.at(-1);
    this.#done = [];
    if (last) this.#floor.processed(resumeAfter(last.row.taskId, batch), batch[0]?.snapshot);
    const limit = this.#readSize - calling.length;
    const written = this.context.queue
      .completeAndFetch(
        completion,
        this.claim.token,
        this.claim.claimedAt,
        this.#floor.value,
        limit,
        calling.map((row) => row.syncId),
      )
      .then((rows) => {
        this.context.superseded?.add(this.target.connector.codeName, completion.superseded?.length ?? 0);
        this.#recheck = shared;
        // Its first call too, while the call in flight still is: it is taken if nothing held since.
        return this.#prepareAhead(rows, 0).then((first) => ({ rows, limit, first }));
      });
    written.catch(() => {}); // awaited by the drain loop or `#writeBatch`: not unhandled meanwhile
    return written;
  }

  /**
   * Whether this drain overlaps the connector's calls (`#processPipelined`): a batch connector that
   * allows it (`maxCallsInFlight: 2`, the relays), without `coalesce` (superseded rows are decided
   * per read).
   */
  get #pipelines(): boolean {
    return this.target.connector.maxCallsInFlight > 1 && this.#latest === null;
  }

  /**
   * `#processInCalls` for a connector that allows its calls to overlap (`maxCallsInFlight: 2`, and
   * the broker relays through `allowPipelinedCalls`). The next call starts as soon as the one before
   * has sent its messages, not once its outcomes are known, so the external system's answer to one
   * call and the bus's building of the next overlap. Two calls at most are under way, and what holds
   * the guarantees:
   * - Per-object order (R-DEL-1): a call is cut before the first row of an object the call in flight
   *   holds (`nextBatch`'s `inFlight`), so an object's next change starts only after its previous
   *   change's outcome is known and recorded (and then not at all if that outcome held the object).
   * - Connector order (R-OUT-6): outcomes are recorded in call order. Behind an Error that holds the
   *   connector's queue, the call started meanwhile counts only what it delivered (OK), as the tasks
   *   after an Error within one call do; the others stay queued behind it as they were.
   * - At most one batch repeated (R-DEL-2): both calls are rows of one read; the write ahead leaves
   *   both out and reads only as many rows as fit beside them. Every run's end waits for the calls
   *   under way and records their outcomes first.
   */
  async #processPipelined(batch: readonly QueuedSynchronization[], deadline: number): Promise<BatchEnd> {
    const { connector } = this.target;
    let next = 0;
    let flight: CallInFlight | null = this.#carried;
    this.#carried = null;
    let prepared: PreparedCall | null = this.#firstCall;
    this.#firstCall = null;
    // Cut ahead without the carried call's objects in view: cut again if it holds one of them.
    if (flight !== null && prepared !== null && sharesObject(prepared.objects, flight.objects))
      prepared = null;
    for (;;) {
      let end: BatchEnd | null = null;
      let started: CallInFlight | null = null;
      while (next < batch.length) {
        if (!this.claim.held()) end = 'claimLost';
        else if (this.run.interrupted.aborted) end = 'stopping';
        if (end !== null) break;
        const cut: PreparedCall =
          prepared !== null && prepared.held === this.#heldObjects.size
            ? prepared
            : this.#cut(batch, next, flight?.objects);
        prepared = null;
        next = cut.next;
        if (cut.rows.length === 0) {
          if (cut.blocked) break; // its head waits for the call in flight
          continue;
        }
        // Its slot is waited for with the call before in flight: that call's outcomes are recorded
        // only once this one has started (or the run ends), so the cut stays what they allow.
        end = await this.#paced();
        if (end !== null) break;
        const pending = this.context.call.callBatch(
          connector,
          cut.rows,
          this.claim,
          this.run.interrupted,
          cut.tasks,
        );
        pending.catch(() => {}); // awaited by `#settle`: not an unhandled rejection meanwhile
        started = { ...cut, pending };
        const calling = flight === null ? cut.rows : [...flight.rows, ...cut.rows];
        if (next === batch.length && this.#readsAhead(batch, calling.length))
          this.#ahead = this.#writeAhead(batch, calling);
        break;
      }
      if (flight === null) {
        if (started === null) return end ?? 'read';
        flight = started;
        // A turn of the event loop: the call's messages leave before the next call is built.
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      if (this.#carries(started, end, next, batch, deadline)) {
        this.#carried = flight;
        return 'read';
      }
      const settled = await this.#settle(flight, false);
      const after = started;
      flight = started;
      if (settled === null) {
        if (after !== null) await after.pending.catch(() => {});
        return 'interrupted';
      }
      let stop: BatchEnd | null =
        settled.pausing || settled.heldHead
          ? 'heldHead'
          : (end ?? (this.run.stopping() ? 'stopping' : performance.now() >= deadline ? 'cut' : null));
      if (stop === null) continue;
      let { pausing } = settled;
      if (after !== null) {
        const last = await this.#settle(after, settled.heldHead);
        if (last === null) return 'interrupted';
        pausing ??= last.pausing;
        if (last.heldHead) stop = 'heldHead';
      }
      if (pausing) return this.#pause(pausing); // as in `#process`, before a held head ends the run
      return stop;
    }
  }

  /**
   * Whether the batch's last call is left in flight into the next batch (`#carried`) rather than
   * waited for: every row of the batch has been handed over, the next batch is being read beside the
   * calls under way (`#writeAhead` left their rows out and read only as many as fit beside them, so
   * R-DEL-2's bound holds), and the run goes on. The pipeline then stays full across batches.
   */
  #carries(
    started: CallInFlight | null,
    end: BatchEnd | null,
    next: number,
    batch: readonly QueuedSynchronization[],
    deadline: number,
  ): boolean {
    return (
      started === null &&
      end === null &&
      next === batch.length &&
      this.#ahead !== null &&
      !this.run.stopping() &&
      performance.now() < deadline
    );
  }

  /**
   * Records the outcomes of the call carried into a batch that ends the run instead (`end`), before
   * its last write: what they ask for (a pause, an interruption) comes first.
   */
  async #settleCarried(end: BatchEnd): Promise<BatchEnd> {
    const carried = this.#carried!;
    this.#carried = null;
    const settled = await this.#settle(carried, false);
    if (settled === null) return 'interrupted';
    if (settled.pausing) return this.#pause(settled.pausing);
    return end;
  }

  /**
   * Waits for a pipelined call's outcomes and records them, as `#processInCalls` does for its calls.
   * @param behindHeldHead an earlier call's Error holds the connector's queue: only OKs are recorded
   * @returns what the outcomes asked for, or null when the call was interrupted (`#interruption`)
   */
  async #settle(call: CallInFlight, behindHeldHead: boolean): Promise<SettledCall> {
    let outcomes: NormalizedOutcome[];
    try {
      outcomes = await call.pending;
    } catch (error) {
      this.#interruption = error; // as in `#process`
      return null;
    }
    this.#buildsObjects = call.tasks.some((task) => task.objectAsked);
    let heldHead = behindHeldHead;
    for (const [i, row] of call.rows.entries()) {
      const outcome = outcomes[i]!;
      if (heldHead && outcome.result !== IntegrationProcessResult.OK) continue;
      if (this.#record(row, outcome)) heldHead = true;
    }
    return { heldHead, pausing: outcomes.find((outcome) => outcome.pauseConnector) };
  }

  /**
   * The next call of a batch connector from `start` on (see `nextBatch`), with its tasks.
   * @param inFlight the objects of the call under way, which the cut stops before
   */
  #cut(batch: readonly QueuedSynchronization[], start: number, inFlight?: ReadonlySet<string>): PreparedCall {
    const { connector } = this.target;
    const cut = nextBatch(
      batch,
      start,
      connector.maxBatchSize,
      this.#heldObjects,
      this.#superseded,
      inFlight,
    );
    const tasks = this.context.call.batchTasks(connector, cut.batch, this.claim);
    return {
      rows: cut.batch,
      next: cut.next,
      tasks,
      held: this.#heldObjects.size,
      objects: cut.objects,
      blocked: cut.blocked,
    };
  }

  /**
   * Prepares the call after the one in flight: its cut, its tasks and, when the connector read
   * `object` in its last call, their objects. After a turn of the event loop, so that the call in
   * flight has sent its request first (work done at once would hold it back).
   */
  async #prepareAhead(batch: readonly QueuedSynchronization[], start: number): Promise<PreparedCall> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const prepared = this.#cut(batch, start);
    if (this.#buildsObjects) for (const task of prepared.tasks) task.prepareObject();
    return prepared;
  }

  /**
   * Takes the connector's next call slot under its `rateLimit` and waits until it starts (R-EXT-2;
   * see `FlowControlStore` for how it is held across instances). Resolves with null once the call may
   * start, or with why the run must end first (the slot then goes unused).
   */
  async #paced(): Promise<BatchEnd | null> {
    const { rateLimit } = this.target.connector;
    if (rateLimit === null) return null;
    const intervalMs = rateLimit.perMs / rateLimit.requests;
    const { waitMs } = await this.context.flow.takeCallSlot(this.target.connectorId, intervalMs);
    if (waitMs > 0) await delay(waitMs, undefined, { signal: this.run.interrupted }).catch(() => {});
    if (this.run.interrupted.aborted) return 'stopping';
    if (!this.claim.held()) return 'claimLost';
    return null;
  }

  /**
   * An answer asked to pause the whole connector (R-EXT-2): every instance's reads find nothing until
   * then (`notPausedSql`), and the run ends. The answer's own task waits as long (`retryAfterMs`),
   * which is what wakes the connector again.
   */
  async #pause(outcome: NormalizedOutcome): Promise<BatchEnd> {
    await this.context.flow.pause(this.target.connectorId, outcome.retryAfterMs ?? 0);
    return 'paused';
  }

  /**
   * With `coalesce: 'latest'`, marks `row` superseded if a later queued change of its object is
   * (R-EXT-3, see `LatestChanges`): it is written with the batch, deleted undelivered and logged.
   * A row of an object held back in this run is left alone (the caller passes it over first).
   * @returns whether the row was superseded
   */
  #supersede(row: QueuedSynchronization): boolean {
    const by = this.#superseded.get(row.syncId);
    if (by === undefined) return false;
    if (row.objectHash !== null && this.#heldObjects.has(row.objectHash)) return false;
    this.#done.push({ row, outcome: { superseded: by } });
    return true;
  }

  /**
   * Counts a task's outcome for the batch's write. Returns whether it holds the connector's later
   * tasks: an Error does (R-OUT-6), unless it parked the task (R-DEL-6); in a partition it holds only
   * its object's (R-ORD-1), whose later rows the run then passes over.
   */
  #record(row: QueuedSynchronization, outcome: NormalizedOutcome): boolean {
    this.#counts[outcome.result] += 1;
    this.#done.push({ row, outcome });
    const holds =
      outcome.result === IntegrationProcessResult.Error &&
      !this.target.connector.retry.parksAfter(outcome, row);
    if (!holds || row.objectHash === null) return holds;
    this.#heldObjects.add(row.objectHash);
    return false;
  }

  /** A batch that could go on may still end the run (see `batchEnding`). */
  async #ending(end: BatchEnd, batch: readonly QueuedSynchronization[]): Promise<BatchEnd> {
    if (end !== 'read' && end !== 'cut') return end;
    this.#handOver = this.run.handOverReason();
    return batchEnding(end, {
      short: batch.length < this.#readLimit,
      retriedHead: batch.some((r) => r.state === 'failed'),
      handOver: this.#handOver,
      enabled: await this.context.enabled(),
    });
  }

  /**
   * The one place a batch's outcome is written, fenced by the run's lease: `next` writes it and reads
   * the next batch in the same statement; `last` writes it and gives the lease back (shared tasks go
   * through the locking transaction, so that two connectors finishing one task at the same instant
   * cannot both leave it behind); `keep` writes it and leaves the lease to the run's end.
   */
  async #writeBatch(
    mode: 'next' | 'last' | 'keep',
    batch: QueuedSynchronization[],
  ): Promise<QueuedSynchronization[]> {
    const { queue } = this.context;
    if (this.#ahead) {
      // A run that ends with a write ahead under way: it goes first, and a failure ends the run.
      const ahead = this.#ahead;
      this.#ahead = null;
      await ahead;
    }
    const completion = completionOf(this.target.connector.retry, this.#done, this.#recheck);
    const shared = this.#sharedDone(completion);
    const last = this.#done.at(-1);
    this.#done = [];
    const superseded = completion.superseded?.length ?? 0;
    const counted = () => this.context.superseded?.add(this.target.connector.codeName, superseded);
    if (mode === 'keep') {
      await queue.complete(completion, this.claim.token);
      counted();
      return [];
    }
    if (mode === 'last') {
      if (await queue.completeLast(completion, this.claim.token)) this.claim.markReleased();
      // No next write to recheck them: the shared tasks are cleaned up once this one has committed.
      await queue.deleteFinished(shared);
      counted();
      return [];
    }
    if (last) this.#floor.processed(resumeAfter(last.row.taskId, batch), batch[0]?.snapshot);
    // Emptied, not kept through the round trip: the next batch arrives meanwhile, and a batch's rows
    // alive at a scavenge are what makes V8 grow the young generation (peak RSS, SPEC §10).
    batch.length = 0;
    const next = await queue.completeAndFetch(
      completion,
      this.claim.token,
      this.claim.claimedAt,
      this.#floor.value,
      this.#readSize,
    );
    this.#readLimit = this.#readSize;
    counted();
    this.#recheck = shared;
    return next;
  }

  /**
   * The done tasks another connector may be finishing too: rechecked by the next write (see
   * `QueueStore.completeAndFetch`). With one connector enabled nothing is shared; a task queued for
   * one connector only (a lone synchronization) never is.
   */
  #sharedDone(completion: BatchCompletion): string[] {
    if (!this.context.shared) return [];
    return rowTaskIds(completion.done);
  }
}

/** What is known at the end of a batch that could go on (`read` or `cut`). */
export interface BatchFacts {
  /** Fewer rows than a batch were read. */
  short: boolean;
  /** The batch began with a failed synchronization whose retry came due. */
  retriedHead: boolean;
  /** Whether the scheduler wants the partition handed over, and why. */
  handOver: HandOver | null;
  /** Whether processing is still switched on. */
  enabled: boolean;
}

/**
 * Whether a batch that could go on ends the run, and why: a short batch means the queue is done
 * (`exhausted`), unless it began at a failed head that was retried now — what that head held back
 * was not read with it and comes next; a partition is handed over after a batch when this instance
 * runs more than its share or others wait for a slot (`handOver`, R-ORD-3); processing switched off
 * stops the run (`switchedOff`). Otherwise the run goes on (`read` or `cut`, unchanged).
 */
export function batchEnding(end: 'read' | 'cut', facts: BatchFacts): BatchEnd {
  if (end === 'read' && facts.short && !facts.retriedHead) return 'exhausted';
  if (facts.handOver !== null) return 'handOver';
  if (!facts.enabled) return 'switchedOff';
  return end;
}

/**
 * Processes one task picked by hand and writes its outcome (`synchronizeTask`).
 * @throws ClaimLostError when the task's fence refused the write
 */
export async function processOneOutgoing(
  context: Pick<OutgoingDrainContext, 'queue' | 'call'>,
  connector: LoadedConnector,
  claim: ProcessingClaim,
  row: QueuedSynchronization,
  interrupted: AbortSignal,
): Promise<IntegrationProcessResult> {
  const pending =
    connector.maxBatchSize > 1
      ? context.call.callBatch(connector, [row], claim, interrupted).then(([answer]) => answer!)
      : context.call.call(connector, row, claim, interrupted);
  const outcome = pending instanceof Promise ? await pending : pending;
  await context.queue.complete(completionOf(connector.retry, [{ row, outcome }]), claim.token);
  return outcome.result;
}

/**
 * A batch's results as written back: OK completes the task for the connector; anything else is
 * tried again when `policy` says (R-DEL-5) — Error as `failed` (holding the connector's later
 * tasks), ErrorAndSkip as `retrying`, SkipNow as `skipped` (not a failure) — or parked once the
 * failures reach `maxAttempts` (R-DEL-6), or the skips `skipNow.maxAttempts` (R-EXT-4).
 */
export function completionOf(
  policy: RetryPolicy,
  results: readonly Attempt[],
  recheck: string[] = [],
): BatchCompletion {
  const completion: BatchCompletion = { done: [], unsuccessful: [], recheck, superseded: [] };
  for (const { row, outcome } of results) {
    if ('superseded' in outcome) {
      completion.superseded!.push({
        syncId: row.syncId,
        taskId: row.taskId,
        title: row.title,
        by: outcome.superseded,
      });
    } else if (outcome.result === IntegrationProcessResult.OK) {
      completion.done.push({ syncId: row.syncId, taskId: row.taskId });
    } else {
      completion.unsuccessful.push(unsuccessfulAttempt(policy, row, outcome));
    }
  }
  return completion;
}

function unsuccessfulAttempt(
  policy: RetryPolicy,
  row: QueuedSynchronization,
  outcome: NormalizedOutcome,
): UnsuccessfulAttempt {
  const skip = outcome.result === IntegrationProcessResult.SkipNow;
  const failure = policy.countsAsFailure(outcome);
  const message = skip ? outcome.errorMessage : (outcome.errorMessage ?? outcome.result);
  if (policy.parksAfter(outcome, row)) {
    return { syncId: row.syncId, state: 'parked', message, retryInMs: null, failure, skip };
  }
  const retryInMs = policy.delayAfterAttempt(outcome, row.attempts + 1);
  const state = skip ? 'skipped' : outcome.result === IntegrationProcessResult.Error ? 'failed' : 'retrying';
  return { syncId: row.syncId, state, message, retryInMs, failure, skip };
}

/** Whether two calls' object sets meet. */
function sharesObject(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  for (const key of a) if (b.has(key)) return true;
  return false;
}

/**
 * Where the next read of a run may start after a batch that ended at `lastTaskId`: no later than a
 * failed synchronization it retried, since tasks its failure held back (its object's later ones, in
 * a partition) were not read with the batch and may come due now.
 */
function resumeAfter(lastTaskId: string, batch: readonly QueuedSynchronization[]): string {
  const retried = batch.find((row) => row.state === 'failed')?.taskId;
  return retried !== undefined && BigInt(retried) < BigInt(lastTaskId) ? retried : lastTaskId;
}
