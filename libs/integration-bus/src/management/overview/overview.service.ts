import { Injectable } from '@nestjs/common';
import { InstanceId } from '../../connectors/instance-id.js';
import { ConnectorStore } from '../../persistence/connector.store.js';
import { QueueHealthStore } from '../../persistence/queue-health.store.js';
import { TaskQueryStore, type SynchronizationStatus } from '../../persistence/task-query.store.js';
import type { TaskDirection } from '../services/task-management.service.js';
import { ThroughputRecorder } from './throughput-recorder.js';

/** One connector's queue in one direction, as the admin page's Overview shows it. */
export interface QueueOverview {
  connectorName: string;
  connectorDisplayName: string;
  direction: TaskDirection;
  /** Synchronizations by status (R-DEL-7). */
  counts: Record<SynchronizationStatus, number>;
  /** Age of the oldest task still to deliver (parked ones left out), in milliseconds; null when none. */
  oldestTaskAgeMs: number | null;
  /** How long a failed head has blocked the queue, in milliseconds; null when nothing blocks it. */
  blockedMs: number | null;
  /** When this instance last finished a call of this connector in this direction; null if not since the Overview was first opened. */
  lastRunAt: string | null;
  /** Tasks this instance's connector calls finished per minute (a batch call counts each of its tasks), oldest first, the current minute last. */
  throughput: number[];
}

/** `GET /{path}/overview`. */
export interface Overview {
  /** When the numbers were read (ISO 8601). */
  generatedAt: string;
  /** Minutes covered by each `throughput`. */
  minutes: number;
  /**
   * False until the Overview was first opened on this instance: throughput and last runs are
   * recorded from then on.
   */
  throughputRecorded: boolean;
  queues: QueueOverview[];
}

/** Per connector and direction: counts by status, oldest age, blocked time, last run, throughput. */
@Injectable()
export class OverviewService {
  constructor(
    private readonly query: TaskQueryStore,
    private readonly queueHealth: QueueHealthStore,
    private readonly connectors: ConnectorStore,
    private readonly instanceId: InstanceId,
    private readonly throughput: ThroughputRecorder,
  ) {}

  /** The overview, with `minutes` of throughput. */
  async read(minutes: number): Promise<Overview> {
    const recorded = this.throughput.recording;
    const [queues, depths, statuses, rows] = await Promise.all([
      this.queueHealth.read(this.instanceId.value),
      this.query.queueDepth(),
      this.query.statusCounts(),
      this.connectors.list(),
    ]);
    const names = new Map(rows.map((r) => [r.codeName, r.displayName]));
    const now = Date.now();
    return {
      generatedAt: new Date(now).toISOString(),
      minutes,
      throughputRecorded: recorded,
      queues: queues.map((q) => {
        const direction: TaskDirection = q.isInbound ? 'incoming' : 'outgoing';
        const counts: Record<SynchronizationStatus, number> = {
          waiting: 0,
          failed: 0,
          retrying: 0,
          skipped: 0,
          parked: 0,
        };
        for (const s of statuses) {
          if (s.connectorName === q.connectorName && s.isInbound === q.isInbound) counts[s.status] += s.count;
        }
        // Waiting ones are the queue depth less every other status (as the metrics count them).
        const depth =
          depths.find((d) => d.connectorName === q.connectorName && d.isInbound === q.isInbound)?.depth ?? 0;
        counts.waiting = Math.max(
          0,
          depth - counts.failed - counts.retrying - counts.skipped - counts.parked,
        );
        const activity = this.throughput.read(q.connectorName, direction, minutes, now);
        return {
          connectorName: q.connectorName,
          connectorDisplayName: names.get(q.connectorName) ?? q.connectorName,
          direction,
          counts,
          oldestTaskAgeMs: milliseconds(q.oldestTaskAgeSeconds),
          blockedMs: milliseconds(q.blockedSeconds),
          lastRunAt: activity.lastRunAt?.toISOString() ?? null,
          throughput: activity.perMinute,
        };
      }),
    };
  }
}

function milliseconds(seconds: number | null): number | null {
  return seconds === null ? null : Math.max(0, Math.round(seconds * 1000));
}
