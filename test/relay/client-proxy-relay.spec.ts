import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClientProxyRelayConnector,
  Connector,
  IntegrationProcessResult,
  Subscribe,
  type ClientProxyRelayPacket,
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
  recordAttempt,
  type RelayAttempt,
} from './support/relay-traffic.js';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';

const REDIS = { host: '127.0.0.1', port: 6379 };
const MANUAL = { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } };
/** The client the relay emits through; set by each test before its app starts. */
const target: { client: ClientProxy | undefined } = { client: undefined };
const attempts: RelayAttempt[] = [];

@Connector('ProxyRelay', { retry: { initialDelayMs: 60_000, maxDelayMs: 60_000, jitter: false } })
@Subscribe({ objectType: 'cms.user' })
class TestProxyRelay extends ClientProxyRelayConnector {
  constructor() {
    super({
      client: {
        connect: () => target.client!.connect(),
        emit: (pattern, data) => target.client!.emit(pattern, data),
      },
      transportName: 'Redis',
      publishTimeoutMs: 1000,
    });
  }

  protected override async relay(task: OutgoingTask): Promise<ProcessOutcome> {
    const outcome = await super.relay(task);
    recordAttempt(attempts, task, outcome);
    return outcome;
  }
}

let subscriber: Redis;
const received: { channel: string; packet: ClientProxyRelayPacket }[] = [];

beforeAll(async () => {
  subscriber = new Redis(REDIS);
  await subscriber.psubscribe('cms.user.*');
  subscriber.on('pmessage', (_pattern, channel, text) => {
    // The Redis transport sends `{ pattern, data }` on the channel named after the pattern.
    const { data } = JSON.parse(text) as { data: ClientProxyRelayPacket };
    received.push({ channel, packet: data });
  });
});

afterAll(async () => {
  subscriber?.disconnect();
});

describe('ClientProxyRelayConnector over the Redis transport of @nestjs/microservices (R-ECO-2)', () => {
  it('emits each task once, in per-object order, under `<object type>.<task type>`, with its message id and object key', async () => {
    received.length = 0;
    target.client = ClientProxyFactory.create({ transport: Transport.REDIS, options: REDIS });
    try {
      await withBusApp({ providers: [TestProxyRelay], bus: MANUAL }, async (t) => {
        for (let round = 0; round < 3; round++) await changeUsers(t, 5, round);
        // A task logged inside a trace keeps its context; the relay sends it on.
        const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
        const [traced] = await t.sql<{ guid: string }>(
          `update integration_task set trace_parent = $1 where id = (select min(id) from integration_task) returning guid`,
          [traceparent],
        );
        await t.bus.processOutgoingTasks('ProxyRelay');
        await drained(t, 5000);
        await eventually(() => expect(received).toHaveLength(15));
        expectEachChangeOnceInOrder(
          received.map((r) => r.packet.envelope as RelayEnvelope),
          5,
          3,
        );
        expect(new Set(received.map((r) => r.channel))).toEqual(
          new Set(['cms.user.CREATEOBJ', 'cms.user.UPDATEOBJ']),
        );
        for (const { packet } of received) {
          const envelope = packet.envelope as RelayEnvelope;
          expect(packet.messageId).toBe(`${envelope.taskGuid}:ProxyRelay`);
          expect(packet.objectKey).toBe(envelope.objectKey);
          expect(packet.headers['Bus-Task-Type']).toBe(envelope.taskType);
          expect(packet.headers.traceparent).toBe(
            envelope.taskGuid === traced!.guid ? traceparent : undefined,
          );
        }
      });
    } finally {
      await target.client.close();
    }
  });

  it('a transport that cannot deliver makes the attempt an Error with the reason, and the task stays queued', async () => {
    attempts.length = 0;
    // Nothing listens on this port: the emit fails.
    target.client = ClientProxyFactory.create({
      transport: Transport.REDIS,
      options: { host: '127.0.0.1', port: 1, retryAttempts: 0, maxRetriesPerRequest: 0 },
    });
    try {
      await withBusApp({ providers: [TestProxyRelay], bus: MANUAL }, async (t) => {
        await changeUsers(t, 1, 0);
        await t.bus.processOutgoingTasks('ProxyRelay');
        expect(attempts).toHaveLength(1);
        expect(attempts[0]).toMatchObject({ result: IntegrationProcessResult.Error });
        expect(attempts[0]!.errorMessage).toMatch(/^Redis did not acknowledge message .*:ProxyRelay: /);
        const [row] = await t.sql<{ state: string; attempts: number }>(
          `select state, attempts from ${ALL_SYNCHRONIZATIONS_SQL} s`,
        );
        expect(row).toEqual({ state: 'failed', attempts: 1 });
      });
    } finally {
      await target.client.close();
    }
  });
});
