import { Module, type DynamicModule } from '@nestjs/common';
import { MikroOrmModule } from '@mikro-orm/nestjs';
import { IntegrationBusModule } from 'nestjs-integration-bus';
import { CrmConnector } from '../../demo/src/crm/crm.connector.js';
import { createDemoOrmConfig } from '../../demo/src/mikro-orm.config.js';

/** The connectors the producer can log for. */
export const PRODUCER_CONNECTORS = [CrmConnector];

/** What `ProducerModule.forRoot` needs. */
export interface ProducerModuleOptions {
  /** The database the demo host app uses: the producer logs into its queue. */
  databaseUrl: string;
  /** The host's notify token, for `--notify` (`requestTasksProcessing`). */
  notifyToken?: string;
}

/**
 * The producer's Nest context: the demo's MikroORM configuration (the same entities, so the
 * connector's `User` is the host's), the bus, and the CRM connector — and nothing that processes.
 * It only logs (R-IN-6, the original's "external application referencing the Kentico libraries"):
 * no processing after commit, no sweep, no incoming job, no HTTP. Processing is the host's work,
 * whenever it runs.
 */
@Module({})
export class ProducerModule {
  /** The module for one run of the producer. */
  static forRoot(options: ProducerModuleOptions): DynamicModule {
    return {
      module: ProducerModule,
      imports: [
        MikroOrmModule.forRoot({
          ...createDemoOrmConfig(options.databaseUrl),
          registerRequestContext: false,
          ensureDatabase: false, // never create a database: log into the host's, or fail
          pool: { min: 0, max: 2 },
        }),
        IntegrationBusModule.forRoot({
          outgoing: { sweepIntervalMs: 0, processAfterCommit: false },
          incoming: { enabled: false },
          http: { notifyToken: options.notifyToken },
        }),
      ],
      providers: [...PRODUCER_CONNECTORS],
    };
  }
}
