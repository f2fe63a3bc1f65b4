import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { RESOLVED_OPTIONS } from '../../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../../interfaces/integration-bus-options.interface.js';
import { checkBearerToken } from './bearer-token.js';

/**
 * Guards `POST /{path}/notify` and `POST /{path}/connectors/:codeName/incoming` with
 * `http.notifyToken` (R-SEC-2): off without a configured token unless `http.allowUnauthenticated`.
 * The admin token does not open them: a system that may push tasks need not manage the bus.
 */
@Injectable()
export class NotifyTokenGuard implements CanActivate {
  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedIntegrationBusOptions,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const { notifyToken, allowUnauthenticated } = this.options.http;
    checkBearerToken(context, { token: notifyToken, allowUnauthenticated, kind: 'notify' }, this.adapterHost);
    return true;
  }
}
