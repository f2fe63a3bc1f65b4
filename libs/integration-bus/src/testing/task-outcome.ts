import type { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import type { DeliveredTask } from './delivered-task.js';

/** What came of running one task through one connector. */
export interface TaskOutcome<T = unknown> {
  taskId: number;
  connectorName: string;
  /** The connector's answer (outgoing) or the result of applying the task (incoming). */
  result: IntegrationProcessResult;
  /** The message that came with the result, if any. */
  errorMessage: string | null;
  /**
   * What the connector was handed, as the bus's events report it; `null` when nothing was handed
   * over (a `Before` listener cancelled, or an incoming task the bus skipped).
   */
  delivered: DeliveredTask<T> | null;
  /** Whether the task is still queued for this connector afterwards (it is removed after OK). */
  stillQueued: boolean;
}
