import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  Connector,
  NatsJetStreamRelayConnector,
  NatsJetStreamTaskConsumer,
  Subscribe,
  type BrokerMessage,
  type RelayEnvelope,
} from 'nestjs-integration-bus';
import { CrmInConnector } from '../incoming-http/incoming-http-app.js';
import { SHARED_NATS_URL } from '../relay/support/nats-server.js';
import { deleteStream, natsClient } from '../relay/support/stream-reader.js';
import { useBusApp } from '../support/bus-app.js';
import { User } from '../support/entities.js';
import { asChain, linksOf, registerOfficialSdk } from '../support/otel-sdk.js';
import { eventually } from '../support/recording-connector.js';

const id = randomUUID().replaceAll('-', '').slice(0, 12);
const STREAM = `BUSTRACE_${id}`;
const PREFIX = `bustrace_${id}`;

const sdk = registerOfficialSdk();
const tracer = trace.getTracer('host-app');

@Connector('NatsRelay')
@Subscribe({ objectType: 'cms.user' })
class TraceNatsRelay extends NatsJetStreamRelayConnector {
  constructor() {
    super({ servers: SHARED_NATS_URL, subjectPrefix: PREFIX, stream: { name: STREAM } });
  }
}

/** The relayed users come back as incoming tasks of `Crm`, renamed; the mirrored ones are skipped. */
@Injectable()
class TraceNatsConsumer extends NatsJetStreamTaskConsumer {
  constructor() {
    super({
      connectorName: 'Crm',
      servers: SHARED_NATS_URL,
      stream: STREAM,
      consumer: 'bus',
      decode: (message: BrokerMessage) => {
        const envelope = JSON.parse(Buffer.from(message.body).toString('utf8')) as RelayEnvelope;
        const login = String(envelope.data.userName);
        return {
          object: { login: `${login}-mirrored`, skip: login.endsWith('-mirrored') },
          options: { taskType: envelope.taskType },
        };
      },
    });
  }
}

let nc: NatsConnection;

beforeAll(async () => {
  // The consumer needs its stream at start-up.
  nc = await natsClient(SHARED_NATS_URL);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: STREAM, subjects: [`${PREFIX}.>`] });
});

const t = useBusApp({
  providers: [TraceNatsRelay, CrmInConnector, TraceNatsConsumer],
  bus: { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } },
});

afterEach(async () => {
  sdk.exporter.reset();
  await t.sql(`delete from integration_task`);
});

afterAll(async () => {
  await deleteStream(nc, STREAM);
  await nc?.close();
  await sdk.stop();
});

/** Logs a change of a new user inside a span of the host's, relays it, and waits for the consumer. */
async function relayOneChange(userName: string): Promise<ReadableSpan> {
  await tracer.startActiveSpan('nightly import', async (job) => {
    const em = t.em();
    em.create(User, { userName });
    await em.flush();
    job.end();
  });
  await t.bus.processOutgoingTasks('NatsRelay');
  await eventually(async () => {
    expect(await t.sql(`select 1 from integration_task where is_inbound`)).toHaveLength(1);
  }, 10_000);
  return sdk.named('nightly import')[0]!;
}

function only(name: string, direction?: 'outgoing' | 'incoming'): ReadableSpan {
  const found = sdk
    .named(name)
    .filter((s) => !direction || s.attributes['integration_bus.direction'] === direction);
  if (found.length !== 1) throw new Error(`${name}: ${found.length} spans, expected 1`);
  return found[0]!;
}

describe('a trace across NATS JetStream, no broker instrumentation (R-ECO-4)', () => {
  const subject = `${PREFIX}.cms.user.CREATEOBJ`;

  it('R-ECO-4 the consumer continues the trace of the relay publish span through the message headers', async () => {
    const job = await relayOneChange('nats-traced');
    const chain = [
      job,
      only('create cms.user', 'outgoing'),
      only('process NatsRelay'),
      only(`publish ${subject}`),
      only(`process ${subject}`),
      // The incoming task the consumer logged: its create span is the consumer span's child.
      only('create cms.user', 'incoming'),
    ];
    expect(linksOf(chain)).toEqual(asChain(chain));
    const [, , , publish, consumed] = chain;
    expect(publish).toMatchObject({
      kind: SpanKind.PRODUCER,
      status: { code: SpanStatusCode.UNSET },
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'send',
        'messaging.destination.name': subject,
      },
    });
    expect(consumed).toMatchObject({
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'process',
        'messaging.destination.name': subject,
        'messaging.message.id': publish!.attributes['messaging.message.id'],
        'integration_bus.connector': 'Crm',
      },
    });
  });

  it('R-ECO-4 crosses the broker as a W3C traceparent when no propagator is registered', async () => {
    propagation.disable();
    try {
      const job = await relayOneChange('nats-no-propagator');
      const chain = [
        job,
        only('create cms.user', 'outgoing'),
        only('process NatsRelay'),
        only(`publish ${subject}`),
        only(`process ${subject}`),
      ];
      expect(linksOf(chain)).toEqual(asChain(chain));
    } finally {
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    }
  });
});
