import { randomUUID } from 'node:crypto';
import * as core from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import * as jetstream from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { JetStreamPublisher } from '../../libs/integration-bus/src/relay/jetstream-publisher.js';
import { SHARED_NATS_URL } from './support/nats-server.js';

function headersWithId(id: string): core.MsgHdrs {
  const headers = core.headers();
  headers.append('Nats-Msg-Id', id);
  return headers;
}

describe('JetStreamPublisher: JetStream publishes settled by their PubAck', () => {
  it('resolves once the stream stored the message (a repeated Nats-Msg-Id too, stored once) and rejects a subject no stream captures', async () => {
    const nc = await core.connect({ servers: SHARED_NATS_URL });
    const id = randomUUID().replaceAll('-', '').slice(0, 10);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: `PUB_${id}`, subjects: [`pub_${id}.>`] });
    try {
      const publisher = new JetStreamPublisher({ core, jetstream }, nc, 5_000);
      const body = new TextEncoder().encode('{"v":1}');
      await Promise.all([
        publisher.publish(`pub_${id}.a`, body, headersWithId('m1')),
        publisher.publish(`pub_${id}.a`, body, headersWithId('m2')),
      ]);
      await publisher.publish(`pub_${id}.a`, body, headersWithId('m1'));
      expect((await jsm.streams.info(`PUB_${id}`)).state.messages).toBe(2);
      await expect(publisher.publish(`nostream_${id}.a`, body, headersWithId('m3'))).rejects.toThrow(
        `no responders: no JetStream stream captures 'nostream_${id}.a'`,
      );
      const pending = publisher.publish(`pub_${id}.b`, body, headersWithId('m4'));
      await nc.close();
      // Sent before the close or not: either stored and acknowledged, or failed, never left waiting.
      const settled = await pending.then(
        () => 'acknowledged',
        (error: unknown) => String(error),
      );
      expect(settled).toMatch(/^acknowledged$|closed connection/);
    } finally {
      if (!nc.isClosed()) await nc.close();
      const admin = await core.connect({ servers: SHARED_NATS_URL });
      await (await jetstreamManager(admin)).streams.delete(`PUB_${id}`);
      await admin.close();
    }
  });
});
