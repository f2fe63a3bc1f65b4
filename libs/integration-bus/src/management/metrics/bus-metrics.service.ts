import { Injectable, Optional } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { IntegrationProcessResult } from '../../enums/integration-process-result.enum.js';
import { IntegrationEvents } from '../../events/integration-events.js';
import type { IntegrationTaskEvent } from '../../events/integration-task-event.js';
import { TaskQueryStore, type QueueDepthRow } from '../../persistence/task-query.store.js';

/** Processing starts remembered at most, for tasks whose After event never comes (cancelled). */
const MAX_PENDING_STARTS = 10_000;

/** Labels of the per-task metrics. */
type TaskLabels = 'connector' | 'direction';

/**
 * The bus's Prometheus metrics, in a `Registry` of its own (the host's default registry is left
 * alone; a host that wants them merged can `Registry.merge` with `registry`):
 *
 * - `integration_bus_queue_depth{connector,direction}`: synchronizations waiting, counted in the
 *   database at scrape time (≈ 0.2 s with a million queued), so every instance reports the shared
 *   queue;
 * - `integration_bus_tasks{connector,direction,status}`: the same synchronizations by status
 *   (`waiting`, `failed`, `retrying`, `skipped`, `parked`, R-DEL-7): alert on `parked` > 0, or on
 *   `failed` staying above 0;
 * - `integration_bus_tasks_processed_total{connector,direction,result}`: tasks this instance
 *   handed to a connector, by result;
 * - `integration_bus_tasks_failed_total{connector,direction}`: those that ended in Error or
 *   ErrorAndSkip;
 * - `integration_bus_task_processing_seconds{connector,direction}`: from a task's Before event to
 *   its After event, i.e. rebuilding it and the connector's handling.
 *
 * The counters listen to `IntegrationEvents.ProcessInternalTask` / `ProcessExternalTask` through
 * `@nestjs/event-emitter` (the host imports `EventEmitterModule`, as for any bus event). They
 * start listening at the first scrape, not at start-up: until someone reads the metrics, the
 * processing hot path does not build event payloads for them. Counters therefore start at zero
 * with the first scrape, which Prometheus treats like a restart.
 */
@Injectable()
export class BusMetrics {
  /** The registry holding the bus's metrics. */
  readonly registry = new Registry();
  readonly #processed: Counter<TaskLabels | 'result'>;
  readonly #failed: Counter<TaskLabels>;
  readonly #duration: Histogram<TaskLabels>;
  readonly #starts = new Map<string, number>();
  #depth: Promise<QueueDepthRow[]> | undefined;
  #listening = false;

  constructor(
    private readonly query: TaskQueryStore,
    @Optional() private readonly emitter?: EventEmitter2,
  ) {
    const registers = [this.registry];
    const read = () => this.readDepth();
    const queueDepth = new Gauge({
      name: 'integration_bus_queue_depth',
      help: 'Synchronizations (task x connector) waiting in the queue.',
      labelNames: ['connector', 'direction'],
      registers: [],
      async collect() {
        this.reset();
        for (const row of await read()) {
          this.set({ connector: row.connectorName, direction: directionOf(row.isInbound) }, row.depth);
        }
      },
    });
    this.registry.registerMetric(queueDepth);
    const readStatuses = () => this.readStatuses();
    const byStatus = new Gauge({
      name: 'integration_bus_tasks',
      help: 'Synchronizations (task x connector) in the queue, by status.',
      labelNames: ['connector', 'direction', 'status'],
      registers: [],
      async collect() {
        this.reset();
        const [depths, counts] = await Promise.all([read(), readStatuses()]);
        const waiting = new Map(depths.map((d) => [`${d.connectorName}#${d.isInbound}`, d.depth]));
        for (const row of counts) {
          const direction = directionOf(row.isInbound);
          this.set({ connector: row.connectorName, direction, status: row.status }, row.count);
          const key = `${row.connectorName}#${row.isInbound}`;
          waiting.set(key, (waiting.get(key) ?? 0) - row.count);
        }
        for (const d of depths) {
          const count = Math.max(0, waiting.get(`${d.connectorName}#${d.isInbound}`) ?? 0);
          this.set(
            { connector: d.connectorName, direction: directionOf(d.isInbound), status: 'waiting' },
            count,
          );
        }
      },
    });
    this.registry.registerMetric(byStatus);
    this.#processed = new Counter({
      name: 'integration_bus_tasks_processed_total',
      help: 'Tasks handed to a connector by this instance, by result.',
      labelNames: ['connector', 'direction', 'result'],
      registers,
    });
    this.#failed = new Counter({
      name: 'integration_bus_tasks_failed_total',
      help: 'Tasks whose processing ended in ERROR or ERRORANDSKIP on this instance.',
      labelNames: ['connector', 'direction'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'integration_bus_task_processing_seconds',
      help: 'Time from the start of a task processing to its result, connector call included.',
      labelNames: ['connector', 'direction'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers,
    });
  }

  /** Content type of `render()`'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The metrics in the Prometheus text format; starts the counters on the first call. */
  render(): Promise<string> {
    this.listen();
    return this.registry.metrics();
  }

  /** Subscribes the counters to the processing events, once. */
  listen(): void {
    if (this.#listening || !this.emitter) return;
    this.#listening = true;
    for (const events of [IntegrationEvents.ProcessInternalTask, IntegrationEvents.ProcessExternalTask]) {
      this.emitter.on(events.Before, (event: IntegrationTaskEvent) => this.started(event));
      this.emitter.on(events.After, (event: IntegrationTaskEvent) => this.finished(event));
    }
  }

  private started(event: IntegrationTaskEvent): void {
    if (this.#starts.size >= MAX_PENDING_STARTS) this.#starts.clear();
    this.#starts.set(keyOf(event), performance.now());
  }

  private finished(event: IntegrationTaskEvent): void {
    const labels = { connector: event.connectorName ?? '', direction: directionOf(event.task.isInbound) };
    const result = event.result ?? IntegrationProcessResult.OK;
    this.#processed.inc({ ...labels, result });
    if (result === IntegrationProcessResult.Error || result === IntegrationProcessResult.ErrorAndSkip) {
      this.#failed.inc(labels);
    }
    const key = keyOf(event);
    const start = this.#starts.get(key);
    if (start !== undefined) {
      this.#starts.delete(key);
      this.#duration.observe(labels, (performance.now() - start) / 1000);
    }
  }

  private readStatuses() {
    return this.query.statusCounts();
  }

  /** Scrapes that arrive while the count runs share it; each later scrape counts afresh. */
  private readDepth(): Promise<QueueDepthRow[]> {
    this.#depth ??= this.query.queueDepth().finally(() => (this.#depth = undefined));
    return this.#depth;
  }
}

function directionOf(isInbound: boolean): 'incoming' | 'outgoing' {
  return isInbound ? 'incoming' : 'outgoing';
}

function keyOf(event: IntegrationTaskEvent): string {
  return `${event.connectorName ?? ''}#${event.task.id}`;
}
