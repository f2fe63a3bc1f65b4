import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, describe, expect, it } from 'vitest';
import { IntegrationBus } from 'nestjs-integration-bus';
import { demoBrokersFromEnv, type DemoBrokers } from '../../apps/demo/src/brokers/demo-brokers.js';
import { openRabbitMqAdmin } from '../relay/support/rabbitmq.js';
import { natsClient, readStream } from '../relay/support/stream-reader.js';
import { eventually } from '../support/recording-connector.js';
import { call, count, startDemo, type RunningDemo } from './demo-harness.js';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';

const FAKE_ERP = fileURLToPath(new URL('../../apps/demo/src/brokers/fake-erp-process.ts', import.meta.url));

/** The fake ERP as the separate process it is, on the test's stream and queue. */
function startFakeErp(brokers: DemoBrokers): ChildProcess {
  const child = spawn(process.execPath, [FAKE_ERP], {
    env: {
      ...process.env,
      NATS_URL: brokers.natsUrl,
      RABBITMQ_URL: brokers.rabbitMqUrl,
      DEMO_ERP_STREAM: brokers.stream,
      DEMO_ERP_REPLY_QUEUE: brokers.replyQueue,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout!.on('data', () => {});
  return child;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.toReversed()) await cleanup().catch(() => undefined);
});

describe('demo: the ERP round trip over NATS JetStream and RabbitMQ (R-ECO-2)', () => {
  it('a user goes to a fake ERP process over JetStream; its answer comes back over RabbitMQ and updates the user, once', async () => {
    const id = randomUUID().replaceAll('-', '').slice(0, 10);
    const brokers: DemoBrokers = {
      ...demoBrokersFromEnv(),
      stream: `DEMO_ERP_${id}`,
      subjectPrefix: `demo-erp-${id}`,
      replyQueue: `demo.erp.replies.${id}`,
    };
    const nc = await natsClient(brokers.natsUrl);
    cleanups.push(() => nc.close());
    cleanups.push(async () => (await jetstreamManager(nc)).streams.delete(brokers.stream));
    const rabbit = await openRabbitMqAdmin();
    cleanups.push(() => rabbit.connection.close());
    cleanups.push(() => rabbit.channel.deleteQueue(brokers.replyQueue));
    // The demo consumes the reply queue from its start: it must exist.
    await rabbit.channel.assertQueue(brokers.replyQueue, { durable: true });

    const demo: RunningDemo = await startDemo({ autoSync: false, brokers });
    cleanups.push(() => demo.close());
    const bus = demo.app.get(IntegrationBus);
    const started = performance.now();
    const created = await call(demo, 'POST', '/api/users', {
      userName: 'ada',
      email: 'Ada.Lovelace@Example.COM',
    });
    expect(created.status).toBe(201);
    // Relayed: the stream creates itself at the first publish.
    expect((await bus.processOutgoingTasks('ErpBroker')).OK).toBe(1);

    const erp = startFakeErp(brokers);
    cleanups.push(async () => {
      if (erp.exitCode === null) erp.kill('SIGTERM');
    });
    const answered = `select 1 from integration_task t join ${ALL_SYNCHRONIZATIONS_SQL} s on s.task_id = t.id
                         join integration_connector c on c.id = s.connector_id
                        where t.is_inbound and c.code_name = 'ErpBroker'`;
    await eventually(async () => expect(await count(demo, answered)).toBe(1), 20_000);
    expect((await bus.processIncomingTasks('ErpBroker')).OK).toBe(1);
    const { rows } = await demo.pool.query<{ email: string }>(
      `select email from cms_user where user_name = 'ada'`,
    );
    expect(rows[0]!.email).toBe('ada.lovelace@example.com');
    const roundTripMs = performance.now() - started;

    // The update came from ErpBroker: it is not relayed back to it (no echo loop).
    const queuedForErpBroker = `select 1 from ${ALL_SYNCHRONIZATIONS_SQL} s
                                   join integration_connector c on c.id = s.connector_id
                                  where c.code_name = 'ErpBroker'`;
    expect(await count(demo, queuedForErpBroker)).toBe(0);
    expect(await readStream(nc, brokers.stream)).toHaveLength(1);
    // The same answer again (the ERP crashed before its ack): dropped by its message id. A new
    // answer after it is logged: once it is there, the repeated one (before it in the queue) was handled.
    const [stored] = await readStream(nc, brokers.stream);
    const reply = (userName: string, messageId: string) =>
      rabbit.channel.sendToQueue(
        brokers.replyQueue,
        Buffer.from(
          JSON.stringify({ object: { userName, email: `${userName}@example.com` }, taskType: 'UPDATEOBJ' }),
        ),
        { messageId, persistent: true },
      );
    reply('ada', `erp-reply:${stored!.envelope.taskGuid}`);
    reply('grace', 'erp-reply:another-task');
    const logins = `select t.data->'fields'->>'userName' as login from integration_task t
                     join ${ALL_SYNCHRONIZATIONS_SQL} s on s.task_id = t.id
                     join integration_connector c on c.id = s.connector_id
                    where t.is_inbound and c.code_name = 'ErpBroker'`;
    await eventually(async () => expect(await count(demo, logins)).toBeGreaterThan(0), 10_000);
    const { rows: logged } = await demo.pool.query<{ login: string }>(logins);
    expect(logged.map((r) => r.login)).toEqual(['grace']);
    console.log(
      `demo broker round trip: CMS → NATS → fake ERP process → RabbitMQ → CMS in ${roundTripMs.toFixed(0)} ms`,
    );
  }, 60_000);
});
