import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { ServiceStats } from './fake-service.js';

export type { ServiceStats } from './fake-service.js';

const SERVICE = fileURLToPath(new URL('./fake-service.js', import.meta.url));

/** One record the external service takes: an object's key and the version of its change. */
export interface ServiceRecord {
  key: string | number;
  version: number;
}

/** How the service answered a `POST /records`. */
export type PostAnswer =
  { ok: true } | { ok: false; status: number; retryAfterMs: number | null; message: string };

/** Most records the service takes per request. */
export const MAX_RECORDS_PER_REQUEST = 100;

/**
 * Sends records to the service's bulk endpoint, as a connector or a job would: a 429 comes back
 * with its `Retry-After` in milliseconds, anything else but 200 with its status and body.
 * With `node:http` and a keep-alive agent by default, as a client written for throughput would be;
 * `BENCH_HTTP_CLIENT=fetch` sends with `fetch` instead, which costs about a millisecond more per
 * request on this machine (every subject of the scenario uses this function, so they all change
 * together).
 */
export function postRecords(
  serviceUrl: string,
  records: readonly ServiceRecord[],
  signal?: AbortSignal,
): Promise<PostAnswer> {
  return process.env.BENCH_HTTP_CLIENT === 'fetch'
    ? postWithFetch(serviceUrl, records, signal)
    : postWithHttp(serviceUrl, records, signal);
}

async function postWithFetch(
  serviceUrl: string,
  records: readonly ServiceRecord[],
  signal?: AbortSignal,
): Promise<PostAnswer> {
  const res = await fetch(`${serviceUrl}/records`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(records),
    signal,
  });
  const body = await res.text();
  if (res.ok) return { ok: true };
  return {
    ok: false,
    status: res.status,
    retryAfterMs: retryAfterMs(res.headers.get('retry-after')),
    message: `${res.status} ${res.statusText}: ${body}`,
  };
}

/** One connection kept open between requests, as `fetch` does. */
const keepAlive = new Agent({ keepAlive: true });

function postWithHttp(
  serviceUrl: string,
  records: readonly ServiceRecord[],
  signal?: AbortSignal,
): Promise<PostAnswer> {
  const body = JSON.stringify(records);
  return new Promise((resolve, reject) => {
    const req = request(
      `${serviceUrl}/records`,
      {
        method: 'POST',
        agent: keepAlive,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve({ ok: true });
          const header = res.headers['retry-after'];
          resolve({
            ok: false,
            status,
            retryAfterMs: retryAfterMs(typeof header === 'string' ? header : null),
            message: `${status} ${res.statusMessage ?? ''}: ${Buffer.concat(chunks).toString('utf8')}`,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** `Retry-After` (seconds, or an HTTP date) in milliseconds from now; null when absent or unreadable. */
function retryAfterMs(header: string | null): number | null {
  if (header === null) return null;
  if (/^\d+$/.test(header.trim())) return Number(header) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

/** The fake service, running in a process of its own. */
export interface FakeService {
  url: string;
  /** Clears the counts and starts the service's clock; it notes when `expected` distinct records are in. */
  reset(expected: number): Promise<void>;
  stats(): Promise<ServiceStats>;
  stop(): void;
}

/** Starts `fake-service.js` on a random loopback port. */
export async function startFakeService(): Promise<FakeService> {
  const child = spawn(process.execPath, [SERVICE], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  const port = /^listening (\d+)$/.exec(first.done ? '' : first.value)?.[1];
  if (!port) {
    child.kill();
    throw new Error(`The fake service did not start (said ${JSON.stringify(first.value)}).`);
  }
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    reset: async (expected) => {
      const res = await fetch(`${url}/reset`, { method: 'POST', body: JSON.stringify({ expected }) });
      if (!res.ok) throw new Error(`POST /reset answered ${res.status}.`);
    },
    stats: async () => {
      const res = await fetch(`${url}/stats`);
      if (!res.ok) throw new Error(`GET /stats answered ${res.status}.`);
      return (await res.json()) as ServiceStats;
    },
    stop: () => {
      if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}

/**
 * Polls the service every 50 ms until every expected record is in, or until `timeLimitMs` has
 * passed since the reset (then the run is measured over that time); throws after `timeoutMs`.
 */
export async function waitForRecords(
  service: FakeService,
  options: { timeLimitMs?: number; timeoutMs: number },
): Promise<ServiceStats> {
  for (;;) {
    const stats = await service.stats();
    if (stats.completedMs !== null) return stats;
    if (options.timeLimitMs !== undefined && stats.elapsedMs >= options.timeLimitMs) return stats;
    if (stats.elapsedMs > options.timeoutMs) {
      throw new Error(
        `Only ${stats.distinctRecords} of ${stats.expected} records reached the service in ${Math.round(stats.elapsedMs / 1000)} s.`,
      );
    }
    await sleep(50);
  }
}
