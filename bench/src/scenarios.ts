import type { MeasureJob } from './measure/job.js';

/** A metric a subject reports, as the table shows it. */
export interface MetricSpec {
  key: string;
  label: string;
  /** Digits after the decimal point in the table. */
  digits: number;
}

/** One thing measured in a scenario: the bus in some configuration, or a peer. */
export interface Subject {
  id: string;
  label: string;
  job: MeasureJob;
  metrics: MetricSpec[];
  /** Whether `--profile` profiles it (the bus's own subjects). */
  bus: boolean;
  /** Node flags of the child process, beyond the defaults every other subject runs with. */
  nodeFlags?: string[];
}

/** `subject.metric`, a median taken over the runs. */
export interface MetricRef {
  subject: string;
  metric: string;
}

/** A quality bar of SPEC §10 or a comparison worth printing. */
export interface Comparison {
  label: string;
  /** A ratio of two medians, or one median alone. */
  value: { ratio: [MetricRef, MetricRef] } | { metric: MetricRef };
  unit: '×' | 'ms' | 'MB' | 'tasks/s' | 'rows/s';
  bar?: { op: '<=' | '>=' | '<'; limit: number };
}

export interface Scenario {
  name: string;
  title: string;
  subjects: Subject[];
  comparisons: Comparison[];
}

const THROUGHPUT_TASKS = 100_000;
const SCALE_OUT_TASKS = 100_000;
const SCALE_OUT_OBJECTS = 10_000;
const LATENCY_RATE = 1000;
/** Producers of the latency scenario: one flush at a time each cannot hold 1,000 commits/s alone. */
const LATENCY_LANES = 8;
const FANOUT_TASKS = 100_000;
const DRAIN_TASKS = 1_000_000;
const RELAY_TASKS = 20_000;
const RESYNC_ROWS = 200_000;

function scaled(count: number, scale: number, min: number): number {
  return Math.max(min, Math.round(count * scale));
}

const perSecond = (key: string, label: string): MetricSpec => ({ key, label, digits: 0 });

/**
 * CPU time per 1,000 items of the subject's process and of PostgreSQL's backends: its own cost,
 * which moves much less than throughput with other load on the machine.
 */
const CPU: MetricSpec[] = [
  { key: 'nodeCpuMsPer1000', label: 'Node CPU ms/1k', digits: 0 },
  { key: 'postgresCpuMsPer1000', label: 'PG CPU ms/1k', digits: 0 },
];

/** The scenarios of issues 6, 13 and 14, with the quality bars of SPEC §10. */
export function buildScenarios(scale: number): Scenario[] {
  const tasks = scaled(THROUGHPUT_TASKS, scale, 1000);
  const fanout = scaled(FANOUT_TASKS, scale, 1000);
  const drain = scaled(DRAIN_TASKS, scale, 1000);
  const relayed = scaled(RELAY_TASKS, scale, 500);
  const resynced = scaled(RESYNC_ROWS, scale, 1000);
  const flushes = scaled(10, scale, 3);
  const scaleTasks = scaled(SCALE_OUT_TASKS, scale, 1000);
  const scaleObjects = scaled(SCALE_OUT_OBJECTS, scale, 100);
  const ms: MetricSpec = { key: 'ms', label: 'ms per flush', digits: 1 };
  const drainMetrics: MetricSpec[] = [
    { key: 'seconds', label: 'seconds', digits: 1 },
    perSecond('tasksPerSecond', 'tasks/s'),
    { key: 'maxRssMb', label: 'peak RSS MB', digits: 0 },
  ];
  return [
    {
      name: 'overhead',
      title: '1. Logging overhead: one flush of 1,000 inserts of a subscribed entity',
      subjects: [
        {
          id: 'without-bus',
          label: 'app without the bus',
          job: { kind: 'flush', withBus: false, entities: 1000, flushes, warmup: 3 },
          metrics: [ms],
          bus: false,
        },
        {
          id: 'with-bus',
          label: 'app with the bus (1 connector, AsyncSimple)',
          job: { kind: 'flush', withBus: true, entities: 1000, flushes, warmup: 3 },
          metrics: [ms],
          bus: true,
        },
      ],
      comparisons: [
        {
          label: 'with / without',
          value: { ratio: [ref('with-bus', 'ms'), ref('without-bus', 'ms')] },
          unit: '×',
          bar: { op: '<=', limit: 1.3 },
        },
      ],
    },
    {
      name: 'throughput',
      title: `2. Async throughput: ${tasks.toLocaleString('en')} queued tasks, one no-op connector`,
      subjects: [
        {
          id: 'bus',
          label: 'bus, defaults (batchSize 500), order kept',
          job: { kind: 'bus-drain', tasks, connectors: 1 },
          metrics: [perSecond('tasksPerSecond', 'tasks/s'), ...CPU],
          bus: true,
        },
        {
          id: 'bus-100',
          label: 'bus, batchSize 100, order kept',
          job: { kind: 'bus-drain', tasks, connectors: 1, batchSize: 100 },
          metrics: [perSecond('tasksPerSecond', 'tasks/s'), ...CPU],
          bus: true,
        },
        {
          id: 'bus-read',
          label: 'bus, defaults, connector reads task.object',
          job: { kind: 'bus-drain', tasks, connectors: 1, readObject: true },
          metrics: [perSecond('tasksPerSecond', 'tasks/s'), ...CPU],
          bus: true,
        },
        {
          id: 'gw-defaults',
          label: 'graphile-worker, defaults',
          job: { kind: 'graphile', jobs: tasks, mode: 'defaults' },
          metrics: [perSecond('jobsPerSecond', 'jobs/s'), ...CPU],
          bus: false,
        },
        {
          id: 'gw-batched',
          label: 'graphile-worker, local queue 500, batch delays 0, concurrency 24',
          job: { kind: 'graphile', jobs: tasks, mode: 'batched' },
          metrics: [perSecond('jobsPerSecond', 'jobs/s'), ...CPU],
          bus: false,
        },
        {
          id: 'gw-fifo',
          label: 'graphile-worker, one named queue (FIFO), concurrency 24, time-limited',
          job: {
            kind: 'graphile',
            jobs: tasks,
            mode: 'fifo',
            timeLimitMs: Math.max(5, Math.round(20 * scale)) * 1000,
          },
          metrics: [perSecond('jobsPerSecond', 'jobs/s'), ...CPU],
          bus: false,
        },
        {
          id: 'pg-boss',
          label: 'pg-boss, batch fetch of 500',
          job: { kind: 'pg-boss', jobs: tasks, batchSize: 500 },
          metrics: [perSecond('jobsPerSecond', 'jobs/s'), ...CPU],
          bus: false,
        },
        {
          id: 'raw-bus',
          label: "raw limit: the bus's rows, 1 connection, delete 500 oldest",
          job: { kind: 'raw', tasks, table: 'bus' },
          metrics: [perSecond('rowsPerSecond', 'rows/s'), ...CPU],
          bus: false,
        },
        {
          id: 'raw-single',
          label: 'raw limit: one (id, payload) table, 1 connection, delete 500 oldest',
          job: { kind: 'raw', tasks, table: 'single' },
          metrics: [perSecond('rowsPerSecond', 'rows/s'), ...CPU],
          bus: false,
        },
      ],
      comparisons: [
        throughputRatio('bus', 'gw-batched', 'bus / graphile-worker batched', 1.5),
        throughputRatio('bus', 'gw-defaults', 'bus / graphile-worker defaults', 20),
        throughputRatio('bus', 'raw-single', 'bus / raw limit (one table)', 0.5),
        throughputRatio('bus', 'raw-bus', "bus / raw limit (bus's rows)"),
        throughputRatio('bus', 'pg-boss', 'bus / pg-boss batch fetch'),
        throughputRatio('bus', 'gw-fifo', 'bus / graphile-worker FIFO'),
        throughputRatio('bus-read', 'gw-batched', 'bus reading task.object / graphile-worker batched'),
        throughputRatio('bus-100', 'gw-batched', 'bus batchSize 100 / graphile-worker batched'),
      ],
    },
    {
      name: 'fanout',
      title: `3. Four connectors sharing each task: ${fanout.toLocaleString('en')} tasks × 4 synchronizations`,
      subjects: [
        {
          id: 'bus-4',
          label: 'bus, 4 no-op connectors, defaults',
          job: { kind: 'bus-drain', tasks: fanout, connectors: 4 },
          metrics: [
            perSecond('tasksPerSecond', 'tasks/s'),
            perSecond('synchronizationsPerSecond', 'synchronizations/s'),
            ...CPU,
            // Tasks whose synchronizations are all done but whose row stayed (left to the sweep).
            { key: 'orphanTasks', label: 'tasks left orphaned', digits: 0 },
          ],
          bus: true,
        },
      ],
      comparisons: [],
    },
    {
      name: 'latency',
      title: `4. Latency from commit to connector call at ${LATENCY_RATE.toLocaleString('en')} tasks/s (processAfterCommit on)`,
      subjects: [
        {
          id: 'bus-latency',
          label: `bus, 1 connector, one insert per flush, ${LATENCY_LANES} producers`,
          job: {
            kind: 'latency',
            ratePerSecond: LATENCY_RATE,
            seconds: Math.max(2, Math.round(15 * scale)),
            warmupSeconds: 1,
            lanes: LATENCY_LANES,
          },
          metrics: [
            { key: 'p50Ms', label: 'p50 ms', digits: 2 },
            { key: 'p99Ms', label: 'p99 ms', digits: 2 },
            { key: 'maxMs', label: 'max ms', digits: 1 },
            { key: 'achievedRate', label: 'tasks/s achieved', digits: 0 },
          ],
          bus: true,
        },
      ],
      comparisons: [
        {
          label: 'p50',
          value: { metric: ref('bus-latency', 'p50Ms') },
          unit: 'ms',
          bar: { op: '<', limit: 5 },
        },
        {
          label: 'p99',
          value: { metric: ref('bus-latency', 'p99Ms') },
          unit: 'ms',
          bar: { op: '<', limit: 25 },
        },
        {
          // The producer flushes one insert at a time; on a loaded machine it may fall behind, and
          // then the latencies above were taken at a lower rate than the bar asks.
          label: 'rate held',
          value: { metric: ref('bus-latency', 'achievedRate') },
          unit: 'tasks/s',
          bar: { op: '>=', limit: LATENCY_RATE * 0.95 },
        },
      ],
    },
    {
      name: 'drain',
      title: `5. Drain of ${drain.toLocaleString('en')} queued tasks, one no-op connector`,
      subjects: [
        {
          id: 'bus-drain',
          label: 'bus, defaults',
          job: { kind: 'bus-drain', tasks: drain, connectors: 1 },
          metrics: drainMetrics,
          bus: true,
        },
        {
          // V8 sizes the young generation from the machine's memory (up to 64 MB per semi-space
          // with Node 24 here) and grows it while the drain allocates; capping it is a deployment
          // choice (NODE_OPTIONS), measured here beside the defaults.
          id: 'bus-drain-semi16',
          label: 'bus, defaults, node --max-semi-space-size=16',
          job: { kind: 'bus-drain', tasks: drain, connectors: 1 },
          metrics: drainMetrics,
          bus: true,
          nodeFlags: ['--max-semi-space-size=16'],
        },
      ],
      comparisons: [
        {
          label: 'peak RSS',
          value: { metric: ref('bus-drain', 'maxRssMb') },
          unit: 'MB',
          bar: { op: '<', limit: 300 },
        },
        {
          label: 'peak RSS, young generation capped',
          value: { metric: ref('bus-drain-semi16', 'maxRssMb') },
          unit: 'MB',
          bar: { op: '<', limit: 300 },
        },
      ],
    },
    {
      name: 'scale-out',
      title: `6. Scale-out: ${scaleTasks.toLocaleString('en')} changes of ${scaleObjects.toLocaleString('en')} objects, one ordering: 'object' connector taking 2 ms per call`,
      subjects: [1, 3].map((instances) => ({
        id: `instances-${instances}`,
        label: `${instances} instance${instances > 1 ? 's' : ''} (separate processes), 16 partitions, concurrency 4`,
        job: {
          kind: 'scale-out' as const,
          tasks: scaleTasks,
          objects: scaleObjects,
          instances,
          callMs: 2,
          partitions: 16,
          concurrency: 4,
        },
        metrics: [{ key: 'seconds', label: 'seconds', digits: 1 }, perSecond('tasksPerSecond', 'tasks/s')],
        bus: true,
      })),
      comparisons: [
        {
          label: '3 instances / 1 instance',
          value: { ratio: [ref('instances-3', 'tasksPerSecond'), ref('instances-1', 'tasksPerSecond')] },
          unit: '×',
          bar: { op: '>=', limit: 2.5 },
        },
      ],
    },
    {
      name: 'relay',
      title: `7. Relay throughput: ${relayed.toLocaleString('en')} queued tasks published by one relay connector, each confirmed before the next`,
      subjects: [
        {
          id: 'relay-nats',
          label: 'NATS JetStream relay (PubAck per task)',
          job: { kind: 'relay-drain', tasks: relayed, broker: 'nats' },
          metrics: [perSecond('tasksPerSecond', 'tasks/s'), ...CPU],
          bus: true,
        },
        {
          id: 'relay-rabbitmq',
          label: 'RabbitMQ relay (publisher confirm per task, persistent)',
          job: { kind: 'relay-drain', tasks: relayed, broker: 'rabbitmq' },
          metrics: [perSecond('tasksPerSecond', 'tasks/s'), ...CPU],
          bus: true,
        },
        {
          id: 'relay-noop',
          label: 'the same queue, a no-op connector (the bus alone)',
          job: { kind: 'bus-drain', tasks: relayed, connectors: 1 },
          metrics: [perSecond('tasksPerSecond', 'tasks/s'), ...CPU],
          bus: true,
        },
      ],
      comparisons: [
        { label: 'NATS relay', value: { metric: ref('relay-nats', 'tasksPerSecond') }, unit: 'tasks/s' },
        {
          label: 'RabbitMQ relay',
          value: { metric: ref('relay-rabbitmq', 'tasksPerSecond') },
          unit: 'tasks/s',
        },
        {
          label: 'NATS relay / no-op connector',
          value: { ratio: [ref('relay-nats', 'tasksPerSecond'), ref('relay-noop', 'tasksPerSecond')] },
          unit: '×',
        },
        {
          label: 'RabbitMQ relay / no-op connector',
          value: { ratio: [ref('relay-rabbitmq', 'tasksPerSecond'), ref('relay-noop', 'tasksPerSecond')] },
          unit: '×',
        },
      ],
    },
    {
      name: 'resync',
      title: `8. Resync: ${resynced.toLocaleString('en')} existing rows to one no-op connector (R-RES-1)`,
      subjects: [
        {
          id: 'bus',
          label: 'bus.resync, chunks of 1,000, delivered as it goes (processAfterCommit on)',
          job: { kind: 'resync', rows: resynced, chunkSize: 1000 },
          metrics: [
            perSecond('rowsPerSecond', 'rows/s delivered'),
            perSecond('loggedRowsPerSecond', 'rows/s logged'),
            ...CPU,
          ],
          bus: true,
        },
      ],
      comparisons: [
        {
          label: 'resync, call to last delivery',
          value: { metric: ref('bus', 'rowsPerSecond') },
          unit: 'rows/s',
          bar: { op: '>=', limit: 20_000 },
        },
      ],
    },
  ];
}

function ref(subject: string, metric: string): MetricRef {
  return { subject, metric };
}

/** The throughput metric of a subject of scenario 2, by its id. */
function throughputMetric(id: string): string {
  return id.startsWith('raw') ? 'rowsPerSecond' : id.startsWith('bus') ? 'tasksPerSecond' : 'jobsPerSecond';
}

function throughputRatio(bus: string, peer: string, label: string, atLeast?: number): Comparison {
  return {
    label,
    value: { ratio: [ref(bus, throughputMetric(bus)), ref(peer, throughputMetric(peer))] },
    unit: '×',
    ...(atLeast === undefined ? {} : { bar: { op: '>=' as const, limit: atLeast } }),
  };
}
