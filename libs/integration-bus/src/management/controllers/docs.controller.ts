import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  Controller,
  Get,
  Header,
  Inject,
  NotFoundException,
  Param,
  Req,
  StreamableFile,
  UseGuards,
  VERSION_NEUTRAL,
} from '@nestjs/common';
import { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import { ApiExcludeController, type OpenAPIObject } from '@nestjs/swagger';
import { RESOLVED_OPTIONS } from '../../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../../interfaces/integration-bus-options.interface.js';
import { ConnectorRegistry } from '../../connectors/connector-registry.js';
import { BrokerTaskConsumer } from '../../consumers/broker-task-consumer.js';
import { BrokerRelayConnector } from '../../relay/broker-relay.connector.js';
import { relaySchema, RELAY_SCHEMA_FILES, type JsonSchemaDocument } from '../../relay/relay-schemas.js';
import { buildAsyncApiDocument, servedSchemaName, type DescribedChannel } from '../docs/asyncapi-document.js';
import { buildOpenApiDocument, libraryVersion } from '../docs/openapi-document.js';
import { DOCS_PAGE_SCRIPT, docsPageHtml } from '../docs/docs-page.js';
import { AdminTokenGuard } from '../guards/admin-token.guard.js';
import { PageHeaders } from './page-headers.decorator.js';
import { pathOf, type RequestWithUrl } from './request-url.js';

/** Files of `swagger-ui-dist` the page loads. */
const SWAGGER_UI_FILES = { css: 'swagger-ui.css', bundle: 'swagger-ui-bundle.js' } as const;

function swaggerUiFile(name: string, type: string): StreamableFile {
  const dir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  return new StreamableFile(createReadStream(join(dir, name)), { type });
}

/** The shipped schemas by the name they are served under (`relay-envelope.json`). */
const SERVED_SCHEMAS = new Map(
  (Object.keys(RELAY_SCHEMA_FILES) as (keyof typeof RELAY_SCHEMA_FILES)[]).map((which) => [
    servedSchemaName(RELAY_SCHEMA_FILES[which]),
    which,
  ]),
);

/**
 * `/{path}/docs`: Swagger UI over the management API's OpenAPI document. The page and its static
 * files hold no data and are open; the document itself (`docs/openapi.json`) needs the admin token,
 * which the page takes from the admin page's session or asks for. Beside it, with the same token
 * (R-ECO-5): `docs/asyncapi.json`, the AsyncAPI 3 document of the application's relays and broker
 * consumers, and `docs/schemas/relay-envelope.json` and `docs/schemas/relay-cloudevent-data.json`,
 * the JSON Schemas of the relayed bodies (also shipped in the package's `schemas/`).
 */
@Controller({ path: 'docs', version: VERSION_NEUTRAL })
@ApiExcludeController()
export class DocsController {
  #document: OpenAPIObject | undefined;

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedIntegrationBusOptions,
    private readonly modules: ModulesContainer,
    private readonly adapterHost: HttpAdapterHost,
    private readonly registry: ConnectorRegistry,
  ) {}

  @Get()
  @PageHeaders()
  page(@Req() request: RequestWithUrl): string {
    return docsPageHtml(pathOf(request).endsWith('/') ? '' : 'docs/');
  }

  @Get('openapi.json')
  @UseGuards(AdminTokenGuard)
  document(@Req() request: RequestWithUrl): OpenAPIObject {
    const suffix = `/${this.options.http.path}/docs/openapi.json`;
    const path = pathOf(request);
    const serverUrl = path.endsWith(suffix) ? path.slice(0, -suffix.length) : '';
    this.#document ??= buildOpenApiDocument({
      modules: this.modules,
      adapterHost: this.adapterHost,
      module: this.ownModule(),
      serverUrl,
    });
    return { ...this.#document, servers: [{ url: serverUrl || '/' }] };
  }

  @Get('asyncapi.json')
  @UseGuards(AdminTokenGuard)
  asyncApi(): Record<string, unknown> {
    const relays: DescribedChannel[] = this.registry.loaded
      .filter((connector) => connector.instance instanceof BrokerRelayConnector)
      .map((connector) => ({
        name: connector.codeName,
        channel: (connector.instance as BrokerRelayConnector).describeChannel(),
      }));
    const consumers: DescribedChannel[] = [];
    for (const module of this.modules.values()) {
      for (const wrapper of module.providers.values()) {
        const instance: unknown = wrapper.instance;
        if (
          instance instanceof BrokerTaskConsumer &&
          !consumers.some((c) => c.name === instance.constructor.name)
        ) {
          consumers.push({ name: instance.constructor.name, channel: instance.describeChannel() });
        }
      }
    }
    consumers.sort((a, b) => a.name.localeCompare(b.name));
    return buildAsyncApiDocument({ version: libraryVersion(), relays, consumers });
  }

  @Get('schemas/:name')
  @UseGuards(AdminTokenGuard)
  schema(@Param('name') name: string): JsonSchemaDocument {
    const which = SERVED_SCHEMAS.get(name);
    if (!which) {
      throw new NotFoundException(`No schema ${name}: there are ${[...SERVED_SCHEMAS.keys()].join(', ')}.`);
    }
    return relaySchema(which);
  }

  @Get('docs.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  script(): string {
    return DOCS_PAGE_SCRIPT;
  }

  @Get(SWAGGER_UI_FILES.css)
  @Header('Cache-Control', 'public, max-age=3600')
  css(): StreamableFile {
    return swaggerUiFile(SWAGGER_UI_FILES.css, 'text/css; charset=utf-8');
  }

  @Get(SWAGGER_UI_FILES.bundle)
  @Header('Cache-Control', 'public, max-age=3600')
  bundle(): StreamableFile {
    return swaggerUiFile(SWAGGER_UI_FILES.bundle, 'text/javascript; charset=utf-8');
  }

  /** The module this controller is registered in: the bus's, whose controllers the document shows. */
  private ownModule() {
    const own = [...this.modules.values()].find((module) => module.controllers.has(DocsController));
    if (!own) throw new Error('DocsController is not registered in any module.');
    return own.metatype;
  }
}
