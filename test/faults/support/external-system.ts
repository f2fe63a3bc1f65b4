import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One call a connector made to the external system, as the external system saw it. */
export interface Delivery {
  connector: string;
  objectId: number;
  version: number;
  taskId: number;
  /** The task's `sequence`: grows with each object's commit order. */
  sequence: number;
  attempt: number;
  /** The worker process that made the call. */
  pid: number;
  /** Whether the task was logged by a resync (its title starts with `Resync`). */
  resync?: boolean;
  /** When the connector made the call (epoch ms, the worker's clock: the same machine's). */
  sentAt: number;
  /** When the request arrived (epoch ms, this process's clock). */
  at: number;
  /** What the external system did with it. */
  outcome: Outcome;
  /** For a hung call: when the caller gave up and closed the connection (epoch ms). */
  closedAt?: number;
}

/**
 * `ok`: 200 (a delivery); `fail`: 503 (the connector returns Error); `hang`: never answers;
 * `quota`: 429 with `Retry-After: 1` (the connector pauses itself that long).
 */
export type Outcome = 'ok' | 'fail' | 'hang' | 'quota';

/** One HTTP request as the external system saw it: a bulk request carries several calls. */
export interface ReceivedRequest {
  at: number;
  calls: number;
  outcome: Outcome;
}

type Call = Omit<Delivery, 'at' | 'outcome' | 'closedAt'>;

/**
 * The fake external system: a real HTTP server on loopback that records every call and answers as
 * `behaviour` decides (it can be switched at any time: an outage, a poison object, a hang).
 */
export class ExternalSystem {
  /** Every call, in arrival order. */
  readonly calls: Delivery[] = [];
  /** Decides each call's outcome. */
  behaviour: (call: Call) => Outcome = () => 'ok';
  /** Milliseconds an `ok` answer takes: how long a delivery lasts for the connector. */
  answerDelayMs = 0;
  /** Every request, in arrival order. */
  readonly requests: ReceivedRequest[] = [];
  /** A quota: beyond `requests` answered within `perMs`, a request gets `quota` (429). */
  quota: { requests: number; perMs: number } | null = null;
  readonly #server: Server;
  readonly #hung = new Set<ServerResponse>();
  #url = '';

  constructor() {
    this.#server = createServer((req, res) => this.#handle(req, res));
    // Longer than any pause of a test: a connector never reuses a socket the server is closing.
    this.#server.keepAliveTimeout = 120_000;
  }

  get url(): string {
    return this.#url;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const res of this.#hung) res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** The calls answered 200, in arrival order: what the external system received. */
  deliveries(connector?: string): Delivery[] {
    return this.calls.filter((c) => c.outcome === 'ok' && (!connector || c.connector === connector));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      // One call, or a bulk request's array of calls: they share the request's outcome.
      const parsed = JSON.parse(body) as Call | Call[];
      const calls = Array.isArray(parsed) ? parsed : [parsed];
      const at = Date.now();
      const outcome = calls.map((c) => this.behaviour(c)).find((o) => o !== 'ok') ?? this.#admit(at);
      this.requests.push({ at, calls: calls.length, outcome });
      const deliveries: Delivery[] = calls.map((call) => ({ ...call, at, outcome }));
      this.calls.push(...deliveries);
      if (outcome === 'hang') {
        this.#hung.add(res);
        res.on('close', () => {
          for (const delivery of deliveries) delivery.closedAt = Date.now();
          this.#hung.delete(res);
        });
        return;
      }
      const status = outcome === 'ok' ? 200 : outcome === 'quota' ? 429 : 503;
      const headers = {
        'content-type': 'text/plain',
        ...(outcome === 'quota' ? { 'retry-after': '1' } : {}),
      };
      const answer = () => res.writeHead(status, headers).end(outcome);
      if (outcome === 'ok' && this.answerDelayMs > 0) setTimeout(answer, this.answerDelayMs);
      else answer();
    });
  }

  /** `ok` while the quota (if any) has room at `at`, counting the requests it let through. */
  #admit(at: number): Outcome {
    if (!this.quota) return 'ok';
    const since = at - this.quota.perMs;
    let admitted = 0;
    for (let i = this.requests.length - 1; i >= 0 && this.requests[i]!.at > since; i--) {
      if (this.requests[i]!.outcome === 'ok') admitted++;
    }
    return admitted < this.quota.requests ? 'ok' : 'quota';
  }
}
