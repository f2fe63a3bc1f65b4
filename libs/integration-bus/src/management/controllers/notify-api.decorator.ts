import { applyDecorators, Controller, UseFilters, UseGuards, VERSION_NEUTRAL } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import { NotifyTokenGuard } from '../guards/notify-token.guard.js';
import { JsonBodyGuard } from '../guards/json-body.guard.js';
import { MANAGEMENT_API_TAG, NOTIFY_BEARER_SCHEME } from '../management.constants.js';
import { ManagementExceptionFilter } from '../management-exception.filter.js';

/**
 * A controller of the endpoints external systems call, under `/{http.path}/{path}`: the notify
 * token required (R-SEC-2; the admin token does not open them), a body only as JSON (415
 * otherwise), library errors answered with their HTTP meaning, version-neutral so that the host's
 * URI versioning does not move it, and documented under the bus's tag with the notify-token scheme.
 * The counterpart of `AdminApiController`.
 */
export function NotifyApiController(path: string): ClassDecorator {
  return applyDecorators(
    Controller({ path, version: VERSION_NEUTRAL }),
    // The token first: a caller without one learns nothing about the body it sent.
    UseGuards(NotifyTokenGuard, JsonBodyGuard),
    UseFilters(ManagementExceptionFilter),
    ApiTags(MANAGEMENT_API_TAG),
    ApiBearerAuth(NOTIFY_BEARER_SCHEME),
    ApiUnauthorizedResponse({ description: 'Missing or wrong notify token.' }),
    ApiForbiddenResponse({ description: 'No notify token is configured: the notify endpoints are off.' }),
    ApiUnsupportedMediaTypeResponse({
      description: 'A body was sent as something else than JSON (`Content-Type: application/json`).',
    }),
  );
}
