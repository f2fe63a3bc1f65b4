import { performance } from 'node:perf_hooks';
import type { PreparedPeer } from './peers.js';
import { MAX_RECORDS_PER_REQUEST, postRecords, type ServiceRecord } from './service-client.js';

/**
 * The reference of the `external` scenario: the service's real serial capacity on this machine.
 * A bare loop posts the changes 100 per request, one request at a time, with the client the bus's
 * connectors use (`postRecords`): no queue, no database, nothing done between requests but slicing
 * the next 100. A refusal (a 429 should not come at one request at a time) is waited out and the
 * same records sent again. Whatever a serial client of the service does, it cannot be faster.
 */
export function prepareSerialCeiling(serviceUrl: string, changes: readonly ServiceRecord[]): PreparedPeer {
  let running: Promise<void> | undefined;
  const stop = new AbortController();
  const counts = { requests: 0, refused: 0, meanRequestMs: 0 };
  let requestMs = 0;
  const loop = async (): Promise<void> => {
    for (let from = 0; from < changes.length && !stop.signal.aborted;) {
      const records = changes.slice(from, from + MAX_RECORDS_PER_REQUEST);
      const sentAt = performance.now();
      const answer = await postRecords(serviceUrl, records);
      requestMs += performance.now() - sentAt;
      counts.requests += 1;
      counts.meanRequestMs = Math.round((requestMs / counts.requests) * 100) / 100;
      if (answer.ok) {
        from += MAX_RECORDS_PER_REQUEST;
        continue;
      }
      counts.refused += 1;
      await new Promise((resolve) => setTimeout(resolve, answer.retryAfterMs ?? 1000));
    }
  };
  return {
    go: async () => {
      running = loop();
    },
    finish: async () => {
      stop.abort();
      await running;
      return counts;
    },
    close: async () => {
      stop.abort();
    },
  };
}
