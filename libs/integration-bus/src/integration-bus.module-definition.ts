import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { IntegrationBusModuleOptions } from './interfaces/integration-bus-options.interface.js';

export const {
  ConfigurableModuleClass: ConfigurableIntegrationBusModule,
  MODULE_OPTIONS_TOKEN: INTEGRATION_BUS_MODULE_OPTIONS,
  OPTIONS_TYPE: INTEGRATION_BUS_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: INTEGRATION_BUS_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<IntegrationBusModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();

/** Token of the options after defaults and validation. */
export const RESOLVED_OPTIONS = Symbol('IntegrationBusResolvedOptions');
