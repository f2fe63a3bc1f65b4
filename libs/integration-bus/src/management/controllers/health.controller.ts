import { Controller, Get, ServiceUnavailableException, VERSION_NEUTRAL } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { TaskQueryStore } from '../../persistence/task-query.store.js';
import { MANAGEMENT_API_TAG } from '../management.constants.js';

/** `GET /{path}/health`: open, for load balancers and orchestrators; says nothing but up or down. */
@Controller({ path: 'health', version: VERSION_NEUTRAL })
@ApiTags(MANAGEMENT_API_TAG)
export class HealthController {
  constructor(private readonly query: TaskQueryStore) {}

  @Get()
  @ApiOperation({ summary: 'Whether the bus can reach its database (no token needed)' })
  @ApiOkResponse({ schema: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } } } })
  @ApiServiceUnavailableResponse({ description: 'The database does not answer.' })
  async check(): Promise<{ status: 'ok' }> {
    try {
      await this.query.ping();
    } catch {
      throw new ServiceUnavailableException({ status: 'error', message: 'The database does not answer.' });
    }
    return { status: 'ok' };
  }
}
