import { entityManagerOf, type BusTarget } from './bus-target.js';
import { oldestQueuedTask } from './queue-rows.js';
import { runQueuedTask } from './run-task.js';
import type { TaskOutcome } from './task-outcome.js';

/**
 * Runs one outgoing task through a connector, now, and returns what the connector answered.
 *
 * Log the task first the way the app does (flush a change to a subscribed entity, or call
 * `bus.logInternalTask`), in an app built with {@link manualProcessing} so that nothing else
 * processes it first. Without `taskId`, the connector's oldest queued outgoing task is run.
 * Retry backoff does not apply: this is a manual synchronization.
 *
 * @throws Error when the connector has no queued outgoing task
 */
export async function runOutgoingTask<T = unknown>(
  app: BusTarget,
  connectorName: string,
  taskId?: number,
): Promise<TaskOutcome<T>> {
  const id = taskId ?? (await oldestQueuedTask(entityManagerOf(app), connectorName, false));
  if (id === null) {
    throw new Error(
      `runOutgoingTask: no outgoing task is queued for ${connectorName}. Was the change flushed, does a ` +
        'subscription of the connector match it, and is the app built with manualProcessing?',
    );
  }
  return runQueuedTask<T>(app, id, connectorName);
}
