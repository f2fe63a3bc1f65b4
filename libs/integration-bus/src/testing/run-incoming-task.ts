import type { ExternalTaskOptions } from '../incoming/external-task-logger.js';
import { busOf, type BusTarget } from './bus-target.js';
import { runQueuedTask } from './run-task.js';
import type { TaskOutcome } from './task-outcome.js';

/**
 * Logs an external object as an incoming task for a connector (`bus.processExternalTask`: the
 * connector's `prepareInternalObject` and translation callbacks run) and applies it at once.
 *
 * @returns the outcome of applying it (`OK`: the entity was written), or `null` when nothing was
 *   logged (the connector's `prepareInternalObject` returned `null`, incoming logging is off, or a
 *   listener cancelled)
 */
export async function runIncomingTask<T = unknown>(
  app: BusTarget,
  connectorName: string,
  externalObject: unknown,
  options: ExternalTaskOptions,
): Promise<TaskOutcome<T> | null> {
  const logged = await busOf(app).processExternalTask(connectorName, externalObject, options);
  if (!logged) return null;
  return runQueuedTask<T>(app, logged.id, connectorName);
}
