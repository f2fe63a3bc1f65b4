import { createHash, timingSafeEqual } from 'node:crypto';
import { ForbiddenException, UnauthorizedException, type ExecutionContext } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';

/** The part of an HTTP request a token check reads, on Express and Fastify alike. */
interface RequestWithHeaders {
  headers: Record<string, string | string[] | undefined>;
}

/** What a bearer-token guard protects, for its messages. */
export interface BearerTokenPolicy {
  /** The token configured, if any. */
  token: string | undefined;
  /** A second, read-only token (the admin API's `http.viewerToken`), if any. */
  readOnlyToken?: string | undefined;
  /** Let requests in when no token is configured. */
  allowUnauthenticated: boolean;
  /** `'admin'` or `'notify'`: names the token and the option in messages. */
  kind: 'admin' | 'notify';
}

/** Compares two secrets in time that does not depend on where they differ, nor on their lengths. */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** What a request's token opens: everything the guard protects, or only its reads. */
export type BearerAccess = 'full' | 'read-only';

/**
 * Lets a request through when it carries `Authorization: Bearer <token>` matching the policy's
 * token (R-SEC-1, R-SEC-2), or its read-only token (R-OPS-2), and says which. Without a configured
 * token the endpoints are off (403, with how to turn them on) unless `allowUnauthenticated`. A
 * missing or wrong token is a 401 with a `WWW-Authenticate: Bearer` challenge.
 */
export function checkBearerToken(
  context: ExecutionContext,
  policy: BearerTokenPolicy,
  adapterHost: HttpAdapterHost,
): BearerAccess {
  const option = policy.kind === 'admin' ? 'http.adminToken' : 'http.notifyToken';
  if (!policy.token && !policy.readOnlyToken) {
    if (policy.allowUnauthenticated) return 'full';
    throw new ForbiddenException(
      `The integration bus ${policy.kind} endpoints are off: no ${policy.kind} token is configured. ` +
        `Set ${option} in the IntegrationBusModule options (or http.allowUnauthenticated: true to ` +
        'serve them without a token, on a trusted network only).',
    );
  }
  const http = context.switchToHttp();
  const header = http.getRequest<RequestWithHeaders>().headers.authorization;
  const match = typeof header === 'string' ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null;
  if (match && policy.token && sameSecret(match[1]!, policy.token)) return 'full';
  if (match && policy.readOnlyToken && sameSecret(match[1]!, policy.readOnlyToken)) return 'read-only';
  adapterHost.httpAdapter.setHeader(http.getResponse(), 'WWW-Authenticate', 'Bearer');
  throw new UnauthorizedException(
    match
      ? `Invalid ${policy.kind} token.`
      : `Missing ${policy.kind} token: send "Authorization: Bearer <${option}>".`,
  );
}
