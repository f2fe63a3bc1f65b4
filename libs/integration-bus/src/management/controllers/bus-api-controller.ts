import {
  applyDecorators,
  Controller,
  UseFilters,
  UseGuards,
  VERSION_NEUTRAL,
  type CanActivate,
  type Type,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import { JsonBodyGuard } from '../guards/json-body.guard.js';
import { MANAGEMENT_API_TAG } from '../management.constants.js';
import { ManagementExceptionFilter } from '../management-exception.filter.js';

/** Which token opens a group of the bus's routes, and how the API docs name it. */
export interface BusApiAccess {
  guard: Type<CanActivate>;
  /** The OpenAPI bearer scheme. */
  scheme: string;
  /** `admin`, `notify`: for the documented 401 and 403. */
  token: string;
  /** What is off without a configured token, for the documented 403. */
  off: string;
}

/**
 * A controller of the bus's API under `/{http.path}/{path}`: its token required, a body only as JSON
 * (415 otherwise), library errors answered with their HTTP meaning, version-neutral so that the
 * host's URI versioning does not move it, and documented under the bus's tag.
 */
export function busApiController(path: string, access: BusApiAccess): ClassDecorator {
  return applyDecorators(
    Controller({ path, version: VERSION_NEUTRAL }),
    // The token first: a caller without one learns nothing about the body it sent.
    UseGuards(access.guard, JsonBodyGuard),
    UseFilters(ManagementExceptionFilter),
    ApiTags(MANAGEMENT_API_TAG),
    ApiBearerAuth(access.scheme),
    ApiUnauthorizedResponse({ description: `Missing or wrong ${access.token} token.` }),
    ApiForbiddenResponse({ description: `No ${access.token} token is configured: ${access.off} off.` }),
    ApiUnsupportedMediaTypeResponse({
      description: 'A body was sent as something else than JSON (`Content-Type: application/json`).',
    }),
  );
}
