import { createRequire } from 'node:module';
import type { INestApplication, Type } from '@nestjs/common';
import type { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { ADMIN_BEARER_SCHEME, NOTIFY_BEARER_SCHEME } from '../management.constants.js';

/**
 * Builds the OpenAPI document of the management API with `@nestjs/swagger`, from inside the
 * library.
 *
 * `SwaggerModule.createDocument` wants the `INestApplication`, which no provider can inject. What
 * its scanner reads of it is small and public: the modules container (injectable as
 * `ModulesContainer`), the HTTP adapter (`HttpAdapterHost`), and from the application config the
 * global prefix and the versioning options. The controllers are version-neutral and the prefix is
 * left out (`ignoreGlobalPrefix`), so this view of the application answers `getVersioning()` with
 * none; the host's prefix, where there is one, goes into `servers` instead, taken from the URL the
 * document was requested at.
 */
export function buildOpenApiDocument(options: {
  modules: ModulesContainer;
  adapterHost: HttpAdapterHost;
  /** The module whose controllers to document. */
  module: Type;
  /** URL prefix in front of `/{http.path}`: the host's global prefix, or `''`. */
  serverUrl: string;
}): OpenAPIObject {
  const app = {
    container: { getModules: () => options.modules },
    config: { getGlobalPrefix: () => '', getVersioning: () => undefined },
    getHttpAdapter: () => options.adapterHost.httpAdapter,
  } as unknown as INestApplication;
  const config = new DocumentBuilder()
    .setTitle('Integration bus')
    .setDescription(
      'Management API of nestjs-integration-bus: connectors, queued outgoing and incoming tasks, settings, ' +
        'event log, retention, health and metrics. Send the admin token as `Authorization: Bearer <token>`. ' +
        'The endpoints external systems call (`notify`, `connectors/{codeName}/incoming`) take the notify ' +
        'token instead.',
    )
    .setVersion(libraryVersion())
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'http.adminToken' }, ADMIN_BEARER_SCHEME)
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'http.notifyToken' }, NOTIFY_BEARER_SCHEME)
    .addServer(options.serverUrl || '/')
    .build();
  return SwaggerModule.createDocument(app, config, { include: [options.module], ignoreGlobalPrefix: true });
}

/** The library's version, from its package.json (three levels up from `src/` and from `dist/`). */
export function libraryVersion(): string {
  const manifest = createRequire(import.meta.url)('../../../package.json') as { version?: string };
  return manifest.version ?? '0.0.0';
}
