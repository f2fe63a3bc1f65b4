import type { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import type { BatchPosition, IntegrationTaskInfo } from '../events/integration-task-event.js';

/** One task a connector was handed, and what it answered. */
export interface DeliveredTask<T = unknown> {
  /** The connector's code name. */
  connectorName: string;
  /** The task as the bus's events describe it: id, task type, object type, data type, … */
  task: IntegrationTaskInfo;
  /**
   * Outgoing: the entity the connector was handed (`task.object`). Incoming: the external object's
   * fields as logged.
   */
  object: T;
  /** The connector's answer (outgoing) or the result of applying the task (incoming). */
  result: IntegrationProcessResult;
  /** The message that came with the result, if any. */
  errorMessage: string | null;
  /** For a batch connector (`maxBatchSize` above 1): the task's place in the call that carried it. */
  batch?: BatchPosition;
}
