import { Collection, type Opt, type Rel } from '@mikro-orm/core';
import { Entity, ManyToOne, OneToMany, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { IntegrationObject } from 'nestjs-integration-bus';
import { Site } from '../cms/site.entity.js';
import { PollAnswer } from './poll-answer.entity.js';

/**
 * A poll (`polls.poll`, code name `codeName`), global or on a site. Its answers are its Snapshot
 * children: reference 001's own example of "a main object with its children".
 */
@Entity({ tableName: 'polls_poll' })
@IntegrationObject({
  objectType: 'polls.poll',
  codeName: 'codeName',
  site: 'site.name',
  children: ['answers'],
})
export class Poll {
  @PrimaryKey() id!: number;

  /** Code name, unique: what other systems know the poll by. */
  @Property({ length: 100, unique: true }) codeName!: string;

  @Property({ length: 450 }) question!: string;

  @ManyToOne(() => Site, { nullable: true, deleteRule: 'no action' }) site?: Rel<Site> | null;

  @Property() createdAt: Opt<Date> = new Date();

  /**
   * The answers, in the order they were created. Deleted with the poll by the unit of work
   * (`orphanRemoval`), not by a database cascade.
   */
  @OneToMany(() => PollAnswer, (answer) => answer.poll, { orderBy: { id: 'asc' }, orphanRemoval: true })
  answers = new Collection<PollAnswer>(this);
}
