import type { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import type { TaskDataType } from '../enums/task-data-type.enum.js';
import type { TaskType } from '../enums/task-type.enum.js';
import type { TranslationHelper } from '../translation/translation-helper.js';

/** An outgoing task as a connector receives it. */
export interface OutgoingTask<T extends object = object> {
  /** Queue id; `0` for a synchronous task, which is never stored. */
  id: number;
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
}

/** What a connector's handler returns: a result, optionally with a message for the sync log. */
export type ProcessOutcome =
  IntegrationProcessResult | { result: IntegrationProcessResult; errorMessage?: string };
