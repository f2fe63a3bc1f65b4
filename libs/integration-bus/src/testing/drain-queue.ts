import { emptyCounts, addCounts, type ResultCounts } from '../outgoing/invoke-connector.js';
import { busOf, type BusTarget } from './bus-target.js';
import type { DeliveredTask } from './delivered-task.js';
import { recordDeliveries } from './record-deliveries.js';

/** Options of {@link drainQueue}. */
export interface DrainQueueOptions {
  /** Which queue to drain [both]. */
  direction?: 'outgoing' | 'incoming' | 'both';
  /** Only this connector's tasks [every connector]. */
  connectorName?: string;
  /**
   * Processing runs at most [10]. A run stops at a connector's first `Error` (that task is first in
   * line next run); the drain runs again while a run still completes something, so tasks logged by
   * connectors during the drain are processed too.
   */
  maxRuns?: number;
}

/** What a {@link drainQueue} call processed. */
export interface DrainResult {
  /** What each connector was handed (outgoing) or had applied (incoming), in order, by code name. */
  byConnector: Record<string, DeliveredTask[]>;
  /** Every delivery, in order. */
  deliveries: DeliveredTask[];
  /** A count per result over the whole drain. */
  counts: ResultCounts;
}

/**
 * Processes the queue now, until a run completes nothing more, and returns what each connector
 * received and answered. Tasks waiting for a retry (`next_attempt_at` in the future) are not
 * taken: move the clock with {@link advanceRetryClock} first. Needs `EventEmitterModule`.
 */
export async function drainQueue(app: BusTarget, options: DrainQueueOptions = {}): Promise<DrainResult> {
  const bus = busOf(app);
  const direction = options.direction ?? 'both';
  const recording = recordDeliveries(app);
  const counts = emptyCounts();
  try {
    for (let run = 0; run < (options.maxRuns ?? 10); run++) {
      const before = recording.deliveries.length;
      const runCounts = emptyCounts();
      if (direction !== 'incoming') addCounts(runCounts, await bus.processOutgoingTasks(options.connectorName));
      if (direction !== 'outgoing') addCounts(runCounts, await bus.processIncomingTasks(options.connectorName));
      addCounts(counts, runCounts);
      const completed = recording.deliveries.slice(before).some((d) => d.result === 'OK');
      if (!completed) break;
    }
  } finally {
    recording.stop();
  }
  const byConnector: Record<string, DeliveredTask[]> = {};
  for (const delivery of recording.deliveries) (byConnector[delivery.connectorName] ??= []).push(delivery);
  return { byConnector, deliveries: recording.deliveries, counts };
}
