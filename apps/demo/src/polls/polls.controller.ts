import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { CODE_NAME, Fields, parseId, readPage, type StringRules } from '../http/validation.js';
import { PollsService, type NewPoll, type NewPollAnswer, type PollView } from './polls.service.js';

const CREATE_FIELDS = ['codeName', 'question', 'siteName', 'answers'] as const;
const ANSWER_FIELDS = ['codeName', 'text'] as const;
const PATCH_FIELDS = ['question'] as const;

const POLL_CODE_NAME: StringRules = { maxLength: 100, ...CODE_NAME };
const QUESTION: StringRules = { maxLength: 450 };
/** A poll needs something to choose from; the upper bound keeps one task's payload small. */
const ANSWERS = { minItems: 2, maxItems: 20 };

/**
 * `/api/polls`: create a poll with its answers in one request, list polls, change a poll's
 * question, delete a poll with its answers.
 */
@Controller('api/polls')
export class PollsController {
  constructor(private readonly polls: PollsService) {}

  @Get()
  list(@Query() query: Record<string, unknown>): Promise<PollView[]> {
    return this.polls.list(readPage(query));
  }

  @Post()
  create(@Body() body: unknown): Promise<PollView> {
    const fields = Fields.body(body, CREATE_FIELDS);
    const input: NewPoll = {
      codeName: fields.string('codeName', { ...POLL_CODE_NAME, required: true }),
      question: fields.string('question', { ...QUESTION, required: true }),
      siteName: fields.string('siteName', { nullable: true, maxLength: 100 }),
      answers: readAnswers(fields),
    };
    return this.polls.create(input);
  }

  @Patch(':id')
  update(@Param('id') id: string, @Body() body: unknown): Promise<PollView> {
    const pollId = parseId(id);
    const fields = Fields.body(body, PATCH_FIELDS);
    return this.polls.update(pollId, { question: fields.string('question', QUESTION) });
  }

  @Delete(':id')
  @HttpCode(204)
  remove(@Param('id') id: string): Promise<void> {
    return this.polls.remove(parseId(id));
  }
}

/** The answers of a new poll; a code name given twice is refused, naming the second one. */
function readAnswers(fields: Fields): NewPollAnswer[] {
  const seen = new Set<string>();
  return fields.objects('answers', ANSWER_FIELDS, { ...ANSWERS, required: true }).map((answer) => {
    const codeName = answer.string('codeName', { ...POLL_CODE_NAME, required: true });
    if (seen.has(codeName))
      throw answer.error('codeName', `repeats "${codeName}": answers need distinct code names`);
    seen.add(codeName);
    return { codeName, text: answer.string('text', { maxLength: 200, required: true }) };
  });
}
