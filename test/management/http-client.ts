import type { INestApplication } from '@nestjs/common';
import type { AddressInfo } from 'node:net';

/** Loosely typed JSON: what tests reach into without declaring every answer's shape. */
// oxlint-disable-next-line typescript/no-explicit-any
export type Json = any;

/** An answer of the management API as a test reads it. */
export interface HttpAnswer<T = Json> {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body, or `undefined` when the body is not JSON. */
  body: T;
}

/** What a request carries besides method and path. */
export interface RequestOptions {
  /** Bearer token; `null` sends no Authorization header. */
  token?: string | null;
  /** A JSON body (serialised), or a raw string body sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** A small HTTP client bound to an application listening on a real port. */
export interface HttpClient {
  readonly baseUrl: string;
  request<T = Json>(method: string, path: string, options?: RequestOptions): Promise<HttpAnswer<T>>;
}

/** Makes `app` listen on a free local port and returns a client for it. */
export async function listen(app: INestApplication, defaultToken: string | null): Promise<HttpClient> {
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    async request(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      const token = options.token === undefined ? defaultToken : options.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let body: string | undefined;
      if (options.body !== undefined) {
        headers['content-type'] ??= 'application/json';
        body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      }
      const res = await fetch(baseUrl + path, { method, headers, body });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      return { status: res.status, headers: res.headers, text, body: parsed as never };
    },
  };
}
