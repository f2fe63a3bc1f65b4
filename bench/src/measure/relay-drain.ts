import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect as connectNats, headers as natsHeaders } from '@nats-io/transport-node';
import { connect as connectAmqp } from 'amqplib';
import { BrokerCpuMeter, brokerCpuPer1000 } from './broker-cpu.js';
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
  /**
   * Publishes message `i` as the relay would (same body size and headers) with the broker's own
   * client, and resolves once the broker has confirmed it: the bare-client reference.
   */
  publishBare(i: number): Promise<unknown>;
}

/** A relay message's headers and body for bare message `i`: the layout the relay sends for a seeded user. */
function bareMessage(i: number): { headers: Record<string, string>; body: Buffer; messageId: string } {
  const guid = randomUUID();
  const createdAt = new Date().toISOString();
  const envelope = {
    v: 1,
    taskGuid: guid,
    taskType: 'CREATEOBJ',
    objectType: 'bench.user',
    codeName: `user-${i}`,
    siteName: null,
    dataType: 'SIMPLE',
    connector: CONNECTOR,
    objectKey: String(i + 1),
    sequence: i + 1,
    data: { id: i + 1, userName: `user-${i}`, email: `user-${i}@example.com`, createdAt },
    translations: [],
    createdAt,
  };
  return {
    headers: {
      'Bus-Task-Type': 'CREATEOBJ',
      'Bus-Object-Type': 'bench.user',
      'Bus-Object-Key': String(i + 1),
      'Bus-Sequence': String(i + 1),
      'Content-Type': 'application/json',
    },
    body: Buffer.from(JSON.stringify(envelope)),
    messageId: `${guid}:${CONNECTOR}`,
  };
}

async function natsSink(): Promise<Sink> {
  const id = randomUUID().replaceAll('-', '').slice(0, 12);
  const stream = `BENCH_${id}`;
  const nc = await connectNats({ servers: NATS_URL });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [`bench_${id}.>`] });
  const js = jetstream(nc);
  return {
    target: { broker: 'nats', servers: NATS_URL, subjectPrefix: `bench_${id}`, stream },
    publishBare: (i) => {
      const message = bareMessage(i);
      const headers = natsHeaders();
      for (const [name, value] of Object.entries(message.headers)) headers.append(name, value);
      return js.publish(`bench_${id}.bench.user.CREATEOBJ`, message.body, {
        msgID: message.messageId,
        headers,
      });
    },
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
  const confirms = await connection.createConfirmChannel();
  return {
    target: { broker: 'rabbitmq', url: RABBITMQ_URL, exchange },
    publishBare: (i) => {
      const message = bareMessage(i);
      return new Promise<void>((resolve, reject) =>
        confirms.publish(
          exchange,
          'bench.user.CREATEOBJ',
          message.body,
          {
            persistent: true,
            mandatory: true,
            messageId: message.messageId,
            contentType: 'application/json',
            type: 'CREATEOBJ',
            headers: message.headers,
          },
          (error: unknown) => (error ? reject(new Error(`nacked: ${String(error)}`)) : resolve()),
        ),
      );
    },
    count: async () => (await channel.checkQueue(exchange)).messageCount,
    remove: async () => {
      await channel.deleteQueue(exchange);
      await channel.deleteExchange(exchange);
      await connection.close();
    },
  };
}

/**
 * The bare-client reference: `messages` messages like the relay's published with the broker's own
 * client, as the pipelined relay does — windows of `window`, the next window sent while the one
 * before waits for its confirms, two at most — with nothing read from or written to the database.
 */
async function publishBare(sink: Sink, messages: number, window: number): Promise<void> {
  let before: Promise<unknown> | null = null;
  for (let start = 0; start < messages; start += window) {
    const sent = [];
    for (let i = start; i < Math.min(messages, start + window); i++) sent.push(sink.publishBare(i));
    const current = Promise.all(sent);
    current.catch(() => {}); // awaited below, once the next window is out
    if (before) await before;
    before = current;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await before;
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
  job: { tasks: number; broker: 'nats' | 'rabbitmq'; window: number; bare?: boolean },
): Promise<MeasureResult> {
  const sink = job.broker === 'nats' ? await natsSink() : await rabbitSink();
  try {
    if (job.bare) return await measureBare(databaseUrl, sink, job);
    const relay = { ...sink.target, maxBatchSize: job.window };
    const host = await startHost({ databaseUrl, withBus: true, connectors: [CONNECTOR], relay });
    try {
      await seedBusTasks(databaseUrl, job.tasks, [CONNECTOR]);
      const cpu = await CpuMeter.start(databaseUrl);
      const broker = await BrokerCpuMeter.start(job.broker);
      const window = profileClock();
      const start = performance.now();
      const counts = await host.bus!.processOutgoingTasks();
      const ms = performance.now() - start;
      const { nodeMs, postgresMs } = await cpu.stop();
      const brokerMs = await broker.stop();
      recordProfileWindow(window, profileClock());
      if (counts.OK !== job.tasks)
        throw new Error(`Expected ${job.tasks} OK results, got ${JSON.stringify(counts)}.`);
      const stored = await sink.count();
      if (stored !== job.tasks)
        throw new Error(`The broker holds ${stored} messages for ${job.tasks} tasks.`);
      return publishResult(
        job.tasks,
        ms,
        { nodeMs, postgresMs, brokerMs },
        { broker: job.broker, window: job.window, stored },
      );
    } finally {
      await host.close();
    }
  } finally {
    await sink.remove();
  }
}

/** The bare-client reference of `measureRelayDrain` (`bare`): the same sink, no bus. */
async function measureBare(
  databaseUrl: string,
  sink: Sink,
  job: { tasks: number; broker: 'nats' | 'rabbitmq'; window: number },
): Promise<MeasureResult> {
  const cpu = await CpuMeter.start(databaseUrl);
  const broker = await BrokerCpuMeter.start(job.broker);
  const start = performance.now();
  await publishBare(sink, job.tasks, job.window);
  const ms = performance.now() - start;
  const { nodeMs, postgresMs } = await cpu.stop();
  const brokerMs = await broker.stop();
  const stored = await sink.count();
  if (stored !== job.tasks)
    throw new Error(`The broker holds ${stored} messages for ${job.tasks} published.`);
  return publishResult(
    job.tasks,
    ms,
    { nodeMs, postgresMs, brokerMs },
    { broker: job.broker, window: job.window, stored, bare: true },
  );
}

/** What a relay subject and its bare-client reference report: the rate, and CPU per 1,000 messages. */
function publishResult(
  messages: number,
  ms: number,
  cpu: { nodeMs: number; postgresMs: number | null; brokerMs: number | null },
  notes: Record<string, unknown>,
): MeasureResult {
  return {
    values: {
      ms,
      tasksPerSecond: (messages / ms) * 1000,
      ...cpuPer1000(cpu.nodeMs, cpu.postgresMs, messages),
      ...brokerCpuPer1000(cpu.brokerMs, messages),
    },
    notes,
  };
}
