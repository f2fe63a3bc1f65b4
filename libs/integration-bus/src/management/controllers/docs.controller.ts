import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  Controller,
  Get,
  Header,
  Inject,
  Req,
  StreamableFile,
  UseGuards,
  VERSION_NEUTRAL,
} from '@nestjs/common';
import { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import { ApiExcludeController, type OpenAPIObject } from '@nestjs/swagger';
import { RESOLVED_OPTIONS } from '../../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../../interfaces/integration-bus-options.interface.js';
import { buildOpenApiDocument } from '../docs/openapi-document.js';
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

/**
 * `/{path}/docs`: Swagger UI over the management API's OpenAPI document. The page and its static
 * files hold no data and are open; the document itself (`docs/openapi.json`) needs the admin token,
 * which the page takes from the admin page's session or asks for.
 */
@Controller({ path: 'docs', version: VERSION_NEUTRAL })
@ApiExcludeController()
export class DocsController {
  #document: OpenAPIObject | undefined;

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedIntegrationBusOptions,
    private readonly modules: ModulesContainer,
    private readonly adapterHost: HttpAdapterHost,
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
