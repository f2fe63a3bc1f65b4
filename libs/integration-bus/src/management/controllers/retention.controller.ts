import { Get, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import {
  IntegrationBusRetention,
  type RetentionPass,
  type RetentionStatus,
} from '../retention/retention.service.js';
import { AdminApiController } from './admin-api.decorator.js';

const nullableInteger = { type: 'integer', nullable: true } as const;
const nullableTime = { type: 'string', format: 'date-time', nullable: true } as const;
const count = { type: 'integer' } as const;

const PASS_SCHEMA = {
  type: 'object',
  properties: {
    startedAt: { type: 'string', format: 'date-time' },
    finishedAt: { type: 'string', format: 'date-time' },
    outcome: {
      type: 'string',
      enum: ['done', 'more', 'skipped', 'failed'],
      description:
        '`done`: everything expired was removed; `more`: the pass had its share, the next goes on; ' +
        '`skipped`: another instance was pruning; `failed`: a statement failed (`error`).',
    },
    removed: {
      type: 'object',
      properties: {
        syncLog: count,
        eventLog: count,
        idempotencyKeys: count,
        parkedSynchronizations: count,
        parkedTasks: count,
        intakeSequences: count,
      },
    },
    batches: { type: 'integer', description: 'Statements run, each one bounded batch.' },
    error: { type: 'string' },
  },
};

/** `/{path}/retention`: what the bus keeps of its logs and parked tasks (R-OPS-1), and a pass on demand. */
@AdminApiController('retention')
export class RetentionController {
  constructor(private readonly retention: IntegrationBusRetention) {}

  @Get()
  @ApiOperation({
    summary: 'The retention in effect, the last pruning pass and the oldest rows kept',
    description:
      '`settings` are the `retention` options (`null`: kept for ever, or no count cap) and `idempotencyWindowMs`. ' +
      '`lastPass` and `nextPassAt` are those of the instance that answers; `oldest` is read from the database.',
  })
  @ApiOkResponse({
    schema: {
      type: 'object',
      properties: {
        settings: {
          type: 'object',
          properties: {
            syncLogDays: nullableInteger,
            eventLogDays: nullableInteger,
            eventLogMaxRows: nullableInteger,
            parkedDays: nullableInteger,
            intakeSequenceDays: nullableInteger,
            idempotencyWindowMs: { type: 'integer' },
          },
        },
        intervalMs: { type: 'integer' },
        lastPass: { ...PASS_SCHEMA, nullable: true },
        nextPassAt: nullableTime,
        oldest: {
          type: 'object',
          properties: {
            syncLog: nullableTime,
            eventLog: nullableTime,
            parked: { ...nullableTime, description: 'The oldest last attempt of a parked task.' },
            idempotencyKey: nullableTime,
          },
        },
      },
    },
  })
  status(): Promise<RetentionStatus> {
    return this.retention.status();
  }

  @Post('prune')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Run a pruning pass now',
    description:
      'On the instance that answers, or joins the pass under way there. It removes nothing while another ' +
      'instance is pruning (`outcome: skipped`).',
  })
  @ApiOkResponse({ schema: PASS_SCHEMA })
  prune(): Promise<RetentionPass> {
    return this.retention.prune();
  }
}
