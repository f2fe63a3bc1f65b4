import { Body, HttpCode, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOperation,
  ApiQuery,
} from '@nestjs/swagger';
import { IncomingIntakeService, type NotifyAccepted } from '../services/incoming-intake.service.js';
import { CODE_NAME_RULE, RequestInput, RequestValidationError } from '../validation/request-input.js';
import { NotifyApiController } from './notify-api.decorator.js';

/**
 * `POST /{path}/notify[?connectorName=]` (R-IN-5): what `BaseIntegrationConnector.requestTasksProcessing`
 * calls, the counterpart of the original's `IntegrationNotify.aspx`. Answers 202 at once and
 * processes the incoming queue in the background.
 */
@NotifyApiController('notify')
export class NotifyController {
  constructor(private readonly intake: IncomingIntakeService) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({
    summary: 'Process incoming tasks now, in the background',
    description:
      'Starts processing the incoming queue of the connector named by `connectorName`, or of every enabled ' +
      'connector, and answers before the run is over (poll the incoming task list to follow it). A run already ' +
      'under way for a connector is joined, not doubled. Send no body.',
  })
  @ApiQuery({
    name: 'connectorName',
    type: 'string',
    required: false,
    description: 'Only this connector; every enabled connector when left out.',
  })
  @ApiAcceptedResponse({
    description: 'Processing has started.',
    schema: {
      type: 'object',
      required: ['accepted', 'connectorName'],
      properties: {
        accepted: { type: 'boolean', enum: [true] },
        connectorName: { type: 'string', nullable: true, description: '`null`: every enabled connector.' },
      },
    },
  })
  @ApiBadRequestResponse({ description: 'A parameter is invalid, or a body was sent; `field` names it.' })
  @ApiNotFoundResponse({ description: 'No connector with this code name is loaded.' })
  @ApiConflictResponse({
    description: 'The connector is disabled, or processing of incoming tasks is switched off.',
  })
  notify(@Query() query: unknown, @Body() body: unknown): Promise<NotifyAccepted> {
    const input = RequestInput.query(query, ['connectorName']);
    const connectorName = input.string('connectorName', CODE_NAME_RULE);
    if (body && typeof body === 'object' && !Array.isArray(body)) {
      const [first] = Object.keys(body);
      if (first !== undefined) {
        throw new RequestValidationError(
          first,
          'is not read from the body: notify takes only ?connectorName= in the query string.',
        );
      }
    } else if (body !== undefined && body !== null && body !== '') {
      throw new RequestValidationError('body', 'must be empty (or {}): notify takes no body.');
    }
    return this.intake.notify(connectorName);
  }
}
