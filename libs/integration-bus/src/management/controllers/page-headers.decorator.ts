import { applyDecorators, Header } from '@nestjs/common';

/**
 * What the bus's HTML pages (the admin page, the API docs) may do: run only their own scripts and
 * style sheets (no inline script, no `eval`), show their own and `data:` images (Swagger UI's icons
 * are `data:` URLs in its style sheet), talk only to their own origin; no base URL, no form target,
 * and nothing may frame them.
 */
export const PAGE_CONTENT_SECURITY_POLICY = [
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
 * The headers of an HTML page the bus serves: UTF-8 HTML under `PAGE_CONTENT_SECURITY_POLICY`,
 * no MIME sniffing, no referrer sent on, no framing (`X-Frame-Options` for browsers that predate
 * `frame-ancestors`), revalidated on every load so that an upgraded bus is not shown stale.
 */
export function PageHeaders(): MethodDecorator {
  return applyDecorators(
    Header('Content-Type', 'text/html; charset=utf-8'),
    Header('Content-Security-Policy', PAGE_CONTENT_SECURITY_POLICY),
    Header('X-Content-Type-Options', 'nosniff'),
    Header('Referrer-Policy', 'no-referrer'),
    Header('X-Frame-Options', 'DENY'),
    Header('Cache-Control', 'no-cache'),
  );
}
