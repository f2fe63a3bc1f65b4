import { Inject, Injectable } from '@nestjs/common';
import { InstanceId } from '../../connectors/instance-id.js';
import { describeError } from '../../events/integration-event-publisher.js';
import { RESOLVED_OPTIONS } from '../../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../../interfaces/integration-bus-options.interface.js';
import { QueueListener } from '../../delivery/queue-listener.js';
import { QueueHealthStore } from '../../persistence/queue-health.store.js';
import { TaskQueryStore } from '../../persistence/task-query.store.js';
import { SettingsService } from '../../settings/settings.service.js';
import type { IntegrationBusSettings } from '../../interfaces/integration-bus-options.interface.js';
import type { TaskDirection } from '../services/task-management.service.js';

/** `up`, or `down` with the reason in the report's `problems`. */
export type HealthStatus = 'up' | 'down';

/** One connector's queue in one direction, as the health check saw it. */
export interface QueueHealth {
  connector: string;
  direction: TaskDirection;
  status: HealthStatus;
  /** Age of the oldest task still to deliver (parked ones left out), in milliseconds; null when none. */
  oldestTaskAgeMs: number | null;
  /** How long a failed head has blocked the queue, in milliseconds; null when nothing blocks it. */
  blockedMs: number | null;
  /** Synchronizations in the `failed` status (R-DEL-7). */
  failed: number;
  /** Synchronizations in the `parked` status (R-DEL-6). */
  parked: number;
  /** Whether this instance holds the queue's processing lease now. */
  claimHeld: boolean;
  /**
   * What stops this queue from being processed, when something does: `setting enabled`, `setting
   * processOutgoing` / `setting processIncoming` (R-SET-1) or `connector disabled`; null when it
   * runs. Named as the cause of the queue's problems: its tasks only age while it is switched off.
   */
  stoppedBy: string | null;
}

/** What the bus's health check found. */
export interface BusHealthReport {
  status: HealthStatus;
  database: { status: HealthStatus };
  /** The LISTEN connection through which instances wake each other (R-OUT-8, R-DEL-3). */
  listener: { status: HealthStatus };
  /** Per connector and direction; empty when the database does not answer. */
  queues: QueueHealth[];
  /** Why the status is `down`, one sentence each; empty when `up`. */
  problems: string[];
}

/** Longest a health check waits for the database before calling it down. */
const DATABASE_TIMEOUT_MS = 5_000;

/**
 * The checks behind `IntegrationBusHealthIndicator` and `GET /{path}/health`: the database answers,
 * the LISTEN connection is open, and no connector queue is past the `health` thresholds (oldest
 * task age, time blocked by a failed head, parked tasks; each off until set).
 */
@Injectable()
export class BusHealth {
  constructor(
    private readonly query: TaskQueryStore,
    private readonly queueHealth: QueueHealthStore,
    private readonly listener: QueueListener,
    private readonly instanceId: InstanceId,
    private readonly settings: SettingsService,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedIntegrationBusOptions,
  ) {}

  /** Runs every check; never throws. */
  async check(): Promise<BusHealthReport> {
    const problems: string[] = [];
    const listener: HealthStatus = this.listener.connected ? 'up' : 'down';
    if (listener === 'down') problems.push('The LISTEN connection to the database is not open.');
    let queues: QueueHealth[] = [];
    let database: HealthStatus = 'up';
    try {
      queues = await withTimeout(this.readQueues(), DATABASE_TIMEOUT_MS);
    } catch (error) {
      database = 'down';
      problems.push(`The database does not answer (${describeError(error)}).`);
    }
    for (const queue of queues) {
      const found = this.queueProblems(queue);
      if (found.length > 0) queue.status = 'down';
      problems.push(...found);
    }
    return {
      status: problems.length === 0 ? 'up' : 'down',
      database: { status: database },
      listener: { status: listener },
      queues,
      problems,
    };
  }

  private async readQueues(): Promise<QueueHealth[]> {
    const [rows, counts, settings] = await Promise.all([
      this.queueHealth.read(this.instanceId.value),
      this.query.statusCounts(),
      this.settings.get(),
    ]);
    const count = (connector: string, isInbound: boolean, status: string): number =>
      counts
        .filter((c) => c.connectorName === connector && c.isInbound === isInbound && c.status === status)
        .reduce((sum, c) => sum + c.count, 0);
    return rows.map((row) => ({
      connector: row.connectorName,
      direction: row.isInbound ? 'incoming' : 'outgoing',
      status: 'up',
      oldestTaskAgeMs: milliseconds(row.oldestTaskAgeSeconds),
      blockedMs: milliseconds(row.blockedSeconds),
      failed: count(row.connectorName, row.isInbound, 'failed'),
      parked: count(row.connectorName, row.isInbound, 'parked'),
      claimHeld: row.claimsHeld > 0,
      stoppedBy: stoppedBy(settings, row.isInbound, row.connectorEnabled),
    }));
  }

  private queueProblems(queue: QueueHealth): string[] {
    const { maxTaskAgeMs, maxBlockedMs, maxParked } = this.options.health;
    const name = `${queue.connector} (${queue.direction})`;
    const problems: string[] = [];
    if (maxTaskAgeMs !== null && queue.oldestTaskAgeMs !== null && queue.oldestTaskAgeMs > maxTaskAgeMs) {
      problems.push(
        `${name}: the oldest task waits for ${queue.oldestTaskAgeMs} ms (health.maxTaskAgeMs ${maxTaskAgeMs}).`,
      );
    }
    if (maxBlockedMs !== null && queue.blockedMs !== null && queue.blockedMs > maxBlockedMs) {
      problems.push(
        `${name}: a failed task has blocked the queue for ${queue.blockedMs} ms (health.maxBlockedMs ${maxBlockedMs}).`,
      );
    }
    if (maxParked !== null && queue.parked > maxParked) {
      problems.push(`${name}: ${queue.parked} parked tasks (health.maxParked ${maxParked}).`);
    }
    // A queue switched off only grows older: say so first, not only that it is old.
    if (queue.stoppedBy === null) return problems;
    const cause = `${name}: not processed, ${queue.stoppedBy === 'connector disabled' ? 'the connector is disabled' : `${queue.stoppedBy} is off`}`;
    return problems.map((problem) => `${cause}; ${problem.slice(name.length + 2)}`);
  }
}

/** What switches a queue off (see `QueueHealth.stoppedBy`), the bus-wide switch first. */
function stoppedBy(
  settings: IntegrationBusSettings,
  isInbound: boolean,
  connectorEnabled: boolean,
): string | null {
  if (!settings.enabled) return 'setting enabled';
  if (isInbound ? !settings.processIncoming : !settings.processOutgoing) {
    return `setting ${isInbound ? 'processIncoming' : 'processOutgoing'}`;
  }
  return connectorEnabled ? null : 'connector disabled';
}

function milliseconds(seconds: number | null): number | null {
  return seconds === null ? null : Math.max(0, Math.round(seconds * 1000));
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
