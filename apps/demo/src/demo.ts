import type { INestApplication, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MikroORM } from '@mikro-orm/core';
import type { DemoBrokers } from './brokers/demo-brokers.js';
import { DemoModule } from './demo.module.js';

/** Options of `createDemoApp`. */
export interface DemoAppOptions {
  /** PostgreSQL the demo keeps its tables and the bus's queue in. */
  databaseUrl: string;
  /** HTTP port on 127.0.0.1; `0` (the default) picks a free one: read it with `app.getUrl()`. */
  port?: number;
  /** Synchronize each SampleIntegrationConnector task once logged (reference 004). Default: env `DEMO_AUTO_SYNC === '1'`. */
  autoSync?: boolean;
  /** Bearer token of the bus's admin API and page. */
  adminToken?: string;
  /** Bearer token of the bus's `notify` and `incoming` endpoints. */
  notifyToken?: string;
  /** Nest log levels, or `false` for silence. Default: log, warn and error. */
  logger?: false | LogLevel[];
  /** The scheduled job "Process external integration tasks" (incoming processing). */
  incoming?: {
    /** Its cron expression (six fields, seconds first). @default every minute, the bus's default */
    cron?: string;
    /** Whether it is scheduled at all. @default true */
    enabled?: boolean;
  };
  /**
   * The broker round trip with a fake ERP process over NATS JetStream and RabbitMQ
   * (`brokers/`); off unless given.
   */
  brokers?: DemoBrokers;
  /** The bus's own outgoing triggers; tests turn them off to drive processing themselves. */
  outgoing?: {
    /** Start processing when a unit of work that logged tasks commits. @default true */
    processAfterCommit?: boolean;
    /** Period of the retry sweep in milliseconds, `0` = off. @default 60000 */
    sweepIntervalMs?: number;
  };
}

/**
 * Builds the demo app, brings its database up to date, and starts listening on 127.0.0.1.
 * Close it with `app.close()`.
 */
export async function createDemoApp(options: DemoAppOptions): Promise<INestApplication> {
  const app = await NestFactory.create(
    DemoModule.forRoot({
      databaseUrl: options.databaseUrl,
      autoSync: options.autoSync ?? process.env.DEMO_AUTO_SYNC === '1',
      brokers: options.brokers,
      bus: {
        http: { adminToken: options.adminToken, notifyToken: options.notifyToken },
        outgoing: options.outgoing,
        incoming: options.incoming,
      },
    }),
    { logger: options.logger ?? ['log', 'warn', 'error'] },
  );
  try {
    // Before init: the bus registers its connectors in its tables while the app initializes.
    await app.get(MikroORM).migrator.up();
    await app.listen(options.port ?? 0, '127.0.0.1');
  } catch (error) {
    await app.close();
    throw error;
  }
  return app;
}
