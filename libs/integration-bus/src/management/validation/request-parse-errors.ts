import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { ApplicationConfig, HttpAdapterHost } from '@nestjs/core';
import { RESOLVED_OPTIONS } from '../../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../../interfaces/integration-bus-options.interface.js';
import { describe, RequestValidationError } from './request-input.js';

/** What body-parser and Express's router attach to the errors they raise. */
interface ParserError extends Error {
  /** The HTTP status the error means. */
  status?: unknown;
  /** body-parser's kind of error, e.g. `entity.parse.failed`. */
  type?: unknown;
  /** body-parser's raw body text, on a parse error. */
  body?: unknown;
  /** zlib's error code (`Z_DATA_ERROR`, …), for a body that does not inflate. */
  code?: unknown;
}

/**
 * The parameter a path segment of the bus's routes is, by the segment before it: each route with a
 * parameter has it right after its controller's path (`tasks/:id…`, `connectors/:codeName…`,
 * `admin/:module`).
 */
const PATH_PARAMETERS: ReadonlyMap<string, string> = new Map([
  ['tasks', 'id'],
  ['connectors', 'codeName'],
  ['admin', 'module'],
]);

function decodes(segment: string): boolean {
  try {
    decodeURIComponent(segment);
    return true;
  } catch {
    return false;
  }
}

/**
 * The `RequestValidationError` that a 400 raised before a route of the bus ran means, naming its
 * field (R-SEC-3): a body the host's parser could not read (`body`), a path parameter Express could
 * not percent-decode (`id`, `codeName`, …). `undefined` for any other error.
 * @param path the request's path below `/{http.path}`, e.g. `/tasks/%FF/synchronize`
 */
export function requestErrorOf(error: unknown, path: string): RequestValidationError | undefined {
  if (!(error instanceof Error) || (error as ParserError).status !== 400) return undefined;
  if (error instanceof URIError) {
    // Express decodes the parameters of every layer whose path matches, a host's `/{*all}`
    // middleware (MikroORM's request context) first: the error cannot say which route it was
    // for, so the segment is named by its place in the bus's routes.
    const segments = path.split('/');
    const index = segments.findIndex((segment) => !decodes(segment));
    const name = PATH_PARAMETERS.get(segments[index - 1] ?? '') ?? 'path';
    return new RequestValidationError(
      name,
      `must be percent-encoded UTF-8 (as encodeURIComponent writes it), got ${describe(segments[index] ?? path)}.`,
    );
  }
  const { type, body, code } = error as ParserError;
  // body-parser's own errors carry a type, a body that does not inflate zlib's code; anything else
  // is left to Nest.
  if (typeof type !== 'string' && !(typeof code === 'string' && code.startsWith('Z_'))) return undefined;
  if (type === 'entity.parse.failed') {
    // In strict mode (the default) body-parser refuses a top level other than an object or an
    // array with a made-up JSON.parse error: say what the bus wants instead.
    const first = typeof body === 'string' ? body.trimStart()[0] : undefined;
    if (first !== undefined && first !== '{' && first !== '[') {
      return new RequestValidationError('body', 'must be a JSON object.');
    }
    return new RequestValidationError('body', `is not valid JSON: ${error.message}`);
  }
  return new RequestValidationError('body', `could not be read: ${error.message}`);
}

/**
 * Gives the 400s that Express raises before a route of the bus runs (malformed JSON, an undecodable
 * path parameter) a `field`, like every other 400 of the API. They never reach the controllers'
 * exception filter: body-parser and the router pass them to Express's error handlers, the last of
 * which is Nest's. This provider mounts one under `/{global prefix}/{http.path}` that swaps the
 * error for its `RequestValidationError` and passes it on, so Nest (and the host's global filters)
 * answer it as usual; errors of the host's own routes are left alone.
 *
 * Lifecycle: `onModuleInit` runs after Nest has mounted the body parsers and the routes and before
 * it mounts its own error handler (`NestApplication.init`), so the handler sits between them. Express
 * only: on Fastify, Nest answers these errors itself.
 */
@Injectable()
export class RequestParseErrors implements OnModuleInit {
  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedIntegrationBusOptions,
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: ApplicationConfig,
  ) {}

  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter;
    if (adapter?.getType() !== 'express') return;
    const mountPath = `/${[this.config.getGlobalPrefix(), this.options.http.path]
      .map((part) => part.replace(/^\/+|\/+$/g, ''))
      .filter(Boolean)
      .join('/')}`;
    // Four parameters: what makes Express call it with the error. `request.path` is below the mount.
    adapter.use(
      mountPath,
      (error: unknown, request: { path: string }, _response: unknown, next: (error: unknown) => void) => {
        next(requestErrorOf(error, request.path) ?? error);
      },
    );
  }
}
