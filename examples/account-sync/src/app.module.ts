// src/app.module.ts
import { Module, type DynamicModule } from '@nestjs/common';
import { ReflectMetadataProvider } from '@mikro-orm/decorators/legacy';
import { Migrator } from '@mikro-orm/migrations';
import { MikroOrmModule } from '@mikro-orm/nestjs';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ScheduleModule } from '@nestjs/schedule';
import { IntegrationBusModule, type IntegrationBusModuleOptions } from 'nestjs-integration-bus';
import { AccountApi } from './account-api.js';
import { HttpAccountApi } from './http-account-api.js';
import { AccountSyncConnector } from './account-sync.connector.js';
import { EmailPreferenceSync } from './entities/email-preference-sync.entity.js';
import { UserSync } from './entities/user-sync.entity.js';
import { Migration20261201000000StagingTables } from './migrations/Migration20261201000000StagingTables.js';

/** The app: MikroORM with the bus's entities and migrations, the event emitter, the bus, the connector. */
@Module({})
export class AppModule {
  static forRoot(options: { databaseUrl: string; bus?: IntegrationBusModuleOptions }): DynamicModule {
    return {
      module: AppModule,
      imports: [
        MikroOrmModule.forRoot({
          driver: PostgreSqlDriver,
          clientUrl: options.databaseUrl,
          metadataProvider: ReflectMetadataProvider,
          entities: [UserSync, EmailPreferenceSync, ...IntegrationBusModule.entities],
          extensions: [Migrator],
          migrations: {
            snapshot: false,
            migrationsList: [
              ...IntegrationBusModule.migrations,
              { name: 'Migration20261201000000_StagingTables', class: Migration20261201000000StagingTables },
            ],
          },
        }),
        EventEmitterModule.forRoot(),
        ScheduleModule.forRoot(),
        IntegrationBusModule.forRoot({
          http: { adminToken: process.env.INTEGRATION_ADMIN_TOKEN },
          ...options.bus,
        }),
      ],
      providers: [{ provide: AccountApi, useClass: HttpAccountApi }, AccountSyncConnector],
    };
  }
}
