import { Get, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOperation, ApiQuery } from '@nestjs/swagger';
import { IntegrationEventLog } from '../../persistence/integration-event-log.service.js';
import type { EventLogEntry } from '../../persistence/event-log.store.js';
import { decodeCursor, encodeCursor } from '../validation/cursor.js';
import { RequestInput } from '../validation/request-input.js';
import { AdminApiController } from './admin-api.decorator.js';

const MAX_LIMIT = 500;

/** `/{path}/event-log`: what the bus and the connectors logged, newest first. */
@AdminApiController('event-log')
export class EventLogController {
  constructor(private readonly eventLog: IntegrationEventLog) {}

  @Get()
  @ApiOperation({
    summary: 'Event log entries, newest first',
    description: 'Pass `nextCursor` back as `cursor`.',
  })
  @ApiQuery({ name: 'cursor', type: 'string', required: false })
  @ApiQuery({ name: 'limit', type: 'integer', required: false, description: `1 to ${MAX_LIMIT}, default 50` })
  @ApiBadRequestResponse({ description: 'A parameter is invalid; `field` names it.' })
  async list(@Query() query: unknown): Promise<{ items: EventLogEntry[]; nextCursor: string | null }> {
    const input = RequestInput.query(query, ['cursor', 'limit']);
    const cursor = input.string('cursor', { max: 200 });
    const limit = input.integer('limit', { min: 1, max: MAX_LIMIT }) ?? 50;
    const beforeId = cursor === undefined ? undefined : decodeCursor('events', cursor, 1)[0];
    const rows = await this.eventLog.list({ limit: limit + 1, beforeId });
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > limit && last ? encodeCursor('events', [last.id]) : null };
  }
}
