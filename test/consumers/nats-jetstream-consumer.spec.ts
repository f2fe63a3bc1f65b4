import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { headers, nanos, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntakeCounters, NatsJetStreamTaskConsumer, type BrokerMessage } from 'nestjs-integration-bus';
import { CrmInConnector } from '../incoming-http/incoming-http-app.js';
import { withBusApp } from '../support/bus-app.js';
import { eventually } from '../support/recording-connector.js';
import { PrivateNatsServer, SHARED_NATS_URL } from '../relay/support/nats-server.js';
import { deleteStream, natsClient } from '../relay/support/stream-reader.js';
import {
  AckLoss,
  expectUsersApplied,
  loggedLogins,
  personBody,
  POISON_BODIES,
  POISON_REASONS,
  poisonEntries,
  poisonEntriesOnce,
  RecordingLogger,
} from './consumer-checks.js';

const id = randomUUID().replaceAll('-', '').slice(0, 12);
const STREAM = `BUSIN_${id}`;
const SUBJECT = `busin_${id}.people`;
/** JetStream's duplicate window of the test stream: short, so that a message can be stored twice. */
const DUPLICATE_WINDOW_MS = 500;

const acks = new AckLoss();
const { seen, loseAckOnce } = acks;

@Injectable()
class TestNatsConsumer extends NatsJetStreamTaskConsumer {
  protected override readonly logger = new RecordingLogger();

  constructor() {
    super({
      connectorName: 'Crm',
      servers: SHARED_NATS_URL,
      stream: STREAM,
      consumer: 'bus',
      retryDelayMs: 100,
    });
  }

  protected override afterTaskLogged(message: BrokerMessage): void {
    acks.afterTaskLogged(message);
  }
}

/** The private server of the restart test, and the consumer that reads it. */
const privateSource = { url: '' };

@Injectable()
class PrivateServerConsumer extends NatsJetStreamTaskConsumer {
  constructor() {
    // A short ack wait: a server killed before it wrote an ack down delivers that message again
    // once the wait is over, and with one message in flight nothing else comes before it.
    super({
      connectorName: 'Crm',
      servers: privateSource.url,
      stream: STREAM,
      consumer: 'bus',
      retryDelayMs: 100,
      ackWaitMs: 2000,
    });
  }
}

/** The stream of the re-creation test: deleted and created again while the consumer runs. */
const REBORN_STREAM = `BUSRE_${id}`;
const REBORN_SUBJECT = `busre_${id}.people`;

@Injectable()
class RebornStreamConsumer extends NatsJetStreamTaskConsumer {
  protected override readonly logger = new RecordingLogger();

  constructor() {
    super({
      connectorName: 'Crm',
      servers: SHARED_NATS_URL,
      stream: REBORN_STREAM,
      consumer: 'bus',
      retryDelayMs: 100,
    });
  }
}

let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  // The shared service must be up: a broker that cannot be reached fails the file, never skips it.
  nc = await natsClient(SHARED_NATS_URL);
  jsm = await jetstreamManager(nc);
  await jsm.streams.add({
    name: STREAM,
    subjects: [`busin_${id}.>`],
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
  });
});

afterAll(async () => {
  if (nc) {
    await deleteStream(nc, STREAM);
    await nc.close();
  }
});

async function publish(body: string, msgId: string): Promise<boolean> {
  const h = headers();
  const ack = await jetstream(nc).publish(SUBJECT, body, { msgID: msgId, headers: h });
  return ack.duplicate;
}

/** Creates the re-creation test's stream (again). */
const createRebornStream = () =>
  jsm.streams.add({
    name: REBORN_STREAM,
    subjects: [`busre_${id}.>`],
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
  });

/** Publishes on the re-creation test's stream, without `Nats-Msg-Id` unless given one; the stream sequence. */
const publishReborn = async (login: string, msgID?: string) =>
  (await jetstream(nc).publish(REBORN_SUBJECT, personBody(login), msgID ? { msgID } : {})).seq;

describe('NatsJetStreamTaskConsumer (R-ECO-2, R-ECO-3)', () => {
  it('logs each message once, in order: a redelivery after a lost ack and a message stored twice make no second task', async () => {
    await withBusApp({ providers: [CrmInConnector, TestNatsConsumer] }, async (t) => {
      loseAckOnce.add('nats-2');
      for (let i = 1; i <= 5; i++)
        expect(await publish(personBody(`nats-user-${i}`), `nats-${i}`)).toBe(false);
      // Past the duplicate window, JetStream stores the same id again: the consumer must drop it.
      await new Promise((r) => setTimeout(r, DUPLICATE_WINDOW_MS + 200));
      expect(await publish(personBody('nats-user-3'), 'nats-3')).toBe(false);
      await eventually(() => expect(seen.filter((s) => s === 'nats-3')).toHaveLength(2), 10_000);
      await eventually(async () => {
        const info = await jsm.consumers.info(STREAM, 'bus');
        expect({ pending: info.num_pending, unacked: info.num_ack_pending }).toEqual({
          pending: 0,
          unacked: 0,
        });
      }, 10_000);
      // nats-2 was handled twice (its first ack lost), nats-3 twice (stored twice): one task each.
      expect(seen.filter((s) => s === 'nats-2')).toHaveLength(2);
      expect(await loggedLogins(t)).toEqual([1, 2, 3, 4, 5].map((i) => `nats-user-${i}`));
      await expectUsersApplied(
        t,
        [1, 2, 3, 4, 5].map((i) => `nats-user-${i}`),
      );
      console.log(
        `NATS consumer: 6 messages stored, ${seen.length} handled (1 redelivery after a lost ack, 1 stored twice), 5 tasks`,
      );
    });
  }, 60_000);

  it('R-ECO-2 logs a poison message to the event log and the application log, counts it, and terminates it instead of redelivering it', async () => {
    await withBusApp({ providers: [CrmInConnector, TestNatsConsumer] }, async (t) => {
      const before = (await jsm.consumers.info(STREAM, 'bus')).num_redelivered;
      for (const [i, body] of POISON_BODIES.entries()) await publish(body, `poison-${i}`);
      await publish(personBody('after-the-poison'), 'after-poison');
      await eventually(async () => expect(await loggedLogins(t)).toEqual(['after-the-poison']), 10_000);
      const entries = await poisonEntriesOnce(t, POISON_BODIES.length);
      for (const [i, entry] of entries.entries()) {
        expect(entry.connector_name).toBe('Crm');
        expect(entry.message).toMatch(POISON_REASONS[i]!);
        expect(entry.message).toContain(`poison-${i}`);
      }
      await new Promise((r) => setTimeout(r, 300)); // several retry delays: nothing comes back
      const info = await jsm.consumers.info(STREAM, 'bus');
      expect({ unacked: info.num_ack_pending, redelivered: info.num_redelivered - before }).toEqual({
        unacked: 0,
        redelivered: 0,
      });
      expect(await poisonEntries(t)).toHaveLength(POISON_BODIES.length);
      // In the application log at error level too, and counted (issue 23).
      const errors = (t.app.get(TestNatsConsumer)['logger'] as RecordingLogger).at('error');
      expect(errors).toHaveLength(POISON_BODIES.length);
      for (const [i, line] of errors.entries())
        expect(line).toMatch(new RegExp(`^Message poison-${i} .*was dropped`));
      expect(t.app.get(IntakeCounters).of('TestNatsConsumer')).toMatchObject({
        accepted: 1,
        duplicate: 0,
        poison: 3,
      });
    });
  }, 60_000);

  it('R-ECO-3 keys a message without Nats-Msg-Id by stream incarnation: after the stream is deleted and created again, sequence 1 is logged again; a real duplicate is dropped, logged at debug and counted', async () => {
    await createRebornStream();
    try {
      await withBusApp({ providers: [CrmInConnector, RebornStreamConsumer] }, async (t) => {
        const counters = t.app.get(IntakeCounters);
        expect(counters.of('RebornStreamConsumer')).toMatchObject({ accepted: 0, duplicate: 0, poison: 0 });
        const logger = t.app.get(RebornStreamConsumer)['logger'] as RecordingLogger;
        expect(await publishReborn('first-life')).toBe(1);
        await eventually(async () => expect(await loggedLogins(t)).toEqual(['first-life']), 10_000);

        await jsm.streams.delete(REBORN_STREAM);
        await createRebornStream();
        // Sequence 1 again: with the old key (stream:sequence) this one was acked and dropped unseen.
        expect(await publishReborn('second-life')).toBe(1);
        await eventually(
          async () => expect(await loggedLogins(t)).toEqual(['first-life', 'second-life']),
          15_000,
        );
        // Applied, so the users exist (and the tasks are gone from the queue).
        await expectUsersApplied(t, ['first-life', 'second-life']);

        // A real duplicate: one id stored twice (past JetStream's duplicate window).
        await publishReborn('stored-twice', 'twice-1');
        await new Promise((r) => setTimeout(r, DUPLICATE_WINDOW_MS + 200));
        await publishReborn('stored-twice', 'twice-1');
        await publishReborn('after-the-duplicate');
        await eventually(
          async () => expect(await loggedLogins(t)).toEqual(['stored-twice', 'after-the-duplicate']),
          10_000,
        );
        expect(counters.of('RebornStreamConsumer')).toMatchObject({ accepted: 4, duplicate: 1, poison: 0 });
        const debug = logger.at('debug');
        expect(debug).toHaveLength(1);
        expect(debug[0]).toMatch(/^Message twice-1 from stream BUSRE_\w+ seq 3 is a duplicate for Crm/);
      });
    } finally {
      await deleteStream(nc, REBORN_STREAM);
    }
  }, 60_000);

  it('goes on consuming after the NATS server is killed and started again, applying a redelivered message once', async () => {
    const server = await PrivateNatsServer.start();
    privateSource.url = server.url;
    const client = await natsClient(server.url);
    try {
      await (await jetstreamManager(client)).streams.add({ name: STREAM, subjects: [`busin_${id}.>`] });
      // Retried until stored: after a restart the server takes a moment before JetStream answers
      // (the message id makes a retry that was stored after all a duplicate JetStream drops).
      const publishHere = (login: string, msgId: string) =>
        eventually(async () => {
          await jetstream(client).publish(SUBJECT, personBody(login), { msgID: msgId, timeout: 1000 });
        }, 20_000);
      await withBusApp({ providers: [CrmInConnector, PrivateServerConsumer] }, async (t) => {
        await publishHere('before-kill', 'k-1');
        await eventually(async () => expect(await loggedLogins(t)).toEqual(['before-kill']), 10_000);
        await server.stop();
        await new Promise((r) => setTimeout(r, 1500));
        await server.resume();
        const backAt = Date.now();
        await publishHere('after-restart-1', 'k-2');
        await publishHere('after-restart-2', 'k-3');
        await eventually(
          async () =>
            expect(await loggedLogins(t)).toEqual(['before-kill', 'after-restart-1', 'after-restart-2']),
          20_000,
        );
        const { num_redelivered: redelivered } = await (
          await jetstreamManager(client)
        ).consumers.info(STREAM, 'bus');
        console.log(
          `NATS consumer: consuming again ${Date.now() - backAt} ms after the server was back; ` +
            `${redelivered} message(s) redelivered (an ack the killed server had not written down), logged once`,
        );
      });
    } finally {
      await client.close();
      await server.close();
    }
  }, 60_000);
});
