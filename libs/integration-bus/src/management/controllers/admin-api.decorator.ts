import { applyDecorators, Controller, UseFilters, UseGuards, VERSION_NEUTRAL } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import { AdminTokenGuard } from '../guards/admin-token.guard.js';
import { JsonBodyGuard } from '../guards/json-body.guard.js';
import { ADMIN_BEARER_SCHEME, MANAGEMENT_API_TAG } from '../management.constants.js';
import { ManagementExceptionFilter } from '../management-exception.filter.js';

/**
 * A controller of the admin API under `/{http.path}/{path}`: admin token required, a body only as
 * JSON (415 otherwise), library errors answered with their HTTP meaning, version-neutral so that
 * the host's URI versioning does not move it, and documented under the bus's tag.
 */
export function AdminApiController(path: string): ClassDecorator {
  return applyDecorators(
    Controller({ path, version: VERSION_NEUTRAL }),
    // The token first: a caller without one learns nothing about the body it sent.
    UseGuards(AdminTokenGuard, JsonBodyGuard),
    UseFilters(ManagementExceptionFilter),
    ApiTags(MANAGEMENT_API_TAG),
    ApiBearerAuth(ADMIN_BEARER_SCHEME),
    ApiUnauthorizedResponse({ description: 'Missing or wrong admin token.' }),
    ApiForbiddenResponse({ description: 'No admin token is configured: the admin API is off.' }),
    ApiUnsupportedMediaTypeResponse({
      description: 'A body was sent as something else than JSON (`Content-Type: application/json`).',
    }),
  );
}
