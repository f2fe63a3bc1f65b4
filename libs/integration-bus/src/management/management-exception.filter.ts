import {
  BadRequestException,
  Catch,
  ConflictException,
  NotFoundException,
  type ArgumentsHost,
  type HttpException,
} from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { ConnectorBusyError } from '../errors/connector-busy.error.js';
import { ConnectorDisabledError } from '../errors/connector-disabled.error.js';
import { ConnectorNotFoundError } from '../errors/connector-not-found.error.js';
import { IntegrationBusError } from '../errors/integration-bus.error.js';
import { InvalidExternalTaskError } from '../errors/invalid-external-task.error.js';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { ProcessingDisabledError } from '../errors/processing-disabled.error.js';
import { InvalidResyncError } from '../errors/invalid-resync.error.js';
import { ResyncConflictError } from '../errors/resync-conflict.error.js';
import { ResyncNotFoundError } from '../errors/resync-not-found.error.js';
import { TaskRefreshError } from '../errors/task-refresh.error.js';
import { TaskNotFoundError } from '../errors/task-not-found.error.js';
import { ExternalObjectError } from '../incoming/external-object.error.js';
import { RequestValidationError } from './validation/request-input.js';

/** The HTTP error a library error means, or `undefined` for one that is a server fault (500). */
export function httpErrorOf(error: IntegrationBusError): HttpException | undefined {
  if (
    error instanceof ConnectorNotFoundError ||
    error instanceof TaskNotFoundError ||
    error instanceof ResyncNotFoundError
  ) {
    return new NotFoundException(error.message);
  }
  if (
    error instanceof ProcessingDisabledError ||
    error instanceof ConnectorBusyError ||
    error instanceof ConnectorDisabledError ||
    error instanceof ResyncConflictError
  ) {
    return new ConflictException(error.message);
  }
  if (error instanceof InvalidOptionsError) return new BadRequestException(error.message);
  if (
    error instanceof InvalidExternalTaskError ||
    error instanceof InvalidResyncError ||
    error instanceof TaskRefreshError
  )
    return new RequestValidationError(error.field, error.problem);
  if (error instanceof ExternalObjectError) {
    return new RequestValidationError(
      error.field === null ? 'object' : `object.${error.field}`,
      error.problem,
    );
  }
  return undefined;
}

/**
 * Answers the management API's library errors with their HTTP meaning: an unknown connector or
 * task is a 404, processing switched off, a connector disabled or busy elsewhere a 409, a rejected value a
 * 400, an external object its connector rejects (`ExternalObjectError`) a 400 naming `object.<field>`.
 * Anything else goes to Nest's default handling (a logged 500).
 */
@Catch(IntegrationBusError)
export class ManagementExceptionFilter extends BaseExceptionFilter {
  override catch(error: IntegrationBusError, host: ArgumentsHost): void {
    super.catch(httpErrorOf(error) ?? error, host);
  }
}

/**
 * The same answers for the host's own routes: put `@UseFilters(IntegrationBusExceptionFilter)` on a
 * controller (or method) that calls the bus, and an `ExternalObjectError` thrown by
 * `processExternalTask` becomes a 400 naming `object.<field>`, an unknown connector a 404, a
 * disabled one a 409 — as on the bus's own ingest route — instead of a 500.
 */
export const IntegrationBusExceptionFilter = ManagementExceptionFilter;
