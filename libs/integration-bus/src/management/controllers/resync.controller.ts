import { Body, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOperation,
  ApiParam,
} from '@nestjs/swagger';
import type { ResyncProgress } from '../../resync/resync-progress.js';
import { MAX_RESYNC_CHUNK_SIZE, ResyncService } from '../../resync/resync.service.js';
import { CODE_NAME_RULE, RequestInput, RequestValidationError } from '../validation/request-input.js';
import { AdminApiController } from './admin-api.decorator.js';

const OBJECT_TYPE = { max: 200 };

function codeNameOf(codeName: string): string {
  return RequestInput.path('codeName', codeName).string('codeName', { ...CODE_NAME_RULE, required: true });
}

/**
 * Resync (R-RES-1): `POST /{path}/connectors/:codeName/resync` starts one, `GET` shows a
 * connector's resyncs with their progress, `POST …/resync/cancel` cancels the running one of an
 * object type; `GET /{path}/resyncs` lists every connector's (the admin page's progress bars).
 */
@AdminApiController('')
export class ResyncController {
  constructor(private readonly resyncs: ResyncService) {}

  @Post('connectors/:codeName/resync')
  @ApiOperation({
    summary: 'Resync an object type to a connector',
    description:
      "Every existing row of `objectType` (those `where` selects) becomes an outgoing task for this connector only, in the data type its subscription asks for, chunk after chunk, in the background. Resumable after a crash or restart; a row changed meanwhile reaches the connector in commit order with its resync task (R-RES-2). `where` is a MikroORM filter object over the entity's properties (and its to-one relations'), with `$and`, `$or`, `$not`, `$eq`, `$ne`, `$gt`, `$gte`, `$lt`, `$lte`, `$like`, `$ilike`, `$in`, `$nin`, `$exists`.",
  })
  @ApiParam({ name: 'codeName', type: 'string' })
  @ApiBody({
    schema: {
      type: 'object',
      required: ['objectType'],
      properties: {
        objectType: { type: 'string', maxLength: 200, example: 'cms.user' },
        where: { type: 'object', example: { site: { name: 'main' }, id: { $gt: 100 } } },
        chunkSize: { type: 'integer', minimum: 1, maximum: MAX_RESYNC_CHUNK_SIZE, default: 1000 },
      },
    },
  })
  @ApiBadRequestResponse({
    description:
      'The object type is no integration entity or is not subscribed to by the connector, or `where` or `chunkSize` is invalid; `field` names it.',
  })
  @ApiNotFoundResponse({ description: 'No loaded connector has this code name.' })
  @ApiConflictResponse({
    description: 'A resync of this connector and object type is running, or the connector is disabled.',
  })
  start(@Param('codeName') codeName: string, @Body() body: unknown): Promise<ResyncProgress> {
    const name = codeNameOf(codeName);
    const input = RequestInput.body(body, ['objectType', 'where', 'chunkSize']);
    const objectType = input.string('objectType', { ...OBJECT_TYPE, required: true });
    const where = input.raw('where');
    if (where !== undefined && where !== null && (typeof where !== 'object' || Array.isArray(where))) {
      throw new RequestValidationError('where', 'must be an object of property conditions');
    }
    const chunkSize = input.integer('chunkSize', { min: 1, max: MAX_RESYNC_CHUNK_SIZE });
    return this.resyncs.start(name, {
      objectType,
      where: (where ?? undefined) as Record<string, unknown> | undefined,
      chunkSize,
    });
  }

  @Get('connectors/:codeName/resync')
  @ApiOperation({
    summary: "A connector's resyncs, newest first, with their progress",
    description: 'Rows done and total, percent, rate (rows per second), ETA in seconds, status.',
  })
  @ApiParam({ name: 'codeName', type: 'string' })
  @ApiNotFoundResponse({ description: 'No connector has this code name.' })
  async list(@Param('codeName') codeName: string): Promise<{ items: ResyncProgress[] }> {
    return { items: await this.resyncs.list(codeNameOf(codeName)) };
  }

  @Post('connectors/:codeName/resync/cancel')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Cancel the running resync of an object type',
    description: 'The chunk under way rolls back; the tasks of the chunks done stay queued.',
  })
  @ApiParam({ name: 'codeName', type: 'string' })
  @ApiBody({
    schema: { type: 'object', required: ['objectType'], properties: { objectType: { type: 'string' } } },
  })
  @ApiNotFoundResponse({ description: 'No connector has this code name, or no such resync is running.' })
  cancel(@Param('codeName') codeName: string, @Body() body: unknown): Promise<ResyncProgress> {
    const name = codeNameOf(codeName);
    const input = RequestInput.body(body, ['objectType']);
    return this.resyncs.cancel(name, input.string('objectType', { ...OBJECT_TYPE, required: true }));
  }

  @Get('resyncs')
  @ApiOperation({ summary: "Every connector's resyncs, newest first (the last 100), with their progress" })
  async all(): Promise<{ items: ResyncProgress[] }> {
    return { items: await this.resyncs.list() };
  }
}
