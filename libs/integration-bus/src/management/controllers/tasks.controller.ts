import { Body, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOperation,
  ApiParam,
  ApiQuery,
  type ApiBodyOptions,
} from '@nestjs/swagger';
import type { ResultCounts } from '../../delivery/invoke-connector.js';
import { SYNCHRONIZATION_STATUSES, type SynchronizationStatus } from '../../persistence/task-query.store.js';
import {
  TaskManagementService,
  type BulkDeletionResult,
  type BulkRequeueResult,
  type BulkSelection,
  type BulkSynchronizationResult,
  type TaskDetail,
  type TaskDirection,
  type TaskListItem,
} from '../services/task-management.service.js';
import { decodeCursor, encodeCursor } from '../validation/cursor.js';
import {
  CODE_NAME_RULE,
  MAX_TASK_ID,
  RequestInput,
  RequestValidationError,
} from '../validation/request-input.js';
import { AdminApiController } from './admin-api.decorator.js';

const DIRECTIONS: readonly TaskDirection[] = ['outgoing', 'incoming'];
/** Largest page of a list. */
const MAX_LIMIT = 500;
/** Most ids one bulk request may select. */
const MAX_BULK_IDS = 10_000;

const BULK_BODY: ApiBodyOptions = {
  schema: {
    type: 'object',
    required: ['direction'],
    properties: {
      direction: { type: 'string', enum: [...DIRECTIONS] },
      connectorName: { type: 'string', description: "Only this connector's synchronizations." },
      ids: { type: 'array', items: { type: 'integer' }, maxItems: MAX_BULK_IDS, description: 'Task ids.' },
      all: { type: 'boolean', enum: [true], description: 'Every task of the list instead of `ids`.' },
      status: {
        type: 'string',
        enum: [...SYNCHRONIZATION_STATUSES],
        description: 'With `all`: only the tasks with this status.',
      },
    },
  },
};

/** A list page as the API returns it: the cursor is opaque text. */
interface TaskListPage {
  items: TaskListItem[];
  nextCursor: string | null;
}

function taskId(value: string): number {
  return RequestInput.path('id', value).integer('id', { min: 1, max: MAX_TASK_ID, required: true });
}

/**
 * Reads `{ direction, connectorName?, ids? | all: true, status? }`, exactly one of `ids` and `all`;
 * `status` only with `all`.
 */
function bulkSelection(body: unknown): BulkSelection {
  const input = RequestInput.body(body, ['direction', 'connectorName', 'ids', 'all', 'status']);
  const direction = input.oneOf('direction', DIRECTIONS, { required: true });
  const connectorName = input.string('connectorName', CODE_NAME_RULE);
  const ids = input.integerArray('ids', { min: 1, max: MAX_TASK_ID, maxItems: MAX_BULK_IDS });
  const all = input.boolean('all');
  const status = input.oneOf('status', SYNCHRONIZATION_STATUSES);
  if (all === false) throw new RequestValidationError('all', 'must be true when given; send ids instead.');
  if (ids && all) throw new RequestValidationError('ids', 'and all exclude each other: send one of them.');
  if (!ids && !all) throw new RequestValidationError('ids', 'is required unless all is true.');
  if (status && !all) throw new RequestValidationError('status', 'only applies with all: true.');
  return all ? { direction, connectorName, all, status } : { direction, connectorName, ids };
}

/** `/{path}/tasks`: outgoing and incoming queues, a task's detail, single and bulk actions (SPEC §8). */
@AdminApiController('tasks')
export class TasksController {
  constructor(private readonly tasks: TaskManagementService) {}

  @Get()
  @ApiOperation({
    summary: 'Queued tasks, oldest first',
    description:
      'One item per task and connector still to process it, in processing order. Pass `nextCursor` back as `cursor` for the next page.',
  })
  @ApiQuery({ name: 'direction', enum: DIRECTIONS, required: false })
  @ApiQuery({ name: 'connectorName', type: 'string', required: false })
  @ApiQuery({ name: 'status', enum: SYNCHRONIZATION_STATUSES, required: false })
  @ApiQuery({
    name: 'search',
    type: 'string',
    required: false,
    description:
      'Only tasks whose title or object type contains this text (ignoring case; `%` and `_` are literal). At most 200 characters.',
  })
  @ApiQuery({ name: 'cursor', type: 'string', required: false })
  @ApiQuery({ name: 'limit', type: 'integer', required: false, description: `1 to ${MAX_LIMIT}, default 50` })
  @ApiBadRequestResponse({ description: 'A parameter is invalid; `field` names it.' })
  @ApiNotFoundResponse({ description: 'No connector has this code name.' })
  async list(@Query() query: unknown): Promise<TaskListPage> {
    const input = RequestInput.query(query, [
      'direction',
      'connectorName',
      'status',
      'search',
      'cursor',
      'limit',
    ]);
    const search = input.string('search', { max: 200 })?.trim() || undefined;
    const direction = input.oneOf('direction', DIRECTIONS) ?? 'outgoing';
    const connectorName = input.string('connectorName', CODE_NAME_RULE);
    const status: SynchronizationStatus | undefined = input.oneOf('status', SYNCHRONIZATION_STATUSES);
    const cursor = input.string('cursor', { max: 200 });
    const limit = input.integer('limit', { min: 1, max: MAX_LIMIT }) ?? 50;
    const after = cursor === undefined ? undefined : decodeCursor('tasks', cursor, 2);
    const page = await this.tasks.list({
      direction,
      connectorName,
      status,
      search,
      after: after && { taskId: after[0]!, connectorId: after[1]! },
      limit,
    });
    return {
      items: page.items,
      nextCursor:
        page.nextCursor && encodeCursor('tasks', [page.nextCursor.taskId, page.nextCursor.connectorId]),
    };
  }

  @Post('synchronize')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Synchronize the selected tasks, or all tasks of a list, in creation order',
    description:
      "After an ERROR, the same connector's later selected tasks are skipped, so that no newer change overtakes a failed one.",
  })
  @ApiBody(BULK_BODY)
  @ApiBadRequestResponse({ description: 'A field is invalid; `field` names it.' })
  @ApiConflictResponse({
    description: 'Processing of the direction is switched off, or the connector is disabled.',
  })
  synchronizeMany(@Body() body: unknown): Promise<BulkSynchronizationResult> {
    return this.tasks.synchronizeMany(bulkSelection(body));
  }

  @Post('requeue')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Make the selected tasks, or all tasks of a list (e.g. every parked one), waiting again',
    description:
      'Clears their backoff and failure count (attempts and log are kept); their connectors process them at once, on every instance.',
  })
  @ApiBody(BULK_BODY)
  @ApiBadRequestResponse({ description: 'A field is invalid; `field` names it.' })
  requeueMany(@Body() body: unknown): Promise<BulkRequeueResult> {
    return this.tasks.requeueMany(bulkSelection(body));
  }

  @Post('delete')
  @HttpCode(200)
  @ApiOperation({ summary: 'Delete the selected tasks, or all tasks of a list, without processing them' })
  @ApiBody(BULK_BODY)
  @ApiBadRequestResponse({ description: 'A field is invalid; `field` names it.' })
  deleteMany(@Body() body: unknown): Promise<BulkDeletionResult> {
    return this.tasks.deleteMany(bulkSelection(body));
  }

  @Get(':id')
  @ApiOperation({ summary: "A task's data, related data and per-connector status with the sync log" })
  @ApiParam({ name: 'id', type: 'integer' })
  @ApiNotFoundResponse({ description: 'No task has this id.' })
  detail(@Param('id') id: string): Promise<TaskDetail> {
    return this.tasks.detail(taskId(id));
  }

  @Post(':id/synchronize')
  @HttpCode(200)
  @ApiOperation({ summary: 'Process one task now, for one connector or every connector it waits for' })
  @ApiParam({ name: 'id', type: 'integer' })
  @ApiBody({ required: false, schema: { type: 'object', properties: { connectorName: { type: 'string' } } } })
  @ApiNotFoundResponse({ description: 'The task is not queued (for this connector).' })
  @ApiConflictResponse({ description: 'Processing is switched off, the connector is disabled or busy.' })
  async synchronize(@Param('id') id: string, @Body() body: unknown): Promise<{ results: ResultCounts }> {
    const task = taskId(id);
    const input = RequestInput.body(body, ['connectorName'], { optional: true });
    const results = await this.tasks.synchronize(task, input.string('connectorName', CODE_NAME_RULE));
    return { results };
  }

  @Post(':id/requeue')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Make one parked, failed or postponed task waiting again (R-DEL-6)',
    description:
      "With `refresh: true`, a SimpleSnapshot or Snapshot task goes back with the object's current state instead of its stored snapshot (R-RES-3).",
  })
  @ApiParam({ name: 'id', type: 'integer' })
  @ApiBody({
    required: false,
    schema: {
      type: 'object',
      properties: { connectorName: { type: 'string' }, refresh: { type: 'boolean', default: false } },
    },
  })
  @ApiNotFoundResponse({ description: 'No task has this id, or no connector this code name.' })
  async requeue(@Param('id') id: string, @Body() body: unknown): Promise<{ requeued: number }> {
    const task = taskId(id);
    const input = RequestInput.body(body, ['connectorName', 'refresh'], { optional: true });
    const connectorName = input.string('connectorName', CODE_NAME_RULE);
    return { requeued: await this.tasks.requeue(task, connectorName, input.boolean('refresh')) };
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Delete one task for one connector or for all, without processing it' })
  @ApiParam({ name: 'id', type: 'integer' })
  @ApiQuery({ name: 'connectorName', type: 'string', required: false })
  @ApiNotFoundResponse({ description: 'The task is not queued (for this connector).' })
  async remove(@Param('id') id: string, @Query() query: unknown): Promise<{ deleted: number }> {
    const task = taskId(id);
    const input = RequestInput.query(query, ['connectorName']);
    return { deleted: await this.tasks.delete(task, input.string('connectorName', CODE_NAME_RULE)) };
  }
}
