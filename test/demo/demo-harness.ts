import type { INestApplication } from '@nestjs/common';
import { Pool } from 'pg';
import { inject } from 'vitest';
import { IntegrationEventLog, type EventLogEntry } from 'nestjs-integration-bus';
import type { DemoBrokers } from '../../apps/demo/src/brokers/demo-brokers.js';
import { createDemoApp } from '../../apps/demo/src/demo.js';
import { createTestDatabase } from '../support/database.js';

/** The demo app on a database of its own, driven over real HTTP. */
export interface RunningDemo {
  app: INestApplication;
  url: string;
  pool: Pool;
  close(): Promise<void>;
}

/** Starts the demo on a new database; processing is left to the test. */
export async function startDemo(options: { autoSync: boolean; brokers?: DemoBrokers }): Promise<RunningDemo> {
  const db = await createTestDatabase(inject('serverUrl'));
  const app = await createDemoApp({
    databaseUrl: db.url,
    autoSync: options.autoSync,
    brokers: options.brokers,
    logger: false,
    // The test drives processing itself: no processing on commit, no periodic sweep.
    outgoing: { processAfterCommit: false, sweepIntervalMs: 0 },
  });
  const pool = new Pool({ connectionString: db.url, max: 2 });
  return {
    app,
    url: await app.getUrl(),
    pool,
    close: async () => {
      await app.close();
      await pool.end();
      await db.drop();
    },
  };
}

/** One HTTP request to the demo; the body of the answer parsed as JSON (`{}` when empty). */
export async function call(
  demo: RunningDemo,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${demo.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** The number of rows `sql` returns. */
export async function count(demo: RunningDemo, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await demo.pool.query<{ n: number }>(`select count(*)::int as n from (${sql}) q`, params);
  return rows[0]!.n;
}

/** The event-log entries a connector wrote, oldest first. */
export async function entriesOf(demo: RunningDemo, source: string): Promise<EventLogEntry[]> {
  const entries = await demo.app.get(IntegrationEventLog).list({ limit: 500 });
  return entries.filter((e) => e.source === source).toReversed();
}
