import { Controller, Get, Header, Req, VERSION_NEUTRAL } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { adminPageHtml } from '../admin-page/admin-page.html.js';
import { ADMIN_PAGE_SCRIPT } from '../admin-page/admin-page.script.js';
import { ADMIN_PAGE_STYLES } from '../admin-page/admin-page.styles.js';
import { pathOf, type RequestWithUrl } from './request-url.js';

/**
 * The page may run only its own script and style sheet and talk only to its own origin; nothing
 * may frame it.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * `/{path}/admin`: the admin page (SPEC §8), served by the library with its script and style sheet
 * as plain files: no build step, no separate server. The page and its files hold no data and are
 * open; every API call the page makes carries the admin token it asks for.
 */
@Controller({ path: 'admin', version: VERSION_NEUTRAL })
@ApiExcludeController()
export class AdminPageController {
  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', CONTENT_SECURITY_POLICY)
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Referrer-Policy', 'no-referrer')
  @Header('Cache-Control', 'no-cache')
  page(@Req() request: RequestWithUrl): string {
    return adminPageHtml(pathOf(request).endsWith('/') ? '' : 'admin/');
  }

  @Get('app.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  script(): string {
    return ADMIN_PAGE_SCRIPT;
  }

  @Get('app.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  styles(): string {
    return ADMIN_PAGE_STYLES;
  }
}
