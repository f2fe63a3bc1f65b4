import type { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import type { TaskDataType } from '../enums/task-data-type.enum.js';
import type { TaskType } from '../enums/task-type.enum.js';
import type { TranslationHelper } from '../translation/translation-helper.js';

/** An outgoing task as a connector receives it. */
export interface OutgoingTask<T extends object = object> {
  /** Queue id; `0` for a synchronous task, which is never stored. */
  id: number;
  /**
   * Grows with commit order per object (R-DEL-2): of two changes of one object, the one committed
   * later has the higher sequence, for every connector. Send it with the external write and let the
   * external system refuse a write older than the last it applied for the object: that is what keeps
   * a late write (a call held up by a paused process, see `fence`) from overwriting a newer one.
   * Across different objects it says nothing. Today it equals the task's id; treat it as an opaque
   * number. `0` for a synchronous task.
   */
  sequence: number;
  guid: string;
  title: string;
  taskType: TaskType;
  dataType: TaskDataType;
  objectType: string;
  siteName: string | null;
  /** When the change was logged. */
  time: Date;
  /** A detached entity instance in async mode; the live managed entity in sync mode. */
  object: T;
  translations: TranslationHelper;
  isDocument: boolean;
  /** 1 on the first attempt, then one more for each earlier attempt (failed or postponed). */
  attempt: number;
  /**
   * The W3C `traceparent` of the span that logged the task (R-ECO-4), when a tracer was active;
   * relays send it on as a header.
   */
  traceParent?: string | null;
  /**
   * Aborted when the bus stops waiting for this call: it exceeded the connector's `callTimeoutMs`,
   * the run lost its lease, or the application is shutting down. Pass it to `fetch` or your client
   * so the external call stops too.
   */
  signal: AbortSignal;
  /**
   * Call it right before the external write (R-DEL-2). Throws `ClaimLostError` when this call may no
   * longer write: the run's claim on the queue can no longer be held by this process's monotonic
   * clock (the process was paused past its lease, another instance took the queue over, the run
   * ended), or the bus stopped waiting for this call (`signal` aborted: a timeout, shutdown). It is
   * synchronous and makes no round trip. Let the error propagate: the bus then leaves the task queued
   * for whoever holds the queue now, and records nothing for this attempt.
   *
   * What it guarantees: a write that leaves this process within the lease's safety margin
   * (`leaseMs / 10`, at most one second) of a passing `fence()` reaches the external system before
   * any call of the instance that takes the queue over. A process paused between `fence()` and its
   * write can still deliver late; `sequence` is what lets the external system refuse that write.
   * A no-op for synchronous tasks, which no lease covers.
   */
  fence(): void;
}

/** What a connector's handler returns: a result, optionally with a message for the sync log. */
export type ProcessOutcome =
  | IntegrationProcessResult
  | {
      result: IntegrationProcessResult;
      errorMessage?: string;
      /**
       * The external system said when to come back (an HTTP 429 or 503 `Retry-After`, R-EXT-2): the
       * task is due again this many milliseconds from now instead of after the backoff, and the
       * attempt does not count towards `retry.maxAttempts` (a quota is not the task's fault).
       */
      retryAfterMs?: number;
      /**
       * With `retryAfterMs`: pause the whole connector for that long, on every instance (visible in
       * the API, the admin page and the metrics), instead of letting its next task hit the same quota.
       */
      pauseConnector?: boolean;
    };

/**
 * What a batch handler returns (R-EXT-1): an outcome per task, in the order of the tasks it was
 * given, or one outcome for them all.
 */
export type BatchOutcome = readonly ProcessOutcome[] | ProcessOutcome;
