import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake external system on loopback, a real HTTP server: it hands each request, with its whole
 * body, to `take`, and answers 200 while `up`, 503 while down. Subclasses decide what they record.
 */
export abstract class FakeCrmServer {
  up = true;
  url = '';
  readonly #server: Server;

  constructor() {
    this.#server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        this.take(req, body);
        res.writeHead(this.up ? 200 : 503).end();
      });
    });
  }

  /** A request, with its whole body, as it arrives (before the answer, so `up` tells which). */
  protected abstract take(req: IncomingMessage, body: string): void;

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
