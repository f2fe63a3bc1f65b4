import { Body, Headers, Param, Post, Res } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiHeader,
  ApiParam,
} from '@nestjs/swagger';
import { IntegrationProcessType } from '../../enums/integration-process-type.enum.js';
import { TaskDataType } from '../../enums/task-data-type.enum.js';
import { TaskType } from '../../enums/task-type.enum.js';
import { checkIdempotencyKey, IDEMPOTENCY_KEY_MAX_LENGTH } from '../../incoming/idempotency-key.js';
import {
  checkIntakeSequence,
  SEQUENCE_KEY_MAX_LENGTH,
  sequenceOfHeaders,
  type SequenceHeaders,
} from '../../incoming/intake-sequence.js';
import { OBJECT_KEY_HEADER, OBJECT_TYPE_HEADER, SEQUENCE_HEADER } from '../../relay/relay-message.js';
import type { ExternalTaskOptions } from '../../incoming/external-task-logger.js';
import {
  IncomingIntakeService,
  type IncomingTaskLogged,
  type IncomingTaskNotLogged,
} from '../services/incoming-intake.service.js';
import { CODE_NAME_RULE, RequestInput, RequestValidationError } from '../validation/request-input.js';
import { NotifyApiController } from './notify-api.decorator.js';

/** Task types an incoming task may carry: every one but `ALL`, which only subscriptions use. */
const TASK_TYPES = Object.values(TaskType).filter((type) => type !== TaskType.All);
const DATA_TYPES = Object.values(TaskDataType);
/**
 * Process types an incoming task may be logged with. `ERROR` is left out: it is the state a failed
 * Default task is put in, and a task logged in it would block its connector's queue at once.
 */
const PROCESS_TYPES = Object.values(IntegrationProcessType).filter(
  (type) => type !== IntegrationProcessType.Error,
);
const FIELDS = ['object', 'taskType', 'dataType', 'processType', 'siteName'] as const;
const SITE_NAME = { max: 100 };

/**
 * Reads the optional `Bus-Sequence` / `Bus-Object-Key` (/ `Bus-Object-Type`) request headers into the
 * options that drop an older version (R-DEL-2). Strict where a broker message is lenient: a request
 * sets them on purpose, so one of the pair without the other is a 400 naming the missing one.
 * @throws InvalidExternalTaskError naming the header at fault (a 400)
 */
function readSequence(headers: SequenceHeaders): Pick<ExternalTaskOptions, 'sequence' | 'sequenceKey'> {
  const { sequence, sequenceKey } = sequenceOfHeaders(headers);
  const checked = checkIntakeSequence(sequence, sequenceKey, {
    sequence: SEQUENCE_HEADER,
    key: OBJECT_KEY_HEADER,
  });
  return checked === null ? {} : { sequence: checked.sequence, sequenceKey: checked.key };
}

/** Reads and checks the body; throws a `RequestValidationError` naming the first bad field. */
function readIncoming(body: unknown): { object: object; options: ExternalTaskOptions } {
  const input = RequestInput.body(body, FIELDS);
  if (!input.has('object')) throw new RequestValidationError('object', 'is required.');
  const object = input.raw('object');
  if (typeof object !== 'object' || object === null || Array.isArray(object)) {
    throw new RequestValidationError('object', "must be a JSON object: the external system's record.");
  }
  return {
    object,
    options: {
      taskType: input.oneOf('taskType', TASK_TYPES, { required: true }),
      dataType: input.oneOf('dataType', DATA_TYPES),
      processType: input.oneOf('processType', PROCESS_TYPES),
      siteName: input.string('siteName', SITE_NAME) ?? null,
    },
  };
}

/**
 * `POST /{path}/connectors/:codeName/incoming` (R-IN-6): the HTTP way in for an external system
 * that does not share the database. The body is checked field by field (R-SEC-3), the connector's
 * `prepareInternalObject` turns `object` into a local entity, and one incoming task is logged for
 * the connector through `IntegrationBus.processExternalTask`; it is applied later, by the
 * scheduled job, a `notify`, or by hand.
 */
@NotifyApiController('connectors')
export class IncomingController {
  constructor(
    private readonly intake: IncomingIntakeService,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  @Post(':codeName/incoming')
  @ApiOperation({
    summary: 'Log an incoming task for a connector',
    description:
      "The connector's `prepareInternalObject` converts `object` (the external system's record) into a local " +
      'entity; with `SIMPLESNAPSHOT` and `SNAPSHOT` its foreign keys are described for translation by ' +
      '`getInternalObjectParams` / `getInternalDocumentParams`. The task is queued, not applied: processing ' +
      'happens on the scheduled job, on `POST notify`, or by hand.\n\n' +
      '**201** `{ taskId }`: a task was logged. **200** `{ taskId: null, reason, message }`: the request was ' +
      'valid but nothing was logged, by design rather than by fault — `loggingOff` (settings: logging of ' +
      "incoming tasks is switched off), `notPrepared` (the connector's `prepareInternalObject` returned null " +
      'for this object), `cancelled` (a `LogExternalTask.Before` listener cancelled it), `olderSequence` (see ' +
      '`Bus-Sequence` below). Nothing is written for a 4xx.\n\n' +
      'With an `Idempotency-Key` header, a request repeated with the same key (for the same connector, ' +
      'within `idempotencyWindowMs`, 7 days by default) logs nothing and answers **200** ' +
      '`{ taskId, duplicate: true }` with the task the first request logged.\n\n' +
      'With `Bus-Sequence` and `Bus-Object-Key` headers, the task is logged only if its sequence is above the ' +
      'highest logged before for that object key (and connector); an older or equal one logs nothing and ' +
      'answers **200** `{ taskId: null, reason: "olderSequence", message }`.',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      `1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} visible ASCII characters, e.g. a UUID per record sent: ` +
      'retrying the request with the same key never logs the task twice.',
  })
  @ApiHeader({
    name: SEQUENCE_HEADER,
    required: false,
    description:
      `A non-negative integer (decimal digits, up to ${Number.MAX_SAFE_INTEGER}) that grows with each version of ` +
      `the object at the sender, with \`${OBJECT_KEY_HEADER}\`: a version whose sequence is not above the ` +
      'highest logged for the object is dropped (R-DEL-2).',
  })
  @ApiHeader({
    name: OBJECT_KEY_HEADER,
    required: false,
    description:
      `The object's key as the sender knows it, with \`${SEQUENCE_HEADER}\` (one without the other is a 400). ` +
      `Keys longer than ${SEQUENCE_KEY_MAX_LENGTH} characters are compared by their SHA-256.`,
  })
  @ApiHeader({
    name: OBJECT_TYPE_HEADER,
    required: false,
    description: `The object's type, when the sender's keys are unique only per type: the key compared is \`<type>:<key>\`.`,
  })
  @ApiParam({ name: 'codeName', type: 'string', description: "The connector's code name." })
  @ApiBody({
    schema: {
      type: 'object',
      required: ['object', 'taskType'],
      additionalProperties: false,
      properties: {
        object: {
          type: 'object',
          description: "The external system's record, as the connector's prepareInternalObject reads it.",
        },
        taskType: { type: 'string', enum: TASK_TYPES },
        dataType: { type: 'string', enum: DATA_TYPES, default: TaskDataType.Simple },
        processType: {
          type: 'string',
          enum: PROCESS_TYPES,
          default: IntegrationProcessType.Default,
          description: 'How processing treats the task and its failure.',
        },
        siteName: {
          type: 'string',
          maxLength: SITE_NAME.max,
          nullable: true,
          description: 'Site the object belongs to, passed to prepareInternalObject.',
        },
      },
    },
  })
  @ApiCreatedResponse({
    description: 'The task was logged.',
    schema: { type: 'object', required: ['taskId'], properties: { taskId: { type: 'integer' } } },
  })
  @ApiOkResponse({
    description:
      'Valid, but nothing was logged: `reason` says why; or the `Idempotency-Key` had already logged ' +
      'the task `taskId` (`duplicate: true`).',
    schema: {
      type: 'object',
      required: ['taskId'],
      properties: {
        taskId: { type: 'integer', nullable: true, description: '`null`: no task was logged.' },
        duplicate: {
          type: 'boolean',
          enum: [true],
          description: 'The task was logged by an earlier request.',
        },
        reason: { type: 'string', enum: ['loggingOff', 'notPrepared', 'cancelled', 'olderSequence'] },
        message: { type: 'string' },
      },
    },
  })
  @ApiBadRequestResponse({
    description:
      'A field is missing or invalid; `field` names it. The connector rejecting the object ' +
      '(`ExternalObjectError`) names `object` or `object.<its field>`.',
  })
  @ApiNotFoundResponse({ description: 'No connector with this code name is loaded.' })
  @ApiConflictResponse({ description: 'The connector is disabled.' })
  async ingest(
    @Param('codeName') codeName: string,
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Headers('bus-sequence') sequence: string | undefined,
    @Headers('bus-object-key') objectKey: string | undefined,
    @Headers('bus-object-type') objectType: string | undefined,
    @Res({ passthrough: true }) response: unknown,
  ): Promise<IncomingTaskLogged | IncomingTaskNotLogged> {
    const name = RequestInput.path('codeName', codeName).string('codeName', {
      ...CODE_NAME_RULE,
      required: true,
    });
    const { object, options } = readIncoming(body);
    if (idempotencyKey !== undefined) {
      options.idempotencyKey = checkIdempotencyKey(idempotencyKey, 'Idempotency-Key');
    }
    const answer = await this.intake.ingest(name, object, {
      ...options,
      ...readSequence({ sequence, objectKey, objectType }),
    });
    if (answer.taskId === null || answer.duplicate) this.adapterHost.httpAdapter.status(response, 200);
    return answer;
  }
}
