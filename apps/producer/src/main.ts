// oxlint-disable-next-line import/no-unassigned-import -- decorator metadata polyfill, loaded for its side effect
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Client } from 'pg';
import { BaseIntegrationConnector, IntegrationBus } from 'nestjs-integration-bus';
import { DEMO_MIGRATIONS } from '../../demo/src/mikro-orm.config.js';
import { readRequest, USAGE, UsageError, type ProducerRequest } from './producer-args.js';
import { openProducerDatabase } from './producer-database.js';
import { PRODUCER_CONNECTORS, ProducerModule } from './producer.module.js';

/*
 * The external producer of the demo (R-IN-6; reference 002, "Calling the Kentico API"): a separate
 * process that imports the library and the CRM connector and logs incoming tasks straight into
 * the demo's database — whether the demo host app runs or not. The host processes them when it
 * runs its scheduled job "Process external integration tasks", gets a notify, or is told to in
 * its admin page.
 *
 *   npm run producer -- --task CREATEOBJ apps/producer/examples/people.json
 *   node apps/producer/dist/producer/src/main.js --connector CrmConnector --task CREATEOBJ people.json
 *
 * Built by apps/producer/tsconfig.build.json with rootDir `apps/`: the CRM connector, the demo's
 * MikroORM configuration (and the entities and migrations it lists) are compiled from the demo's
 * sources into apps/producer/dist/demo/, so this file lands in apps/producer/dist/producer/src/.
 * Exit codes: 0 every object logged (or skipped by design), 1 a failure, 2 a bad command line or a
 * database the demo has not set up yet.
 */

async function main(): Promise<number> {
  let request: ProducerRequest | null;
  try {
    request = await readRequest(process.argv.slice(2), process.env, readStdin);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (!request) {
    console.log(USAGE);
    return 0;
  }
  const database = await openProducerDatabase(request.databaseUrl, process.env);
  try {
    await assertSchemaReady(database.url);
    return await produce(request, database.url, database.description);
  } finally {
    await database.release();
  }
}

/**
 * The host creates the tables (its migrations, at start-up); the producer only checks that they
 * have all run, reading MikroORM's migration table directly: MikroORM's migrator would create the
 * database and that table when missing, and the producer writes nothing but tasks.
 */
async function assertSchemaReady(databaseUrl: string): Promise<void> {
  const client = new Client({ connectionString: databaseUrl });
  try {
    await client.connect();
    const table = await client.query<{ found: string | null }>(
      `select to_regclass('public.mikro_orm_migrations')::text as found`,
    );
    const executed = new Set(
      table.rows[0]!.found
        ? (await client.query<{ name: string }>('select name from mikro_orm_migrations')).rows.map(
            (r) => r.name,
          )
        : [],
    );
    const pending = DEMO_MIGRATIONS.map((m) => m.name).filter((name) => !executed.has(name));
    if (pending.length > 0) {
      throw new UsageError(
        `The database is not ready for the producer: ${pending.length} migration(s) of the demo have not run ` +
          `(${pending.join(', ')}). Start the demo host app once: it runs them at start-up.`,
      );
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Logs every object of the request, in order, and prints what became of each. */
async function produce(request: ProducerRequest, databaseUrl: string, where: string): Promise<number> {
  const app = await NestFactory.createApplicationContext(
    ProducerModule.forRoot({ databaseUrl, notifyToken: process.env.INTEGRATION_NOTIFY_TOKEN }),
    { logger: ['error', 'warn'] },
  );
  try {
    const bus = app.get(IntegrationBus);
    console.log(
      `Logging ${request.objects.length} ${request.taskType} task(s) for ${request.connectorName} into ${where}`,
    );
    const logged: number[] = [];
    for (const { source, object } of request.objects) {
      let outcome;
      try {
        outcome = await bus.processExternalTask(request.connectorName, object, {
          taskType: request.taskType,
          dataType: request.dataType,
          processType: request.processType,
          siteName: request.siteName,
        });
      } catch (error) {
        console.error(`${source}: ${error instanceof Error ? error.message : String(error)}`);
        console.error(
          logged.length > 0
            ? `Stopped. Logged before it: task(s) ${logged.join(', ')}.`
            : 'Stopped. Nothing was logged.',
        );
        return 1;
      }
      if (outcome) {
        logged.push(outcome.id);
        console.log(`task ${outcome.id}  ${outcome.title}`);
      } else {
        console.log(
          `skipped  ${source}: not logged (incoming logging switched off, or the connector returned null)`,
        );
      }
    }
    if (request.notifyUrl) {
      const connector = PRODUCER_CONNECTORS.map((type) => app.get<BaseIntegrationConnector>(type)).find(
        (instance) => instance.connectorName === request.connectorName,
      );
      if (connector) await notify(connector, request);
    }
    return 0;
  } finally {
    await app.close();
  }
}

/** `--notify`: asks the host to process now; a host that is down or refuses is only a warning. */
async function notify(connector: BaseIntegrationConnector, request: ProducerRequest): Promise<void> {
  try {
    const status = await connector.requestTasksProcessing(request.notifyUrl!, request.connectorName);
    if (status === 202) console.log(`Notified ${request.notifyUrl}: processing started (202).`);
    else
      console.warn(
        `Notified ${request.notifyUrl}: answered ${status}; the tasks stay queued until processed.`,
      );
  } catch (error) {
    console.warn(
      `Could not notify ${request.notifyUrl} (${error instanceof Error ? error.message : String(error)}); ` +
        'the tasks stay queued for its next scheduled run.',
    );
  }
}

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (chunk: Buffer) => chunks.push(chunk));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // The message is what helps here (a database that does not answer, a refused login); the
    // stack only with PRODUCER_DEBUG=1.
    const message = error instanceof Error ? error.message : String(error);
    console.error(process.env.PRODUCER_DEBUG === '1' ? error : message);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  },
);
