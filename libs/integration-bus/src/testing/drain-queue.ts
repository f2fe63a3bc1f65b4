import { emptyCounts, addCounts, type ResultCounts } from '../delivery/invoke-connector.js';
import { busOf, entityManagerOf, type BusTarget } from './bus-target.js';
import type { DeliveredTask } from './delivered-task.js';
import { hasQueuedTaskAfter, lastTaskId } from './queue-rows.js';
import { recordDeliveries } from './record-deliveries.js';

/** Options of {@link drainQueue}. */
export interface DrainQueueOptions {
  /** Which queue to drain [both]. */
  direction?: 'outgoing' | 'incoming' | 'both';
  /** Only this connector's tasks [every connector]. */
  connectorName?: string;
  /**
   * Processing runs at most [10]. One run usually drains everything: it stops only at a
   * connector's `Error` (that task is first in line next time), and keeps tasks a connector skipped
   * (`SkipNow`, `ErrorAndSkip`) without handing them over again. Another run follows only when the
   * run logged new tasks (a connector that writes through the unit of work), so these are
   * delivered too.
   */
  maxRuns?: number;
}

/** What a {@link drainQueue} call processed. */
export interface DrainResult {
  /** What each connector was handed (outgoing) or had applied (incoming), in order, by code name. */
  byConnector: Record<string, DeliveredTask[]>;
  /** Every delivery, in order. */
  deliveries: DeliveredTask[];
  /**
   * The deliveries grouped by connector call: one task per call, except for a batch connector
   * (`maxBatchSize` above 1), whose calls carry its batches as it received them.
   */
  calls: DeliveredTask[][];
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
  const em = entityManagerOf(app);
  const direction = options.direction ?? 'both';
  const recording = recordDeliveries(app);
  const counts = emptyCounts();
  try {
    for (let run = 0; run < (options.maxRuns ?? 10); run++) {
      const lastTaskBefore = await lastTaskId(em);
      if (direction !== 'incoming') {
        addCounts(counts, await bus.processOutgoingTasks(options.connectorName));
      }
      if (direction !== 'outgoing') {
        addCounts(counts, await bus.processIncomingTasks(options.connectorName));
      }
      if (!(await hasQueuedTaskAfter(em, lastTaskBefore))) break;
    }
  } finally {
    recording.stop();
  }
  const byConnector: Record<string, DeliveredTask[]> = {};
  for (const delivery of recording.deliveries) (byConnector[delivery.connectorName] ??= []).push(delivery);
  // Connectors run side by side: a call's tasks are consecutive among its connector's deliveries.
  const calls: DeliveredTask[][] = [];
  const openCall = new Map<string, DeliveredTask[]>();
  for (const delivery of recording.deliveries) {
    const open = openCall.get(delivery.connectorName);
    if (open && delivery.batch !== undefined && delivery.batch.index > 0) {
      open.push(delivery);
      continue;
    }
    const call = [delivery];
    calls.push(call);
    openCall.set(delivery.connectorName, call);
  }
  return { byConnector, deliveries: recording.deliveries, calls, counts };
}
