import { randomUUID } from 'node:crypto';
import type { Channel, ChannelModel, GetMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClaimLostError,
  Connector,
  IntegrationProcessResult,
  RabbitMqRelayConnector,
  relayMessageId,
  setRelayTraceContextInjector,
  Subscribe,
  TaskDataType,
  TaskType,
  TranslationHelper,
  type OutgoingTask,
  type ProcessOutcome,
  type RelayEnvelope,
} from 'nestjs-integration-bus';
import { withBusApp } from '../support/bus-app.js';
import { eventually } from '../support/recording-connector.js';
import {
  changeUsers,
  drained,
  expectEachChangeOnceInOrder,
  expectRetried,
  expectSequencesOfTasks,
  recordAttempt,
  relayThroughOutage,
  type RelayAttempt,
} from './support/relay-traffic.js';
import { openRabbitMqAdmin, RABBITMQ_PORT, RABBITMQ_URL, rabbitMqUrlVia } from './support/rabbitmq.js';
import { TcpProxy } from './support/tcp-proxy.js';

/** Where the relay publishes; set by each test before its app starts. */
const target = { url: RABBITMQ_URL, exchange: '' };
const attempts: RelayAttempt[] = [];

@Connector('RabbitRelay', { retry: { initialDelayMs: 50, maxDelayMs: 400, jitter: false } })
@Subscribe({ objectType: 'cms.user' })
class TestRabbitRelay extends RabbitMqRelayConnector {
  constructor() {
    super({ url: target.url, exchange: target.exchange, publishTimeoutMs: 1000 });
  }

  protected override async relay(task: OutgoingTask): Promise<ProcessOutcome> {
    const outcome = await super.relay(task);
    recordAttempt(attempts, task, outcome);
    return outcome;
  }
}

let admin: ChannelModel;
let channel: Channel;

beforeAll(async () => {
  ({ connection: admin, channel } = await openRabbitMqAdmin());
});

afterAll(async () => {
  await admin?.close();
});

/** A fresh exchange for the relay, and a queue bound to all it carries (unless `bind` is false). */
async function useExchange(url: string, bind = true): Promise<{ exchange: string; queue: string }> {
  const id = randomUUID().slice(0, 8);
  const exchange = `bustest.relay.${id}`;
  const queue = `bustest.relay.${id}.all`;
  Object.assign(target, { url, exchange });
  attempts.length = 0;
  await channel.assertExchange(exchange, 'topic', { durable: true });
  await channel.assertQueue(queue, { durable: true });
  if (bind) await channel.bindQueue(queue, exchange, '#');
  return { exchange, queue };
}

async function removeExchange(names: { exchange: string; queue: string }): Promise<void> {
  await channel.deleteQueue(names.queue);
  await channel.deleteExchange(names.exchange);
}

/** Every message waiting in the queue, in queue order (acknowledged: the queue is left empty). */
async function drainQueue(queue: string): Promise<GetMessage[]> {
  const messages: GetMessage[] = [];
  for (;;) {
    const message = await channel.get(queue, { noAck: true });
    if (message === false) return messages;
    messages.push(message);
  }
}

const envelopeOf = (message: GetMessage) => JSON.parse(message.content.toString()) as RelayEnvelope;

/** A message as `expectSequencesOfTasks` reads it. */
const sequencedOf = (message: GetMessage) => ({
  envelope: envelopeOf(message),
  sequenceHeader: message.properties.headers?.['Bus-Sequence'] as string | undefined,
  objectTypeHeader: message.properties.headers?.['Bus-Object-Type'] as string | undefined,
});

/** A queued task as the bus would hand it, with the fence given (for calls made by the test itself). */
function handMadeTask(id: number, fence: () => void): OutgoingTask {
  return {
    id,
    sequence: id,
    guid: randomUUID(),
    title: `UPDATEOBJ cms.user hand-made-${id}`,
    taskType: TaskType.UpdateObject,
    dataType: TaskDataType.Simple,
    objectType: 'cms.user',
    siteName: null,
    time: new Date(),
    object: { userName: `hand-made-${id}` },
    translations: new TranslationHelper([]),
    isDocument: false,
    attempt: 1,
    signal: new AbortController().signal,
    fence,
  };
}

describe('RabbitMqRelayConnector (R-ECO-2)', () => {
  it('relays each task once as a persistent message, routed by object and task type, in per-object order', async () => {
    const names = await useExchange(RABBITMQ_URL);
    const USERS = 40;
    const ROUNDS = 5;
    // The tracing hook: whatever it returns for a task travels in that task's message headers.
    setRelayTraceContextInjector((task) => ({
      traceparent: `00-${task.guid.replaceAll('-', '')}-00f067aa0ba902b7-01`,
    }));
    try {
      await withBusApp({ providers: [TestRabbitRelay] }, async (t) => {
        for (let round = 0; round < ROUNDS; round++) await changeUsers(t, USERS, round);
        await drained(t, 30_000);
      });
      const messages = await drainQueue(names.queue);
      expectEachChangeOnceInOrder(messages.map(envelopeOf), USERS, ROUNDS);
      for (const message of messages) {
        const envelope = envelopeOf(message);
        expect(message.properties).toMatchObject({
          deliveryMode: 2,
          contentType: 'application/json',
          messageId: relayMessageId({ guid: envelope.taskGuid }, 'RabbitRelay'),
          type: envelope.taskType,
        });
        expect(message.fields.routingKey).toBe(`cms.user.${envelope.taskType}`);
        expect(message.properties.headers?.['Bus-Object-Key']).toBe(envelope.objectKey);
        expect(message.properties.headers?.traceparent).toBe(
          `00-${envelope.taskGuid.replaceAll('-', '')}-00f067aa0ba902b7-01`,
        );
      }
      expectSequencesOfTasks(messages.map(sequencedOf), attempts);
      expect(attempts.every((a) => a.result === IntegrationProcessResult.OK)).toBe(true);
      console.log(
        `RabbitMQ relay: ${USERS * ROUNDS} tasks, ${messages.length} messages confirmed and queued`,
      );
    } finally {
      setRelayTraceContextInjector(null);
      await removeExchange(names);
    }
  }, 60_000);

  it('counts a message no queue takes as an Error, and delivers it once a queue is bound', async () => {
    const names = await useExchange(RABBITMQ_URL, false);
    try {
      await withBusApp({ providers: [TestRabbitRelay] }, async (t) => {
        await changeUsers(t, 1, 0);
        await eventually(() => expect(attempts.length).toBeGreaterThanOrEqual(2), 10_000);
        expect(attempts[0]).toMatchObject({
          result: IntegrationProcessResult.Error,
          errorMessage: expect.stringMatching(/^RabbitMQ did not acknowledge message .*: unroutable/),
        });
        await channel.bindQueue(names.queue, names.exchange, '#');
        await drained(t, 10_000);
      });
      const messages = await drainQueue(names.queue);
      expect(messages).toHaveLength(1);
      expect(attempts.at(-1)).toMatchObject({ result: IntegrationProcessResult.OK });
      expect(attempts.at(-1)!.attempt).toBeGreaterThan(1);
    } finally {
      await removeExchange(names);
    }
  }, 30_000);

  it('loses nothing when the connection is cut mid-run: the bus retries, the relay reconnects', async () => {
    const proxy = await TcpProxy.start(RABBITMQ_PORT);
    const proxiedUrl = rabbitMqUrlVia(proxy.port);
    const names = await useExchange(proxiedUrl);
    const USERS = 30;
    const ROUNDS = 4;
    try {
      const figures = await withBusApp({ providers: [TestRabbitRelay] }, (t) =>
        relayThroughOutage(t, attempts, {
          users: USERS,
          rounds: ROUNDS,
          breakBroker: () => proxy.cut(),
          repairBroker: () => proxy.restore(),
        }),
      );
      const messages = await drainQueue(names.queue);
      // At least once: a message confirmed by the broker but whose confirm the cut swallowed is
      // published again under the same id. A consumer drops it by messageId (idempotent intake).
      const firstOfEachId = messages.filter(
        (m, i) => messages.findIndex((o) => o.properties.messageId === m.properties.messageId) === i,
      );
      expectEachChangeOnceInOrder(firstOfEachId.map(envelopeOf), USERS, ROUNDS);
      expectSequencesOfTasks(firstOfEachId.map(sequencedOf), attempts);
      const { errors, highestAttempt } = expectRetried(attempts);
      expect(attempts.find((a) => a.errorMessage)!.errorMessage).toMatch(
        /^RabbitMQ did not acknowledge message /,
      );
      console.log(
        `RabbitMQ relay through a cut connection: ${USERS * ROUNDS} tasks, 0 lost, ` +
          `${messages.length - firstOfEachId.length} duplicates (same messageId); cut ${figures.downForMs} ms, ` +
          `${errors} failed attempts (highest attempt ${highestAttempt}), drained ${figures.drainMs} ms after restore`,
      );
    } finally {
      await proxy.close();
      await removeExchange(names);
    }
  }, 90_000);

  it('throws the ClaimLostError of a fence that refuses once connected, and publishes nothing', async () => {
    const names = await useExchange(RABBITMQ_URL);
    try {
      await withBusApp({ providers: [TestRabbitRelay] }, async (t) => {
        const relay = t.app.get(TestRabbitRelay);
        // The claim holds when the relay builds the message, and is lost while it connects: the
        // relay's last fence, right before the publish, is the one that refuses.
        let fences = 0;
        const refused = handMadeTask(41, () => {
          if (++fences > 1) throw new ClaimLostError('RabbitRelay', 'lost while connecting (test)');
        });
        await expect(relay.processInternalTaskAsync(refused)).rejects.toBeInstanceOf(ClaimLostError);
        expect(fences).toBe(2);
        expect(attempts).toEqual([]);
        // A task whose fence passes goes out on the same channel after it: the only message queued.
        await expect(relay.processInternalTaskAsync(handMadeTask(42, () => undefined))).resolves.toBe(
          IntegrationProcessResult.OK,
        );
      });
      const messages = await drainQueue(names.queue);
      expect(messages.map((m) => [envelopeOf(m).sequence, m.properties.headers?.['Bus-Sequence']])).toEqual([
        [42, '42'],
      ]);
    } finally {
      await removeExchange(names);
    }
  }, 30_000);
});
