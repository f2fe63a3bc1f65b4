import { Controller, Get, ServiceUnavailableException, VERSION_NEUTRAL } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { BusHealth } from '../health/bus-health.service.js';
import { MANAGEMENT_API_TAG } from '../management.constants.js';

/**
 * `GET /{path}/health`: open, for load balancers and orchestrators; the same checks as
 * `IntegrationBusHealthIndicator`, but it says nothing but up or down and which kind of check
 * failed: connector names and queue figures stay behind the admin token (`/metrics`).
 */
@Controller({ path: 'health', version: VERSION_NEUTRAL })
@ApiTags(MANAGEMENT_API_TAG)
export class HealthController {
  constructor(private readonly health: BusHealth) {}

  @Get()
  @ApiOperation({
    summary:
      'Whether the bus can reach its database, listens for new tasks, and no queue is past the health thresholds (no token needed)',
  })
  @ApiOkResponse({ schema: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } } } })
  @ApiServiceUnavailableResponse({
    description:
      'The database does not answer, the LISTEN connection is closed, or a queue is past a threshold.',
  })
  async check(): Promise<{ status: 'ok' }> {
    const report = await this.health.check();
    if (report.status === 'up') return { status: 'ok' };
    throw new ServiceUnavailableException({
      status: 'error',
      message: publicMessage(report.database.status, report.listener.status),
    });
  }
}

function publicMessage(database: 'up' | 'down', listener: 'up' | 'down'): string {
  if (database === 'down') return 'The database does not answer.';
  if (listener === 'down') return 'The LISTEN connection to the database is not open.';
  return 'A connector queue is past a health threshold.';
}
