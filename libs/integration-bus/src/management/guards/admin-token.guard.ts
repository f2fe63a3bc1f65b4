import {
  ForbiddenException,
  Inject,
  Injectable,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { RESOLVED_OPTIONS } from '../../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../../interfaces/integration-bus-options.interface.js';
import { checkBearerToken } from './bearer-token.js';

/** Who a request to the admin API is: the admin (every route), or a viewer (the reads only). */
export type AdminApiRole = 'admin' | 'viewer';

/** Methods that read: what the viewer token opens. Every other method may change something. */
const READ_METHODS = new Set(['GET', 'HEAD']);

/** The role each request passed with, for `GET /{path}/access`. */
const roles = new WeakMap<object, AdminApiRole>();

/** The role `AdminTokenGuard` let `request` in with; `admin` for a request it did not see. */
export function adminApiRoleOf(request: object): AdminApiRole {
  return roles.get(request) ?? 'admin';
}

/**
 * Guards the admin API, the metrics and the OpenAPI document with `http.adminToken` (R-SEC-1):
 * off without a configured token unless `http.allowUnauthenticated`. The read-only
 * `http.viewerToken` (R-OPS-2) opens the `GET` routes; with it any other method is a 403, before
 * the route reads its body.
 */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedIntegrationBusOptions,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const { adminToken, viewerToken, allowUnauthenticated } = this.options.http;
    const access = checkBearerToken(
      context,
      { token: adminToken, readOnlyToken: viewerToken, allowUnauthenticated, kind: 'admin' },
      this.adapterHost,
    );
    const request = context.switchToHttp().getRequest<{ method?: string }>();
    if (access === 'read-only' && !READ_METHODS.has((request.method ?? '').toUpperCase())) {
      throw new ForbiddenException(
        'The viewer token (http.viewerToken) only reads: this request changes something and needs the admin token (http.adminToken).',
      );
    }
    roles.set(request, access === 'full' ? 'admin' : 'viewer');
    return true;
  }
}
