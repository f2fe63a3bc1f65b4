import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as connectNats } from '@nats-io/transport-node';
import { connect as connectAmqp } from 'amqplib';
import { startHost } from '../host/host-app.js';
import type { RelayTarget } from '../host/relay-connector.js';
import { seedBusTasks } from '../host/seed.js';
import { CpuMeter } from './cpu-meter.js';
import { cpuPer1000, type MeasureResult } from './job.js';
import { profileClock, recordProfileWindow } from './profile-window.js';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const RABBITMQ_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const CONNECTOR = 'Relay1';

/** What holds the relayed messages: counted after the drain, then removed. */
interface Sink {
  target: RelayTarget;
  count(): Promise<number>;
  remove(): Promise<void>;
}

async function natsSink(): Promise<Sink> {
  const id = randomUUID().replaceAll('-', '').slice(0, 12);
  const stream = `BENCH_${id}`;
  const nc = await connectNats({ servers: NATS_URL });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [`bench_${id}.>`] });
  return {
    target: { broker: 'nats', servers: NATS_URL, subjectPrefix: `bench_${id}`, stream },
    count: async () => (await jsm.streams.info(stream)).state.messages,
    remove: async () => {
      await jsm.streams.delete(stream);
      await nc.close();
    },
  };
}

async function rabbitSink(): Promise<Sink> {
  const id = randomUUID().slice(0, 8);
  const exchange = `bench.relay.${id}`;
  const connection = await connectAmqp(RABBITMQ_URL);
  const channel = await connection.createChannel();
  await channel.assertExchange(exchange, 'topic', { durable: true });
  await channel.assertQueue(exchange, { durable: true });
  await channel.bindQueue(exchange, exchange, '#');
  return {
    target: { broker: 'rabbitmq', url: RABBITMQ_URL, exchange },
    count: async () => (await channel.checkQueue(exchange)).messageCount,
    remove: async () => {
      await channel.deleteQueue(exchange);
      await channel.deleteExchange(exchange);
      await connection.close();
    },
  };
}

/**
 * Relay throughput: `tasks` tasks queued (seeded in SQL) for one relay connector, then one
 * `processOutgoingTasks()`, timed until every task has been published and confirmed by the broker
 * (JetStream PubAck / RabbitMQ publisher confirm). With `window` 1 each publish waits for the one
 * before's confirm; above 1 the relay is a batch connector (`maxBatchSize: window`) whose batches
 * are pipelined, each task OK once its own message is confirmed. The broker's count is checked
 * against the tasks afterwards.
 */
export async function measureRelayDrain(
  databaseUrl: string,
  job: { tasks: number; broker: 'nats' | 'rabbitmq'; window: number },
): Promise<MeasureResult> {
  const sink = job.broker === 'nats' ? await natsSink() : await rabbitSink();
  try {
    const relay = { ...sink.target, maxBatchSize: job.window };
    const host = await startHost({ databaseUrl, withBus: true, connectors: [CONNECTOR], relay });
    try {
      await seedBusTasks(databaseUrl, job.tasks, [CONNECTOR]);
      const cpu = await CpuMeter.start(databaseUrl);
      const window = profileClock();
      const start = performance.now();
      const counts = await host.bus!.processOutgoingTasks();
      const ms = performance.now() - start;
      const { nodeMs, postgresMs } = await cpu.stop();
      recordProfileWindow(window, profileClock());
      if (counts.OK !== job.tasks)
        throw new Error(`Expected ${job.tasks} OK results, got ${JSON.stringify(counts)}.`);
      const stored = await sink.count();
      if (stored !== job.tasks)
        throw new Error(`The broker holds ${stored} messages for ${job.tasks} tasks.`);
      return {
        values: { ms, tasksPerSecond: (job.tasks / ms) * 1000, ...cpuPer1000(nodeMs, postgresMs, job.tasks) },
        notes: { broker: job.broker, window: job.window, stored },
      };
    } finally {
      await host.close();
    }
  } finally {
    await sink.remove();
  }
}
