import { Logger, Module, type DynamicModule } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { MikroOrmModule } from '@mikro-orm/nestjs';
import { IntegrationBusModule, type IntegrationBusModuleOptions } from 'nestjs-integration-bus';
import { AutoSynchronizer } from './auto-sync/auto-synchronizer.js';
import { DocumentsController } from './cms/documents.controller.js';
import { DocumentsService } from './cms/documents.service.js';
import { RolesController } from './cms/roles.controller.js';
import { RolesService } from './cms/roles.service.js';
import { SitesController } from './cms/sites.controller.js';
import { SitesService } from './cms/sites.service.js';
import { UsersController } from './cms/users.controller.js';
import { UsersService } from './cms/users.service.js';
import { AccountSystemClient } from './connectors/account-system.client.js';
import { CustomTableConnector } from './connectors/custom-table.connector.js';
import { ErpConnector } from './connectors/erp.connector.js';
import { SampleIntegrationConnector } from './connectors/sample-integration.connector.js';
import { CrmConnector } from './crm/crm.connector.js';
import { CustomTablesController } from './custom-tables/custom-tables.controller.js';
import { CustomTablesService } from './custom-tables/custom-tables.service.js';
import { DEMO_SETTINGS, type DemoSettings } from './demo-options.js';
import { DEMO_BROKERS, type DemoBrokers } from './brokers/demo-brokers.js';
import { ErpBrokerConnector } from './brokers/erp-broker.connector.js';
import { ErpRepliesConsumer } from './brokers/erp-replies.consumer.js';
import { ErpController } from './erp/erp.controller.js';
import { FakeErp } from './erp/fake-erp.js';
import { createDemoOrmConfig } from './mikro-orm.config.js';
import { PollsController } from './polls/polls.controller.js';
import { PollsService } from './polls/polls.service.js';

/** What `DemoModule.forRoot` needs. */
export interface DemoModuleOptions extends DemoSettings {
  databaseUrl: string;
  /** Options of the bus, as the host app passes them. */
  bus: IntegrationBusModuleOptions;
  /** The broker round trip (`ErpBroker` relay + `ErpRepliesConsumer`); left out when not given. */
  brokers?: DemoBrokers;
}

/**
 * The demo host app: a small CMS with polls, two custom tables, four connectors (the sample, the
 * custom-table one, one translating foreign keys for a fake ERP, and an incoming one bringing a
 * fake CRM's people in as users), and the bus.
 */
@Module({})
export class DemoModule {
  static forRoot(options: DemoModuleOptions): DynamicModule {
    const ormLogger = new Logger('MikroORM');
    return {
      module: DemoModule,
      imports: [
        MikroOrmModule.forRoot({
          ...createDemoOrmConfig(options.databaseUrl),
          // MikroORM's messages (migrations) follow the Nest logger's levels.
          logger: (message: string) => ormLogger.log(message),
          // The services fork an entity manager per call, so no request-context middleware is needed.
          registerRequestContext: false,
        }),
        EventEmitterModule.forRoot(),
        IntegrationBusModule.forRoot(options.bus),
      ],
      controllers: [
        SitesController,
        UsersController,
        RolesController,
        DocumentsController,
        PollsController,
        CustomTablesController,
        ErpController,
      ],
      providers: [
        { provide: DEMO_SETTINGS, useValue: { autoSync: options.autoSync } satisfies DemoSettings },
        SitesService,
        UsersService,
        RolesService,
        DocumentsService,
        PollsService,
        CustomTablesService,
        AccountSystemClient,
        FakeErp,
        SampleIntegrationConnector,
        CustomTableConnector,
        ErpConnector,
        CrmConnector,
        AutoSynchronizer,
        ...(options.brokers
          ? [{ provide: DEMO_BROKERS, useValue: options.brokers }, ErpBrokerConnector, ErpRepliesConsumer]
          : []),
      ],
    };
  }
}
