import type * as Amqp from 'amqplib';
import { importOptionalPackage } from './optional-package.js';

/** `amqplib`, loaded on first use (an optional peer dependency). */
export type AmqpClient = Pick<typeof Amqp, 'connect'>;

/** Loads `amqplib`, naming it when missing. It is CommonJS: its functions may sit on `default`. */
export async function loadAmqpClient(usedBy: string): Promise<AmqpClient> {
  const module = await importOptionalPackage<AmqpClient & { default?: AmqpClient }>('amqplib', usedBy);
  return typeof module.connect === 'function' ? module : module.default!;
}

/**
 * Opens a connection (the first attempt bounded by `timeoutMs`) whose `error` events are absorbed:
 * amqplib emits one before `close` on a lost connection, and an unhandled `error` event would end
 * the process. The owner learns of the loss from `close`.
 */
export async function openAmqpConnection(
  client: AmqpClient,
  url: string,
  timeoutMs: number,
): Promise<Amqp.ChannelModel> {
  const model = await client.connect(url, { timeout: timeoutMs });
  model.on('error', () => {});
  return model;
}
