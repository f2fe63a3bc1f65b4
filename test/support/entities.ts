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
@IntegrationObject({ objectType: 'cms.user', codeName: 'userName', site: 'site.name' })
export class User {
  @PrimaryKey() id!: number;
  @Property() userName!: string;
  @Property({ nullable: true }) email?: string | null;
  @ManyToOne(() => Site, { nullable: true }) site?: Rel<Site> | null;
  @Property() createdAt: Date & Opt = new Date();
}

@Entity({ tableName: 't_role' })
@IntegrationObject({ objectType: 'cms.role', codeName: 'name' })
export class Role {
  @PrimaryKey() id!: number;
  @Property() name!: string;
}

@Entity({ tableName: 't_document' })
@IntegrationDocument({
  className: 'className',
  aliasPath: 'aliasPath',
  culture: 'culture',
  nodeGuid: 'nodeGuid',
  site: 'site.name',
})
export class Page {
  @PrimaryKey() id!: number;
  @Property() className!: string;
  @Property() aliasPath!: string;
  @Property() culture!: string;
  @Property() nodeGuid!: string;
  @Property() title!: string;
  @ManyToOne(() => Site, { nullable: true }) site?: Rel<Site> | null;
  @OneToMany(() => PageTag, (t) => t.page) tags = new Collection<PageTag>(this);
}

@Entity({ tableName: 't_page_tag' })
export class PageTag {
  @PrimaryKey() id!: number;
  @Property() tag!: string;
  @ManyToOne(() => Page) page!: Rel<Page>;
}

/** A table no connector knows: changes to it never produce tasks. */
@Entity({ tableName: 't_note' })
export class Note {
  @PrimaryKey() id!: number;
  @Property() text!: string;
}

export const TEST_ENTITIES = [Site, User, Role, Page, PageTag, Note];
