import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Connector,
  InvalidBrokerMessageError,
  NatsJetStreamRelayConnector,
  NatsJetStreamTaskConsumer,
  Subscribe,
} from 'nestjs-integration-bus';
import { CrmInConnector } from '../incoming-http/incoming-http-app.js';
import { SHARED_NATS_URL } from '../relay/support/nats-server.js';
import { deleteStream, natsClient } from '../relay/support/stream-reader.js';
import { useBusApp } from '../support/bus-app.js';
import { User } from '../support/entities.js';
import { registerOfficialSdk } from '../support/otel-sdk.js';
import { eventually } from '../support/recording-connector.js';

const id = randomUUID().replaceAll('-', '').slice(0, 12);
/** No stream captures this prefix: JetStream answers every publish with "no responders". */
const UNCAPTURED = `busnostream_${id}`;
const STREAM = `BUSFAIL_${id}`;
const PREFIX = `busfail_${id}`;

const sdk = registerOfficialSdk();

@Connector('LostRelay')
@Subscribe({ objectType: 'cms.user' })
class LostRelay extends NatsJetStreamRelayConnector {
  constructor() {
    super({ servers: SHARED_NATS_URL, subjectPrefix: UNCAPTURED, publishTimeoutMs: 2000 });
  }
}

/** Every message is refused as unreadable: poison. */
@Injectable()
class RefusingConsumer extends NatsJetStreamTaskConsumer {
  constructor() {
    super({
      connectorName: 'Crm',
      servers: SHARED_NATS_URL,
      stream: STREAM,
      consumer: 'bus',
      decode: () => {
        throw new InvalidBrokerMessageError('not a person');
      },
    });
  }
}

let nc: NatsConnection;

beforeAll(async () => {
  nc = await natsClient(SHARED_NATS_URL);
  await (await jetstreamManager(nc)).streams.add({ name: STREAM, subjects: [`${PREFIX}.>`] });
});

const t = useBusApp({
  providers: [LostRelay, CrmInConnector, RefusingConsumer],
  bus: { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } },
});

afterAll(async () => {
  await deleteStream(nc, STREAM);
  await nc?.close();
  await sdk.stop();
});

describe('failed messaging spans follow the semantic conventions (R-ECO-4)', () => {
  it('R-ECO-4 a relay publish the broker refuses ends its publish span in error, with error.type', async () => {
    const em = t.em();
    em.create(User, { userName: 'nowhere' });
    await em.flush();
    await t.bus.processOutgoingTasks('LostRelay');
    const [publish, ...more] = sdk.named(`publish ${UNCAPTURED}.cms.user.CREATEOBJ`);
    expect(more).toEqual([]);
    expect(publish).toMatchObject({
      kind: SpanKind.PRODUCER,
      status: { code: SpanStatusCode.ERROR },
      attributes: { 'messaging.system': 'nats', 'messaging.operation.type': 'send' },
    });
    expect(publish!.attributes['error.type']).toEqual(expect.stringMatching(/\S/));
    expect(publish!.status.message).toEqual(expect.stringMatching(/\S/));
    // The task is still queued for a retry: nothing was lost to the failed publish.
    expect(await t.sql(`select 1 from integration_task where not is_inbound`)).toHaveLength(1);
  });

  it('R-ECO-4 a message the consumer cannot read ends its process span in error, with the error class as error.type', async () => {
    const subject = `${PREFIX}.cms.user.CREATEOBJ`;
    await jetstream(nc).publish(subject, new TextEncoder().encode('{}'));
    await eventually(() => expect(sdk.named(`process ${subject}`)).toHaveLength(1), 10_000);
    const [consumed] = sdk.named(`process ${subject}`);
    expect(consumed).toMatchObject({
      kind: SpanKind.CONSUMER,
      status: { code: SpanStatusCode.ERROR, message: expect.stringContaining('not a person') },
      attributes: {
        'messaging.destination.name': subject,
        'error.type': 'InvalidBrokerMessageError',
      },
    });
  });
});
