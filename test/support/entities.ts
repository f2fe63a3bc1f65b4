import { Collection, type Opt, type Rel } from '@mikro-orm/core';
import { Entity, ManyToOne, OneToMany, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { IntegrationDocument, IntegrationObject } from 'nestjs-integration-bus';

@Entity({ tableName: 't_site' })
@IntegrationObject({ objectType: 'cms.site', codeName: 'name' })
export class Site {
  @PrimaryKey() id!: number;
  @Property() name!: string;
}

@Entity({ tableName: 't_user' })
@IntegrationObject({ objectType: 'cms.user', codeName: 'userName', site: 'site.name', children: ['roles'] })
export class User {
  @PrimaryKey() id!: number;
  @Property() userName!: string;
  @Property({ nullable: true }) email?: string | null;
  // No FK constraint: lets a test leave a dangling reference, as a bulk import or a foreign system might.
  @ManyToOne(() => Site, { nullable: true, createForeignKeyConstraint: false }) site?: Rel<Site> | null;
  @Property() createdAt: Date & Opt = new Date();
  @OneToMany(() => UserRole, (r) => r.user) roles = new Collection<UserRole>(this);
}

@Entity({ tableName: 't_role' })
@IntegrationObject({ objectType: 'cms.role', codeName: 'name' })
export class Role {
  @PrimaryKey() id!: number;
  @Property() name!: string;
}

/** Binding of a user to a role: a Snapshot child of the user. */
@Entity({ tableName: 't_user_role' })
export class UserRole {
  @PrimaryKey() id!: number;
  @ManyToOne(() => User) user!: Rel<User>;
  @ManyToOne(() => Role) role!: Rel<Role>;
}

@Entity({ tableName: 't_poll' })
@IntegrationObject({
  objectType: 'polls.poll',
  codeName: 'codeName',
  site: 'site.name',
  group: 'groupId',
  children: ['answers'],
})
export class Poll {
  @PrimaryKey() id!: number;
  @Property() codeName!: string;
  @Property() question!: string;
  @Property({ type: 'integer', nullable: true }) groupId?: number | null;
  @ManyToOne(() => Site, { nullable: true }) site?: Rel<Site> | null;
  @OneToMany(() => PollAnswer, (a) => a.poll) answers = new Collection<PollAnswer>(this);
}

@Entity({ tableName: 't_poll_answer' })
@IntegrationObject({
  objectType: 'polls.pollanswer',
  codeName: 'codeName',
  parent: { property: 'poll', objectType: 'polls.poll' },
})
export class PollAnswer {
  @PrimaryKey() id!: number;
  @Property() codeName!: string;
  @Property() text!: string;
  @ManyToOne(() => Poll) poll!: Rel<Poll>;
}

@Entity({ tableName: 't_vote' })
@IntegrationObject({ objectType: 'polls.vote', codeName: 'voter' })
export class Vote {
  @PrimaryKey() id!: number;
  @Property() voter!: string;
  @ManyToOne(() => PollAnswer) answer!: Rel<PollAnswer>;
}

@Entity({ tableName: 't_document' })
@IntegrationDocument({
  className: 'className',
  aliasPath: 'aliasPath',
  culture: 'culture',
  nodeGuid: 'nodeGuid',
  site: 'site.name',
  children: ['tags'],
})
export class Page {
  @PrimaryKey() id!: number;
  @Property() className!: string;
  @Property() aliasPath!: string;
  @Property() culture!: string;
  @Property() nodeGuid!: string;
  @Property() title!: string;
  @ManyToOne(() => Site, { nullable: true }) site?: Rel<Site> | null;
  @ManyToOne(() => Page, { nullable: true }) parent?: Rel<Page> | null;
  @OneToMany(() => PageTag, (t) => t.page) tags = new Collection<PageTag>(this);
}

@Entity({ tableName: 't_page_tag' })
export class PageTag {
  @PrimaryKey() id!: number;
  @Property() tag!: string;
  @ManyToOne(() => Page) page!: Rel<Page>;
}

/** A document declaring its parent and its published / archived flags (lifecycle task types). */
@Entity({ tableName: 't_article' })
@IntegrationDocument({
  className: 'cms.article',
  aliasPath: 'aliasPath',
  culture: 'culture',
  nodeGuid: 'nodeGuid',
  site: 'site.name',
  parent: 'parent',
  published: 'published',
  archived: 'archived',
})
export class Article {
  @PrimaryKey() id!: number;
  @Property() aliasPath!: string;
  @Property() culture!: string;
  @Property() nodeGuid!: string;
  @Property() title!: string;
  @Property() published: boolean & Opt = false;
  @Property() archived: boolean & Opt = false;
  @ManyToOne(() => Site, { nullable: true }) site?: Rel<Site> | null;
  @ManyToOne(() => Article, { nullable: true }) parent?: Rel<Article> | null;
}

/** A table no connector knows: changes to it never produce tasks. */
@Entity({ tableName: 't_note' })
export class Note {
  @PrimaryKey() id!: number;
  @Property() text!: string;
}

/** An object with a version that every change raises: what the resync tests compare (R-RES-2). */
@Entity({ tableName: 't_counter' })
@IntegrationObject({ objectType: 'test.counter', codeName: 'code', site: 'site.name' })
export class Counter {
  @PrimaryKey() id!: number;
  @Property() code!: string;
  @Property() version!: number;
  @Property({ nullable: true }) tag?: string | null;
  @ManyToOne(() => Site, { nullable: true, createForeignKeyConstraint: false }) site?: Rel<Site> | null;
}

export const TEST_ENTITIES = [
  Site,
  User,
  Role,
  UserRole,
  Poll,
  PollAnswer,
  Vote,
  Page,
  PageTag,
  Article,
  Note,
  Counter,
];
