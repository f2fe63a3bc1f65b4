import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

/*
 * The external system of the `external` scenario (SPEC §10, §14), run as a process of its own on
 * loopback (`node fake-service.js [--delay-ms 20] [--quota 50] [--max-records 100]`); it prints
 * `listening <port>` once it accepts connections.
 *
 * - `POST /records`, a JSON array of at most `--max-records` `{ key, version }` (more, or anything
 *   else: 400). Beyond `--quota` accepted requests in the current wall-clock second: 429 at once,
 *   with `Retry-After` in whole seconds. Otherwise the answer is sent `--delay-ms` after the request
 *   arrived, reading and checking its body included (each request on its own timer: concurrent
 *   requests are not serialized), and its records are applied: per key
 *   the highest version is kept; a version below it is counted out of order, an equal one as a
 *   duplicate (a write sent again).
 * - `GET /stats`: the counts since the last reset (see `ServiceStats`).
 * - `POST /reset` `{ "expected": n }`: clears everything and starts the clock; `completedMs` is set
 *   when `n` distinct (key, version) pairs have been applied.
 */

/** What `GET /stats` answers. */
export interface ServiceStats {
  /** Records in requests answered 200 (duplicates included). */
  records: number;
  /** Distinct (key, version) pairs applied. */
  distinctRecords: number;
  /** `POST /records` requests received, whatever their answer. */
  requests: number;
  acceptedRequests: number;
  rejected429: number;
  rejected400: number;
  /** Records whose version was below the highest already applied for their key. */
  outOfOrder: number;
  /** Records whose version equalled the highest already applied for their key. */
  duplicates: number;
  /** Most `POST /records` requests received in one wall-clock second (any answer). */
  maxRequestsInAnySecond: number;
  /** Most requests accepted (answered 200) in one wall-clock second. */
  maxAcceptedInAnySecond: number;
  /**
   * Mean milliseconds from a request's arrival to its answer being handed to the socket, over the
   * accepted requests: `--delay-ms` plus how late this process's timer fired.
   */
  meanServiceMs: number | null;
  /** Milliseconds since the reset. */
  elapsedMs: number;
  /** Milliseconds from the reset to the moment `expected` distinct records were applied, or null. */
  completedMs: number | null;
  expected: number;
}

const { values } = parseArgs({
  options: {
    'delay-ms': { type: 'string', default: '20' },
    quota: { type: 'string', default: '50' },
    'max-records': { type: 'string', default: '100' },
  },
  strict: true,
});
const DELAY_MS = Number(values['delay-ms']);
const QUOTA = Number(values.quota);
const MAX_RECORDS = Number(values['max-records']);
/** Bodies beyond this are refused unread (100 records of short keys fit many times over). */
const MAX_BODY_BYTES = 1 << 20;

interface RecordIn {
  key: string | number;
  version: number;
}

let state = freshState(0);

function freshState(expected: number) {
  return {
    expected,
    startedAt: performance.now(),
    completedAt: null as number | null,
    applied: new Map<string, number>(),
    seen: new Set<string>(),
    records: 0,
    requests: 0,
    acceptedRequests: 0,
    /** Summed arrival-to-answer milliseconds of the accepted requests. */
    serviceMs: 0,
    rejected429: 0,
    rejected400: 0,
    outOfOrder: 0,
    duplicates: 0,
    /** Per wall-clock second: requests received, and accepted. */
    received: new Map<number, number>(),
    accepted: new Map<number, number>(),
  };
}

function bump(map: Map<number, number>, second: number): number {
  const n = (map.get(second) ?? 0) + 1;
  map.set(second, n);
  return n;
}

const busiestSecond = (map: Map<number, number>): number => Math.max(0, ...map.values());

function stats(): ServiceStats {
  const now = performance.now();
  return {
    records: state.records,
    distinctRecords: state.seen.size,
    requests: state.requests,
    acceptedRequests: state.acceptedRequests,
    rejected429: state.rejected429,
    rejected400: state.rejected400,
    outOfOrder: state.outOfOrder,
    duplicates: state.duplicates,
    maxRequestsInAnySecond: busiestSecond(state.received),
    maxAcceptedInAnySecond: busiestSecond(state.accepted),
    meanServiceMs: state.acceptedRequests === 0 ? null : state.serviceMs / state.acceptedRequests,
    elapsedMs: now - state.startedAt,
    completedMs: state.completedAt === null ? null : state.completedAt - state.startedAt,
    expected: state.expected,
  };
}

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** The records of a body, or why it is refused. */
function parseRecords(body: string | null): RecordIn[] | string {
  if (body === null) return 'body too large';
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return 'body is not JSON';
  }
  if (!Array.isArray(parsed)) return 'body must be a JSON array of { key, version }';
  if (parsed.length > MAX_RECORDS) return `at most ${MAX_RECORDS} records per request, got ${parsed.length}`;
  for (const r of parsed as unknown[]) {
    const rec = r as Partial<RecordIn> | null;
    const keyOk = typeof rec?.key === 'string' || typeof rec?.key === 'number';
    if (!keyOk || !Number.isFinite(rec?.version)) return 'each record must be { key, version: number }';
  }
  return parsed as RecordIn[];
}

/**
 * Resolves at `deadline` (`performance.now()` time), to within a fraction of a millisecond: a timer
 * alone fires up to a millisecond late (its clock has whole milliseconds), which would make the
 * service slower than `--delay-ms` says. So the timer is set a millisecond short and the rest is
 * waited out turn by turn of the event loop, which keeps serving other requests meanwhile.
 */
async function answerAt(deadline: number): Promise<void> {
  const coarse = Math.floor(deadline - performance.now()) - 1;
  if (coarse > 0) await sleep(coarse);
  while (performance.now() < deadline) await new Promise<void>((resolve) => setImmediate(resolve));
}

async function postRecords(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const arrivedAt = performance.now();
  const now = Date.now();
  const second = Math.floor(now / 1000);
  const current = state;
  current.requests += 1;
  bump(current.received, second);
  const records = parseRecords(await readBody(req));
  if (typeof records === 'string') {
    current.rejected400 += 1;
    send(res, 400, { error: records });
    return;
  }
  // A fixed window per wall-clock second: the quota counts the requests it let through.
  if ((current.accepted.get(second) ?? 0) >= QUOTA) {
    current.rejected429 += 1;
    const retryAfter = Math.max(1, Math.ceil(((second + 1) * 1000 - Date.now()) / 1000));
    send(res, 429, { error: `quota of ${QUOTA} requests/s exceeded` }, { 'retry-after': String(retryAfter) });
    return;
  }
  bump(current.accepted, second);
  current.acceptedRequests += 1;
  await answerAt(arrivedAt + DELAY_MS);
  // A reset while this request waited: it belongs to the previous measurement.
  if (current !== state) {
    send(res, 200, { accepted: records.length });
    return;
  }
  for (const { key, version } of records) {
    const k = String(key);
    const highest = current.applied.get(k);
    if (highest === undefined || version > highest) current.applied.set(k, version);
    else if (version === highest) current.duplicates += 1;
    else current.outOfOrder += 1;
    current.seen.add(`${k}\u0000${version}`);
  }
  current.records += records.length;
  current.serviceMs += performance.now() - arrivedAt;
  if (current.completedAt === null && current.expected > 0 && current.seen.size >= current.expected) {
    current.completedAt = performance.now();
  }
  send(res, 200, { accepted: records.length });
}

const server = createServer((req, res) => {
  const route = `${req.method} ${req.url}`;
  const handle = async (): Promise<void> => {
    if (route === 'POST /records') return postRecords(req, res);
    if (route === 'GET /stats') return send(res, 200, stats());
    if (route === 'POST /reset') {
      const body = await readBody(req);
      const expected = Number((JSON.parse(body || '{}') as { expected?: unknown }).expected ?? 0);
      state = freshState(Number.isFinite(expected) ? expected : 0);
      return send(res, 200, { ok: true });
    }
    send(res, 404, { error: `no route ${route}` });
  };
  handle().catch((error: unknown) => {
    if (!res.headersSent) send(res, 500, { error: String(error) });
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') console.log(`listening ${address.port}`);
});
