import { Controller, Get, Header, NotFoundException, Param, Req, VERSION_NEUTRAL } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { adminPageHtml } from '../admin-page/admin-page.html.js';
import { adminPageModules } from '../admin-page/admin-page-modules.js';
import { ADMIN_PAGE_STYLES } from '../admin-page/admin-page.styles.js';
import { RESYNC_STYLES } from '../admin-page/resync.styles.js';
import { PageHeaders } from './page-headers.decorator.js';
import { pathOf, type RequestWithUrl } from './request-url.js';

/**
 * `/{path}/admin`: the admin page (SPEC §8), served by the library with its style sheet and its
 * browser modules (TypeScript in `admin-page/client`, compiled with the library): no separate
 * server. The page and its files hold no data and are open; every API call the page makes carries
 * the admin token it asks for.
 */
@Controller({ path: 'admin', version: VERSION_NEUTRAL })
@ApiExcludeController()
export class AdminPageController {
  @Get()
  @PageHeaders()
  page(@Req() request: RequestWithUrl): string {
    return adminPageHtml(pathOf(request).endsWith('/') ? '' : 'admin/');
  }

  /** The entry module; it imports the others relative to itself (`./api.js`, …). */
  @Get('app.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  script(): string {
    return this.module('main.js');
  }

  @Get('app.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  styles(): string {
    return ADMIN_PAGE_STYLES + RESYNC_STYLES;
  }

  /** The other modules of the page, by file name; anything else is a 404. */
  @Get(':module')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  clientModule(@Param('module') name: string): string {
    return this.module(name);
  }

  private module(name: string): string {
    const source = adminPageModules().get(name);
    if (source === undefined) throw new NotFoundException(`The admin page has no module ${name}.`);
    return source;
  }
}
