import type { Rel } from '@mikro-orm/core';
import { Entity, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/decorators/legacy';
import { IntegrationObject } from 'nestjs-integration-bus';
import { Poll } from './poll.entity.js';

/**
 * An answer of a poll (`polls.pollanswer`). Its code name is unique within its poll only, so the
 * poll is declared as its parent: a translation record of an answer names the poll too.
 */
@Entity({ tableName: 'polls_pollanswer' })
@Unique({ properties: ['poll', 'codeName'] })
@IntegrationObject({
  objectType: 'polls.pollanswer',
  codeName: 'codeName',
  parent: { property: 'poll', objectType: 'polls.poll' },
})
export class PollAnswer {
  @PrimaryKey() id!: number;

  @ManyToOne(() => Poll, { deleteRule: 'no action' }) poll!: Rel<Poll>;

  /** Code name, unique within the poll. */
  @Property({ length: 100 }) codeName!: string;

  @Property({ length: 200 }) text!: string;
}
