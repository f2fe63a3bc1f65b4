import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { MikroORM, type EntityManager } from '@mikro-orm/core';
import { siteByName } from '../cms/sites.service.js';
import { flushOrConflict } from '../http/flush.js';
import type { Page } from '../http/validation.js';
import { PollAnswer } from './poll-answer.entity.js';
import { Poll } from './poll.entity.js';

/** What the API returns for an answer. */
export interface PollAnswerView {
  id: number;
  codeName: string;
  text: string;
}

/** What the API returns for a poll. */
export interface PollView {
  id: number;
  codeName: string;
  question: string;
  /** `null` for a global poll. */
  siteName: string | null;
  answers: PollAnswerView[];
  createdAt: Date;
}

/** An answer of a new poll. */
export interface NewPollAnswer {
  codeName: string;
  text: string;
}

/** Fields of a new poll, created with its answers (answer code names distinct). */
export interface NewPoll {
  codeName: string;
  question: string;
  siteName?: string | null;
  answers: NewPollAnswer[];
}

/** Fields a PATCH may change. */
export interface PollPatch {
  question?: string;
}

/**
 * Polls and their answers. A poll is written with its answers in one flush, so the task the bus
 * logs for it already carries every answer (Snapshot children); the site and the answers are
 * loaded with each poll, for the same reason the site is loaded with a user.
 */
@Injectable()
export class PollsService {
  constructor(private readonly orm: MikroORM) {}

  async list(page: Page): Promise<PollView[]> {
    const polls = await this.orm.em
      .fork()
      .find(Poll, {}, { populate: ['site', 'answers'], orderBy: { id: 'asc' }, ...page });
    return polls.map(pollView);
  }

  async create(input: NewPoll): Promise<PollView> {
    const em = this.orm.em.fork();
    if ((await em.count(Poll, { codeName: input.codeName })) > 0) {
      throw new ConflictException(`A poll named "${input.codeName}" already exists.`);
    }
    const site = input.siteName ? await siteByName(em, input.siteName, 'siteName') : null;
    const poll = em.create(Poll, { codeName: input.codeName, question: input.question, site });
    for (const answer of input.answers) {
      poll.answers.add(em.create(PollAnswer, { poll, codeName: answer.codeName, text: answer.text }));
    }
    await flushOrConflict(em);
    return pollView(poll);
  }

  async update(id: number, patch: PollPatch): Promise<PollView> {
    const em = this.orm.em.fork();
    const poll = await findPoll(em, id);
    if (patch.question !== undefined) poll.question = patch.question;
    await flushOrConflict(em);
    return pollView(poll);
  }

  /** Deletes a poll with its answers, in one flush (the task carries the answers). */
  async remove(id: number): Promise<void> {
    const em = this.orm.em.fork();
    const poll = await findPoll(em, id);
    for (const answer of poll.answers.getItems()) em.remove(answer);
    em.remove(poll);
    await flushOrConflict(em);
  }
}

async function findPoll(em: EntityManager, id: number): Promise<Poll> {
  const poll = await em.findOne(Poll, id, { populate: ['site', 'answers'] });
  if (!poll) throw new NotFoundException(`Poll ${id} not found.`);
  return poll;
}

function pollView(poll: Poll): PollView {
  return {
    id: poll.id,
    codeName: poll.codeName,
    question: poll.question,
    siteName: poll.site?.name ?? null,
    answers: poll.answers.getItems().map((a) => ({ id: a.id, codeName: a.codeName, text: a.text })),
    createdAt: poll.createdAt,
  };
}
