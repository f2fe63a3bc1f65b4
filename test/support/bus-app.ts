import type { INestApplication, ModuleMetadata, Provider } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, inject } from 'vitest';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { MikroORM, type EntityManager } from '@mikro-orm/core';
import { ReflectMetadataProvider } from '@mikro-orm/decorators/legacy';
import { Migrator } from '@mikro-orm/migrations';
import { MikroOrmModule } from '@mikro-orm/nestjs';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { Pool } from 'pg';
import {
  IntegrationBus,
  IntegrationBusModule,
  type IntegrationBusModuleOptions,
} from 'nestjs-integration-bus';
import { createTestDatabase } from './database.js';
import { watchStep } from './slow-step.js';
import { TEST_ENTITIES } from './entities.js';

/** A running Nest application with the bus, on a database of its own. */
export interface BusTestApp {
  app: INestApplication;
  orm: MikroORM;
  bus: IntegrationBus;
  /** A fresh entity manager. */
  em(): EntityManager;
  /** Runs a query on a separate connection (what another process would see). */
  sql<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

/**
 * The MikroORM options of the test apps: the test entities and the bus's, with its migrations, on
 * `databaseUrl`.
 */
export function testOrmOptions(databaseUrl: string) {
  return {
    driver: PostgreSqlDriver,
    clientUrl: databaseUrl,
    entities: [...TEST_ENTITIES, ...IntegrationBusModule.entities],
    metadataProvider: ReflectMetadataProvider,
    extensions: [Migrator],
    migrations: { migrationsList: IntegrationBusModule.migrations, snapshot: false },
    allowGlobalContext: true,
    debug: false,
  };
}

/**
 * Builds the app the way a host would: MikroORM with the bus's entities and migration, the event
 * emitter, the bus, and the given connector providers. Migrations run before `init()`, as in the
 * demo, because connectors are registered in the database at start-up.
 */
export async function createBusApp(options: {
  databaseUrl: string;
  providers?: Provider[];
  imports?: NonNullable<ModuleMetadata['imports']>;
  bus?: IntegrationBusModuleOptions;
  migrate?: boolean;
}): Promise<BusTestApp> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      MikroOrmModule.forRoot({ ...testOrmOptions(options.databaseUrl), pool: { min: 0, max: 8 } }),
      EventEmitterModule.forRoot(),
      IntegrationBusModule.forRoot({
        outgoing: { sweepIntervalMs: 0 },
        incoming: { enabled: false },
        ...options.bus,
      }),
      ...(options.imports ?? []),
    ],
    providers: options.providers ?? [],
  }).compile();
  const orm: MikroORM = moduleRef.get<MikroORM>(MikroORM);
  if (options.migrate !== false) await migrate(orm);
  const app = moduleRef.createNestApplication({ logger: ['error'] });
  try {
    await app.init();
  } catch (error) {
    // A start-up that fails (a test may expect it) must not leave MikroORM's pool open: dropping the
    // test database later would kill its idle connections, an uncaught error in the test worker.
    await orm.close(true);
    throw error;
  }
  const pool = new Pool({ connectionString: options.databaseUrl, max: 2 });
  // An idle client cut off by a database stopped on purpose (health test) is simply dropped.
  pool.on('error', () => undefined);
  return {
    app,
    orm,
    bus: app.get(IntegrationBus),
    em: () => orm.em.fork(),
    sql: async <R>(text: string, params: unknown[] = []) => (await pool.query(text, params)).rows as R[],
    close: async () => {
      await app.close();
      await pool.end();
    },
  };
}

/** Creates the bus's tables through its migration, then the test entities' tables. */
export async function migrate(orm: MikroORM): Promise<void> {
  await orm.migrator.up();
  const tables = (
    await orm.em
      .getConnection()
      .execute<{ n: number }[]>(`select count(*)::int as n from pg_tables where tablename = 't_user'`)
  )[0]!;
  if (tables.n === 0) {
    const meta = TEST_ENTITIES.map((e: object) => orm.getMetadata().get(e as never));
    const sql = await orm.schema.getCreateSchemaSQL({ wrap: false });
    const wanted = sql
      .split(/;\s*\n/)
      .filter(
        (statement) =>
          meta.some((m) => statement.includes(`"${m.tableName}"`)) && !statement.includes('"integration_'),
      );
    for (const statement of wanted) if (statement.trim()) await orm.em.getConnection().execute(statement);
  }
}

/**
 * Registers `beforeAll`/`afterAll` hooks that create a database of its own and a bus app on it for
 * the current test file, and returns a handle that reads through to that app once it exists.
 */
export function useBusApp(options: Omit<Parameters<typeof createBusApp>[0], 'databaseUrl'>): BusTestApp & {
  readonly databaseUrl: string;
} {
  let db: { url: string; drop: () => Promise<void> } | undefined;
  let current: BusTestApp | undefined;
  beforeAll(async () => {
    db = await createTestDatabase(inject('serverUrl'));
    current = await createBusApp({ ...options, databaseUrl: db.url });
  });
  afterAll(async () => {
    await current?.close();
    await db?.drop();
  });
  const started = (): BusTestApp => {
    if (!current) throw new Error('The bus app is not started yet: use it inside tests or hooks.');
    return current;
  };
  return {
    get app() {
      return started().app;
    },
    get orm() {
      return started().orm;
    },
    get bus() {
      return started().bus;
    },
    get databaseUrl() {
      return db!.url;
    },
    em: () => started().em(),
    sql: (text, params) => started().sql(text, params),
    close: () => started().close(),
  };
}

/** Runs `test` on an app of its own over a database of its own, then closes the app and drops the database. */
export async function withBusApp<T>(
  options: Omit<Parameters<typeof createBusApp>[0], 'databaseUrl'>,
  test: (app: BusTestApp) => Promise<T>,
): Promise<T> {
  const serverUrl = inject('serverUrl');
  const db = await watchStep('creating the test database', serverUrl, createTestDatabase(serverUrl));
  try {
    const app = await watchStep(
      'starting the app',
      serverUrl,
      createBusApp({ ...options, databaseUrl: db.url }),
    );
    try {
      // Just under vitest's default timeout: a test body may well take longer than a set-up step.
      return await watchStep('the test', serverUrl, test(app), 25_000);
    } finally {
      await watchStep('closing the app', serverUrl, app.close());
    }
  } finally {
    await watchStep('dropping the test database', serverUrl, db.drop());
  }
}
