import { Get, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { adminApiRoleOf, type AdminApiRole } from '../guards/admin-token.guard.js';
import { AdminApiController } from './admin-api.decorator.js';

/**
 * `GET /{path}/access`: which role the request's token has (R-OPS-2), so that the admin page shows
 * it and leaves out the actions a viewer cannot take.
 */
@AdminApiController('access')
export class AccessController {
  @Get()
  @ApiOperation({
    summary: "The role of the request's token: admin (every route) or viewer (the reads only)",
  })
  @ApiOkResponse({
    schema: {
      type: 'object',
      required: ['role'],
      properties: { role: { type: 'string', enum: ['admin', 'viewer'] } },
    },
  })
  access(@Req() request: object): { role: AdminApiRole } {
    return { role: adminApiRoleOf(request) };
  }
}
