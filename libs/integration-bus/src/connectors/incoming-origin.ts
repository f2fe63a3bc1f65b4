import { AsyncLocalStorage } from 'node:async_hooks';

const origin = new AsyncLocalStorage<string>();

/**
 * Runs `work` marked as applying an incoming task of `connectorName`: flushes inside it log no
 * outgoing task for that connector (no echo loops, R-IN-4); other connectors still get them.
 */
export function runAsIncomingFrom<T>(connectorName: string, work: () => Promise<T>): Promise<T> {
  return origin.run(connectorName, work);
}

/** The connector whose incoming task is being applied in this async context, if any. */
export function incomingOrigin(): string | undefined {
  return origin.getStore();
}
