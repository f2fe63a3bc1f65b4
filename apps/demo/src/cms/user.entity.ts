import { Collection, type Opt, type Rel } from '@mikro-orm/core';
import { Entity, ManyToOne, OneToMany, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { IntegrationObject } from 'nestjs-integration-bus';
import { Site } from './site.entity.js';
import { UserRole } from './user-role.entity.js';

/**
 * A CMS user (`cms.user`, code name `userName`), global or assigned to a site. In Snapshot mode a
 * task carries the user's role bindings (`roles`) as children.
 */
@Entity({ tableName: 'cms_user' })
@IntegrationObject({ objectType: 'cms.user', codeName: 'userName', site: 'site.name', children: ['roles'] })
export class User {
  @PrimaryKey() id!: number;

  /** Code name, unique across sites. */
  @Property({ length: 100, unique: true }) userName!: string;

  @Property({ length: 254, nullable: true }) email?: string | null;

  @Property({ length: 100, nullable: true }) firstName?: string | null;

  @Property({ length: 100, nullable: true }) lastName?: string | null;

  // `no action`, not MikroORM's default `set null`: a change made by the database behind the unit of
  // work's back would never reach the bus, so deleting a site that still has users is refused.
  @ManyToOne(() => Site, { nullable: true, deleteRule: 'no action' }) site?: Rel<Site> | null;

  @Property() createdAt: Opt<Date> = new Date();

  /**
   * The user's roles. A binding taken out of the collection, or left by a deleted user, is deleted
   * by the unit of work (`orphanRemoval`), not by a database cascade.
   */
  @OneToMany(() => UserRole, (binding) => binding.user, { orderBy: { id: 'asc' }, orphanRemoval: true })
  roles = new Collection<UserRole>(this);
}
