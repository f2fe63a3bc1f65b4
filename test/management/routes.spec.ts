import { Body, Controller, Post, type INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { IntegrationBusModule } from 'nestjs-integration-bus';
import { createTestDatabase } from '../support/database.js';
import { createCustomApp } from './custom-app.js';
import { listen, type HttpClient } from './http-client.js';

const TOKEN = 'routes-token';
const quiet = { outgoing: { sweepIntervalMs: 0 }, incoming: { enabled: false } } as const;

/** A route of the host beside the bus: its errors are the host's to shape. */
@Controller('echo')
class EchoController {
  @Post()
  echo(@Body() body: unknown): unknown {
    return body;
  }
}

let db: { url: string; drop: () => Promise<void> };
const apps: INestApplication[] = [];
let fromOptions: HttpClient;
let fromFactory: HttpClient;
let prefixed: HttpClient;

beforeAll(async () => {
  db = await createTestDatabase(inject('serverUrl'));
  // Built one after the other, alive at the same time: each keeps its own path.
  const first = await createCustomApp({
    databaseUrl: db.url,
    bus: IntegrationBusModule.forRoot({ ...quiet, http: { path: '/ops/bus/', adminToken: TOKEN } }),
  });
  const second = await createCustomApp({
    databaseUrl: db.url,
    bus: IntegrationBusModule.forRootAsync({
      useFactory: async () => {
        await new Promise((resolve) => setTimeout(resolve, 20)); // e.g. read from a config service
        return { ...quiet, http: { path: 'async-bus', adminToken: TOKEN } };
      },
    }),
  });
  const third = await createCustomApp({
    databaseUrl: db.url,
    bus: IntegrationBusModule.forRoot({ ...quiet, http: { adminToken: TOKEN } }),
    globalPrefix: 'api',
    controllers: [EchoController],
  });
  apps.push(first, second, third);
  fromOptions = await listen(first, TOKEN);
  fromFactory = await listen(second, TOKEN);
  prefixed = await listen(third, TOKEN);
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await db?.drop();
});

async function status(client: HttpClient, path: string): Promise<number> {
  return (await client.request('GET', path)).status;
}

describe('where the management API is mounted', () => {
  it('uses http.path from forRoot options', async () => {
    expect(await status(fromOptions, '/ops/bus/settings')).toBe(200);
    expect(await status(fromOptions, '/ops/bus/admin')).toBe(200);
    expect(await status(fromOptions, '/integration/settings')).toBe(404);
    expect(await status(fromOptions, '/async-bus/settings')).toBe(404);
  });

  it('uses http.path resolved by a forRootAsync factory', async () => {
    expect(await status(fromFactory, '/async-bus/settings')).toBe(200);
    expect(await status(fromFactory, '/async-bus/health')).toBe(200);
    expect(await status(fromFactory, '/ops/bus/settings')).toBe(404);
    expect(await status(fromFactory, '/settings')).toBe(404);
  });

  it("follows the host's global prefix", async () => {
    expect(await status(prefixed, '/api/integration/settings')).toBe(200);
    expect(await status(prefixed, '/integration/settings')).toBe(404);
  });

  it('documents the paths where they are mounted', async () => {
    const own = await fromFactory.request('GET', '/async-bus/docs/openapi.json');
    expect(Object.keys(own.body.paths)).toContain('/async-bus/tasks/{id}');
    expect(own.body.servers).toEqual([{ url: '/' }]);
    const behindPrefix = await prefixed.request('GET', '/api/integration/docs/openapi.json');
    expect(Object.keys(behindPrefix.body.paths)).toContain('/integration/tasks');
    expect(behindPrefix.body.servers).toEqual([{ url: '/api' }]);
  });
});

describe('400s raised before a route runs (issue 19)', () => {
  it('name their field wherever the API is mounted, and leave the host routes alone', async () => {
    for (const [client, prefix] of [
      [fromOptions, '/ops/bus'],
      [prefixed, '/api/integration'],
    ] as const) {
      const malformed = await client.request('PATCH', `${prefix}/settings`, { body: '{"enabled":' });
      expect({ prefix, status: malformed.status, field: malformed.body.field }).toEqual({
        prefix,
        status: 400,
        field: 'body',
      });
      const undecodable = await client.request('GET', `${prefix}/tasks/%FF`);
      expect({ prefix, status: undecodable.status, field: undecodable.body.field }).toEqual({
        prefix,
        status: 400,
        field: 'id',
      });
    }
    const host = await prefixed.request('POST', '/api/echo', { body: '{"enabled":' });
    expect(host.status).toBe(400);
    expect(host.body.field).toBeUndefined();
  });
});
