import { createConnection } from 'node:net';

/**
 * Where the demo's broker round trip runs (when NATS and RabbitMQ answer, see `main.ts`). The demo relays its users to
 * a NATS JetStream stream; a fake ERP, a separate process (`fake-erp-process.ts`), reads them and
 * answers on a RabbitMQ queue, which the demo consumes back into incoming tasks.
 */
export interface DemoBrokers {
  /** NATS server, e.g. `nats://127.0.0.1:4222`. */
  natsUrl: string;
  /** RabbitMQ, e.g. `amqp://guest:guest@127.0.0.1:5672`. */
  rabbitMqUrl: string;
  /** The stream the users are relayed to (created when missing), capturing `<subjectPrefix>.>`. */
  stream: string;
  subjectPrefix: string;
  /** The queue the fake ERP answers on. */
  replyQueue: string;
  /**
   * Apply each answer as soon as it is logged (`npm run demo`), instead of at the incoming
   * schedule's next run (the tests, which process by hand).
   */
  applyAtOnce?: boolean;
}

/** Injection token of `DemoBrokers`. */
export const DEMO_BROKERS = Symbol('DemoBrokers');

/** The demo's broker settings from the environment (`NATS_URL`, `RABBITMQ_URL`), defaults otherwise. */
export function demoBrokersFromEnv(env: NodeJS.ProcessEnv = process.env): DemoBrokers {
  return {
    natsUrl: env.NATS_URL || 'nats://127.0.0.1:4222',
    rabbitMqUrl: env.RABBITMQ_URL || 'amqp://guest:guest@127.0.0.1:5672',
    stream: env.DEMO_ERP_STREAM || 'DEMO_ERP',
    subjectPrefix: env.DEMO_ERP_SUBJECT_PREFIX || 'demo-erp',
    replyQueue: env.DEMO_ERP_REPLY_QUEUE || 'demo.erp.replies',
  };
}

/** Whether something accepts TCP connections at the URL's host and port (within 500 ms). */
export async function reachable(url: string): Promise<boolean> {
  const parsed = new URL(url);
  const port = Number(parsed.port) || (parsed.protocol === 'amqp:' ? 5672 : 4222);
  return new Promise((resolve) => {
    const socket = createConnection({ host: parsed.hostname, port, timeout: 500 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}
