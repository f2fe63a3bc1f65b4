import { Module, type DynamicModule, type INestApplicationContext, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { MikroORM } from '@mikro-orm/core';
import { ReflectMetadataProvider } from '@mikro-orm/decorators/legacy';
import { Migrator } from '@mikro-orm/migrations';
import { MikroOrmModule } from '@mikro-orm/nestjs';
import { defineConfig, type Options } from '@mikro-orm/postgresql';
import {
  IntegrationBus,
  IntegrationBusModule,
  type IntegrationBusModuleOptions,
} from 'nestjs-integration-bus';
import { BENCH_USER_DDL, BenchUser } from './bench-user.entity.js';
import { noopConnector, type CallListener, type ConnectorBehaviour } from './noop-connector.js';
import { relayConnector, type RelayTarget } from './relay-connector.js';

/** What a bench host app is made of. */
export interface HostOptions {
  databaseUrl: string;
  /** `false`: the same app without the bus imported (the baseline of the logging overhead). */
  withBus: boolean;
  /** Code names of the no-op connectors to register. */
  connectors?: string[];
  /** Options passed to `IntegrationBusModule.forRoot`, over the bench's defaults. */
  bus?: IntegrationBusModuleOptions;
  onCall?: CallListener;
  /** Whether the connectors read `task.object` (see `noopConnector`). */
  readObject?: boolean;
  /** The connectors' `@Connector` options and call time. */
  behaviour?: ConnectorBehaviour;
  /** Register the connectors as relays to this broker instead of no-op connectors. */
  relay?: RelayTarget;
  /** Connector classes of the scenario's own, registered beside `connectors`. */
  providers?: Type[];
  /** Entities of the scenario's own, beside `BenchUser`; their tables are the scenario's to create. */
  entities?: Type[];
  /** Most connections of the app's pool. @default pg's (10) */
  poolMax?: number;
}

/** A running host: Nest application context, its MikroORM, and the bus when imported. */
export interface HostApp {
  app: INestApplicationContext;
  orm: MikroORM;
  bus: IntegrationBus | undefined;
  close(): Promise<void>;
}

/** Defaults of the bench: every trigger off, so each scenario drives processing itself. */
const BENCH_BUS_DEFAULTS: IntegrationBusModuleOptions = {
  outgoing: { processAfterCommit: false, sweepIntervalMs: 0 },
  incoming: { enabled: false },
};

function ormConfig(
  databaseUrl: string,
  withBus: boolean,
  extra: Pick<HostOptions, 'entities' | 'poolMax'> = {},
): Options {
  const own = [BenchUser, ...(extra.entities ?? [])];
  return defineConfig({
    clientUrl: databaseUrl,
    entities: withBus ? [...own, ...IntegrationBusModule.entities] : own,
    ...(extra.poolMax === undefined ? {} : { pool: { max: extra.poolMax } }),
    metadataProvider: ReflectMetadataProvider,
    extensions: [Migrator],
    migrations: { migrationsList: withBus ? IntegrationBusModule.migrations : [], snapshot: false },
    allowGlobalContext: true,
    debug: false,
    // The migrator reports each migration through the logger; the bench's output is its table.
    logger: () => {},
  });
}

/**
 * Creates the tables of a host (the bus's through its shipped migrations, `bench_user` by hand)
 * with a MikroORM of its own, before the app starts: the bus registers its connectors in its
 * tables while the app initialises.
 */
export async function prepareSchema(databaseUrl: string, withBus: boolean): Promise<void> {
  const orm = await MikroORM.init(ormConfig(databaseUrl, withBus));
  try {
    if (withBus) await orm.migrator.up();
    await orm.em.getConnection().execute(BENCH_USER_DDL);
  } finally {
    await orm.close(true);
  }
}

@Module({})
class BenchHostModule {
  static forRoot(options: HostOptions): DynamicModule {
    const bus = options.bus ?? {};
    return {
      module: BenchHostModule,
      imports: [
        MikroOrmModule.forRoot({
          ...ormConfig(options.databaseUrl, options.withBus, options),
          registerRequestContext: false,
        }),
        EventEmitterModule.forRoot(),
        ...(options.withBus
          ? [
              IntegrationBusModule.forRoot({
                ...BENCH_BUS_DEFAULTS,
                ...bus,
                outgoing: { ...BENCH_BUS_DEFAULTS.outgoing, ...bus.outgoing },
              }),
            ]
          : []),
      ],
      providers: options.withBus
        ? [
            ...(options.connectors ?? []).map((name) =>
              options.relay
                ? relayConnector(name, options.relay)
                : noopConnector(name, options.onCall, options.readObject, options.behaviour),
            ),
            ...(options.providers ?? []),
          ]
        : [],
    };
  }
}

/** Prepares the schema, then starts a Nest application context as a host would (no HTTP). */
export async function startHost(options: HostOptions): Promise<HostApp> {
  await prepareSchema(options.databaseUrl, options.withBus);
  const app = await NestFactory.createApplicationContext(BenchHostModule.forRoot(options), {
    logger: ['error'],
  });
  return {
    app,
    orm: app.get(MikroORM),
    bus: options.withBus ? app.get(IntegrationBus) : undefined,
    close: () => app.close(),
  };
}
