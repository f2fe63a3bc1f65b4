import { Get, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiQuery } from '@nestjs/swagger';
import { SYNCHRONIZATION_STATUSES } from '../../persistence/task-query.store.js';
import { OverviewService, type Overview } from '../overview/overview.service.js';
import { THROUGHPUT_MINUTES_KEPT } from '../overview/throughput-recorder.js';
import { RequestInput } from '../validation/request-input.js';
import { AdminApiController } from './admin-api.decorator.js';

const nullableInteger = { type: 'integer', nullable: true } as const;

/** `/{path}/overview`: the admin page's Overview tab, one row per connector and direction. */
@AdminApiController('overview')
export class OverviewController {
  constructor(private readonly overview: OverviewService) {}

  @Get()
  @ApiOperation({
    summary:
      'Per connector and direction: tasks by status, oldest task age, blocked time, last run, throughput',
    description:
      'Counts and ages come from the database (every instance sees the same). Last run and throughput are the connector calls of the instance that answers, recorded from the first time the overview was read there (`throughputRecorded`).',
  })
  @ApiQuery({
    name: 'minutes',
    type: 'integer',
    required: false,
    description: `Minutes of throughput, 1 to ${THROUGHPUT_MINUTES_KEPT}, default 15`,
  })
  @ApiOkResponse({
    schema: {
      type: 'object',
      properties: {
        generatedAt: { type: 'string', format: 'date-time' },
        minutes: { type: 'integer' },
        throughputRecorded: { type: 'boolean' },
        queues: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              connectorName: { type: 'string' },
              connectorDisplayName: { type: 'string' },
              direction: { type: 'string', enum: ['outgoing', 'incoming'] },
              counts: {
                type: 'object',
                properties: Object.fromEntries(SYNCHRONIZATION_STATUSES.map((s) => [s, { type: 'integer' }])),
              },
              oldestTaskAgeMs: nullableInteger,
              blockedMs: nullableInteger,
              lastRunAt: { type: 'string', format: 'date-time', nullable: true },
              throughput: {
                type: 'array',
                items: { type: 'integer' },
                description: 'Connector calls finished per minute, oldest first, the current minute last.',
              },
            },
          },
        },
      },
    },
  })
  @ApiBadRequestResponse({ description: 'A parameter is invalid; `field` names it.' })
  read(@Query() query: unknown): Promise<Overview> {
    const input = RequestInput.query(query, ['minutes']);
    const minutes = input.integer('minutes', { min: 1, max: THROUGHPUT_MINUTES_KEPT }) ?? 15;
    return this.overview.read(minutes);
  }
}
