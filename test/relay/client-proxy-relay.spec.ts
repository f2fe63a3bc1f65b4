import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClaimLostError,
  ClientProxyRelayConnector,
  Connector,
  IntegrationProcessResult,
  SEQUENCE_HEADER,
  Subscribe,
  type ClientProxyRelayPacket,
  type OutgoingTask,
  type ProcessOutcome,
  type RelayEnvelope,
  type RelayMessage,
} from 'nestjs-integration-bus';
import { withBusApp } from '../support/bus-app.js';
import { eventually } from '../support/recording-connector.js';
import {
  changeUsers,
  drained,
  expectEachChangeOnceInOrder,
  expectSequencesOfTasks,
  recordAttempt,
  type RelayAttempt,
} from './support/relay-traffic.js';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';

const REDIS = { host: '127.0.0.1', port: 6379 };
const MANUAL = { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } };
/** The client the relay emits through; set by each test before its app starts. */
const target: { client: ClientProxy | undefined } = { client: undefined };
const attempts: RelayAttempt[] = [];
/**
 * The next call is paused this long between building its message and emitting it, the event loop
 * blocked as in a long GC pause or SIGSTOP (no lease renewal runs meanwhile); what `relay` threw.
 */
const pause = { nextForMs: 0, thrown: [] as unknown[] };

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

  protected override toMessage(task: OutgoingTask): RelayMessage {
    const message = super.toMessage(task);
    const until = performance.now() + pause.nextForMs;
    pause.nextForMs = 0;
    while (performance.now() < until);
    return message;
  }

  protected override async relay(task: OutgoingTask): Promise<ProcessOutcome> {
    let outcome: ProcessOutcome;
    try {
      outcome = await super.relay(task);
    } catch (error) {
      pause.thrown.push(error);
      throw error;
    }
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
  it('emits each task once, in per-object order, under `<object type>.<task type>`, with its message id, object key and sequence', async () => {
    received.length = 0;
    attempts.length = 0;
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
        expectSequencesOfTasks(
          received.map(({ packet }) => ({
            envelope: packet.envelope as RelayEnvelope,
            sequenceHeader: packet.headers['Bus-Sequence'],
            objectTypeHeader: packet.headers['Bus-Object-Type'],
          })),
          attempts,
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

  it('emits nothing once the task’s fence refuses (paused past its lease): ClaimLostError is thrown on, the task stays queued', async () => {
    received.length = 0;
    attempts.length = 0;
    pause.thrown.length = 0;
    target.client = ClientProxyFactory.create({ transport: Transport.REDIS, options: REDIS });
    try {
      await withBusApp({ providers: [TestProxyRelay], bus: { ...MANUAL, leaseMs: 1000 } }, async (t) => {
        await changeUsers(t, 1, 0);
        pause.nextForMs = 1100;
        await t.bus.processOutgoingTasks('ProxyRelay');
        expect(pause.thrown).toHaveLength(1);
        expect(pause.thrown[0]).toBeInstanceOf(ClaimLostError);
        expect(attempts).toEqual([]);
        expect(await t.sql(`select attempts, state from ${ALL_SYNCHRONIZATIONS_SQL} s`)).toEqual([
          { attempts: 0, state: null },
        ]);
        // The next run holds a fresh claim: the task goes out, the only message the subscriber sees.
        expect(await t.bus.processOutgoingTasks('ProxyRelay')).toMatchObject({ OK: 1 });
        await eventually(() => expect(received).toHaveLength(1));
        expect(received[0]!.packet.headers[SEQUENCE_HEADER]).toBe(String(attempts[0]!.sequence));
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(received).toHaveLength(1);
      });
    } finally {
      await target.client.close();
    }
  });
});
