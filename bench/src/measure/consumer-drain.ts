import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { headers as natsHeaders, connect as connectNats } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect as connectAmqp } from 'amqplib';
import { IntakeCounters } from 'nestjs-integration-bus';
import {
  benchConsumer,
  InboundConnector,
  INBOUND_CONNECTOR,
  type BenchConsumer,
  type ConsumerSource,
} from '../host/bench-consumer.js';
import { startHost } from '../host/host-app.js';
import { BrokerCpuMeter, brokerCpuPer1000 } from './broker-cpu.js';
import { CpuMeter } from './cpu-meter.js';
import { cpuPer1000, type MeasureResult } from './job.js';
import { profileClock, recordProfileWindow } from './profile-window.js';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const RABBITMQ_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** The body of message `i`: what the HTTP ingest route takes too. */
const bodyOf = (i: number) =>
  JSON.stringify({
    object: { userName: `user-${i}`, email: `user-${i}@example.com` },
    taskType: 'CREATEOBJ',
  });

/** Where the messages wait: filled beforehand by an independent client, removed afterwards. */
interface Backlog {
  source: ConsumerSource;
  remove(): Promise<void>;
}

async function natsBacklog(messages: number): Promise<Backlog> {
  const id = randomUUID().replaceAll('-', '').slice(0, 12);
  const stream = `BENCHIN_${id}`;
  const nc = await connectNats({ servers: NATS_URL });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [`benchin_${id}.>`] });
  const js = jetstream(nc);
  for (let start = 0; start < messages; start += 1000) {
    const acks: Promise<unknown>[] = [];
    for (let i = start; i < Math.min(messages, start + 1000); i++) {
      const h = natsHeaders();
      h.set('Nats-Msg-Id', `bench-${id}-${i}`);
      acks.push(js.publish(`benchin_${id}.user`, bodyOf(i), { headers: h }));
    }
    await Promise.all(acks);
  }
  return {
    source: { broker: 'nats', servers: NATS_URL, stream },
    remove: async () => {
      await jsm.streams.delete(stream);
      await nc.close();
    },
  };
}

async function rabbitBacklog(messages: number): Promise<Backlog> {
  const queue = `bench.in.${randomUUID().slice(0, 8)}`;
  const connection = await connectAmqp(RABBITMQ_URL);
  const channel = await connection.createConfirmChannel();
  await channel.assertQueue(queue, { durable: true });
  for (let i = 0; i < messages; i++) {
    const body = Buffer.from(bodyOf(i));
    if (!channel.sendToQueue(queue, body, { messageId: `bench-${i}`, persistent: true })) {
      await new Promise((resolve) => channel.once('drain', resolve));
    }
    if (i % 1000 === 999) await channel.waitForConfirms();
  }
  await channel.waitForConfirms();
  return {
    source: { broker: 'rabbitmq', url: RABBITMQ_URL, queue },
    remove: async () => {
      await channel.deleteQueue(queue);
      await connection.close();
    },
  };
}

/**
 * Consumer throughput: `messages` messages published beforehand (by a client of the broker's own,
 * each with a message id), then one broker consumer of the library started with its default batch
 * options, timed until every message is an incoming task in the database (counted by the
 * consumer's intake counts, then checked in SQL).
 */
export async function measureConsumerDrain(
  databaseUrl: string,
  job: { messages: number; broker: 'nats' | 'rabbitmq' },
): Promise<MeasureResult> {
  const backlog = job.broker === 'nats' ? await natsBacklog(job.messages) : await rabbitBacklog(job.messages);
  try {
    const consumerClass = benchConsumer(backlog.source);
    const host = await startHost({
      databaseUrl,
      withBus: true,
      providers: [InboundConnector, consumerClass],
    });
    try {
      const counters = host.app.get(IntakeCounters);
      const consumer = host.app.get<BenchConsumer>(consumerClass);
      const cpu = await CpuMeter.start(databaseUrl);
      const broker = await BrokerCpuMeter.start(job.broker);
      const window = profileClock();
      const start = performance.now();
      await consumer.go();
      for (;;) {
        const count = counters.of(consumerClass.name);
        if (count && count.accepted + count.duplicate >= job.messages) break;
        if (performance.now() - start > 300_000)
          throw new Error(`Consumer stalled: ${JSON.stringify(count)}`);
        await sleep(2);
      }
      const ms = performance.now() - start;
      const { nodeMs, postgresMs } = await cpu.stop();
      const brokerMs = await broker.stop();
      recordProfileWindow(window, profileClock());
      const [{ n }] = (await host.orm.em
        .getConnection()
        .execute(`select count(*)::int as n from integration_task where is_inbound`)) as [{ n: number }];
      if (n !== job.messages) throw new Error(`Expected ${job.messages} incoming tasks, found ${n}.`);
      const count = counters.of(consumerClass.name)!;
      return {
        values: {
          ms,
          messagesPerSecond: (job.messages / ms) * 1000,
          ...cpuPer1000(nodeMs, postgresMs, job.messages),
          ...brokerCpuPer1000(brokerMs, job.messages),
        },
        notes: { broker: job.broker, connector: INBOUND_CONNECTOR, intake: count },
      };
    } finally {
      await host.close();
    }
  } finally {
    await backlog.remove();
  }
}
