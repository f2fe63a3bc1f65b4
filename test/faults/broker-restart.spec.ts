import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Connector,
  IntegrationProcessResult,
  NatsJetStreamRelayConnector,
  Subscribe,
  type OutgoingTask,
  type ProcessOutcome,
} from 'nestjs-integration-bus';
import { createBusApp, type BusTestApp } from '../support/bus-app.js';
import { createTestDatabase } from '../support/database.js';
import { PrivateNatsServer } from '../relay/support/nats-server.js';
import {
  changeUsers,
  drained,
  expectRetried,
  expectSequencesOfTasks,
  recordAttempt,
  type RelayAttempt,
} from '../relay/support/relay-traffic.js';
import { natsClient, readStream } from '../relay/support/stream-reader.js';
import { PostgresServer, seconds, sleep, waitFor } from './support/harness.js';

/*
 * A broker restarted while a relay publishes a backlog pipelined (issue 21): the NATS server of the
 * scenario (a private one, on a port of its own: the machine's shared brokers serve other tests) is
 * killed in the middle of a batch and started again on the same store. What an independent client
 * then reads from the stream is checked: every change once at least (0 lost), each object's versions
 * in the order they were made, and repeats bounded by the relay's window of unconfirmed messages.
 */

/** Tasks per relay call. */
const WINDOW = 100;
/** The unconfirmed publishes at most: the bus overlaps two of a relay's calls. */
const UNCONFIRMED = 2 * WINDOW;
const USERS = 300;
const ROUNDS = 4;
/** The server is killed when this many publishes were attempted: inside a batch, past the first ones. */
const KILL_AT = 450;

const id = randomUUID().replaceAll('-', '').slice(0, 12);
const target = { url: '', prefix: `busfault_${id}`, stream: `BUSFAULT_${id}` };
const attempts: RelayAttempt[] = [];
/** Publishes under way at once (the pipelining), and the most seen. */
const flight = { now: 0, most: 0, started: 0 };
let server: PrivateNatsServer;
/** Stops the server once, from inside the relay, at the `KILL_AT`-th publish. */
let killed: Promise<number> | null = null;

@Connector('FaultRelay', {
  maxBatchSize: WINDOW,
  retry: { initialDelayMs: 50, maxDelayMs: 400, jitter: false },
})
@Subscribe({ objectType: 'cms.user' })
class FaultRelay extends NatsJetStreamRelayConnector {
  constructor() {
    super({
      servers: target.url,
      subjectPrefix: target.prefix,
      stream: { name: target.stream },
      publishTimeoutMs: 1000,
    });
  }

  protected override async relay(task: OutgoingTask): Promise<ProcessOutcome> {
    if (++flight.started === KILL_AT) killed = server.stop().then(() => Date.now());
    flight.most = Math.max(flight.most, ++flight.now);
    try {
      const outcome = await super.relay(task);
      recordAttempt(attempts, task, outcome);
      return outcome;
    } finally {
      flight.now--;
    }
  }
}

let pg: PostgresServer;

beforeAll(async () => {
  pg = await PostgresServer.start();
  server = await PrivateNatsServer.start();
  target.url = server.url;
});

afterAll(async () => {
  // The broker of the scenario is its own: closed whatever happened (the shared ones were never touched).
  await server?.close();
  await pg?.quit();
});

describe('broker restarted during pipelined publishing (issue 21)', () => {
  it('R-ECO-2 a NATS server killed in the middle of a pipelined batch and started again: 0 changes lost, each object in order, repeats at most the unconfirmed messages', async () => {
    const db = await createTestDatabase(pg.url);
    let t: BusTestApp | null = null;
    try {
      t = await createBusApp({ databaseUrl: db.url, providers: [FaultRelay] });
      const app = t;
      // The backlog: every change made up front, the relay draining it as it comes.
      for (let round = 0; round < ROUNDS; round++) await changeUsers(app, USERS, round);
      const downAt = await waitFor('the server killed mid-batch', () => killed ?? undefined, 30_000, 5);
      await waitFor(
        'publishes failing against the stopped server',
        () => attempts.filter((a) => a.result !== IntegrationProcessResult.OK).length > 2,
        15_000,
      );
      await sleep(1000);
      await server.resume();
      const backAt = Date.now();
      await drained(app, 60_000);
      const drainMs = Date.now() - backAt;

      const nc = await natsClient(server.url);
      try {
        const stored = await readStream(nc, target.stream);
        // 0 lost: every task's change is in the stream.
        const tasks = new Set(attempts.map((a) => a.guid));
        expect(tasks.size).toBe(USERS * ROUNDS);
        const storedGuids = stored.map((m) => m.envelope.taskGuid);
        expect(new Set(storedGuids)).toEqual(tasks);
        // Repeats: a message stored twice only when its confirm was lost and the stream's
        // deduplication did not catch it: at most the messages that were unconfirmed at the kill.
        const repeats = storedGuids.length - tasks.size;
        expect(repeats).toBeLessThanOrEqual(UNCONFIRMED);
        // Order per object, repeats included: no older version after a newer one.
        const newest = new Map<string, number>();
        let outOfOrder = 0;
        for (const { envelope } of stored) {
          const version = Number(/-v(\d+)$/.exec(String(envelope.data.email))![1]);
          if (version < (newest.get(envelope.objectKey!) ?? -1)) outOfOrder++;
          newest.set(envelope.objectKey!, Math.max(version, newest.get(envelope.objectKey!) ?? -1));
        }
        expect(outOfOrder).toBe(0);
        expect([...newest.values()].every((v) => v === ROUNDS - 1)).toBe(true);
        expectSequencesOfTasks(
          stored.filter((m, i) => storedGuids.indexOf(m.envelope.taskGuid) === i),
          attempts,
        );
        const { errors, highestAttempt } = expectRetried(attempts);
        // Pipelined: the publishes of more than one call under way at once, never more than two calls'.
        expect(flight.most).toBeGreaterThan(WINDOW);
        expect(flight.most).toBeLessThanOrEqual(UNCONFIRMED);
        const jsm = await jetstreamManager(nc);
        const { state } = await jsm.streams.info(target.stream);
        console.log(
          `NATS killed at publish ${KILL_AT} of ${USERS * ROUNDS} (batches of ${WINDOW}, up to ${flight.most} ` +
            `unconfirmed): down ${seconds(backAt - downAt)}, ${errors} failed attempts (highest attempt ` +
            `${highestAttempt}), drained ${seconds(drainMs)} after restart; stream holds ${state.messages} ` +
            `messages: 0 lost, ${repeats} repeats, 0 out of order`,
        );
      } finally {
        await nc.close();
      }
    } finally {
      await t?.close();
      await db.drop();
    }
  });
});
