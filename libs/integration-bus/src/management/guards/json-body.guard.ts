import {
  Injectable,
  UnsupportedMediaTypeException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';

/** The part of an HTTP request the check reads, on Express and Fastify alike. */
interface RequestWithHeaders {
  headers: Record<string, string | string[] | undefined>;
}

/** The only media type the bus's routes read a body in. */
const JSON_MEDIA_TYPE = 'application/json';

/** Whether the request carries a body: a non-zero `Content-Length` or a chunked one (RFC 9112 §6.3). */
function carriesBody(headers: RequestWithHeaders['headers']): boolean {
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (typeof length === 'string' && Number(length) > 0);
}

/** The media type of `Content-Type`, lower-cased and without parameters (`; charset=utf-8`). */
function mediaTypeOf(header: string | string[] | undefined): string {
  return typeof header === 'string' ? header.split(';')[0]!.trim().toLowerCase() : '';
}

/**
 * Refuses a request to the bus's API whose body is not JSON with a 415 naming `Content-Type`,
 * before the route reads anything (nothing is written). The host's parsers also turn an
 * `application/x-www-form-urlencoded` body into an object, and a cross-site HTML form can send one
 * without a CORS preflight: with `http.allowUnauthenticated` it would otherwise change settings or
 * connectors. Requests without a body (an optional one left out) pass whatever their
 * `Content-Type`. Bound after the token guard, so that a caller without a token learns nothing more.
 */
@Injectable()
export class JsonBodyGuard implements CanActivate {
  canActivate(context: ExecutionContext): true {
    const { headers } = context.switchToHttp().getRequest<RequestWithHeaders>();
    if (!carriesBody(headers)) return true;
    const mediaType = mediaTypeOf(headers['content-type']);
    if (mediaType !== JSON_MEDIA_TYPE) {
      throw new UnsupportedMediaTypeException({
        statusCode: 415,
        error: 'Unsupported Media Type',
        field: 'Content-Type',
        message:
          `Content-Type ${mediaType ? `${mediaType} is not accepted` : 'is missing'}: ` +
          `send the body as JSON (Content-Type: ${JSON_MEDIA_TYPE}).`,
      });
    }
    return true;
  }
}
