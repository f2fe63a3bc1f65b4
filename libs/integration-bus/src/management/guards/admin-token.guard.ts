import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { RESOLVED_OPTIONS } from '../../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../../interfaces/integration-bus-options.interface.js';
import { checkBearerToken } from './bearer-token.js';

/**
 * Guards the admin API, the metrics and the OpenAPI document with `http.adminToken` (R-SEC-1):
 * off without a configured token unless `http.allowUnauthenticated`.
 */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedIntegrationBusOptions,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const { adminToken, allowUnauthenticated } = this.options.http;
    return checkBearerToken(
      context,
      { token: adminToken, allowUnauthenticated, kind: 'admin' },
      this.adapterHost,
    );
  }
}
