import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { INestApplication } from '@nestjs/common';
import { demoBrokersFromEnv } from './brokers/demo-brokers.js';
import { createDemoApp } from './demo.js';
import { SHUTDOWN_SIGNALS, startEmbeddedDatabase, type EmbeddedDatabase } from './embedded-database.js';

/*
 * Entry point of the demo (`scripts/demo.sh`, `npm start`). Environment:
 *   PORT [3000]                       HTTP port
 *   DATABASE_URL [embedded]           PostgreSQL; without it, an embedded server keeps its data in
 *                                     .data/demo-pg under the repository root
 *   DEMO_PG_PORT [54329]              port of the embedded server
 *   INTEGRATION_ADMIN_TOKEN [random]  bearer token of the bus's admin API and page
 *   INTEGRATION_NOTIFY_TOKEN [random] bearer token of the bus's notify and incoming endpoints
 *   DEMO_AUTO_SYNC [0]                1: synchronize each task at once (reference 004)
 *   DEMO_PROCESS_AFTER_COMMIT [1]     0: leave outgoing tasks queued until synchronized by hand
 *   DEMO_BROKERS [0]                  1: the ERP round trip over NATS JetStream and RabbitMQ
 *                                     (NATS_URL, RABBITMQ_URL; run the fake ERP with
 *                                     `node apps/demo/src/brokers/fake-erp-process.ts`)
 *   INTEGRATION_INCOMING_CRON         cron of the job "Process external integration tasks", six
 *     [every minute]                  fields, seconds first (every 5 s: a step of 5 in the first)
 */

/** apps/demo/dist/main.js (or src/main.ts) → the repository root. */
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

async function main(): Promise<void> {
  const port = integerFromEnv('PORT', 3000);
  let database: EmbeddedDatabase | undefined;
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    const dataDir = join(REPO_ROOT, '.data', 'demo-pg');
    const pgPort = integerFromEnv('DEMO_PG_PORT', 54329);
    console.log(`Starting embedded PostgreSQL on port ${pgPort} (data in ${dataDir})…`);
    database = await startEmbeddedDatabase({ dataDir, port: pgPort });
    databaseUrl = database.url;
  }
  const adminToken = tokenFromEnv('INTEGRATION_ADMIN_TOKEN');
  const notifyToken = tokenFromEnv('INTEGRATION_NOTIFY_TOKEN');

  let app: INestApplication;
  try {
    app = await createDemoApp({
      databaseUrl,
      port,
      adminToken: adminToken.value,
      notifyToken: notifyToken.value,
      outgoing: { processAfterCommit: process.env.DEMO_PROCESS_AFTER_COMMIT !== '0' },
      brokers: process.env.DEMO_BROKERS === '1' ? demoBrokersFromEnv() : undefined,
      // An invalid expression stops the start-up with a message naming incoming.cron.
      incoming: { cron: process.env.INTEGRATION_INCOMING_CRON || undefined },
    });
  } catch (error) {
    await database?.stop();
    throw error;
  }

  const { port: actualPort } = app.getHttpServer().address() as AddressInfo;
  const base = `http://localhost:${actualPort}`;
  console.log(
    [
      '',
      `Demo API:     ${base}/api  (sites, users, users/:id/roles, roles, documents, polls,`,
      `              custom-tables/usersync, custom-tables/emailpreferencesync)`,
      `Fake ERP:     ${base}/api/erp  (what ErpConnector sent, with the ERP's own ids)`,
      `Fake CRM in:  POST ${base}/integration/connectors/CrmConnector/incoming  (notify token), or`,
      `              npm run producer -- --task CREATEOBJ people.json  (also while the demo is stopped)`,
      `Incoming:     processed on ${process.env.INTEGRATION_INCOMING_CRON ? `'${process.env.INTEGRATION_INCOMING_CRON}'` : 'the minute'} (INTEGRATION_INCOMING_CRON), or now: POST ${base}/integration/notify`,
      `Admin page:   ${base}/integration/admin  (the bus's admin page will be served here)`,
      `Admin token:  ${adminToken.shown}`,
      `Notify token: ${notifyToken.shown}`,
      `Database:     ${database ? 'embedded PostgreSQL (.data/demo-pg)' : 'DATABASE_URL'}`,
      `Auto sync:    ${process.env.DEMO_AUTO_SYNC === '1' ? 'on' : 'off (DEMO_AUTO_SYNC=1 turns it on)'}`,
      '',
      `Try: curl -X POST ${base}/api/users -H 'content-type: application/json' -d '{"userName":"antonio"}'`,
      '',
    ].join('\n'),
  );

  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) {
      // A second Ctrl-C: do not wait any longer, but do not leave the database server behind.
      void database?.stop();
      process.exit(130);
    }
    stopping = true;
    console.log(`${signal}: shutting down…`);
    try {
      await app.close();
    } catch (error) {
      console.error('The app did not close cleanly:', error);
      process.exitCode = 1;
    } finally {
      // After app.close(): the bus finishes its batches and MikroORM closes its pool first.
      await database?.stop();
    }
  };
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, (received) => void shutdown(received));
}

function integerFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65_535) {
    throw new Error(`${name} must be a port number (0-65535), got "${raw}".`);
  }
  return value;
}

/** A token from the environment, or a random one that is printed so that it can be used. */
function tokenFromEnv(name: string): { value: string; shown: string } {
  const fromEnv = process.env[name];
  if (fromEnv) return { value: fromEnv, shown: `(from ${name})` };
  const value = randomBytes(24).toString('base64url');
  return { value, shown: `${value}  (random: set ${name} to choose one)` };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
