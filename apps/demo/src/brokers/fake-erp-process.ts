/*
 * The fake ERP of the demo's broker round trip, a process of its own (run it with
 * `node apps/demo/src/brokers/fake-erp-process.ts`; Node strips the types). It reads the users the
 * demo relays to NATS JetStream through a durable consumer, files their e-mail address in lower
 * case, and answers each user whose address it changed on RabbitMQ, in the body the demo's
 * consumer reads (`{ object, taskType }`), with the message id `erp-reply:<task GUID>`. A message
 * is acknowledged on the stream only once RabbitMQ confirmed the answer: a crash in between sends
 * the answer again, which the demo drops by its message id.
 *
 * Environment: NATS_URL, RABBITMQ_URL, DEMO_ERP_STREAM, DEMO_ERP_REPLY_QUEUE (the demo's defaults).
 * Plain JavaScript-compatible TypeScript: no decorators, enums or relative imports.
 */
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect as connectNats } from '@nats-io/transport-node';
import { connect as connectAmqp } from 'amqplib';

const natsUrl = process.env.NATS_URL || 'nats://127.0.0.1:4222';
const rabbitMqUrl = process.env.RABBITMQ_URL || 'amqp://guest:guest@127.0.0.1:5672';
const stream = process.env.DEMO_ERP_STREAM || 'DEMO_ERP';
const replyQueue = process.env.DEMO_ERP_REPLY_QUEUE || 'demo.erp.replies';
const consumerName = 'fake-erp';

interface RelayedUser {
  taskGuid: string;
  taskType: string;
  objectType: string;
  data: { userName?: string; email?: string | null };
}

async function main(): Promise<void> {
  const nc = await connectNats({ servers: natsUrl, maxReconnectAttempts: -1 });
  const amqp = await connectAmqp(rabbitMqUrl);
  amqp.on('error', () => {});
  const replies = await amqp.createConfirmChannel();
  await replies.assertQueue(replyQueue, { durable: true });

  const jsm = await jetstreamManager(nc);
  // The demo's relay creates the stream with its first user: until then, wait for it.
  for (let waited = false; ; waited = true) {
    try {
      await jsm.consumers.info(stream, consumerName);
      break;
    } catch {
      try {
        await jsm.consumers.add(stream, {
          durable_name: consumerName,
          ack_policy: AckPolicy.Explicit,
          max_ack_pending: 1,
        });
        break;
      } catch {
        if (!waited) console.log(`fake ERP: waiting for the stream ${stream} (created with the first user)`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }
  const messages = await (await jetstream(nc).consumers.get(stream, consumerName)).consume();
  const stop = async () => {
    await messages.close();
    await nc.close();
    await amqp.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  console.log(`fake ERP: reading stream ${stream}, answering on ${replyQueue}`);

  for await (const message of messages) {
    const user = message.json<RelayedUser>();
    const email = user.data.email ?? null;
    if (user.objectType === 'cms.user' && email !== null && email !== email.toLowerCase()) {
      const body = JSON.stringify({
        object: { userName: user.data.userName, email: email.toLowerCase() },
        taskType: 'UPDATEOBJ',
      });
      await new Promise<void>((resolve, reject) =>
        replies.sendToQueue(
          replyQueue,
          Buffer.from(body),
          { persistent: true, messageId: `erp-reply:${user.taskGuid}`, contentType: 'application/json' },
          (error: unknown) =>
            error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(),
        ),
      );
      console.log(`fake ERP: ${user.taskType} ${user.data.userName}: answered with ${email.toLowerCase()}`);
    }
    await message.ackAck();
  }
}

main().catch((error: unknown) => {
  console.error('fake ERP failed:', error);
  process.exit(1);
});
