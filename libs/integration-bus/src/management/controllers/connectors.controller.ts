import { Body, Delete, Get, Param, Patch, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOperation,
  ApiParam,
} from '@nestjs/swagger';
import type { ConnectorStatus } from '../../connectors/connector-registry.js';
import {
  ConnectorManagementService,
  type ConnectorDeletion,
  type ConnectorPartitions,
} from '../services/connector-management.service.js';
import { reservedCodeNameProblem } from '../../connectors/connector-code-name.js';
import { CODE_NAME_RULE, RequestInput, RequestValidationError } from '../validation/request-input.js';
import { AdminApiController } from './admin-api.decorator.js';

const DISPLAY_NAME = { max: 200 };
const CLASS_NAME = { max: 200 };

/** `/{path}/connectors`: connector rows with their status; create, edit, delete (SPEC §8). */
@AdminApiController('connectors')
export class ConnectorsController {
  constructor(private readonly connectors: ConnectorManagementService) {}

  @Get()
  @ApiOperation({
    summary:
      'Connectors with status (`loaded`, `notLoadedReason`), ordering, batch size, calls in flight, rate limit and pause (`pausedUntil`)',
  })
  list(): Promise<ConnectorStatus[]> {
    return this.connectors.list();
  }

  @Get(':codeName/partitions')
  @ApiOperation({
    summary: "A connector's partitions, the instance holding each, and the objects a failed task blocks",
    description:
      "With `ordering: 'object'` the outgoing queue is split into partitions (R-ORD-2); a connector with one FIFO shows it as partition 0. `blockedObjects` lists, oldest first, the objects whose later tasks wait behind a failed one.",
  })
  @ApiParam({ name: 'codeName', type: 'string' })
  @ApiNotFoundResponse({ description: 'No loaded connector has this code name.' })
  partitions(@Param('codeName') codeName: string): Promise<ConnectorPartitions> {
    const name = RequestInput.path('codeName', codeName).string('codeName', {
      ...CODE_NAME_RULE,
      required: true,
    });
    return this.connectors.partitions(name);
  }

  @Post()
  @ApiOperation({
    summary: 'Register a connector row for a code name',
    description:
      'The connector shows as loaded only when a provider with that code name runs in the application.',
  })
  @ApiBody({
    schema: {
      type: 'object',
      required: ['codeName'],
      properties: {
        codeName: { type: 'string', maxLength: 100, pattern: '^[A-Za-z0-9_.-]+$' },
        displayName: { type: 'string', maxLength: 200 },
        className: { type: 'string', maxLength: 200 },
        enabled: { type: 'boolean', default: true },
      },
    },
  })
  @ApiBadRequestResponse({ description: 'A field is missing or invalid; `field` names it.' })
  @ApiConflictResponse({ description: 'A connector with this code name exists.' })
  create(@Body() body: unknown): Promise<ConnectorStatus> {
    const input = RequestInput.body(body, ['codeName', 'displayName', 'className', 'enabled']);
    const codeName = input.string('codeName', { ...CODE_NAME_RULE, required: true });
    const reserved = reservedCodeNameProblem(codeName);
    if (reserved) throw new RequestValidationError('codeName', reserved);
    return this.connectors.create({
      codeName,
      displayName: input.string('displayName', DISPLAY_NAME),
      className: input.string('className', CLASS_NAME),
      enabled: input.boolean('enabled'),
    });
  }

  @Patch(':codeName')
  @ApiOperation({ summary: 'Enable, disable or rename a connector' })
  @ApiParam({ name: 'codeName', type: 'string' })
  @ApiBody({
    schema: {
      type: 'object',
      minProperties: 1,
      properties: { enabled: { type: 'boolean' }, displayName: { type: 'string', maxLength: 200 } },
    },
  })
  @ApiBadRequestResponse({ description: 'A field is invalid; `field` names it.' })
  @ApiNotFoundResponse({ description: 'No connector has this code name.' })
  update(@Param('codeName') codeName: string, @Body() body: unknown): Promise<ConnectorStatus> {
    const name = RequestInput.path('codeName', codeName).string('codeName', {
      ...CODE_NAME_RULE,
      required: true,
    });
    const input = RequestInput.body(body, ['enabled', 'displayName']);
    const patch = {
      enabled: input.boolean('enabled'),
      displayName: input.string('displayName', DISPLAY_NAME),
    };
    if (patch.enabled === undefined && patch.displayName === undefined) {
      throw new RequestValidationError('body', 'must set enabled or displayName.');
    }
    return this.connectors.update(name, patch);
  }

  @Delete(':codeName')
  @ApiOperation({
    summary: 'Delete a connector that is not loaded',
    description:
      "Removes the row, the connector's synchronizations and the tasks no other connector waits for.",
  })
  @ApiParam({ name: 'codeName', type: 'string' })
  @ApiNotFoundResponse({ description: 'No connector has this code name.' })
  @ApiConflictResponse({ description: 'The connector is loaded from a provider: disable it instead.' })
  remove(@Param('codeName') codeName: string): Promise<ConnectorDeletion> {
    const name = RequestInput.path('codeName', codeName).string('codeName', {
      ...CODE_NAME_RULE,
      required: true,
    });
    return this.connectors.delete(name);
  }
}
