import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { INestApplication } from '@nestjs/common';
import { spawn, type ChildProcess } from 'node:child_process';
import { demoBrokersFromEnv, reachable, type DemoBrokers } from './brokers/demo-brokers.js';
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
 *   DEMO_BROKERS [auto]               the ERP round trip over NATS JetStream and RabbitMQ
 *                                     (NATS_URL, RABBITMQ_URL), with the fake ERP started as a
 *                                     process of its own: auto = when both answer, 1 = required,
 *                                     0 = off
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
  const brokers = await brokersFromEnv();
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
      brokers: brokers.settings,
      // An invalid expression stops the start-up with a message naming incoming.cron.
      incoming: { cron: process.env.INTEGRATION_INCOMING_CRON || undefined },
    });
  } catch (error) {
    await database?.stop();
    throw error;
  }

  const erp = brokers.settings ? startFakeErp(brokers.settings) : undefined;
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
      `Brokers:      ${brokers.summary}`,
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
    erp?.kill('SIGTERM');
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

/**
 * The broker round trip's settings, from `DEMO_BROKERS`: `0` off; `1` required (a clear error when
 * NATS or RabbitMQ does not answer); unset, on when both answer, else off with a message saying why.
 */
async function brokersFromEnv(): Promise<{ settings: DemoBrokers | undefined; summary: string }> {
  const mode = process.env.DEMO_BROKERS ?? 'auto';
  if (mode === '0') return { settings: undefined, summary: 'off (DEMO_BROKERS=0)' };
  const settings: DemoBrokers = { ...demoBrokersFromEnv(), applyAtOnce: true };
  const missing: string[] = [];
  if (!(await reachable(settings.natsUrl))) missing.push(`NATS at ${settings.natsUrl}`);
  if (!(await reachable(settings.rabbitMqUrl))) missing.push(`RabbitMQ at ${hostOf(settings.rabbitMqUrl)}`);
  if (missing.length === 0) {
    return {
      settings,
      summary: `users relayed to JetStream ${settings.stream}; the fake ERP (a process of its own) answers on RabbitMQ ${settings.replyQueue}`,
    };
  }
  const why = `${missing.join(' and ')} not reachable`;
  if (mode === '1') throw new Error(`DEMO_BROKERS=1 but ${why}: start the broker(s), or unset DEMO_BROKERS.`);
  console.log(`Brokers: ${why}; the broker round trip is off (the ERP connector over HTTP still runs).`);
  return { settings: undefined, summary: `off (${why}; DEMO_BROKERS=0 silences this)` };
}

/** The fake ERP as a process of its own, its output prefixed; stopped with the demo. */
function startFakeErp(settings: DemoBrokers): ChildProcess {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'apps/demo/src/brokers/fake-erp-process.ts')], {
    env: {
      ...process.env,
      NATS_URL: settings.natsUrl,
      RABBITMQ_URL: settings.rabbitMqUrl,
      DEMO_ERP_STREAM: settings.stream,
      DEMO_ERP_REPLY_QUEUE: settings.replyQueue,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM')
      console.error(`The fake ERP process stopped (${signal ?? code}).`);
  });
  return child;
}

/** A URL without its credentials, for messages. */
function hostOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}`;
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
