import { Inject, Injectable, Optional, type OnApplicationBootstrap } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import {
  ConnectorCallHook,
  type ConnectorCall,
  type ConnectorCallEnd,
} from '../../delivery/connector-call-hook.js';
import { ConnectorRegistry } from '../../connectors/connector-registry.js';
import { SupersededTasks } from '../../delivery/latest-changes.js';
import { InstanceId } from '../../connectors/instance-id.js';
import {
  CONSUMER_INTAKE_OUTCOMES,
  ConsumerIntakeHook,
  type IntakeConsumer,
} from '../../events/consumer-intake.js';
import { IntegrationProcessResult } from '../../enums/integration-process-result.enum.js';
import { IntegrationEvents } from '../../events/integration-events.js';
import type { IntegrationTaskEvent } from '../../events/integration-task-event.js';
import { RESOLVED_OPTIONS } from '../../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../../interfaces/integration-bus-options.interface.js';
import { SETTING_KEYS } from '../../interfaces/resolve-options.js';
import {
  QueueHealthStore,
  type DueTasksRow,
  type QueueHealthRow,
} from '../../persistence/queue-health.store.js';
import { SettingsService } from '../../settings/settings.service.js';
import { TaskQueryStore, type QueueDepthRow } from '../../persistence/task-query.store.js';

/** Processing starts remembered at most, for tasks whose After event never comes (cancelled). */
const MAX_PENDING_STARTS = 10_000;

/** Labels of the per-task metrics. */
type TaskLabels = 'connector' | 'direction';

/**
 * The bus's Prometheus metrics, in a `Registry` of its own served at `GET /{path}/metrics` (the
 * host's default registry is left alone). With the `metrics.registry` option they are registered
 * in the host's registry as well, and count from start-up.
 *
 * - `integration_bus_queue_depth{connector,direction}`: synchronizations waiting, counted in the
 *   database at scrape time (≈ 0.2 s with a million queued), so every instance reports the shared
 *   queue;
 * - `integration_bus_tasks{connector,direction,status}`: the same synchronizations by status
 *   (`waiting`, `failed`, `retrying`, `skipped`, `parked`, R-DEL-7): alert on `parked` > 0, or on
 *   `failed` staying above 0;
 * - `integration_bus_tasks_due{connector,direction}`: of those, the ones a run would take now (not
 *   backing off, not held behind a failed task), from the database: what "nobody processes" means;
 * - `integration_bus_tasks_processed_total{connector,direction,result}`: tasks this instance
 *   handed to a connector, by result;
 * - `integration_bus_tasks_failed_total{connector,direction}`: those that ended in Error or
 *   ErrorAndSkip;
 * - `integration_bus_task_processing_seconds{connector,direction}`: from a task's Before event to
 *   its After event, i.e. rebuilding it and the connector's handling;
 * - `integration_bus_oldest_task_age_seconds{connector,direction}`: age of the oldest task still
 *   to deliver (parked ones left out; 0 when the queue is empty), from the database;
 * - `integration_bus_blocked_seconds{connector,direction}`: how long a failed head has held the
 *   queue (0 when nothing blocks it), from the database;
 * - `integration_bus_claims_held{connector,direction}`: 1 while this instance holds the queue's
 *   processing lease (with `ordering: 'object'`, the number of its partitions it holds);
 * - `integration_bus_connector_call_duration_seconds{connector,direction,result}`: connector calls
 *   of this instance (outgoing: the handler, timeout included; incoming: applying the task);
 * - `integration_bus_task_retries_total{connector,direction}`: calls of a task attempted before;
 * - `integration_bus_tasks_parked_total{connector,direction}`: tasks this instance parked (R-DEL-6);
 * - `integration_bus_connector_paused_seconds{connector}`: seconds until an answer with
 *   `pauseConnector` stops pausing the connector (R-EXT-2), from the database; 0 when not paused;
 * - `integration_bus_tasks_superseded_total{connector,direction}`: queued tasks this instance
 *   superseded by a later change of their object, undelivered (`coalesce: 'latest'`, R-EXT-3);
 * - `integration_bus_setting_enabled{setting}`: the five switches as stored, 1 on, 0 off (R-SET-1);
 * - `integration_bus_consumer_messages_total{consumer,connector,outcome}`: broker messages this
 *   instance's consumers took, by outcome (`accepted`, `duplicate`, `stale`, `poison`, `retried`).
 *
 * Every counter is exported from 0 (R-OPS-2): per loaded connector, both directions and every
 * result, and per consumer every outcome, from the moment the counters start, so that `rate()` and
 * `increase()` see the first event. The counters listen to `IntegrationEvents.ProcessInternalTask` /
 * `ProcessExternalTask` through `@nestjs/event-emitter` (the host imports `EventEmitterModule`, as
 * for any bus event), to the `ConnectorCallHook` and to the `ConsumerIntakeHook`. They start at the
 * first scrape, not at start-up: until someone reads the metrics, the processing hot path does not
 * build event payloads for them. Prometheus takes that start like a restart.
 */
@Injectable()
export class BusMetrics implements OnApplicationBootstrap {
  /** The registry holding the bus's metrics. */
  readonly registry = new Registry();
  readonly #processed: Counter<TaskLabels | 'result'>;
  readonly #failed: Counter<TaskLabels>;
  readonly #duration: Histogram<TaskLabels>;
  readonly #callDuration: Histogram<TaskLabels | 'result'>;
  readonly #retries: Counter<TaskLabels>;
  readonly #parked: Counter<TaskLabels>;
  readonly #superseded: Counter<TaskLabels>;
  readonly #intake: Counter<'consumer' | 'connector' | 'outcome'>;
  /** Connectors whose series are exported from 0 already. */
  readonly #zeroed = new Set<string>();
  readonly #starts = new Map<string, number>();
  #depth: Promise<QueueDepthRow[]> | undefined;
  #queues: Promise<QueueHealthRow[]> | undefined;
  #due: Promise<DueTasksRow[]> | undefined;
  #listening = false;

  constructor(
    private readonly query: TaskQueryStore,
    private readonly queueHealth: QueueHealthStore,
    private readonly instanceId: InstanceId,
    private readonly calls: ConnectorCallHook,
    private readonly connectors: ConnectorRegistry,
    private readonly settings: SettingsService,
    private readonly intake: ConsumerIntakeHook,
    private readonly supersededTasks: SupersededTasks,
    @Inject(RESOLVED_OPTIONS) options: ResolvedIntegrationBusOptions,
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
    const readDue = () => this.readDue();
    this.registry.registerMetric(
      new Gauge({
        name: 'integration_bus_tasks_due',
        help: 'Synchronizations a run would take now: not backing off, not held behind a failed task.',
        labelNames: ['connector', 'direction'],
        registers: [],
        async collect() {
          this.reset();
          for (const row of await readDue()) {
            this.set({ connector: row.connectorName, direction: directionOf(row.isInbound) }, row.due);
          }
        },
      }),
    );
    const readConnectors = () => this.connectors.statuses();
    this.registry.registerMetric(
      new Gauge({
        name: 'integration_bus_connector_paused_seconds',
        help: 'Seconds until an answer with pauseConnector stops pausing the connector (R-EXT-2); 0 when not paused.',
        labelNames: ['connector'],
        registers: [],
        async collect() {
          this.reset();
          const now = Date.now();
          for (const c of await readConnectors()) {
            if (!c.loaded) continue;
            const left = c.pausedUntil === null ? 0 : (Date.parse(c.pausedUntil) - now) / 1000;
            this.set({ connector: c.codeName }, Math.max(0, left));
          }
        },
      }),
    );
    const readSettings = () => this.settings.get();
    this.registry.registerMetric(
      new Gauge({
        name: 'integration_bus_setting_enabled',
        help: 'The bus switches (R-SET-1) as stored: 1 on, 0 off. The four others act only while enabled is on.',
        labelNames: ['setting'],
        registers: [],
        async collect() {
          const stored = await readSettings();
          for (const key of SETTING_KEYS) this.set({ setting: key }, stored[key] ? 1 : 0);
        },
      }),
    );
    this.#processed = new Counter({
      name: 'integration_bus_tasks_processed_total',
      help: 'Tasks handed to a connector by this instance, by result.',
      labelNames: ['connector', 'direction', 'result'],
      registers,
    });
    this.#failed = queueCounter(
      'integration_bus_tasks_failed_total',
      'Tasks whose processing ended in ERROR or ERRORANDSKIP on this instance.',
      registers,
    );
    this.#duration = new Histogram({
      name: 'integration_bus_task_processing_seconds',
      help: 'Time from the start of a task processing to its result, connector call included.',
      labelNames: ['connector', 'direction'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers,
    });
    this.#callDuration = new Histogram({
      name: 'integration_bus_connector_call_duration_seconds',
      help: 'Duration of connector calls made by this instance, by result.',
      labelNames: ['connector', 'direction', 'result'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60],
      registers,
    });
    this.#retries = queueCounter(
      'integration_bus_task_retries_total',
      'Connector calls of a task that had been attempted before (retries), on this instance.',
      registers,
    );
    this.#parked = queueCounter(
      'integration_bus_tasks_parked_total',
      'Tasks parked by this instance after failing retry.maxAttempts times (or skipping retry.skipNow.maxAttempts times).',
      registers,
    );
    this.#superseded = queueCounter(
      'integration_bus_tasks_superseded_total',
      "Queued tasks this instance superseded by a later change of the same object, undelivered (coalesce: 'latest', R-EXT-3).",
      registers,
    );
    this.#intake = new Counter({
      name: 'integration_bus_consumer_messages_total',
      help: 'Broker messages taken by the consumers of this instance, by outcome.',
      labelNames: ['consumer', 'connector', 'outcome'],
      registers,
    });
    const queues = () => this.readQueues();
    const gauges: [string, string, (row: QueueHealthRow) => number][] = [
      [
        'integration_bus_oldest_task_age_seconds',
        'Age of the oldest task still to deliver (parked tasks excluded); 0 when none.',
        (row) => row.oldestTaskAgeSeconds ?? 0,
      ],
      [
        'integration_bus_blocked_seconds',
        'How long a failed task at the head has held the queue; 0 when nothing blocks it.',
        (row) => row.blockedSeconds ?? 0,
      ],
      [
        'integration_bus_claims_held',
        'Processing leases (claims) this instance holds: 1 per connector queue it is processing, or per partition with ordering: object.',
        (row) => row.claimsHeld,
      ],
    ];
    for (const [name, help, valueOf] of gauges) {
      this.registry.registerMetric(queueGauge(name, help, queues, valueOf));
    }
    const host = options.metrics.registry;
    if (host) {
      // Whoever scrapes the host's registry never calls render(): count from start-up.
      for (const { name } of this.registry.getMetricsAsArray()) {
        const metric = this.registry.getSingleMetric(name);
        if (metric) host.registerMetric(metric);
      }
      this.listen();
    }
  }

  /** Content type of `render()`'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The metrics in the Prometheus text format; starts the counters on the first call. */
  render(): Promise<string> {
    this.listen();
    this.zeroConnectors();
    return this.registry.metrics();
  }

  /** With the host's registry, the counters count from start-up: every series from 0 once connectors are loaded. */
  onApplicationBootstrap(): void {
    if (this.#listening) this.zeroConnectors();
  }

  /** Subscribes the counters to the connector calls, the processing events and the consumers, once. */
  listen(): void {
    if (this.#listening) return;
    this.#listening = true;
    this.calls.watch({ started: (call) => this.callStarted(call) });
    this.supersededTasks.watch((connector, count) =>
      this.#superseded.inc({ connector, direction: 'outgoing' }, count),
    );
    this.intake.watch({
      started: (consumer) => this.zeroConsumer(consumer),
      took: (consumer, outcome) => this.#intake.inc({ ...consumer, outcome }),
    });
    if (!this.emitter) return;
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

  private callStarted(call: ConnectorCall): (end: ConnectorCallEnd) => void {
    const started = performance.now();
    const labels = { connector: call.connector.codeName, direction: call.direction };
    if (call.attempt > 1) this.#retries.inc(labels);
    return (end) => {
      if (end.interrupted) return;
      this.#callDuration.observe({ ...labels, result: end.result }, (performance.now() - started) / 1000);
      // The same rule the outgoing processor applies (R-DEL-6, R-EXT-4); incoming and synchronous
      // tasks are never parked.
      const queued = call.direction === 'outgoing' && !call.synchronous;
      if (queued && call.connector.retry.parksAfter(end, call)) {
        this.#parked.inc(labels);
      }
    };
  }

  /**
   * Exports every counter series of each loaded connector from 0 (R-OPS-2): a series that appears
   * only at its first increment hides that increment from `rate()`. Connectors loaded later (a
   * reinitialization) are added at the next scrape.
   */
  private zeroConnectors(): void {
    for (const { codeName: connector } of this.connectors.loaded) {
      if (this.#zeroed.has(connector)) continue;
      this.#zeroed.add(connector);
      for (const direction of ['outgoing', 'incoming'] as const) {
        const labels = { connector, direction };
        for (const result of Object.values(IntegrationProcessResult)) {
          this.#processed.inc({ ...labels, result }, 0);
          this.#callDuration.zero({ ...labels, result });
        }
        this.#failed.inc(labels, 0);
        this.#retries.inc(labels, 0);
        this.#parked.inc(labels, 0);
        if (direction === 'outgoing') this.#superseded.inc(labels, 0);
        this.#duration.zero(labels);
      }
    }
  }

  private zeroConsumer(consumer: IntakeConsumer): void {
    for (const outcome of CONSUMER_INTAKE_OUTCOMES) this.#intake.inc({ ...consumer, outcome }, 0);
  }

  /** Like `readDepth`: one read of the due counts per scrape. */
  private readDue(): Promise<DueTasksRow[]> {
    this.#due ??= this.queueHealth.dueCounts().finally(() => (this.#due = undefined));
    return this.#due;
  }

  /** Like `readDepth`: one read of the per-queue health rows per scrape. */
  private readQueues(): Promise<QueueHealthRow[]> {
    this.#queues ??= this.queueHealth.read(this.instanceId.value).finally(() => (this.#queues = undefined));
    return this.#queues;
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

/** A counter per connector and direction. */
function queueCounter(name: string, help: string, registers: Registry[]): Counter<TaskLabels> {
  return new Counter({ name, help, labelNames: ['connector', 'direction'], registers });
}

/** A gauge per connector and direction whose value is read from the queue health rows at scrape time. */
function queueGauge(
  name: string,
  help: string,
  read: () => Promise<QueueHealthRow[]>,
  valueOf: (row: QueueHealthRow) => number,
): Gauge<TaskLabels> {
  return new Gauge({
    name,
    help,
    labelNames: ['connector', 'direction'],
    registers: [],
    async collect() {
      this.reset();
      for (const row of await read()) {
        this.set({ connector: row.connectorName, direction: directionOf(row.isInbound) }, valueOf(row));
      }
    },
  });
}

function directionOf(isInbound: boolean): 'incoming' | 'outgoing' {
  return isInbound ? 'incoming' : 'outgoing';
}

function keyOf(event: IntegrationTaskEvent): string {
  return `${event.connectorName ?? ''}#${event.task.id}`;
}
