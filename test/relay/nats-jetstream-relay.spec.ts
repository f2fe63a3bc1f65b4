import { randomUUID } from 'node:crypto';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Type } from '@nestjs/common';
import {
  ClaimLostError,
  Connector,
  IntegrationProcessResult,
  NatsJetStreamRelayConnector,
  relayMessageId,
  SEQUENCE_HEADER,
  Subscribe,
  type OutgoingTask,
  type ProcessOutcome,
  type RelayMessage,
} from 'nestjs-integration-bus';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';
import { withBusApp } from '../support/bus-app.js';
import { eventually } from '../support/recording-connector.js';
import { PrivateNatsServer, SHARED_NATS_URL } from './support/nats-server.js';
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
import { deleteStream, natsClient, readStream, type StoredRelayMessage } from './support/stream-reader.js';
import { objectsHandedTwiceAtOnce, someCallsOverlapped, type TimedCall } from '../support/timed-calls.js';

/** Where the relay publishes; set by each test before its app starts. */
const target = { url: SHARED_NATS_URL, prefix: '', stream: '' };
const attempts: RelayAttempt[] = [];
/** Every `lostAckEvery`-th acknowledged publish is reported as an Error: as if the ack was lost. */
const control = { lostAckEvery: 0, acknowledged: 0, lostAcks: new Set<string>() };
/**
 * The next call is paused this long between building its message and publishing it, the event loop
 * blocked as in a long GC pause or SIGSTOP (no lease renewal runs meanwhile); what `relay` threw.
 */
const pause = { nextForMs: 0, thrown: [] as unknown[] };

@Connector('NatsRelay', { retry: { initialDelayMs: 50, maxDelayMs: 400, jitter: false } })
@Subscribe({ objectType: 'cms.user' })
class TestNatsRelay extends NatsJetStreamRelayConnector {
  constructor() {
    super({
      servers: target.url,
      subjectPrefix: target.prefix,
      stream: { name: target.stream },
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
    if (
      outcome === IntegrationProcessResult.OK &&
      control.lostAckEvery > 0 &&
      ++control.acknowledged % control.lostAckEvery === 0 &&
      !control.lostAcks.has(task.guid)
    ) {
      control.lostAcks.add(task.guid);
      const lost = { result: IntegrationProcessResult.Error, errorMessage: 'ack lost (simulated)' };
      recordAttempt(attempts, task, lost);
      return lost;
    }
    recordAttempt(attempts, task, outcome);
    return outcome;
  }
}

/** The batch calls of the batch relay, timed. */
const batchCalls: TimedCall[] = [];

/** The same relay publishing batches of up to 25 tasks, pipelined (R-EXT-1); its calls recorded. */
@Connector('NatsBatchRelay', {
  maxBatchSize: 25,
  retry: { initialDelayMs: 50, maxDelayMs: 400, jitter: false },
})
@Subscribe({ objectType: 'cms.user' })
class TestNatsBatchRelay extends TestNatsRelay {
  override async processInternalTasksAsync(tasks: readonly OutgoingTask[]): Promise<ProcessOutcome[]> {
    const objects = tasks.map((task) => `${task.objectType}:${(task.object as { id: number }).id}`);
    const call: TimedCall = { startedAt: performance.now(), answeredAt: Infinity, objects };
    batchCalls.push(call);
    const outcomes = await super.processInternalTasksAsync(tasks);
    call.answeredAt = performance.now();
    return outcomes;
  }
}

/** The batch relay with a FIFO per object (R-ORD-1): an Error holds its object's later changes only. */
@Connector('NatsObjectBatchRelay', {
  maxBatchSize: 25,
  ordering: 'object',
  partitions: 2,
  concurrency: 2,
  retry: { initialDelayMs: 50, maxDelayMs: 400, jitter: false },
})
@Subscribe({ objectType: 'cms.user' })
class TestNatsObjectBatchRelay extends TestNatsBatchRelay {}

/**
 * The batch calls overlapped (the drain pipelines a relay's calls), but never over one object: a
 * call holding an object started only after the call before that held it had answered.
 */
function expectPipelinedWithoutObjectOverlap(calls: readonly TimedCall[]): void {
  expect(someCallsOverlapped(calls)).toBe(true);
  expect(objectsHandedTwiceAtOnce(calls)).toEqual([]);
}

let shared: NatsConnection;

beforeAll(async () => {
  // The shared service must be up: a broker that cannot be reached fails the file, never skips it.
  shared = await natsClient(SHARED_NATS_URL);
});

afterAll(async () => {
  await shared?.close();
});

/**
 * Changes `users` users `rounds` times through an app with `relay`, waits until it drained, and
 * returns what the stream holds, checked to be each change once, in per-object order.
 */
async function relayRounds(
  relay: Type<unknown>,
  users: number,
  rounds: number,
): Promise<StoredRelayMessage[]> {
  await withBusApp({ providers: [relay] }, async (t) => {
    for (let round = 0; round < rounds; round++) await changeUsers(t, users, round);
    await drained(t, 30_000);
  });
  const stored = await readStream(shared, target.stream);
  expectEachChangeOnceInOrder(
    stored.map((m) => m.envelope),
    users,
    rounds,
  );
  return stored;
}

function useTarget(url: string): void {
  const id = randomUUID().replaceAll('-', '').slice(0, 12);
  Object.assign(target, { url, prefix: `bustest_${id}`, stream: `BUSTEST_${id}` });
  attempts.length = 0;
  Object.assign(control, { lostAckEvery: 0, acknowledged: 0, lostAcks: new Set<string>() });
  Object.assign(pause, { nextForMs: 0, thrown: [] });
  batchCalls.length = 0;
}

describe('NatsJetStreamRelayConnector (R-ECO-2)', () => {
  it('relays each task once, in per-object order, with its message id; a lost ack is retried and deduplicated by JetStream', async () => {
    useTarget(SHARED_NATS_URL);
    control.lostAckEvery = 7;
    const USERS = 40;
    const ROUNDS = 5;
    try {
      const stored = await relayRounds(TestNatsRelay, USERS, ROUNDS);
      for (const message of stored) {
        expect(message.msgId).toBe(relayMessageId({ guid: message.envelope.taskGuid }, 'NatsRelay'));
        expect(message.subject).toBe(`${target.prefix}.cms.user.${message.envelope.taskType}`);
        expect(message.objectKey).toBe(message.envelope.objectKey);
        expect(message.envelope.connector).toBe('NatsRelay');
      }
      expectSequencesOfTasks(stored, attempts);
      // Each simulated lost ack: the bus retried (attempt 2) and published again; the stream kept one copy.
      expect(control.lostAcks.size).toBeGreaterThanOrEqual(Math.floor((USERS * ROUNDS) / 7));
      for (const guid of control.lostAcks) {
        const calls = attempts.filter((a) => a.guid === guid);
        expect(calls.map((c) => [c.attempt, c.result])).toEqual([
          [1, IntegrationProcessResult.Error],
          [2, IntegrationProcessResult.OK],
        ]);
      }
      console.log(
        `NATS relay: ${USERS * ROUNDS} tasks, ${stored.length} messages stored, ` +
          `${control.lostAcks.size} republished after a lost ack and dropped by JetStream's dedup`,
      );
    } finally {
      await deleteStream(shared, target.stream);
    }
  }, 60_000);

  it('R-EXT-1 a batch relay pipelines its publishes: each change once, in per-object order, a lost ack retried', async () => {
    useTarget(SHARED_NATS_URL);
    control.lostAckEvery = 11;
    const USERS = 60;
    const ROUNDS = 4;
    try {
      const stored = await relayRounds(TestNatsBatchRelay, USERS, ROUNDS);
      expectSequencesOfTasks(stored, attempts);
      for (const guid of control.lostAcks) {
        const calls = attempts.filter((a) => a.guid === guid);
        expect(calls.map((c) => c.result)).toEqual([
          IntegrationProcessResult.Error,
          IntegrationProcessResult.OK,
        ]);
      }
      expect(control.lostAcks.size).toBeGreaterThan(0);
      expectPipelinedWithoutObjectOverlap(batchCalls);
    } finally {
      await deleteStream(shared, target.stream);
    }
  }, 60_000);

  it("R-ORD-1 a batch relay with ordering 'object' pipelines its publishes: each change once, in per-object order, lost acks retried", async () => {
    useTarget(SHARED_NATS_URL);
    control.lostAckEvery = 13;
    const USERS = 80;
    const ROUNDS = 4;
    try {
      const stored = await relayRounds(TestNatsObjectBatchRelay, USERS, ROUNDS);
      expectSequencesOfTasks(stored, attempts);
      expect(control.lostAcks.size).toBeGreaterThan(0);
      expectPipelinedWithoutObjectOverlap(batchCalls);
    } finally {
      await deleteStream(shared, target.stream);
    }
  }, 60_000);

  it.each([
    ['one task a call', TestNatsRelay],
    ['batches pipelined', TestNatsBatchRelay],
  ])(
    'loses nothing when the NATS server is killed mid-run and started again (%s): the bus retries until it is back',
    async (_, relay) => {
      const server = await PrivateNatsServer.start();
      useTarget(server.url);
      const USERS = 30;
      const ROUNDS = 4;
      try {
        const figures = await withBusApp({ providers: [relay] }, (t) =>
          relayThroughOutage(t, attempts, {
            users: USERS,
            rounds: ROUNDS,
            breakBroker: () => server.stop(),
            repairBroker: () => server.resume(),
          }),
        );
        const nc = await natsClient(server.url);
        try {
          const stored = await readStream(nc, target.stream);
          expectEachChangeOnceInOrder(
            stored.map((m) => m.envelope),
            USERS,
            ROUNDS,
          );
          expectSequencesOfTasks(stored, attempts);
        } finally {
          await nc.close();
        }
        const { errors, highestAttempt } = expectRetried(attempts);
        expect(attempts.find((a) => a.errorMessage)!.errorMessage).toMatch(
          /^NATS JetStream did not acknowledge message /,
        );
        console.log(
          `NATS relay through a server kill: ${USERS * ROUNDS} tasks, 0 lost, 0 duplicates stored; ` +
            `server down ${figures.downForMs} ms, ${errors} failed attempts (highest attempt ` +
            `${highestAttempt}), drained ${figures.drainMs} ms after restart`,
        );
      } finally {
        await server.close();
      }
    },
    90_000,
  );

  it('publishes nothing once the task’s fence refuses (paused past its lease): the task stays queued, and the next run relays it once', async () => {
    useTarget(SHARED_NATS_URL);
    // An independent client sees every publish on the relay's subjects, a repeated one included
    // (JetStream would keep one copy of a task published twice: its id is the same).
    const published: Msg[] = [];
    const subscription = shared.subscribe(`${target.prefix}.>`, {
      callback: (error, message) => {
        if (!error) published.push(message);
      },
    });
    const manual = { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 }, leaseMs: 1000 };
    try {
      await withBusApp({ providers: [TestNatsRelay], bus: manual }, async (t) => {
        await changeUsers(t, 1, 0);
        pause.nextForMs = 1100;
        expect(await t.bus.processOutgoingTasks('NatsRelay')).toMatchObject({ OK: 0, ERROR: 0 });
        // The real fence refused: thrown on by the relay, not turned into an Error outcome.
        expect(pause.thrown).toHaveLength(1);
        expect(pause.thrown[0]).toBeInstanceOf(ClaimLostError);
        expect(attempts).toEqual([]);
        expect(
          await t.sql(`select attempts, state, error_message from ${ALL_SYNCHRONIZATIONS_SQL} s`),
        ).toEqual([{ attempts: 0, state: null, error_message: null }]);
        await shared.flush();
        expect(published).toHaveLength(0);

        expect(await t.bus.processOutgoingTasks('NatsRelay')).toMatchObject({ OK: 1 });
        await drained(t, 5000);
        await eventually(() => expect(published).toHaveLength(1));
        expect(published[0]!.headers?.get(SEQUENCE_HEADER)).toBe(String(attempts[0]!.sequence));
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(published).toHaveLength(1);
      });
    } finally {
      subscription.unsubscribe();
      await deleteStream(shared, target.stream);
    }
  }, 30_000);
});
