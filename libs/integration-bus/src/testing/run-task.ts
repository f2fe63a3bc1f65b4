import { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import type { ResultCounts } from '../delivery/invoke-connector.js';
import { busOf, entityManagerOf, type BusTarget } from './bus-target.js';
import type { DeliveredTask } from './delivered-task.js';
import { isQueued } from './queue-rows.js';
import { recordDeliveries } from './record-deliveries.js';
import type { TaskOutcome } from './task-outcome.js';

/**
 * Synchronizes one queued task for one connector now (`IntegrationBus.synchronizeTask`, which
 * ignores any retry backoff) and reports the outcome. Shared by the outgoing and incoming helpers.
 */
export async function runQueuedTask<T>(
  app: BusTarget,
  taskId: number,
  connectorName: string,
): Promise<TaskOutcome<T>> {
  const recording = recordDeliveries(app);
  let counts: ResultCounts;
  try {
    counts = await busOf(app).synchronizeTask(taskId, connectorName);
  } finally {
    recording.stop();
  }
  const delivered =
    (recording.deliveries.find(
      (d) => d.task.id === taskId && d.connectorName === connectorName,
    ) as DeliveredTask<T>) ?? null;
  const result = delivered?.result ?? resultOf(counts);
  return {
    taskId,
    connectorName,
    result,
    errorMessage: delivered?.errorMessage ?? null,
    delivered,
    stillQueued: await isQueued(entityManagerOf(app), taskId, connectorName),
  };
}

/** The one result a single-task run counted. */
function resultOf(counts: ResultCounts): IntegrationProcessResult {
  const counted = (Object.keys(counts) as IntegrationProcessResult[]).filter((r) => counts[r] > 0);
  return counted[0] ?? IntegrationProcessResult.SkipNow;
}
