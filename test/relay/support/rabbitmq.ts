import { connect, type Channel, type ChannelModel } from 'amqplib';

/** The shared RabbitMQ service of the project's machines. */
export const RABBITMQ_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Its port, for a proxy in front of it. */
export const RABBITMQ_PORT = Number(new URL(RABBITMQ_URL).port || 5672);

/** The same broker behind another local port (a `TcpProxy`). */
export const rabbitMqUrlVia = (port: number) => RABBITMQ_URL.replace(`:${RABBITMQ_PORT}`, `:${port}`);

/**
 * A connection and channel of the test's own, to declare, publish and read. Rejects when the broker
 * cannot be reached: a test file that needs it fails, never skips.
 */
export async function openRabbitMqAdmin(): Promise<{ connection: ChannelModel; channel: Channel }> {
  const connection = await connect(RABBITMQ_URL);
  connection.on('error', () => {});
  return { connection, channel: await connection.createChannel() };
}
