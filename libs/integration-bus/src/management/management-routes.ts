import type { Provider, Type } from '@nestjs/common';
import { ModulesContainer, RouterModule } from '@nestjs/core';
import { RESOLVED_OPTIONS } from '../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../interfaces/integration-bus-options.interface.js';

/** Token of the provider that mounts the management controllers under `http.path`. */
export const MANAGEMENT_ROUTES = Symbol('IntegrationBusManagementRoutes');

/**
 * Mounts the controllers of `moduleClass` under `/{http.path}`, once the options are resolved.
 *
 * `http.path` is only known after `forRootAsync`'s factory has run, so neither a static
 * `@Controller('integration')` nor `RouterModule.register()` in the module's imports can carry it.
 * Nest 12 resolves a module's route prefix from the metadata `RouterModule` writes on the module
 * class, keyed by the application's id (`MODULE_PATH + applicationId`), and reads it only when
 * `app.init()` maps the routes, after every provider has been instantiated. This factory provider
 * therefore builds a `RouterModule` (its public constructor: the modules container and the routes)
 * from the resolved options while the providers are instantiated. Checked against Nest 12.5: the
 * routes, `@nestjs/swagger` and middleware path matching all read that same metadata.
 *
 * Keyed by application id, two applications in one process (tests) keep their own paths. An
 * application that itself lists `IntegrationBusModule` in `RouterModule.register()` overrides or
 * is overridden by this depending on instantiation order: set `http.path` instead.
 */
export function managementRoutesProvider(moduleClass: () => Type): Provider {
  return {
    provide: MANAGEMENT_ROUTES,
    useFactory: (modules: ModulesContainer, options: ResolvedIntegrationBusOptions) =>
      new RouterModule(modules, [{ path: options.http.path, module: moduleClass() }]),
    inject: [ModulesContainer, RESOLVED_OPTIONS],
  };
}
